"""Bazel's persistent worker protocol, in its protobuf form.

Each message is length-delimited (a varint byte count, then the message).
Only the fields rules_tfjs uses are decoded; the others are skipped, as
protobuf requires. Hand-written because the schema lives in Bazel's source,
not in any package of the lock file, and is five fields long.
"""

from __future__ import annotations

import dataclasses
from typing import BinaryIO

_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5


@dataclasses.dataclass
class WorkRequest:
    arguments: list[str] = dataclasses.field(default_factory=list)
    # Input path -> digest, as Bazel knows them: cheap cache keys.
    inputs: dict[str, bytes] = dataclasses.field(default_factory=dict)
    request_id: int = 0
    verbosity: int = 0


@dataclasses.dataclass
class WorkResponse:
    exit_code: int
    output: str
    request_id: int = 0


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # protobuf encodes negative int32 as ten bytes
    encoded = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        encoded.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(encoded)


def _fields(data: bytes):
    """Yields (field number, wire type, value) of a serialized message."""
    position = 0
    while position < len(data):
        key, position = _read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, position = _read_varint(data, position)
        elif wire_type == _LENGTH_DELIMITED:
            length, position = _read_varint(data, position)
            value, position = data[position : position + length], position + length
        elif wire_type in (_FIXED64, _FIXED32):
            size = 8 if wire_type == _FIXED64 else 4
            value, position = data[position : position + size], position + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
        yield number, wire_type, value


def decode_request(data: bytes) -> WorkRequest:
    request = WorkRequest()
    for number, _, value in _fields(data):
        if number == 1:
            request.arguments.append(value.decode("utf-8"))
        elif number == 2:
            path, digest = "", b""
            for input_number, _, input_value in _fields(value):
                if input_number == 1:
                    path = input_value.decode("utf-8")
                elif input_number == 2:
                    digest = input_value
            request.inputs[path] = digest
        elif number == 3:
            request.request_id = value
        elif number == 5:
            request.verbosity = value
    return request


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(payload)) + payload


def encode_request(request: WorkRequest) -> bytes:
    """Serializes a request as Bazel does (for tests and benchmarks)."""
    message = bytearray()
    for argument in request.arguments:
        message += _length_delimited(1, argument.encode("utf-8"))
    for path, digest in request.inputs.items():
        message += _length_delimited(
            2, _length_delimited(1, path.encode("utf-8")) + _length_delimited(2, digest)
        )
    if request.request_id:
        message += _varint(3 << 3 | _VARINT) + _varint(request.request_id)
    if request.verbosity:
        message += _varint(5 << 3 | _VARINT) + _varint(request.verbosity)
    return bytes(message)


def decode_response(data: bytes) -> WorkResponse:
    response = WorkResponse(exit_code=0, output="")
    for number, _, value in _fields(data):
        if number == 1:
            response.exit_code = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 2:
            response.output = value.decode("utf-8")
        elif number == 3:
            response.request_id = value
    return response


def encode_response(response: WorkResponse) -> bytes:
    message = bytearray()
    if response.exit_code:
        message += _varint(1 << 3 | _VARINT) + _varint(response.exit_code)
    if response.output:
        message += _length_delimited(2, response.output.encode("utf-8"))
    if response.request_id:
        message += _varint(3 << 3 | _VARINT) + _varint(response.request_id)
    return bytes(message)


def read_message(stream: BinaryIO) -> bytes | None:
    """The next length-delimited message, or None at the end of the stream."""
    length = shift = 0
    while True:
        byte = stream.read(1)
        if not byte:
            return None
        length |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            break
        shift += 7
    data = stream.read(length)
    return data if len(data) == length else None


def write_message(stream: BinaryIO, message: bytes) -> None:
    stream.write(_varint(len(message)) + message)
    stream.flush()

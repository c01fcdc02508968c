"""A Bazel persistent worker for `convert` requests.

Bazel starts `python tfjs_converter/__main__.py --persistent_worker` once and
sends it WorkRequests on stdin, one at a time. TensorFlow and tensorflowjs are
imported once per worker rather than once per action (6-8 s), and a loaded
SavedModel is kept for the next request that reads the same files, so a warm
conversion costs what the conversion itself costs. Each request still writes
only its own declared outputs, and a failing request is answered with its
error while the worker lives on.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import io
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from tfjs_converter import STARTING_ENVIRONMENT, commands
from tfjs_converter.worker_protocol import (
    WorkRequest,
    WorkResponse,
    decode_request,
    encode_response,
    read_message,
    write_message,
)

# Two SavedModels stay loaded: the one being converted and the previous one,
# e.g. while alternating between two targets. Each can take hundreds of MB.
DEFAULT_CACHED_MODELS = 2
# Names the file holding the request a restarted worker answers first.
PENDING_REQUEST_ENV = "RULES_TFJS_WORKER_PENDING_REQUEST"
RESTARTED = (
    "rules_tfjs: the converter's files changed since its worker started; "
    "the worker restarted to run them\n"
)


class RunningCode:
    """The files this worker runs, by the digests of its first request.

    Bazel 4.2 keeps sending requests to a worker whose tool files changed:
    a changed converter, or a re-created environment, would be run by the
    code and the TensorFlow this process imported at its start, and the
    results cached under the new action keys. The digests Bazel sends with
    each request show the change.
    """

    def __init__(self, roots: Sequence[str]) -> None:
        self._roots = roots
        self._digests: dict[str, bytes] | None = None

    def changed(self, inputs: Mapping[str, bytes]) -> bool:
        own = _digests_under(inputs, self._roots)
        if self._digests is None:
            self._digests = own
        return own != self._digests


def _digests_under(inputs: Mapping[str, bytes], directories: Sequence[str]) -> dict[str, bytes]:
    """The inputs' digests of the files inside any of directories."""
    prefixes = tuple(os.path.normpath(directory) + os.sep for directory in directories)
    return {p: d for p, d in inputs.items() if os.path.normpath(p).startswith(prefixes)}


def _own_roots() -> list[str]:
    """This package and the interpreter's environment, relative to the working directory."""
    roots = (os.path.dirname(os.path.abspath(__file__)), sys.prefix)
    relative = [os.path.relpath(root) for root in roots]
    return [root for root in relative if root.split(os.sep)[0] != os.pardir]


class SavedModelCache:
    """Loaded SavedModels, least recently used dropped first.

    A SavedModel is known by its directory, tags and the digests Bazel sends
    for its files, so a rebuilt SavedModel in the same directory is loaded
    afresh.
    """

    def __init__(self, capacity: int = DEFAULT_CACHED_MODELS) -> None:
        self.capacity = capacity
        self.loads = 0
        self._models: collections.OrderedDict = collections.OrderedDict()

    def loader(self, inputs: Mapping[str, bytes], saved_model_dir: Path | None):
        """A loader for convert() that looks in the cache first.

        Of the request's inputs it keeps only the digests of the SavedModel's
        files, the cache key.
        """
        files = tuple(sorted(_digests_under(inputs, [saved_model_dir or ""]).items()))

        def load(directory: Path, tags: Sequence[str]):
            # Imported here, inside the request, where TensorFlow's start-up
            # noise is captured.
            from tfjs_converter.saved_model import load_saved_model

            key = (os.path.normpath(directory), tuple(tags), files)
            if files and key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            model = load_saved_model(directory, tags)
            self.loads += 1
            if files:
                self._models[key] = model
                while len(self._models) > self.capacity:
                    self._models.popitem(last=False)
                    gc.collect()
            return model

        return load


def handle(request: WorkRequest, parser, cache: SavedModelCache) -> WorkResponse:
    usage_errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(usage_errors):
            args = parser.parse_args(request.arguments)
    except SystemExit:
        return WorkResponse(2, usage_errors.getvalue(), request.request_id)
    load = cache.loader(request.inputs, getattr(args, "saved_model_dir", None))
    # The inputs list every file of the environment (23,000): not worth
    # keeping in memory while TensorFlow converts.
    request.inputs.clear()
    success, report = commands.run_captured(args, load=load, show_log=request.verbosity > 0)
    return WorkResponse(0 if success else 1, report, request.request_id)


def _messages(requests: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """(request, whether this worker restarted for it): first the request a
    worker that restarted itself has still to answer, then those on the stream."""
    path = os.environ.pop(PENDING_REQUEST_ENV, None)
    if path is not None:
        pending = Path(path).read_bytes()
        os.unlink(path)
        yield pending, True
    while (message := read_message(requests)) is not None:
        yield message, False


def _restart(message: bytes, responses: BinaryIO) -> None:
    """Replaces this process by a fresh worker that answers message first.

    The same process, stdin and stdout, so Bazel sees one slower response.
    """
    descriptor, path = tempfile.mkstemp(prefix="rules_tfjs_worker_request.")
    with os.fdopen(descriptor, "wb") as pending:
        pending.write(message)
    responses.flush()
    os.dup2(responses.fileno(), 1)  # main() moved the real stdout away from 1
    environment = {**STARTING_ENVIRONMENT, PENDING_REQUEST_ENV: path}
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], environment)


def serve(requests: BinaryIO, responses: BinaryIO, capacity: int = DEFAULT_CACHED_MODELS) -> None:
    """Answers requests until Bazel closes the stream."""
    parser = commands.build_parser()
    cache = SavedModelCache(capacity)
    code = RunningCode(_own_roots())
    for message, restarted in _messages(requests):
        request = decode_request(message)
        if code.changed(request.inputs):
            _restart(message, responses)
        response = handle(request, parser, cache)
        if restarted:
            response.output = RESTARTED + response.output
        write_message(responses, encode_response(response))


def main() -> int:
    # Responses go to the real stdout; anything else written to file
    # descriptor 1 (TensorFlow writes there too) goes to the worker's log.
    responses = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # Buffered: a request lists every input and can be megabytes long, and
    # a buffered read returns all the bytes asked for, not what the pipe holds.
    serve(os.fdopen(0, "rb"), responses)
    return 0

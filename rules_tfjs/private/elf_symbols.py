"""Drops the symbol tables and debug sections of ELF shared objects and programs.

TensorFlow's wheels ship `libtensorflow_cc.so.2` with a full `.symtab` and
`.strtab` (183 MB of its 686 MB); over the environment such sections are a
quarter of all bytes. Bazel digests every byte of an action's inputs on each
new server, and the environment's check reads them all again, yet nothing at
run time needs them: the dynamic loader resolves symbols through the
`.dynsym` and `.dynstr` sections of the loaded segments, and reads no section
header at all. Only debuggers and crash symbolizers read `.symtab`.

What is dropped lies outside every segment: the bytes the loader maps are
never moved or changed, only the trailing, unmapped part of the file (the
dropped sections, the kept unmapped ones, the section header table) is
rewritten. The result depends only on the input's bytes, so every machine
makes the same file. Files this module does not understand (not 64-bit
little-endian ELF, or with a dropped section inside a segment or still
referenced) are left as they are.
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path
from typing import TypeAlias

Buffer: TypeAlias = bytes | bytearray | memoryview | mmap.mmap

_MAGIC = b"\x7fELF"
_ELFCLASS64, _ELFDATA2LSB = 2, 1
_ET_EXEC, _ET_DYN = 2, 3
_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
_SECTION_HEADER = struct.Struct("<IIQQQQIIQQ")
_SHT_NULL, _SHT_SYMTAB, _SHT_RELA, _SHT_NOBITS, _SHT_REL = 0, 2, 4, 8, 9
_SHF_ALLOC = 0x2
_SHN_LORESERVE = 0xFF00
_SECTION_TABLE_ALIGNMENT = 8


def _sections(data: Buffer, offset: int, count: int, size: int) -> list[list[int]]:
    return [
        list(_SECTION_HEADER.unpack_from(data, offset + index * size)) for index in range(count)
    ]


def _name(data: Buffer, names: list[int], section: list[int]) -> bytes:
    start = names[4] + section[0]
    return bytes(data[start : data.find(b"\0", start)])


def _dropped(data: Buffer, sections: list[list[int]], names_index: int) -> set[int]:
    """Indices of the symbol table, its string table and the debug sections."""
    dropped = set()
    for index, section in enumerate(sections):
        kind, flags, link = section[1], section[2], section[6]
        if flags & _SHF_ALLOC:
            continue
        if kind == _SHT_SYMTAB:
            dropped.add(index)
            if link != names_index:
                dropped.add(link)
        elif _name(data, sections[names_index], section).startswith(b".debug_"):
            dropped.add(index)
    return dropped


def _mapped_end(data: Buffer, offset: int, count: int, size: int) -> int:
    """The end of the last byte any segment maps from the file."""
    ends = (_PROGRAM_HEADER.unpack_from(data, offset + index * size) for index in range(count))
    return max(
        (file_offset + file_size for _, _, file_offset, _, _, file_size, _, _ in ends), default=0
    )


def _references(section: list[int]) -> set[int]:
    """The sections a section header names: its link, and a relocation's target."""
    kind, link, info = section[1], section[6], section[7]
    return {link, info} if kind in (_SHT_RELA, _SHT_REL) else {link}


def _straddles(section: list[int], mapped_end: int) -> bool:
    """Whether a section's bytes begin in the mapped part and end after it."""
    kind, offset, size = section[1], section[4], section[5]
    return kind != _SHT_NOBITS and offset < mapped_end < offset + size


def stripped_chunks(data: Buffer) -> list[Buffer] | None:
    """data without symbol tables and debug sections, as consecutive chunks.

    None if data is no ELF file this module understands or has nothing to drop.
    """
    if len(data) < _HEADER.size or bytes(data[:4]) != _MAGIC:
        return None
    header = list(_HEADER.unpack_from(data))
    ident, kind = header[0], header[1]
    if ident[4] != _ELFCLASS64 or ident[5] != _ELFDATA2LSB or kind not in (_ET_EXEC, _ET_DYN):
        return None
    program_offset, section_offset = header[5], header[6]
    program_size, program_count = header[9], header[10]
    section_size, section_count, names_index = header[11], header[12], header[13]
    if section_count == 0 or names_index >= _SHN_LORESERVE:
        return None  # extended section numbering: not worth understanding
    sections = _sections(data, section_offset, section_count, section_size)
    dropped = _dropped(data, sections, names_index)
    mapped_end = _mapped_end(data, program_offset, program_count, program_size)
    kept = [index for index in range(section_count) if index not in dropped]
    if (
        not dropped
        or mapped_end < _HEADER.size
        or any(sections[index][4] < mapped_end for index in dropped)
        or any(_references(sections[index]) & dropped for index in kept)
        or any(_straddles(sections[index], mapped_end) for index in kept)
    ):
        return None

    # The mapped part stays byte for byte; the unmapped sections kept follow it
    # in their old order, each at its alignment, then the section headers.
    chunks: list[Buffer] = [b"", memoryview(data)[_HEADER.size : mapped_end]]
    length = mapped_end
    for index in sorted(kept, key=lambda i: sections[i][4]):
        section = sections[index]
        offset, size, alignment = section[4], section[5], max(section[8], 1)
        if section[1] in (_SHT_NULL, _SHT_NOBITS) or offset < mapped_end:
            continue
        padding = -length % alignment
        chunks += [b"\0" * padding, memoryview(data)[offset : offset + size]]
        section[4] = length + padding
        length += padding + size
    for index in dropped:
        sections[index] = [sections[index][0], _SHT_NULL, 0, 0, 0, 0, 0, 0, 0, 0]
    padding = -length % _SECTION_TABLE_ALIGNMENT
    header[6] = length + padding
    chunks += [b"\0" * padding, b"".join(_SECTION_HEADER.pack(*s) for s in sections)]
    chunks[0] = _HEADER.pack(*header)  # its section table offset is known last
    return chunks


def stripped(data: Buffer) -> bytes | None:
    """stripped_chunks(data), joined."""
    chunks = stripped_chunks(data)
    return None if chunks is None else b"".join(chunks)


def strip_file(path: Path) -> int:
    """Strips an ELF file in place (by rename); the bytes saved, 0 if left as it was."""
    with path.open("rb") as stream:
        if stream.read(4) != _MAGIC:
            return 0
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
            chunks = stripped_chunks(data)
            if chunks is None:
                return 0
            replacement = path.with_name(f".{path.name}.stripped")
            with replacement.open("wb") as output:
                for chunk in chunks:
                    output.write(chunk)
            saved = len(data) - replacement.stat().st_size
            del chunks  # the memoryviews must go before the map closes
    replacement.chmod(path.stat().st_mode)
    os.replace(replacement, path)
    return saved


def strip_tree(root: Path) -> int:
    """Strips every ELF file under root in place; the bytes saved."""
    saved = 0
    for directory, _, files in os.walk(root):
        for name in files:
            path = Path(directory) / name
            if not path.is_symlink() and path.is_file():
                saved += strip_file(path)
    return saved

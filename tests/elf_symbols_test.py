"""elf_symbols on small ELF files laid out as linkers lay them out."""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rules_tfjs" / "private"))
import elf_symbols

HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
SECTION_HEADER = struct.Struct("<IIQQQQIIQQ")
PT_LOAD, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_DYNSYM = 1, 1, 2, 3, 11
SHF_ALLOC = 0x2

# name, type, flags, contents, link, alignment
SECTIONS = [
    (b".dynsym", SHT_DYNSYM, SHF_ALLOC, b"D" * 48, 2, 8),
    (b".dynstr", SHT_STRTAB, SHF_ALLOC, b"\0dyn\0", 0, 1),
    (b".text", SHT_PROGBITS, SHF_ALLOC, b"\x90" * 37, 0, 16),
    (b".comment", SHT_PROGBITS, 0, b"GCC 12\0", 0, 1),
    (b".debug_info", SHT_PROGBITS, 0, b"I" * 300, 0, 1),
    (b".symtab", SHT_SYMTAB, 0, b"S" * 240, 7, 8),
    (b".strtab", SHT_STRTAB, 0, b"\0" + b"s" * 500, 0, 1),
    (b".shstrtab", SHT_STRTAB, 0, None, 0, 1),
]


def elf(sections=SECTIONS, load_everything: bool = False, elf_class: int = 2) -> bytes:
    """A 64-bit shared object: one segment maps the header and the allocated sections."""
    names = b"\0" + b"".join(name + b"\0" for name, *_ in sections)
    name_offsets = {name: names.index(b"\0" + name + b"\0") + 1 for name, *_ in sections}
    data = bytearray(HEADER.size + PROGRAM_HEADER.size)
    headers = [bytes(SECTION_HEADER.size)]
    for name, kind, flags, contents, link, alignment in sections:
        contents = names if contents is None else contents
        data += bytes(-len(data) % alignment)
        headers.append(
            SECTION_HEADER.pack(
                name_offsets[name], kind, flags, 0, len(data), len(contents), link, 0, alignment, 0
            )
        )
        data += contents
        if flags & SHF_ALLOC:
            mapped_end = len(data)
    if load_everything:
        mapped_end = len(data)
    data += bytes(-len(data) % 8)
    section_offset = len(data)
    data += b"".join(headers)
    ident = b"\x7fELF" + bytes([elf_class, 1, 1]) + bytes(9)
    count = len(headers)
    data[: HEADER.size] = HEADER.pack(
        ident, 3, 62, 1, 0, HEADER.size, section_offset, 0, 64, 56, 1, 64, count, count - 1
    )
    data[HEADER.size : HEADER.size + PROGRAM_HEADER.size] = PROGRAM_HEADER.pack(
        PT_LOAD, 5, 0, 0, 0, mapped_end, mapped_end, 0x1000
    )
    return bytes(data)


def sections_of(data: bytes) -> dict[str, tuple[int, bytes]]:
    """name -> (type, contents) of every section, as readelf would list them."""
    header = HEADER.unpack_from(data)
    offset, count, names_index = header[6], header[12], header[13]
    table = [SECTION_HEADER.unpack_from(data, offset + i * 64) for i in range(count)]
    names = table[names_index]
    found = {}
    for name, kind, _, _, start, size, *_ in table[1:]:
        text = data[names[4] + name : data.index(b"\0", names[4] + name)].decode()
        found[text] = (kind, data[start : start + size])
    return found


def mapped_end(data: bytes) -> int:
    program = PROGRAM_HEADER.unpack_from(data, HEADER.size)
    return program[2] + program[5]


def test_drops_symbol_and_debug_sections_and_keeps_every_mapped_byte():
    original = elf()
    result = elf_symbols.stripped(original)

    assert result is not None and len(result) < len(original) - 1000
    end = mapped_end(original)
    assert result[HEADER.size : end] == original[HEADER.size : end]
    before, after = sections_of(original), sections_of(result)
    for name in (".dynsym", ".dynstr", ".text", ".comment"):
        assert after[name] == before[name], name
    for name in (".symtab", ".strtab", ".debug_info"):
        assert after[name] == (0, b""), name
    # The same bytes from the same input, and nothing left to drop after.
    assert elf_symbols.stripped(original) == result
    assert elf_symbols.stripped(result) is None


def test_strip_file_replaces_the_file_keeping_its_mode(tmp_path):
    library = tmp_path / "libx.so"
    library.write_bytes(elf())
    library.chmod(0o755)

    saved = elf_symbols.strip_file(library)

    assert saved == len(elf()) - library.stat().st_size > 0
    assert library.read_bytes() == elf_symbols.stripped(elf())
    assert library.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["libx.so"]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"#!/bin/sh\necho not ELF\n", id="not-elf"),
        pytest.param(elf(elf_class=1), id="32-bit"),
        pytest.param(elf(load_everything=True), id="symbol-table-inside-a-segment"),
        pytest.param(elf(SECTIONS[:4] + SECTIONS[7:]), id="nothing-to-drop"),
    ],
)
def test_leaves_alone_what_it_does_not_understand_or_need_to_touch(data, tmp_path):
    assert elf_symbols.stripped(data) is None
    path = tmp_path / "file"
    path.write_bytes(data)
    assert elf_symbols.strip_file(path) == 0
    assert path.read_bytes() == data


def test_keeps_a_file_whose_kept_section_names_a_dropped_one():
    # A relocation section for .debug_info names the symbol table as its link.
    rela = (b".rela.debug_info", 4, 0, b"R" * 24, 6, 8)
    sections = [*SECTIONS[:7], rela, SECTIONS[7]]
    assert elf_symbols.stripped(elf(sections)) is None


def test_strip_file_leaves_a_hard_linked_original_alone(tmp_path):
    # The environment's files are hard links into uv's cache until changed.
    cached, library = tmp_path / "cached.so", tmp_path / "libx.so"
    cached.write_bytes(elf())
    os.link(cached, library)

    elf_symbols.strip_file(library)

    assert cached.read_bytes() == elf()
    assert library.read_bytes() == elf_symbols.stripped(elf())


def test_keeps_a_file_whose_kept_section_runs_past_the_mapped_part():
    # Its head would stay in place and its tail be cut off.
    data = bytearray(elf())
    comment = HEADER.unpack_from(data)[6] + 4 * SECTION_HEADER.size  # .comment's header
    entry = list(SECTION_HEADER.unpack_from(data, comment))
    end = mapped_end(data)
    entry[4], entry[5] = end - 4, entry[5] + entry[4] - (end - 4)
    SECTION_HEADER.pack_into(data, comment, *entry)

    assert elf_symbols.stripped(bytes(data)) is None

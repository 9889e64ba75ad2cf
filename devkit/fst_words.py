"""The word list a Vosk graph carries: the symbol table embedded in graph/Gr.fst.

OpenFst's binary header (little endian): int32 magic 0x7eb2fdd6, string fsttype, string
arctype, int32 version, int32 flags (1: input symbols follow, 2: output symbols), uint64
properties, int64 start, numstates, numarcs; then each symbol table: int32 magic 0x7eb2fb74,
string name, int64 available_key, int64 size, and size x (string symbol, int64 key); a
string is an int32 length and its bytes. Used by the tests to check the Korean formatter
against the model's whole vocabulary.
"""

from __future__ import annotations

import struct
from pathlib import Path


def _string(data: bytes, at: int) -> tuple[str, int]:
    (length,) = struct.unpack_from("<i", data, at)
    return data[at + 4:at + 4 + length].decode("utf-8"), at + 4 + length


def words(fst: Path) -> list[str]:
    """The output symbols of ``fst`` (the graph's words), in key order."""
    with fst.open("rb") as f:
        data = f.read(64 * 2**20)  # the tables sit at the start; the arcs follow them
    (magic,) = struct.unpack_from("<i", data, 0)
    if magic != 0x7eb2fdd6:
        raise ValueError(f"{fst} is not an OpenFst binary")
    _, at = _string(data, 4)
    _, at = _string(data, at)
    _, flags = struct.unpack_from("<ii", data, at)
    at += 8 + 32
    if not flags & 2:
        raise ValueError(f"{fst} carries no output symbol table")
    for table in range(2 if flags & 1 else 1):
        (magic,) = struct.unpack_from("<i", data, at)
        assert magic == 0x7eb2fb74, hex(magic)
        _, at = _string(data, at + 4)
        _, size = struct.unpack_from("<qq", data, at)
        at += 16
        symbols = []
        for _ in range(size):
            symbol, at = _string(data, at)
            at += 8
            symbols.append(symbol)
    return symbols

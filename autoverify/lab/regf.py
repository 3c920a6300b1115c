"""An empty registry hive (regf) writer: header, one hbin, a root nk and its sk.

python-hivex edits hives but cannot create one, and the lab must not ship binary
blobs; so we write the smallest hive hivex and Windows parsers accept, then let
hivex add keys and values. Layout: docs of the regf format (Microsoft's and
libyal's); the checksum is the XOR of the header's first 127 dwords.
"""

from __future__ import annotations

import struct
from pathlib import Path

HEADER_SIZE = 4096
HBIN_SIZE = 4096
ROOT_CELL = 0x20  # first cell after the 32-byte hbin header
# 2026-11-21T00:00:00Z as a FILETIME: fixed so the hive bytes are deterministic.
FILETIME = 134083584000000000

# Self-relative security descriptor: revision 1, SE_SELF_RELATIVE | SE_DACL_PRESENT,
# owner/group/sacl absent, an empty DACL (revision 2, size 8, no ACEs) right after it.
_SECURITY = struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + struct.pack("<BBHHH", 2, 0, 8, 0, 0)


def _cell(payload: bytes) -> bytes:
    """An allocated cell: negative size (header included), padded to 8 bytes."""
    size = (4 + len(payload) + 7) & ~7
    return struct.pack("<i", -size) + payload.ljust(size - 4, b"\0")


def _root_nk(name: bytes, sk_offset: int) -> bytes:
    flags = 0x04 | 0x08 | 0x20  # hive entry (root), no delete, compressed (ASCII) name
    return (b"nk" + struct.pack("<HQI", flags, FILETIME, 0)
            + struct.pack("<IIIIIIIII", 0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0xFFFFFFFF, sk_offset, 0xFFFFFFFF)
            + struct.pack("<IIIII", 0, 0, 0, 0, 0)
            + struct.pack("<HH", len(name), 0) + name)


def _sk(self_offset: int) -> bytes:
    return (b"sk" + struct.pack("<HIIII", 0, self_offset, self_offset, 1, len(_SECURITY)) + _SECURITY)


def _header(file_name: str) -> bytes:
    head = bytearray(HEADER_SIZE)
    struct.pack_into("<4sIIQIIIIIII", head, 0, b"regf", 1, 1, FILETIME, 1, 3, 0, 1, ROOT_CELL, HBIN_SIZE, 1)
    name = file_name.encode("utf-16-le")[:64]
    head[0x30:0x30 + len(name)] = name
    checksum = 0
    for (dword,) in struct.iter_unpack("<I", bytes(head[:0x1FC])):
        checksum ^= dword
    struct.pack_into("<I", head, 0x1FC, checksum)
    return bytes(head)


def empty_hive(root_name: str = "ROOT", file_name: str = "") -> bytes:
    """The bytes of a valid hive holding only a root key named `root_name`."""
    name = root_name.encode("ascii")
    nk_len = len(_cell(_root_nk(name, 0)))
    sk_offset = ROOT_CELL + nk_len
    cells = _cell(_root_nk(name, sk_offset)) + _cell(_sk(sk_offset))
    free = HBIN_SIZE - 0x20 - len(cells)
    body = cells + struct.pack("<i", free) + b"\0" * (free - 4)  # one free cell fills the bin
    hbin = b"hbin" + struct.pack("<IIQQI", 0, HBIN_SIZE, 0, FILETIME, 0) + body
    return _header(file_name) + hbin


def write_empty_hive(path: Path, root_name: str = "ROOT") -> Path:
    """Write an empty hive file at `path` (overwritten) and return the path."""
    path.write_bytes(empty_hive(root_name, file_name=path.name))
    return path

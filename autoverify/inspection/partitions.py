"""MBR and GPT partition tables parsed in Python from raw sectors read through the appliance.

One pread of the first 34 sectors replaces dozens of parted/sgdisk runs inside the
appliance (each a process start under TCG: seconds per disk), and keeps parsing in our
own code. Partition numbers follow Linux: GPT entry index + 1; MBR slots 1-4, logical 5+.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass

SECTOR = 512
HEAD_BYTES = 34 * SECTOR  # protective MBR, GPT header, 128 entries of 128 bytes
EXTENDED = {0x05, 0x0F, 0x85}
MAX_LOGICAL = 128


@dataclass(frozen=True)
class Partition:
    number: int
    start: int  # bytes
    size: int  # bytes
    type: str  # GPT type GUID (lower case) or MBR id as "0x07"
    guid: str | None = None  # GPT unique partition GUID
    bootable: bool = False  # MBR active flag


@dataclass(frozen=True)
class Table:
    kind: str  # "gpt" | "msdos" | "" (none)
    partitions: tuple[Partition, ...] = ()
    disk_guid: str | None = None
    mbr_signature: str | None = None


def _guid(raw: bytes) -> str:
    return str(uuid.UUID(bytes_le=raw))


def _gpt(head: bytes, read: Callable[[int, int], bytes]) -> Table | None:
    hdr = head[SECTOR:2 * SECTOR]
    if hdr[:8] != b"EFI PART":
        return None
    entries_lba, count, size = struct.unpack_from("<QII", hdr, 72)
    if not 0 < count <= 1024 or size < 128:
        return None
    need = count * size
    start = entries_lba * SECTOR
    data = head[start:start + need] if start + need <= len(head) else read(need, start)
    parts = []
    for i in range(count):
        e = data[i * size:(i + 1) * size]
        if len(e) < 56 or e[:16] == bytes(16):
            continue
        first, last = struct.unpack_from("<QQ", e, 32)
        parts.append(Partition(i + 1, first * SECTOR, (last - first + 1) * SECTOR, _guid(e[:16]), _guid(e[16:32])))
    return Table("gpt", tuple(parts), disk_guid=_guid(hdr[56:72]))


def _logical(read: Callable[[int, int], bytes], ext_start: int) -> list[Partition]:
    """Walk the EBR chain of an extended partition (numbers 5, 6, ...)."""
    out: list[Partition] = []
    ebr = ext_start
    while len(out) < MAX_LOGICAL:
        sec = read(SECTOR, ebr)
        if len(sec) < SECTOR or sec[510:512] != b"\x55\xaa":
            break
        boot, ptype, lba, count = _mbr_entry(sec, 0)
        if ptype and count:
            out.append(Partition(5 + len(out), ebr + lba * SECTOR, count * SECTOR, f"0x{ptype:02x}", bootable=boot))
        _b, ntype, nlba, _n = _mbr_entry(sec, 1)
        if ntype not in EXTENDED or not nlba:
            break
        ebr = ext_start + nlba * SECTOR
    return out


def _mbr_entry(sector: bytes, slot: int) -> tuple[bool, int, int, int]:
    status, ptype, lba, count = struct.unpack_from("<B3xB3xII", sector, 446 + 16 * slot)
    return status == 0x80, ptype, lba, count


def parse_table(head: bytes, read: Callable[[int, int], bytes]) -> Table:
    """The partition table of a disk whose first HEAD_BYTES are `head`; `read(length, offset)` reads more."""
    if len(head) < 2 * SECTOR or head[510:512] != b"\x55\xaa":
        gpt = _gpt(head, read) if len(head) >= 2 * SECTOR else None  # GPT without a protective MBR
        return gpt or Table("")
    entries = [_mbr_entry(head, i) for i in range(4)]
    if any(t == 0xEE for _b, t, _l, _c in entries):
        gpt = _gpt(head, read)
        if gpt:
            return gpt
    signature = f"0x{struct.unpack_from('<I', head, 0x1B8)[0]:08x}"
    parts = []
    for slot, (boot, ptype, lba, count) in enumerate(entries):
        if not ptype or not count:
            continue
        if ptype in EXTENDED:
            parts += _logical(read, lba * SECTOR)
            continue
        parts.append(Partition(slot + 1, lba * SECTOR, count * SECTOR, f"0x{ptype:02x}", bootable=boot))
    if not parts and not any(t for _b, t, _l, _c in entries):
        return Table("")  # a boot sector (e.g. a whole-disk filesystem), not a partition table
    return Table("msdos", tuple(sorted(parts, key=lambda p: p.number)), mbr_signature=signature)

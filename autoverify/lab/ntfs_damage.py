"""The lab's deliberate NTFS corruption: one damaged file record and one $Bitmap mismatch.

Pure over a `read(offset, length) -> bytes` of the volume: it locates things (boot
sector -> $MFT runlist -> file records by name -> $Bitmap runlist) and returns byte
patches; the builder writes them through the appliance into one snapshot's overlay.
Recipes: shared/docs/ntfs-checks.md "Making corrupt volumes for tests".
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

Read = Callable[[int, int], bytes]
PREFETCH = 1 << 20


class NtfsLayoutError(ValueError):
    """The volume does not look like the NTFS the lab just wrote."""


@dataclass(frozen=True)
class Geometry:
    sector: int
    cluster: int
    mft_lcn: int
    record_size: int


@dataclass(frozen=True)
class Patch:
    offset: int  # byte offset in the volume
    data: bytes
    what: str  # "file-record" | "bitmap"
    record: int | None = None
    lcn: int | None = None


def geometry(boot: bytes) -> Geometry:
    if boot[3:11] != b"NTFS    ":
        raise NtfsLayoutError("boot sector has no NTFS signature")
    sector, spc = struct.unpack_from("<HB", boot, 0x0B)
    cluster = sector * spc
    mft_lcn = struct.unpack_from("<q", boot, 0x30)[0]
    raw = struct.unpack_from("<b", boot, 0x40)[0]
    record_size = raw * cluster if raw > 0 else 1 << -raw
    return Geometry(sector, cluster, mft_lcn, record_size)


def apply_fixups(record: bytes, sector: int) -> bytes:
    """The record with its update sequence array applied; raises if a sector's USN does not match."""
    if record[:4] != b"FILE":
        raise NtfsLayoutError("not a FILE record")
    usa_off, usa_count = struct.unpack_from("<HH", record, 4)
    usn = record[usa_off:usa_off + 2]
    out = bytearray(record)
    for i in range(1, usa_count):
        end = i * sector
        if out[end - 2:end] != usn:
            raise NtfsLayoutError(f"fixup mismatch in sector {i - 1}")
        out[end - 2:end] = record[usa_off + 2 * i:usa_off + 2 * i + 2]
    return bytes(out)


def attributes(record: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, attribute bytes) of a fixed-up record."""
    off = struct.unpack_from("<H", record, 0x14)[0]
    while off + 8 <= len(record):
        atype, length = struct.unpack_from("<II", record, off)
        if atype == 0xFFFFFFFF or length == 0:
            return
        yield atype, record[off:off + length]
        off += length


def runlist(attr: bytes) -> list[tuple[int, int]]:
    """(LCN, clusters) runs of a non-resident attribute (sparse runs skipped)."""
    if not attr[8]:
        raise NtfsLayoutError("attribute is resident")
    pos = struct.unpack_from("<H", attr, 0x20)[0]
    runs, lcn = [], 0
    while pos < len(attr) and attr[pos]:
        header = attr[pos]
        nlen, nofs = header & 0x0F, header >> 4
        length = int.from_bytes(attr[pos + 1:pos + 1 + nlen], "little")
        if nofs:
            lcn += int.from_bytes(attr[pos + 1 + nlen:pos + 1 + nlen + nofs], "little", signed=True)
            runs.append((lcn, length))
        pos += 1 + nlen + nofs
    return runs


def unnamed_data(record: bytes) -> bytes:
    for atype, attr in attributes(record):
        if atype == 0x80 and attr[9] == 0:
            return attr
    raise NtfsLayoutError("record has no unnamed $DATA")


def file_name(record: bytes) -> str | None:
    for atype, attr in attributes(record):
        if atype == 0x30 and not attr[8]:
            value = attr[struct.unpack_from("<H", attr, 0x14)[0]:]
            return value[66:66 + 2 * value[64]].decode("utf-16-le", "replace")
    return None


class Volume:
    """Record and cluster addressing of one NTFS volume through `read`."""

    def __init__(self, read: Read) -> None:
        self.read = read
        self.geo = geometry(read(0, 512))
        mft0 = apply_fixups(read(self.geo.mft_lcn * self.geo.cluster, self.geo.record_size), self.geo.sector)
        self.mft_runs = runlist(unnamed_data(mft0))
        # One read for the MFT's head (system files and the first user files): through the
        # appliance every read is a round trip.
        lcn, length = self.mft_runs[0]
        self._head_at = lcn * self.geo.cluster
        self._head = read(self._head_at, min(length * self.geo.cluster, PREFETCH))

    def stream_offset(self, runs: list[tuple[int, int]], pos: int) -> int:
        """Volume byte offset of byte `pos` of a stream with `runs`."""
        cl = self.geo.cluster
        for lcn, length in runs:
            if pos < length * cl:
                return lcn * cl + pos
            pos -= length * cl
        raise NtfsLayoutError("position beyond the stream's runs")

    def record_offset(self, number: int) -> int:
        return self.stream_offset(self.mft_runs, number * self.geo.record_size)

    def record(self, number: int) -> bytes:
        at, size = self.record_offset(number), self.geo.record_size
        if self._head_at <= at and at + size <= self._head_at + len(self._head):
            raw = self._head[at - self._head_at:at - self._head_at + size]
        else:
            raw = self.read(at, size)
        return apply_fixups(raw, self.geo.sector)

    def find(self, name: str, first: int = 16, limit: int = 4096) -> int:
        """Number of the first in-use record whose $FILE_NAME is `name` (case-sensitive)."""
        for n in range(first, limit):
            try:
                rec = self.record(n)
            except NtfsLayoutError:
                continue
            if struct.unpack_from("<H", rec, 0x16)[0] & 1 and file_name(rec) == name:
                return n
        raise NtfsLayoutError(f"no file record named {name}")


def plan_damage(read: Read, damaged_name: str, bitmap_name: str) -> list[Patch]:
    """Patches that break the fixup of `damaged_name`'s record and clear `bitmap_name`'s first cluster bit."""
    vol = Volume(read)
    victim = vol.find(damaged_name)
    rec_off = vol.record_offset(victim)
    # The last two bytes of the record's first sector must equal the USN: change one.
    fixup_byte = read(rec_off + vol.geo.sector - 2, 1)[0] ^ 0xFF
    patches = [Patch(rec_off + vol.geo.sector - 2, bytes([fixup_byte]), "file-record", record=victim)]

    lcn = runlist(unnamed_data(vol.record(vol.find(bitmap_name))))[0][0]
    bitmap_runs = runlist(unnamed_data(vol.record(6)))
    at = vol.stream_offset(bitmap_runs, lcn >> 3)
    byte = read(at, 1)[0]
    if not byte & (1 << (lcn & 7)):
        raise NtfsLayoutError(f"cluster {lcn} of {bitmap_name} is not marked in use")
    patches.append(Patch(at, bytes([byte & ~(1 << (lcn & 7))]), "bitmap", lcn=lcn))
    return patches

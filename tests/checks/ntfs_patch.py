"""Find structures in a test volume and patch their bytes on disk (only ever on private copies).

Record positions are found the way `ntfsinfo` would: $MFT's runlist from record 0, then a
record's bytes at record number x record size along it. Patches avoid the last two bytes of
each 512-byte sector of a record (the update sequence), unless a test means to break them.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

from autoverify.checks.ntfs import boot, mft, records
from autoverify.readers import open_reader


class Volume:
    def __init__(self, path: Path) -> None:
        self.path = path
        with open_reader(str(path)) as r:
            self.geo = boot.read_boot(r).geometry
            assert self.geo is not None
            self.layout, _ = mft.locate(r, self.geo)
            assert self.layout is not None
            self.names: dict[tuple[int, str], int] = {}
            for rn in range(self.layout.n_records):
                rec = self.record(rn, r)
                if rec is None:
                    continue
                h, attrs = rec
                if h.flags & 1:  # a name in an extent record belongs to its base record
                    for a in attrs:
                        fn = records.file_name(a.value) if a.type == 0x30 else None
                        if fn:
                            self.names[(fn.parent, fn.name)] = h.base_ref & records.REF_MASK or rn

    def record_offset(self, rn: int) -> int:
        rs, cs = self.geo.record_size, self.geo.cluster_size
        byte = rn * rs
        for vcn, lcn, n in self.layout.runs:
            if vcn * cs <= byte < (vcn + n) * cs:
                return lcn * cs + byte - vcn * cs
        raise KeyError(rn)

    def record(self, rn: int, reader=None):
        """(header, attributes) of a record, or None when it is not a valid FILE record."""
        if reader is None:
            with open_reader(str(self.path)) as r:
                return self.record(rn, r)
        raw = bytearray(reader.pread(self.geo.record_size, self.record_offset(rn)))
        if raw[:4] != b"FILE" or records.apply_fixups(raw):
            return None
        h = records.header(raw)
        return h, records.walk_attributes(raw, h, self.geo.cluster_size)[0]

    def lookup(self, path: str) -> int:
        rn = 5
        for part in path.strip("/").split("/"):
            rn = self.names[(rn, part)]
        return rn

    def attr(self, rn: int, atype: int, name: str | None = None) -> records.Attr:
        _h, attrs = self.record(rn)
        return next(a for a in attrs if a.type == atype and (name is None or a.name == name))

    def write(self, offset: int, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, data, offset)
        finally:
            os.close(fd)

    def read(self, offset: int, length: int) -> bytes:
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            return fh.read(length)

    def patch_record(self, rn: int, rel: int, data: bytes, allow_fixup: bool = False) -> None:
        if not allow_fixup:
            assert all((rel + i) % 512 not in (510, 511) for i in range(len(data))), "would hit a fixup"
        self.write(self.record_offset(rn) + rel, data)

    def cluster_offset(self, lcn: int) -> int:
        return lcn * self.geo.cluster_size

    def set_bit(self, attr: records.Attr, bit: int, value: bool) -> None:
        """Set or clear one bit of a non-resident bitmap attribute's data, in place."""
        cs = self.geo.cluster_size
        byte = bit >> 3
        for vcn, lcn, n in attr.runs:
            if vcn * cs <= byte < (vcn + n) * cs:
                where = lcn * cs + byte - vcn * cs
                old = self.read(where, 1)[0]
                new = old | (1 << (bit & 7)) if value else old & ~(1 << (bit & 7))
                self.write(where, bytes([new]))
                return
        raise KeyError(bit)


def u16(data: bytes, ofs: int) -> int:
    return struct.unpack_from("<H", data, ofs)[0]


def sparse_sha256(path) -> str:
    """sha256 over (offset, bytes) of the file's data segments: proves no write without reading holes."""
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    try:
        end, pos = os.fstat(fd).st_size, 0
        h.update(str(end).encode())
        while pos < end:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:  # no more data
                break
            stop = os.lseek(fd, start, os.SEEK_HOLE)
            h.update(str(start).encode())
            while start < stop:
                block = os.pread(fd, min(1 << 22, stop - start), start)
                h.update(block)
                start += len(block)
            pos = stop
    finally:
        os.close(fd)
    return h.hexdigest()


def rewrite_index_block(vol: Volume, ia: records.Attr, block: int, change) -> None:
    """Apply `change(bytearray)` to index block `block` of a non-resident $INDEX_ALLOCATION as NTFS
    reads it (fixups undone), then write it back with a valid update sequence."""
    size, cs = vol.geo.index_size, vol.geo.cluster_size
    byte = block * size
    where = next(lcn * cs + byte - vcn * cs for vcn, lcn, n in ia.runs if lcn >= 0 and vcn * cs <= byte < (vcn + n) * cs)
    buf = bytearray(vol.read(where, size))
    assert buf[:4] == b"INDX" and records.apply_fixups(buf) is None
    change(buf)
    usa_ofs, usa_count = struct.unpack_from("<HH", buf, 4)
    for i in range(usa_count - 1):
        end = (i + 1) * 512 - 2
        buf[usa_ofs + 2 + 2 * i:usa_ofs + 4 + 2 * i] = buf[end:end + 2]
        buf[end:end + 2] = buf[usa_ofs:usa_ofs + 2]
    vol.write(where, bytes(buf))


def index_entries(buf: bytes, hdr: int = 0x18) -> list[tuple[int, int, str]]:
    """(offset, length, name) of the entries of one fixed-up index node."""
    eofs, ilen = struct.unpack_from("<II", buf, hdr)
    out, pos = [], hdr + eofs
    while pos < hdr + ilen:
        elen, _klen, flags = struct.unpack_from("<HHH", buf, pos + 8)
        if flags & 2:
            break
        nlen = buf[pos + 0x10 + 64]
        out.append((pos, elen, buf[pos + 0x10 + 66:pos + 0x10 + 66 + 2 * nlen].decode("utf-16-le")))
        pos += elen
    return out

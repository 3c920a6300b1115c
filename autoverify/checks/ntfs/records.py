"""File records: update sequence (fixups), header, the attribute walk, runlists, attribute lists.

Pure functions over bytes. Each returns what it decoded plus a list of problems (plain
sentences); the checker turns problems into findings with the right check id. They never
raise on bad bytes: a structure that cannot be decoded is a problem, not an exception.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

# Attribute types NTFS 3.x defines ($AttrDef); anything else in a record is damage.
ATTR_NAMES = {0x10: "$STANDARD_INFORMATION", 0x20: "$ATTRIBUTE_LIST", 0x30: "$FILE_NAME",
              0x40: "$OBJECT_ID", 0x50: "$SECURITY_DESCRIPTOR", 0x60: "$VOLUME_NAME",
              0x70: "$VOLUME_INFORMATION", 0x80: "$DATA", 0x90: "$INDEX_ROOT", 0xA0: "$INDEX_ALLOCATION",
              0xB0: "$BITMAP", 0xC0: "$REPARSE_POINT", 0xD0: "$EA_INFORMATION", 0xE0: "$EA",
              0xF0: "$PROPERTY_SET", 0x100: "$LOGGED_UTILITY_STREAM"}
END = 0xFFFFFFFF
REF_MASK = (1 << 48) - 1
FLAG_IN_USE, FLAG_DIRECTORY, FLAG_VIEW_INDEX = 0x1, 0x2, 0x8
_HDR = struct.Struct("<4sHHQHHHHIIQH")
_ATTR = struct.Struct("<IIBBHHH")
_RES = struct.Struct("<IHB")
_NONRES = struct.Struct("<qqHH4xqqq")
_FN = struct.Struct("<Q32xQQII")
_ALE = struct.Struct("<IHBBQQH")


class Header(NamedTuple):
    magic: bytes
    usa_ofs: int
    usa_count: int
    lsn: int
    seq: int
    links: int
    attrs_ofs: int
    flags: int
    bytes_in_use: int
    bytes_alloc: int
    base_ref: int
    next_instance: int


class Attr(NamedTuple):
    """One attribute header; value (resident) or runs (non-resident) decoded."""

    type: int
    name: str
    flags: int
    instance: int
    offset: int  # inside the record
    resident: bool
    value: bytes  # resident value ('' for non-resident)
    lowest_vcn: int
    highest_vcn: int
    alloc: int
    size: int
    init: int
    runs: tuple[tuple[int, int, int], ...]  # (vcn, lcn or -1 for sparse, length)


class FileName(NamedTuple):
    parent: int  # record number
    parent_seq: int
    namespace: int  # 0 POSIX, 1 Win32, 2 DOS, 3 Win32+DOS
    name: str
    flags: int
    size: int


class ListEntry(NamedTuple):
    type: int
    name: str
    lowest_vcn: int
    record: int
    seq: int
    instance: int


def apply_fixups(rec: bytearray, sector: int = 512, min_ofs: int = 0x28) -> str | None:
    """Check and undo the update sequence in place; a sentence when it is broken, else None.

    `min_ofs`: where the header before the array ends (0x28 for FILE/INDX, 0x1E for restart pages)."""
    if len(rec) < 8:
        return f"the structure is cut off after {len(rec)} bytes"
    usa_ofs, usa_count = struct.unpack_from("<HH", rec, 4)
    sectors = len(rec) // sector
    if usa_count != sectors + 1:
        return f"update sequence count is {usa_count}, expected {sectors + 1}"
    if usa_ofs & 1 or usa_ofs < min_ofs or usa_ofs + 2 * usa_count > min(sector, len(rec)) - 2:
        return f"update sequence offset {usa_ofs:#x} is invalid"
    usn = rec[usa_ofs:usa_ofs + 2]
    for i in range(sectors):
        end = (i + 1) * sector - 2
        if rec[end:end + 2] != usn:
            return f"sector {i} does not end with the update sequence number (torn or damaged write)"
        rec[end:end + 2] = rec[usa_ofs + 2 + 2 * i:usa_ofs + 4 + 2 * i]
    return None


def header(rec: bytes) -> Header:
    return Header(*_HDR.unpack_from(rec, 0))


def header_problems(h: Header, rec_size: int, number: int) -> list[str]:
    """Header fields that cannot be right in an in-use record."""
    out = []
    if h.bytes_alloc != rec_size:
        out.append(f"allocated size {h.bytes_alloc} differs from the record size {rec_size}")
    if not 0x30 <= h.bytes_in_use <= rec_size or h.bytes_in_use & 7:
        out.append(f"bytes in use {h.bytes_in_use} is invalid")
    if h.attrs_ofs & 7 or h.attrs_ofs < h.usa_ofs + 2 * h.usa_count or h.attrs_ofs + 8 > min(h.bytes_in_use,
                                                                                              rec_size):
        out.append(f"first attribute offset {h.attrs_ofs:#x} is outside the record")
    if h.seq == 0 and number > 15:
        out.append("sequence number is 0 in an in-use record")
    return out


def decode_runs(data: bytes, start: int, end: int, lowest_vcn: int) -> tuple[tuple, str | None]:
    """Decode mapping pairs into (vcn, lcn, length) runs; lcn -1 = sparse. A sentence if they do not decode."""
    runs, pos, vcn, lcn = [], start, lowest_vcn, 0
    while pos < end:
        b = data[pos]
        if b == 0:
            return tuple(runs), None
        nlen, noff = b & 0x0F, b >> 4
        if nlen == 0 or nlen > 8 or noff > 8 or pos + 1 + nlen + noff > end:
            return tuple(runs), f"mapping pair at byte {pos - start} has an invalid header byte {b:#04x}"
        length = int.from_bytes(data[pos + 1:pos + 1 + nlen], "little", signed=True)
        if length <= 0:
            return tuple(runs), f"run at VCN {vcn} has a non-positive length {length}"
        if noff:
            lcn += int.from_bytes(data[pos + 1 + nlen:pos + 1 + nlen + noff], "little", signed=True)
            if lcn < 0:
                return tuple(runs), f"run at VCN {vcn} starts at a negative cluster {lcn}"
            runs.append((vcn, lcn, length))
        else:
            runs.append((vcn, -1, length))
        vcn += length
        pos += 1 + nlen + noff
    return tuple(runs), "mapping pairs run past the end of the attribute without a terminator"


def walk_attributes(rec: bytes, h: Header, cluster_size: int) -> tuple[list[Attr], list[tuple[str, str]]]:
    """All attributes of a (fixed-up) record, and problems as (check id, sentence)."""
    attrs: list[Attr] = []
    probs: list[tuple[str, str]] = []
    pos, limit = h.attrs_ofs, min(h.bytes_in_use, len(rec))
    while True:
        if pos + 4 > limit:
            probs.append(("ntfs.attribute", f"the attribute list of the record has no end marker before byte {limit}"))
            break
        atype = struct.unpack_from("<I", rec, pos)[0]
        if atype == END:
            break
        if pos + 16 > limit:
            probs.append(("ntfs.attribute", f"attribute at offset {pos:#x} is cut off by the end of the record"))
            break
        atype, alen, nonres, nlen, nofs, aflags, inst = _ATTR.unpack_from(rec, pos)
        tname = ATTR_NAMES.get(atype) or f"type {atype:#x}"
        if alen < (64 if nonres else 24) or alen & 7 or pos + alen > limit:
            probs.append(("ntfs.attribute", f"{tname} attribute at offset {pos:#x} has an invalid length {alen}"))
            break
        if atype not in ATTR_NAMES:
            probs.append(("ntfs.attribute", f"attribute at offset {pos:#x} has an unknown type {atype:#x}"))
        if nonres > 1:
            probs.append(("ntfs.attribute", f"{tname} attribute has an invalid non-resident flag {nonres}"))
        name = ""
        if nlen:
            if nofs + 2 * nlen > alen:
                probs.append(("ntfs.attribute", f"{tname} attribute name runs outside the attribute"))
            else:
                name = rec[pos + nofs:pos + nofs + 2 * nlen].decode("utf-16-le", "replace")
        if not nonres:
            vlen, vofs, _ = _RES.unpack_from(rec, pos + 16)
            if vofs + vlen > alen or (vlen and vofs < 24):
                probs.append(("ntfs.attribute",
                              f"{tname} resident value ({vlen} bytes at {vofs:#x}) lies outside the attribute"))
                value = b""
            else:
                value = rec[pos + vofs:pos + vofs + vlen]
            attrs.append(Attr(atype, name, aflags, inst, pos, True, value, 0, -1, 0, vlen, vlen, ()))
        else:
            low, high, mpofs, _cu, alloc, size, init = _NONRES.unpack_from(rec, pos + 16)
            runs, err = ((), "mapping pairs offset is outside the attribute") if not 64 <= mpofs < alen else \
                decode_runs(rec, pos + mpofs, pos + alen, low)
            if err:
                probs.append(("ntfs.runlist", f"{tname} attribute: {err}"))
            if low < 0 or high < low - 1:
                probs.append(("ntfs.attribute", f"{tname} attribute has invalid VCN bounds {low}..{high}"))
            elif not err and runs and runs[-1][0] + runs[-1][2] - 1 != high:
                probs.append(("ntfs.runlist", f"{tname} attribute: runs end at VCN "
                              f"{runs[-1][0] + runs[-1][2] - 1} but the header says {high}"))
            if low == 0 and min(alloc, size, init) < 0:
                probs.append(("ntfs.attr-size", f"{tname} attribute has a negative size (allocated {alloc}, "
                              f"data {size}, initialized {init})"))
            attrs.append(Attr(atype, name, aflags, inst, pos, False, b"", low, high, alloc, size, init, runs))
        pos += alen
    return attrs, probs


def file_name(value: bytes) -> FileName | None:
    """Decode a $FILE_NAME value; None when it is too short for its own name."""
    if len(value) < 66:
        return None
    nlen, ns = value[64], value[65]
    if 66 + 2 * nlen > len(value) or nlen == 0 or ns > 3:
        return None
    parent, _alloc, size, flags, _reparse = _FN.unpack_from(value, 0)
    return FileName(parent & REF_MASK, parent >> 48, ns, value[66:66 + 2 * nlen].decode("utf-16-le", "replace"),
                    flags, size)


def attribute_list(data: bytes) -> tuple[list[ListEntry], str | None]:
    """Decode an $ATTRIBUTE_LIST value."""
    out, pos = [], 0
    while pos < len(data):
        if pos + 26 > len(data):
            return out, f"entry at byte {pos} is cut off"
        atype, rlen, nlen, nofs, low, ref, inst = _ALE.unpack_from(data, pos)
        if rlen < 26 or rlen & 7 or pos + rlen > len(data) or (nlen and nofs + 2 * nlen > rlen):
            return out, f"entry at byte {pos} has an invalid length {rlen}"
        if atype not in ATTR_NAMES:
            return out, f"entry at byte {pos} names an unknown attribute type {atype:#x}"
        name = data[pos + nofs:pos + nofs + 2 * nlen].decode("utf-16-le", "replace") if nlen else ""
        out.append(ListEntry(atype, name, low, ref & REF_MASK, ref >> 48, inst))
        pos += rlen
    return out, None

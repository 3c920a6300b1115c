"""Directory and view indexes (D1): $INDEX_ROOT, $INDEX_ALLOCATION blocks and the index $BITMAP.

Walks the B-tree from the root, so each block is checked once, a block referenced twice (a
loop in the tree) is caught, and the blocks reached are compared with the index $BITMAP.
Returns the entries of a $I30 (file name) index for the cross-checks against file records.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from autoverify.checks.ntfs import records

_ENTRY = struct.Struct("<QHHH")
_KEY = struct.Struct("<Q40xQIIBB")  # $FILE_NAME key: parent, data size, flags, reparse, name length, namespace
_new = tuple.__new__  # builds the named tuples below without their Python-level __new__ (one per entry)
_utf16 = codecs.utf_16_le_decode  # str(b, "utf-16-le", ...) would go through a Python-level codec wrapper
_IHDR = struct.Struct("<IIIB")
ENTRY_SUBNODE, ENTRY_LAST = 0x1, 0x2
_MASK = records.REF_MASK


class Entry(NamedTuple):
    record: int
    seq: int
    key: records.FileName | None  # decoded for $I30 indexes


@dataclass
class IndexResult:
    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # entries out of collation order (ntfs.collation)


@dataclass(frozen=True)
class IndexInput:
    """What a record holds for one index (all attributes named `name`)."""

    name: str
    root: bytes  # $INDEX_ROOT value
    alloc: bytes | None  # $INDEX_ALLOCATION contents, None when absent
    alloc_size: int
    bitmap: bytes | None  # $BITMAP value, None when absent


def check_index(ix: IndexInput, cluster_size: int, expected_block: int, filenames: bool,
                collate: Callable[[str], bytes] | None = None) -> IndexResult:
    """Check one index and collect its entries; problems are plain sentences naming the index.

    `collate` maps a file name to its $I30 sort key (upper-cased through the volume's $UpCase); when
    given, the entries of each node must be in strictly increasing order of it."""
    res = IndexResult()
    root = ix.root
    if len(root) < 32:
        res.problems.append(f"index {ix.name}: $INDEX_ROOT is too short ({len(root)} bytes)")
        return res
    itype, collation, block, _cpb = struct.unpack_from("<IIIB", root, 0)
    if filenames and (itype != 0x30 or collation != 1):
        res.problems.append(f"index {ix.name}: $INDEX_ROOT indexes type {itype:#x} with collation {collation}, "
                            "not file names")
    if not block or block & (block - 1) or (filenames and block != expected_block):
        res.problems.append(f"index {ix.name}: index block size {block} is invalid (boot sector says "
                            f"{expected_block})")
        return res
    children: list[int] = []
    _walk_node(root, 0x10, ix.name + " root", filenames, res, children, collate)
    if children and ix.alloc is None:
        res.problems.append(f"index {ix.name}: entries point to index blocks but there is no $INDEX_ALLOCATION")
        return res
    if ix.alloc is None:
        return res
    if ix.bitmap is None:
        res.problems.append(f"index {ix.name}: $INDEX_ALLOCATION has no $BITMAP attribute")
    elif len(ix.bitmap) * 8 < ix.alloc_size // block:
        res.problems.append(f"index {ix.name}: the index $BITMAP has {len(ix.bitmap) * 8} bits for "
                            f"{ix.alloc_size // block} index blocks")
    unit = cluster_size if block >= cluster_size else 512
    nblocks = ix.alloc_size // block
    seen: set[int] = set()
    while children:
        vcn = children.pop()
        byte = vcn * unit
        if byte % block or byte + block > ix.alloc_size:
            res.problems.append(f"index {ix.name}: an entry points to VCN {vcn}, outside $INDEX_ALLOCATION")
            continue
        n = byte // block
        if n in seen:
            res.problems.append(f"index {ix.name}: index block {n} is referenced twice (a loop in the tree)")
            continue
        seen.add(n)
        if ix.bitmap is not None and not (n >> 3 < len(ix.bitmap) and ix.bitmap[n >> 3] >> (n & 7) & 1):
            res.problems.append(f"index {ix.name}: index block {n} is in use but free in the index $BITMAP")
        buf = bytearray(ix.alloc[byte:byte + block])
        where = f"{ix.name} block {n} (VCN {vcn})"
        if len(buf) < block:
            res.problems.append(f"index {where}: only {len(buf)} of its {block} bytes are within the data")
            continue
        if buf[:4] != b"INDX":
            res.problems.append(f"index {where}: signature is {bytes(buf[:4])!r}, not INDX")
            continue
        err = records.apply_fixups(buf)
        if err:
            res.problems.append(f"index {where}: {err}")
            continue
        if struct.unpack_from("<I", buf, 0x20)[0] + 0x18 != block:
            res.problems.append(f"index {where}: the block's allocated size "
                                f"{struct.unpack_from('<I', buf, 0x20)[0]} + 24 is not the index block size {block}")
            continue
        if struct.unpack_from("<Q", buf, 0x10)[0] != vcn:
            res.problems.append(f"index {where}: the block says it is VCN {struct.unpack_from('<Q', buf, 0x10)[0]}")
            continue
        _walk_node(buf, 0x18, where, filenames, res, children, collate)
    if ix.bitmap is not None:
        for n in range(min(nblocks, len(ix.bitmap) * 8)):
            if ix.bitmap[n >> 3] >> (n & 7) & 1 and n not in seen:
                res.problems.append(f"index {ix.name}: index block {n} is marked in use in $BITMAP but no entry "
                                    "points to it")
    return res


def _walk_node(buf, hdr: int, where: str, filenames: bool, res: IndexResult, children: list[int],
               collate: Callable[[str], bytes] | None = None) -> None:
    """Entries of one node (root or block): lengths, bounds, the last-entry marker, sub-node pointers."""
    if hdr + 16 > len(buf):
        res.problems.append(f"index {where}: node header is cut off")
        return
    eofs, ilen, ialloc, _flags = _IHDR.unpack_from(buf, hdr)
    start, end = hdr + eofs, hdr + ilen
    if eofs < 16 or eofs & 7 or ilen > ialloc or hdr + ialloc > len(buf) or start > end:
        res.problems.append(f"index {where}: node header is invalid (entries at {eofs}, length {ilen}, "
                            f"allocated {ialloc})")
        return
    pos = start
    entry, add = _ENTRY.unpack_from, res.entries.append  # bound once: this loop runs once per entry
    prev: tuple[bytes, bytes] | None = None
    while True:
        if pos + 16 > end:
            res.problems.append(f"index {where}: entries end without a last-entry marker")
            return
        ref, elen, klen, eflags = entry(buf, pos)
        sub = eflags & ENTRY_SUBNODE
        if elen < 16 + (8 if sub else 0) or elen & 7 or pos + elen > end or 16 + klen > elen - (8 if sub else 0):
            res.problems.append(f"index {where}: entry at byte {pos - hdr} has invalid lengths "
                                f"(entry {elen}, key {klen})")
            return
        if sub:
            children.append(struct.unpack_from("<Q", buf, pos + elen - 8)[0])
        if eflags & ENTRY_LAST:
            return
        if filenames:
            key = _file_name_key(buf, pos + 16, klen)
            if key is None:
                res.problems.append(f"index {where}: entry at byte {pos - hdr} has an undecodable file name")
            else:
                add(_new(Entry, (ref & _MASK, ref >> 48, key)))
                if collate is not None:
                    cur = (collate(key.name), key.name.encode("utf-16-be"))  # then case-sensitive, as NTFS
                    if prev is not None and cur <= prev:
                        res.order.append(f"index {where}: entry {key.name!r} is not after the entry before it "
                                         "in file name collation order (lookups would miss files)")
                    prev = cur
        pos += elen


def _file_name_key(buf, at: int, klen: int) -> records.FileName | None:
    """`records.file_name(buf[at:at + klen])` without copying the key out of the block first."""
    if klen < 66:
        return None
    parent, size, flags, _reparse, nlen, ns = _KEY.unpack_from(buf, at)
    if 66 + 2 * nlen > klen or nlen == 0 or ns > 3:
        return None
    name = _utf16(buf[at + 66:at + 66 + 2 * nlen], "replace", True)[0]
    return _new(records.FileName, (parent & _MASK, parent >> 48, ns, name, flags, size))


def collation(upcase: bytes) -> Callable[[str], bytes] | None:
    """The $I30 sort key from a $UpCase table: names upper-cased unit by unit, as big-endian UTF-16 (so
    bytes compare as the code units do); None when the table is too short to be the real one."""
    if len(upcase) < 131072:
        return None
    units = struct.unpack("<65536H", upcase[:131072])
    table = {c: u for c, u in enumerate(units) if c != u and not 0xD800 <= c <= 0xDFFF}

    def key(name: str) -> bytes:
        return name.translate(table).encode("utf-16-be", "surrogatepass")
    return key

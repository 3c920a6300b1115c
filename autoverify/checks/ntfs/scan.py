"""Stage 1 of the check: every in-use file record, one pass over $MFT (M1, M2, M3).

Produces a compact summary per in-use record (`Rec`): what later stages need (names,
attribute types, attribute list, index attributes of directories) without keeping whole
records in memory, plus every allocated run for cluster accounting.
"""

from __future__ import annotations

import codecs
import functools
import struct
from collections.abc import Callable

import numpy as np

from autoverify.checks.ntfs import fastpath, mft, records, streams
from autoverify.checks.ntfs.boot import Geometry
from autoverify.checks.ntfs.clusters import RunTable

MUST_BE_RESIDENT = {0x10, 0x30, 0x40, 0x60, 0x70, 0x90}
KEEP_ATTRS_BELOW = 27  # system files: keep their attributes for the volume-level checks
Report = Callable[[str, str, int | None], None]
_new_file_name = functools.partial(tuple.__new__, records.FileName)  # FileName from a tuple of its fields


class Rec:
    """What the later stages need to know about one in-use file record."""

    __slots__ = ("seq", "flags", "base", "base_seq", "links", "names", "types", "attrs", "alist", "broken", "is_dir")

    def __init__(self, seq: int, flags: int, base: int, base_seq: int, links: int, types: int = 0,
                 names: list[records.FileName] | None = None) -> None:
        self.seq, self.flags, self.base, self.base_seq, self.links = seq, flags, base, base_seq, links
        self.is_dir = bool(flags & records.FLAG_DIRECTORY)
        self.names: list[records.FileName] = [] if names is None else names
        self.types = types  # bit (type >> 4) per attribute type present
        self.attrs: list[records.Attr] | None = None
        self.alist: records.Attr | None = None
        self.broken = False


def scan_record(rn: int, rec: bytes, geo: Geometry, runs: RunTable, report: Report) -> Rec:
    """Check one fixed-up in-use record and summarise it."""
    h = records.header(rec)
    r = Rec(h.seq, h.flags, h.base_ref & records.REF_MASK, h.base_ref >> 48, h.links)
    probs = records.header_problems(h, geo.record_size, rn)
    if h.usa_ofs >= 0x30 and struct.unpack_from("<I", rec, 0x2C)[0] != rn & 0xFFFFFFFF:
        probs.append(f"the record says it is number {struct.unpack_from('<I', rec, 0x2C)[0]}")
    for p in probs:
        report("ntfs.record-header", f"file record {rn}: {p}", rn)
    if probs:
        r.broken = True
        return r
    attrs, aprobs = records.walk_attributes(rec, h, geo.cluster_size)
    for check, p in aprobs:
        report(check, f"file record {rn}: {p}", rn)
    r.broken = bool(aprobs)
    _attribute_rules(rn, attrs, h.next_instance, geo, runs, report)
    if not r.base and not any(a.type == 0x20 for a in attrs):  # else judged with its other pieces (files.py)
        streams.check_streams(rn, attrs, geo.cluster_size, False, report)
    for a in attrs:
        r.types |= 1 << (a.type >> 4)
        if a.type == 0x30 and a.resident:
            fn = records.file_name(a.value)
            if fn is None:
                ns = a.value[65] if len(a.value) > 65 else 0
                report(*(("ntfs.file-name", f"file record {rn}: a $FILE_NAME has the invalid namespace {ns} "
                          "(0 POSIX, 1 Win32, 2 DOS, 3 Win32 and DOS)") if ns > 3 else
                         ("ntfs.attribute", f"file record {rn}: a $FILE_NAME value cannot be decoded")), rn)
            else:
                r.names.append(fn)
        elif a.type == 0x20:
            r.alist = a
        elif a.type == 0x10 and len(a.value) < 48:
            report("ntfs.attribute", f"file record {rn}: $STANDARD_INFORMATION is only {len(a.value)} bytes", rn)
    if r.alist or r.base or rn < KEEP_ATTRS_BELOW or h.flags & (records.FLAG_DIRECTORY | records.FLAG_VIEW_INDEX):
        r.attrs = attrs
    return r


def _attribute_rules(rn: int, attrs: list[records.Attr], next_instance: int, geo: Geometry, runs: RunTable,
                     report: Report) -> None:
    """Order, duplicates, residency, instance numbers and run bounds of one record's attributes."""
    seen_keys, instances, last_type = set(), set(), 0
    for a in attrs:
        if a.type < last_type:
            report("ntfs.attribute", f"file record {rn}: {streams.tname(a)} comes after a higher attribute type "
                   "(attributes out of order)", rn)
        last_type = a.type
        key = (a.type, a.name, a.lowest_vcn) if a.type != 0x30 else (a.type, a.value)
        if key in seen_keys:
            report("ntfs.attribute", f"file record {rn}: {streams.tname(a)} appears twice", rn)
        seen_keys.add(key)
        if a.instance in instances or a.instance >= next_instance:
            report("ntfs.attribute", f"file record {rn}: {streams.tname(a)} has instance number {a.instance}, duplicate "
                   f"or not below the record's next instance {next_instance}", rn)
        instances.add(a.instance)
        if a.resident:
            if a.type == 0xA0:
                report("ntfs.attribute", f"file record {rn}: $INDEX_ALLOCATION must be non-resident but is not", rn)
            continue
        if a.type in MUST_BE_RESIDENT:
            report("ntfs.attribute", f"file record {rn}: {streams.tname(a)} must be resident but is not", rn)
        add_runs(rn, streams.tname(a), a.runs, geo, runs, report)


def add_runs(rn: int, tname: str, att_runs, geo: Geometry, runs: RunTable, report: Report) -> None:
    for _vcn, lcn, n in att_runs:
        if lcn < 0:
            continue
        if lcn + n > geo.clusters:
            report("ntfs.runlist", f"file record {rn}: {tname} run of {n} clusters at cluster {lcn} lies outside "
                   f"the volume ({geo.clusters} clusters)", rn)
            continue
        runs.add(lcn, n, rn)


def scan_mft(reader, geo: Geometry, layout: mft.MftLayout, runs: RunTable, report: Report,
             mirror_count: int, fast: bool = True) -> tuple[dict[int, Rec], np.ndarray, np.ndarray, bytes]:
    """All in-use records. Returns (records, in-use flags, mft.ST_* states, raw first `mirror_count` records)."""
    rs = geo.record_size
    recs: dict[int, Rec] = {}
    in_use = np.zeros(layout.n_records, dtype=bool)
    states = np.zeros(layout.n_records, dtype=np.uint8)
    head = b""
    for first, arr in mft.iter_chunks(reader, geo, layout):
        if first == 0:
            head = arr[:mirror_count].tobytes()
        state = mft.fixup_chunk(arr)
        flags = arr[:, 0x16:0x18].copy().view("<u2").ravel()
        used = (flags & records.FLAG_IN_USE).astype(bool) & ((state == mft.ST_OK) | (state == mft.ST_FIXUP))
        in_use[first:first + len(arr)] = used
        states[first:first + len(arr)] = state
        for i in np.nonzero(used & (state == mft.ST_FIXUP))[0].tolist():
            rn = first + i
            why = records.apply_fixups(bytearray(arr[i].tobytes())) or "update sequence is damaged"
            report("ntfs.fixup", f"file record {rn}: {why}", rn)
            broken = Rec(0, int(flags[i]), 0, 0, 0)
            broken.broken = True
            recs[rn] = broken
        blob = memoryview(arr.reshape(-1))  # the fixed-up chunk, without copying it
        rows = np.nonzero(used & (state == mft.ST_OK))[0]
        slow = _fast_records(arr, rows, first, blob, rs, recs) if fast else rows.tolist()
        for i in slow:
            recs[first + i] = scan_record(first + i, bytes(blob[i * rs:(i + 1) * rs]), geo, runs, report)
    return recs, in_use, states, head


def _fast_records(arr: np.ndarray, rows: np.ndarray, first: int, blob, rs: int,
                  recs: dict[int, Rec]) -> list[int]:
    """Summarise the simple records of a chunk without the per-record walk; return the rows left over."""
    ok, types, (fr, fo, fl) = fastpath.triage(arr, rows, first)
    hdr = arr[rows, 0x10:0x28]  # seq, links, attrs offset, flags, sizes, base reference
    flags = hdr[:, 6].astype(np.int64)
    base = hdr[:, 0x10:0x16].any(axis=1)
    ok &= (flags & (records.FLAG_DIRECTORY | records.FLAG_VIEW_INDEX) == 0) & ~base & (rows + first >= KEEP_ATTRS_BELOW)
    keep = ok[fr]
    order = np.argsort(fr[keep], kind="stable")  # by row, each row's names in attribute order
    fr, fo, fl = fr[keep][order], fo[keep][order], fl[keep][order]
    fns = _file_names(arr, rows[fr].astype(np.int64) * rs + fo, fl, blob)
    count = np.bincount(fr, minlength=len(rows))
    start = np.cumsum(count) - count
    good = ok.copy()
    good[fr[np.array([fn is None for fn in fns], dtype=bool)]] = False  # an undecodable name: the slow path reports it
    for j in np.nonzero(count > 1)[0].tolist():  # the same name twice: the slow path reports it
        mine = fns[start[j]:start[j] + count[j]]
        if any(fn in mine[:i] for i, fn in enumerate(mine)):
            good[j] = False
    seq = hdr[good, 0].astype(np.int64) | hdr[good, 1].astype(np.int64) << 8
    links = hdr[good, 2].astype(np.int64) | hdr[good, 3].astype(np.int64) << 8
    full_flags = flags[good] | hdr[good, 7].astype(np.int64) << 8
    idx = np.nonzero(good)[0]
    for rn, sq, fl_, ln, ty, a, n in zip((rows[idx] + first).tolist(), seq.tolist(), full_flags.tolist(),
                                         links.tolist(), types[good].tolist(), start[idx].tolist(),
                                         count[idx].tolist(), strict=True):
        recs[rn] = Rec(sq, fl_, 0, 0, ln, ty, fns[a:a + n])
    return rows[~good].tolist()


def _file_names(arr: np.ndarray, at: np.ndarray, length: np.ndarray, blob) -> list:
    """Decode many resident $FILE_NAME values at once (fields and, when no name holds a surrogate, the
    names too, with one decode); None where `records.file_name` would return None."""
    flat = arr.reshape(-1)
    nlen = flat[np.minimum(at + 64, len(flat) - 1)].astype(np.int64)
    ns = flat[np.minimum(at + 65, len(flat) - 1)]
    valid = (length >= 66) & (nlen > 0) & (66 + 2 * nlen <= length) & (ns <= 3)
    base = np.where(valid, at, 0)
    head = flat[base[:, None] + np.arange(0x3C)]
    ref = np.ascontiguousarray(head[:, 0:8]).view("<u8").ravel()
    size = np.ascontiguousarray(head[:, 0x30:0x38]).view("<u8").ravel()
    flags = np.ascontiguousarray(head[:, 0x38:0x3C]).view("<u4").ravel()
    text = _names(flat, base + 66, np.where(valid, nlen, 0), blob)
    fields = zip((ref & np.uint64(records.REF_MASK)).tolist(), (ref >> np.uint64(48)).tolist(), ns.tolist(), text,
                 flags.tolist(), size.tolist(), strict=True)
    out: list = list(map(_new_file_name, fields))  # one C-level loop, no Python __new__ per name
    for i in np.nonzero(~valid)[0].tolist():
        out[i] = None
    return out


def _names(flat: np.ndarray, start: np.ndarray, units: np.ndarray, blob) -> list[str]:
    """UTF-16 names at `start` (`units` code units each): one decode of all of them when none holds a
    surrogate (then one unit is one character), else one decode each (as `records.file_name` does)."""
    total = int(units.sum())
    ends = np.cumsum(units)
    if total:
        pos = np.repeat(start - 2 * (ends - units), units) + 2 * np.arange(total)
        code = flat[pos].astype(np.uint16) | flat[pos + 1].astype(np.uint16) << 8
        if not ((code >= 0xD800) & (code <= 0xDFFF)).any():
            text = code.astype("<u2").tobytes().decode("utf-16-le")
            return [text[a - n:a] for a, n in zip(ends.tolist(), units.tolist(), strict=True)]
    dec = codecs.utf_16_le_decode  # as bytes.decode("utf-16-le", "replace"), without its Python wrapper
    return [dec(blob[s:s + 2 * n], "replace", True)[0] for s, n in zip(start.tolist(), units.tolist(), strict=True)]

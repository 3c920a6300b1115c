"""Reading $MFT: locate it from record 0, then read it in multi-MiB chunks along its runlist.

Signatures and update sequences are checked for a whole chunk at once with numpy (one row
per record), so the per-record Python work only starts on records that are in use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from autoverify.checks.ntfs import records
from autoverify.checks.ntfs.boot import Geometry

CHUNK = 8 << 20
FILE_MAGIC = int.from_bytes(b"FILE", "little")
BAAD_MAGIC = int.from_bytes(b"BAAD", "little")
# per-record state from the vectorised pass
ST_EMPTY, ST_OK, ST_BAAD, ST_BADSIG, ST_FIXUP = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class MftLayout:
    runs: tuple[tuple[int, int, int], ...]  # (vcn, lcn, length) of $MFT's $DATA
    data_size: int
    init_size: int
    n_records: int


def read_clusters(reader, geo: Geometry, runs, start: int, length: int) -> bytearray:
    """Bytes [start, start+length) of a non-resident attribute; holes and unmapped ranges read as zeros."""
    cs = geo.cluster_size
    out = bytearray(length)
    end = start + length
    for vcn, lcn, n in runs:
        lo, hi = max(start, vcn * cs), min(end, (vcn + n) * cs)
        if lo >= hi or lcn < 0:
            continue
        data = reader.pread(hi - lo, lcn * cs + lo - vcn * cs)
        out[lo - start:lo - start + len(data)] = data
    return out


def mapped_bytes(runs, cluster_size: int) -> int:
    """How many leading bytes of the attribute the runlist maps without a gap."""
    vcn = 0
    for v, lcn, n in runs:
        if v != vcn or lcn < 0:
            break
        vcn = v + n
    return vcn * cluster_size


def fixup_chunk(arr: np.ndarray) -> np.ndarray:
    """Check signatures and update sequences of a (records x record_size) uint8 array, undoing fixups
    in place where they are right. Returns one ST_* state per record."""
    n, rs = arr.shape
    sectors = rs // 512
    magic = arr[:, :4].copy().view("<u4").ravel()
    usa_ofs = arr[:, 4:6].copy().view("<u2").ravel().astype(np.int64)
    usa_cnt = arr[:, 6:8].copy().view("<u2").ravel()
    state = np.full(n, ST_BADSIG, dtype=np.uint8)
    state[magic == 0] = ST_EMPTY
    state[magic == BAAD_MAGIC] = ST_BAAD
    is_file = magic == FILE_MAGIC
    state[is_file] = ST_FIXUP
    good_hdr = is_file & (usa_cnt == sectors + 1) & (usa_ofs & 1 == 0) & (usa_ofs >= 0x28) & \
        (usa_ofs + 2 * (sectors + 1) <= 510)
    for ofs in np.unique(usa_ofs[good_hdr]).tolist():
        usn = arr[:, ofs:ofs + 2]
        ok = good_hdr & (usa_ofs == ofs)
        for i in range(sectors):
            ok &= (arr[:, (i + 1) * 512 - 2:(i + 1) * 512] == usn).all(axis=1)
        for i in range(sectors):
            arr[ok, (i + 1) * 512 - 2:(i + 1) * 512] = arr[ok, ofs + 2 + 2 * i:ofs + 4 + 2 * i]
        state[ok] = ST_OK
    return state


def iter_chunks(reader, geo: Geometry, layout: MftLayout, chunk: int = CHUNK) -> Iterator[tuple[int, np.ndarray]]:
    """(first record number, writable uint8 array of records) covering the whole $MFT.

    One buffer serves every chunk (a fresh multi-MiB buffer per chunk costs its page faults every
    time), so an array is only valid until the next one is yielded."""
    rs = geo.record_size
    per = max(1, chunk // rs)
    buf = np.empty(min(per, layout.n_records) * rs, dtype=np.uint8)
    for first in range(0, layout.n_records, per):
        count = min(per, layout.n_records - first)
        start = first * rs
        length = count * rs
        out = buf[:length]
        _read_into(reader, geo, layout.runs, start, out)
        if start + length > layout.init_size:  # beyond the initialized size NTFS promises zeros
            out[max(0, layout.init_size - start):] = 0
        yield first, out.reshape(count, rs)


def _read_into(reader, geo: Geometry, runs, start: int, out: np.ndarray) -> None:
    """`read_clusters(reader, geo, runs, start, len(out))` into an existing array."""
    cs = geo.cluster_size
    end = start + len(out)
    out[:] = 0
    for vcn, lcn, n in runs:
        lo, hi = max(start, vcn * cs), min(end, (vcn + n) * cs)
        if lo >= hi or lcn < 0:
            continue
        data = reader.pread(hi - lo, lcn * cs + lo - vcn * cs)
        out[lo - start:lo - start + len(data)] = np.frombuffer(data, dtype=np.uint8)


def locate(reader, geo: Geometry) -> tuple[MftLayout | None, list[tuple[str, str]]]:
    """$MFT's own runlist from record 0 (following its attribute list if the MFT is fragmented).

    When record 0 itself is damaged, its copy in $MFTMirr is used instead (as chkdsk does), so
    the rest of the volume is still checked; the damage is reported either way.
    """
    layout, probs = _locate_at(reader, geo, geo.mft_lcn, "record 0 ($MFT)")
    if layout is not None:
        return layout, probs
    mirror, _ = _locate_at(reader, geo, geo.mftmirr_lcn, "$MFTMirr's copy of record 0")
    if mirror is not None:  # record 0's own damage is reported when the scan reaches it
        return mirror, [("ntfs.record-header", "record 0 ($MFT) is damaged; $MFT was located through "
                                               "$MFTMirr's copy of it")]
    return None, probs


def _locate_at(reader, geo: Geometry, lcn: int, what: str) -> tuple[MftLayout | None, list[tuple[str, str]]]:
    rs = geo.record_size
    raw = bytearray(reader.pread(rs, lcn * geo.cluster_size))
    if len(raw) < rs:
        return None, [("ntfs.record-header", f"{what} cannot be read: it lies beyond the device")]
    if raw[:4] != b"FILE":
        return None, [("ntfs.record-header", f"{what} has the signature {bytes(raw[:4])!r}, not FILE")]
    err = records.apply_fixups(raw)
    if err:
        return None, [("ntfs.fixup", f"{what}: {err}")]
    h = records.header(raw)
    probs = [("ntfs.record-header", f"{what}: {p}") for p in records.header_problems(h, rs, 0)]
    if probs:
        return None, probs
    attrs, probs = records.walk_attributes(raw, h, geo.cluster_size)
    probs = [(c, f"{what}: {p}") for c, p in probs]
    data = [a for a in attrs if a.type == 0x80 and a.name == "" and not a.resident]
    if not data or data[0].lowest_vcn != 0:
        return None, probs + [("ntfs.required-attr", f"{what} has no non-resident $DATA attribute")]
    first = data[0]
    runs = list(first.runs)
    alist = [a for a in attrs if a.type == 0x20]
    if alist and first.highest_vcn + 1 < first.alloc // geo.cluster_size:
        runs += _extent_runs(reader, geo, alist[0], tuple(runs))
    n = min(first.size, mapped_bytes(runs, geo.cluster_size)) // rs
    return MftLayout(tuple(runs), first.size, first.init, n), []


def _extent_runs(reader, geo: Geometry, alist: records.Attr, runs) -> list:
    """$DATA runs of $MFT stored in extent records (a fragmented MFT), read through the runs known so far."""
    value = alist.value if alist.resident else read_clusters(reader, geo, alist.runs, 0, alist.size)
    entries, _ = records.attribute_list(value)
    out: list = []
    for e in entries:
        if e.type != 0x80 or e.name or e.lowest_vcn == 0:
            continue
        raw = bytearray(read_clusters(reader, geo, runs, e.record * geo.record_size, geo.record_size))
        if raw[:4] != b"FILE" or records.apply_fixups(raw):
            continue
        attrs, _ = records.walk_attributes(raw, records.header(raw), geo.cluster_size)
        out += [r for a in attrs if a.type == 0x80 and not a.name and not a.resident for r in a.runs]
    return out

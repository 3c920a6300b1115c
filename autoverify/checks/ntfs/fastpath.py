"""Vectorised triage of file records: the common, simple record is validated for a whole chunk at once.

A record takes the fast path when its header is sane and every attribute is resident, unnamed,
of a known type, in order, inside the record, with unique instance numbers below the header's
next instance: exactly the conditions `scan.scan_record` checks one by one. Any other record
(non-resident data, names, lists, anything odd) goes to the per-record Python path, which
produces the detailed findings; so the fast path never decides that something is wrong.
"""

from __future__ import annotations

import numpy as np

from autoverify.checks.ntfs import records

MAX_ATTRS = 24
_KNOWN = np.zeros(0x101, dtype=bool)
_KNOWN[list(records.ATTR_NAMES)] = True


def _field(block: np.ndarray, ofs: int, dtype: str) -> np.ndarray:
    """One little-endian field at byte `ofs` of every row of a gathered (rows x bytes) block."""
    size = np.dtype(dtype).itemsize
    return np.ascontiguousarray(block[:, ofs:ofs + size]).view(dtype).ravel().astype(np.int64)


def _bits(words: np.ndarray, shift: int, width: int) -> np.ndarray:
    """Bits [shift, shift + width) of little-endian 64-bit words: a field inside an 8-byte word."""
    return ((words >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int64)


def triage(arr: np.ndarray, rows: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """For fixed-up in-use `rows` of a chunk: (fast mask over rows, attribute type bitmask per row,
    [row index, value offset, value length] of each $FILE_NAME of fast rows)."""
    n, rs = len(rows), arr.shape[1]
    ok = np.ones(n, dtype=bool)
    if n == 0:
        return ok, np.zeros(0, dtype=np.int64), [np.zeros(0, dtype=np.int64)] * 3
    hdr = arr[rows, :0x30]
    usa_ofs, usa_cnt, seq = _field(hdr, 4, "<u2"), _field(hdr, 6, "<u2"), _field(hdr, 0x10, "<u2")
    attrs_ofs = _field(hdr, 0x14, "<u2")
    in_use_len, alloc = _field(hdr, 0x18, "<u4"), _field(hdr, 0x1C, "<u4")
    next_inst, recno = _field(hdr, 0x28, "<u2"), _field(hdr, 0x2C, "<u4")
    numbers = rows.astype(np.int64) + first
    ok &= (alloc == rs) & (in_use_len >= 0x30) & (in_use_len <= rs) & (in_use_len & 7 == 0)
    ok &= (attrs_ofs & 7 == 0) & (attrs_ofs >= usa_ofs + 2 * usa_cnt) & (attrs_ofs + 8 <= in_use_len)
    ok &= (seq != 0) | (numbers <= 15)
    ok &= (usa_ofs < 0x30) | (recno == (numbers & 0xFFFFFFFF))
    ok &= next_inst < 64
    words = arr.reshape(-1).view("<u8")  # attributes start on 8-byte boundaries: gather whole words
    row_w = rows.astype(np.int64) * (rs // 8)
    limit = np.minimum(in_use_len, rs)
    pos = np.where(ok, attrs_ofs, 0)
    active = ok.copy()
    types = np.zeros(n, dtype=np.int64)
    insts = np.zeros(n, dtype=np.uint64)
    last = np.zeros(n, dtype=np.int64)
    fn_rows, fn_ofs, fn_len = [], [], []
    for _ in range(MAX_ATTRS):
        idx = np.nonzero(active)[0]
        if len(idx) == 0:
            break
        p = pos[idx]
        fits = p + 4 <= limit[idx]
        ok[idx[~fits]] = False
        active[idx[~fits]] = False
        idx, p = idx[fits], p[fits]
        t = _bits(words[row_w[idx] + p // 8], 0, 32)
        end = t == 0xFFFFFFFF
        active[idx[end]] = False
        idx, p, t = idx[~end], p[~end], t[~end]
        w = row_w[idx] + np.minimum(p, rs - 24) // 8  # the resident attribute header: 3 words
        w0, w1, w2 = words[w], words[w + 1], words[w + 2]
        alen, nonres, nlen, inst = _bits(w0, 32, 32), _bits(w1, 0, 8), _bits(w1, 8, 8), _bits(w1, 48, 16)
        vlen, vofs = _bits(w2, 0, 32), _bits(w2, 32, 16)
        bit = np.left_shift(np.uint64(1), np.minimum(inst, 63).astype(np.uint64))
        bad = (p + 24 > limit[idx]) | (alen < 24) | (alen & 7 != 0) | (p + alen > limit[idx])
        bad |= (t > 0x100) | ~_KNOWN[np.minimum(t, 0x100)] | (nonres != 0) | (nlen != 0)
        bad |= (t < last[idx]) | (inst >= next_inst[idx]) | ((insts[idx] & bit) != 0)
        bad |= (vofs + vlen > alen) | ((vlen > 0) & (vofs < 24))
        bad |= ((types[idx] >> (t >> 4)) & 1 == 1) & (t != 0x30)
        bad |= (t == 0x10) & (vlen < 48)
        bad |= (t == 0x20) | (t == 0xA0)
        ok[idx[bad]] = False
        active[idx[bad]] = False
        good = ~bad
        idx, p, t = idx[good], p[good], t[good]
        types[idx] |= np.left_shift(1, t >> 4)
        insts[idx] |= bit[good]
        last[idx] = t
        is_fn = t == 0x30
        fn_rows.append(idx[is_fn])
        fn_ofs.append(p[is_fn] + vofs[good][is_fn])
        fn_len.append(vlen[good][is_fn])
        pos[idx] = p + alen[good]
    ok &= ~active  # more attributes than MAX_ATTRS: let the slow path judge
    fr, fo, fl = (np.concatenate(x) if x else np.zeros(0, dtype=np.int64) for x in (fn_rows, fn_ofs, fn_len))
    keep = ok[fr]
    return ok, types, [fr[keep], fo[keep], fl[keep]]

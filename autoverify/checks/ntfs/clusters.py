"""Cluster accounting (C1): who owns each cluster, against $Bitmap.

All runs of all in-use attributes go into numpy arrays; ownership counts come from a
difference array (no per-cluster Python loop), overlaps from sorting runs by start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RunTable:
    """Every allocated run seen in the MFT: (first cluster, length, owning record)."""

    lcn: list[int] = field(default_factory=list)
    length: list[int] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)

    def add(self, lcn: int, length: int, owner: int) -> None:
        self.lcn.append(lcn)
        self.length.append(length)
        self.owner.append(owner)


@dataclass(frozen=True)
class Accounting:
    cross_links: list[tuple[int, int, int]]  # (record, other record, first shared cluster)
    used_but_free: list[tuple[int, int, int]]  # (first cluster, count, owning record) in use but free
    lost: int  # clusters set in $Bitmap but owned by nobody
    lost_first: int  # first such cluster (-1 if none)


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of the runs of True in a boolean array."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    return list(zip(starts.tolist(), (ends - starts).tolist(), strict=True))


def account(table: RunTable, clusters: int, bitmap: bytes) -> Accounting:
    """Cross-links between owners, clusters in use but free in $Bitmap, and lost clusters."""
    lcn = np.asarray(table.lcn, dtype=np.int64)
    length = np.asarray(table.length, dtype=np.int64)
    owner = np.asarray(table.owner, dtype=np.int64)
    order = np.argsort(lcn, kind="stable")
    lcn, length, owner = lcn[order], length[order], owner[order]
    ends = lcn + length
    cross = []
    if len(lcn) > 1:
        reach = np.maximum.accumulate(ends)
        overlap = np.nonzero(lcn[1:] < reach[:-1])[0] + 1
        for i in overlap.tolist()[:1000]:
            j = int(np.argmax(ends[:i] > lcn[i]))  # an earlier run still covering lcn[i]
            cross.append((int(owner[i]), int(owner[j]), int(lcn[i])))
    diff = np.zeros(clusters + 1, dtype=np.int32)
    np.add.at(diff, lcn, 1)
    np.add.at(diff, ends, -1)
    used = np.cumsum(diff[:-1]) > 0
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")[:clusters].astype(bool)
    if len(bits) < clusters:
        bits = np.concatenate((bits, np.zeros(clusters - len(bits), dtype=bool)))
    lost = bits & ~used
    free_spans = []
    for start, count in _spans(used & ~bits)[:1000]:
        i = int(np.searchsorted(lcn, start, side="right")) - 1
        for _ in range(64):  # the run covering `start` may begin before a shorter later one (overlaps)
            if i <= 0 or ends[i] > start:
                break
            i -= 1
        free_spans.append((start, count, int(owner[i]) if i >= 0 and ends[i] > start else -1))
    return Accounting(cross, free_spans, int(lost.sum()), int(np.argmax(lost)) if lost.any() else -1)

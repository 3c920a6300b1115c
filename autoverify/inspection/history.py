"""The vendor's "Last backup" per CSV: the newest snapshot of THIS node that held (attached) it.

Pure: callers pass one node's snapshots, as (Snapshot or taken_at, Inspection) pairs or as
csv_volumes rows of the store ({"csv_id", "status", "taken_at" or "last_backup"}).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from autoverify.models import ATTACHED, Inspection, Snapshot


def _attached(item: Any) -> Iterable[tuple[str, str]]:
    """(csv_id, taken_at) for every CSV the item shows attached."""
    if isinstance(item, Mapping):
        when = item.get("last_backup") or item.get("taken_at")
        if item.get("status") == ATTACHED and when:
            yield item["csv_id"], when
        return
    when, insp = item
    taken_at = when.taken_at if isinstance(when, Snapshot) else when
    cluster = insp.cluster if isinstance(insp, Inspection) else None
    for c in cluster.attached_csvs() if cluster else ():
        yield c.csv_id, taken_at


def last_backups(inspections_or_rows: Iterable[Any]) -> dict[str, str]:
    """csv_id -> ISO time of the newest snapshot that held the CSV."""
    out: dict[str, str] = {}
    for item in inspections_or_rows:
        for csv_id, when in _attached(item):
            if when > out.get(csv_id, ""):
                out[csv_id] = when
    return out

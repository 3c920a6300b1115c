"""What changed since the previous report of the same scope (all systems, or one partner).

Each report is stored as a run (kind 'report-rendered') whose counts hold its state (system statuses,
audit finding counts, and a mark of the newest verification it saw); the next report
compares against it. Verification times have one-second resolution, so the mark keeps
the ids verified in its last second: a snapshot is new when verified later, or in that
same second but not among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import sqlite_utils

from autoverify.store import queries

if TYPE_CHECKING:
    from reports.model import ClusterView, SystemView


RUN_KIND = "report-rendered"  # one run row per report made ('report' is the scheduler's job row)


def previous_report(db: sqlite_utils.Database, partner: str | None) -> queries.StoredRun | None:
    """The latest report made for the same scope (partner name, or None for all systems)."""
    for r in queries.runs_of_kind(db, RUN_KIND, "ok"):
        if "systems" in r.counts and r.counts.get("partner") == partner:
            return r
    return None


def changes(db: sqlite_utils.Database, previous: queries.StoredRun | None, views: Iterable[SystemView],
            clusters: Iterable[ClusterView], names: list[str]) -> tuple[str, ...]:
    if previous is None:
        return ("First report: there is no earlier report to compare with.",)
    state, out = previous.counts, []
    mark, at_mark = state.get("verified_through") or "", set(state.get("verified_last") or ())
    n = sum(1 for sid, verified_at in queries.verified_since(db, names, mark) if verified_at > mark or sid not in at_mark)
    out.append(f"{n} snapshot{'s' if n != 1 else ''} verified since the last report.")
    before = state.get("systems", {})
    for v in views:
        if v.name not in before:
            out.append(f"{v.name} is new in this report ({v.status}).")
        elif before[v.name] != v.status:
            out.append(f"{v.name}: {before[v.name]} → {v.status}.")
    for c in clusters:
        old = state.get("audit", {}).get(c.name)
        if old is not None and old != len(c.findings):
            out.append(f"{c.name} letter audit: {old} → {len(c.findings)} findings.")
    if len(out) == 1:
        out.append("No system changed status.")
    return tuple(out)

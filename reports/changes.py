"""What changed since the previous report of the same scope (all systems, or one partner).

Each report is stored as a run (kind 'report-rendered') whose counts hold its state (system statuses,
audit finding counts, and a mark of the newest verification it saw); the next report
compares against it. Verification times have one-second resolution, so the mark keeps
the ids verified in its last second: a snapshot is new when verified later, or in that
same second but not among them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

import sqlite_utils

if TYPE_CHECKING:
    from reports.model import ClusterView, SystemView


RUN_KIND = "report-rendered"  # one run row per report made ('report' is the scheduler's job row)


def previous_report(db: sqlite_utils.Database, partner: str | None) -> dict | None:
    """The latest report made for the same scope (partner name, or None for all systems)."""
    for r in db.query("select * from runs where kind = ? and outcome = 'ok' order by id desc", [RUN_KIND]):
        state = json.loads(r["counts"] or "{}")
        if "systems" in state and state.get("partner") == partner:
            return {**r, "state": state}
    return None


def _in(names: list[str]) -> str:
    return ",".join("?" * len(names)) or "''"


def verified_mark(db: sqlite_utils.Database, names: list[str]) -> tuple[str | None, tuple[str, ...]]:
    """The newest verified_at and the snapshots verified at that second (times have 1 s resolution)."""
    rows = list(db.query(f"select id, verified_at from snapshots where system in ({_in(names)}) and verified_at = "
                         f"(select max(verified_at) from snapshots where system in ({_in(names)}))", [*names, *names]))
    return (rows[0]["verified_at"], tuple(sorted(r["id"] for r in rows))) if rows else (None, ())


def changes(db: sqlite_utils.Database, previous: dict | None, views: Iterable[SystemView],
             clusters: Iterable[ClusterView], names: list[str]) -> tuple[str, ...]:
    if previous is None:
        return ("First report: there is no earlier report to compare with.",)
    state, out = previous["state"], []
    mark, at_mark = state.get("verified_through") or "", set(state.get("verified_last") or ())
    n = sum(1 for r in db.query(f"select id, verified_at from snapshots where verified_at >= ? and system in "
                                f"({_in(names)})", [mark, *names])
            if r["verified_at"] > mark or r["id"] not in at_mark)
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

"""Seeding readiness (`--before-seeding`), per node, after domain.md §1.

A CSV is in a node's backup set once any snapshot of that node held it (the agent keeps its
base image from then on). A node is ready when its set holds every CSV; the seed's base must
not be older than the first snapshot by which the node had captured them all, so every
snapshot from that one on is usable.
"""

from __future__ import annotations

from dataclasses import dataclass

from driveletter_audit import powershell as ps
from driveletter_audit.inventory import CsvRef, NodeInventory


@dataclass(frozen=True)
class NodeSeeding:
    node: str
    ready: bool
    base_snapshots: tuple[str, ...]  # usable as the seed's base, oldest first
    missing: tuple[str, ...]  # CSV names never captured
    steps: tuple[str, ...]  # what is still needed, in order

    def to_json(self) -> dict:
        return {"ready": self.ready, "base_snapshots": list(self.base_snapshots), "missing": list(self.missing),
                "steps": list(self.steps)}


def node_seeding(inv: NodeInventory, csvs: tuple[CsvRef, ...]) -> NodeSeeding:
    """Readiness of one node for a seed, and the steps that would make it ready."""
    if inv.history is None:
        return NodeSeeding(inv.node, False, (), (), (f"the snapshot history of {inv.node} is unknown: audit "
                                                      "offline (from the database) to check seeding.",))
    wanted = {c.name for c in csvs}
    captured: set[str] = set()
    first = None
    for i, snap in enumerate(inv.history):
        captured.update(snap.csvs)
        if wanted <= captured:
            first = i
            break
    if first is not None:
        return NodeSeeding(inv.node, True, tuple(s.snapshot_id for s in inv.history[first:]), (), ())
    missing = tuple(sorted(wanted - captured))
    steps = []
    if inv.enable_csv is not True:
        steps.append(f"add the line ENABLE_CSV=true to aristos.cfg on {inv.node} and restart the agent service")
    for csv in (c for c in csvs if c.name in missing):
        try:
            how = ps.move_csv(csv.disk_name or csv.name, inv.node)
        except ps.UnsafeName as exc:
            how = str(exc)
        steps.append(f"move CSV {csv.name} to {inv.node} ({how})")
    steps.append(f"run a backup of {inv.node}" + (" while it holds " + ", ".join(missing) if missing else ""))
    return NodeSeeding(inv.node, False, (), missing, tuple(steps))


def cluster_seeding(nodes: tuple[NodeInventory, ...], csvs: tuple[CsvRef, ...]) -> tuple[NodeSeeding, ...]:
    return tuple(node_seeding(n, csvs) for n in nodes)

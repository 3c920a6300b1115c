"""What each cluster node looks like to the audit: one frozen `NodeInventory` per node.

Rules never see libguestfs, SQLite or WinRM; they get these. An inventory is built
(a) from `models.Inspection`s of a node's snapshots (the newest gives the state, all of
them the CSV history), (b) from the models the store rebuilds from its rows (autoverify.store.queries),
or (c) from live WinRM output (live.py). Letters map to exactly one volume per node:
a CSV (by name), a role shared disk (by disk name), a local volume, or a device.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlite_utils

from autoverify.models import (
    ClusterInfo,
    Inspection,
    LetterAssignment,
    OsInfo,
    Snapshot,
    Volume,
    attached_csv_names,
)
from autoverify.store import queries


@dataclass(frozen=True)
class LetterUse:
    """Drive letter `letter` on a node points at this volume."""

    letter: str  # "L"
    kind: str  # "csv" | "shared" | "local" | "device" | "unknown"
    name: str  # CSV name, cluster disk name, local label (or volume GUID), device path


@dataclass(frozen=True)
class CsvRef:
    name: str  # "Volume1"
    csv_id: str  # "<disk id>:<offset>"
    volume_guid: str
    disk_id: str = ""
    disk_name: str = ""  # "Cluster Disk 2": the resource name PowerShell wants


@dataclass(frozen=True)
class SharedDiskRef:
    """A Physical Disk resource of a clustered role (not a CSV)."""

    name: str  # "Cluster Disk 1"
    disk_id: str
    volume_guids: tuple[str, ...] = ()
    group: str = ""


@dataclass(frozen=True)
class SnapshotRecord:
    """One snapshot of the node and the CSVs it held (the vendor's CSV column)."""

    snapshot_id: str
    taken_at: str
    kind: str = ""
    csvs: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeInventory:
    node: str
    cluster: str
    source: str  # "snapshot NODE1/2026-11-23T0100", "live", ...
    os_product: str = ""
    os_version: str = ""  # "10.0", "6.1"
    os_build: str = ""
    enable_csv: bool | None = None  # None: no aristos.cfg found
    letters: tuple[LetterUse, ...] = ()
    csvs: tuple[CsvRef, ...] = ()
    shared_disks: tuple[SharedDiskRef, ...] = ()
    history: tuple[SnapshotRecord, ...] | None = None  # None: unknown (live without a database)

    def letters_of(self, kind: str, name: str) -> tuple[str, ...]:
        return tuple(sorted(u.letter for u in self.letters if u.kind == kind and u.name == name))

    def user_of(self, letter: str) -> LetterUse | None:
        return next((u for u in self.letters if u.letter == letter), None)

    @property
    def is_2008r2(self) -> bool:
        """Server 2008 R2 (NT 6.1) cannot give a CSV a letter at all."""
        return self.os_version.startswith("6.1")


@dataclass(frozen=True)
class NodeFailure:
    """A configured node the audit could not look at, and why (one sentence)."""

    cluster: str
    node: str
    reason: str


@dataclass(frozen=True)
class Inventories:
    """What a source yields: inventories, plus the nodes it could not audit."""

    nodes: tuple[NodeInventory, ...]
    failures: tuple[NodeFailure, ...] = field(default=())


def _volume_name(v: Volume) -> str:
    return v.label or v.volume_guid or v.partition_guid or v.device


def build_inventory(node: str, cluster: str, source: str, os: OsInfo | None, enable_csv: bool | None,
                    volumes: Sequence[Volume], mounted: Sequence[LetterAssignment], info: ClusterInfo | None,
                    history: Sequence[SnapshotRecord] | None,
                    shared_guids: Mapping[str, Sequence[str]] | None = None) -> NodeInventory:
    """The common core: resolve every letter of the node to the volume it points at.

    `shared_guids` maps a shared disk's id to volume GUIDs seen on other nodes (a role disk is
    attached to one node only, but its letter is managed for all).
    """
    csvs = tuple(CsvRef(c.name, c.csv_id, c.volume_guid, c.disk_id, c.disk_name)
                 for c in (info.csv_volumes if info else ()))
    shared = []
    for d in (info.disks if info else ()):
        if d.is_csv:
            continue
        guids = {*d.volume_guids, *(shared_guids or {}).get(d.disk_id, ()),
                 *(g for v in volumes if v.disk_guid == d.disk_id for g in (v.volume_guid, v.partition_guid) if g)}
        shared.append(SharedDiskRef(d.name, d.disk_id, tuple(sorted(guids)), d.group))
    owner: dict[str, tuple[str, str]] = {}  # volume or partition GUID -> (kind, name)
    for v in volumes:
        target = ("csv", v.csv_name) if v.csv_name else ("local", _volume_name(v))
        for g in (v.volume_guid, v.partition_guid):
            if g:
                owner.setdefault(g, target)  # first wins: the labelled view of a volume comes first
    for s in shared:
        owner.update({g: ("shared", s.name) for g in s.volume_guids})
    owner.update({c.volume_guid: ("csv", c.name) for c in csvs})
    by_mbr: dict[tuple[str | None, int | None], Volume] = {(v.mbr_signature, v.offset): v for v in volumes if v.mbr_signature}
    uses: dict[str, LetterUse] = {}

    def use(letter: str, kind: str, name: str) -> None:
        uses.setdefault(letter.upper(), LetterUse(letter.upper(), kind, name))

    for v in volumes:
        kind, name = owner.get(v.volume_guid or v.partition_guid or "", ("local", _volume_name(v)))
        for letter in v.drive_letters:
            use(letter, kind, name)
    for m in mounted:
        if len(m.name) != 1 or not m.name.isalpha():
            continue
        if m.kind == "gpt" and m.partition_guid:
            use(m.name, *owner.get(m.partition_guid, ("unknown", m.partition_guid)))
        elif m.kind == "mbr" and (m.disk_signature, m.offset) in by_mbr:
            v = by_mbr[(m.disk_signature, m.offset)]
            use(m.name, *owner.get(v.volume_guid or "", ("local", _volume_name(v))))
        else:
            use(m.name, "device" if m.kind == "device" else "unknown", m.device or m.disk_signature or m.kind)
    for d in (info.disks if info else ()):
        if not d.is_csv:  # role disks: the cluster manages their letter on every node
            for letter in d.letters:
                use(letter, "shared", d.name)
    return NodeInventory(
        node=node, cluster=cluster, source=source,
        os_product=os.product_name if os else "", os_version=os.version if os else "",
        os_build=os.build if os else "", enable_csv=enable_csv,
        letters=tuple(sorted(uses.values(), key=lambda u: u.letter)), csvs=csvs, shared_disks=tuple(shared),
        history=None if history is None else tuple(sorted(history, key=lambda h: (h.taken_at, h.snapshot_id))))


def from_inspections(pairs: Iterable[tuple[Snapshot, Inspection]]) -> Inventories:
    """(a): one inventory per node from its inspected snapshots; the newest gives the state."""
    by_node: dict[str, list[tuple[Snapshot, Inspection]]] = {}
    for snap, insp in pairs:
        by_node.setdefault(snap.system, []).append((snap, insp))
    shared_guids: dict[str, set[str]] = {}
    for _snap, insp in (p for ps in by_node.values() for p in ps):
        for v in insp.volumes:
            if v.disk_guid:
                shared_guids.setdefault(v.disk_guid, set()).update(g for g in (v.volume_guid, v.partition_guid) if g)
    nodes, failures = [], []
    for node, items in sorted(by_node.items()):
        items.sort(key=lambda p: (p[0].taken_at, p[0].id))
        usable = [p for p in items if p[1].os is not None or p[1].cluster is not None]
        cluster = next((s.cluster or (i.cluster.name if i.cluster else "") for s, i in reversed(items)), "")
        if not usable:
            failures.append(NodeFailure(cluster, node, f"no snapshot of {node} could be inspected."))
            continue
        snap, insp = usable[-1]
        history = [SnapshotRecord(s.id, s.taken_at, s.kind, attached_csv_names(i.cluster)) for s, i in items]
        nodes.append(build_inventory(node, snap.cluster or (insp.cluster.name if insp.cluster else ""),
                                     f"snapshot {snap.id}", insp.os, insp.enable_csv, insp.volumes,
                                     insp.mounted_devices, insp.cluster, history,
                                     {k: tuple(v) for k, v in shared_guids.items()}))
    return Inventories(tuple(nodes), tuple(failures))


def history_from_store(db: sqlite_utils.Database, clusters: Sequence[str] | None = None
                       ) -> dict[str, tuple[SnapshotRecord, ...]]:
    """Node -> its inspected snapshots and the CSVs each held (for live mode and seeding)."""
    out: dict[str, list[SnapshotRecord]] = {}
    for s in queries.verified_snapshots(db, clusters):
        out.setdefault(s.system, []).append(_record(s))
    return {k: tuple(v) for k, v in out.items()}


def _record(snap: queries.StoredSnapshot) -> SnapshotRecord:
    return SnapshotRecord(snap.id, snap.taken_at, snap.kind, snap.csvs)


def from_store(db: sqlite_utils.Database, clusters: Sequence[str] | None = None) -> Inventories:
    """(b): per node, the newest inspected snapshot in the database, plus its CSV history."""
    shared_guids = queries.volume_guids_by_disk(db)
    by_node: dict[str, list[queries.StoredSnapshot]] = {}
    for s in queries.verified_snapshots(db, clusters):
        by_node.setdefault(s.system, []).append(s)
    nodes = []
    for node, snaps in sorted(by_node.items()):
        newest = snaps[-1]
        insp = queries.stored_inspection(db, newest)
        nodes.append(build_inventory(node, newest.cluster or (insp.cluster.name if insp.cluster else ""),
                                     f"snapshot {newest.id}", insp.os, insp.enable_csv, insp.volumes,
                                     insp.mounted_devices, insp.cluster, [_record(s) for s in snaps], shared_guids))
    return Inventories(tuple(nodes))

"""What each cluster node looks like to the audit: one frozen `NodeInventory` per node.

Rules never see libguestfs, SQLite or WinRM; they get these. An inventory is built
(a) from `models.Inspection`s of a node's snapshots (the newest gives the state, all of
them the CSV history), (b) from the SQLite store by rebuilding those models from rows,
or (c) from live WinRM output (live.py). Letters map to exactly one volume per node:
a CSV (by name), a role shared disk (by disk name), a local volume, or a device.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlite_utils

from autoverify.models import (
    ClusterDisk,
    ClusterInfo,
    CsvVolume,
    Inspection,
    LetterAssignment,
    OsInfo,
    Snapshot,
    Volume,
    attached_csv_names,
)


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
    by_mbr = {(v.mbr_signature, v.offset): v for v in volumes if v.mbr_signature}
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


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(x for x in (text or "").split(",") if x)


def _os_from_row(row: Mapping) -> OsInfo | None:
    if not row["os_version"] and not row["os_product"]:
        return None
    major, _, minor = (row["os_version"] or "").partition(".")
    return OsInfo(row["os_product"] or "", row["os_version"] or "", int(major or 0) if major.isdigit() else 0,
                  int(minor) if minor.isdigit() else 0, row["os_build"] or "", row["hostname"] or "",
                  row["installation_type"] or "")


def _volumes_from_rows(rows: Iterable[Mapping]) -> tuple[Volume, ...]:
    fields = Volume.__dataclass_fields__
    out = []
    for r in rows:
        d = {k: r[k] for k in fields if k in r.keys()}
        d.update(drive_letters=_split(r["drive_letters"]), mount_paths=tuple(json.loads(r["mount_paths"] or "[]")),
                 bootable=bool(r["bootable"]), encrypted=bool(r["encrypted"]), compressed=bool(r["compressed"]))
        out.append(Volume(**d))
    return tuple(out)


def _inspected(db: sqlite_utils.Database, clusters: Sequence[str] | None) -> list[dict]:
    rows = list(db.query("select * from snapshots where verified_at is not null order by system, taken_at, id"))
    return [r for r in rows if clusters is None or r["cluster"] in clusters]


def _record(row: Mapping) -> SnapshotRecord:
    return SnapshotRecord(row["id"], row["taken_at"], row["kind"] or "", tuple(json.loads(row["csvs"] or "[]")))


def history_from_store(db: sqlite_utils.Database, clusters: Sequence[str] | None = None
                       ) -> dict[str, tuple[SnapshotRecord, ...]]:
    """Node -> its inspected snapshots and the CSVs each held (for live mode and seeding)."""
    out: dict[str, list[SnapshotRecord]] = {}
    for r in _inspected(db, clusters):
        out.setdefault(r["system"], []).append(_record(r))
    return {k: tuple(v) for k, v in out.items()}


def from_store(db: sqlite_utils.Database, clusters: Sequence[str] | None = None) -> Inventories:
    """(b): per node, the newest inspected snapshot in the database, plus its CSV history."""
    rows = _inspected(db, clusters)
    shared_guids: dict[str, set[str]] = {}
    for r in db.query("select disk_guid, volume_guid, partition_guid from volumes where disk_guid is not null"):
        shared_guids.setdefault(r["disk_guid"], set()).update(g for g in (r["volume_guid"], r["partition_guid"]) if g)
    by_node: dict[str, list[dict]] = {}
    for r in rows:
        by_node.setdefault(r["system"], []).append(r)
    nodes = []
    for node, snaps in sorted(by_node.items()):
        newest = snaps[-1]
        sid = newest["id"]
        q = "select * from {} where snapshot_id = ?"
        disks = [ClusterDisk(r["resource_id"], r["name"], r["disk_id"], r["disk_id_type"], bool(r["is_csv"]),
                             r["grp"] or "", r["status"] or "", (), _split(r["letters"]))
                 for r in db.query(q.format("cluster_disks"), [sid])]
        csv_rows = list(db.query(q.format("csv_volumes"), [sid]))
        info = None
        if disks or csv_rows:
            info = ClusterInfo(
                csv_rows[0]["cluster"] if csv_rows else newest["cluster"] or "", (), tuple(disks),
                tuple(CsvVolume(r["name"], r["csv_id"], r["disk_name"], r["disk_id"], r["offset"],
                                r["partition_number"], r["volume_guid"], r["status"], r["label"] or "")
                      for r in csv_rows))
        mounted = tuple(LetterAssignment(r["name"], r["kind"], r["partition_guid"], r["disk_signature"], r["offset"],
                                         r["device"]) for r in db.query(q.format("mounted_devices"), [sid]))
        history = [_record(r) for r in snaps]
        enable = None if newest["enable_csv"] is None else bool(newest["enable_csv"])
        nodes.append(build_inventory(node, newest["cluster"] or (info.name if info else ""), f"snapshot {sid}",
                                     _os_from_row(newest), enable,
                                     _volumes_from_rows(db.query(q.format("volumes"), [sid])), mounted, info,
                                     history, {k: tuple(v) for k, v in shared_guids.items()}))
    return Inventories(tuple(nodes))

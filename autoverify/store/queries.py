"""Every read of the database: rows back as frozen dataclasses (models where one fits).

The store owns the schema, so it alone turns rows back into values: JSON and comma-joined
columns are decoded here, the inverse of records.py. Reports and the audit call these and
never see SQL or a table. Orders are stated in each query (the callers rely on them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from autoverify.models import (
    ClusterDisk,
    ClusterInfo,
    CsvVolume,
    Finding,
    Inspection,
    LetterAssignment,
    OsInfo,
    Volume,
)

Row = Mapping[str, Any]


@dataclass(frozen=True)
class StoredSystem:
    """A protected system (cluster node) as the `systems` table knows it."""

    name: str
    cluster: str | None
    os_product: str | None
    os_version: str | None
    first_seen: str | None = None
    last_seen: str | None = None


@dataclass(frozen=True)
class StoredSnapshot:
    """A `snapshots` row: what verify recorded about one snapshot (pending until verified)."""

    id: str
    system: str
    cluster: str | None
    taken_at: str
    kind: str  # "Full" | "Incremental" | "" when unknown
    status: str  # pending | healthy | warning | failed | unchecked
    csvs: tuple[str, ...]  # the CSVs the snapshot holds (the vendor's CSV column)
    verified_at: str | None
    run_id: int | None = None
    path: str = ""
    os_product: str | None = None
    os_version: str | None = None
    os_build: str | None = None
    hostname: str | None = None
    installation_type: str | None = None
    enable_csv: bool | None = None  # None: no agent configuration found
    seconds: float | None = None

    def os_info(self) -> OsInfo | None:
        """The OsInfo inspection saw (None when it saw none)."""
        if not self.os_version and not self.os_product:
            return None
        major, _, minor = (self.os_version or "").partition(".")
        return OsInfo(self.os_product or "", self.os_version or "", int(major or 0) if major.isdigit() else 0,
                      int(minor) if minor.isdigit() else 0, self.os_build or "", self.hostname or "",
                      self.installation_type or "")


@dataclass(frozen=True)
class StoredVolume:
    """A `volumes` row: the volume as inspection saw it, and what the check made of it."""

    snapshot_id: str
    volume: Volume
    check_status: str  # clean | errors | unchecked | skipped
    check_reason: str | None = None


@dataclass(frozen=True)
class StoredCsv:
    """A `csv_volumes` row: a CSV as one snapshot's cluster database showed it."""

    snapshot_id: str
    cluster: str
    csv: CsvVolume
    last_backup: str | None = None  # the snapshot's time when the CSV was attached to its node


@dataclass(frozen=True)
class CsvSeen:
    """When a system's snapshots last saw a CSV at all, and last held it (backed it up)."""

    csv_id: str
    last_online: str | None
    last_backup: str | None


@dataclass(frozen=True)
class StoredLetterAudit:
    """The newest `letter_audits` row of a cluster; `result` is its stored JSON document."""

    cluster: str
    audited_at: str | None
    source: str | None
    compliant: bool
    result: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class StoredRun:
    """A `runs` row; `counts` is its JSON document (a report keeps its state there)."""

    id: int
    kind: str
    started_at: str
    ended_at: str | None
    outcome: str
    message: str | None
    counts: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class StoredDelivery:
    """A `deliveries` row: a report queued for e-mail, and how its sending went so far."""

    id: int
    partner: str
    recipients: tuple[str, ...]
    report_path: str
    subject: str | None
    status: str  # pending | sent | failed | abandoned
    attempts: int
    last_error: str | None = None


def _placeholders(values: Sequence[object]) -> str:
    return ",".join("?" * len(values)) or "''"


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(x for x in (text or "").split(",") if x)


def _json(text: str | None, empty: str) -> Any:
    return json.loads(text or empty)


def systems(db: sqlite_utils.Database) -> list[StoredSystem]:
    """Every protected system, by cluster then name."""
    return [StoredSystem(r["name"], r["cluster"], r["os_product"], r["os_version"], r["first_seen"], r["last_seen"])
            for r in db.query("select * from systems order by cluster, name")]


def _snapshot(r: Row) -> StoredSnapshot:
    return StoredSnapshot(
        id=r["id"], system=r["system"], cluster=r["cluster"], taken_at=r["taken_at"], kind=r["kind"] or "",
        status=r["status"] or "pending", csvs=tuple(_json(r["csvs"], "[]")), verified_at=r["verified_at"],
        run_id=r["run_id"], path=r["path"] or "", os_product=r["os_product"], os_version=r["os_version"],
        os_build=r["os_build"], hostname=r["hostname"], installation_type=r["installation_type"],
        enable_csv=None if r["enable_csv"] is None else bool(r["enable_csv"]), seconds=r["seconds"])


def snapshots_since(db: sqlite_utils.Database, system: str, since: str) -> list[StoredSnapshot]:
    """A system's snapshots taken at or after `since`, newest first."""
    return [_snapshot(r) for r in db.query(
        "select * from snapshots where system = ? and taken_at >= ? order by taken_at desc, id desc", [system, since])]


def verified_snapshots(db: sqlite_utils.Database, clusters: Sequence[str] | None = None) -> list[StoredSnapshot]:
    """Every verified snapshot (of `clusters` only, if given), by system then oldest first."""
    rows = db.query("select * from snapshots where verified_at is not null order by system, taken_at, id")
    return [_snapshot(r) for r in rows if clusters is None or r["cluster"] in clusters]


def verified_mark(db: sqlite_utils.Database, systems: Sequence[str]) -> tuple[str | None, tuple[str, ...]]:
    """The newest verified_at of these systems and the snapshots verified in that second."""
    ph = _placeholders(systems)
    rows = list(db.query(f"select id, verified_at from snapshots where system in ({ph}) and verified_at = "
                         f"(select max(verified_at) from snapshots where system in ({ph}))", [*systems, *systems]))
    return (rows[0]["verified_at"], tuple(sorted(r["id"] for r in rows))) if rows else (None, ())


def verified_since(db: sqlite_utils.Database, systems: Sequence[str], mark: str) -> list[tuple[str, str]]:
    """(snapshot id, verified_at) of these systems' snapshots verified at or after `mark`."""
    return [(r["id"], r["verified_at"]) for r in db.query(
        f"select id, verified_at from snapshots where verified_at >= ? and system in ({_placeholders(systems)})",
        [mark, *systems])]


def _finding(r: Row) -> Finding:
    return Finding(check=r["check_id"] or "", severity=r["severity"] or "warning", message=r["message"] or "",
                   snapshot_id=r["snapshot_id"], disk=r["disk"], volume=r["volume"], node=r["node"],
                   record=r["record"], path=r["path"], remedy=r["remedy"])


def snapshot_findings_since(db: sqlite_utils.Database, system: str, since: str) -> list[Finding]:
    """Inspection and check findings of a system's snapshots taken at or after `since`, as raised."""
    return [_finding(r) for r in db.query(
        "select f.* from findings f join snapshots s on s.id = f.snapshot_id "
        "where s.system = ? and s.taken_at >= ? and f.source != 'audit' order by f.id", [system, since])]


def _volume(r: Row) -> StoredVolume:
    fields = {k: r[k] for k in Volume.__dataclass_fields__ if k in r}
    fields.update(drive_letters=_split(r["drive_letters"]), mount_paths=tuple(_json(r["mount_paths"], "[]")),
                  bootable=bool(r["bootable"]), encrypted=bool(r["encrypted"]), compressed=bool(r["compressed"]))
    return StoredVolume(r["snapshot_id"], Volume(**fields), r["check_status"] or "skipped", r["check_reason"])


def volumes(db: sqlite_utils.Database, snapshot_ids: Sequence[str], *, unchecked_only: bool = False
            ) -> list[StoredVolume]:
    """The volumes of these snapshots, by snapshot then device; only the skipped/unchecked ones if asked."""
    if not snapshot_ids:
        return []
    where = " and check_status in ('skipped', 'unchecked')" if unchecked_only else ""
    return [_volume(r) for r in db.query(
        f"select * from volumes where snapshot_id in ({_placeholders(snapshot_ids)}){where} "
        "order by snapshot_id, device", list(snapshot_ids))]


def volume_guids_by_disk(db: sqlite_utils.Database) -> dict[str, tuple[str, ...]]:
    """GPT disk GUID -> every volume and partition GUID seen on it, in any snapshot."""
    out: dict[str, set[str]] = {}
    for r in db.query("select disk_guid, volume_guid, partition_guid from volumes where disk_guid is not null"):
        out.setdefault(r["disk_guid"], set()).update(g for g in (r["volume_guid"], r["partition_guid"]) if g)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def csv_volumes(db: sqlite_utils.Database, snapshot_id: str) -> list[StoredCsv]:
    """The CSVs one snapshot's cluster database lists, by CSV id."""
    return [StoredCsv(r["snapshot_id"], r["cluster"] or "",
                      CsvVolume(r["name"] or "", r["csv_id"], r["disk_name"] or "", r["disk_id"] or "",
                                r["offset"] or 0, r["partition_number"] or 0, r["volume_guid"] or "",
                                r["status"] or "", r["label"] or ""), r["last_backup"])
            for r in db.query("select * from csv_volumes where snapshot_id = ? order by csv_id", [snapshot_id])]


def csv_seen(db: sqlite_utils.Database, system: str) -> dict[str, CsvSeen]:
    """CSV id -> when the system's snapshots last listed it and last held it."""
    return {r["csv_id"]: CsvSeen(r["csv_id"], r["last_online"], r["last_backup"]) for r in db.query(
        "select c.csv_id, max(s.taken_at) as last_online, max(c.last_backup) as last_backup from csv_volumes c "
        "join snapshots s on s.id = c.snapshot_id where s.system = ? group by c.csv_id", [system])}


def stored_inspection(db: sqlite_utils.Database, snap: StoredSnapshot) -> Inspection:
    """The Inspection verify stored for a snapshot, rebuilt from its rows (the inverse of save_verification)."""
    sid = snap.id
    disks = tuple(ClusterDisk(r["resource_id"], r["name"], r["disk_id"], r["disk_id_type"], bool(r["is_csv"]),
                              r["grp"] or "", r["status"] or "", (), _split(r["letters"]))
                  for r in db.query("select * from cluster_disks where snapshot_id = ? order by resource_id", [sid]))
    csvs = csv_volumes(db, sid)
    cluster = None
    if disks or csvs:
        cluster = ClusterInfo(csvs[0].cluster if csvs else snap.cluster or "", (), disks, tuple(c.csv for c in csvs))
    mounted = tuple(LetterAssignment(r["name"], r["kind"], r["partition_guid"], r["disk_signature"], r["offset"],
                                     r["device"])
                    for r in db.query("select * from mounted_devices where snapshot_id = ? order by name", [sid]))
    errors = tuple(_finding(r) for r in db.query(
        "select * from findings where snapshot_id = ? and source = 'inspect' order by id", [sid]))
    return Inspection(sid, snap.os_info(), tuple(v.volume for v in volumes(db, [sid])), mounted, cluster,
                      snap.enable_csv, errors, snap.seconds or 0.0)


def latest_letter_audit(db: sqlite_utils.Database, cluster: str) -> StoredLetterAudit | None:
    """The newest audit of a cluster, or None when it was never audited."""
    for r in db.query("select * from letter_audits where cluster = ? order by audited_at desc, id desc limit 1",
                      [cluster]):
        return StoredLetterAudit(r["cluster"], r["audited_at"], r["source"], bool(r["compliant"]),
                                 _json(r["result"], "{}"))
    return None


def runs_of_kind(db: sqlite_utils.Database, kind: str, outcome: str) -> list[StoredRun]:
    """Runs of one kind that ended with `outcome`, newest first."""
    return [StoredRun(r["id"], r["kind"], r["started_at"], r["ended_at"], r["outcome"], r["message"],
                      _json(r["counts"], "{}"))
            for r in db.query("select * from runs where kind = ? and outcome = ? order by id desc", [kind, outcome])]


def unsent_deliveries(db: sqlite_utils.Database) -> list[StoredDelivery]:
    """Deliveries still to send (pending, or failed last time), oldest first."""
    return [StoredDelivery(r["id"], r["partner"], tuple(x.strip() for x in (r["recipients"] or "").split(",")
                                                         if x.strip()),
                           r["report_path"], r["subject"], r["status"], r["attempts"] or 0, r["last_error"])
            for r in db.query("select * from deliveries where status in ('pending', 'failed') order by id")]

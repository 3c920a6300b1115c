"""The report model: plain frozen dataclasses read from the store, ready for the templates.

Everything the HTML and text parts show is decided here (scoping to a partner, statuses,
the 30-day history, what changed since the last report), so both parts say the same
thing and the templates only lay it out. Raw values stay raw; formatting is in render.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlite_utils

from autoverify.models import Finding, Volume, severity_rank
from autoverify.store import queries
from autoverify.store.queries import StoredSnapshot, StoredSystem
from reports.changes import changes, previous_report

STATUS_RANK = {"healthy": 0, "unchecked": 1, "pending": 1, "warning": 2, "failed": 3}


@dataclass(frozen=True)
class Partner:
    """A recipient of reports (config.toml [[partners]]): it sees only its clusters and systems."""

    name: str
    emails: tuple[str, ...]
    clusters: tuple[str, ...] = ()
    systems: tuple[str, ...] = ()

    def covers(self, system: str, cluster: str | None) -> bool:
        return system in self.systems or (cluster is not None and cluster in self.clusters)


@dataclass(frozen=True)
class FindingView:
    severity: str
    check: str
    message: str
    node: str | None = None
    volume: str | None = None
    snapshot_id: str | None = None
    remedy: str | None = None
    path: str | None = None
    record: int | None = None


@dataclass(frozen=True)
class VolumeView:
    """One entry of the vendor's Volumes pane, with our check verdict."""

    title: str  # "L:, C:\\ClusterStorage\\Volume1\\ (CSV)" as the vendor heads it
    label: str
    filesystem: str
    bootable: bool
    guid: str
    encrypted: bool
    compressed: bool
    csv_id: str | None
    total: int | None
    used: int | None
    free: int | None
    check_status: str  # clean | errors | unchecked | skipped
    check_reason: str | None
    findings: tuple[FindingView, ...] = ()


@dataclass(frozen=True)
class CsvView:
    """One Cluster Disk + Volume block of the vendor's Cluster Shared Volumes pane."""

    disk_name: str
    cluster: str
    disk_id: str
    status: str  # Attached | Online
    last_online: str | None
    last_attached: str | None
    name: str
    csv_id: str
    offset: int
    partition_number: int
    volume_name: str
    last_backup: str | None  # when THIS system last backed the volume up


@dataclass(frozen=True)
class SnapshotRow:
    id: str
    taken_at: str
    kind: str
    status: str
    csvs: tuple[str, ...]
    findings: tuple[FindingView, ...] = ()


@dataclass(frozen=True)
class DayCell:
    day: date
    status: str  # healthy | warning | failed | unchecked | pending | none
    snapshots: int


@dataclass(frozen=True)
class SystemView:
    name: str
    cluster: str | None
    os: str
    status: str  # the worst of its latest snapshot and of its newest copy of each CSV
    why: str  # one sentence when status is not healthy
    latest: SnapshotRow | None
    volumes: tuple[VolumeView, ...]
    csvs: tuple[CsvView, ...]
    snapshots: tuple[SnapshotRow, ...]  # newest first, within the window
    history: tuple[DayCell, ...]
    shown: tuple[SnapshotRow, ...] = ()  # the Snapshots table: the newest rows and every one not healthy


@dataclass(frozen=True)
class Seeding:
    """Whether a node is ready for a USB seed (every shared volume captured at least once)."""

    node: str
    ready: bool
    missing: tuple[str, ...]
    steps: tuple[str, ...]


@dataclass(frozen=True)
class ClusterView:
    name: str
    nodes: tuple[str, ...]
    audited_at: str | None
    findings: tuple[FindingView, ...]
    letters: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (CSV name, its letters on each node, in node order)
    plan: tuple[tuple[str, str], ...] = ()  # (volume, the letter the remediation plan gives it)
    seeding: tuple[Seeding, ...] = ()


@dataclass(frozen=True)
class Unverified:
    system: str
    what: str
    reason: str
    snapshots: int  # how many snapshots of the window this applies to
    latest: str  # snapshot id


@dataclass(frozen=True)
class Summary:
    systems: int
    snapshots_verified: int
    snapshots_pending: int
    snapshot_status: dict[str, int]  # healthy / warning / failed / unchecked -> count
    system_status: dict[str, int]
    at_risk: tuple[str, ...]  # one sentence each, worst first
    changes: tuple[str, ...]
    since: str | None  # when the previous report was made


@dataclass(frozen=True)
class ReportModel:
    title: str
    partner: str | None
    generated_at: str
    window_days: int
    summary: Summary
    clusters: tuple[ClusterView, ...]
    systems: tuple[SystemView, ...]
    unverified: tuple[Unverified, ...]
    verified_mark: tuple[str | None, tuple[str, ...]] = (None, ())  # newest verified_at, ids verified then

    def state(self) -> dict[str, Any]:
        """What the next report compares against (stored in the runs table)."""
        return {"partner": self.partner, "systems": {s.name: s.status for s in self.systems},
                "audit": {c.name: len(c.findings) for c in self.clusters},
                "verified_through": self.verified_mark[0], "verified_last": list(self.verified_mark[1])}


def partners(cfg_partners: Iterable[dict[str, Any]]) -> list[Partner]:
    return [Partner(p["name"], tuple(p["emails"]), tuple(p.get("clusters") or ()), tuple(p.get("systems") or ()))
            for p in cfg_partners]


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=lambda s: STATUS_RANK.get(s, 1), default="none")


def parse_time(value: str) -> datetime:
    t = datetime.fromisoformat(value)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def build_model(db: sqlite_utils.Database, *, title: str, window_days: int = 30, partner: Partner | None = None,
                now: datetime | None = None, table_rows: int = 14) -> ReportModel:
    """Read the store and decide what the report says (for `partner`'s systems only, if given).

    A Snapshots table lists the newest `table_rows` snapshots and every older one not
    healthy, so that a month of hourly snapshots still makes a mail of reasonable size.
    """
    now = now or datetime.now(UTC)
    since = (now - timedelta(days=window_days)).isoformat()
    systems = [s for s in queries.systems(db) if partner is None or partner.covers(s.name, s.cluster)]
    names = [s.name for s in systems]
    views = tuple(_system_view(db, s, since, now.date(), window_days, table_rows) for s in systems)
    clusters = tuple(_cluster_view(db, c, names, whole=partner is None or c in partner.clusters)
                     for c in _clusters_of(systems, partner))
    snaps = [r for v in views for r in v.snapshots]
    previous = previous_report(db, partner.name if partner else None)
    summary = Summary(
        systems=len(views),
        snapshots_verified=sum(1 for r in snaps if r.status not in ("pending",)),
        snapshots_pending=sum(1 for r in snaps if r.status == "pending"),
        snapshot_status=_count(r.status for r in snaps),
        system_status=_count(v.status for v in views),
        at_risk=_at_risk(views, clusters),
        changes=changes(db, previous, views, clusters, names),
        since=previous.started_at if previous else None)
    return ReportModel(title=title, partner=partner.name if partner else None,
                       generated_at=now.replace(microsecond=0).isoformat(), window_days=window_days,
                       summary=summary, clusters=clusters, systems=views,
                       unverified=tuple(u for v in views for u in _unverified(db, v)),
                       verified_mark=queries.verified_mark(db, names))


def _count(statuses: Iterable[str]) -> dict[str, int]:
    out = {"healthy": 0, "warning": 0, "failed": 0}
    for s in statuses:
        out[s] = out.get(s, 0) + 1
    return out


def _finding(f: Finding) -> FindingView:
    return FindingView(severity=f.severity, check=f.check, message=f.message, node=f.node, volume=f.volume,
                       snapshot_id=f.snapshot_id, remedy=f.remedy, path=f.path, record=f.record)


def _sorted(findings: Iterable[FindingView]) -> tuple[FindingView, ...]:
    return tuple(sorted(findings, key=lambda f: -severity_rank(f.severity)))


def _system_view(db: sqlite_utils.Database, system: StoredSystem, since: str, today: date, days: int,
                 table_rows: int) -> SystemView:
    name = system.name
    rows = queries.snapshots_since(db, name, since)
    findings: dict[str | None, list[FindingView]] = {}
    for f in queries.snapshot_findings_since(db, name, since):
        findings.setdefault(f.snapshot_id, []).append(_finding(f))
    snapshots = tuple(SnapshotRow(id=r.id, taken_at=r.taken_at, kind=r.kind, status=r.status, csvs=r.csvs,
                                  findings=_sorted(findings.get(r.id, ())))
                      for r in rows)
    verified = [(r, s) for r, s in zip(rows, snapshots, strict=True) if r.verified_at]
    latest_row, latest = verified[0] if verified else (None, None)
    os_ = " ".join(x for x in ((latest_row.os_product if latest_row else None) or system.os_product or "",
                               f"(build {latest_row.os_build})" if latest_row and latest_row.os_build else "") if x)
    status, why = _system_status(snapshots, latest)
    return SystemView(
        name=name, cluster=system.cluster, os=os_ or "unknown", status=status, why=why, latest=latest,
        volumes=_volumes(db, latest) if latest else (),
        csvs=_csvs(db, name, latest_row) if latest_row else (),
        snapshots=snapshots, history=_history(snapshots, today, days),
        shown=tuple(r for i, r in enumerate(snapshots) if i < table_rows or r.status != "healthy"))


def _system_status(snapshots: tuple[SnapshotRow, ...], latest: SnapshotRow | None) -> tuple[str, str]:
    """A system is as good as its newest snapshot AND its newest copy of each CSV it ever held.

    A CSV moves between nodes, so a node's newest snapshot may not hold it: its newest copy
    of that CSV is in an older snapshot, and that copy is what a restore from this node gets.
    """
    if latest is None:
        return "pending", "No snapshot of this system has been verified yet."
    newest: dict[str, SnapshotRow] = {}
    for s in snapshots:  # newest first
        if s.status != "pending":
            for c in s.csvs:
                newest.setdefault(c, s)
    status, why = latest.status, ""
    if latest.status != "healthy":
        first = latest.findings[0].message if latest.findings else f"it is {latest.status}"
        why = f"Its latest snapshot is {latest.status}: {first}"
    for csv, snap in sorted(newest.items()):
        if snap is not latest and STATUS_RANK.get(snap.status, 1) > STATUS_RANK.get(status, 1):
            status = snap.status
            why = f"Its newest copy of {csv} (snapshot {snap.id}) is {snap.status}."
    return status, why


def _volumes(db: sqlite_utils.Database, snap: SnapshotRow) -> tuple[VolumeView, ...]:
    out = []
    for sv in sorted(queries.volumes(db, [snap.id]), key=lambda x: (x.volume.disk_index, x.volume.partition_number)):
        v, keys = sv.volume, _keys(sv.volume)
        out.append(VolumeView(
            title=_title(v), label=v.label or "", filesystem="CSVFS" if v.csv_id else (v.filesystem or "").upper(),
            bootable=v.bootable, guid=v.volume_guid or "", encrypted=v.encrypted, compressed=v.compressed,
            csv_id=v.csv_id, total=v.total_bytes or v.size, used=v.used_bytes, free=v.free_bytes,
            check_status=sv.check_status, check_reason=sv.check_reason,
            findings=tuple(f for f in snap.findings if f.volume in keys)))
    return tuple(out)


def _keys(v: Volume) -> set[str]:
    """The names a finding may give this volume (the verify stage uses CSV name, label or Volume{guid})."""
    letters = _letters(v)
    names = {v.device, v.csv_name, v.volume_guid, v.label, *letters, *(x.rstrip(":") for x in letters)}
    if v.volume_guid:
        names.add("Volume{" + v.volume_guid + "}")
    return {n for n in names if n}


def _letters(v: Volume) -> list[str]:
    return [f"{x}:" for x in v.drive_letters]


def _title(v: Volume) -> str:
    """A volume as the vendor heads it in the Volumes pane: 'L:, C:\\ClusterStorage\\Volume1\\ (CSV)'."""
    paths = [p.rstrip("\\") + "\\" for p in v.mount_paths]
    if v.csv_name and not paths:
        paths = [f"C:\\ClusterStorage\\{v.csv_name}\\"]
    guid_path = "\\\\?\\Volume{" + v.volume_guid + "}\\" if v.volume_guid else ""
    title = ", ".join(_letters(v) + paths) or guid_path or f"Disk {v.disk_index} partition {v.partition_number}"
    return f"{title} (CSV)" if v.csv_id else title


def _csvs(db: sqlite_utils.Database, system: str, latest: StoredSnapshot) -> tuple[CsvView, ...]:
    seen = queries.csv_seen(db, system)
    out = []
    for sc in sorted(queries.csv_volumes(db, latest.id), key=lambda x: x.csv.name):
        c, hist = sc.csv, seen.get(sc.csv.csv_id)
        out.append(CsvView(
            disk_name=c.disk_name, cluster=sc.cluster, disk_id=c.disk_id, status=c.status,
            last_online=hist.last_online if hist else None, last_attached=hist.last_backup if hist else None,
            name=c.name, csv_id=c.csv_id, offset=c.offset, partition_number=c.partition_number,
            volume_name=c.volume_name, last_backup=hist.last_backup if hist else None))
    return tuple(out)


def _history(snapshots: Iterable[SnapshotRow], today: date, days: int) -> tuple[DayCell, ...]:
    by_day: dict[date, list[str]] = {}
    for s in snapshots:
        by_day.setdefault(parse_time(s.taken_at).date(), []).append(s.status)
    cells = []
    for i in range(days - 1, -1, -1):
        d = today - timedelta(days=i)
        statuses = by_day.get(d, [])
        cells.append(DayCell(d, worst(statuses), len(statuses)))
    return tuple(cells)


def _clusters_of(systems: list[StoredSystem], partner: Partner | None) -> list[str]:
    names = {s.cluster for s in systems if s.cluster}
    if partner:
        names |= set(partner.clusters)
    return sorted(names)


def _cluster_view(db: sqlite_utils.Database, name: str, systems: list[str], whole: bool = True) -> ClusterView:
    """The latest letter audit of a cluster; a partner owning only some of its nodes sees only those."""
    audit = queries.latest_letter_audit(db, name)
    if audit is None:
        return ClusterView(name, tuple(sorted(s for s in systems)), None, ())
    result = audit.result
    if "clusters" in result:  # the whole audit-letters JSON: pick this cluster
        result = next((c for c in result["clusters"] if c.get("name") == name), {})
    findings = _sorted(FindingView(severity=f.get("severity") or "warning", check=f.get("rule") or "",
                                   message=f.get("message") or "", node=f.get("node"), volume=f.get("volume"),
                                   remedy=f.get("remedy")) for f in result.get("findings", ()))
    nodes = tuple(n for n in result.get("nodes") or () if whole or n in systems)
    if not whole:
        findings = tuple(f for f in findings if f.node in systems)
    letters = tuple((v.get("name") or v.get("csv_id") or "?",
                     tuple(",".join(f"{x}:" for x in (v.get("letters_by_node") or {}).get(n) or ()) for n in nodes))
                    for v in result.get("volumes") or ())
    plan = tuple(sorted(((result.get("remediation") or {}).get("letters") or {}).items()))
    seeding = tuple(Seeding(n, bool(s.get("ready")), tuple(s.get("missing") or ()), tuple(s.get("steps") or ()))
                    for n, s in sorted((result.get("seeding") or {}).items()) if n in nodes)
    return ClusterView(name, nodes, audit.audited_at, findings, letters, plan, seeding)


def _unverified(db: sqlite_utils.Database, view: SystemView) -> list[Unverified]:
    """Volumes not checked and snapshots not (fully) verified, one row per (what, reason).

    An unchecked volume's reason is its finding's message (BitLocker, unreadable); an EFI
    system partition (FAT, no letter) is not a data volume and not listed.
    """
    rows: dict[tuple[str, str], list[str]] = {}
    findings = {s.id: s.findings for s in view.snapshots}
    volume_keys: dict[str, set[str]] = {}
    ids = list(findings)
    for sv in queries.volumes(db, ids, unchecked_only=True):
        v = sv.volume
        if "fat" in (v.filesystem or "") and not v.drive_letters:
            continue
        keys = _keys(v)
        volume_keys.setdefault(sv.snapshot_id, set()).update(keys)
        said = next((f.message for f in findings[sv.snapshot_id] if f.volume in keys), None)
        reason = sv.check_reason or said or ("BitLocker-encrypted" if v.encrypted else "not checked")
        what = _title(v) + (f" ({v.label})" if v.label else "")
        rows.setdefault((what, reason), []).append(sv.snapshot_id)
    for s in view.snapshots:
        if s.status == "pending":
            rows.setdefault(("snapshot", "not verified yet"), []).append(s.id)
        for f in s.findings:  # image-level problems (an unreadable disk), not already said per volume
            if f.check.startswith("inspect.") and f.volume not in volume_keys.get(s.id, set()):
                rows.setdefault((f.volume or f.path or "snapshot", f.message), []).append(s.id)
    order = {s: i for i, s in enumerate(ids)}
    return [Unverified(view.name, what, reason, len(set(snaps)), min(snaps, key=lambda x: order.get(x, 0)))
            for (what, reason), snaps in sorted(rows.items())]


def _at_risk(views: Iterable[SystemView], clusters: Iterable[ClusterView]) -> tuple[str, ...]:
    out: list[tuple[int, str]] = []
    for v in views:
        for s in v.snapshots:
            if s.status == "failed":
                worst_f = s.findings[0].message if s.findings else "the checks failed"
                out.append((3, f"{s.id} failed: {worst_f}"))
    for c in clusters:
        for f in c.findings:
            if severity_rank(f.severity) >= 2:
                out.append((severity_rank(f.severity), f"{c.name}: {f.message}"))
    return tuple(msg for _, msg in sorted(out, key=lambda x: -x[0]))

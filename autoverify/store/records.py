"""Write the pipeline's dataclasses to the database; each unit is one transaction."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

import sqlite_utils

from autoverify.models import (
    ATTACHED,
    CheckResult,
    Finding,
    Inspection,
    Snapshot,
    Volume,
    attached_csv_names,
    severity_rank,
)
from autoverify.store.connection import now, table, transaction


def register_snapshots(db: sqlite_utils.Database, snapshots: Iterable[Snapshot]) -> int:
    """Record newly discovered snapshots (idempotent); return how many were new."""
    new = 0
    with transaction(db):
        known = {r["id"] for r in db.query("select id from snapshots")}
        for snap in snapshots:
            table(db, "systems").upsert({"name": snap.system, "cluster": snap.cluster, "last_seen": now()}, pk="name")
            if table(db, "systems").get(snap.system).get("first_seen") is None:
                table(db, "systems").update(snap.system, {"first_seen": now()})
            if snap.id in known:
                continue
            new += 1
            table(db, "snapshots").insert({"id": snap.id, "system": snap.system, "cluster": snap.cluster,
                                    "taken_at": snap.taken_at, "kind": snap.kind, "path": snap.path,
                                    "discovered_at": now(), "status": "pending"})
            table(db, "disks").insert_all([{"snapshot_id": snap.id, "idx": i, "path": d.path, "format": d.format,
                                     "size": d.size, "backing_chain": json.dumps(list(d.backing_chain))}
                                    for i, d in enumerate(snap.disks)])
    return new


def pending_snapshot_ids(db: sqlite_utils.Database) -> list[str]:
    """Snapshots never verified, oldest first (a crash mid-run leaves them pending)."""
    return [r["id"] for r in db.query(
        "select id from snapshots where verified_at is null order by taken_at, id")]


def start_run(db: sqlite_utils.Database, kind: str) -> int:
    with transaction(db):
        run_id = cast(int, table(db, "runs").insert({"kind": kind, "started_at": now(), "outcome": "running",
                                                     "pid": os.getpid()}).last_pk)
        return run_id


def finish_run(db: sqlite_utils.Database, run_id: int, outcome: str, counts: dict[str, Any], message: str = "") -> None:
    with transaction(db):
        table(db, "runs").update(run_id, {"ended_at": now(), "outcome": outcome,
                                   "counts": json.dumps(counts, sort_keys=True), "message": message})


def snapshot_status(findings: Iterable[Finding], checks: Iterable[CheckResult]) -> str:
    """healthy / warning / failed: the worst of the findings and check verdicts."""
    worst = max((severity_rank(f.severity) for f in findings), default=0)
    for c in checks:
        worst = max(worst, 2 if c.status == "errors" else 0)
    return "failed" if worst >= 2 else "warning" if worst == 1 else "healthy"


def finding_row(f: Finding, run_id: int | None, source: str, cluster: str | None = None) -> dict[str, Any]:
    row = asdict(f)
    row["check_id"] = row.pop("check")
    return {**row, "run_id": run_id, "source": source, "cluster": cluster, "created_at": now()}


def save_verification(db: sqlite_utils.Database, run_id: int, snap: Snapshot, insp: Inspection,
                      checks: dict[str, CheckResult], skipped: dict[str, str],
                      extra_findings: Iterable[Finding] = ()) -> str:
    """Store everything verify learnt about one snapshot, in ONE transaction; return its status.

    `checks` maps a volume's device to its check result; `skipped` maps a device to the
    reason it was not checked (no letter and not a CSV, BitLocker, not NTFS, ...).
    """
    check_findings = [f for c in checks.values() for f in c.findings]
    findings = [*insp.errors, *check_findings, *extra_findings]
    status = snapshot_status(findings, checks.values())
    with transaction(db):
        sid = snap.id
        for name in ("volumes", "mounted_devices", "cluster_disks", "csv_volumes"):
            table(db, name).delete_where("snapshot_id = ?", [sid])
        table(db, "findings").delete_where("snapshot_id = ? and source != 'audit'", [sid])
        table(db, "volumes").insert_all([_volume_row(sid, v, checks.get(v.device), skipped.get(v.device))
                                  for v in insp.volumes])
        table(db, "mounted_devices").insert_all([{"snapshot_id": sid, **asdict(m)} for m in insp.mounted_devices])
        if insp.cluster:
            cl = insp.cluster
            table(db, "cluster_disks").insert_all([
                {"snapshot_id": sid, "resource_id": d.resource_id, "cluster": cl.name, "name": d.name,
                 "disk_id": d.disk_id, "disk_id_type": d.disk_id_type, "is_csv": int(d.is_csv),
                 "grp": d.group, "status": d.status, "letters": ",".join(d.letters)} for d in cl.disks])
            table(db, "csv_volumes").insert_all([
                {"snapshot_id": sid, "csv_id": c.csv_id, "cluster": cl.name, "name": c.name,
                 "disk_name": c.disk_name, "disk_id": c.disk_id, "offset": c.offset,
                 "partition_number": c.partition_number, "volume_guid": c.volume_guid, "status": c.status,
                 "label": c.label, "last_backup": snap.taken_at if c.status == ATTACHED else None}
                for c in cl.csv_volumes])
        table(db, "findings").insert_all([finding_row(f, run_id, "inspect" if f in insp.errors else "check",
                                               insp.cluster.name if insp.cluster else snap.cluster)
                                   for f in findings])
        os_ = insp.os
        table(db, "snapshots").update(sid, {
            "verified_at": now(), "run_id": run_id, "status": status, "csvs": json.dumps(attached_csv_names(insp.cluster)),
            "os_product": os_.product_name if os_ else None, "os_version": os_.version if os_ else None,
            "os_build": os_.build if os_ else None, "hostname": os_.hostname if os_ else None,
            "installation_type": os_.installation_type if os_ else None,
            "enable_csv": None if insp.enable_csv is None else int(insp.enable_csv), "seconds": insp.seconds})
        if os_:
            table(db, "systems").update(snap.system, {"os_product": os_.product_name, "os_version": os_.version})
    return status


def _volume_row(sid: str, v: Volume, check: CheckResult | None, skip_reason: str | None) -> dict[str, Any]:
    row = asdict(v)
    row["drive_letters"] = ",".join(v.drive_letters)
    row["mount_paths"] = json.dumps(list(v.mount_paths))
    for b in ("bootable", "encrypted", "compressed"):
        row[b] = int(row[b])
    row.update({"snapshot_id": sid,
                "check_status": check.status if check else "skipped",
                "check_reason": skip_reason, "mft_records": check.mft_records if check else None,
                "check_seconds": check.seconds if check else None})
    return row


@dataclass(frozen=True)
class ClusterAuditRecord:
    """What the store keeps of one cluster's letter audit: its findings and its JSON document."""

    name: str
    findings: tuple[Finding, ...]
    result: dict[str, Any]


def save_letter_audits(db: sqlite_utils.Database, audited_at: str, source: str,
                       clusters: Sequence[ClusterAuditRecord], could_not_audit: bool) -> int:
    """Record an audit as a run: one letter_audits row per cluster and its findings; return the run id.

    One transaction (start_run/finish_run join it); the findings carry the audit time.
    """
    with transaction(db):
        run_id = start_run(db, "audit")
        for c in clusters:
            table(db, "letter_audits").insert({"run_id": run_id, "cluster": c.name, "audited_at": audited_at,
                                        "source": source, "compliant": int(not c.findings),
                                        "findings": len(c.findings), "result": json.dumps(c.result)})
            table(db, "findings").insert_all([{**finding_row(f, run_id, "audit", c.name), "created_at": audited_at}
                                       for f in c.findings])
        counts = {"clusters": len(clusters), "findings": sum(len(c.findings) for c in clusters)}
        finish_run(db, run_id, "could-not-audit" if could_not_audit else "ok", counts)
    return run_id


def queue_delivery(db: sqlite_utils.Database, partner: str, recipients: Sequence[str], report_path: str,
                   subject: str) -> int:
    """Record a report to send as a 'pending' delivery; return its id."""
    with transaction(db):
        delivery_id = cast(int, table(db, "deliveries").insert({
            "partner": partner, "report_path": report_path, "recipients": ", ".join(recipients),
            "subject": subject, "status": "pending", "attempts": 0, "created_at": now()}).last_pk)
        return delivery_id


def record_delivery(db: sqlite_utils.Database, delivery_id: int, attempts: int, error: str | None,
                    status: str) -> None:
    """Record the outcome of the attempts at a delivery so far (sent_at when it was sent)."""
    with transaction(db):
        table(db, "deliveries").update(delivery_id, {"attempts": attempts, "last_error": error, "status": status,
                                              "sent_at": now() if status == "sent" else None})

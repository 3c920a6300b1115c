"""A verified database shaped like the lab (docs/design.md), written through autoverify.store.

Same clusters, nodes, CSVs, GUIDs and history as the lab, plus what the lab lacks and a
report must show: a hostile volume label, a BitLocker volume, an unreadable image, a
snapshot not verified yet, and older days for a 30-day history. Times are relative to
`now` so everything falls inside the report's window.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlite_utils

from autoverify.models import (
    CheckResult,
    ClusterDisk,
    ClusterInfo,
    CsvVolume,
    DiskImage,
    Finding,
    Inspection,
    OsInfo,
    Snapshot,
    Volume,
)
from autoverify.store import finish_run, register_snapshots, save_verification, start_run
from autoverify.store.db import transaction

HOSTILE_LABEL = "<script>alert(1)</script>"
NO_LETTER = "No drive letter and not a CSV: mounted at a path only, so not checked (as the vendor's AutoVerify)."
BITLOCKER = "BitLocker-encrypted: cannot be checked offline."
CSV_OFFSET = 135266304
GIB = 2**30
CSVS = {  # name: (cluster disk, disk guid, volume guid, label)
    "Volume1": ("Cluster Disk 2", "41a4e9d6-472e-4777-ad08-953687110317", "d18f9c25-88c9-4d67-bf2f-d88492bb3952", "Vol1"),
    "Volume2": ("Cluster Disk 3", "e62f2b36-b735-43fd-8b8f-d854a9147f13", "1eb6da91-3a19-4751-ba7d-dac7a214e31c", "Vol2"),
}
LETTERS = {("NODE1", "Volume1"): "L", ("NODE2", "Volume1"): "L", ("NODE3", "Volume1"): "M"}
# (node, day, csvs attached); day 1 is the Full
HISTORY = [("NODE1", 1, ("Volume1", "Volume2")), ("NODE1", 2, ()), ("NODE1", 3, ("Volume1",)),
           ("NODE2", 1, ()), ("NODE2", 2, ("Volume1", "Volume2")), ("NODE2", 3, ("Volume2",)),
           ("NODE3", 1, ()), ("NODE3", 2, ()), ("NODE3", 3, ())]
AUDIT = [  # (rule, severity, node, volume, message, remedy): the lab's expected findings
    ("csv-no-letter", "warning", "NODE1", "Volume2", "CSV Volume2 has no drive letter on NODE1.", "Assign D: to Volume2 on NODE1 in Disk Management."),
    ("csv-no-letter", "warning", "NODE2", "Volume2", "CSV Volume2 has no drive letter on NODE2.", "Assign D: to Volume2 on NODE2 in Disk Management."),
    ("csv-no-letter", "warning", "NODE3", "Volume2", "CSV Volume2 has no drive letter on NODE3.", "Assign D: to Volume2 on NODE3 in Disk Management."),
    ("csv-letter-mismatch", "warning", None, "Volume1", "CSV Volume1 is L: on NODE1, NODE2 but M: on NODE3.", "Use L: for Volume1 on every node."),
    ("letter-collision", "error", "NODE2", "Volume1", "NODE2's local volume Data holds M:, the letter Volume1 has on NODE3.", "Move Data off M: on NODE2, or use L: for Volume1 everywhere."),
    ("enable-csv-missing", "critical", "NODE3", None, "aristos.cfg on NODE3 lacks ENABLE_CSV=true: NODE3 never backs up a CSV.", "Stop the agent, add ENABLE_CSV=true to aristos.cfg, start it."),
    ("csv-never-captured", "warning", "NODE3", "Volume1", "No snapshot of NODE3 ever held Volume1.", "Move Volume1 to NODE3 and take a backup."),
    ("csv-never-captured", "warning", "NODE3", "Volume2", "No snapshot of NODE3 ever held Volume2.", "Move Volume2 to NODE3 and take a backup."),
]


def _os(host: str, legacy: bool = False) -> OsInfo:
    if legacy:
        return OsInfo("Windows Server 2008 R2 Enterprise", "6.1", 6, 1, "7601", host, "Server")
    return OsInfo("Windows Server 2019 Standard", "10.0", 10, 0, "17763", host, "Server")


def _volume(disk: int, part: int, label: str, letters: tuple[str, ...] = (), **kw) -> Volume:
    size = kw.pop("size", 50 * GIB)
    used = kw.pop("used", size // 7)
    return Volume(disk_index=disk, device=f"/dev/sd{'abcdefgh'[disk]}{part}", partition_number=part,
                  offset=kw.pop("offset", 1048576), size=size, filesystem=kw.pop("filesystem", "ntfs"), label=label,
                  volume_guid=kw.pop("guid", f"00000000-0000-4000-8000-{disk:04d}{part:08d}"),
                  drive_letters=letters, total_bytes=size, used_bytes=used, free_bytes=size - used, **kw)


def _cluster(name: str, nodes: tuple[str, ...], attached: tuple[str, ...], csvs: tuple[str, ...]) -> ClusterInfo:
    disks = [ClusterDisk(CSVS[c][1], CSVS[c][0], CSVS[c][1], "gpt", True, status="Attached" if c in attached else "Online",
                         volume_guids=(CSVS[c][2],)) for c in csvs]
    vols = [CsvVolume(c, f"{CSVS[c][1]}:{CSV_OFFSET}", CSVS[c][0], CSVS[c][1], CSV_OFFSET, 2, CSVS[c][2],
                      "Attached" if c in attached else "Online", CSVS[c][3]) for c in csvs]
    return ClusterInfo(name, nodes, tuple(disks), tuple(vols))


def _store(db, run_id, snap, insp, checks, skipped) -> None:
    register_snapshots(db, [snap])
    save_verification(db, run_id, snap, insp, checks, skipped)


def _snapshot(node: str, cluster: str, when: datetime, kind: str, ndisks: int) -> Snapshot:
    name = when.strftime("%Y-%m-%dT%H%M")
    disks = tuple(DiskImage(f"/srv/store/{node}/{name}/disk{i}.qcow2", "qcow2", 60 * GIB) for i in range(ndisks))
    return Snapshot(f"{node}/{name}", node, when.isoformat(), kind, disks, cluster, f"/srv/store/{node}/{name}")


def populate(db: sqlite_utils.Database, now: datetime | None = None) -> dict:
    """Write the lab-shaped history; return facts the tests assert on."""
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    day1 = (now - timedelta(days=5)).replace(hour=1)
    run_id = start_run(db, "verify")
    clean = CheckResult("clean", mft_records=256, seconds=0.4)
    for node, day, attached in HISTORY:
        when = day1 + timedelta(days=day - 1)
        snap = _snapshot(node, "CSVNodes", when, "Full" if day == 1 else "Incremental", 2 + len(attached))
        vols = [_volume(0, 2, "", ("C",), bootable=True, size=60 * GIB, used=13 * GIB)]
        checks, skipped, errors = {"/dev/sda2": clean}, {}, []
        if node == "NODE1":
            vols.append(_volume(0, 3, "Recovery", (), size=GIB, mount_paths=("C:\\Recovery",)))
            skipped["/dev/sda3"] = NO_LETTER
            vols.append(_volume(0, 1, "", (), size=100 * 2**20, filesystem="vfat"))  # the ESP: not listed
            skipped["/dev/sda1"] = "not NTFS (vfat)"
            vols.append(_volume(1, 2, "Share", ("S",), offset=CSV_OFFSET))
            checks["/dev/sdb2"] = clean
        if node == "NODE2":
            vols.append(_volume(1, 2, HOSTILE_LABEL, ("M",), offset=CSV_OFFSET))
            checks["/dev/sdb2"] = clean
        if node == "NODE3":
            vols.append(_volume(1, 2, "Finance", ("E",), encrypted=True))
            skipped["/dev/sdb2"] = BITLOCKER
            if day == 3:
                errors.append(Finding("inspect.unreadable", "error",
                                      f"{snap.disks[1].path}: cannot be read (the qcow2 header is damaged).",
                                      snapshot_id=snap.id, disk=snap.disks[1].path, volume="disk1.qcow2"))
        for i, csv in enumerate(attached, start=2):
            dev = f"/dev/sd{'abcdefgh'[i]}2"
            letter = LETTERS.get((node, csv))
            vols.append(_volume(i, 2, CSVS[csv][3], (letter,) if letter else (), offset=CSV_OFFSET, guid=CSVS[csv][2],
                                mount_paths=(f"C:\\ClusterStorage\\{csv}",), csv_id=f"{CSVS[csv][1]}:{CSV_OFFSET}",
                                csv_name=csv, used=GIB // 2))
            checks[dev] = clean
            if node == "NODE2" and day == 2 and csv == "Volume1":
                checks[dev] = CheckResult("errors", (
                    Finding("ntfs.record-header", "error", "File record 41 has a bad update sequence (torn write).",
                            snapshot_id=snap.id, volume="Volume1", record=41, path="\\Data\\ledger.xlsx",
                            remedy="Restore Volume1 from NODE1's snapshot of day 3, which checks clean."),
                    Finding("ntfs.bitmap", "error", "$Bitmap marks 12 clusters free that file records use.",
                            snapshot_id=snap.id, volume="Volume1")), mft_records=256)
        insp = Inspection(snap.id, _os(node), tuple(vols), cluster=_cluster("CSVNodes", ("NODE1", "NODE2", "NODE3"),
                          attached, ("Volume1", "Volume2")), enable_csv=node != "NODE3", errors=tuple(errors))
        _store(db, run_id, snap, insp, checks, skipped)
    for back in range(12, -1, -1):  # LEGACY: a longer daily history
        when = (now - timedelta(days=back)).replace(hour=2)
        snap = _snapshot("OLDNODE1", "LEGACY", when, "Full" if back == 12 else "Incremental", 2)
        csv = CSVS["Volume1"]
        vols = (_volume(0, 1, "", ("C",), bootable=True, size=40 * GIB),
                _volume(1, 2, csv[3], (), offset=CSV_OFFSET, guid=csv[2], mount_paths=("C:\\ClusterStorage\\Volume1",),
                        csv_id=f"{csv[1]}:{CSV_OFFSET}", csv_name="Volume1"))
        insp = Inspection(snap.id, _os("OLDNODE1", legacy=True), vols,
                          cluster=_cluster("LEGACY", ("OLDNODE1",), ("Volume1",), ("Volume1",)), enable_csv=True)
        _store(db, run_id, snap, insp, {"/dev/sda1": clean, "/dev/sdb2": clean}, {})
    pending = _snapshot("NODE1", "CSVNodes", now - timedelta(hours=1), "Incremental", 2)
    register_snapshots(db, [pending])
    finish_run(db, run_id, "findings", {"snapshots": len(HISTORY) + 13})
    audit(db, "CSVNodes", ("NODE1", "NODE2", "NODE3"), AUDIT, volumes=[
        {"csv_id": f"{CSVS['Volume1'][1]}:{CSV_OFFSET}", "name": "Volume1",
         "letters_by_node": {"NODE1": ["L"], "NODE2": ["L"], "NODE3": ["M"]}},
        {"csv_id": f"{CSVS['Volume2'][1]}:{CSV_OFFSET}", "name": "Volume2", "letters_by_node": {}}],
        remediation={"letters": {"Volume1": "L", "Volume2": "D"}, "powershell": {}, "unresolved": []},
        seeding={"NODE1": {"ready": True, "base_snapshots": [], "missing": [], "steps": []},
                 "NODE2": {"ready": True, "base_snapshots": [], "missing": [], "steps": []},
                 "NODE3": {"ready": False, "base_snapshots": [], "missing": ["Volume1", "Volume2"],
                           "steps": ["Add ENABLE_CSV=true to aristos.cfg on NODE3.",
                                     "Move Volume1 and Volume2 to NODE3 and take a backup."]}})
    audit(db, "LEGACY", ("OLDNODE1",), [("legacy-2008r2-csv", "warning", "OLDNODE1", "Volume1",
                                         "OLDNODE1 runs Windows Server 2008 R2 and holds CSV Volume1.",
                                         "Upgrade OLDNODE1 to Windows Server 2012 or newer, or disable CSV backup.")])
    return {"failed_snapshot": f"NODE2/{(day1 + timedelta(days=1)).strftime('%Y-%m-%dT%H%M')}",
            "pending_snapshot": pending.id}


def audit(db: sqlite_utils.Database, cluster: str, nodes: tuple[str, ...], findings: list[tuple],
          **extra) -> None:
    """A letter_audits row as the audit stage writes it: one cluster of the audit-letters JSON (cli.md).

    Without `extra`, the whole {"clusters": [...]} document instead (the report reads both).
    """
    one = {"name": cluster, "nodes": list(nodes), "volumes": [], **extra, "findings": [
        dict(zip(("rule", "severity", "node", "volume", "message", "remedy"), f, strict=True)) for f in findings]}
    result = one if extra else {"clusters": [one]}
    with transaction(db):
        db["letter_audits"].insert({"cluster": cluster, "audited_at": datetime.now(UTC).isoformat(), "source": "snapshots",
                                    "compliant": int(not findings), "findings": len(findings),
                                    "result": json.dumps(result)})

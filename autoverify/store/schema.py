"""Named, ordered migrations; each applied once, in its own transaction, and recorded.

Add a migration by appending to MIGRATIONS; never edit one that has shipped.
`PRAGMA user_version` holds the number of migrations applied (the schema version).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from autoverify.store.connection import now, table, transaction


def _initial(db: sqlite_utils.Database) -> None:
    table(db, "systems").create({"name": str, "cluster": str, "first_seen": str, "last_seen": str,
                          "os_product": str, "os_version": str}, pk="name")
    table(db, "snapshots").create({
        "id": str, "system": str, "cluster": str, "taken_at": str, "kind": str, "path": str,
        "discovered_at": str, "verified_at": str, "run_id": int,
        "status": str,  # pending | healthy | warning | failed | unchecked
        "csvs": str,  # JSON list of CSV names the snapshot holds (the vendor's CSV column)
        "os_product": str, "os_version": str, "os_build": str, "hostname": str,
        "installation_type": str, "enable_csv": int, "seconds": float,
    }, pk="id", foreign_keys=[("system", "systems", "name")])
    table(db, "disks").create({"snapshot_id": str, "idx": int, "path": str, "format": str, "size": int,
                        "backing_chain": str}, pk=("snapshot_id", "idx"),
                       foreign_keys=[("snapshot_id", "snapshots", "id")])
    table(db, "volumes").create({
        "snapshot_id": str, "device": str, "disk_index": int, "partition_number": int, "offset": int,
        "size": int, "filesystem": str, "label": str, "volume_guid": str, "partition_guid": str,
        "disk_guid": str, "mbr_signature": str, "drive_letters": str, "mount_paths": str,
        "bootable": int, "encrypted": int, "compressed": int, "total_bytes": int, "used_bytes": int,
        "free_bytes": int, "csv_id": str, "csv_name": str,
        "check_status": str,  # clean | errors | unchecked | skipped
        "check_reason": str, "mft_records": int, "check_seconds": float,
    }, pk=("snapshot_id", "device"), foreign_keys=[("snapshot_id", "snapshots", "id")])
    table(db, "mounted_devices").create({"snapshot_id": str, "name": str, "kind": str, "partition_guid": str,
                                  "disk_signature": str, "offset": int, "device": str},
                                 pk=("snapshot_id", "name"), foreign_keys=[("snapshot_id", "snapshots", "id")])
    table(db, "cluster_disks").create({"snapshot_id": str, "resource_id": str, "cluster": str, "name": str,
                                "disk_id": str, "disk_id_type": str, "is_csv": int, "grp": str,
                                "status": str, "letters": str},
                               pk=("snapshot_id", "resource_id"), foreign_keys=[("snapshot_id", "snapshots", "id")])
    table(db, "csv_volumes").create({"snapshot_id": str, "csv_id": str, "cluster": str, "name": str,
                              "disk_name": str, "disk_id": str, "offset": int, "partition_number": int,
                              "volume_guid": str, "status": str, "label": str, "last_backup": str},
                             pk=("snapshot_id", "csv_id"), foreign_keys=[("snapshot_id", "snapshots", "id")])
    table(db, "runs").create({"id": int, "kind": str, "started_at": str, "ended_at": str, "outcome": str,
                       "counts": str, "message": str, "pid": int}, pk="id")
    table(db, "findings").create({"id": int, "run_id": int, "snapshot_id": str, "cluster": str, "source": str,
                           "check_id": str, "severity": str, "message": str, "disk": str, "volume": str,
                           "node": str, "record": int, "path": str, "remedy": str, "created_at": str},
                          pk="id")
    table(db, "letter_audits").create({"id": int, "run_id": int, "cluster": str, "audited_at": str, "source": str,
                                "compliant": int, "findings": int, "result": str}, pk="id")
    table(db, "deliveries").create({"id": int, "partner": str, "report_path": str, "recipients": str,
                             "subject": str, "status": str, "attempts": int, "last_error": str,
                             "created_at": str, "sent_at": str}, pk="id")
    table(db, "findings").create_index(["snapshot_id"])
    table(db, "findings").create_index(["run_id"])
    table(db, "snapshots").create_index(["system", "taken_at"])
    table(db, "deliveries").create_index(["status"])


MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("0001_initial", _initial),
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the migrations not yet applied; return the schema version."""
    if "migrations" not in db.table_names():
        table(db, "migrations").create({"name": str, "applied_at": str}, pk="name")
    done = {row["name"] for row in table(db, "migrations").rows}
    for number, (name, step) in enumerate(MIGRATIONS, start=1):
        if name in done:
            continue
        with transaction(db):
            step(db)
            table(db, "migrations").insert({"name": name, "applied_at": now()})
            db.execute(f"PRAGMA user_version = {number}")
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    return version

"""The SQLite store: migrations, WAL, idempotent registration, one transaction per snapshot."""

from __future__ import annotations

import sqlite3

import pytest

from autoverify.models import (
    CheckResult,
    ClusterInfo,
    CsvVolume,
    DiskImage,
    Finding,
    Inspection,
    LetterAssignment,
    OsInfo,
    Snapshot,
    Volume,
)
from autoverify.store import (
    SCHEMA_VERSION,
    open_db,
    pending_snapshot_ids,
    records,
    register_snapshots,
    save_verification,
    start_run,
    transaction,
)


def snap(n: int) -> Snapshot:
    return Snapshot(id=f"NODE1/2026-11-2{n}T0100", system="NODE1", taken_at=f"2026-11-2{n}T01:00:00+00:00",
                    kind="Full" if n == 1 else "Incremental", cluster="CSVNodes",
                    disks=(DiskImage(path=f"/store/NODE1/{n}/disk0.qcow2", format="qcow2", size=1 << 30),))


def inspection(s: Snapshot) -> Inspection:
    vol = Volume(disk_index=0, device="/dev/sda3", partition_number=3, offset=50 << 20, size=200 << 20,
                 filesystem="ntfs", label="", volume_guid="aaaa", drive_letters=("C",), bootable=True)
    csv = CsvVolume(name="Volume1", csv_id="41a4:135266304", disk_name="Cluster Disk 2", disk_id="41a4",
                    offset=135266304, partition_number=2, volume_guid="d18f", status="Attached")
    return Inspection(snapshot_id=s.id,
                      os=OsInfo("Windows Server 2019 Standard", "10.0", 10, 0, "17763", "NODE1", "Server"),
                      volumes=(vol,), mounted_devices=(LetterAssignment("C", "gpt", partition_guid="aaaa"),),
                      cluster=ClusterInfo("CSVNodes", ("NODE1",), (), (csv,)), enable_csv=True)


def test_migrations_wal_and_version(tmp_path):
    db = open_db(tmp_path / "av.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for table in ("systems", "snapshots", "disks", "volumes", "csv_volumes", "runs", "findings",
                  "letter_audits", "deliveries", "migrations"):
        assert table in db.table_names()
    db.conn.close()
    db = open_db(tmp_path / "av.db")  # reopening applies nothing twice
    assert db["migrations"].count == SCHEMA_VERSION


def test_register_is_idempotent(tmp_path):
    db = open_db(tmp_path / "av.db")
    assert register_snapshots(db, [snap(1), snap(2)]) == 2
    assert register_snapshots(db, [snap(1), snap(2), snap(3)]) == 1
    assert pending_snapshot_ids(db) == [snap(1).id, snap(2).id, snap(3).id]


def test_save_verification_one_transaction(tmp_path):
    db = open_db(tmp_path / "av.db")
    s = snap(1)
    register_snapshots(db, [s])
    run = start_run(db, "verify")
    bad = CheckResult("errors", (Finding("ntfs.bitmap", "error", "cluster 7 in use but free in $Bitmap"),))
    status = save_verification(db, run, s, inspection(s), {"/dev/sda3": bad}, {})
    assert status == "failed"
    row = db["snapshots"].get(s.id)
    assert row["verified_at"] and row["csvs"] == '["Volume1"]' and row["os_build"] == "17763"
    assert db["volumes"].get((s.id, "/dev/sda3"))["check_status"] == "errors"
    assert db["csv_volumes"].get((s.id, "41a4:135266304"))["last_backup"] == s.taken_at
    assert [r["check_id"] for r in db["findings"].rows] == ["ntfs.bitmap"]
    assert pending_snapshot_ids(db) == []


def test_crash_mid_snapshot_leaves_nothing(tmp_path, monkeypatch):
    """A failure after some rows are written rolls the whole snapshot back; it stays pending."""
    db = open_db(tmp_path / "av.db")
    s = snap(1)
    register_snapshots(db, [s])
    run = start_run(db, "verify")
    real = records._volume_row
    calls = {"n": 0}

    def boom(*a, **kw):
        calls["n"] += 1
        raise RuntimeError("power cut")

    monkeypatch.setattr(records, "_volume_row", boom)
    with pytest.raises(RuntimeError):
        save_verification(db, run, s, inspection(s), {}, {})
    assert calls["n"] == 1
    monkeypatch.setattr(records, "_volume_row", real)
    for table in ("volumes", "mounted_devices", "csv_volumes", "findings"):
        assert db[table].count == 0, table
    assert db["snapshots"].get(s.id)["verified_at"] is None
    assert pending_snapshot_ids(db) == [s.id]
    # a second process sees the same: nothing half-written on disk
    other = sqlite3.connect(tmp_path / "av.db")
    assert other.execute("select count(*) from volumes").fetchone()[0] == 0


def test_transaction_rolls_back_sqlite_utils_writes(tmp_path):
    db = open_db(tmp_path / "av.db")
    with pytest.raises(ValueError):
        with transaction(db):
            db["systems"].insert({"name": "X"})
            db["systems"].insert_all([{"name": "Y"}, {"name": "Z"}])  # commits inside sqlite-utils are deferred
            raise ValueError
    assert db["systems"].count == 0

"""A snapshot of a data disk without Windows (GPT, two NTFS partitions, no letters) verified end to end
with the real appliance and reader: both volumes are checked (the vendor's verification checks neither),
the missing Windows is still a finding, and the corrupt volume fails the snapshot naming the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from checks.ntfs_patch import sparse_sha256

from autoverify.config import Config, validate
from autoverify.store import open_db
from autoverify.verify import run_verify

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.appliance
def test_data_disk_without_windows_has_both_volumes_checked(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    subprocess.run([sys.executable, str(ROOT / "tools" / "datadisk_store.py"), str(store), "--corrupt"], check=True,
                   capture_output=True)
    (disk,) = store.glob("*/*/disk0.raw")
    before = sparse_sha256(disk)
    raw = {"store": {"root": "store"}, "database": {"path": "av.db"}, "guestfs": {"batch_size": 1}}
    cfg = Config(tmp_path / "config.toml", validate(raw, tmp_path / "config.toml"))
    summary = run_verify(cfg)
    sid = "FILESRV-DATA/2026-11-22T0100"
    assert summary.statuses == {sid: "failed"}
    db = open_db(cfg["database"]["path"])
    vols = {r["partition_number"]: r for r in db.query("select * from volumes where snapshot_id = ?", [sid])}
    assert {n: (r["filesystem"], r["check_status"]) for n, r in vols.items()} == {1: ("ntfs", "clean"),
                                                                              2: ("ntfs", "errors")}
    findings = list(db.query("select * from findings where snapshot_id = ?", [sid]))
    by_check = {}
    for f in findings:
        by_check.setdefault(f["check_id"], []).append(f)
    assert [f["severity"] for f in by_check["inspect.no-os"]] == ["error"]
    (bad,) = by_check["ntfs.link-count"]
    assert bad["path"] == "\\projects\\budget.txt" and bad["record"] == 65 and bad["disk"] == str(disk)
    assert sorted(f["volume"] for f in by_check["verify.unlettered-checked"]) == ["Archive", "Projects"]
    assert all(f["message"].endswith("has no drive letter: the vendor's verification skips it; AutoVerify "
                                     "checked it.") for f in by_check["verify.unlettered-checked"])
    assert sparse_sha256(disk) == before

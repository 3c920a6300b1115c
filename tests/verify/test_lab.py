"""The pipeline over the real lab (the `verified_lab` database): what was checked and what was found."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from autoverify.store import open_db

pytestmark = pytest.mark.appliance


@pytest.fixture(scope="module")
def db(verified_lab):
    return open_db(verified_lab[1])


def volume_rows(db, sid: str) -> dict[tuple[int, int], dict]:
    return {(r["disk_index"], r["offset"]): r for r in db.query("select * from volumes where snapshot_id = ?", [sid])}


def test_every_lab_snapshot_is_verified_once_by_one_run(db, manifest):
    snaps = list(db.query("select id, verified_at, run_id, status from snapshots order by id"))
    assert [s["id"] for s in snaps] == sorted(s["id"] for s in manifest["snapshots"])
    assert all(s["verified_at"] for s in snaps)
    (run,) = db.query("select * from runs where kind = 'verify'")
    assert {s["run_id"] for s in snaps} == {run["id"]}
    assert run["outcome"] == "findings" and json.loads(run["counts"])["verified"] == len(snaps)


def test_the_whole_lab_took_ceil_disks_over_batch_size_launches(verified_lab, manifest):
    disks = sum(len(s["disks"]) for s in manifest["snapshots"])
    assert int(Path(f"{verified_lab[1]}.launches").read_text()) == math.ceil(disks / 8)


def test_the_corrupted_csv_copy_fails_and_only_it(db, manifest):
    bad = {(c["snapshot"], c["disk"], c["offset"]) for c in manifest["corrupted"]}
    for snap in manifest["snapshots"]:
        rows = volume_rows(db, snap["id"])
        for (sid, disk, offset) in bad:
            if sid == snap["id"]:
                assert rows[(disk, offset)]["check_status"] == "errors"
                errors = list(db.query("select * from findings where snapshot_id = ? and check_id like 'ntfs.%' "
                                       "and severity in ('error', 'critical')", [sid]))
                assert errors and all(f["disk"].endswith(snap["disks"][disk].rsplit("/", 1)[1]) for f in errors)
        status = db["snapshots"].get(snap["id"])["status"]
        corrupted = any(sid == snap["id"] for sid, _, _ in bad)
        assert (status == "failed") == corrupted, (snap["id"], status)
        assert [k for k, r in rows.items() if r["check_status"] == "errors" and (snap["id"], *k) not in bad] == []


def test_every_ntfs_volume_is_checked(db, manifest):
    for snap in manifest["snapshots"]:
        rows = volume_rows(db, snap["id"])
        for v in snap["volumes"]:
            row = rows[(v["disk"], v["offset"])]
            wanted = v["filesystem"] == "ntfs"
            assert (row["check_status"] in ("clean", "errors")) == bool(wanted), (snap["id"], v, row)
            if wanted and not v["drive_letters"] and v["csv_id"]:  # a CSV without a letter: checked, and said so
                (info,) = db.query("select * from findings where snapshot_id = ? and check_id = "
                                   "'verify.unlettered-csv-checked' and volume = ?", [snap["id"], row["csv_name"]])
                assert info["severity"] == "info" and info["message"] == (
                    f"{row['csv_name']} has no drive letter: the vendor's verification skips it; AutoVerify checked it.")
            if not wanted:
                assert row["check_reason"], (snap["id"], v)

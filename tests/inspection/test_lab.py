"""The sample lab: every inspected field of every snapshot matches manifest.json (one run, one launch)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from images import digest

from autoverify import guestfs_session
from autoverify.discovery import discover
from autoverify.inspection import inspect_snapshots, last_backups
from autoverify.models import attached_csv_names

LAB_BATCH = 32  # the lab's 27 disks in one appliance
VOLUME_FIELDS = ("offset", "size", "filesystem", "label", "volume_guid", "partition_guid", "disk_guid", "bootable",
                 "encrypted", "compressed", "csv_id", "csv_name")


@pytest.fixture(scope="module")
def lab_run(lab_dir, manifest):
    store = lab_dir / manifest["store"]
    snaps = discover(store)
    folders = sorted({Path(d.path).parent for s in snaps for d in s.disks})
    before = {str(f): digest(f) for f in folders}
    launches = []
    real = guestfs_session.launch

    def counting(drives, settings):
        launches.append(len(drives))
        return real(drives, settings)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(guestfs_session, "launch", counting)
        start = time.monotonic()
        result = {i.snapshot_id: i for i in inspect_snapshots(snaps, guestfs_session.Settings(), batch_size=LAB_BATCH)}
        seconds = time.monotonic() - start
    print(f"lab: {len(snaps)} snapshots, {sum(len(s.disks) for s in snaps)} disks, {seconds:.1f} s, "
          f"launches {launches}")
    return {"snaps": snaps, "by_id": result, "launches": launches, "before": before,
            "after": {str(f): digest(f) for f in folders}}


def test_one_launch_and_images_unchanged(lab_run):
    disks = sum(len(s.disks) for s in lab_run["snaps"])
    assert len(lab_run["launches"]) == math.ceil(disks / LAB_BATCH)
    assert lab_run["after"] == lab_run["before"]


def test_snapshots_match_manifest(lab_run, manifest):
    assert sorted(lab_run["by_id"]) == sorted(s["id"] for s in manifest["snapshots"])
    for expected in manifest["snapshots"]:
        insp = lab_run["by_id"][expected["id"]]
        assert insp.errors == (), expected["id"]
        o = insp.os
        got_os = {k: getattr(o, k) for k in expected["os"]}
        assert got_os == expected["os"], expected["id"]
        assert insp.enable_csv is expected["enable_csv"], expected["id"]
        assert list(attached_csv_names(insp.cluster)) == sorted(expected["csvs"]), expected["id"]


def test_volumes_match_manifest(lab_run, manifest):
    for expected in manifest["snapshots"]:
        insp = lab_run["by_id"][expected["id"]]
        got = {(v.disk_index, v.partition_number): v for v in insp.volumes}
        assert set(got) == {(e["disk"], e["partition_number"]) for e in expected["volumes"]}, expected["id"]
        for e in expected["volumes"]:
            v = got[(e["disk"], e["partition_number"])]
            where = f"{expected['id']} disk {e['disk']} partition {e['partition_number']}"
            assert {k: getattr(v, k) for k in VOLUME_FIELDS} == {k: e[k] for k in VOLUME_FIELDS}, where
            assert list(v.drive_letters) == sorted(e["drive_letters"]), where
            assert list(v.mount_paths) == e["mount_paths"], where
            if v.filesystem == "ntfs":
                assert v.total_bytes and v.used_bytes + v.free_bytes == v.total_bytes <= v.size, where


def test_cluster_inventory_matches_manifest(lab_run, manifest):
    clusters = {c["name"]: c for c in manifest["clusters"]}
    for expected in manifest["snapshots"]:
        cl = lab_run["by_id"][expected["id"]].cluster
        truth = clusters[expected["cluster"]]
        assert (cl.name, list(cl.nodes)) == (truth["name"], truth["nodes"]), expected["id"]
        csvs = {c.name: c for c in cl.csv_volumes}
        assert set(csvs) == {c["name"] for c in truth["csvs"]}
        for t in truth["csvs"]:
            c = csvs[t["name"]]
            assert (c.csv_id, c.disk_id, c.disk_name, c.offset, c.partition_number, c.volume_guid) == (
                t["csv_id"], t["disk_id"], t["disk_name"], t["offset"], t["partition_number"], t["volume_guid"])
            assert c.status == ("Attached" if t["name"] in expected["csvs"] else "Online"), expected["id"]
        held = set(expected["disk_names"])
        assert {d.name: d.status for d in cl.disks} == {
            d.name: "Attached" if d.name in held else "Online" for d in cl.disks}, expected["id"]
        assert {d.name for d in cl.disks} >= {t["disk_name"] for t in truth["csvs"]}


def test_last_backup_is_the_newest_snapshot_of_this_node(lab_run, manifest):
    snaps = {s.id: s for s in lab_run["snaps"]}
    for node in ("NODE1", "NODE2", "NODE3", "OLDNODE1"):
        pairs = [(snaps[i], insp) for i, insp in lab_run["by_id"].items() if snaps[i].system == node]
        expected = {}
        for s in sorted((s for s in manifest["snapshots"] if s["node"] == node), key=lambda s: s["time"]):
            cluster = next(c for c in manifest["clusters"] if c["name"] == s["cluster"])
            for c in cluster["csvs"]:
                if c["name"] in s["csvs"]:
                    expected[c["csv_id"]] = s["time"]
        assert last_backups(pairs) == expected, node

"""Inventories from models.Inspection and from the SQLite store: every letter resolves to its volume."""

from __future__ import annotations

from autoverify.models import (
    ClusterDisk,
    ClusterInfo,
    CsvVolume,
    Inspection,
    LetterAssignment,
    OsInfo,
    Snapshot,
    Volume,
)
from autoverify.store import open_db, register_snapshots, save_verification, start_run
from driveletter_audit.inventory import LetterUse, from_inspections, from_store

V1_GUID, SHARE_GUID, DATA_GUID, C_GUID = ("d18f9c25-88c9-4d67-bf2f-d88492bb3952", "5a5a5a5a-0000-4000-8000-000000000001",
                                          "da7ada7a-0000-4000-8000-000000000002", "c0c0c0c0-0000-4000-8000-000000000003")
OS = OsInfo("Windows Server 2019 Standard", "10.0", 10, 0, "17763", "NODE2", "Server")


def cluster(attached: bool) -> ClusterInfo:
    return ClusterInfo("CSVNodes", ("NODE1", "NODE2"),
                       (ClusterDisk("41a4", "Cluster Disk 2", "41a4", "gpt", True),
                        ClusterDisk("5a5a", "Cluster Disk 1", "5a5a-disk", "gpt", False, "FileServer", "Online", (),
                                    ("S",))),
                       (CsvVolume("Volume1", "41a4:135266304", "Cluster Disk 2", "41a4", 135266304, 2, V1_GUID,
                                  "Attached" if attached else "Online", "Vol1"),))


def volumes(with_csv: bool) -> tuple[Volume, ...]:
    vols = [Volume(0, "/dev/sda3", 3, 51380224, 1, "ntfs", "", C_GUID, C_GUID, "0d15", drive_letters=("C",)),
            Volume(1, "/dev/sdb2", 2, 135266304, 1, "ntfs", "Data", DATA_GUID, DATA_GUID, "da7a-disk")]
    if with_csv:
        vols.append(Volume(2, "/dev/sdc2", 2, 135266304, 1, "ntfs", "Vol1", V1_GUID, V1_GUID, "41a4",
                           csv_id="41a4:135266304", csv_name="Volume1"))
    return tuple(vols)


MOUNTED = (LetterAssignment("C", "gpt", C_GUID), LetterAssignment("M", "gpt", DATA_GUID),
           LetterAssignment("L", "gpt", V1_GUID), LetterAssignment("{" + V1_GUID + "}", "gpt", V1_GUID),
           LetterAssignment("D", "device", device="\\??\\IDE#CdRomQEMU"),
           LetterAssignment("X", "gpt", "99999999-0000-4000-8000-000000000000"))


def pairs():
    snaps = [Snapshot(f"NODE2/2026-11-2{d}T0100", "NODE2", f"2026-11-2{d}T01:00:00+00:00",
                      "Full" if d == 1 else "Incremental", (), "CSVNodes") for d in (1, 2)]
    insps = [Inspection(snaps[0].id, OS, volumes(True), MOUNTED, cluster(True), True),
             Inspection(snaps[1].id, OS, volumes(False), MOUNTED, cluster(False), True)]
    return list(zip(snaps, insps, strict=True))


def check(inv):
    assert inv.node == "NODE2" and inv.cluster == "CSVNodes" and inv.enable_csv is True
    assert inv.source == "snapshot NODE2/2026-11-22T0100"  # the newest
    assert set(inv.letters) == {LetterUse("C", "local", C_GUID), LetterUse("M", "local", "Data"),
                                LetterUse("L", "csv", "Volume1"), LetterUse("D", "device", "\\??\\IDE#CdRomQEMU"),
                                LetterUse("S", "shared", "Cluster Disk 1"),
                                LetterUse("X", "unknown", "99999999-0000-4000-8000-000000000000")}
    assert [h.csvs for h in inv.history] == [("Volume1",), ()]
    assert [c.name for c in inv.csvs] == ["Volume1"] and [d.name for d in inv.shared_disks] == ["Cluster Disk 1"]


def test_from_inspections_resolves_every_letter():
    invs = from_inspections(pairs())
    assert invs.failures == ()
    check(invs.nodes[0])


def test_from_store_gives_the_same_inventory(tmp_path):
    db = open_db(tmp_path / "a.db")
    run = start_run(db, "verify")
    register_snapshots(db, [s for s, _ in pairs()])
    for snap, insp in pairs():
        save_verification(db, run, snap, insp, {}, {})
    (inv,) = from_store(db).nodes
    check(inv)
    assert inv.os_version == "10.0" and from_store(db, ["OTHER"]).nodes == ()


def test_a_node_whose_snapshots_all_failed_inspection_is_a_failure():
    snap, _ = pairs()[0]
    invs = from_inspections([(snap, Inspection(snap.id, None, ()))])
    assert invs.nodes == () and invs.failures[0].reason == "no snapshot of NODE2 could be inspected."

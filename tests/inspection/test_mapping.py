"""Pure parts of inspection: letter/GUID matching, CSV naming and status, Last backup, mount-point parsing."""

from __future__ import annotations

import pytest
from images import mount_point

from autoverify.inspection import last_backups
from autoverify.inspection.mapping import apply_cluster, apply_mounted_devices, csv_names
from autoverify.inspection.windows import mount_point_target
from autoverify.models import (
    ClusterDisk,
    ClusterInfo,
    CsvVolume,
    Inspection,
    LetterAssignment,
    Snapshot,
    Volume,
    attached_csv_names,
)

D1, D2 = "41a4e9d6-472e-4777-ad08-953687110317", "e62f2b36-b735-43fd-8b8f-d854a9147f13"
G1, G2 = "d18f9c25-88c9-4d67-bf2f-d88492bb3952", "1eb6da91-3a19-4751-ba7d-dac7a214e31c"
OFF = 135266304


def vol(**kw) -> Volume:
    base = dict(disk_index=0, device="/dev/sda1", partition_number=1, offset=1048576, size=1 << 30,
                filesystem="ntfs", label="", volume_guid=None)
    return Volume(**{**base, **kw})


def cluster(names=("", "")) -> ClusterInfo:
    csvs = tuple(CsvVolume(name=n, csv_id=f"{d}:{OFF}", disk_name=dn, disk_id=d, offset=OFF, partition_number=2,
                           volume_guid=g, status="Online")
                 for n, d, g, dn in zip(names, (D1, D2), (G1, G2), ("Cluster Disk 2", "Cluster Disk 3"), strict=True))
    disks = tuple(ClusterDisk(resource_id=d, name=dn, disk_id=d, disk_id_type="gpt", is_csv=True)
                  for d, dn in ((D1, "Cluster Disk 2"), (D2, "Cluster Disk 3")))
    return ClusterInfo(name="CSVNodes", nodes=("NODE1",), disks=disks, csv_volumes=csvs)


def test_mbr_letter_needs_signature_and_offset():
    vols = (vol(mbr_signature="0x5cbea03e"), vol(device="/dev/sda2", offset=2 << 20, mbr_signature="0x5cbea03e"),
            vol(device="/dev/sdb1", mbr_signature="0x11111111"))
    md = (LetterAssignment("C", "mbr", disk_signature="0x5cbea03e", offset=1048576),
          LetterAssignment("{abc}", "mbr", disk_signature="0x5cbea03e", offset=1048576),
          LetterAssignment("D", "device", device="\\??\\IDE#CdRom"))
    out = apply_mounted_devices(vols, md)
    assert [(v.drive_letters, v.volume_guid) for v in out] == [(("C",), "abc"), ((), None), ((), None)]


def test_gpt_volume_guid_defaults_to_partition_guid():
    out = apply_mounted_devices((vol(partition_guid=G1),), (LetterAssignment("L", "gpt", partition_guid=G1),
                                                             LetterAssignment("M", "gpt", partition_guid=G1)))
    assert (out[0].drive_letters, out[0].volume_guid) == (("L", "M"), G1)


def test_csv_names_prefer_mount_points_then_clusdb_then_order():
    assert csv_names(cluster(), {"Volume1": G2, "Volume2": G1}) == {f"{D1}:{OFF}": "Volume2", f"{D2}:{OFF}": "Volume1"}
    assert csv_names(cluster(("Volume7", "")), {"Volume1": None, "Volume10": None}) == {
        f"{D1}:{OFF}": "Volume7", f"{D2}:{OFF}": "Volume1"}
    assert csv_names(cluster(), {"Volume10": None, "Volume2": None}) == {f"{D1}:{OFF}": "Volume2",
                                                                        f"{D2}:{OFF}": "Volume10"}


def test_apply_cluster_marks_attached_csvs():
    v = vol(device="/dev/sdb2", offset=OFF, partition_number=2, disk_guid=D1, label="Vol1")
    vols, cl = apply_cluster((v,), cluster(("Volume1", "Volume2")), {})
    assert (vols[0].csv_id, vols[0].csv_name, vols[0].mount_paths) == (f"{D1}:{OFF}", "Volume1",
                                                                       ("C:\\ClusterStorage\\Volume1",))
    assert [(c.name, c.status, c.label) for c in cl.csv_volumes] == [("Volume1", "Attached", "Vol1"),
                                                                     ("Volume2", "Online", "")]
    assert [d.status for d in cl.disks] == ["Attached", "Online"]
    assert attached_csv_names(cl) == ("Volume1",) and attached_csv_names(None) == ()


def test_last_backups_from_inspections_and_rows():
    _, held = apply_cluster((vol(offset=OFF, disk_guid=D1),), cluster(("Volume1", "Volume2")), {})
    _, none = apply_cluster((), cluster(("Volume1", "Volume2")), {})

    def snap(day):
        return Snapshot(id=f"NODE1/{day}", system="NODE1", taken_at=f"2026-11-{day}T01:00:00+00:00", kind="Full",
                        disks=())

    pairs = [(snap(21), Inspection("a", None, (), cluster=held)), (snap(23), Inspection("c", None, (), cluster=held)),
             (snap(24), Inspection("d", None, (), cluster=none)), ("2026-11-22T01:00:00+00:00",
                                                                  Inspection("b", None, (), cluster=held))]
    assert last_backups(pairs) == {f"{D1}:{OFF}": "2026-11-23T01:00:00+00:00"}
    rows = [{"csv_id": "x", "status": "Attached", "last_backup": "2026-11-21"},
            {"csv_id": "x", "status": "Online", "last_backup": None, "taken_at": "2026-11-25"},
            {"csv_id": "x", "status": "Attached", "taken_at": "2026-11-22"}]
    assert last_backups(rows) == {"x": "2026-11-22"}


@pytest.mark.parametrize(("data", "guid"), [
    (mount_point(G1), G1), (b"", None), (b"\x03\x00\x00\xa0" + bytes(4), None),
    (b"\x0c\x00\x00\xa0" + mount_point(G1)[4:], None),  # a symlink tag, not a mount point
])
def test_mount_point_target(data, guid):
    assert mount_point_target(data) == guid

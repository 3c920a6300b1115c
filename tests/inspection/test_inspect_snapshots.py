"""inspect_snapshots on real images in real appliances: fields, findings for every bad input, batching, relaunch."""

from __future__ import annotations

from images import CSV_DISK_GUID, CSV_OFFSET, CSV_PART_GUID, OTHER_CSV_DISK, SYS_PART_GUID, TWO_NTFS

from autoverify.inspection import batch


def errors(insp, check=None):
    return [f for f in insp.errors if check is None or f.check == check]


def test_every_snapshot_yielded_in_order(run, snapshots):
    assert run["order"] == [s.id for s in snapshots]
    print(f"inspect_snapshots: {len(snapshots)} snapshots in {run['seconds']:.1f} s, launches {run['launches']}")


def test_launches_per_run(run):
    # ceil(good disks / batch) launches, plus exactly one relaunch after the appliance was killed.
    assert run["killed"] == ["T/die"]
    assert len(run["launches"]) == run["planned"] + 1 == 2
    assert run["launches"][0] == 8 and run["launches"][1] == 1  # the relaunch attaches only what was left


def test_images_are_byte_identical(run):
    assert run["after"] == run["before"]


def test_windows_node(run):
    insp = run["by_id"]["T/win"]
    o = insp.os
    assert (o.product_name, o.version, o.major, o.minor, o.build) == ("Windows Server 2019 Standard", "10.0", 10, 0, "17763")
    assert (o.hostname, o.installation_type, o.edition) == ("TNODE1", "Server", "ServerStandard")
    assert insp.enable_csv is True
    vols = {(v.disk_index, v.partition_number): v for v in insp.volumes}
    assert set(vols) == {(0, 1), (0, 2), (1, 2)}  # the CSV disk's MSR is not a volume
    c = vols[(0, 1)]
    assert (c.filesystem, c.label, c.offset, c.drive_letters, c.volume_guid, c.bootable) == (
        "ntfs", "System", 1 << 20, ("C",), SYS_PART_GUID, True)
    assert c.total_bytes and c.used_bytes and c.free_bytes and c.used_bytes + c.free_bytes == c.total_bytes
    assert c.total_bytes <= c.size and not c.encrypted and not c.compressed
    bl = vols[(0, 2)]
    assert bl.encrypted and bl.filesystem == "bitlocker" and bl.drive_letters == ()
    csv = vols[(1, 2)]
    assert (csv.offset, csv.label, csv.drive_letters, csv.volume_guid, csv.disk_guid) == (
        CSV_OFFSET, "Vol1", ("L",), CSV_PART_GUID, CSV_DISK_GUID)
    assert (csv.csv_id, csv.csv_name, csv.mount_paths) == (
        f"{CSV_DISK_GUID}:{CSV_OFFSET}", "Volume1", ("C:\\ClusterStorage\\Volume1",))
    assert {a.name for a in insp.mounted_devices} >= {"C", "L", "D", "{" + SYS_PART_GUID + "}"}


def test_cluster_inventory(run):
    cl = run["by_id"]["T/win"].cluster
    assert (cl.name, cl.nodes) == ("TESTCL", ("TNODE1", "TNODE2"))
    csvs = {c.name: c for c in cl.csv_volumes}
    assert set(csvs) == {"Volume1", "Volume2"}
    assert (csvs["Volume1"].status, csvs["Volume1"].csv_id, csvs["Volume1"].partition_number) == (
        "Attached", f"{CSV_DISK_GUID}:{CSV_OFFSET}", 2)
    assert csvs["Volume1"].volume_name == "\\\\?\\Volume{" + CSV_PART_GUID + "}"
    assert (csvs["Volume2"].status, csvs["Volume2"].disk_id) == ("Online", OTHER_CSV_DISK)
    assert {d.name: d.status for d in cl.disks} == {"Cluster Disk 2": "Attached", "Cluster Disk 3": "Online"}


def test_bitlocker_is_a_warning_not_corruption(run):
    (f,) = run["by_id"]["T/win"].errors
    assert (f.check, f.severity) == ("ntfs.bitlocker", "warning")
    assert f.message.startswith("Snapshot T/win, disk win_sys.raw: partition 2")
    assert "encrypted, not checked offline" in f.message


def test_two_ntfs_partitions_without_os(run):
    insp = run["by_id"]["T/two"]
    got = [(v.partition_number, v.offset, v.size, v.filesystem, v.label) for v in insp.volumes]
    assert got == [(n, s * 512, (e - s + 1) * 512, "ntfs", label) for n, (s, e, label) in enumerate(TWO_NTFS, 1)]
    assert all(v.mbr_signature and v.mbr_signature != "0x00000000" for v in insp.volumes)
    (f,) = insp.errors
    assert f.check == "inspect.no-os" and "Snapshot T/two" in f.message and "two_ntfs.raw" in f.message


def test_bad_disks_each_have_a_sentence(run):
    insp = run["by_id"]["T/bad"]
    by_disk = {f.disk.rsplit("/", 1)[-1]: f for f in insp.errors if f.disk}
    expect = {"zero.raw": ("inspect.zero-byte", "empty (zero-byte)"),
              "garbage.img": ("inspect.unreadable", "neither a partition table nor a filesystem"),
              "truncated.qcow2": ("inspect.unreadable", "truncated or corrupt"),
              "orphan.qcow2": ("inspect.missing-backing", "gone.raw is missing"),
              "tiny.img": ("inspect.unknown-format", "format is unknown"),
              "old.vhd": ("inspect.unknown-format", "VHD format, which is not supported")}
    for name, (check, words) in expect.items():
        f = by_disk[name]
        assert f.check == check and words in f.message, f.message
        assert f.message.startswith(f"Snapshot T/bad, disk {name}: ") and f.message.endswith(".")
    assert insp.volumes == ()


def test_ldm_disk(run):
    insp = run["by_id"]["T/ldm"]
    assert [f.check for f in errors(insp, "inspect.ldm")] == ["inspect.ldm"]
    assert "Snapshot T/ldm, disk ldm.raw: it is a dynamic (LDM) disk" in errors(insp, "inspect.ldm")[0].message


def test_missing_system_hive(run):
    insp = run["by_id"]["T/nohive"]
    (f,) = errors(insp, "inspect.hive")
    assert "Snapshot T/nohive, disk nohive.raw" in f.message and "SYSTEM hive" in f.message and "missing" in f.message
    assert insp.os and insp.os.product_name == "Windows Server 2019 Standard"  # SOFTWARE still decoded


def test_truncated_system_hive(run):
    insp = run["by_id"]["T/badhive"]
    (f,) = errors(insp, "inspect.hive")
    assert "SYSTEM hive" in f.message and "truncated" in f.message and "/tmp" not in f.message


def test_relaunch_after_the_appliance_died(run):
    insp = run["by_id"]["T/die"]
    assert not errors(insp, "inspect.appliance") and not errors(insp, "inspect.unreadable")
    assert [v.label for v in insp.volumes] == ["First", "Second"]


def test_plan_never_splits_a_snapshot(snapshots):
    jobs = [batch.prepare(s) for s in snapshots]
    sizes = [sum(len(j.good) for j in b) for b in batch.plan(jobs, 4)]
    assert sizes == [4, 4] and sum(len(b) for b in batch.plan(jobs, 1)) == len(jobs)

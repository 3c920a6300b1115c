"""Windows version (SOFTWARE) and cluster database (CLUSDB) decoding over hives written by the tests."""

from __future__ import annotations

import hivegen as hg
import pytest

from autoverify.registry import HiveError, decode_clusdb, os_info
from autoverify.registry.clusdb import volume_info

CV = ("Microsoft", "Windows NT", "CurrentVersion")


def software(tmp_path, values: dict):
    return hg.write_hive(tmp_path / "SOFTWARE", {"Microsoft": {"Windows NT": {"CurrentVersion": values}}})


def test_server_2019_from_dwords(tmp_path):
    p = software(tmp_path, {"ProductName": hg.sz("Windows Server 2019 Standard"), "CurrentVersion": hg.sz("6.3"),
                            "CurrentMajorVersionNumber": hg.dword(10), "CurrentMinorVersionNumber": hg.dword(0),
                            "CurrentBuildNumber": hg.sz("17763"), "InstallationType": hg.sz("Server"),
                            "EditionID": hg.sz("ServerStandard")})
    system = hg.write_hive(tmp_path / "SYSTEM", {"Select": {"Current": hg.dword(2)}, "ControlSet002": {
        "Services": {"Tcpip": {"Parameters": {"Hostname": hg.sz("NODE9")}}}}})
    o = os_info(p, system)
    assert (o.product_name, o.version, o.major, o.minor, o.build) == ("Windows Server 2019 Standard", "10.0", 10, 0, "17763")
    assert (o.installation_type, o.edition, o.hostname) == ("Server", "ServerStandard", "NODE9")


def test_server_2008r2_from_current_version(tmp_path):
    p = software(tmp_path, {"ProductName": hg.sz("Windows Server 2008 R2 Enterprise"), "CurrentVersion": hg.sz("6.1"),
                            "CurrentBuild": hg.sz("7601")})
    o = os_info(p)
    assert (o.version, o.major, o.minor, o.build, o.installation_type) == ("6.1", 6, 1, "7601", "Server")


def test_not_a_software_hive(tmp_path):
    with pytest.raises(HiveError, match="not a SOFTWARE hive"):
        os_info(hg.write_hive(tmp_path / "X", {"Other": {}}))


DISK2, VOL1 = "41a4e9d6-472e-4777-ad08-953687110317", "d18f9c25-88c9-4d67-bf2f-d88492bb3952"


def test_clusdb(tmp_path):
    p = hg.write_hive(tmp_path / "CLUSDB", {
        "ClusterName": hg.sz("CSVNodes"),
        "Nodes": {"1": {"NodeName": hg.sz("NODE1")}, "2": {"NodeName": hg.sz("NODE2")}},
        "Groups": {"g1": {"Name": hg.sz("Cluster Shared Volume"), "GroupType": hg.dword(4),
                          "Contains": hg.multi_sz([DISK2])},
                   "g2": {"Name": hg.sz("FileServer"), "GroupType": hg.dword(5), "Contains": hg.multi_sz(["r1"])}},
        "Resources": {
            DISK2: {"Name": hg.sz("Cluster Disk 2"), "Type": hg.sz("Physical Disk"), "Parameters": {
                "DiskIdType": hg.dword(1), "DiskIdGuid": hg.sz("{" + DISK2.upper() + "}"),
                "DiskVolumeInfo": hg.volume_info([(135266304, 1 << 30, 2, 1 << 11, VOL1)])}},
            "r1": {"Name": hg.sz("Cluster Disk 1"), "Type": hg.sz("Physical Disk"), "Parameters": {
                "DiskIdType": hg.dword(0), "DiskSignature": hg.dword(0xABCD1234),
                "DiskVolumeInfo": hg.volume_info([(1048576, 1 << 30, 1, 1 << 18, VOL1)])}},
            "ip": {"Name": hg.sz("IP Address"), "Type": hg.sz("IP Address")}},
        "SharedVolumes": {DISK2: {"FriendlyName": hg.sz("Volume1"), "PartitionNumber": hg.dword(2)}}}, root="CLUSTER")
    c = decode_clusdb(p)
    assert (c.name, c.nodes) == ("CSVNodes", ("NODE1", "NODE2"))
    disks = {d.name: d for d in c.disks}
    assert set(disks) == {"Cluster Disk 1", "Cluster Disk 2"}
    assert disks["Cluster Disk 2"].is_csv and disks["Cluster Disk 2"].disk_id == DISK2
    assert disks["Cluster Disk 2"].letters == ("L",)
    assert not disks["Cluster Disk 1"].is_csv and disks["Cluster Disk 1"].disk_id == "0xabcd1234"
    assert disks["Cluster Disk 1"].letters == ("S",) and disks["Cluster Disk 1"].group == "FileServer"
    (csv,) = c.csv_volumes
    assert (csv.csv_id, csv.offset, csv.partition_number, csv.volume_guid, csv.disk_name) == (
        f"{DISK2}:135266304", 135266304, 2, VOL1, "Cluster Disk 2")
    assert csv.volume_name == "\\\\?\\Volume{" + VOL1 + "}" and csv.name == "Volume1"


def test_volume_info_ignores_short_data():
    assert volume_info(b"\x05\x00") == []
    assert volume_info(hg.volume_info([])[1]) == []


def test_corrupt_clusdb(tmp_path):
    p = tmp_path / "CLUSDB"
    p.write_bytes(b"regf" + bytes(100))
    with pytest.raises(HiveError, match="truncated"):
        decode_clusdb(p)

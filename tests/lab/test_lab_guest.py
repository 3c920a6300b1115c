"""What is inside the lab's images, read through one read-only appliance and two hive parsers."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

import hivex
import pytest
from regipy.registry import RegistryHive

from tests.lab.conftest import newest

pytestmark = pytest.mark.appliance
NODES = ["NODE1", "NODE2", "NODE3", "OLDNODE1"]


def _cluster(manifest: dict, node: str) -> dict:
    return next(c for c in manifest["clusters"] if node in c["nodes"])


@pytest.fixture(scope="module")
def hives(lab_guest, manifest: dict, tmp_path_factory) -> dict[str, dict[str, Path]]:
    """SYSTEM, SOFTWARE, CLUSDB of each node's newest snapshot, downloaded from its C:."""
    g, devices = lab_guest
    out = {}
    for node in NODES:
        snap = newest(manifest, node)
        c_vol = next(v for v in snap["volumes"] if v["drive_letters"] == ["C"])
        folder = tmp_path_factory.mktemp(node)
        g.mount_ro(f"{devices[snap['id'] + '#0']}{c_vol['partition_number']}", "/")
        try:
            out[node] = {}
            for name, src in (("SYSTEM", "/Windows/System32/config/SYSTEM"),
                              ("SOFTWARE", "/Windows/System32/config/SOFTWARE"),
                              ("CLUSDB", "/Windows/Cluster/CLUSDB")):
                g.download(src, str(folder / name))
                out[node][name] = folder / name
        finally:
            g.umount_all()
    return out


def _hivex_values(path: Path, key: str) -> dict:
    h = hivex.Hivex(str(path))
    node = h.root()
    for part in filter(None, key.split("\\")):
        node = h.node_get_child(node, part)
        assert node, f"{key} missing in {path}"
    return {h.value_key(v): h.value_value(v) for v in h.node_values(node)}


def _regipy_values(path: Path, key: str) -> dict:
    return {v.name: v.value for v in RegistryHive(str(path)).get_key(key or "\\").iter_values()}


def _sz(raw: tuple[int, bytes]) -> str:
    return raw[1].decode("utf-16-le").rstrip("\0")


@pytest.mark.parametrize("node", NODES)
def test_system_hive_hostname_and_letters(hives, manifest, node):
    """Both parsers read the host name and MountedDevices; letters map to the manifest's volume GUIDs."""
    system = hives[node]["SYSTEM"]
    assert struct.unpack("<I", _hivex_values(system, "Select")["Current"][1])[0] == 1
    assert _sz(_hivex_values(system, "ControlSet001\\Services\\Tcpip\\Parameters")["Hostname"]) == node
    assert _regipy_values(system, "\\ControlSet001\\Control\\ComputerName\\ComputerName")["ComputerName"] == node

    expected: dict[str, str] = {}  # letter -> volume guid, from the manifest's truth
    for vol in newest(manifest, node)["volumes"]:
        expected.update({letter: vol["volume_guid"] for letter in vol["drive_letters"]})
    cluster = _cluster(manifest, node)
    for vol in cluster["csvs"] + cluster["shared_disks"]:
        expected.update({letter: vol["volume_guid"] for letter in vol["letters_by_node"].get(node, [])})

    for parser in (_hivex_values, _regipy_values):
        values = parser(system, "\\MountedDevices")
        letters, volumes = {}, set()
        for name, data in values.items():
            raw = data[1] if isinstance(data, tuple) else bytes.fromhex(data)
            assert raw[:8] == b"DMIO:ID:" and len(raw) == 24
            guid = str(uuid.UUID(bytes_le=raw[8:]))
            if name.startswith("\\DosDevices\\"):
                letters[name[12]] = guid
            else:
                assert name == "\\??\\Volume{" + guid + "}"
                volumes.add(guid)
        assert letters == expected
        assert set(expected.values()) <= volumes
        assert {c["volume_guid"] for c in cluster["csvs"]} <= volumes


@pytest.mark.parametrize("node", NODES)
def test_software_hive_version(hives, manifest, node):
    os = newest(manifest, node)["os"]
    cv = _hivex_values(hives[node]["SOFTWARE"], "Microsoft\\Windows NT\\CurrentVersion")
    assert _sz(cv["ProductName"]) == os["product_name"]
    assert _sz(cv["CurrentBuild"]) == os["build"] == _sz(cv["CurrentBuildNumber"])
    assert _sz(cv["InstallationType"]) == "Server"
    reg = _regipy_values(hives[node]["SOFTWARE"], "\\Microsoft\\Windows NT\\CurrentVersion")
    if os["version"] == "6.1":
        assert reg["CurrentVersion"] == "6.1" and "CurrentMajorVersionNumber" not in reg
    else:
        assert (reg["CurrentMajorVersionNumber"], reg["CurrentMinorVersionNumber"]) == (10, 0)
        assert reg["CurrentVersion"] == "6.3"


@pytest.mark.parametrize("node", NODES)
def test_clusdb_matches_manifest(hives, manifest, node):
    """ClusterName, Nodes and the Physical Disk resources (DiskIdGuid, DiskVolumeInfo) as the manifest says."""
    cluster = _cluster(manifest, node)
    clusdb = hives[node]["CLUSDB"]
    reg = RegistryHive(str(clusdb))
    assert _regipy_values(clusdb, "")["ClusterName"] == cluster["name"]
    names = sorted(_regipy_values(clusdb, f"\\Nodes\\{k.name}")["NodeName"]
                   for k in reg.get_key("\\Nodes").iter_subkeys())
    assert names == sorted(cluster["nodes"])
    for disk in cluster["csvs"] + cluster["shared_disks"]:
        res = _hivex_values(clusdb, f"Resources\\{disk['resource_id']}")
        assert _sz(res["Name"]) == disk.get("disk_name", disk["name"]) and _sz(res["Type"]) == "Physical Disk"
        params = _regipy_values(clusdb, f"\\Resources\\{disk['resource_id']}\\Parameters")
        assert params["DiskIdType"] == 1
        assert params["DiskIdGuid"].strip("{}").lower() == disk["disk_id"]
        info = bytes.fromhex(params["DiskVolumeInfo"])
        count, = struct.unpack_from("<I", info)
        offset, _length, number, mask = struct.unpack_from("<QQII", info, 8)
        assert (count, offset, number) == (1, disk["offset"], disk["partition_number"])
        assert str(uuid.UUID(bytes_le=info[32:48])) == disk["volume_guid"]
        assert mask == (1 << 18 if disk["name"] == "Cluster Disk 1" else 0)  # S: for the role's shared disk


def test_os_volume_files(lab_guest, manifest):
    """cmd.exe is x86-64 PE, ClusterStorage has the CSV folders, aristos.cfg has ENABLE_CSV as the manifest says."""
    g, devices = lab_guest
    for node in NODES:
        snap = newest(manifest, node)
        g.mount_ro(f"{devices[snap['id'] + '#0']}3", "/")
        try:
            assert g.file_architecture("/Windows/System32/cmd.exe") == "x86_64"
            csvs = [c["name"] for c in _cluster(manifest, node)["csvs"]]
            assert sorted(g.ls("/ClusterStorage")) == csvs
            cfg = g.cat("/" + manifest["agent_config_path"]).splitlines()
            assert ("ENABLE_CSV=true" in cfg) is snap["enable_csv"] is _cluster(manifest, node)["enable_csv"][node]
            notes = g.cat("/Users/Administrator/Documents/notes.txt")
            assert "day 3" in notes  # each incremental changed it
            assert g.exists("/Windows/Logs/Backup/backup-2026-11-22T0100.log")
        finally:
            g.umount_all()


def test_corrupted_volume_still_mounts(lab_guest, manifest):
    """The damaged CSV mounts; its damaged record's file cannot be read, its other files can."""
    g, devices = lab_guest
    bad = manifest["corrupted"][0]
    assert bad["damage"] == ["file-record", "bitmap"]
    g.mount_ro(f"{devices[bad['snapshot'] + '#' + str(bad['disk'])]}{bad['partition_number']}", "/")
    try:
        assert "Volume1 plan" in g.cat("/Projects/plan.txt")
        assert g.exists("/Projects/changes-2026-11-22T0100.txt")
        with pytest.raises(RuntimeError):
            g.cat("/" + bad["path"])
    finally:
        g.umount_all()


def test_clean_copy_of_same_volume(lab_guest, manifest):
    """NODE1's day-3 Volume1 descends from its own day-1 copy: the damaged file is intact there."""
    g, devices = lab_guest
    g.mount_ro(f"{devices['NODE1/2026-11-23T0100#1']}2", "/")
    try:
        assert g.filesize("/" + manifest["corrupted"][0]["path"]) == 8192
        assert "day 3" in g.cat("/Projects/plan.txt")
        assert not g.exists("/Projects/changes-2026-11-22T0100.txt")  # NODE2's day-2 change is not here
    finally:
        g.umount_all()

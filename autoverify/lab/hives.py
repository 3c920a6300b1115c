"""SYSTEM, SOFTWARE and CLUSDB hive contents of a lab node, written with python-hivex.

The empty hive comes from our own regf writer (regf.py); hivex adds keys and values.
Contents follow shared/docs/domain.md §2-§4 (what Windows and libguestfs read).
CLUSDB layout is our own reconstruction (no public sample exists): root values
ClusterName, ClusterNameResource, SharedVolumesRoot, EnableSharedVolumes; Nodes\\<n>\\NodeName;
Groups\\<guid> (Name, GroupType 4 = shared-volume group for CSVs, 100 = file server role,
Contains); Resources\\<disk GUID> (Name, Type "Physical Disk", PossibleOwners, Parameters with
DiskIdType=1, DiskIdGuid "{GUID}", DiskVolumeInfo).
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping
from pathlib import Path

from autoverify.lab.regf import write_empty_hive
from autoverify.lab.scenario import SHARED_VOLUMES_ROOT, Cluster, ClusterVolume, Node, fixed_guid

REG_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ = 1, 3, 4, 7

Value = tuple[int, bytes]
Keys = Mapping[str, Mapping[str, Value]]  # key path (backslash-separated) -> values


def sz(text: str) -> Value:
    return REG_SZ, (text + "\0").encode("utf-16-le")


def dword(n: int) -> Value:
    return REG_DWORD, struct.pack("<I", n)


def multi_sz(items: list[str]) -> Value:
    return REG_MULTI_SZ, "".join(i + "\0" for i in items).encode("utf-16-le") + b"\0\0"


def gpt_id(partition_guid: str) -> Value:
    """MountedDevices data of a GPT volume: 'DMIO:ID:' + GUID in Windows byte order."""
    return REG_BINARY, b"DMIO:ID:" + uuid.UUID(partition_guid).bytes_le


def write_hive(path: Path, keys: Keys, root_name: str = "ROOT") -> Path:
    """Write a hive holding `keys` (parents created as needed) with deterministic key order."""
    import hivex

    write_empty_hive(path, root_name)
    h = hivex.Hivex(str(path), write=True)
    nodes = {"": h.root()}
    for key_path in sorted(keys):
        parent = ""
        for part in key_path.split("\\"):
            here = f"{parent}\\{part}" if parent else part
            if here not in nodes:
                nodes[here] = h.node_add_child(nodes[parent], part)
            parent = here
        values = [{"key": name, "t": t, "value": data} for name, (t, data) in keys[key_path].items()]
        if values:
            h.node_set_values(nodes[key_path], values)
    h.commit(None)
    return path


def node_letters(cluster: Cluster, node: Node) -> dict[str, str]:
    """Drive letter -> partition GUID on this node (C:, local disks, cluster volumes)."""
    letters = {"C": node.os_disk.data.guid}
    letters.update({letter: disk.data.guid for disk, letter in node.local_disks})
    for vol in cluster.volumes:
        for letter in vol.letters_by_node.get(node.name, ()):
            letters[letter] = vol.disk.data.guid
    return letters


def node_volume_guids(cluster: Cluster, node: Node) -> list[str]:
    """Every volume this node has seen: EFI, C:, local data, all cluster volumes."""
    guids = [p.guid for p in node.os_disk.partitions if p.filesystem]
    guids += [disk.data.guid for disk, _ in node.local_disks]
    guids += [vol.disk.data.guid for vol in cluster.volumes]
    return guids


def system_keys(cluster: Cluster, node: Node) -> dict[str, dict[str, Value]]:
    mounted = {f"\\DosDevices\\{letter}:": gpt_id(guid) for letter, guid in sorted(node_letters(cluster, node).items())}
    mounted.update({f"\\??\\Volume{{{guid}}}": gpt_id(guid) for guid in node_volume_guids(cluster, node)})
    return {
        "Select": {"Current": dword(1), "Default": dword(1), "Failed": dword(0), "LastKnownGood": dword(1)},
        "ControlSet001\\Control\\ComputerName\\ComputerName": {"ComputerName": sz(node.name)},
        "ControlSet001\\Control\\ComputerName\\ActiveComputerName": {"ComputerName": sz(node.name)},
        "ControlSet001\\Services\\Tcpip\\Parameters": {"Hostname": sz(node.name), "Domain": sz("lab.local"),
                                                       "NV Hostname": sz(node.name)},
        "ControlSet001\\Services\\ClusSvc\\Parameters": {"NodeName": sz(node.name)},
        "MountedDevices": mounted,
    }


def software_keys(node: Node) -> dict[str, dict[str, Value]]:
    os = node.os
    cv = {"ProductName": sz(os.product_name), "CurrentVersion": sz(os.current_version),
          "CurrentBuild": sz(os.build), "CurrentBuildNumber": sz(os.build), "EditionID": sz(os.edition),
          "InstallationType": sz(os.installation_type), "SystemRoot": sz("C:\\Windows"),
          "RegisteredOwner": sz("Lab Admin")}
    if os.major is not None:
        cv["CurrentMajorVersionNumber"] = dword(os.major)
        cv["CurrentMinorVersionNumber"] = dword(os.minor or 0)
    return {
        "Microsoft\\Windows NT\\CurrentVersion": cv,
        "Microsoft\\Windows\\CurrentVersion": {"ProgramFilesDir": sz("C:\\Program Files")},
    }


def disk_volume_info(vol: ClusterVolume) -> bytes:
    """DiskVolumeInfo: u32 count, 4 pad, 40-byte entries (offset, length, partition, letter mask, GUID)."""
    part = vol.disk.data
    # The cluster database holds one letter for every node: only a role's shared disk has one.
    mask = 0 if vol.is_csv else sum(1 << (ord(x) - ord("A")) for x in set(sum(vol.letters_by_node.values(), ())))
    return struct.pack("<II", 1, 0) + struct.pack("<QQII", part.start, part.size, part.number, mask) \
        + uuid.UUID(part.guid).bytes_le


def clusdb_keys(cluster: Cluster) -> dict[str, dict[str, Value]]:
    owners = multi_sz([str(i + 1) for i in range(len(cluster.nodes))])
    name_res = fixed_guid(f"{cluster.name}/Cluster Name")
    keys: dict[str, dict[str, Value]] = {
        "": {"ClusterName": sz(cluster.name), "ClusterNameResource": sz(name_res),
             "SharedVolumesRoot": sz(SHARED_VOLUMES_ROOT), "EnableSharedVolumes": dword(1)},
        f"Resources\\{name_res}": {"Name": sz("Cluster Name"), "Type": sz("Network Name"),
                                   "PossibleOwners": owners},
        f"Groups\\{fixed_guid(cluster.name + '/Cluster Group')}": {
            "Name": sz("Cluster Group"), "GroupType": dword(1), "Contains": multi_sz([name_res])},
    }
    for i, node in enumerate(cluster.nodes, 1):
        keys[f"Nodes\\{i}"] = {"NodeName": sz(node.name), "Id": sz(str(i))}
    for vol in cluster.volumes:
        rid = vol.resource_id
        keys[f"Resources\\{rid}"] = {"Name": sz(vol.disk_name), "Type": sz("Physical Disk"),
                                     "PossibleOwners": owners}
        keys[f"Resources\\{rid}\\Parameters"] = {
            "DiskIdType": dword(1), "DiskIdGuid": sz("{" + rid.upper() + "}"),
            "DiskVolumeInfo": (REG_BINARY, disk_volume_info(vol)), "MaintenanceMode": dword(0),
            "DiskRunChkDsk": dword(0), "DiskPath": sz("")}
        keys[f"Groups\\{fixed_guid(cluster.name + '/group/' + vol.group)}"] = {
            "Name": sz(vol.group), "GroupType": dword(4 if vol.is_csv else 100), "Contains": multi_sz([rid])}
        if vol.is_csv:
            keys[f"SharedVolumes\\{rid}"] = {"FriendlyName": sz(vol.name), "PartitionNumber": dword(vol.disk.data.number)}
    return keys


def write_node_hives(folder: Path, cluster: Cluster, node: Node) -> dict[str, Path]:
    """Write SYSTEM, SOFTWARE and CLUSDB of `node` into `folder`; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    root = {"SYSTEM": "ROOT", "SOFTWARE": "ROOT", "CLUSDB": "CLUSTER"}
    contents = {"SYSTEM": system_keys(cluster, node), "SOFTWARE": software_keys(node), "CLUSDB": clusdb_keys(cluster)}
    return {name: write_hive(folder / name, keys, root[name]) for name, keys in contents.items()}

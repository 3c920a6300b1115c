"""Decode the cluster database hive CLUSDB (domain.md §4) into models.ClusterInfo.

Statuses come out "Online": only inspection knows which disks a snapshot holds (then
"Attached"). CSV names ("Volume1") are not reliably in CLUSDB; inspection takes them from
the node's C:\\ClusterStorage folder (mount points), else from CLUSDB's
SharedVolumes\\<resource id>\\FriendlyName (the lab's reconstruction) or Parameters\\SharedVolumeName.
"""

from __future__ import annotations

import os
import struct
import uuid

from autoverify.models import ClusterDisk, ClusterInfo, CsvVolume
from autoverify.registry.hive import Hive, HiveError, open_hive

VOLUME_ENTRY = struct.Struct("<QQII16s")  # offset, length, partition number, letter mask, volume GUID
CSV_GROUP_TYPE = 4  # ClusterGroupSharedVolume in the SDK enum (domain.md §4: uncertain on disk)
CSV_MARKERS = ("SharedVolume", "IsSharedVolume", "CsvEnabled", "SharedVolumeName")


def norm_guid(text: str) -> str:
    """'{ABC-...}' -> 'abc-...' (the project's GUID form); unchanged when not a GUID."""
    t = text.strip().strip("{}").lower()
    try:
        return str(uuid.UUID(t))
    except ValueError:
        return t


def volume_info(data: bytes) -> list[tuple[int, int, int, tuple[str, ...], str]]:
    """DiskVolumeInfo -> [(offset, length, partition number, letters, volume GUID)]."""
    if len(data) < 8:
        return []
    count = struct.unpack_from("<I", data)[0]
    out = []
    for i in range(min(count, (len(data) - 8) // VOLUME_ENTRY.size)):
        offset, length, number, mask, guid = VOLUME_ENTRY.unpack_from(data, 8 + i * VOLUME_ENTRY.size)
        letters = tuple(chr(ord("A") + b) for b in range(26) if mask & (1 << b))
        out.append((offset, length, number, letters, str(uuid.UUID(bytes_le=guid))))
    return out


def _groups(hive: Hive) -> dict[str, tuple[str, int | None]]:
    """resource id -> (group name, group type)."""
    out: dict[str, tuple[str, int | None]] = {}
    root = hive.node("Groups")
    for _name, node in hive.children(root) if root is not None else []:
        for rid in hive.strings(node, "Contains"):
            out[norm_guid(rid)] = (hive.string(node, "Name") or "", hive.dword(node, "GroupType"))
    return out


def _shared_volumes(hive: Hive) -> dict[str, tuple[str, int | None]]:
    """SharedVolumes\\<resource id>: (FriendlyName, PartitionNumber), when the database has that key."""
    root = hive.node("SharedVolumes")
    out = {}
    for name, node in hive.children(root) if root is not None else []:
        rid = hive.string(node, "ResourceId") or name
        out[norm_guid(rid)] = (hive.string(node, "FriendlyName") or "", hive.dword(node, "PartitionNumber"))
    return out


def _disk(hive: Hive, rid: str, node: int, groups: dict, shared: dict) -> tuple[ClusterDisk, list]:
    params = hive.node("Parameters", start=node)
    id_type = hive.dword(params, "DiskIdType")
    if id_type == 1 or (id_type is None and hive.string(params, "DiskIdGuid")):
        kind, disk_id = "gpt", norm_guid(hive.string(params, "DiskIdGuid") or "")
    else:
        kind, disk_id = "mbr", f"0x{(hive.dword(params, 'DiskSignature') or 0):08x}"
    group, gtype = groups.get(rid, ("", None))
    is_csv = (rid in shared or gtype == CSV_GROUP_TYPE
              or any(hive.dword(params, m) or hive.dword(node, m) for m in CSV_MARKERS[:3])
              or bool(hive.string(params, "SharedVolumeName")))
    tv = hive.value(params, "DiskVolumeInfo")
    vols = volume_info(tv[1]) if tv else []
    disk = ClusterDisk(resource_id=rid, name=hive.string(node, "Name") or rid, disk_id=disk_id,
                       disk_id_type=kind, is_csv=is_csv, group=group,
                       volume_guids=tuple(v[4] for v in vols),
                       letters=tuple(sorted({letter for v in vols for letter in v[3]})))
    return disk, vols


def decode_clusdb(path: str | os.PathLike) -> ClusterInfo:
    """Cluster name, nodes, Physical Disk resources and the CSV volumes on them."""
    hive = open_hive(path)
    root = hive.node()
    name = hive.string(root, "ClusterName")
    if not name and hive.node("Resources") is None:
        raise HiveError(f"{os.fspath(path)}: is not a cluster database (no ClusterName or Resources).")
    nodes_key = hive.node("Nodes")
    nodes = [hive.string(n, "NodeName") or k for k, n in (hive.children(nodes_key) if nodes_key else [])]
    groups, shared = _groups(hive), _shared_volumes(hive)
    disks, csvs = [], []
    res = hive.node("Resources")
    for rid_raw, node in hive.children(res) if res is not None else []:
        if (hive.string(node, "Type") or "").lower() != "physical disk":
            continue
        disk, vols = _disk(hive, norm_guid(rid_raw), node, groups, shared)
        disks.append(disk)
        if not disk.is_csv:
            continue
        friendly, part_no = shared.get(disk.resource_id, ("", None))
        csv_name = friendly or hive.string(hive.node("Parameters", start=node), "SharedVolumeName") or ""
        for offset, _length, number, _letters, vguid in vols:
            if part_no is not None and number != part_no and len(vols) > 1:
                continue
            csvs.append(CsvVolume(name=csv_name, csv_id=f"{disk.resource_id}:{offset}", disk_name=disk.name,
                                  disk_id=disk.disk_id, offset=offset, partition_number=number,
                                  volume_guid=vguid, status="Online"))
    root_path = hive.string(root, "SharedVolumesRoot") or "C:\\ClusterStorage"
    return ClusterInfo(name=name or "", nodes=tuple(nodes), disks=tuple(sorted(disks, key=lambda d: d.name)),
                       csv_volumes=tuple(csvs), shared_volumes_root=root_path)

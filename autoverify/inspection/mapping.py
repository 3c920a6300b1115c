"""Pure mapping of decoded registry data onto volumes: letters, volume GUIDs, CSV identity and status.

MountedDevices values match a volume by GPT partition GUID or by MBR signature + offset
(domain.md §2); a CSV matches by its disk id (GPT disk GUID / MBR signature) + offset.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from autoverify.models import ATTACHED, ClusterInfo, LetterAssignment, Volume

log = logging.getLogger(__name__)


def matches(a: LetterAssignment, v: Volume) -> bool:
    if a.kind == "gpt":
        return a.partition_guid is not None and a.partition_guid == v.partition_guid
    if a.kind == "mbr":
        return v.mbr_signature is not None and a.disk_signature == v.mbr_signature and a.offset == v.offset
    return False


def apply_mounted_devices(volumes: tuple[Volume, ...], assignments: tuple[LetterAssignment, ...]) -> tuple[Volume, ...]:
    """Set drive_letters and volume_guid; a GPT volume without a Volume{} entry keeps its partition GUID."""
    out = []
    for v in volumes:
        letters = tuple(sorted(a.name for a in assignments if len(a.name) == 1 and matches(a, v)))
        guids = sorted(a.name.strip("{}") for a in assignments if a.name.startswith("{") and matches(a, v))
        guid = guids[0] if guids else (v.partition_guid if v.partition_guid else None)
        out.append(replace(v, drive_letters=letters, volume_guid=guid))
    return tuple(out)


def disk_ids(volumes: tuple[Volume, ...]) -> set[str]:
    """GPT disk GUIDs and MBR signatures of the disks these volumes live on."""
    return {i for v in volumes for i in (v.disk_guid, v.mbr_signature) if i}


def csv_names(cluster: ClusterInfo, folders: dict[str, str | None]) -> dict[str, str]:
    """csv_id -> "VolumeN": by the mount point's volume GUID; else CLUSDB's name; else folder order.

    The folder-order fallback (VolumeN sorted, CSVs by disk name and offset) is what Windows
    does when CSVs are added in disk order; it is used only when the folders are plain
    directories (mount points lost, e.g. copied trees).
    """
    by_guid = {g: name for name, g in folders.items() if g}
    names: dict[str, str] = {}
    for c in cluster.csv_volumes:
        if c.volume_guid in by_guid:
            names[c.csv_id] = by_guid[c.volume_guid]
        elif c.name:
            names[c.csv_id] = c.name
    plain = sorted((n for n, g in folders.items() if not g and n not in names.values()), key=_volume_order)
    rest = sorted((c for c in cluster.csv_volumes if c.csv_id not in names), key=lambda c: (c.disk_name, c.offset))
    if plain and rest:
        log.debug("CSV folders without mount-point data; naming %d CSV(s) by folder order", len(rest))
    for c, name in zip(rest, plain, strict=False):
        names[c.csv_id] = name
    return names


def _volume_order(name: str) -> tuple[int, str]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else 1 << 30, name)


def apply_cluster(volumes: tuple[Volume, ...], cluster: ClusterInfo,
                  folders: dict[str, str | None]) -> tuple[tuple[Volume, ...], ClusterInfo]:
    """Mark attached disks and CSVs, name CSVs, and give CSV volumes csv_id, name and mount path."""
    ids = disk_ids(volumes)
    names = csv_names(cluster, folders)
    csvs = tuple(replace(c, name=names.get(c.csv_id, c.name),
                         status=ATTACHED if c.disk_id in ids else "Online") for c in cluster.csv_volumes)
    disks = tuple(replace(d, status=ATTACHED if d.disk_id in ids else "Online") for d in cluster.disks)
    root = cluster.shared_volumes_root.rstrip("\\")
    out = []
    for v in volumes:
        csv = next((c for c in csvs if c.offset == v.offset and c.disk_id in (v.disk_guid, v.mbr_signature)), None)
        if csv is None:
            out.append(v)
            continue
        paths = (f"{root}\\{csv.name}",) if csv.name else ()
        out.append(replace(v, csv_id=csv.csv_id, csv_name=csv.name or None, mount_paths=paths,
                           label=v.label or csv.label))
        csvs = tuple(replace(c, label=c.label or v.label) if c.csv_id == csv.csv_id else c for c in csvs)
    return tuple(out), replace(cluster, csv_volumes=csvs, disks=disks)

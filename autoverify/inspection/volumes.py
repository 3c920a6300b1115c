"""Partitions and volumes of one disk inside the appliance: layout, filesystem, BitLocker, LDM, space.

Letters, volume GUIDs and CSV identity are added later from the registry (mapping.py);
here only what the disk itself says.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from autoverify.inspection import partitions
from autoverify.models import Volume

log = logging.getLogger(__name__)

BITLOCKER = b"-FVE-FS-"
LDM_MBR_ID = 0x42
LDM_GPT_TYPES = {"5808c8aa-7e8f-42e0-85d2-e1e90434cfb3",  # LDM metadata
                 "af9b60a0-1431-4f62-bc68-3311714a69ad"}  # LDM data
MSR_TYPE = "e3c9e316-0b5c-4db8-817d-f92df00215ae"  # Microsoft reserved: no volume, not in the Volumes pane
FILE_ATTRIBUTE_COMPRESSED = 0x800
MOUNTABLE = ("ntfs", "vfat", "exfat", "ext4", "ext3", "ext2", "xfs")


@dataclass(frozen=True)
class DiskLayout:
    """What one disk holds: its partition table, its volumes, and what made it unreadable."""

    index: int
    device: str
    table: str  # "gpt" | "msdos" | "" (none)
    volumes: tuple[Volume, ...]
    ldm: bool = False
    readable: bool = True  # False: neither a partition table nor a filesystem
    windows: tuple[str, ...] = ()  # devices of volumes holding Windows\\System32


def _try(fn, *args, default=None):
    try:
        return fn(*args)
    except RuntimeError:
        return default


def _partitions(g, device: str, table: partitions.Table) -> tuple[list[Volume], bool]:
    """Every partition that can hold a volume, as a bare Volume; True when the disk is LDM (dynamic)."""
    vols, ldm = [], False
    for p in table.partitions:
        ldm |= p.type in LDM_GPT_TYPES or p.type == f"0x{LDM_MBR_ID:02x}"
        if p.type == MSR_TYPE:
            continue
        vols.append(Volume(disk_index=-1, device=f"{device}{p.number}", partition_number=p.number, offset=p.start,
                           size=p.size, filesystem="", label="", volume_guid=None, partition_guid=p.guid,
                           disk_guid=table.disk_guid, mbr_signature=table.mbr_signature, bootable=p.bootable))
    return vols, ldm


def _mounted_facts(g, vol: Volume) -> tuple[Volume, bool]:
    """Space, compression and "holds Windows" with the volume mounted read-only inside the appliance.

    One mount per volume does all three (mounts are the slow part under TCG), which is also
    why Windows is detected here rather than by libguestfs's inspect_os (see inspection/__init__).
    """
    try:
        g.mount_ro(vol.device, "/")
    except RuntimeError as exc:
        log.debug("cannot mount %s: %s", vol.device, exc)
        return vol, False
    try:
        st = g.statvfs("/")
        total, free = st["blocks"] * st["frsize"], st["bfree"] * st["frsize"]
        attrib = _try(g.lgetxattr, "/", "system.ntfs_attrib", default=b"")
        compressed = len(attrib) >= 4 and bool(int.from_bytes(attrib[:4], "little") & FILE_ATTRIBUTE_COMPRESSED)
        windows = vol.filesystem == "ntfs" and is_windows(g)
        return replace(vol, total_bytes=total, used_bytes=total - free, free_bytes=free, compressed=compressed), windows
    finally:
        _try(g.umount_all)


def guest_path(g, path: str) -> str | None:
    """The real-case guest path of `path` under the mounted volume, or None when it does not exist."""
    try:
        real = g.case_sensitive_path(path)
        return real if g.exists(real) else None
    except RuntimeError:
        return None


def is_windows(g) -> bool:
    """The mounted volume holds a Windows\\System32 folder."""
    found = guest_path(g, "/Windows/System32")
    return bool(found and _try(g.is_dir, found, default=False))


def blkid_value(value: str) -> str:
    """blkid's export format backslash-escapes shell characters (`<` -> `\\<`): the label as written."""
    return re.sub(r"\\(.)", r"\1", value)


def describe(g, vol: Volume) -> tuple[Volume, bool]:
    """Fill filesystem, label, BitLocker flag and space of one volume; True when it holds Windows."""
    boot = _try(g.pread_device, vol.device, 11, 0, default=b"")
    if boot[3:11] == BITLOCKER:
        return replace(vol, filesystem="bitlocker", encrypted=True), False
    probe = _try(g.blkid, vol.device, default={}) or {}  # one blkid run: type and label
    fs = probe.get("TYPE", "")
    if fs.lower() == "bitlocker":
        return replace(vol, filesystem="bitlocker", encrypted=True), False
    vol = replace(vol, filesystem=fs, label=blkid_value(probe.get("LABEL", "")) if fs else "")
    if fs in MOUNTABLE:
        return _mounted_facts(g, vol)
    return vol, False


def read_disk(g, index: int, device: str) -> DiskLayout:
    """The layout of disk `index` (guestfs `device`): partitions, or one whole-disk filesystem."""
    head = _try(g.pread_device, device, partitions.HEAD_BYTES, 0, default=b"") or b""
    table = partitions.parse_table(head, lambda n, off: _try(g.pread_device, device, n, off, default=b"") or b"")
    if table.kind:
        bare, ldm = _partitions(g, device, table)
    else:
        ldm = False
        fs = (_try(g.blkid, device, default={}) or {}).get("TYPE", "")
        boot = _try(g.pread_device, device, 11, 0, default=b"")
        if not fs and boot[3:11] != BITLOCKER:
            return DiskLayout(index, device, "", (), readable=False)
        size = _try(g.blockdev_getsize64, device, default=0)
        bare = [Volume(disk_index=index, device=device, partition_number=0, offset=0, size=size,
                       filesystem=fs, label="", volume_guid=None)]
    described = [describe(g, replace(v, disk_index=index)) for v in bare]
    return DiskLayout(index, device, table.kind, tuple(v for v, _ in described), ldm=ldm,
                      windows=tuple(v.device for v, win in described if win))

"""Read the Windows system volume inside the appliance: hives (decoded by us), agent config, CSV folder names.

Hives are downloaded to a host temp dir and decoded with autoverify.registry (hivex on
a plain file: no guest filesystem is ever mounted on the host).
"""

from __future__ import annotations

import logging
import re
import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from autoverify import agent_config
from autoverify.inspection.volumes import guest_path

log = logging.getLogger(__name__)

HIVES = {"SYSTEM": "/Windows/System32/config/SYSTEM", "SOFTWARE": "/Windows/System32/config/SOFTWARE",
         "CLUSDB": "/Windows/Cluster/CLUSDB"}
AGENT_DIRS = ("/Program Files/Axcient/Replibit Agent", "/Program Files/Replibit", "/Program Files/Axcient",
              "/Program Files (x86)/Replibit", "/Program Files (x86)/Axcient/Replibit Agent")
AGENT_GLOBS = ("/[Pp]rogram [Ff]iles*/*/[Aa]ristos.cfg", "/[Pp]rogram [Ff]iles*/*/*/[Aa]ristos.cfg")
MOUNT_POINT_TAG = 0xA0000003
VOLUME_GUID = re.compile(r"Volume\{([0-9a-fA-F-]{36})\}")


@dataclass(frozen=True)
class SystemVolume:
    """Files and facts read from one mounted Windows system volume."""

    device: str
    hives: dict[str, Path]  # name -> downloaded file, only those present
    missing: tuple[str, ...]  # hive names absent (SYSTEM, SOFTWARE)
    enable_csv: bool | None
    agent_config: str | None  # guest path of aristos.cfg
    csv_folders: dict[str, str | None] = field(default_factory=dict)  # "Volume1" -> volume GUID (or None)


def _agent_config(g) -> tuple[bool | None, str | None]:
    """ENABLE_CSV from aristos.cfg: True/False when the agent is installed, None when no agent is found."""
    candidates = [p for d in AGENT_DIRS if (p := guest_path(g, d + "/aristos.cfg"))]
    for pattern in AGENT_GLOBS:
        try:
            candidates += g.glob_expand(pattern)
        except RuntimeError:
            pass
    for cfg in candidates:
        try:
            text = agent_config.decode_config(g.read_file(cfg))
        except RuntimeError:
            continue
        return agent_config.enable_csv(text), cfg
    agent_dir = any(guest_path(g, d) for d in AGENT_DIRS)
    return (False, None) if agent_dir else (None, None)


def mount_point_target(reparse: bytes) -> str | None:
    """The volume GUID a mount-point reparse buffer points at (\\??\\Volume{G}\\), else None."""
    if len(reparse) < 16 or struct.unpack_from("<I", reparse)[0] != MOUNT_POINT_TAG:
        return None
    sub_off, sub_len = struct.unpack_from("<HH", reparse, 8)
    target = reparse[16 + sub_off:16 + sub_off + sub_len].decode("utf-16-le", errors="replace")
    m = VOLUME_GUID.search(target)
    return str(uuid.UUID(m.group(1))) if m else None


def _csv_folders(g) -> dict[str, str | None]:
    """C:\\ClusterStorage entries -> the volume GUID each mount point targets (None if not readable)."""
    root = guest_path(g, "/ClusterStorage")
    if not root:
        return {}
    out = {}
    try:
        names = g.ls(root)
    except RuntimeError:
        return {}
    for name in names:
        try:
            reparse = g.lgetxattr(f"{root}/{name}", "system.ntfs_reparse_data")
        except RuntimeError:
            reparse = b""
        out[name] = mount_point_target(reparse)
    return out


def read_system_volume(g, device: str, tmp: Path) -> SystemVolume:
    """With `device` mounted at /: download the hives and read agent config and CSV folders."""
    hives, missing = {}, []
    for name, guest in HIVES.items():
        real = guest_path(g, guest)
        if not real:
            if name != "CLUSDB":
                missing.append(name)
            continue
        local = tmp / f"{device.strip('/').replace('/', '_')}_{name}"
        try:
            g.download(real, str(local))
            hives[name] = local
        except RuntimeError as exc:
            log.debug("cannot download %s from %s: %s", guest, device, exc)
            missing.append(name)
    enable_csv, cfg = _agent_config(g)
    return SystemVolume(device, hives, tuple(missing), enable_csv, cfg, _csv_folders(g))

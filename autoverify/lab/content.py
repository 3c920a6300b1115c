"""What the lab writes into each volume, per day: deterministic bytes, no randomness.

An OS volume gets the files libguestfs needs to see Windows (hives, a PE32+ cmd.exe),
the cluster database, the ClusterStorage mount folders and the backup agent's config;
every volume gets some ordinary files, and each incremental changes a few of them.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

from autoverify.lab.scenario import AGENT_CONFIG_PATH, DAYS, Cluster, ClusterVolume, Node

Files = dict[str, bytes | None]  # path inside the volume -> content; None = a folder

# Files of Volume1 the corruption targets (ntfs_damage.py): a damaged record, a bitmap bit.
DAMAGED_FILE = "Projects/budget-2026.xlsx"
BITMAP_FILE = "VMs/APP01/APP01.vhdx"


def stream(name: str, size: int) -> bytes:
    """`size` pseudo-random but fixed bytes named by `name` (incompressible like real data)."""
    out = b"".join(hashlib.sha256(f"{name}:{i}".encode()).digest() for i in range((size + 31) // 32))
    return out[:size]


def pe32plus_x64() -> bytes:
    """A minimal PE32+ image for machine 0x8664: libmagic says 'PE32+ executable (console) x86-64'."""
    dos = bytearray(64)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, 64)
    coff = struct.pack("<HHIIIHH", 0x8664, 1, 0, 0, 0, 240, 0x22)
    opt = bytearray(240)
    struct.pack_into("<HBB", opt, 0, 0x20B, 14, 0)
    struct.pack_into("<I", opt, 16, 0x1000)  # AddressOfEntryPoint
    struct.pack_into("<Q", opt, 24, 0x140000000)  # ImageBase
    struct.pack_into("<II", opt, 32, 0x1000, 0x200)  # section / file alignment
    struct.pack_into("<HHHHHH", opt, 40, 10, 0, 10, 0, 10, 0)  # OS / image / subsystem versions
    struct.pack_into("<II", opt, 56, 0x2000, 0x200)  # SizeOfImage, SizeOfHeaders
    struct.pack_into("<HH", opt, 68, 3, 0x8160)  # console subsystem, DLL characteristics
    struct.pack_into("<I", opt, 108, 16)  # NumberOfRvaAndSizes
    section = struct.pack("<8sIIIIIIHHI", b".text", 0x1000, 0x1000, 0x200, 0x200, 0, 0, 0, 0, 0x60000020)
    head = (bytes(dos) + b"PE\0\0" + coff + bytes(opt) + section).ljust(0x200, b"\0")
    return head + b"\xc3".ljust(0x200, b"\0")


def _text(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


def agent_config(node: Node) -> bytes:
    lines = ["[agent]", f"HOSTNAME={node.name}", "SERVER=bdr01.lab.local", "PORT=9080"]
    if node.enable_csv:
        lines.append("ENABLE_CSV=true")
    return _text(*lines)


def os_files(cluster: Cluster, node: Node, hives: dict[str, Path]) -> Files:
    """Day-1 content of a node's C: volume."""
    files: Files = {
        "Windows/System32/config/SYSTEM": hives["SYSTEM"].read_bytes(),
        "Windows/System32/config/SOFTWARE": hives["SOFTWARE"].read_bytes(),
        "Windows/System32/cmd.exe": pe32plus_x64(),
        "Windows/System32/drivers/etc/hosts": _text("127.0.0.1 localhost"),
        "Windows/Cluster/CLUSDB": hives["CLUSDB"].read_bytes(),
        AGENT_CONFIG_PATH: agent_config(node),
        "Users/Administrator/Documents/notes.txt": _text(f"{node.name} build notes", "day 1"),
        "inetpub/wwwroot/iisstart.htm": _text("<html><body>IIS</body></html>"),
        "Windows/Logs/CBS/CBS.log": stream(f"{node.name}/cbs", 24 * 1024),
    }
    for vol in cluster.csvs:
        files[f"ClusterStorage/{vol.name}"] = None
    return files


def os_changes(node: Node, day: int) -> Files:
    """What changes on C: in the incremental of `day` (2 or 3)."""
    return {
        "Users/Administrator/Documents/notes.txt": _text(f"{node.name} build notes", f"day {day}"),
        f"Windows/Logs/Backup/backup-{DAYS[day - 1]}.log": _text(f"{node.name} backup started {DAYS[day - 1]}"),
        "Windows/Logs/CBS/CBS.log": stream(f"{node.name}/cbs/{day}", 24 * 1024),
    }


def volume_files(name: str) -> Files:
    """Day-1 content of a data volume (a CSV, a shared disk, a local data disk)."""
    return {
        "README.txt": _text(f"{name}: lab volume"),
        DAMAGED_FILE: stream(f"{name}/budget", 8 * 1024),
        BITMAP_FILE: stream(f"{name}/vhdx", 256 * 1024),
        "Projects/plan.txt": _text(f"{name} plan", "day 1"),
        "Shares/Public/welcome.txt": _text("Welcome"),
    }


def volume_changes(name: str, day: int) -> Files:
    """What changes on a data volume in the snapshot of `day` (2 or 3)."""
    return {
        "Projects/plan.txt": _text(f"{name} plan", f"day {day}"),
        f"Projects/changes-{DAYS[day - 1]}.txt": stream(f"{name}/changes/{day}", 4 * 1024),
    }


def cluster_volume_name(vol: ClusterVolume) -> str:
    return vol.name if vol.is_csv else vol.disk_name

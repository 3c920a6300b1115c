"""Find snapshots in the store (docs/design.md "Snapshot store layout") and identify disk formats by content.

The format is never guessed from a file name: qemu probing a raw image that starts with a
format header is a known escape (a guest writing a qcow2 header into a raw disk), so every
disk is opened later with the format found here.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from autoverify.errors import ImageError
from autoverify.models import DiskImage, Snapshot

log = logging.getLogger(__name__)

DISK_SUFFIXES = (".qcow2", ".raw", ".img", ".vmdk", ".vhdx")
MAGICS = ((b"QFI\xfb", "qcow2"), (b"KDMV", "vmdk"), (b"vhdxfile", "vhdx"))
# Containers qemu would open but the project does not support: "unknown", named in the finding.
UNSUPPORTED = ((b"conectix", "vhd"), (b"<<< ", "vdi"), (b"QED\x00", "qed"), (b"koly", "dmg"))
MIN_RAW = 512  # a raw disk shorter than one sector is a truncated file, not a disk
FOLDER_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})(\d{2})(\d{2})?")


def detect_format(path: str | os.PathLike) -> str:
    """raw | qcow2 | vmdk | vhdx from the first bytes; 'unknown' for empty or unreadable files."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return "unknown"
    if not head:
        return "unknown"
    for magic, fmt in MAGICS:
        if head.startswith(magic):
            return fmt
    if head.startswith(b"# Disk DescriptorFile") or b"createType=" in head[:1024]:
        return "vmdk"
    if unsupported_container(head) or len(head) < MIN_RAW:
        return "unknown"
    return "raw"


def unsupported_container(head: bytes) -> str | None:
    """The name of a known but unsupported container format starting `head`, else None."""
    return next((name for magic, name in UNSUPPORTED if head.startswith(magic)), None)


def image_info(path: str, fmt: str) -> tuple[int, tuple[str, ...], str | None]:
    """(virtual size, backing chain nearest first, error sentence or None) via qemu-img, never probing."""
    if fmt == "unknown":
        return 0, (), None
    if fmt == "raw":
        return os.path.getsize(path), (), None
    cmd = ["qemu-img", "info", "--output=json", "--backing-chain", "-U", "-f", fmt, path]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 0, (), f"qemu-img could not read it ({exc})"
    if proc.returncode != 0:
        return _partial_chain(path, fmt, proc.stderr.strip().splitlines()[-1:] or ["qemu-img failed"])
    try:
        chain = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return 0, (), "qemu-img printed no readable information"
    size = int(chain[0].get("virtual-size", 0))
    return size, tuple(os.path.normpath(c["filename"]) for c in chain[1:]), None


def _partial_chain(path: str, fmt: str, err: list[str]) -> tuple[int, tuple[str, ...], str]:
    """When the chain is broken, still report the overlay's size and its declared backing file."""
    try:
        proc = subprocess.run(["qemu-img", "info", "--output=json", "-U", "-f", fmt, path],
                              capture_output=True, text=True, timeout=60, check=False)
        info = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        info = None
    if not isinstance(info, dict):
        return 0, (), err[0]
    backing = info.get("full-backing-filename") or info.get("backing-filename")
    size = int(info.get("virtual-size", 0))
    if backing:
        if not os.path.isabs(backing):
            backing = os.path.join(os.path.dirname(path), backing)
        backing = os.path.normpath(backing)
        return size, (backing,), f"its backing file {backing} is missing or unreadable"
    return size, (), err[0]


def disk_image(path: str | os.PathLike) -> DiskImage:
    path = os.path.abspath(path)
    fmt = detect_format(path)
    size, chain, _err = image_info(path, fmt)
    return DiskImage(path=path, format=fmt, size=size, backing_chain=chain)


def _taken_at(folder: Path, meta: dict) -> str:
    text = meta.get("time")
    if isinstance(text, str):
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
        except ValueError:
            log.warning("%s: snapshot.json 'time' is not ISO 8601 (%r); using the folder name.", folder, text)
    m = FOLDER_TIME.match(folder.name)
    if m:
        y, mo, d, h, mi, s = (int(x or 0) for x in m.groups())
        return datetime(y, mo, d, h, mi, s, tzinfo=UTC).isoformat()
    return datetime.fromtimestamp(folder.stat().st_mtime, UTC).replace(microsecond=0).isoformat()


def _meta(folder: Path) -> dict:
    f = folder / "snapshot.json"
    if not f.is_file():
        return {}
    try:
        meta = json.loads(f.read_text(encoding="utf-8"))
        return meta if isinstance(meta, dict) else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("%s: unreadable snapshot.json (%s); using file names and the folder name.", f, exc)
        return {}


def read_snapshot(folder: Path, system: str) -> Snapshot | None:
    """One snapshot folder -> Snapshot, or None when it holds no disk images."""
    meta = _meta(folder)
    names = meta.get("disks")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        names = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DISK_SUFFIXES)
    if not names:
        return None
    disks = tuple(disk_image(folder / n) for n in names)
    kind = meta.get("type") if meta.get("type") in ("Full", "Incremental") else (
        "Incremental" if any(d.backing_chain for d in disks) else "Full")
    return Snapshot(id=f"{system}/{folder.name}", system=system, taken_at=_taken_at(folder, meta), kind=kind,
                    disks=disks, cluster=meta.get("cluster") if isinstance(meta.get("cluster"), str) else None,
                    path=str(folder.resolve()))


def discover(root: str | os.PathLike) -> list[Snapshot]:
    """Every snapshot under ROOT/<system>/<snapshot>/, sorted by (system, taken_at)."""
    root = Path(root)
    if not root.is_dir():
        raise ImageError(f"{root}: the snapshot store folder does not exist (check store.root in config.toml).")
    out = []
    for system in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for folder in sorted(p for p in system.iterdir() if p.is_dir() and not p.name.startswith(".")):
            snap = read_snapshot(folder, system.name)
            if snap:
                out.append(snap)
    return sorted(out, key=lambda s: (s.system, s.taken_at, s.id))

"""Disk checks before any appliance launch: a disk qemu cannot open would sink the whole batch's launch.

Zero-byte files, unknown formats, missing backing files and truncated or corrupt
container metadata (`qemu-img check`, read-only) become findings; such disks are left
out of the appliance and the rest of the snapshot is still inspected.
"""

from __future__ import annotations

import os
import subprocess

from autoverify.discovery import unsupported_container
from autoverify.inspection.findings import disk_finding
from autoverify.models import DiskImage, Finding, Snapshot

CHECKABLE = ("qcow2", "vmdk", "vhdx")
# qemu-img check exit codes: 0 clean, 1 could not check, 2 corruptions, 3 leaked clusters only (harmless).
CHECK_FAILED = (1, 2)


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(64)
    except OSError:
        return b""


def _qemu_check(disk: DiskImage) -> str | None:
    """None when the container's metadata is sound, else qemu-img's last complaint."""
    try:
        proc = subprocess.run(["qemu-img", "check", "-U", "-f", disk.format, disk.path],
                              capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        return "qemu-img check did not finish within 300 s"
    except OSError as exc:
        return f"qemu-img could not run ({exc.strerror})"
    if proc.returncode not in CHECK_FAILED:
        return None
    lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR" in ln or "rror" in ln or "Could not" in ln]
    return (errors or lines or ["qemu-img check failed"])[0]


def precheck_disk(snap: Snapshot, disk: DiskImage) -> Finding | None:
    """The reason `disk` cannot be added to an appliance, as a finding; None when it can."""
    path = disk.path
    if not os.path.exists(path):
        return disk_finding("inspect.unreadable", snap, disk, "the disk image does not exist.")
    try:
        size = os.path.getsize(path)
        with open(path, "rb"):
            pass
    except OSError as exc:
        return disk_finding("inspect.unreadable", snap, disk, f"the disk image cannot be read ({exc.strerror}).")
    if size == 0:
        return disk_finding("inspect.zero-byte", snap, disk, "the disk image is an empty (zero-byte) file.")
    if disk.format == "unknown":
        kind = unsupported_container(_head(path))
        text = (f"the disk image is in {kind.upper()} format, which is not supported (raw, qcow2, vmdk, vhdx)."
                if kind else f"the disk image format is unknown ({size} bytes; not raw, qcow2, vmdk or vhdx).")
        return disk_finding("inspect.unknown-format", snap, disk, text)
    for backing in disk.backing_chain:
        if not os.path.exists(backing):
            return disk_finding("inspect.missing-backing", snap, disk,
                                f"its backing file {backing} is missing, so the disk cannot be read.")
    if disk.format in CHECKABLE:
        problem = _qemu_check(disk)
        if problem and "backing" in problem.lower():
            return disk_finding("inspect.missing-backing", snap, disk,
                                f"its backing chain cannot be opened ({problem}), so the disk cannot be read.")
        if problem:
            return disk_finding("inspect.unreadable", snap, disk,
                                f"the {disk.format} image is truncated or corrupt ({problem}).")
    return None

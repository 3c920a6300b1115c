"""Disk images of the lab: GPT tables on the host (sgdisk), file systems and files in the appliance.

sgdisk writes the partition table of our own sparse raw file (no guest file system is
touched on the host); mkfs and file writes happen inside one libguestfs appliance that
opens the lab's images writable (they are ours, not snapshot evidence).
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

from autoverify.errors import AutoVerifyError
from autoverify.lab.content import Files
from autoverify.lab.scenario import Disk, Partition

GPT_TYPES = {"efi": "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "msr": "E3C9E316-0B5C-4DB8-817D-F92DF00215AE",
             "data": "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"}
GPT_NAMES = {"efi": "EFI system partition", "msr": "Microsoft reserved partition", "data": "Basic data partition"}
SECTOR = 512


class LabError(AutoVerifyError):
    """The lab could not be built (names the step and the file)."""


def run(cmd: list[str]) -> str:
    """Run a host tool; its failure becomes one LabError sentence."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise LabError(f"{cmd[0]} is not installed (run tools/setup.sh).") from None
    if done.returncode != 0:
        raise LabError(f"{' '.join(cmd[:3])} failed: {(done.stderr or done.stdout).strip()[-300:]}")
    return done.stdout


def partition_raw(disk: Disk, path: Path) -> Path:
    """Create `path` as a sparse raw disk with the GPT layout of `disk`."""
    with open(path, "wb") as fh:
        fh.truncate(disk.size)
    cmd = ["sgdisk", "--clear", f"--disk-guid={disk.disk_guid}"]
    for p in disk.partitions:
        first, last = p.start // SECTOR, (p.start + p.size) // SECTOR - 1
        cmd += [f"--new={p.number}:{first}:{last}", f"--typecode={p.number}:{GPT_TYPES[p.kind]}",
                f"--partition-guid={p.number}:{p.guid}", f"--change-name={p.number}:{GPT_NAMES[p.kind]}"]
    run(cmd + [str(path)])
    return path


def _set_ntfs_serial(g, dev: str, part: Partition) -> None:
    """Write the fixed volume serial into the boot sector and its backup (last sector)."""
    serial = struct.pack("<Q", part.serial)
    g.pwrite_device(dev, serial, 0x48)
    g.pwrite_device(dev, serial, part.size - SECTOR + 0x48)


def format_disk(g, device: str, disk: Disk) -> None:
    """mkfs every partition of `disk` (attached as `device`, e.g. /dev/sda) that has a file system."""
    for p in disk.partitions:
        if not p.filesystem:
            continue
        dev = f"{device}{p.number}"
        g.mkfs(p.filesystem, dev, label=p.label) if p.label else g.mkfs(p.filesystem, dev)
        if p.filesystem == "ntfs":
            _set_ntfs_serial(g, dev, p)


def write_files(g, dev: str, files: Files) -> None:
    """Mount `dev` at / in the appliance, write `files` (None = folder), unmount."""
    g.mount(dev, "/")
    try:
        for path, data in sorted(files.items()):
            target = "/" + path
            if data is None:
                g.mkdir_p(target)
                continue
            g.mkdir_p(target.rsplit("/", 1)[0] or "/")
            g.write(target, data)
    finally:
        g.umount("/")


def qcow2_full(src: Path, dst: Path) -> None:
    """A Full copy: a standalone qcow2 of `src` (sparse: zero clusters are not stored)."""
    run(["qemu-img", "convert", "-q", "-O", "qcow2", str(src), str(dst)])


def qcow2_overlay(backing: Path, dst: Path) -> None:
    """An incremental: a qcow2 overlay on `backing` through a relative path, as an appliance chain has."""
    import os

    rel = os.path.relpath(backing, dst.parent)
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", rel, str(dst)])

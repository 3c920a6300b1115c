"""Disk images of the lab: GPT tables on the host (sgdisk), file systems and files in the appliance.

sgdisk writes the partition table of our own sparse raw file (no guest file system is
touched on the host); mkfs and file writes happen inside one libguestfs appliance that
opens the lab's images writable (they are ours, not snapshot evidence).
"""

from __future__ import annotations

import io
import struct
import subprocess
import tarfile
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


def _copy_sparse(src: Path, dst: Path, offset: int) -> None:
    """Copy `src` into `dst` at `offset`, skipping all-zero chunks so `dst` stays sparse."""
    chunk = 1 << 20
    with open(src, "rb") as fin, open(dst, "r+b") as fout:
        pos = 0
        while block := fin.read(chunk):
            if block.count(0) != len(block):
                fout.seek(offset + pos)
                fout.write(block)
            pos += len(block)


def _mkntfs(disk_path: Path, part: Partition) -> None:
    """mkntfs on a scratch file (our own, never mounted), fixed serial, copied into the disk."""
    scratch = disk_path.with_suffix(f".p{part.number}")
    with open(scratch, "wb") as fh:
        fh.truncate(part.size)
    cmd = ["mkntfs", "-F", "-Q", "-q", "-s", str(SECTOR), "-c", "4096", "-p", str(part.start // SECTOR),
           "-H", "255", "-S", "63"]
    run(cmd + (["-L", part.label] if part.label else []) + [str(scratch)])
    serial = struct.pack("<Q", part.serial)
    with open(scratch, "r+b") as fh:  # boot sector and its backup in the volume's last sector
        for at in (0x48, part.size - SECTOR + 0x48):
            fh.seek(at)
            fh.write(serial)
    try:
        _copy_sparse(scratch, disk_path, part.start)
    finally:
        scratch.unlink()


def format_raw(disk: Disk, path: Path) -> None:
    """Make the file systems of `disk` in its raw image `path` with host tools (fast, no appliance)."""
    for p in disk.partitions:
        if p.filesystem == "ntfs":
            _mkntfs(path, p)
        elif p.filesystem == "vfat":
            run(["mkfs.vfat", "-F", "32", "-s", "1", "-n", p.label or "NO NAME", "-i", f"{p.serial:08X}",
                 "--invariant", f"--offset={p.start // SECTOR}", str(path), str(p.size // 1024)])


def tarball(files: Files, dest: Path, mtime: int) -> Path:
    """A tar of `files` (None = folder) with parents listed first and fixed owners and times."""
    entries: dict[str, bytes | None] = {}
    for path in sorted(files):
        parts = path.split("/")
        for i in range(1, len(parts)):
            entries.setdefault("/".join(parts[:i]), None)
        entries[path] = files[path]
    with tarfile.open(dest, "w", format=tarfile.GNU_FORMAT) as tar:
        for path, data in entries.items():
            info = tarfile.TarInfo(path)
            info.mtime, info.uname, info.gname = mtime, "root", "root"
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return dest


def write_files(g, dev: str, files: Files, scratch: Path, mtime: int) -> None:
    """Mount `dev` at / in the appliance, unpack `files` there in one call, unmount."""
    tarball(files, scratch, mtime)
    g.mount(dev, "/")
    try:
        g.tar_in(str(scratch), "/")
    finally:
        g.umount("/")
        scratch.unlink()

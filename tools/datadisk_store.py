"""Build a small snapshot store holding one data disk without Windows: a GPT disk with two NTFS
partitions (mkntfs + ntfs-3g on the host), no drive letters anywhere.

`python tools/datadisk_store.py STORE [--corrupt]` writes STORE/FILESRV-DATA/2026-11-22T0100/disk0.raw.
With --corrupt, the second partition's \\projects\\budget.txt gets a wrong hard link count (record
header +0x12), which the check must report naming that file. Used by `make demo` and by
tests/verify/test_data_disk.py (the vendor's verification checks none of these volumes).
"""

from __future__ import annotations

import argparse
import re
import struct
import subprocess
import tempfile
from pathlib import Path

MIB = 1 << 20
PART_MIB = 24
SNAPSHOT = Path("FILESRV-DATA") / "2026-11-22T0100"
CORRUPT_FILE = "/projects/budget.txt"


def _volume(path: Path, label: str, files: dict[str, bytes]) -> None:
    with open(path, "wb") as fh:
        fh.truncate(PART_MIB * MIB)
    subprocess.run(["mkntfs", "-F", "-Q", "-q", "-L", label, str(path)], check=True, capture_output=True)
    mnt = path.with_suffix(".mnt")
    mnt.mkdir()
    subprocess.run(["ntfs-3g", str(path), str(mnt)], check=True)
    try:
        for name, data in files.items():
            (mnt / name).parent.mkdir(parents=True, exist_ok=True)
            (mnt / name).write_bytes(data)
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
        mnt.rmdir()


def _bad_link_count(volume: Path, path: str) -> None:
    """Set the hard link count of `path`'s file record to 7 (it has one name)."""
    out = subprocess.run(["ntfsinfo", "-F", path, str(volume)], check=True, capture_output=True, text=True).stdout
    inode = int(re.search(r"Dumping Inode (\d+)", out).group(1))  # type: ignore[union-attr]
    with open(volume, "r+b") as fh:
        boot = fh.read(512)
        bps, spc = struct.unpack_from("<HB", boot, 11)
        mft_lcn, rec_code = struct.unpack_from("<Q", boot, 0x30)[0], boot[0x40]
        rec_size = 1 << (256 - rec_code) if rec_code > 127 else rec_code * bps * spc
        fh.seek(mft_lcn * bps * spc + inode * rec_size + 0x12)  # a fresh volume: the first records are contiguous
        fh.write(struct.pack("<H", 7))


def build(store: Path, corrupt: bool) -> Path:
    """The store's disk image (raw, GPT, partitions at 1 MiB and 1 + PART_MIB MiB)."""
    folder = store / SNAPSHOT
    folder.mkdir(parents=True, exist_ok=True)
    disk = folder / "disk0.raw"
    with tempfile.TemporaryDirectory(dir=store) as tmp:
        vols = [Path(tmp) / "p1.img", Path(tmp) / "p2.img"]
        _volume(vols[0], "Archive", {f"archive/{y}/report.txt": b"annual report %d\n" % y for y in range(2015, 2026)})
        _volume(vols[1], "Projects", {"projects/budget.txt": b"budget\n" * 100,
                                      "projects/plan.txt": b"plan\n" * 3000})
        if corrupt:
            _bad_link_count(vols[1], CORRUPT_FILE)
        with open(disk, "wb") as fh:
            fh.truncate((2 * PART_MIB + 2) * MIB)
        sectors = PART_MIB * MIB // 512
        subprocess.run(["sgdisk", "-n", f"1:2048:+{sectors}", "-t", "1:0700", "-n", f"2:{2048 + sectors}:+{sectors}",
                        "-t", "2:0700", str(disk)], check=True, capture_output=True)
        for i, vol in enumerate(vols):
            subprocess.run(["dd", f"if={vol}", f"of={disk}", "bs=1M", f"seek={1 + i * PART_MIB}",
                            "conv=notrunc,sparse", "status=none"], check=True)
    return disk


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--corrupt", action="store_true")
    args = ap.parse_args()
    print(build(args.store, args.corrupt))

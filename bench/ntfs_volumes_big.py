"""The bench volumes: 100,000 files (2 GiB) and 1,000,000 files (8 GiB), mkntfs + the host's ntfs-3g.

Both are sparse files cached under /var/tmp/autoverify-bench-cache, keyed by their recipe.
The 1M volume is made of empty files created one `open` each through ntfs-3g (no tarball of a
million headers): 10,000 directories of 100 files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from checks.ntfs_volumes import VolumeSpec, bench_tree, build_on_host, empty_tree  # noqa: E402

CACHE = Path("/var/tmp/autoverify-bench-cache")


def million_files(mnt: Path) -> None:
    """1,000,000 empty files in 10,000 directories (100 top-level folders of 100)."""
    for top in range(100):
        for d in range(100):
            base = mnt / f"t{top:02d}" / f"dir{d:03d}"
            base.mkdir(parents=True)
            for i in range(100):
                os.close(os.open(base / f"f{i:03d}.txt", os.O_CREAT | os.O_WRONLY, 0o644))


BENCH_100K = VolumeSpec("bench100k", 2048, bench_tree)
BENCH_1M = VolumeSpec("bench1m", 8192, empty_tree, host_finish=million_files)


def volume(which: str) -> Path:
    return build_on_host(BENCH_1M if which == "1m" else BENCH_100K, CACHE)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["100k"]:
        print(volume(name))

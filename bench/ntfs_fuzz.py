"""Fuzz the NTFS checker: 10,000 mutants of clean volumes, each bounded in time and memory.

    .venv/bin/python bench/ntfs_fuzz.py [--cases N] [--seed S] [--timeout SECONDS] [--memory-mb MB]

The mutants (tests/checks/ntfs_mutate.py) flip bits and write field-aware values into boot
sectors, file record headers, attribute headers and values, runlists, INDX blocks and $LogFile
restart pages, zero or duplicate records, and truncate the volume. Each case runs in a worker
process limited to --memory-mb of address space (a blow-up is a MemoryError, reported as a
failure) and is stopped after --timeout seconds (a hang). Every case must end in clean, errors
or unchecked with sentences; the counts and every failure (with its case number, to replay it
with `mutate(random.Random(seed * 1_000_003 + case), ...)`) are printed. Exit 1 on any failure.

Base volumes: the corpus's clean mkntfs volume (tests/data), one built here with 4 KiB sectors
and 64 KiB clusters, the tests' diverse ntfs-3g volume (attribute lists, compressed, sparse and
reparse-point files, a 5,000-entry directory; built on the host and cached like the tests do), and
the corpus's Windows-formatted volume when the shared corpus is there.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from checks.ntfs_mutate import run_cases  # noqa: E402

DATA = ROOT / "tests" / "data" / "ntfs"


def _extract(tarball: Path, into: Path) -> Path:
    dest = into / tarball.name.removesuffix(".img.tar.xz")
    dest.mkdir()
    subprocess.run(["tar", "-xSf", str(tarball), "-C", str(dest)], check=True)
    return next(dest.glob("*.img"))


def bases(tmp: Path) -> list[tuple[str, Path, int]]:
    """(name, image, share of the cases): the small volumes take most, the 13 GB sparse one few."""
    out = [("mkntfs_default", _extract(DATA / "clean__mkntfs_default.img.tar.xz", tmp), 6)]
    img = tmp / "mkntfs_4k.img"
    with open(img, "wb") as fh:
        fh.truncate(64 << 20)
    subprocess.run(["mkntfs", "-F", "-Q", "-q", "-s", "4096", "-c", "65536", str(img)], check=True,
                   capture_output=True)
    out.append(("mkntfs_4k_64k", img, 3))
    from checks.ntfs_volumes import DIVERSE, build_on_host

    out.append(("ntfs3g_diverse", build_on_host(DIVERSE, Path("/var/tmp/autoverify-test-cache")), 2))
    out.append(("formatted_on_windows", _extract(DATA / "clean__formatted_on_windows.img.tar.xz", tmp), 1))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds one case may take")
    ap.add_argument("--memory-mb", type=int, default=1024, help="address space of the worker")
    args = ap.parse_args()
    failures = 0
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        vols = bases(Path(tmp))
        total = sum(w for _n, _p, w in vols)
        start = 0
        for i, (name, image, weight) in enumerate(vols):
            n = args.cases - start if i == len(vols) - 1 else args.cases * weight // total
            t1 = time.monotonic()
            out = run_cases(str(image), range(start, start + n), args.seed, args.timeout, args.memory_mb)
            start += n
            counts = Counter(o.status for o in out)
            bad = [o for o in out if o.problem]
            failures += len(bad)
            slow = max(out, key=lambda o: o.seconds)
            print(f"{name:22s}: {n} cases in {time.monotonic() - t1:.0f} s: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                  + f"; slowest case {slow.case} {slow.seconds:.2f} s; worker peak RSS "
                  f"{max(o.maxrss_mb for o in out):.0f} MB; failures {len(bad)}")
            for o in bad[:50]:
                print(f"  FAIL case {o.case} ({name}, seed {args.seed}): {o.status}: {o.problem}")
    print(f"total: {args.cases} cases in {time.monotonic() - t0:.0f} s, {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the NTFS checker against `ntfsresize -i -f` on a 100,000-file volume.

    .venv/bin/python bench/ntfs_check.py [--image IMAGE] [--runs N]

Builds the volume once (mkntfs + the host's ntfs-3g; cached under /var/tmp/autoverify-bench-cache,
keyed by its recipe),
then, on a warm page cache, times ntfsresize -i -f and the checker (in a child process, so its
peak RSS is its own) and prints records per second, the wall-time ratio and peak memory.
Targets: ratio <= 4, peak memory < 300 MB, zero findings on the clean volume.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path("/var/tmp/autoverify-bench-cache")


def child(image: str) -> None:
    """Run one check and print its figures as JSON (peak RSS of this process only)."""
    from autoverify.checks.ntfs import check_ntfs
    from autoverify.readers import open_reader

    t0 = time.perf_counter()
    with open_reader(image) as r:
        result = check_ntfs(r)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "records": result.mft_records, "status": result.status,
                      "findings": len(result.findings),
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return time.perf_counter() - t0, proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", help="an existing NTFS image instead of the cached 100k-file volume")
    ap.add_argument("--runs", type=int, default=3, help="runs of each tool; the best time counts")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return 0
    sys.path.insert(0, str(ROOT))
    if args.image:
        image = Path(args.image)
    else:
        from tests.checks.ntfs_volumes import BENCH, build_on_host

        t0 = time.perf_counter()
        image = build_on_host(BENCH, CACHE)
        print(f"volume: {image} (ready in {time.perf_counter() - t0:.1f} s)")
    subprocess.run(["cat", str(image)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    resize_times, checks = [], []
    for _ in range(args.runs):
        seconds, proc = timed(["ntfsresize", "-i", "-f", str(image)])
        if proc.returncode:
            print(f"ntfsresize failed: {proc.stderr.strip()[:300]}", file=sys.stderr)
            return 1
        resize_times.append(seconds)
        out = subprocess.run([sys.executable, __file__, "--child", str(image)], capture_output=True, text=True,
                             check=True, cwd=ROOT).stdout
        checks.append(json.loads(out.strip().splitlines()[-1]))
    fix_s, fix = timed(["ntfsfix", "-n", str(image)])
    best = min(checks, key=lambda c: c["seconds"])
    resize = min(resize_times)
    print(f"file records in use : {best['records']}")
    print(f"checker             : {best['seconds']:.2f} s, {best['records'] / best['seconds']:,.0f} records/s, "
          f"status {best['status']}, {best['findings']} finding(s)")
    print(f"ntfsresize -i -f    : {resize:.2f} s")
    print(f"ntfsfix -n          : {fix_s:.2f} s (exit {fix.returncode})")
    print(f"wall-time ratio     : {best['seconds'] / resize:.1f}x ntfsresize (target <= 4x)")
    print(f"checker peak memory : {max(c['maxrss_mb'] for c in checks):.0f} MB RSS (target < 300 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the lab's 12 snapshots inspected (a) by inspect_snapshots in one run, few appliance launches,
and (b) by one `virt-inspector` process per snapshot. Prints both wall times and the ratio b/a.

Usage: .venv/bin/python bench/inspect_batch.py [--lab DIR] [--batch-size N]
(the lab is built first when DIR does not hold one; building is not timed).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from autoverify import guestfs_session
from autoverify.discovery import discover
from autoverify.inspection import inspect_snapshots
from autoverify.models import Snapshot


def run_project(snaps: list[Snapshot], batch_size: int) -> tuple[float, int, int]:
    """(seconds, launches, snapshots with an OS) for one inspect_snapshots run."""
    launches = []
    real = guestfs_session.launch

    def counting(drives, settings):
        launches.append(len(drives))
        return real(drives, settings)

    guestfs_session.launch = counting
    try:
        start = time.monotonic()
        result = list(inspect_snapshots(snaps, guestfs_session.Settings(), batch_size=batch_size))
        seconds = time.monotonic() - start
    finally:
        guestfs_session.launch = real
    return seconds, len(launches), sum(1 for i in result if i.os)


def run_virt_inspector(snaps: list[Snapshot]) -> tuple[float, int]:
    """(seconds, processes that succeeded): one virt-inspector per snapshot, every disk with --format."""
    env = dict(os.environ)
    if guestfs_session.accel_in_use() == "tcg":
        env["LIBGUESTFS_BACKEND_SETTINGS"] = "force_tcg"  # virt-inspector has no KVM->TCG fallback
    ok = 0
    start = time.monotonic()
    for snap in snaps:
        cmd = ["virt-inspector"]
        for d in snap.disks:
            cmd += [f"--format={d.format}", "-a", d.path]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        ok += proc.returncode == 0 and "<operatingsystem>" in proc.stdout
        if proc.returncode:
            print(f"virt-inspector failed on {snap.id}: {proc.stderr.strip()[-200:]}", file=sys.stderr)
    return time.monotonic() - start, ok


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lab", default=os.environ.get("LAB", "/var/tmp/autoverify-lab"))
    p.add_argument("--batch-size", type=int, default=16)
    args = p.parse_args()
    from autoverify.lab import build_lab

    lab = Path(args.lab)
    build_lab(lab)
    snaps = discover(lab / "store")
    disks = sum(len(s.disks) for s in snaps)
    print(f"{len(snaps)} snapshots, {disks} disks, batch size {args.batch_size} "
          f"(expected launches {math.ceil(disks / args.batch_size)}), accel {guestfs_session.accel_in_use()}")
    a, launches, with_os = run_project(snaps, args.batch_size)
    print(f"(a) inspect_snapshots, one run: {a:.1f} s, {launches} appliance launch(es), OS found in {with_os}")
    b, ok = run_virt_inspector(snaps)
    print(f"(b) virt-inspector per snapshot: {b:.1f} s, {ok} of {len(snaps)} found an OS")
    print(f"ratio b/a = {b / a:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

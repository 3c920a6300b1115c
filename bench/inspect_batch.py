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


def _virt_inspector(snap: Snapshot, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    cmd = ["virt-inspector"]
    for d in snap.disks:
        cmd += [f"--format={d.format}", "-a", d.path]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    return time.monotonic() - start, proc


def run_virt_inspector(snaps: list[Snapshot]) -> tuple[float, int]:
    """(seconds, processes that found an OS): one virt-inspector per snapshot, every disk with --format.

    virt-inspector has no KVM->TCG fallback: when this process already knows KVM fails, or the
    first attempt fails under KVM, it gets LIBGUESTFS_BACKEND_SETTINGS=force_tcg (the failed
    attempt is not counted).
    """
    env = dict(os.environ)
    if guestfs_session.accel_in_use() == "tcg":
        env["LIBGUESTFS_BACKEND_SETTINGS"] = "force_tcg"
    total, ok = 0.0, 0
    for snap in snaps:
        seconds, proc = _virt_inspector(snap, env)
        if proc.returncode and "LIBGUESTFS_BACKEND_SETTINGS" not in env:
            env["LIBGUESTFS_BACKEND_SETTINGS"] = "force_tcg"
            print("virt-inspector failed under KVM; using force_tcg", file=sys.stderr)
            seconds, proc = _virt_inspector(snap, env)
        total += seconds
        ok += proc.returncode == 0 and "<operatingsystem>" in proc.stdout
        print(f"    virt-inspector {snap.id}: {seconds:.1f} s", flush=True)
        if proc.returncode:
            print(f"virt-inspector failed on {snap.id}: {proc.stderr.strip()[-200:]}", file=sys.stderr)
    return total, ok


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lab", default=os.environ.get("LAB", "/var/tmp/autoverify-lab"))
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--only", choices=("project", "virt-inspector"), help="time one side only (e.g. two machines)")
    args = p.parse_args()
    from autoverify.lab import build_lab

    lab = Path(args.lab)
    build_lab(lab)
    snaps = discover(lab / "store")
    disks = sum(len(s.disks) for s in snaps)
    print(f"{len(snaps)} snapshots, {disks} disks, batch size {args.batch_size} "
          f"(expected launches {math.ceil(disks / args.batch_size)}), accel {guestfs_session.accel_in_use()}")
    a = b = None
    if args.only != "virt-inspector":
        a, launches, with_os = run_project(snaps, args.batch_size)
        print(f"(a) inspect_snapshots, one run: {a:.1f} s, {launches} appliance launch(es), OS found in {with_os}",
              flush=True)
    if args.only != "project":
        b, ok = run_virt_inspector(snaps)
        print(f"(b) virt-inspector per snapshot: {b:.1f} s, {ok} of {len(snaps)} found an OS", flush=True)
    if a and b:
        print(f"ratio b/a = {b / a:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Offline snapshot inspection with libguestfs: OS, volumes, drive letters, CSV inventory.

The only code besides guestfs_session that touches guestfs. Disks are always attached
read-only with the format detected from content (never probed by qemu).

Windows is found by our own check (Windows\\System32 on an NTFS volume) during the one
read-only mount each volume gets anyway for its space figures, and its hives are decoded
by autoverify.registry. libguestfs's inspect_os is not called: it mounts every filesystem a
second time (the dominant cost under TCG with 30 disks in one appliance) and one hive it
cannot parse makes it fail for the whole appliance, i.e. for every snapshot of the batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

from autoverify.discovery import disk_image
from autoverify.guestfs_session import Settings
from autoverify.inspection.batch import plan, prepare, run_batch
from autoverify.inspection.history import last_backups
from autoverify.models import Inspection, Snapshot


def inspect_snapshots(snapshots: Sequence[Snapshot], settings: Settings, batch_size: int = 8,
                      snapshot_timeout: int = 600) -> Iterator[Inspection]:
    """One Inspection per snapshot, in order; one appliance per batch of <= batch_size disks."""
    jobs = [prepare(s) for s in snapshots]
    for batch in plan(jobs, max(1, batch_size)):
        start = time.monotonic()
        for insp in run_batch(batch, settings, snapshot_timeout):
            yield insp if insp.seconds else replace(insp, seconds=round(time.monotonic() - start, 2))
            start = time.monotonic()


def expected_launches(snapshots: Sequence[Snapshot], batch_size: int) -> int:
    """ceil(disks / batch_size) when no snapshot has more disks than a batch holds."""
    return math.ceil(sum(len(s.disks) for s in snapshots) / max(1, batch_size))


def inspect_images(paths: Sequence[str], settings: Settings) -> Inspection:
    """`autoverify inspect`: the images are the disks of ONE snapshot."""
    disks = tuple(disk_image(p) for p in paths)
    snap = Snapshot(id="images", system="", taken_at="", kind="Full", disks=disks)
    return next(inspect_snapshots([snap], settings, batch_size=max(1, len(disks))))


__all__ = ["expected_launches", "inspect_images", "inspect_snapshots", "last_backups"]

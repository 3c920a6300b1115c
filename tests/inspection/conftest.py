"""Session fixtures: the test images (built once, cached) and ONE inspect_snapshots run over all of them."""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from images import build_images, digest  # noqa: E402

from autoverify import guestfs_session  # noqa: E402
from autoverify.discovery import disk_image  # noqa: E402
from autoverify.inspection import batch, inspect_snapshots  # noqa: E402
from autoverify.models import Snapshot  # noqa: E402

BATCH = 8  # all good disks in one launch (each launch costs 25-80 s under TCG on a shared CPU)
SNAPSHOTS = {  # id -> disk files; order matters for batching (see test_launches_per_run)
    "T/win": ["win_sys.raw", "csv_overlay.qcow2"],
    "T/two": ["two_ntfs.raw"],
    "T/bad": ["zero.raw", "garbage.img", "truncated.qcow2", "orphan.qcow2", "tiny.img", "old.vhd"],
    "T/ldm": ["ldm.raw"],
    "T/nohive": ["nohive.raw"],
    "T/badhive": ["badhive.raw"],
    "T/die": ["two_ntfs.raw"],  # the appliance is killed the first time this one is inspected
}


@pytest.fixture(scope="session")
def images() -> Path:
    return build_images()


def snapshot(images: Path, sid: str, names: list[str]) -> Snapshot:
    return Snapshot(id=sid, system=sid.split("/")[0], taken_at="2026-11-21T01:00:00+00:00", kind="Full",
                    disks=tuple(disk_image(images / n) for n in names))


@pytest.fixture(scope="session")
def snapshots(images) -> list[Snapshot]:
    return [snapshot(images, sid, names) for sid, names in SNAPSHOTS.items()]


@pytest.fixture(scope="session")
def run(images, snapshots) -> dict:
    """inspect_snapshots over every test snapshot, counting launches; hashes of every image around it."""
    before = digest(images)
    launches: list[int] = []
    killed: list[str] = []
    real_launch, real_inspect = guestfs_session.launch, batch.inspect_in

    def counting_launch(drives, settings):
        launches.append(len(drives))
        return real_launch(drives, settings)

    def dying_inspect(g, snap, *args, **kwargs):
        if snap.id == "T/die" and not killed:
            killed.append(snap.id)
            os.kill(g.get_pid(), signal.SIGKILL)
            time.sleep(0.5)
        return real_inspect(g, snap, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(guestfs_session, "launch", counting_launch)
        mp.setattr(batch, "inspect_in", dying_inspect)
        start = time.monotonic()
        result = list(inspect_snapshots(snapshots, guestfs_session.Settings(), batch_size=BATCH,
                                        snapshot_timeout=300))
        seconds = time.monotonic() - start
    good = sum(len(j.good) for j in map(batch.prepare, snapshots))
    return {"by_id": {i.snapshot_id: i for i in result}, "order": [i.snapshot_id for i in result],
            "launches": launches, "killed": killed, "seconds": seconds, "before": before,
            "after": digest(images), "planned": math.ceil(good / BATCH)}

"""Build the lab: base disks in one appliance launch, then one launch per day of snapshots.

Day 1 snapshots are Full (standalone qcow2 copies of the base disks); later days are
qcow2 overlays on the same disk of the node's previous snapshot that held it, or a Full
copy when the node captures that disk for the first time. Each day's images are opened
writable in one appliance to write that day's changes (and, on NODE2 day 2, the damage).
The build goes to a hidden sibling folder renamed into place at the end, so a crashed
build never looks complete.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from pathlib import Path

from autoverify.guestfs_session import Drive, Settings, appliance
from autoverify.lab import content, disks, manifest, ntfs_damage
from autoverify.lab.disks import LabError
from autoverify.lab.hives import write_node_hives
from autoverify.lab.scenario import (
    CLUSTERS,
    CORRUPTED,
    Disk,
    SnapshotPlan,
    all_disks,
    snapshot_plans,
)

log = logging.getLogger(__name__)
BUILDER_VERSION = "2"


def _volume_name(disk: Disk) -> str:
    """Name a data disk's files are derived from (stable, per disk)."""
    for cluster in CLUSTERS:
        for vol in cluster.volumes:
            if vol.disk.key == disk.key:
                return content.cluster_volume_name(vol)
    return disk.key


def _node_of_os_disk(disk: Disk):
    for cluster in CLUSTERS:
        for node in cluster.nodes:
            if node.os_disk.key == disk.key:
                return cluster, node
    return None


def _build_bases(base: Path, settings: Settings) -> dict[str, Path]:
    """Partition, format and fill every distinct disk once (one appliance launch)."""
    base.mkdir(parents=True)
    targets = list(all_disks())
    paths = {d.key: disks.partition_raw(d, base / f"{d.key}.raw") for d in targets}
    with appliance([Drive(str(paths[d.key]), "raw", readonly=False) for d in targets], settings) as g:
        devices = g.list_devices()
        for disk, dev in zip(targets, devices, strict=True):
            disks.format_disk(g, dev, disk)
            owner = _node_of_os_disk(disk)
            if owner:
                cluster, node = owner
                hives = write_node_hives(base / "hives" / node.name, cluster, node)
                files = content.os_files(cluster, node, hives)
            else:
                files = content.volume_files(_volume_name(disk))
            disks.write_files(g, f"{dev}{disk.data.number}", files)
    return paths


def _make_images(root: Path, plans: list[SnapshotPlan], bases: dict[str, Path]) -> list[tuple[SnapshotPlan, Disk, Path]]:
    """Create the images of `plans` (Full copies or overlays); returns (plan, disk, image) in order."""
    last: dict[tuple[str, str], Path] = {}  # (node, disk key) -> newest image
    for plan in snapshot_plans():  # by node, then day: a later day overrides an earlier one
        if plan.day >= plans[0].day:
            continue
        for i, disk in enumerate(plan.disks):
            last[(plan.node.name, disk.key)] = root / manifest.disk_path(plan, i)
    made = []
    for plan in plans:
        folder = root / "store" / plan.id
        folder.mkdir(parents=True, exist_ok=True)
        for i, disk in enumerate(plan.disks):
            image = root / manifest.disk_path(plan, i)
            previous = last.get((plan.node.name, disk.key))
            if previous:
                disks.qcow2_overlay(previous, image)
            else:
                disks.qcow2_full(bases[disk.key], image)
            made.append((plan, disk, image))
        (folder / "snapshot.json").write_text(json.dumps(manifest.snapshot_json(plan), indent=2) + "\n")
    return made


def _is_corrupted(plan: SnapshotPlan, disk: Disk) -> bool:
    return (plan.node.name == CORRUPTED["node"] and plan.day == CORRUPTED["day"]
            and any(v.name == CORRUPTED["volume"] and v.disk.key == disk.key for v in plan.volumes))


def _damage(g, dev: str, plan: SnapshotPlan, index: int, disk: Disk) -> dict:
    """Corrupt the volume on `dev` (unmounted) and check it still mounts; returns the manifest entry."""
    patches = ntfs_damage.plan_damage(lambda off, n: g.pread_device(dev, n, off),
                                      content.DAMAGED_FILE.rsplit("/", 1)[1], content.BITMAP_FILE.rsplit("/", 1)[1])
    for p in patches:
        g.pwrite_device(dev, p.data, p.offset)
    g.sync()
    g.mount_ro(dev, "/")  # the damaged volume must still mount
    g.umount("/")
    rec = next(p for p in patches if p.what == "file-record")
    bit = next(p for p in patches if p.what == "bitmap")
    return {"snapshot": plan.id, "disk": index, "partition_number": disk.data.number, "offset": disk.data.start,
            "volume": CORRUPTED["volume"], "damage": [p.what for p in patches],
            "record": rec.record, "path": content.DAMAGED_FILE, "bitmap_lcn": bit.lcn,
            "bitmap_path": content.BITMAP_FILE}


def _write_day(day_images: list[tuple[SnapshotPlan, Disk, Path]], settings: Settings) -> list[dict]:
    """Write one day's changes into its images (one launch); returns corruption entries."""
    corrupted = []
    with appliance([Drive(str(img), "qcow2", readonly=False) for _, _, img in day_images], settings) as g:
        for (plan, disk, _), dev in zip(day_images, g.list_devices(), strict=True):
            part = f"{dev}{disk.data.number}"
            if disk.key == plan.node.os_disk.key:
                disks.write_files(g, part, content.os_changes(plan.node, plan.day))
            else:
                disks.write_files(g, part, content.volume_changes(_volume_name(disk), plan.day))
            if _is_corrupted(plan, disk):
                corrupted.append(_damage(g, part, plan, plan.disks.index(disk), disk))
    return corrupted


def build_into(root: Path, settings: Settings) -> Path:
    """Build the whole lab into the empty folder `root`; returns its manifest path."""
    started = time.monotonic()
    bases = _build_bases(root / "base", settings)
    log.info("base disks ready after %.0f s", time.monotonic() - started)
    plans = snapshot_plans()
    corrupted: list[dict] = []
    for day in (1, 2, 3):
        made = _make_images(root, [p for p in plans if p.day == day], bases)
        if day > 1:
            corrupted += _write_day(made, settings)
        log.info("day %d snapshots ready after %.0f s", day, time.monotonic() - started)
    shutil.rmtree(root / "base")
    return manifest.write_manifest(root / "manifest.json", manifest.manifest(BUILDER_VERSION, corrupted))


def is_complete(folder: Path) -> bool:
    """True when `folder` holds a finished lab of this builder version."""
    try:
        data = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return data.get("builder_version") == BUILDER_VERSION and (folder / "store").is_dir()


def _looks_like_lab(folder: Path) -> bool:
    return (folder / "manifest.json").exists() or (folder / "store").is_dir()


def build_lab(dir: Path, force: bool = False, settings: Settings | None = None) -> Path:
    """Build the sample lab in `dir` unless it already holds a complete one; returns DIR/manifest.json.

    Concurrent calls for the same DIR (parallel test sessions) wait on a lock file next to
    it; the later one then finds the lab complete.
    """
    dir = Path(dir).absolute()
    if not force and is_complete(dir):
        return dir / "manifest.json"
    try:
        dir.parent.mkdir(parents=True, exist_ok=True)
        lock = open(dir.parent / f".{dir.name}.lock", "w")  # noqa: SIM115 - held for the whole build
    except OSError as exc:
        raise LabError(f"cannot build the lab in {dir}: {exc.strerror or exc}.") from exc
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and is_complete(dir):
            return dir / "manifest.json"
        return _build_locked(dir, settings)


def _build_locked(dir: Path, settings: Settings | None) -> Path:
    if dir.exists() and any(dir.iterdir()) and not _looks_like_lab(dir):
        raise LabError(f"{dir} is not empty and holds no lab; choose an empty or new folder.")
    tmp = dir.parent / f".{dir.name}.building-{os.getpid()}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        build_into(tmp, settings or Settings())
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise LabError(f"cannot build the lab in {dir}: {exc.strerror or exc}.") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = dir.parent / f".{dir.name}.old-{os.getpid()}"
    if dir.exists():
        dir.rename(old)
    tmp.rename(dir)
    shutil.rmtree(old, ignore_errors=True)
    return dir / "manifest.json"

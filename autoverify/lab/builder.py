"""Build the lab in ONE appliance launch: every (node, disk) history is a raw image written day by day.

Host tools partition and format each raw image (sgdisk, mkntfs, mkfs.vfat); the appliance
(guestfs_session, images writable: they are ours, not evidence) writes day 1's files, then
each later day's changes on the disks a node holds that day, and on NODE2 day 2 damages
Volume1. After each day the host captures the snapshots of that day (capture.py): a Full
qcow2 the first time a node holds a disk, else a qcow2 overlay (relative backing path) on
the node's previous image of that disk holding only the changed clusters. The build goes
to a hidden sibling folder renamed into place at the end, so a crashed build never looks
complete; a lock file serialises concurrent builds of the same folder.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autoverify.guestfs_session import Drive, Settings, appliance
from autoverify.lab import capture, content, disks, manifest, ntfs_damage
from autoverify.lab.disks import LabError
from autoverify.lab.hives import write_node_hives
from autoverify.lab.scenario import CORRUPTED, Cluster, Disk, Node, SnapshotPlan, day_iso, snapshot_plans

log = logging.getLogger(__name__)
BUILDER_VERSION = "3"


@dataclass(frozen=True)
class Lineage:
    """One node's copy of one disk through time (a qcow2 chain in the store)."""

    cluster: Cluster
    node: Node
    disk: Disk
    volume_name: str  # what the disk's files are named after

    @property
    def key(self) -> str:
        return f"{self.node.name}.{self.disk.key}"

    @property
    def is_os(self) -> bool:
        return self.disk.key == self.node.os_disk.key


def lineages() -> list[Lineage]:
    out: dict[str, Lineage] = {}
    for plan in snapshot_plans():
        names = {v.disk.key: content.cluster_volume_name(v) for v in plan.volumes}
        for disk in plan.disks:
            lin = Lineage(plan.cluster, plan.node, disk, names.get(disk.key, disk.data.label))
            out.setdefault(lin.key, lin)
    return list(out.values())


def _mtime(day: int) -> int:
    """File times of a day's writes: an hour before that day's snapshot (deterministic)."""
    return int(datetime.fromisoformat(day_iso(day)).timestamp()) - 3600


def _files(lin: Lineage, day: int, work: Path) -> content.Files:
    if day == 1 and lin.is_os:
        hives = write_node_hives(work / "hives" / lin.node.name, lin.cluster, lin.node)
        return content.os_files(lin.cluster, lin.node, hives)
    if day == 1:
        return content.volume_files(lin.volume_name)
    if lin.is_os:
        return content.os_changes(lin.node, day)
    return content.volume_changes(lin.volume_name, day)


def _is_corrupted(plan: SnapshotPlan, disk: Disk) -> bool:
    return (plan.node.name == CORRUPTED["node"] and plan.day == CORRUPTED["day"]
            and any(v.name == CORRUPTED["volume"] and v.disk.key == disk.key for v in plan.volumes))


def _damage(g, dev: str, plan: SnapshotPlan, disk: Disk) -> dict:
    """Corrupt the (unmounted) volume on `dev`, check it still mounts; returns the manifest entry."""
    patches = ntfs_damage.plan_damage(lambda off, n: g.pread_device(dev, n, off),
                                      content.DAMAGED_FILE.rsplit("/", 1)[1], content.BITMAP_FILE.rsplit("/", 1)[1])
    for p in patches:
        g.pwrite_device(dev, p.data, p.offset)
    g.sync()
    g.mount_ro(dev, "/")  # the damaged volume must still mount
    g.umount("/")
    rec = next(p for p in patches if p.what == "file-record")
    bit = next(p for p in patches if p.what == "bitmap")
    return {"snapshot": plan.id, "disk": plan.disks.index(disk), "partition_number": disk.data.number,
            "offset": disk.data.start, "volume": CORRUPTED["volume"], "damage": [p.what for p in patches],
            "record": rec.record, "path": content.DAMAGED_FILE, "bitmap_lcn": bit.lcn,
            "bitmap_path": content.BITMAP_FILE}


def _capture_day(root: Path, work: Path, day: int, last: dict[str, Path]) -> None:
    """Write the store folders of `day`: images (Full or overlay) and snapshot.json."""
    for plan in (p for p in snapshot_plans() if p.day == day):
        folder = root / "store" / plan.id
        folder.mkdir(parents=True)
        for i, disk in enumerate(plan.disks):
            key = f"{plan.node.name}.{disk.key}"
            image, state, memo = root / manifest.disk_path(plan, i), work / f"{key}.raw", work / f"{key}.memo"
            if key in last:
                n = capture.capture_incremental(state, image, memo, last[key])
                log.debug("%s disk%d: %d changed clusters", plan.id, i, n)
            else:
                capture.capture_full(state, image, memo)
            last[key] = image
        (folder / "snapshot.json").write_text(json.dumps(manifest.snapshot_json(plan), indent=2) + "\n")


def build_into(root: Path, settings: Settings) -> Path:
    """Build the whole lab into the empty folder `root`; returns its manifest path."""
    started = time.monotonic()
    work = root / "work"
    work.mkdir()
    lins = lineages()
    for lin in lins:
        disks.format_raw(lin.disk, disks.partition_raw(lin.disk, work / f"{lin.key}.raw"))
    plans = snapshot_plans()
    held = {(p.node.name, d.key, p.day) for p in plans for d in p.disks}
    corrupted: list[dict] = []
    last: dict[str, Path] = {}
    with appliance([Drive(str(work / f"{lin.key}.raw"), "raw", readonly=False) for lin in lins], settings) as g:
        log.info("appliance up after %.0f s", time.monotonic() - started)
        devices = dict(zip((lin.key for lin in lins), g.list_devices(), strict=True))
        for day in (1, 2, 3):
            for lin in lins:
                if day > 1 and (lin.node.name, lin.disk.key, day) not in held:
                    continue  # the node does not hold this disk today: its copy does not change
                dev = f"{devices[lin.key]}{lin.disk.data.number}"
                disks.write_files(g, dev, _files(lin, day, work), work / "files.tar", _mtime(day))
                plan = next(p for p in plans if p.node.name == lin.node.name and p.day == day)
                if _is_corrupted(plan, lin.disk):
                    corrupted.append(_damage(g, dev, plan, lin.disk))
            g.sync()
            _capture_day(root, work, day, last)
            log.info("day %d captured after %.0f s", day, time.monotonic() - started)
    shutil.rmtree(work)
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
    if dir.exists() and not dir.is_dir():
        raise LabError(f"{dir} is a file, not a folder; choose an empty or new folder.")
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

"""Fixtures of the lab's tests: one read-only appliance over the disks they look into."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from autoverify.guestfs_session import Drive, Settings, appliance

if os.environ.get("AUTOVERIFY_LAB_DIR"):

    @pytest.fixture(scope="session")
    def lab_dir() -> Path:
        """A lab built by hand (`autoverify lab build DIR`), to check it without rebuilding."""
        return Path(os.environ["AUTOVERIFY_LAB_DIR"])


def newest(manifest: dict, node: str) -> dict:
    return [s for s in manifest["snapshots"] if s["node"] == node][-1]


def snapshot(manifest: dict, snap_id: str) -> dict:
    return next(s for s in manifest["snapshots"] if s["id"] == snap_id)


def extract_partition(image: Path, offset: int, size: int, dest: Path) -> Path:
    """Copy one partition of a qcow2 chain to a raw file through `qemu-nbd --read-only` and libnbd.

    (No kernel nbd device and no host mount; `qemu-img dd skip=` is broken when count= is given.)
    """
    import nbd

    h = nbd.NBD()
    h.connect_systemd_socket_activation(["qemu-nbd", "--read-only", "-f", "qcow2", str(image)])
    try:
        with open(dest, "wb") as out:
            for at in range(0, size, 1 << 22):
                out.write(h.pread(min(1 << 22, size - at), offset + at))
    finally:
        h.shutdown()
    return dest


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@pytest.fixture(scope="session")
def lab_images(lab_dir: Path, manifest: dict):
    """Hashes of every lab image; on teardown, fails if a test changed one."""
    paths = sorted(lab_dir.glob("store/*/*/*.qcow2"))
    before = {p: sha256(p) for p in paths}
    yield paths
    changed = [str(p) for p in paths if sha256(p) != before[p]]
    assert not changed, f"tests modified lab images: {changed}"


@pytest.fixture(scope="session")
def lab_guest(lab_dir: Path, manifest: dict, lab_images):
    """One read-only appliance: every node's newest OS disk, NODE1's newest Volume1, the corrupted volume.

    Yields (g, devices) where devices maps "<snapshot id>#<disk index>" to the guestfs device.
    """
    wanted = [(newest(manifest, n)["id"], 0) for c in manifest["clusters"] for n in c["nodes"]]
    wanted.append(("NODE1/2026-11-23T0100", 1))
    bad = manifest["corrupted"][0]
    wanted.append((bad["snapshot"], bad["disk"]))
    drives = [Drive(str(lab_dir / snapshot(manifest, sid)["disks"][i]), "qcow2") for sid, i in wanted]
    with appliance(drives, Settings()) as g:
        yield g, {f"{sid}#{i}": dev for (sid, i), dev in zip(wanted, g.list_devices(), strict=True)}

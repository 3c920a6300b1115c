"""`autoverify inspect` on a raw MBR disk with two NTFS partitions; exit 3 when nothing is readable; time limit."""

from __future__ import annotations

import json
import time

from images import TWO_NTFS, digest

from autoverify.cli.main import main
from autoverify.discovery import disk_image
from autoverify.guestfs_session import Settings
from autoverify.inspection import batch
from autoverify.models import Snapshot


def test_inspect_two_ntfs_partitions(images, capsys):
    before = digest(images)
    assert main(["inspect", str(images / "two_ntfs.raw"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"os", "volumes", "cluster", "errors"} and doc["os"] is None and doc["cluster"] is None
    keys = {"device", "partition_number", "offset", "size", "filesystem", "label", "volume_guid", "drive_letters",
            "mount_paths", "bootable", "encrypted", "compressed", "total_bytes", "used_bytes", "free_bytes", "csv_id"}
    assert all(keys <= set(v) for v in doc["volumes"])
    got = [(v["partition_number"], v["offset"], v["size"], v["filesystem"], v["label"]) for v in doc["volumes"]]
    assert got == [(n, s * 512, (e - s + 1) * 512, "ntfs", label) for n, (s, e, label) in enumerate(TWO_NTFS, 1)]
    assert [e["check"] for e in doc["errors"]] == ["inspect.no-os"]
    assert digest(images) == before


def test_inspect_nothing_readable_exits_3(images, capsys):
    assert main(["inspect", str(images / "zero.raw"), str(images / "tiny.img")]) == 3
    out = capsys.readouterr().out
    assert "zero.raw: the disk image is an empty (zero-byte) file." in out
    assert "tiny.img: the disk image format is unknown" in out and "Traceback" not in out


def test_snapshot_time_limit_stops_one_snapshot(images, monkeypatch):
    real = batch.inspect_in
    started: list[float] = []

    def slow(g, snap, *args, **kwargs):
        if snap.id == "T/slow":
            started.append(time.monotonic())
            g.sleep(120)
        return real(g, snap, *args, **kwargs)

    monkeypatch.setattr(batch, "inspect_in", slow)
    snaps = [Snapshot(id=sid, system="T", taken_at="", kind="Full", disks=(disk_image(images / "two_ntfs.raw"),))
             for sid in ("T/next", "T/slow")]
    next_insp, slow_insp = batch.run_batch([batch.prepare(s) for s in snaps], Settings(), timeout=8)
    assert time.monotonic() - started[0] < 60  # stopped at its limit, not after the 120 s it asked for
    (f,) = slow_insp.errors
    assert f.check == "inspect.timeout" and f.message.startswith("Snapshot T/slow: inspection took longer than")
    assert [v.label for v in next_insp.volumes] == ["First", "Second"] and not next_insp.errors[1:]

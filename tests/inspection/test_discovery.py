"""Discovery: formats from content, the store layout, snapshot.json, backing chains (qemu-img only, no appliance)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from autoverify.discovery import detect_format, discover
from autoverify.errors import ImageError


def qemu_img(*args: str, cwd: Path) -> None:
    subprocess.run(["qemu-img", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture()
def images(tmp_path) -> Path:
    for fmt in ("qcow2", "vmdk", "vhdx"):
        qemu_img("create", "-q", "-f", fmt, f"disk.{fmt}", "8M", cwd=tmp_path)
    qemu_img("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", "flat.vmdk", "8M", cwd=tmp_path)
    (tmp_path / "disk.raw").write_bytes(b"\0" * 4096)
    (tmp_path / "qcow2-named.raw").write_bytes((tmp_path / "disk.qcow2").read_bytes())
    (tmp_path / "zero.img").write_bytes(b"")
    (tmp_path / "tiny.img").write_bytes(b"abc")
    (tmp_path / "old.vhd").write_bytes(b"conectix" + bytes(1000))
    return tmp_path


@pytest.mark.parametrize(("name", "fmt"), [
    ("disk.qcow2", "qcow2"), ("disk.vmdk", "vmdk"), ("flat.vmdk", "vmdk"), ("disk.vhdx", "vhdx"),
    ("disk.raw", "raw"), ("qcow2-named.raw", "qcow2"), ("zero.img", "unknown"), ("tiny.img", "unknown"),
    ("old.vhd", "unknown"), ("missing.img", "unknown"),
])
def test_detect_format_reads_content_not_names(images, name, fmt):
    assert detect_format(images / name) == fmt


def make_store(root: Path) -> None:
    full = root / "NODE1" / "2026-11-21T0100"
    inc = root / "NODE1" / "2026-11-22T0100"
    other = root / "NODE2" / "snapA"
    for d in (full, inc, other):
        d.mkdir(parents=True)
    qemu_img("create", "-q", "-f", "qcow2", "disk0.qcow2", "16M", cwd=full)
    (full / "disk1.raw").write_bytes(b"\0" * 65536)
    qemu_img("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "../2026-11-21T0100/disk0.qcow2", "disk0.qcow2",
             cwd=inc)
    qemu_img("create", "-q", "-f", "qcow2", "b.qcow2", "16M", cwd=other)
    qemu_img("create", "-q", "-f", "qcow2", "a.qcow2", "16M", cwd=other)
    (other / "notes.txt").write_text("not a disk")
    (other / "snapshot.json").write_text(json.dumps({"time": "2026-11-23T05:30:00Z", "type": "Full",
                                                     "cluster": "CSVNodes", "disks": ["b.qcow2", "a.qcow2"]}))
    (root / "NODE3" / "empty").mkdir(parents=True)


def test_discover_store_layout(tmp_path):
    make_store(tmp_path)
    snaps = discover(tmp_path)
    assert [s.id for s in snaps] == ["NODE1/2026-11-21T0100", "NODE1/2026-11-22T0100", "NODE2/snapA"]
    full, inc, other = snaps
    assert (full.kind, full.taken_at, full.cluster) == ("Full", "2026-11-21T01:00:00+00:00", None)
    assert [(Path(d.path).name, d.format, d.size) for d in full.disks] == [("disk0.qcow2", "qcow2", 16 << 20),
                                                                          ("disk1.raw", "raw", 65536)]
    assert inc.kind == "Incremental"
    assert inc.disks[0].backing_chain == (str(tmp_path / "NODE1" / "2026-11-21T0100" / "disk0.qcow2"),)
    assert (other.taken_at, other.kind, other.cluster) == ("2026-11-23T05:30:00+00:00", "Full", "CSVNodes")
    assert [Path(d.path).name for d in other.disks] == ["b.qcow2", "a.qcow2"]
    assert discover(tmp_path) == snaps  # stable: the same ids on every run


def test_missing_backing_file_is_kept_in_the_chain(tmp_path):
    make_store(tmp_path)
    base = tmp_path / "NODE1" / "2026-11-21T0100" / "disk0.qcow2"
    base.unlink()
    inc = next(s for s in discover(tmp_path) if s.id == "NODE1/2026-11-22T0100")
    assert inc.disks[0].backing_chain == (str(base),)
    assert inc.disks[0].size == 16 << 20


def test_missing_store_is_one_sentence(tmp_path):
    with pytest.raises(ImageError, match="snapshot store folder does not exist"):
        discover(tmp_path / "nope")

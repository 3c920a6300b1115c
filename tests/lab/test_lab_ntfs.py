"""The corruption: Debian's ntfsresize calls NODE2's day-2 Volume1 inconsistent and every other copy clean."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from autoverify.lab import ntfs_damage
from tests.lab.conftest import extract_partition

VOLUME1_COPIES = ["NODE1/2026-11-21T0100", "NODE2/2026-11-22T0100", "NODE1/2026-11-23T0100"]


@pytest.fixture(scope="module")
def volume1_raw(lab_dir: Path, manifest: dict, lab_images, tmp_path_factory) -> dict[str, Path]:
    """Each snapshot's copy of Volume1 as a raw volume file (through qemu-img: no host mount, no nbd device)."""
    out = {}
    for sid in VOLUME1_COPIES:
        snap = next(s for s in manifest["snapshots"] if s["id"] == sid)
        vol = next(v for v in snap["volumes"] if v["csv_name"] == "Volume1")
        dest = tmp_path_factory.mktemp("vol1") / "volume1.raw"
        out[sid] = extract_partition(lab_dir / snap["disks"][vol["disk"]], vol["offset"], vol["size"], dest)
    return out


def _ntfsresize(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["ntfsresize", "-i", "-f", str(path)], capture_output=True, text=True, check=False)


def test_manifest_names_one_corruption(manifest):
    assert [(c["snapshot"], c["volume"], c["offset"]) for c in manifest["corrupted"]] == [
        ("NODE2/2026-11-22T0100", "Volume1", 135266304)]


@pytest.mark.parametrize("sid", VOLUME1_COPIES)
def test_ntfsresize_verdict(volume1_raw, manifest, sid):
    done = _ntfsresize(volume1_raw[sid])
    if sid == manifest["corrupted"][0]["snapshot"]:
        assert done.returncode != 0, done.stdout + done.stderr
    else:
        assert done.returncode == 0, done.stdout + done.stderr


def test_damage_is_where_the_manifest_says(volume1_raw, manifest):
    """Our own reader sees the broken fixup of the named record and the cleared $Bitmap bit."""
    bad = manifest["corrupted"][0]
    data = volume1_raw[bad["snapshot"]].read_bytes()
    vol = ntfs_damage.Volume(lambda off, n: data[off:off + n])
    with pytest.raises(ntfs_damage.NtfsLayoutError, match="fixup"):
        vol.record(bad["record"])
    bitmap = ntfs_damage.runlist(ntfs_damage.unnamed_data(vol.record(6)))
    lcn = bad["bitmap_lcn"]
    assert not data[vol.stream_offset(bitmap, lcn >> 3)] & (1 << (lcn & 7))

    clean = volume1_raw["NODE1/2026-11-21T0100"].read_bytes()
    cvol = ntfs_damage.Volume(lambda off, n: clean[off:off + n])
    assert ntfs_damage.file_name(cvol.record(bad["record"])) == Path(bad["path"]).name
    assert clean[cvol.stream_offset(bitmap, lcn >> 3)] & (1 << (lcn & 7))


def test_runlist_decoding():
    """Runs with a negative delta and a sparse run, as NTFS encodes them."""
    attr = bytearray(0x40)
    attr[8] = 1  # non-resident
    attr[0x20:0x22] = (0x30).to_bytes(2, "little")
    attr[0x30:] = bytes([0x21, 0x10, 0x00, 0x01, 0x11, 0x05, 0xF0, 0x01, 0x08, 0x00]) + bytes(6)
    assert ntfs_damage.runlist(bytes(attr)) == [(256, 16), (240, 5)]


def test_not_ntfs_is_a_clear_error():
    with pytest.raises(ntfs_damage.NtfsLayoutError, match="NTFS signature"):
        ntfs_damage.geometry(bytes(512))

"""`autoverify chkdsk` end to end: a volume inside a GPT or MBR disk, behind a qcow2 overlay read
through qemu-nbd + libnbd; exit codes 0/4/8; the images are never written; no qemu-nbd left over."""

from __future__ import annotations

import json
import os
import struct
import subprocess
from pathlib import Path

import pytest

from autoverify.cli.main import main
from autoverify.readers import find_partition, open_reader
from checks.ntfs_patch import sparse_sha256

MIB = 1 << 20


def qemu_nbd_children() -> list[int]:
    me, out = os.getpid(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if "(qemu-nbd)" in stat and int(stat.rsplit(")", 1)[1].split()[1]) == me:
            out.append(int(pid))
    return out


def disk_with(volume: Path, disk: Path, table: str) -> Path:
    """A sparse disk image holding `volume` as partition 1 at 1 MiB (GPT via sgdisk, or a hand-made MBR)."""
    size = volume.stat().st_size
    with open(disk, "wb") as fh:
        fh.truncate(size + 2 * MIB)
    if table == "gpt":
        subprocess.run(["sgdisk", "-n", f"1:2048:+{size // 512}", "-t", "1:0700", str(disk)], check=True,
                       capture_output=True)
    else:
        entry = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x07, b"\0\0\0", 2048, size // 512)
        with open(disk, "r+b") as fh:
            fh.seek(0x1BE)
            fh.write(entry)
            fh.seek(510)
            fh.write(b"\x55\xaa")
    subprocess.run(["dd", f"if={volume}", f"of={disk}", "bs=1M", "seek=1", "conv=notrunc,sparse", "status=none"],
                   check=True)
    return disk


def chkdsk(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["chkdsk", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.appliance
@pytest.mark.parametrize("table", ["gpt", "mbr"])
def test_partition_behind_a_qcow2_overlay(small_image, tmp_path, capsys, table):
    disk = disk_with(small_image, tmp_path / "disk.raw", table)
    overlay = tmp_path / "overlay.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(disk), "-F", "raw", str(overlay)],
                   check=True)
    hashes = (sparse_sha256(disk), sparse_sha256(overlay), sparse_sha256(small_image))
    with open_reader(str(overlay)) as r:
        assert find_partition(r, 1) == (MIB, small_image.stat().st_size)
    code, out = chkdsk(capsys, str(overlay), "--partition", "1")
    assert (code, out["status"], out["findings"]) == (0, "clean", [])
    assert out["stats"]["mft_records"] > 3000
    code, out = chkdsk(capsys, str(disk), "--offset", str(MIB))
    assert (code, out["status"]) == (0, "clean")
    assert main(["chkdsk", str(disk)]) == 8
    assert "partitioned disk, not a volume: check it with --partition N (NTFS partitions: 1)" in \
        capsys.readouterr().err
    assert (sparse_sha256(disk), sparse_sha256(overlay), sparse_sha256(small_image)) == hashes
    assert qemu_nbd_children() == []


@pytest.mark.appliance
def test_exit_codes_and_sentences(small_image, volume_copy, tmp_path, capsys):
    vol = volume_copy()
    vol.write(vol.geo.total_sectors * vol.geo.bytes_per_sector, bytes(512))  # backup boot sector gone
    code, out = chkdsk(capsys, str(vol.path))
    assert code == 4 and [f["check"] for f in out["findings"]] == ["ntfs.boot-backup"]
    assert out["findings"][0]["severity"] == "error"
    text = tmp_path / "text.img"
    text.write_bytes(b"not a file system\n" * 100_000)
    for bad, needle in ((tmp_path / "missing.img", "missing.img"), (text, "Not an NTFS volume")):
        assert main(["chkdsk", str(bad)]) == 8
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert main(["chkdsk", str(small_image), "--partition", "1"]) == 8
    assert "bare volume" in capsys.readouterr().err
    vol.write(3, b"-FVE-FS-")
    assert main(["chkdsk", str(vol.path)]) == 8
    assert "encrypted (BitLocker), cannot be checked offline" in capsys.readouterr().err


@pytest.mark.appliance
def test_text_output_names_the_culprit(volume_copy, capsys):
    vol = volume_copy()
    rn = vol.lookup("d000/file_00001_with_a_longer_name.txt")
    vol.patch_record(rn, 0x12, struct.pack("<H", 9))
    assert main(["chkdsk", str(vol.path)]) == 4
    out = capsys.readouterr().out
    assert f"ntfs.link-count record {rn} \\d000\\file_00001_with_a_longer_name.txt" in out
    assert "errors (" in out.splitlines()[-1]

"""Disk images for the inspection tests, built with ONE writable appliance and cached by source hash.

Good disks: a raw MBR disk with two labelled NTFS partitions; a Windows node (GPT system
disk with hives, agent config, CSV mount points, a BitLocker partition) plus its CSV disk
as a qcow2 overlay on a raw base. Bad disks: zero-byte, random bytes, a truncated qcow2,
a qcow2 whose backing file is gone, a tiny file, an LDM disk, Windows volumes whose
SYSTEM hive is missing / truncated.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

import hivegen as hg  # noqa: E402

from autoverify.guestfs_session import Drive, Settings, appliance  # noqa: E402

CACHE = Path(os.environ.get("AUTOVERIFY_TEST_CACHE", "/var/tmp/autoverify-test-cache"))
MiB = 1 << 20
SYS_DISK_GUID = "6e0c1b4a-2f3d-4a51-9b7e-0123456789ab"
SYS_PART_GUID = "1b3e4c2d-5a6f-4b70-8c91-a2b3c4d5e6f7"
BL_PART_GUID = "2c4f5d3e-6b70-4c81-9da2-b3c4d5e6f708"
CSV_DISK_GUID = "41a4e9d6-472e-4777-ad08-953687110317"
CSV_PART_GUID = "d18f9c25-88c9-4d67-bf2f-d88492bb3952"
OTHER_CSV_DISK = "e62f2b36-b735-43fd-8b8f-d854a9147f13"
OTHER_CSV_VOL = "1eb6da91-3a19-4751-ba7d-dac7a214e31c"
CSV_RESOURCE_GROUP = "0f0e0d0c-0b0a-4909-8807-060504030201"
CSV_OFFSET = 135266304
BASIC_DATA = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
MSR = "E3C9E316-0B5C-4DB8-817D-F92DF00215AE"
TWO_NTFS = [(2048, 67583, "First"), (67584, 133119, "Second")]  # sectors (start, end inclusive), label


def cmd_exe() -> bytes:
    """A PE32+ x86-64 header: enough for libguestfs to call the system 64-bit Windows."""
    dos = bytearray(64)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, 64)
    coff = struct.pack("<HHIIIHH", 0x8664, 0, 0, 0, 0, 240, 0x22)
    return bytes(dos) + b"PE\0\0" + coff + struct.pack("<H", 0x20B) + bytes(238)


def mount_point(volume_guid: str) -> bytes:
    target = f"\\??\\Volume{{{volume_guid}}}\\".encode("utf-16-le")
    body = struct.pack("<HHHH", 0, len(target), len(target) + 2, 0) + target + b"\0\0" + b"\0\0"
    return struct.pack("<IHH", 0xA0000003, len(body), 0) + body


def system_hive(path: Path, host: str) -> Path:
    md = {"\\DosDevices\\C:": hg.gpt_value(SYS_PART_GUID), f"\\??\\Volume{{{SYS_PART_GUID}}}": hg.gpt_value(SYS_PART_GUID),
          "\\DosDevices\\L:": hg.gpt_value(CSV_PART_GUID), f"\\??\\Volume{{{CSV_PART_GUID}}}": hg.gpt_value(CSV_PART_GUID),
          "\\DosDevices\\D:": hg.device_value("\\??\\IDE#CdRomQEMU_DVD-ROM#5&1&0&1.0.0#{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}")}
    return hg.write_hive(path, {
        "Select": {"Current": hg.dword(1)}, "MountedDevices": md,
        "ControlSet001": {"Control": {"ComputerName": {"ComputerName": {"ComputerName": hg.sz(host)}}},
                          "Services": {"Tcpip": {"Parameters": {"Hostname": hg.sz(host)}}}}})


def software_hive(path: Path) -> Path:
    return hg.write_hive(path, {"Microsoft": {"Windows NT": {"CurrentVersion": {
        "ProductName": hg.sz("Windows Server 2019 Standard"), "CurrentVersion": hg.sz("6.3"),
        "CurrentMajorVersionNumber": hg.dword(10), "CurrentMinorVersionNumber": hg.dword(0),
        "CurrentBuildNumber": hg.sz("17763"), "CurrentBuild": hg.sz("17763"),
        "InstallationType": hg.sz("Server"), "EditionID": hg.sz("ServerStandard")}}}})


def clusdb_hive(path: Path) -> Path:
    def disk(name: str, disk_guid: str, vol_guid: str, letters: int) -> dict:
        return {"Name": hg.sz(name), "Type": hg.sz("Physical Disk"), "Parameters": {
            "DiskIdType": hg.dword(1), "DiskIdGuid": hg.sz("{" + disk_guid.upper() + "}"),
            "DiskVolumeInfo": hg.volume_info([(CSV_OFFSET, 32 * MiB, 2, letters, vol_guid)])}}
    return hg.write_hive(path, {
        "ClusterName": hg.sz("TESTCL"),
        "Nodes": {"1": {"NodeName": hg.sz("TNODE1")}, "2": {"NodeName": hg.sz("TNODE2")}},
        "Groups": {CSV_RESOURCE_GROUP: {"Name": hg.sz("Cluster Shared Volume"), "GroupType": hg.dword(4),
                                        "Contains": hg.multi_sz([CSV_DISK_GUID, OTHER_CSV_DISK])}},
        "Resources": {CSV_DISK_GUID: disk("Cluster Disk 2", CSV_DISK_GUID, CSV_PART_GUID, 1 << 11),
                      OTHER_CSV_DISK: disk("Cluster Disk 3", OTHER_CSV_DISK, OTHER_CSV_VOL, 0)}}, root="CLUSTER")


def _windows_tree(g, dev: str, hives: Path, system: str | None, agent: bool) -> None:
    """Windows folders, hives (system: 'ok' | 'missing' | 'truncated'), agent config, CSV mount points."""
    g.mount(dev, "/")
    for d in ("/Windows/System32/config", "/Windows/Cluster", "/Program Files/Axcient/Replibit Agent",
              "/ClusterStorage/Volume1", "/ClusterStorage/Volume2"):
        g.mkdir_p(d)
    g.write("/Windows/System32/cmd.exe", cmd_exe())
    g.upload(str(software_hive(hives / "SOFTWARE")), "/Windows/System32/config/SOFTWARE")
    sys_hive = system_hive(hives / "SYSTEM", "TNODE1")
    if system == "ok":
        g.upload(str(sys_hive), "/Windows/System32/config/SYSTEM")
    elif system == "truncated":
        cut = hives / "SYSTEM.cut"
        cut.write_bytes(sys_hive.read_bytes()[:6000])
        g.upload(str(cut), "/Windows/System32/config/SYSTEM")
    g.upload(str(clusdb_hive(hives / "CLUSDB")), "/Windows/Cluster/CLUSDB")
    if agent:
        g.write("/Program Files/Axcient/Replibit Agent/aristos.cfg", b"SERVER=bdr.example\r\nENABLE_CSV=true\r\n")
    for name, vguid in (("Volume1", CSV_PART_GUID), ("Volume2", OTHER_CSV_VOL)):
        _set_reparse(g, f"/ClusterStorage/{name}", mount_point(vguid))
    g.umount_all()


def _set_reparse(g, path: str, data: bytes) -> None:
    """Make `path` a mount point. The Python binding's setxattr takes str only, so use setfattr in the
    appliance (debug sh); when that is unavailable the folder stays plain (inspection then names CSVs by order)."""
    try:
        g.debug("sh", [f"setfattr -n system.ntfs_reparse_data -v 0x{data.hex()} '/sysroot{path}'"])
    except RuntimeError as exc:
        print(f"images: no mount point at {path} ({exc})", file=sys.stderr)


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def _build(d: Path) -> None:
    """Write every image into `d` with one writable appliance (these are test inputs, not evidence)."""
    hives = d / "hives"
    hives.mkdir()
    raws = {n: _sparse(d / f"{n}.raw", s) for n, s in (("two_ntfs", 72 * MiB), ("win_sys", 80 * MiB),
                                                      ("csv_base", 170 * MiB), ("ldm", 16 * MiB),
                                                      ("nohive", 24 * MiB), ("badhive", 24 * MiB))}
    with appliance([Drive(str(p), "raw", readonly=False) for p in raws.values()], Settings(accel="auto")) as g:
        two, win, csv, ldm, nohive, badhive = g.list_devices()
        g.part_init(two, "mbr")
        for start, end, _label in TWO_NTFS:
            g.part_add(two, "p", start, end)
        for n, (_s, _e, label) in enumerate(TWO_NTFS, 1):
            g.mkfs("ntfs", f"{two}{n}", label=label)
        g.part_init(win, "gpt")
        g.part_set_disk_guid(win, SYS_DISK_GUID)
        g.part_add(win, "p", 2048, 2048 + 48 * 2048 - 1)
        g.part_add(win, "p", 2048 + 48 * 2048, 2048 + 72 * 2048 - 1)
        for n, guid in ((1, SYS_PART_GUID), (2, BL_PART_GUID)):
            g.part_set_gpt_type(win, n, BASIC_DATA)
            g.part_set_gpt_guid(win, n, guid)
            g.mkfs("ntfs", f"{win}{n}", label="System" if n == 1 else "Secret")
        g.pwrite_device(f"{win}2", b"-FVE-FS-", 3)
        _windows_tree(g, f"{win}1", hives, "ok", agent=True)
        g.part_init(csv, "gpt")
        g.part_set_disk_guid(csv, CSV_DISK_GUID)
        g.part_add(csv, "p", 2048, CSV_OFFSET // 512 - 1)
        g.part_add(csv, "p", CSV_OFFSET // 512, CSV_OFFSET // 512 + 32 * 2048 - 1)
        g.part_set_gpt_type(csv, 1, MSR)
        g.part_set_gpt_type(csv, 2, BASIC_DATA)
        g.part_set_gpt_guid(csv, 2, CSV_PART_GUID)
        g.mkfs("ntfs", f"{csv}2", label="Vol1")
        g.part_init(ldm, "mbr")
        g.part_add(ldm, "p", 63, 16 * 2048 - 1)
        g.part_set_mbr_id(ldm, 1, 0x42)
        for dev, state in ((nohive, "missing"), (badhive, "truncated")):
            g.part_disk(dev, "mbr")
            g.mkfs("ntfs", f"{dev}1", label="Broken")
            _windows_tree(g, f"{dev}1", hives, state, agent=False)
    qemu = ["qemu-img", "create", "-q", "-f", "qcow2", "-F"]
    subprocess.run([*qemu, "raw", "-b", "csv_base.raw", "csv_overlay.qcow2"], cwd=d, check=True)
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", "two_ntfs.raw", "full.qcow2"], cwd=d,
                   check=True)
    data = (d / "full.qcow2").read_bytes()
    (d / "truncated.qcow2").write_bytes(data[: len(data) // 2])
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", "gone.raw", "16M"], cwd=d, check=True)
    subprocess.run([*qemu, "raw", "-b", "gone.raw", "orphan.qcow2"], cwd=d, check=True)
    (d / "gone.raw").unlink()
    (d / "zero.raw").write_bytes(b"")
    (d / "garbage.img").write_bytes(random.Random(4).randbytes(4 * MiB))
    (d / "tiny.img").write_bytes(b"x" * 100)
    (d / "old.vhd").write_bytes(b"conectix" + bytes(600))


BUILD_VERSION = "1"  # bump when _build changes what it writes (a rebuild takes minutes under TCG)


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file in `folder`: images must be byte-identical after inspection."""
    out = {}
    for f in sorted(folder.iterdir()):
        if f.is_file():
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            out[f.name] = h.hexdigest()
    return out


def source_key() -> str:
    h = hashlib.sha256(BUILD_VERSION.encode())
    for f in (Path(hg.__file__), Path(hg.write_empty_hive.__code__.co_filename)):
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def build_images() -> Path:
    """The images folder (built once per source version, reused across sessions)."""
    d = CACHE / f"inspect-{source_key()}"
    if (d / ".complete").exists():
        return d
    tmp = d.with_name(d.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _build(tmp)
    (tmp / ".complete").write_text(str(uuid.uuid4()))
    shutil.rmtree(d, ignore_errors=True)
    tmp.rename(d)
    return d


if __name__ == "__main__":
    print(build_images())

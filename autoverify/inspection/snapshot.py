"""Inspect one snapshot whose disks are already drives of a launched appliance.

Every failure here becomes a Finding on the Inspection; nothing in a bad image may raise.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

from autoverify.inspection import mapping, volumes, windows
from autoverify.inspection.findings import disk_finding
from autoverify.models import ClusterInfo, Finding, Inspection, LetterAssignment, OsInfo, Snapshot, Volume
from autoverify.registry import HiveError, decode_clusdb, decode_mounted_devices, os_info
from autoverify.registry.hive import hostname, open_hive

HIVE_PATHS = {"SYSTEM": "Windows\\System32\\config\\SYSTEM", "SOFTWARE": "Windows\\System32\\config\\SOFTWARE",
              "CLUSDB": "Windows\\Cluster\\CLUSDB"}


def _where(v: Volume) -> str:
    return f"partition {v.partition_number} (offset {v.offset})" if v.partition_number else "the whole-disk volume"


def _layout_findings(snap: Snapshot, layouts: list[volumes.DiskLayout]) -> list[Finding]:
    out = []
    for lay in layouts:
        disk = snap.disks[lay.index]
        if not lay.readable:
            out.append(disk_finding("inspect.unreadable", snap, disk, "the disk holds neither a partition table "
                                    "nor a filesystem (garbage, wiped, or not a disk image)."))
        if lay.ldm:
            out.append(disk_finding("inspect.ldm", snap, disk, "it is a dynamic (LDM) disk; its volumes are not "
                                    "inspected or checked offline.", remedy="Convert it to a basic disk."))
        for v in lay.volumes:
            if v.encrypted:
                out.append(disk_finding("ntfs.bitlocker", snap, disk, f"{_where(v)} is BitLocker-encrypted: "
                                        "encrypted, not checked offline.", volume=v.device))
    return out


def _hive_problem(name: str, exc: HiveError) -> str:
    reason = str(exc).split(": ", 1)[-1]
    return f"the {name} hive ({HIVE_PATHS[name]}) is unreadable: {reason}"


def _decode(snap: Snapshot, sysvol: Volume, sv: windows.SystemVolume
            ) -> tuple[OsInfo | None, tuple[LetterAssignment, ...], ClusterInfo | None, list[Finding]]:
    """Our own decoding of the downloaded hives; each bad hive is one inspect.hive finding."""
    disk, problems = snap.disks[sysvol.disk_index], []
    for name in sv.missing:
        problems.append(f"the {name} hive ({HIVE_PATHS[name]}) is missing")
    os_, letters, cluster, host = None, (), None, ""
    if "SYSTEM" in sv.hives:
        try:
            letters = decode_mounted_devices(sv.hives["SYSTEM"])
            host = hostname(open_hive(sv.hives["SYSTEM"])) or host
        except HiveError as exc:
            problems.append(_hive_problem("SYSTEM", exc))
    if "SOFTWARE" in sv.hives:
        try:
            os_ = replace(os_info(sv.hives["SOFTWARE"]), hostname=host, system_volume=sysvol.device)
        except HiveError as exc:
            problems.append(_hive_problem("SOFTWARE", exc))
    if "CLUSDB" in sv.hives:
        try:
            cluster = decode_clusdb(sv.hives["CLUSDB"])
        except HiveError as exc:
            problems.append(_hive_problem("CLUSDB", exc))
    findings = [disk_finding("inspect.hive", snap, disk, f"on the Windows volume, {_where(sysvol)}, {p}.",
                             volume=sysvol.device) for p in problems]
    return os_, letters, cluster, findings


def inspect_in(g, snap: Snapshot, devices: dict[int, str], pre: tuple[Finding, ...] = ()) -> Inspection:
    """Inspect `snap`, whose disk i is guestfs device devices[i] (disks left out have a finding in `pre`)."""
    start = time.monotonic()
    layouts = [volumes.read_disk(g, i, dev) for i, dev in sorted(devices.items())]
    findings = [*pre, *_layout_findings(snap, layouts)]
    vols = tuple(v for lay in layouts for v in lay.volumes)
    system_devices = [d for lay in layouts for d in lay.windows]
    sysvol = next((v for v in vols if system_devices and v.device == system_devices[0]), None)
    os_, letters, cluster, enable_csv = None, (), None, None
    if sysvol is None:
        if devices:
            names = ", ".join(Path(snap.disks[i].path).name for i in sorted(devices))
            findings.append(disk_finding("inspect.no-os", snap, None,
                                         f"no Windows installation was found on its disk(s) {names}."))
    else:
        with tempfile.TemporaryDirectory(prefix="autoverify-hives-") as tmp:
            g.mount_ro(sysvol.device, "/")
            try:
                sv = windows.read_system_volume(g, sysvol.device, Path(tmp))
            finally:
                g.umount_all()
            os_, letters, cluster, hive_findings = _decode(snap, sysvol, sv)
        findings += hive_findings
        enable_csv = sv.enable_csv
        vols = tuple(replace(v, bootable=True) if v.device == sysvol.device else v for v in vols)
        vols = mapping.apply_mounted_devices(vols, letters)
        if cluster:
            vols, cluster = mapping.apply_cluster(vols, cluster, sv.csv_folders)
    return Inspection(snapshot_id=snap.id, os=os_, volumes=vols, mounted_devices=letters, cluster=cluster,
                      enable_csv=enable_csv, errors=tuple(findings), seconds=round(time.monotonic() - start, 2))

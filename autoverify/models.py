"""Plain frozen dataclasses passed between pipeline stages.

Discovery yields `Snapshot`s; inspection turns one into an `Inspection`; checks and
the audit yield `Finding`s. Field types are plain (str, int, bool, tuples) so the
store and the templates need no adapters (`dataclasses.asdict` is enough).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "error", "critical")  # mildest first
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
ATTACHED = "Attached"  # CsvVolume/ClusterDisk status: its disk is in this snapshot


# The finding-id check of the registry. autoverify/findings.py installs it when imported, and the
# package imports findings, so it is in place before any Finding is made (models stays a leaf).
_id_guards: list[Callable[[str], None]] = []


def install_id_guard(guard: Callable[[str], None]) -> None:
    """Check every Finding's id with `guard` (autoverify/findings.py installs the registry's)."""
    if guard not in _id_guards:
        _id_guards.append(guard)


def severity_rank(severity: str) -> int:
    """0 (info) .. 3 (critical); an unknown severity ranks as a warning (never hidden, never failing)."""
    return SEVERITY_RANK.get(severity, SEVERITY_RANK["warning"])


@dataclass(frozen=True)
class Finding:
    """One thing a stage found wrong (or could not do), in words an MSP engineer reads."""

    check: str  # an id declared in autoverify/findings.py, e.g. "ntfs.mft-bitmap", "csv-no-letter"
    severity: str  # one of SEVERITIES
    message: str  # one plain sentence naming the culprit
    snapshot_id: str | None = None
    disk: str | None = None  # image path (as stored) of the disk concerned
    volume: str | None = None  # "C:", "Volume1", a volume GUID, ...
    node: str | None = None
    record: int | None = None  # NTFS file record number
    path: str | None = None  # path inside the volume, when known
    remedy: str | None = None

    def __post_init__(self) -> None:
        for guard in _id_guards:
            guard(self.check)


@dataclass(frozen=True)
class DiskImage:
    """One disk file of a snapshot; the format comes from the file's content."""

    path: str  # absolute path
    format: str  # "raw" | "qcow2" | "vmdk" | "vhdx" | "unknown"
    size: int  # virtual size in bytes (0 when unreadable)
    backing_chain: tuple[str, ...] = ()  # absolute paths of backing files, nearest first


@dataclass(frozen=True)
class Snapshot:
    """A snapshot in the store: a set of disk images of one protected system at one time."""

    id: str  # "<system>/<snapshot dir name>", stable across runs
    system: str  # protected system (node) name as the store names it
    taken_at: str  # ISO 8601, UTC
    kind: str  # "Full" | "Incremental"
    disks: tuple[DiskImage, ...]
    cluster: str | None = None
    path: str = ""  # the snapshot directory


@dataclass(frozen=True)
class OsInfo:
    product_name: str
    version: str  # "10.0", "6.1", ...
    major: int
    minor: int
    build: str
    hostname: str
    installation_type: str  # "Server", "Client", "" when unknown
    edition: str = ""
    system_volume: str = ""  # guestfs device of C:, e.g. /dev/sda3


@dataclass(frozen=True)
class LetterAssignment:
    """One decoded `MountedDevices` value (a drive letter or a \\??\\Volume{GUID})."""

    name: str  # "C" for \\DosDevices\\C:, "{guid}" for \\??\\Volume{guid}, raw name otherwise
    kind: str  # "gpt" | "mbr" | "device" | "unknown"
    partition_guid: str | None = None  # gpt, lower-case, no braces
    disk_signature: str | None = None  # mbr, "0x5cbea03e"
    offset: int | None = None  # mbr partition byte offset
    device: str | None = None  # device path


@dataclass(frozen=True)
class Volume:
    """One partition/volume as the vendor's Volumes pane shows it, plus where it lives."""

    disk_index: int  # index of the disk in Snapshot.disks
    device: str  # guestfs device, e.g. /dev/sdb2
    partition_number: int  # 0 for a whole-disk filesystem
    offset: int  # byte offset in the disk
    size: int
    filesystem: str  # "ntfs", "vfat", "CSVFS" is never used: CSVs are NTFS on disk
    label: str
    volume_guid: str | None  # lower-case, no braces
    partition_guid: str | None = None  # GPT unique partition GUID
    disk_guid: str | None = None  # GPT disk GUID
    mbr_signature: str | None = None  # "0x...."
    drive_letters: tuple[str, ...] = ()  # ("C",)
    mount_paths: tuple[str, ...] = ()  # ("C:\\ClusterStorage\\Volume1",)
    bootable: bool = False
    encrypted: bool = False  # BitLocker
    compressed: bool = False
    total_bytes: int | None = None
    used_bytes: int | None = None
    free_bytes: int | None = None
    csv_id: str | None = None  # "<disk id>:<offset>" for a CSV
    csv_name: str | None = None  # "Volume1"


@dataclass(frozen=True)
class CsvVolume:
    """A CSV volume of the cluster database (the vendor's Cluster Shared Volumes pane)."""

    name: str  # "Volume1"
    csv_id: str  # "<disk id>:<offset>"
    disk_name: str  # "Cluster Disk 2"
    disk_id: str  # GPT disk GUID or MBR signature
    offset: int
    partition_number: int
    volume_guid: str  # lower-case, no braces
    status: str  # ATTACHED (its disk is in this snapshot) | "Online"
    label: str = ""

    @property
    def volume_name(self) -> str:
        return "\\\\?\\Volume{" + self.volume_guid + "}"


@dataclass(frozen=True)
class ClusterDisk:
    """A Physical Disk resource of the cluster database."""

    resource_id: str
    name: str  # "Cluster Disk 1"
    disk_id: str
    disk_id_type: str  # "gpt" | "mbr"
    is_csv: bool
    group: str = ""  # owning group/role name
    status: str = "Online"  # "Attached" | "Online"
    volume_guids: tuple[str, ...] = ()
    letters: tuple[str, ...] = ()  # from DiskVolumeInfo's letter mask


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    nodes: tuple[str, ...]
    disks: tuple[ClusterDisk, ...]
    csv_volumes: tuple[CsvVolume, ...]
    shared_volumes_root: str = "C:\\ClusterStorage"

    def attached_csvs(self) -> tuple[CsvVolume, ...]:
        """The CSVs this snapshot holds (their disk is in it): the vendor's CSV column and "Last backup"."""
        return tuple(c for c in self.csv_volumes if c.status == ATTACHED)


def attached_csv_names(cluster: ClusterInfo | None) -> tuple[str, ...]:
    """Sorted names of the CSVs a snapshot holds; () when inspection found no cluster."""
    return tuple(sorted(c.name for c in cluster.attached_csvs())) if cluster else ()


@dataclass(frozen=True)
class Inspection:
    """What offline inspection saw in one snapshot."""

    snapshot_id: str
    os: OsInfo | None
    volumes: tuple[Volume, ...]
    mounted_devices: tuple[LetterAssignment, ...] = ()
    cluster: ClusterInfo | None = None
    enable_csv: bool | None = None  # aristos.cfg ENABLE_CSV=true; None when no agent config found
    errors: tuple[Finding, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True)
class CheckResult:
    """Verdict of one volume consistency check (the chkdsk-equivalent)."""

    status: str  # "clean" | "errors" | "unchecked"
    findings: tuple[Finding, ...] = ()
    mft_records: int = 0
    seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

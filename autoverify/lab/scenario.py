"""The lab scenario of docs/design.md as data: clusters, nodes, disks, GUIDs, letters, history.

Everything else in autoverify/lab reads this module, so the manifest (the truth) and the
images (the evidence) cannot disagree. GUIDs the design does not fix are uuid5 of a name,
so every build gets the same ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

MIB = 1024 * 1024
CSV_OFFSET = 135266304  # 129 MiB: data partition after a 128 MiB MSR at 1 MiB
_NAMESPACE = uuid.UUID("6f1d2a8e-3c5b-4b7e-9a41-0c2d8e7f5a10")

DAYS = ("2026-11-21T0100", "2026-11-22T0100", "2026-11-23T0100")  # snapshot folder names
AGENT_CONFIG_PATH = "Program Files/Axcient/Replibit Agent/aristos.cfg"  # inside C:
SHARED_VOLUMES_ROOT = "C:\\ClusterStorage"


def fixed_guid(name: str) -> str:
    """A stable GUID for a lab object the design leaves open."""
    return str(uuid.uuid5(_NAMESPACE, name))


def day_iso(day: int) -> str:
    """ISO 8601 UTC time of day 1..3 (01:00Z)."""
    return f"2026-11-{20 + day}T01:00:00+00:00"


@dataclass(frozen=True)
class Partition:
    number: int
    kind: str  # "efi" | "msr" | "data"
    start: int  # bytes
    size: int  # bytes
    guid: str  # GPT unique partition GUID = volume GUID
    filesystem: str = ""  # "ntfs" | "vfat" | "" (MSR)
    label: str = ""
    serial: int = 0  # NTFS volume serial / FAT volume id


@dataclass(frozen=True)
class Disk:
    """A GPT disk the lab builds; `key` names its base image."""

    key: str
    disk_guid: str
    size: int
    partitions: tuple[Partition, ...]

    @property
    def data(self) -> Partition:
        return self.partitions[-1]


@dataclass(frozen=True)
class OsSpec:
    product_name: str
    current_version: str  # "6.3" on 2012 R2 and later, "6.1" on 2008 R2
    build: str
    major: int | None  # CurrentMajorVersionNumber; None before 2016
    minor: int | None
    edition: str = "ServerStandard"
    installation_type: str = "Server"

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}" if self.major is not None else self.current_version


@dataclass(frozen=True)
class ClusterVolume:
    """A cluster Physical Disk resource with one data volume: a CSV or a role's shared disk."""

    name: str  # CSV: "Volume1"; shared disk: its disk name
    disk_name: str  # "Cluster Disk 2"
    disk: Disk
    is_csv: bool
    letters_by_node: dict[str, tuple[str, ...]]
    group: str

    @property
    def resource_id(self) -> str:
        return self.disk.disk_guid  # docs/design.md: resource id = disk GUID

    @property
    def csv_id(self) -> str | None:
        return f"{self.resource_id}:{self.disk.data.start}" if self.is_csv else None


@dataclass(frozen=True)
class Node:
    name: str
    cluster: str
    os: OsSpec
    enable_csv: bool
    os_disk: Disk
    local_disks: tuple[tuple[Disk, str], ...] = ()  # (disk, letter) of local data disks


@dataclass(frozen=True)
class Cluster:
    name: str
    nodes: tuple[Node, ...]
    volumes: tuple[ClusterVolume, ...]  # CSVs first, then shared disks
    history: dict[str, tuple[tuple[str, ...], ...]]  # node -> per day, names of cluster volumes held
    remediation: dict[str, str]

    @property
    def csvs(self) -> tuple[ClusterVolume, ...]:
        return tuple(v for v in self.volumes if v.is_csv)

    @property
    def shared_disks(self) -> tuple[ClusterVolume, ...]:
        return tuple(v for v in self.volumes if not v.is_csv)


def _serial(name: str) -> int:
    return uuid.uuid5(_NAMESPACE, "serial:" + name).int & 0xFFFF_FFFF_FFFF_FFFF


def os_disk(node: str) -> Disk:
    """OS disk: EFI 32 MiB (FAT), MSR 16 MiB, C: NTFS; 256 MiB sparse."""
    g = fixed_guid
    return Disk(f"{node}-os", g(f"{node}/os-disk"), 256 * MIB, (
        Partition(1, "efi", 1 * MIB, 32 * MIB, g(f"{node}/efi"), "vfat", "SYSTEM", _serial(f"{node}/efi") & 0xFFFFFFFF),
        Partition(2, "msr", 33 * MIB, 16 * MIB, g(f"{node}/msr")),
        Partition(3, "data", 49 * MIB, 206 * MIB, g(f"{node}/C"), "ntfs", "", _serial(f"{node}/C")),
    ))


def data_disk(key: str, disk_guid: str, volume_guid: str, label: str, size_mib: int = 96) -> Disk:
    """A cluster-style data disk: MSR 128 MiB at 1 MiB, NTFS partition 2 at 135266304."""
    return Disk(key, disk_guid, CSV_OFFSET + (size_mib + 1) * MIB, (
        Partition(1, "msr", 1 * MIB, 128 * MIB, fixed_guid(f"{key}/msr")),
        Partition(2, "data", CSV_OFFSET, size_mib * MIB, volume_guid, "ntfs", label, _serial(key)),
    ))


WS2019 = OsSpec("Windows Server 2019 Standard", "6.3", "17763", 10, 0)
WS2008R2 = OsSpec("Windows Server 2008 R2 Standard", "6.1", "7601", None, None)

VOLUME1 = data_disk("csv-volume1", "41a4e9d6-472e-4777-ad08-953687110317",
                    "d18f9c25-88c9-4d67-bf2f-d88492bb3952", "Vol1")
VOLUME2 = data_disk("csv-volume2", "e62f2b36-b735-43fd-8b8f-d854a9147f13",
                    "1eb6da91-3a19-4751-ba7d-dac7a214e31c", "Vol2")
SHARE = data_disk("share", fixed_guid("CSVNodes/Cluster Disk 1"), fixed_guid("CSVNodes/Cluster Disk 1/volume"),
                  "Share", 64)
NODE2_DATA = data_disk("NODE2-data", fixed_guid("NODE2/data-disk"), fixed_guid("NODE2/data-volume"), "Data", 64)
LEGACY_CSV = data_disk("legacy-csv", fixed_guid("LEGACY/Cluster Disk 1"), fixed_guid("LEGACY/Cluster Disk 1/volume"),
                       "LegacyCSV", 64)

CSVNODES = Cluster(
    name="CSVNodes",
    nodes=(
        Node("NODE1", "CSVNodes", WS2019, True, os_disk("NODE1")),
        Node("NODE2", "CSVNodes", WS2019, True, os_disk("NODE2"), ((NODE2_DATA, "M"),)),
        Node("NODE3", "CSVNodes", WS2019, False, os_disk("NODE3")),
    ),
    volumes=(
        ClusterVolume("Volume1", "Cluster Disk 2", VOLUME1, True, {"NODE1": ("L",), "NODE2": ("L",), "NODE3": ("M",)},
                      "Cluster Disk 2"),
        ClusterVolume("Volume2", "Cluster Disk 3", VOLUME2, True, {"NODE1": (), "NODE2": (), "NODE3": ()},
                      "Cluster Disk 3"),
        ClusterVolume("Cluster Disk 1", "Cluster Disk 1", SHARE, False,
                      {"NODE1": ("S",), "NODE2": ("S",), "NODE3": ("S",)}, "FileServer-FS1"),
    ),
    history={
        "NODE1": (("Volume1", "Volume2", "Cluster Disk 1"), ("Cluster Disk 1",), ("Volume1", "Cluster Disk 1")),
        "NODE2": ((), ("Volume1", "Volume2"), ("Volume2",)),
        "NODE3": ((), (), ()),
    },
    remediation={"Volume1": "L", "Volume2": "D"},
)

LEGACY = Cluster(
    name="LEGACY",
    nodes=(Node("OLDNODE1", "LEGACY", WS2008R2, True, os_disk("OLDNODE1")),),
    volumes=(ClusterVolume("Volume1", "Cluster Disk 1", LEGACY_CSV, True, {"OLDNODE1": ()}, "Cluster Disk 1"),),
    history={"OLDNODE1": (("Volume1",),) * 3},
    remediation={},
)

CLUSTERS = (CSVNODES, LEGACY)

# NODE2's day-2 copy of Volume1 is the one corrupted (docs/design.md "Lab scenario").
CORRUPTED = {"node": "NODE2", "day": 2, "volume": "Volume1", "cluster": "CSVNodes"}


@dataclass(frozen=True)
class SnapshotPlan:
    """One snapshot to build: its node, day, and disks in order (OS, CSVs, shared disks, local disks)."""

    cluster: Cluster
    node: Node
    day: int  # 1..3
    volumes: tuple[ClusterVolume, ...]  # cluster volumes held

    @property
    def id(self) -> str:
        return f"{self.node.name}/{DAYS[self.day - 1]}"

    @property
    def kind(self) -> str:
        return "Full" if self.day == 1 else "Incremental"

    @property
    def disks(self) -> tuple[Disk, ...]:
        return ((self.node.os_disk,) + tuple(v.disk for v in self.volumes)
                + tuple(d for d, _ in self.node.local_disks))


def snapshot_plans() -> tuple[SnapshotPlan, ...]:
    """All 12 snapshots, by cluster, node, day."""
    plans = []
    for cluster in CLUSTERS:
        for node in cluster.nodes:
            for day in (1, 2, 3):
                held = set(cluster.history[node.name][day - 1])
                plans.append(SnapshotPlan(cluster, node, day, tuple(v for v in cluster.volumes if v.name in held)))
    return tuple(plans)


def all_disks() -> tuple[Disk, ...]:
    """Every distinct disk of the lab (each gets one base image)."""
    seen: dict[str, Disk] = {}
    for plan in snapshot_plans():
        for disk in plan.disks:
            seen.setdefault(disk.key, disk)
    return tuple(seen.values())

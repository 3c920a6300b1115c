"""DIR/manifest.json: the written truth of the lab (docs/design.md "manifest.json").

Built from scenario.py alone (plus what the corruption step reports), so tests and the
other stages compare their findings with the same facts the images were made from.
"""

from __future__ import annotations

import json
from pathlib import Path

from autoverify.lab.hives import node_letters
from autoverify.lab.scenario import (
    AGENT_CONFIG_PATH,
    CLUSTERS,
    DAYS,
    SHARED_VOLUMES_ROOT,
    Cluster,
    ClusterVolume,
    SnapshotPlan,
    day_iso,
    snapshot_plans,
)

VERSION = 1
SEVERITY = {"csv-no-letter": "warning", "csv-letter-mismatch": "warning", "csv-letter-partial": "warning",
            "letter-collision": "error", "shared-disk-no-letter": "warning", "enable-csv-missing": "critical",
            "legacy-2008r2-csv": "warning", "csv-never-captured": "warning"}
# (rule, node, volume) a correct letter audit produces on the lab (docs/design.md).
EXPECTED = {
    "CSVNodes": [("csv-no-letter", "NODE1", "Volume2"), ("csv-no-letter", "NODE2", "Volume2"),
                 ("csv-no-letter", "NODE3", "Volume2"), ("csv-letter-mismatch", None, "Volume1"),
                 ("letter-collision", "NODE2", "Volume1"), ("enable-csv-missing", "NODE3", None),
                 ("csv-never-captured", "NODE3", "Volume1"), ("csv-never-captured", "NODE3", "Volume2")],
    "LEGACY": [("legacy-2008r2-csv", "OLDNODE1", "Volume1")],
}


def disk_path(plan: SnapshotPlan, index: int) -> str:
    return f"store/{plan.id}/disk{index}.qcow2"


def _letters(vol: ClusterVolume) -> dict[str, list[str]]:
    return {node: list(letters) for node, letters in vol.letters_by_node.items()}


def _csv(vol: ClusterVolume) -> dict:
    part = vol.disk.data
    return {"name": vol.name, "disk_name": vol.disk_name, "disk_id": vol.disk.disk_guid,
            "resource_id": vol.resource_id, "csv_id": vol.csv_id, "volume_guid": part.guid, "label": part.label,
            "partition_number": part.number, "offset": part.start, "size": part.size,
            "letters_by_node": _letters(vol)}


def _shared_disk(cluster: Cluster, vol: ClusterVolume) -> dict:
    part = vol.disk.data
    owner = next(n for n, days in cluster.history.items() if all(vol.name in d for d in days))
    return {"name": vol.name, "disk_id": vol.disk.disk_guid, "resource_id": vol.resource_id,
            "volume_guid": part.guid, "label": part.label, "partition_number": part.number, "offset": part.start,
            "letters_by_node": _letters(vol), "owner": owner, "group": vol.group}


def seeding(cluster: Cluster) -> dict:
    """Per node: ready when it captured every CSV; base snapshots from the day it had captured all."""
    csvs = [v.name for v in cluster.csvs]
    out = {}
    for node in cluster.nodes:
        seen: set[str] = set()
        bases = []
        for day, held in enumerate(cluster.history[node.name], 1):
            seen |= set(held)
            if all(c in seen for c in csvs):
                bases.append(f"{node.name}/{DAYS[day - 1]}")
        missing = [c for c in csvs if c not in seen]
        out[node.name] = {"ready": not missing, "base_snapshots": bases if not missing else [], "missing": missing}
    return out


def cluster_entry(cluster: Cluster) -> dict:
    return {
        "name": cluster.name, "nodes": [n.name for n in cluster.nodes],
        "os": {n.name: n.os.product_name for n in cluster.nodes},
        "shared_volumes_root": SHARED_VOLUMES_ROOT,
        "csvs": [_csv(v) for v in cluster.csvs],
        "shared_disks": [_shared_disk(cluster, v) for v in cluster.shared_disks],
        "enable_csv": {n.name: n.enable_csv for n in cluster.nodes},
        "expected_findings": [{"rule": r, "severity": SEVERITY[r], "node": n, "volume": v}
                              for r, n, v in EXPECTED[cluster.name]],
        "seeding": seeding(cluster),
        "remediation": dict(cluster.remediation),
    }


def _volumes(plan: SnapshotPlan) -> list[dict]:
    letters: dict[str, list[str]] = {}
    for letter, guid in sorted(node_letters(plan.cluster, plan.node).items()):
        letters.setdefault(guid, []).append(letter)
    by_disk = {v.disk.key: v for v in plan.volumes}
    out = []
    for index, disk in enumerate(plan.disks):
        vol = by_disk.get(disk.key)
        for p in disk.partitions:
            if not p.filesystem:
                continue
            is_csv = bool(vol and vol.is_csv and p is disk.data)
            out.append({
                "disk": index, "partition_number": p.number, "offset": p.start, "size": p.size,
                "filesystem": p.filesystem, "label": p.label, "volume_guid": p.guid, "partition_guid": p.guid,
                "disk_guid": disk.disk_guid, "drive_letters": letters.get(p.guid, []),
                "mount_paths": [f"{SHARED_VOLUMES_ROOT}\\{vol.name}"] if is_csv and vol else [],
                "bootable": index == 0 and p is disk.data, "encrypted": False, "compressed": False,
                "csv_id": vol.csv_id if is_csv and vol else None, "csv_name": vol.name if is_csv and vol else None,
            })
    return out


def disk_names(plan: SnapshotPlan) -> list[str]:
    """A name per disk, in disk order: "OS", the cluster disk's name, or a local disk's label."""
    names = {v.disk.key: v.disk_name for v in plan.volumes}
    names[plan.node.os_disk.key] = "OS"
    return [names.get(d.key, d.data.label) for d in plan.disks]


def snapshot_entry(plan: SnapshotPlan) -> dict:
    os = plan.node.os
    return {
        "id": plan.id, "node": plan.node.name, "cluster": plan.cluster.name,
        "time": day_iso(plan.day), "type": plan.kind,
        "disks": [disk_path(plan, i) for i in range(len(plan.disks))],
        "disk_names": disk_names(plan),
        "csvs": [v.name for v in plan.volumes if v.is_csv],
        "shared_disks": [v.name for v in plan.volumes if not v.is_csv],
        "os": {"product_name": os.product_name, "version": os.version, "major": os.major if os.major is not None
               else int(os.current_version.split(".")[0]),
               "minor": os.minor if os.minor is not None else int(os.current_version.split(".")[1]),
               "build": os.build, "hostname": plan.node.name, "installation_type": os.installation_type,
               "edition": os.edition},
        "enable_csv": plan.node.enable_csv,
        "volumes": _volumes(plan),
    }


def manifest(builder_version: str, corrupted: list[dict]) -> dict:
    return {
        "version": VERSION, "builder_version": builder_version, "store": "store",
        "agent_config_path": AGENT_CONFIG_PATH,
        "clusters": [cluster_entry(c) for c in CLUSTERS],
        "snapshots": [snapshot_entry(p) for p in snapshot_plans()],
        "corrupted": corrupted,
    }


def write_manifest(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def snapshot_json(plan: SnapshotPlan) -> dict:
    """The store's snapshot.json (docs/design.md "Snapshot store layout")."""
    return {"time": day_iso(plan.day), "type": plan.kind, "cluster": plan.cluster.name,
            "disks": [f"disk{i}.qcow2" for i in range(len(plan.disks))]}

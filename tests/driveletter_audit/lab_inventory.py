"""Inventories built straight from the lab's manifest.json (the written truth), not from images.

An independent path to the rules: if the rules give the manifest's expected findings from
these AND from the real inspection of the lab, rules and inspection agree with the truth.
"""

from __future__ import annotations

from driveletter_audit.inventory import CsvRef, LetterUse, NodeInventory, SharedDiskRef, SnapshotRecord


def expected(manifest: dict, cluster: str | None = None) -> set[tuple]:
    return {(f["rule"], f["node"], f["volume"]) for c in manifest["clusters"] if cluster in (None, c["name"])
            for f in c["expected_findings"]}


def found(result) -> set[tuple]:
    return {(f.check, f.node, f.volume) for c in result.clusters for f in c.findings}


def inventories_from_manifest(manifest: dict) -> tuple[NodeInventory, ...]:
    out = []
    for c in manifest["clusters"]:
        csvs = tuple(CsvRef(v["name"], v["csv_id"], v["volume_guid"], v["disk_id"], v["disk_name"]) for v in c["csvs"])
        shared = tuple(SharedDiskRef(d["name"], d["disk_id"], (d["volume_guid"],), d.get("group", ""))
                       for d in c["shared_disks"])
        cluster_guids = {v["volume_guid"] for v in (*c["csvs"], *c["shared_disks"])}
        for node in c["nodes"]:
            snaps = sorted((s for s in manifest["snapshots"] if s["node"] == node), key=lambda s: s["time"])
            newest = snaps[-1]
            letters = [LetterUse(x, "csv", v["name"]) for v in c["csvs"] for x in v["letters_by_node"].get(node, ())]
            letters += [LetterUse(x, "shared", d["name"]) for d in c["shared_disks"]
                        for x in d["letters_by_node"].get(node, ())]
            letters += [LetterUse(x, "local", v["label"] or v["volume_guid"]) for v in newest["volumes"]
                        if v["volume_guid"] not in cluster_guids for x in v["drive_letters"]]
            out.append(NodeInventory(
                node=node, cluster=c["name"], source="manifest", os_product=newest["os"]["product_name"],
                os_version=newest["os"]["version"], os_build=newest["os"]["build"],
                enable_csv=c["enable_csv"][node], letters=tuple(sorted(letters, key=lambda u: u.letter)),
                csvs=csvs, shared_disks=shared,
                history=tuple(SnapshotRecord(s["id"], s["time"], s["type"], tuple(s["csvs"])) for s in snaps)))
    return tuple(out)

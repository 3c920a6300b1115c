"""Acceptance on the lab: findings = manifest's expected findings, seeding, and the remediation plan.

Two independent inventory sources: the manifest itself (the written truth) and the database the
verify pipeline filled by really inspecting the lab's 12 snapshots (`verified_lab`).
"""

from __future__ import annotations

import pytest

from autoverify.store import open_db
from driveletter_audit.audit import audit_clusters
from driveletter_audit.inventory import from_store
from driveletter_audit.remediation import apply_plan
from driveletter_audit.rules import ClusterView
from tests.driveletter_audit.conftest import LAB_NODES
from tests.driveletter_audit.lab_inventory import expected, found, inventories_from_manifest

LETTER_RULES = {"csv-no-letter", "csv-letter-mismatch", "csv-letter-partial", "letter-collision",
                "shared-disk-no-letter"}


@pytest.fixture(scope="module")
def store_inventories(verified_lab):
    _, db_path = verified_lab
    invs = from_store(open_db(db_path))
    assert invs.failures == ()
    return invs.nodes


@pytest.fixture(params=["manifest", "inspected"])
def inventories(request, manifest):
    return inventories_from_manifest(manifest) if request.param == "manifest" else \
        request.getfixturevalue("store_inventories")


def test_findings_equal_the_manifest(inventories, manifest):
    result = audit_clusters(inventories, LAB_NODES)
    assert found(result) == expected(manifest)
    severities = {(f.check, f.node, f.volume): f.severity for c in result.clusters for f in c.findings}
    assert severities == {(f["rule"], f["node"], f["volume"]): f["severity"]
                          for c in manifest["clusters"] for f in c["expected_findings"]}
    assert not result.compliant and not result.could_not_audit


def test_letters_by_node_equal_the_manifest(inventories, manifest):
    result = audit_clusters(inventories, LAB_NODES)
    got = {(c.name, v.name): {n: list(x) for n, x in v.letters_by_node} for c in result.clusters for v in c.volumes}
    assert got == {(c["name"], v["name"]): v["letters_by_node"] for c in manifest["clusters"] for v in c["csvs"]}
    csv_ids = {v.name: v.csv_id for c in result.clusters if c.name == "CSVNodes" for v in c.volumes}
    assert csv_ids == {v["name"]: v["csv_id"] for v in manifest["clusters"][0]["csvs"]}


def test_seeding_names_uncaptured_nodes_csvs_and_base_snapshots(inventories, manifest):
    result = audit_clusters(inventories, LAB_NODES)
    got = {s.node: {"ready": s.ready, "base_snapshots": list(s.base_snapshots), "missing": list(s.missing)}
           for c in result.clusters for s in c.seeding}
    want = {n: v for c in manifest["clusters"] for n, v in c["seeding"].items()}
    assert got == want
    node3 = next(s for c in result.clusters for s in c.seeding if s.node == "NODE3")
    assert node3.steps[0].startswith("add the line ENABLE_CSV=true to aristos.cfg on NODE3")
    assert any("move CSV Volume1 to NODE3" in s and "Move-ClusterSharedVolume -Node 'NODE3'" in s for s in node3.steps)
    assert node3.steps[-1] == "run a backup of NODE3 while it holds Volume1, Volume2"


def test_applying_the_remediation_plan_leaves_no_letter_findings(inventories, manifest):
    result = audit_clusters(inventories, LAB_NODES)
    assert {c.name: dict(c.remediation.targets) for c in result.clusters} == \
        {c["name"]: c["remediation"] for c in manifest["clusters"]}
    fixed = []
    for c in result.clusters:
        fixed += apply_plan(tuple(i for i in inventories if i.cluster == c.name), c.remediation)
    after = audit_clusters(fixed, LAB_NODES)
    assert {f.check for c in after.clusters for f in c.findings} & LETTER_RULES == set()
    assert found(after) == {x for x in expected(manifest) if x[0] not in LETTER_RULES}
    view = ClusterView("CSVNodes", tuple(i for i in fixed if i.cluster == "CSVNodes"))
    assert {n.node: n.letters_of("csv", "Volume2") for n in view.nodes} == {n: ("D",) for n in LAB_NODES["CSVNodes"]}


def test_plan_powershell_per_node(manifest):
    result = audit_clusters(inventories_from_manifest(manifest), LAB_NODES)
    ps = result.clusters[0].remediation.powershell()
    assert set(ps) == {"NODE1", "NODE2", "NODE3"}
    v1, v2 = (v["volume_guid"] for v in manifest["clusters"][0]["csvs"])
    assert ("Get-ClusterSharedVolume -Name 'Cluster Disk 2' | Move-ClusterSharedVolume -Node 'NODE3'\n"
            f"Get-Partition | Where-Object {{ $_.Guid -eq '{{{v1}}}' }} | Set-Partition -NewDriveLetter L") in ps["NODE3"]
    assert f"Get-Partition | Where-Object {{ $_.Guid -eq '{{{v2}}}' }} | Add-PartitionAccessPath -AccessPath 'D:\\'" \
        in ps["NODE1"]
    assert "Volume1" not in ps["NODE1"] and "Volume1" not in ps["NODE2"]  # already L: there
    assert result.clusters[1].remediation.targets == ()  # LEGACY: 2008 R2 cannot letter a CSV

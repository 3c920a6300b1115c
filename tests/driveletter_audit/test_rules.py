"""Each rule on small in-memory inventories (table-driven), and the rule registry itself."""

from __future__ import annotations

import pytest

from driveletter_audit.rules import RULES, SOURCE_FINDINGS, ClusterView, run_rules
from tests.driveletter_audit.small import SHARE, V1, V2, node

CASES = [
    # (case, rule, nodes, expected (node, volume) pairs of that rule)
    ("no letter anywhere", "csv-no-letter", [node("N1", {"C": "sys"}), node("N2")], {("N1", "Volume1"), ("N2", "Volume1")}),
    ("letter on one node: partial, not no-letter", "csv-no-letter", [node("N1", {"L": "Volume1"}), node("N2")], set()),
    ("all lettered", "csv-no-letter", [node("N1", {"L": "Volume1"}), node("N2", {"L": "Volume1"})], set()),
    ("2008 R2 node is not asked for a letter", "csv-no-letter", [node("N1", version="6.1")], set()),
    ("same letter everywhere", "csv-letter-mismatch", [node("N1", {"L": "Volume1"}), node("N2", {"L": "Volume1"})], set()),
    ("letters differ", "csv-letter-mismatch", [node("N1", {"L": "Volume1"}), node("N2", {"M": "Volume1"})], {(None, "Volume1")}),
    ("one node has two letters", "csv-letter-mismatch",
     [node("N1", {"L": "Volume1", "K": "Volume1"}), node("N2", {"L": "Volume1"})], {(None, "Volume1")}),
    ("letter on some nodes only", "csv-letter-partial",
     [node("N1", {"L": "Volume1"}), node("N2"), node("N3", {"L": "Volume1"})], {("N2", "Volume1")}),
    ("no letter at all is not partial", "csv-letter-partial", [node("N1"), node("N2")], set()),
    ("2008 R2 node lacking a letter is not partial", "csv-letter-partial",
     [node("N1", {"L": "Volume1"}), node("N2", version="6.1")], set()),
    ("CSV letter taken by a local volume elsewhere", "letter-collision",
     [node("N1", {"M": "Volume1"}), node("N2", {"M": "Data", "L": "Volume1"})], {("N2", "Volume1")}),
    ("CSV letter taken by another CSV", "letter-collision",
     [node("N1", {"L": "Volume1"}, csvs=(V1, V2)), node("N2", {"L": "Volume2", "K": "Volume1"}, csvs=(V1, V2))],
     {("N2", "Volume1"), ("N1", "Volume2")}),
    ("shared disk letter taken by a local volume", "letter-collision",
     [node("N1", {"S": "Cluster Disk 1"}, shared=(SHARE,)), node("N2", {"S": "Backup"}, shared=(SHARE,))],
     {("N2", "Cluster Disk 1")}),
    ("no collision when letters are free", "letter-collision",
     [node("N1", {"L": "Volume1", "C": "sys"}), node("N2", {"L": "Volume1", "M": "Data"})], set()),
    ("shared disk without letter", "shared-disk-no-letter",
     [node("N1", {"S": "Cluster Disk 1"}, shared=(SHARE,)), node("N2", shared=(SHARE,))], {("N2", "Cluster Disk 1")}),
    ("shared disk lettered everywhere", "shared-disk-no-letter",
     [node("N1", {"S": "Cluster Disk 1"}, shared=(SHARE,)), node("N2", {"S": "Cluster Disk 1"}, shared=(SHARE,))], set()),
    ("ENABLE_CSV false", "enable-csv-missing", [node("N1"), node("N2", enable=False)], {("N2", None)}),
    ("no aristos.cfg at all", "enable-csv-missing", [node("N1", enable=None)], {("N1", None)}),
    ("no CSVs: ENABLE_CSV not needed", "enable-csv-missing", [node("N1", enable=False, csvs=())], set()),
    ("2008 R2 with CSVs", "legacy-2008r2-csv", [node("N1", version="6.1", csvs=(V1, V2))],
     {("N1", "Volume1"), ("N1", "Volume2")}),
    ("2008 R2 without CSVs", "legacy-2008r2-csv", [node("N1", version="6.1", csvs=())], set()),
    ("2012 R2 is not legacy", "legacy-2008r2-csv", [node("N1", version="6.3")], set()),
    ("CSV never in a snapshot of the node", "csv-never-captured",
     [node("N1", csvs=(V1, V2), held=(("Volume1",), ())), node("N2", csvs=(V1, V2), held=((), ("Volume1", "Volume2")))],
     {("N1", "Volume2")}),
    ("node without any snapshot", "csv-never-captured", [node("N1", held=())], {("N1", "Volume1")}),
    ("history unknown (live without database): not applicable", "csv-never-captured", [node("N1", held=None)], set()),
]


@pytest.mark.parametrize(("case", "rule_id", "nodes", "want"), CASES, ids=[c[0] for c in CASES])
def test_rule(case, rule_id, nodes, want):
    view = ClusterView("C1", tuple(nodes))
    got = list(RULES[rule_id].check(view))
    assert {(f.node, f.volume) for f in got} == want
    assert all(f.check == rule_id and f.severity == RULES[rule_id].severity for f in got)
    assert all(f.message.endswith(".") and f.remedy for f in got), "one sentence and a remedy each"


def test_every_rule_registered_documented_and_tested():
    design = {"csv-no-letter": "warning", "csv-letter-mismatch": "warning", "csv-letter-partial": "warning",
              "letter-collision": "error", "shared-disk-no-letter": "warning", "enable-csv-missing": "critical",
              "legacy-2008r2-csv": "warning", "csv-never-captured": "warning"}
    assert {r.id: r.severity for r in RULES.values()} == design
    for r in RULES.values():
        assert len(r.doc) > 40, f"{r.id} needs a docstring saying what it protects against"
    assert {c[1] for c in CASES} == set(RULES), "every rule has table cases"
    for rid, (severity, doc) in SOURCE_FINDINGS.items():
        assert rid not in RULES and severity in ("error", "critical") and doc


def test_a_compliant_cluster_has_no_findings():
    nodes = (node("N1", {"C": "sys", "L": "Volume1", "S": "Cluster Disk 1"}, shared=(SHARE,)),
             node("N2", {"C": "sys", "L": "Volume1", "S": "Cluster Disk 1"}, shared=(SHARE,)))
    assert run_rules(ClusterView("C1", nodes)) == ()

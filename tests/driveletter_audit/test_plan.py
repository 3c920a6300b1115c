"""Remediation targets and seeding readiness on small in-memory inventories."""

from __future__ import annotations

import string

import pytest

from driveletter_audit.remediation import apply_plan, plan_remediation
from driveletter_audit.rules import ClusterView, run_rules
from driveletter_audit.seeding import node_seeding
from tests.driveletter_audit.small import SHARE, V1, V2, node

PLANS = [
    ("most used letter, free everywhere", [node("N1", {"L": "Volume1"}), node("N2", {"L": "Volume1"}),
                                           node("N3", {"M": "Volume1"})], {"Volume1": "L"}),
    ("most used letter taken elsewhere: the next used one", [
        node("N1", {"L": "Volume1"}), node("N2", {"L": "Volume1"}), node("N3", {"M": "Volume1", "L": "Data"})],
     {"Volume1": "M"}),
    ("no usable existing letter: first free from D", [
        node("N1", {"L": "Volume1", "D": "DVD"}), node("N2", {"L": "Data", "E": "Logs"})], {"Volume1": "F"}),
    ("never the letter planned for another CSV", [node("N1", csvs=(V1, V2)), node("N2", csvs=(V1, V2))],
     {"Volume1": "D", "Volume2": "E"}),
    ("only 2008 R2 nodes: no letter possible", [node("N1", version="6.1")], {}),
    ("role disk without a letter on one node", [node("N1", {"S": "Cluster Disk 1"}, csvs=(), shared=(SHARE,)),
                                                node("N2", csvs=(), shared=(SHARE,))], {"Cluster Disk 1": "S"}),
]


@pytest.mark.parametrize(("case", "nodes", "want"), PLANS, ids=[p[0] for p in PLANS])
def test_plan_targets_and_applying_them_fixes_letters(case, nodes, want):
    view = ClusterView("C1", tuple(nodes))
    plan = plan_remediation(view)
    assert dict(plan.targets) == want and plan.unresolved == ()
    after = run_rules(ClusterView("C1", apply_plan(view.nodes, plan)))
    assert {f.check for f in after} & {"csv-no-letter", "csv-letter-mismatch", "csv-letter-partial",
                                       "letter-collision", "shared-disk-no-letter"} == set()


def test_no_free_letter_is_said_not_crashed():
    taken = {x: "Data" for x in string.ascii_uppercase[3:]}
    plan = plan_remediation(ClusterView("C1", (node("N1", taken),)))
    assert plan.targets == () and plan.unresolved == ("no drive letter is free on every node of C1 for Volume1.",)


SEEDING = [
    ("captured over two snapshots: base from the second", (("Volume1",), ("Volume2",), ()), True,
     ("N1/2026-11-22T0100", "N1/2026-11-23T0100"), ()),
    ("all in the first", (("Volume1", "Volume2"), ()), True, ("N1/2026-11-21T0100", "N1/2026-11-22T0100"), ()),
    ("one never captured", (("Volume1",), ("Volume1",)), False, (), ("Volume2",)),
    ("no snapshot at all", (), False, (), ("Volume1", "Volume2")),
]


@pytest.mark.parametrize(("case", "held", "ready", "bases", "missing"), SEEDING, ids=[s[0] for s in SEEDING])
def test_seeding(case, held, ready, bases, missing):
    s = node_seeding(node("N1", csvs=(V1, V2), held=held), (V1, V2))
    assert (s.ready, s.base_snapshots, s.missing) == (ready, bases, missing)
    assert bool(s.steps) is not ready
    if missing:
        assert s.steps[-1].startswith("run a backup of N1 while it holds " + ", ".join(missing))
        assert "ENABLE_CSV" not in " ".join(s.steps)  # it is enabled on this node


def test_seeding_with_unknown_history_says_so():
    s = node_seeding(node("N1", held=None), (V1,))
    assert not s.ready and "history of N1 is unknown" in s.steps[0]

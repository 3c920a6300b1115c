"""The report model read from a lab-shaped database: scoping, statuses, panes, history, changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from autoverify.models import CheckResult, Finding, Inspection, OsInfo, Volume
from autoverify.store import finish_run, register_snapshots, save_verification, start_run
from reports.model import Partner, build_model
from reports.render import render_report
from tests.reports.synthetic import BITLOCKER, NO_LETTER, _snapshot

CONTOSO = Partner("Contoso IT", ("noc@contoso.example",), clusters=("CSVNodes",))
LEGACY = Partner("Legacy Care", ("ops@legacy.example",), systems=("OLDNODE1",))


def model(env, partner=None):
    return build_model(env.db(), title="t", window_days=30, partner=partner)


@pytest.mark.parametrize(("partner", "systems", "clusters"), [
    (None, ["NODE1", "NODE2", "NODE3", "OLDNODE1"], ["CSVNodes", "LEGACY"]),
    (CONTOSO, ["NODE1", "NODE2", "NODE3"], ["CSVNodes"]),
    (LEGACY, ["OLDNODE1"], ["LEGACY"]),
    (Partner("Nobody", ("x@y.example",)), [], []),
])
def test_a_partner_sees_only_its_systems_and_clusters(env, partner, systems, clusters):
    m = model(env, partner)
    assert [s.name for s in m.systems] == systems
    assert [c.name for c in m.clusters] == clusters
    assert {u.system for u in m.unverified} <= set(systems)


def test_statuses_follow_the_newest_copy_of_each_csv(env):
    m = model(env)
    status = {s.name: s for s in m.systems}
    assert status["NODE1"].status == "healthy"
    # NODE2's latest snapshot is clean, but its newest copy of Volume1 (day 2) is corrupt.
    assert status["NODE2"].status == "failed" and "Volume1" in status["NODE2"].why
    assert status["NODE3"].status == "failed" and "cannot be read" in status["NODE3"].why
    assert status["OLDNODE1"].status == "healthy"
    assert m.summary.snapshot_status == {"healthy": 20, "warning": 0, "failed": 2, "pending": 1}
    assert (m.summary.snapshots_verified, m.summary.snapshots_pending) == (22, 1)
    assert m.summary.at_risk[0].startswith(env.facts["failed_snapshot"])
    assert any("ENABLE_CSV" in r for r in m.summary.at_risk)


def test_volumes_and_csv_panes_mirror_the_vendor(env):
    node1 = model(env).systems[0]
    titles = [v.title for v in node1.volumes]
    assert titles == ["\\\\?\\Volume{00000000-0000-4000-8000-000000000001}\\", "C:", "C:\\Recovery\\", "S:", "L:, C:\\ClusterStorage\\Volume1\\ (CSV)"]
    csv = node1.volumes[-1]
    assert (csv.filesystem, csv.csv_id, csv.check_status) == \
        ("CSVFS", "41a4e9d6-472e-4777-ad08-953687110317:135266304", "clean")
    panes = {c.name: c for c in node1.csvs}
    assert panes["Volume1"].status == "Attached" and panes["Volume2"].status == "Online"
    assert panes["Volume1"].volume_name == "\\\\?\\Volume{d18f9c25-88c9-4d67-bf2f-d88492bb3952}"
    assert panes["Volume2"].last_backup < panes["Volume1"].last_backup  # Volume2 only in the Full of day 1
    node3 = model(env).systems[2]
    assert all(c.last_backup is None for c in node3.csvs)  # NODE3 never backed a CSV up


def test_findings_of_a_corrupt_csv_reach_the_snapshot_row(env):
    node2 = model(env).systems[1]
    bad = next(s for s in node2.snapshots if s.id == env.facts["failed_snapshot"])
    assert bad.status == "failed" and bad.csvs == ("Volume1", "Volume2")
    assert [f.check for f in bad.findings] == ["ntfs.record-header", "ntfs.bitmap"]
    assert bad.findings[0].remedy and bad.findings[0].record == 41


def test_history_has_one_cell_per_day_coloured_by_the_worst_snapshot(env):
    node2 = model(env).systems[1]
    assert len(node2.history) == 30 and node2.history[-1].day == datetime.now(UTC).date()
    assert [c.status for c in node2.history[-6:-2]] == ["healthy", "failed", "healthy", "none"]
    assert sum(c.snapshots for c in node2.history) == 3


def test_what_was_not_verified_says_why(env):
    rows = {(u.system, u.reason): u for u in model(env).unverified}
    assert rows[("NODE3", BITLOCKER)].what == "E: (Finance)" and rows[("NODE3", BITLOCKER)].snapshots == 3
    assert rows[("NODE1", NO_LETTER)].what.startswith("C:\\Recovery\\")
    assert rows[("NODE1", "not verified yet")].latest == env.facts["pending_snapshot"]
    assert any(s == "NODE3" and "cannot be read" in r for s, r in rows)
    assert not any("vfat" in r for _, r in rows)  # an EFI system partition is not a data volume
    assert len(rows) == 4


def test_audit_findings_come_worst_first_with_remedies(env):
    csvnodes = model(env, CONTOSO).clusters[0]
    assert len(csvnodes.findings) == 8 and csvnodes.audited_at
    assert [f.severity for f in csvnodes.findings[:2]] == ["critical", "error"]
    assert all(f.remedy for f in csvnodes.findings)
    assert {(f.check, f.node, f.volume) for f in csvnodes.findings} >= {
        ("enable-csv-missing", "NODE3", None), ("csv-letter-mismatch", None, "Volume1")}
    assert csvnodes.letters == (("Volume1", ("L:", "L:", "M:")), ("Volume2", ("", "", "")))
    assert csvnodes.plan == (("Volume1", "L"), ("Volume2", "D"))
    assert [(s.node, s.ready, s.missing) for s in csvnodes.seeding] == [
        ("NODE1", True, ()), ("NODE2", True, ()), ("NODE3", False, ("Volume1", "Volume2"))]
    legacy = model(env, LEGACY).clusters[0]  # stored as the whole audit-letters document
    assert [f.check for f in legacy.findings] == ["legacy-2008r2-csv"] and legacy.nodes == ("OLDNODE1",)


def test_changes_since_the_last_report_of_the_same_partner(env):
    db = env.db()
    assert model(env, CONTOSO).summary.changes[0].startswith("First report")
    render_report(db, env.cfg, CONTOSO)
    finish_run(db, start_run(db, "report"), "ok", {"reports": 2, "sent": 2})  # the scheduler's job row: ignored
    # overnight: NODE1's pending snapshot is verified, with a corrupt C:
    snap = _snapshot("NODE1", "CSVNodes", datetime.fromisoformat(
        next(db.query("select taken_at from snapshots where id = ?", [env.facts["pending_snapshot"]]))["taken_at"]),
        "Incremental", 2)
    register_snapshots(db, [snap])
    vol = Volume(0, "/dev/sda2", 2, 1048576, 60 * 2**30, "ntfs", "", "c0ffee00-0000-4000-8000-000000000002",
                 drive_letters=("C",))
    bad = CheckResult("errors", (Finding("ntfs.record-header", "error", "File record 5 is torn.", volume="C:"),))
    save_verification(db, start_run(db, "verify"), snap, Inspection(snap.id, OsInfo(
        "Windows Server 2019 Standard", "10.0", 10, 0, "17763", "NODE1", "Server"), (vol,)), {"/dev/sda2": bad}, {})
    changes = build_model(db, title="t", partner=CONTOSO).summary.changes
    assert changes[0] == "1 snapshot verified since the last report."
    assert "NODE1: healthy → failed." in changes
    assert build_model(db, title="t", partner=LEGACY).summary.changes[0].startswith("First report")
    assert build_model(db, title="t").summary.changes[0].startswith("First report")  # not the job row


def test_a_partner_owning_some_nodes_of_a_cluster_sees_only_their_audit_findings(env):
    (csvnodes,) = model(env, Partner("N2", ("a@b.example",), systems=("NODE2",))).clusters
    assert csvnodes.nodes == ("NODE2",) and [s.node for s in csvnodes.seeding] == ["NODE2"]
    assert {f.node for f in csvnodes.findings} == {"NODE2"} and len(csvnodes.findings) == 2
    assert csvnodes.letters == (("Volume1", ("L:",)), ("Volume2", ("",)))


def test_the_snapshots_table_keeps_the_newest_rows_and_every_unhealthy_one(env):
    oldnode1 = model(env).systems[3]
    assert len(oldnode1.snapshots) == 13 and oldnode1.shown == oldnode1.snapshots
    db = env.db()
    db.execute("update snapshots set status = 'warning' where id = ?", [oldnode1.snapshots[-1].id])
    view = build_model(db, title="t", table_rows=5).systems[3]
    assert [r.id for r in view.shown] == [r.id for r in view.snapshots[:5]] + [view.snapshots[-1].id]

"""`audit-letters` end to end on the verified lab: exit codes, JSON, text, stored findings, live mode."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from autoverify.cli.main import audit_letters as main
from driveletter_audit.audit import audit_clusters
from driveletter_audit.cli import exit_code
from tests.driveletter_audit.conftest import PASSWORD_ENV, USER_ENV
from tests.driveletter_audit.lab_inventory import expected
from tests.driveletter_audit.small import node


def cli_findings(doc: dict) -> set[tuple]:
    return {(f["rule"], f["node"], f["volume"]) for c in doc["clusters"] for f in c["findings"]}


def test_offline_json_exit_1_and_stored_with_the_audit_time(verified_lab, manifest, capsys):
    config, db = verified_lab
    assert main(["--config", str(config), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert cli_findings(doc) == expected(manifest)
    c = doc["clusters"][0]
    assert {"name", "nodes", "volumes", "findings", "seeding", "remediation"} <= set(c)
    assert set(c["findings"][0]) >= {"rule", "severity", "node", "volume", "message", "remedy"}
    assert c["remediation"]["letters"] == {"Volume1": "L", "Volume2": "D"}
    with sqlite3.connect(db) as con:
        audits = con.execute("select cluster, audited_at, source, compliant, findings, result from letter_audits "
                             "where run_id = (select max(run_id) from letter_audits)").fetchall()
        rows = con.execute("select cluster, check_id, node, volume, created_at from findings where source = 'audit' "
                           "and run_id = (select max(run_id) from letter_audits)").fetchall()
    assert {a[0] for a in audits} == {"CSVNodes", "LEGACY"}
    assert all(a[1] == doc["audited_at"] and a[2] == "offline" and a[3] == 0 for a in audits)
    assert {(r[1], r[2], r[3]) for r in rows} == expected(manifest)
    assert {r[4] for r in rows} == {doc["audited_at"]}
    assert {r[0] for r in rows if r[1] == "legacy-2008r2-csv"} == {"LEGACY"}
    assert json.loads(next(a[5] for a in audits if a[0] == "LEGACY"))["findings"][0]["rule"] == "legacy-2008r2-csv"


def test_before_seeding_text_names_nodes_csvs_and_bases(verified_lab, capsys):
    config, _ = verified_lab
    assert main(["--config", str(config), "--before-seeding"]) == 1
    out = capsys.readouterr().out
    assert "NODE3: NOT ready; never captured: Volume1, Volume2" in out
    assert "NODE1: ready; base snapshot: NODE1/2026-11-21T0100 or newer (3 usable)" in out
    assert "NODE2: ready; base snapshot: NODE2/2026-11-22T0100 or newer (2 usable)" in out
    assert "OLDNODE1: ready; base snapshot: OLDNODE1/2026-11-21T0100 or newer" in out
    assert "Remediation plan (target letters): Volume1 -> L:, Volume2 -> D:" in out
    assert "Traceback" not in out


def live_config(config: Path, tmp_path: Path, ports: dict[str, int]) -> Path:
    text = config.read_text()
    for nodes in ('["NODE1", "NODE2", "NODE3"]', '["OLDNODE1"]'):
        names = json.loads(nodes)
        endpoints = ", ".join(f'{n} = "127.0.0.1:{ports[n]}"' for n in names)
        text = text.replace(f"nodes = {nodes}\n", f"nodes = {nodes}\nwinrm_transport = \"basic\"\n"
                            f"winrm_scheme = \"http\"\nwinrm_username_env = \"{USER_ENV}\"\n"
                            f"winrm_password_env = \"{PASSWORD_ENV}\"\nwinrm_endpoints = {{ {endpoints} }}\n")
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_live_cli_uses_the_database_history(verified_lab, listeners, winrm_env, manifest, tmp_path, capsys):
    config = live_config(verified_lab[0], tmp_path, {n: x.port for n, x in listeners.items()})
    assert main(["--config", str(config), "--live", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"] == "live" and cli_findings(doc) == expected(manifest)


def test_nothing_auditable_exits_3_with_findings(lab_config, lab_dir, tmp_path, capsys):
    config = lab_config(tmp_path, lab_dir)  # a fresh, empty database: no inspected snapshot
    assert main(["--config", str(config), "--json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    msgs = {f["node"]: f["message"] for c in doc["clusters"] for f in c["findings"]}
    assert msgs["NODE3"] == "no inspected snapshot of NODE3 (cluster CSVNodes) is in the database."
    assert {f["rule"] for c in doc["clusters"] for f in c["findings"]} == {"node-not-audited"}


def test_bad_config_is_one_sentence_exit_2(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("missing.toml: configuration file not found.") and "Traceback" not in err


def test_exit_codes():
    compliant = audit_clusters([node("N1", {"C": "sys"}, csvs=()), node("N2", {"C": "sys"}, csvs=())])
    assert exit_code(compliant) == 0
    assert exit_code(audit_clusters([node("N1")])) == 1
    assert exit_code(audit_clusters([])) == 3

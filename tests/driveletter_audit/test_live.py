"""Live mode: the real pywinrm client against local WS-Management listeners replaying recorded cmdlet JSON."""

from __future__ import annotations

import shutil
from pathlib import Path

from driveletter_audit.audit import audit_clusters
from driveletter_audit.inventory import SnapshotRecord
from driveletter_audit.live import COMMANDS, as_list, live_inventories
from tests.driveletter_audit.conftest import LAB_NODES, PAYLOADS, clusters_config
from tests.driveletter_audit.lab_inventory import expected, found
from tests.driveletter_audit.wsman_server import Listener, closed_port


def history(manifest: dict) -> dict[str, tuple[SnapshotRecord, ...]]:
    """The lab's snapshot history (what the database would hold), node -> snapshots."""
    out: dict[str, list] = {}
    for s in sorted(manifest["snapshots"], key=lambda s: s["time"]):
        out.setdefault(s["node"], []).append(SnapshotRecord(s["id"], s["time"], s["type"], tuple(s["csvs"])))
    return {k: tuple(v) for k, v in out.items()}


def live_audit(ports: dict, manifest: dict):
    invs = live_inventories(clusters_config(ports), history(manifest))
    return audit_clusters(invs.nodes, LAB_NODES, invs.failures, audited_at="t", source="live"), invs


def test_live_lab_findings_equal_manifest(listeners, winrm_env, manifest):
    result, invs = live_audit({n: x.port for n, x in listeners.items()}, manifest)
    assert invs.failures == ()
    assert found(result) == expected(manifest)
    letters = {c.name: {v.name: dict(v.letters_by_node) for v in c.volumes} for c in result.clusters}
    for c in manifest["clusters"]:
        for csv in c["csvs"]:
            want = {n: tuple(x) for n, x in csv["letters_by_node"].items()}
            assert letters[c["name"]][csv["name"]] == want
    plan = {c.name: dict(c.remediation.targets) for c in result.clusters}
    assert plan == {c["name"]: c["remediation"] for c in manifest["clusters"]}
    for listener in listeners.values():  # the whole WinRS conversation happened, once per command
        assert {"Create", "Command", "Receive", "Signal", "Delete"} <= set(listener.actions)
        assert len(listener.scripts) >= len(COMMANDS)


def test_unreachable_node_is_a_finding_and_the_rest_is_audited(listeners, winrm_env, manifest):
    ports = {n: x.port for n, x in listeners.items()} | {"NODE3": closed_port()}
    result, invs = live_audit(ports, manifest)
    csvnodes = next(c for c in result.clusters if c.name == "CSVNodes")
    (f,) = [f for f in csvnodes.findings if f.check == "node-not-audited"]
    assert f.node == "NODE3" and f.message.startswith("could not reach NODE3 over WinRM: connection refused")
    assert csvnodes.audited == ("NODE1", "NODE2")
    assert ("letter-collision", "NODE2", "Volume1") not in found(result)  # M: of NODE3 unknown now
    assert ("csv-no-letter", "NODE1", "Volume2") in found(result)
    assert not result.could_not_audit


def test_rejected_credentials_are_a_clear_finding(listeners, winrm_env, manifest, monkeypatch):
    monkeypatch.setenv("AV_TEST_WINRM_PASSWORD", "wrong")
    result, invs = live_audit({n: x.port for n, x in listeners.items()}, manifest)
    assert invs.nodes == ()
    assert {f.node for f in invs.failures} == {"NODE1", "NODE2", "NODE3", "OLDNODE1"}
    assert all("rejected the credentials of lab\\auditor (HTTP 401)" in f.reason for f in invs.failures)
    assert result.could_not_audit
    assert {f.check for c in result.clusters for f in c.findings} == {"node-not-audited"}


def test_missing_credential_variable_names_it(listeners, monkeypatch, manifest):
    monkeypatch.delenv("AV_TEST_WINRM_USER", raising=False)
    _, invs = live_audit({n: x.port for n, x in listeners.items()}, manifest)
    assert invs.failures and all("AV_TEST_WINRM_USER" in f.reason and "is not set" in f.reason
                                 for f in invs.failures)


def test_a_failing_cmdlet_on_a_2019_node_is_a_finding(tmp_path, winrm_env, manifest):
    shutil.copytree(PAYLOADS, tmp_path / "p")
    (tmp_path / "p" / "NODE2" / "Get-Partition.json").unlink()
    (tmp_path / "p" / "NODE2" / "Get-Partition.err").write_text(
        "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">"
        "<S S=\"Error\">Get-Partition : Access denied_x000D__x000A_</S></Objs>")
    node2 = Listener("NODE2", tmp_path / "p").start()
    try:
        ports = {n: closed_port() for nodes in LAB_NODES.values() for n in nodes} | {"NODE2": node2.port}
        invs = live_inventories(clusters_config(ports), None)
    finally:
        node2.stop()
    reasons = {f.node: f.reason for f in invs.failures}
    assert reasons["NODE2"] == "Get-Partition failed on NODE2: Get-Partition : Access denied"
    assert reasons["NODE1"].startswith("could not reach NODE1 over WinRM: connection refused")


def test_convertto_json_single_object_and_empty_output():
    assert as_list(None) == [] and as_list("") == []
    assert as_list({"Name": "Cluster Disk 1"}) == [{"Name": "Cluster Disk 1"}]
    assert as_list([1, 2]) == [1, 2]


def test_output_of_another_shape_is_a_finding(tmp_path, winrm_env):
    shutil.copytree(PAYLOADS, tmp_path / "p")
    (tmp_path / "p" / "NODE1" / "Get-ClusterSharedVolume.json").write_text('["not", "objects"]')
    node1 = Listener("NODE1", tmp_path / "p").start()
    try:
        ports = {n: closed_port() for nodes in LAB_NODES.values() for n in nodes} | {"NODE1": node1.port}
        invs = live_inventories(clusters_config(ports), None)
    finally:
        node1.stop()
    reason = next(f.reason for f in invs.failures if f.node == "NODE1")
    assert reason.startswith("NODE1 returned cmdlet output of an unexpected shape")


def test_production_defaults_are_https_ntlm_with_certificate_validation(monkeypatch, winrm_env):
    import driveletter_audit.live as live
    from autoverify.config import validate

    raw = {"store": {"root": "/x"}, "database": {"path": "/x.db"},
           "clusters": [{"name": "C", "nodes": ["N1"], "winrm_username_env": "AV_TEST_WINRM_USER",
                         "winrm_password_env": "AV_TEST_WINRM_PASSWORD"}]}
    (cluster,) = validate(raw, Path("config.toml"))["clusters"]
    seen = {}

    def fake_session(url, auth, **kw):
        seen.update(url=url, auth=auth, **kw)
        raise live.NodeError("stop")

    monkeypatch.setattr(live.winrm, "Session", fake_session)
    invs = live.live_inventories([cluster])
    assert invs.failures[0].reason == "stop"
    assert seen["url"] == "https://N1:5986/wsman" and seen["transport"] == "ntlm"
    assert seen["server_cert_validation"] == "validate" and seen["auth"] == ("lab\\auditor", "s3cret")

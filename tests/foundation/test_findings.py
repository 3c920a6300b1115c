"""The finding registry: every id raised is declared once, the docs page is rendered from it, stages use it."""

from __future__ import annotations

import ast
import json
import logging
import re
from pathlib import Path

import pytest

from autoverify import findings
from autoverify.checks.ntfs import catalogue
from autoverify.cli.main import main
from autoverify.lab import manifest
from autoverify.models import SEVERITIES, Finding
from driveletter_audit.rules import RULES, SOURCE_FINDINGS

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("autoverify", "driveletter_audit", "reports")
# A string that is a finding id wherever it appears: a stage prefix, a dot, a dashed name.
PREFIXED = re.compile(r"(inspect|ntfs|check|verify)\.[a-z0-9]+(-[a-z0-9]+)*")
# Unprefixed ids (the audit's rule ids) are recognised at raise sites only: these calls' first argument.
RAISERS = {"Finding", "finding", "make", "disk_finding", "failed", "found", "report", "rule"}
AUDIT_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)+")


def raised_ids(source: str) -> set[str]:
    """Ids a module raises or compares against: prefixed string constants, and raise-site first arguments."""
    ids: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and PREFIXED.fullmatch(node.value):
            ids.add(node.value)
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            args = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "check")]
            if name in RAISERS:
                ids |= {a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                        and (PREFIXED.fullmatch(a.value) or AUDIT_ID.fullmatch(a.value))}
    return ids


def product_ids() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for pkg in PRODUCT:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            if f != ROOT / "autoverify" / "findings.py":
                for i in raised_ids(f.read_text(encoding="utf-8")):
                    out.setdefault(i, set()).add(str(f.relative_to(ROOT)))
    return out


def test_every_id_raised_in_the_source_is_declared():
    used = product_ids()
    assert {"ntfs.bitlocker", "inspect.timeout", "check.unreadable", "csv-no-letter", "node-not-audited"} <= set(used)
    undeclared = {i: sorted(where) for i, where in used.items() if i not in findings.BY_ID}
    assert not undeclared, f"declare these in autoverify/findings.py (or raise a declared id): {undeclared}"


def test_every_declared_id_is_raised_somewhere():
    assert set(findings.BY_ID) - set(product_ids()) == set(), "a declared id nothing raises: remove it"


def test_the_scan_catches_an_undeclared_id_at_a_raise_site():
    snippet = ('disk_finding("inspect.made-up", snap, disk, "text")\n'
               'finding("csv-made-up", "message", "remedy")\n'
               'Finding(check="letter-made-up", severity="error", message="m")\n'
               'x = "not an id"; log.info("csv-like-text")\n')
    assert raised_ids(snippet) == {"inspect.made-up", "csv-made-up", "letter-made-up"}


def test_registry_is_well_formed():
    ids = [k.id for k in findings.KINDS]
    aliases = [a for k in findings.KINDS for a in k.aliases]
    assert len(ids) == len(set(ids)) and not set(aliases) & set(ids) and len(aliases) == len(set(aliases))
    for k in findings.KINDS:
        assert k.severity in SEVERITIES and k.section in findings.SECTIONS, k.id
        assert k.title and not k.title.endswith("."), k.id
        assert len(k.remedy) > 30 and k.remedy.endswith("."), f"{k.id}: a remedy an engineer can act on"
        assert len(k.doc) > 30 and k.doc.endswith("."), k.id


def test_one_bitlocker_id_whose_older_ids_still_resolve():
    assert [k.id for k in findings.KINDS if "bitlocker" in k.id] == ["ntfs.bitlocker"]
    assert findings.kind("inspect.bitlocker") is findings.kind("check.bitlocker") is findings.BY_ID["ntfs.bitlocker"]


def test_ntfs_catalogue_audit_rules_and_lab_manifest_derive_from_the_registry():
    assert [(c.id, c.severity, c.doc) for c in catalogue.CATALOGUE] == \
        [(k.id, k.severity, k.doc) for k in findings.in_section("ntfs")]
    audit = {k.id: k.severity for k in findings.in_section("audit")}
    assert {r.id: r.severity for r in RULES.values()} | {i: s for i, (s, _) in SOURCE_FINDINGS.items()} == audit
    assert {r: findings.severity(r) for r in manifest.SEVERITY} == manifest.SEVERITY


def test_make_takes_severity_and_remedy_from_the_registry_unless_the_site_is_more_specific():
    f = findings.make("ntfs.dirty", "The volume is marked dirty.", volume="C:")
    assert (f.severity, f.remedy, f.volume) == ("error", findings.BY_ID["ntfs.dirty"].remedy, "C:")
    g = findings.make("csv-no-letter", "m.", remedy="Give Volume1 a letter on NODE2.", severity="error")
    assert (g.severity, g.remedy) == ("error", "Give Volume1 a letter on NODE2.")


def test_an_undeclared_id_fails_under_strict_and_only_logs_in_production(monkeypatch, caplog):
    assert findings.STRICT, "tests run with the strict guard (tests/conftest.py)"
    with pytest.raises(findings.UndeclaredFinding, match="inspect.made-up"):
        Finding("inspect.made-up", "error", "message")
    monkeypatch.setattr(findings, "STRICT", False)
    with caplog.at_level(logging.WARNING, logger="autoverify.findings"):
        f = Finding("inspect.made-up-too", "error", "message")
    assert f.check == "inspect.made-up-too" and "inspect.made-up-too" in caplog.text
    with pytest.raises(findings.UndeclaredFinding):
        findings.make("inspect.made-up", "message")


def test_docs_findings_md_is_the_rendered_registry():
    committed = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    assert committed == findings.render_markdown() + "\n", "run `make docs` and commit docs/findings.md"
    for k in findings.KINDS:
        assert f"| `{k.id}` | {k.severity} |" in committed


def test_findings_list_prints_every_id(capsys):
    assert main(["findings", "--list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(f["id"], f["severity"], f["remedy"]) for f in doc["findings"]] == \
        [(k.id, k.severity, k.remedy) for k in findings.KINDS]
    assert set(doc["findings"][0]) == {"id", "severity", "section", "title", "remedy", "doc", "aliases"}
    assert main(["findings", "--list"]) == 0
    text = capsys.readouterr().out
    assert all(re.search(rf"^{re.escape(k.id)} +{k.severity} ", text, re.M) for k in findings.KINDS)

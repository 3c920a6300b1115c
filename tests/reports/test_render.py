"""The rendered report: escaping, self-containment, the text part, and how chromium sees it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from reports.model import Partner
from reports.render import render_report
from tests.reports.chromium import load
from tests.reports.synthetic import HOSTILE_LABEL

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
KEY_TABLES = ("summary-systems", "audit-findings", "letters-table", "volumes-pane", "csv-pane", "snapshots-table", "unverified-table")


@pytest.fixture
def report(env):
    return render_report(env.db(), env.cfg)


def test_a_hostile_volume_label_reaches_the_report_escaped(report):
    assert ESCAPED in report.html
    assert "<script" not in report.html.lower()
    assert HOSTILE_LABEL in report.text  # plain text is not markup: shown as is
    assert report.path.read_text(encoding="utf-8") == report.html


def test_the_html_is_self_contained(report):
    html = report.html
    assert not re.search(r"""(?:src|href)\s*=\s*(?!["']?#)""", html), "a link or asset other than an in-page anchor"
    assert not re.search(r"<(?:link|img|iframe|object|embed)\b|@import|url\(", html, re.I)
    assert "Content-Security-Policy" in html and "<svg" in html


def test_the_text_part_holds_the_essentials(report):
    text = report.text
    for line in ("Protected systems:  4 (2 healthy, 0 warning, 2 failed)", "SYSTEM NODE2: FAILED",
                 "Remedy: Stop the agent, add ENABLE_CSV=true to aristos.cfg, start it.",
                 "NODE3 / E: (Finance): BitLocker-encrypted", "CSV: Volume1 Volume2", "NOT VERIFIED, AND WHY",
                 "Volume1: NODE1 L:, NODE2 L:, NODE3 M: (plan: L:)", "Seeding NODE3: NOT READY"):
        assert line in text
    assert "<" not in text.replace(HOSTILE_LABEL, "")  # no markup leaked into the text part
    assert report.subject.endswith("all systems: 2 failed, 0 warning, 2 healthy")


def test_a_partner_report_holds_only_its_systems(env):
    r = render_report(env.db(), env.cfg, Partner("Legacy Care", ("ops@legacy.example",), systems=("OLDNODE1",)))
    assert "OLDNODE1" in r.html and "Legacy Care" in r.subject
    for other in ("NODE1", "NODE2", "NODE3", "CSVNodes", HOSTILE_LABEL, ESCAPED):
        assert not re.search(rf"(?<!OLD){re.escape(other)}", r.html + r.text), other
    assert r.path.name.startswith("report-legacy-care-")


def test_the_detector_sees_console_errors_and_blocked_assets(tmp_path):
    """Control for the chromium test below: a page that logs an error and loads an asset is caught."""
    page = tmp_path / "bad.html"
    csp = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
    page.write_text(f'<html><head>{csp}</head><body><img src="https://example.invalid/x.png"></body></html>')
    assert any("violates" in line for line in load(page).console)
    page.write_text('<html><body><script>console.error("boom")</script></body></html>')
    assert any("boom" in line for line in load(page).console)


def test_chromium_renders_the_report_without_console_errors(report, artifacts: Path):
    page = load(report.path)
    assert page.console == ()
    for cls in KEY_TABLES:
        assert f'class="{cls}' in page.dom or f'class="panes {cls}' in page.dom, cls
    assert ESCAPED in page.dom and "<script" not in page.dom.lower()
    assert page.dom.count('class="pane volume"') == 5 + 3 + 2 + 2  # NODE1..3 and OLDNODE1 latest volumes
    shutil.copy(report.path, artifacts / "report-synthetic.html")
    for name, size in (("report-synthetic.png", "1200,3000"), ("report-synthetic-phone.png", "400,2400")):
        shot = artifacts / name
        shot.unlink(missing_ok=True)
        assert load(report.path, screenshot=shot, size=size).console == ()
        assert shot.stat().st_size > 20_000

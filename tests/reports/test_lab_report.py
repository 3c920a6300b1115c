"""The lab's report: the verify pipeline's database of the sample lab, audited, rendered, seen by chromium."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from autoverify.config import load_config
from autoverify.store import open_db
from reports.model import build_model, partners
from reports.render import render_report
from tests.reports.chromium import load

pytestmark = pytest.mark.appliance


@pytest.fixture(scope="module")
def lab_now(manifest) -> datetime:
    """A morning after the lab's last snapshot, so its days fall in the report's window whenever tests run."""
    return max(datetime.fromisoformat(s["time"]) for s in manifest["snapshots"]) + timedelta(hours=6)


@pytest.fixture(scope="module")
def lab_db(verified_lab) -> tuple[Path, Path]:
    """(config, database) of the lab verified by the current pipeline (the shared session fixture).

    Not an older cached database: the report must show what today's pipeline stores.
    """
    return verified_lab


@pytest.fixture(scope="module")
def lab(lab_db):
    """(config, database) of the verified lab with the drive-letter audit stored too."""
    from driveletter_audit.cli import audit_from_config

    config, db_path = lab_db
    cfg = load_config(config)
    audit_from_config(cfg)
    return cfg, open_db(db_path)


def test_the_lab_report_says_what_the_scenario_holds(lab, manifest, lab_now):
    cfg, db = lab
    m = build_model(db, title="lab", now=lab_now)
    systems = {s.name: s for s in m.systems}
    assert set(systems) == {s["node"] for s in manifest["snapshots"]}
    corrupt = manifest["corrupted"][0]["snapshot"]
    node2 = systems["NODE2"]
    assert node2.status == "failed" and "Volume1" in node2.why
    bad = next(s for s in node2.snapshots if s.id == corrupt)
    assert bad.status == "failed" and any(f.check.startswith("ntfs.") for f in bad.findings)
    csvs = {s["id"]: tuple(sorted(s["csvs"])) for s in manifest["snapshots"]}
    assert {r.id: tuple(sorted(r.csvs)) for s in m.systems for r in s.snapshots} == csvs  # the CSV column
    expected = {(c["name"], f["rule"], f["node"], f["volume"]) for c in manifest["clusters"]
                for f in c["expected_findings"]}
    assert {(c.name, f.check, f.node, f.volume) for c in m.clusters for f in c.findings} == expected
    assert all(f.remedy for c in m.clusters for f in c.findings)


def test_chromium_renders_the_lab_report(lab, artifacts: Path, lab_now):
    cfg, db = lab
    for partner in (None, *partners(cfg["partners"])):
        r = render_report(db, cfg, partner, now=lab_now)
        page = load(r.path)
        assert page.console == (), r.path
        for cls in ("summary-systems", "audit-findings", "volumes-pane", "csv-pane", "snapshots-table"):
            assert f'class="{cls}' in page.dom or f'class="panes {cls}' in page.dom, (partner, cls)
    full = render_report(db, cfg, now=lab_now)
    shutil.copy(full.path, artifacts / "report-lab.html")
    shot = artifacts / "report-lab.png"
    shot.unlink(missing_ok=True)
    assert load(full.path, screenshot=shot, size="1200,3000").console == ()
    assert shot.stat().st_size > 20_000


def test_the_report_command_on_the_lab(lab, lab_db, tmp_path):
    config, _ = lab_db
    mine = tmp_path / "config.toml"  # the lab's config with a window wide enough for its dates, whenever run
    mine.write_text(config.read_text().replace("[reports]\n", "[reports]\nhistory_days = 3650\n", 1))
    proc = subprocess.run([sys.executable, "-m", "autoverify", "report", "--partner", "Contoso IT", "--config",
                           str(mine)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    html, text = (Path(p) for p in proc.stdout.split())
    assert "SYSTEM NODE2: FAILED" in text.read_text() and "OLDNODE1" not in html.read_text()

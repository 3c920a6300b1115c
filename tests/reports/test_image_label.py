"""A hostile volume label in a real image goes through the real pipeline and reaches the report escaped.

mkntfs writes the label into a bare NTFS volume in a snapshot store; `run_verify`
discovers it, inspects it in a libguestfs appliance (one launch) and stores it; the
report, opened in chromium, shows the label as text: no script element, no console.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from autoverify.config import load_config
from autoverify.store import open_db
from reports.render import render_report
from tests.reports.chromium import load
from tests.reports.conftest import write_config
from tests.reports.synthetic import HOSTILE_LABEL

pytestmark = pytest.mark.appliance


def test_a_hostile_label_in_an_image_reaches_the_report_escaped(tmp_path: Path):
    from autoverify.verify import run_verify

    snap = tmp_path / "store" / "EVIL" / "2026-11-25T0100"
    snap.mkdir(parents=True)
    image = snap / "disk0.raw"
    with open(image, "wb") as f:
        f.truncate(64 * 2**20)
    subprocess.run(["mkntfs", "-F", "-Q", "-q", "-s", "512", "-c", "4096", "-L", HOSTILE_LABEL, str(image)],
                   check=True, capture_output=True)
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    cfg = load_config(write_config(tmp_path, reports="history_days = 3650"))
    summary = run_verify(cfg)
    assert summary.left == 0, summary.line()
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before  # evidence untouched

    db = open_db(tmp_path / "av.db")
    (label,) = [r["label"] for r in db.query("select label from volumes")]
    assert label == HOSTILE_LABEL
    report = render_report(db, cfg)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report.html and "<script" not in report.html.lower()
    page = load(report.path)
    assert page.console == () and "<script" not in page.dom.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.dom

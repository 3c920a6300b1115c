"""Every check id the checker can emit is registered in the catalogue and documented."""

from __future__ import annotations

import re
from pathlib import Path

from autoverify.checks.ntfs import catalogue
from autoverify.models import SEVERITIES

SOURCE = Path(__file__).resolve().parents[2] / "autoverify" / "checks" / "ntfs"


def test_every_emitted_id_is_registered():
    used = set()
    for f in SOURCE.glob("*.py"):
        used |= set(re.findall(r'"(ntfs\.[a-z-]+)"', f.read_text()))
    assert used, "no check ids found in the sources"
    assert used <= set(catalogue.BY_ID), used - set(catalogue.BY_ID)


def test_every_check_is_documented():
    ids = [c.id for c in catalogue.CATALOGUE]
    assert len(ids) == len(set(ids))
    for c in catalogue.CATALOGUE:
        assert c.severity in SEVERITIES
        assert len(c.doc) > 40 and c.doc.endswith("."), c.id


def test_docs_list_every_check():
    doc = (SOURCE.parents[2] / "docs" / "ntfs-checks.md").read_text()
    assert all(f"| `{c.id}` | {c.severity} |" in doc for c in catalogue.CATALOGUE)

"""Shared fixtures: the sample lab, built once and cached across test sessions.

The lab is cached under /var/tmp/autoverify-test-lab/<hash of the lab builder's source>,
so it is rebuilt only when the builder changes. Tests must never write to it (it is
snapshot evidence): they hash images where that matters.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("AUTOVERIFY_TEST_CACHE", "/var/tmp/autoverify-test-cache"))
ARTIFACTS = ROOT / "test-artifacts"


def source_hash(*folders: Path) -> str:
    h = hashlib.sha256()
    for folder in folders:
        for f in sorted(folder.rglob("*.py")):
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


@pytest.fixture(scope="session")
def lab_dir() -> Path:
    """The built sample lab (DIR with manifest.json and store/)."""
    from autoverify.lab import build_lab

    d = CACHE / f"lab-{source_hash(ROOT / 'autoverify' / 'lab', ROOT / 'autoverify' / 'registry')}"
    build_lab(d)
    return d


@pytest.fixture(scope="session")
def manifest(lab_dir: Path) -> dict:
    import json

    return json.loads((lab_dir / "manifest.json").read_text())


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

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

from autoverify import findings

# An undeclared finding id fails the test that raises it (production runs only log a warning).
findings.STRICT = True

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


LAB_CONFIG = """\
[store]
root = "{store}"

[database]
path = "{db}"

[guestfs]
batch_size = {batch_size}

[schedule]
verify = "{verify}"
report = "{report}"
audit = "{audit}"
misfire_grace_time = 30

[reports]
out_dir = "{out}"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
retries = 0
backoff_seconds = 0

[[partners]]
name = "Contoso IT"
emails = ["noc@contoso.example"]
clusters = ["CSVNodes"]

[[partners]]
name = "Legacy Care"
emails = ["ops@legacy.example"]
clusters = ["LEGACY"]

[[clusters]]
name = "CSVNodes"
nodes = ["NODE1", "NODE2", "NODE3"]

[[clusters]]
name = "LEGACY"
nodes = ["OLDNODE1"]
"""


def write_lab_config(folder: Path, lab_dir: Path, **overrides) -> Path:
    """A config.toml for the lab's store with its database and reports inside `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    values = {"store": lab_dir / "store", "db": folder / "autoverify.db", "out": folder / "reports",
              "batch_size": 8, "verify": "0 1 * * *", "report": "0 7 * * *", "audit": "0 6 * * 1",
              "smtp_port": 2525, **overrides}
    path = folder / "config.toml"
    path.write_text(LAB_CONFIG.format(**values))
    return path


@pytest.fixture(scope="session")
def lab_config():
    """The factory `write_lab_config(folder, lab_dir, **overrides) -> config path`."""
    return write_lab_config


# What the verified database depends on besides the lab itself (the lab's folder name is its hash).
PIPELINE_SOURCES = ("verify.py", "discovery.py", "readers.py", "models.py", "guestfs_session.py",
                    "inspection", "registry", "checks", "store")


def pipeline_hash() -> str:
    h = hashlib.sha256()
    for name in PIPELINE_SOURCES:
        p = ROOT / "autoverify" / name
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


@pytest.fixture(scope="session")
def verified_lab(lab_dir: Path, tmp_path_factory) -> tuple[Path, Path]:
    """(config path, database path): the verify pipeline run once over the whole lab store.

    The verified database is cached per lab and per source of the pipeline's stages (each
    session gets a fresh copy, so tests may write to it); reports and the audit read their
    inputs from it. `<db>.launches` holds how many appliances that run launched.
    """
    import shutil
    import sqlite3

    from autoverify import guestfs_session
    from autoverify.config import load_config
    from autoverify.verify import run_verify

    folder = tmp_path_factory.mktemp("verified-lab")
    config = write_lab_config(folder, lab_dir)
    db = folder / "autoverify.db"
    cached = CACHE / f"verified-{pipeline_hash()}-{lab_dir.name}.db"
    if not cached.is_file():
        launches = []
        real_launch = guestfs_session.launch
        guestfs_session.launch = lambda *a, **k: launches.append(1) or real_launch(*a, **k)
        try:
            summary = run_verify(load_config(config))
        finally:
            guestfs_session.launch = real_launch
        assert summary.outcome in ("ok", "findings") and summary.left == 0, summary.line()
        tmp = CACHE / f"{cached.name}.{os.getpid()}.tmp"
        src, dst = sqlite3.connect(db), sqlite3.connect(tmp)
        src.backup(dst)
        src.close(), dst.close()
        Path(f"{cached}.launches").write_text(str(len(launches)))
        os.replace(tmp, cached)
    shutil.copyfile(cached, db)
    shutil.copyfile(f"{cached}.launches", f"{db}.launches")
    return config, db

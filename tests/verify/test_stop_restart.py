"""Acceptance: SIGTERM in the middle of a real `autoverify verify` leaves no half-written snapshot.

The real CLI runs as a subprocess over the lab's LEGACY node (3 snapshots, so the run is
short); once the first snapshot is stored it gets SIGTERM. Every snapshot must then be
either fully stored (verified_at, status, volumes) or untouched (no rows at all); the
command exits 0; a restart verifies exactly the rest. The images are hashed before/after.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = "OLDNODE1"

pytestmark = pytest.mark.appliance


def rows(db: Path, sql: str, *params) -> list[tuple]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def stored(db: Path) -> int:
    """Snapshots stored so far (0 while the database is still being created)."""
    try:
        return rows(db, "select count(*) from snapshots where verified_at is not null")[0][0] if db.is_file() else 0
    except sqlite3.OperationalError:
        return 0


def verify_cli(config: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autoverify", "verify", "--system", SYSTEM, "--config",
                             str(config), *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def image_hashes(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def snapshot_state(db: Path) -> dict[str, tuple]:
    """id -> (verified_at, status, run_id, volumes rows, finding rows)."""
    return {sid: (verified, status, run_id,
                  rows(db, "select count(*) from volumes where snapshot_id = ?", sid)[0][0],
                  rows(db, "select count(*) from findings where snapshot_id = ?", sid)[0][0])
            for sid, verified, status, run_id in rows(
                db, "select id, verified_at, status, run_id from snapshots where system = ?", SYSTEM)}


def test_sigterm_mid_run_then_restart_completes_the_rest(lab_dir, manifest, lab_config, tmp_path):
    config = lab_config(tmp_path, lab_dir)
    db = tmp_path / "autoverify.db"
    expected = sorted(s["id"] for s in manifest["snapshots"] if s["node"] == SYSTEM)
    before = image_hashes(lab_dir / "store" / SYSTEM)

    proc = verify_cli(config)
    deadline = time.monotonic() + 600
    while not stored(db):
        assert proc.poll() is None, f"verify ended before the first snapshot was stored: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "no snapshot stored within 600 s"
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "SIGTERM received: finishing the current snapshot, then stopping." in err

    state = snapshot_state(db)
    assert sorted(state) == expected
    done = {sid for sid, (verified, *_rest) in state.items() if verified}
    for sid, (verified, status, run_id, volumes, findings) in state.items():
        if verified:
            assert status in ("healthy", "warning", "failed") and run_id and volumes >= 2, (sid, state[sid])
        else:
            assert (status, run_id, volumes, findings) == ("pending", None, 0, 0), (sid, state[sid])
    assert 1 <= len(done) < len(expected), f"SIGTERM did not land mid-run: {state}"
    (outcome, counts), = rows(db, "select outcome, counts from runs where kind = 'verify'")
    assert outcome == "stopped" and json.loads(counts)["left"] == len(expected) - len(done)

    restart = verify_cli(config, "--json")
    out, err = restart.communicate(timeout=600)
    assert restart.returncode in (0, 1), err
    summary = json.loads(out)
    assert sorted(s["id"] for s in summary["snapshots"]) == sorted(set(expected) - done)
    after = snapshot_state(db)
    assert all(after[sid][0] for sid in expected)
    assert all(after[sid][:3] == state[sid][:3] for sid in done)  # not verified twice
    assert image_hashes(lab_dir / "store" / SYSTEM) == before

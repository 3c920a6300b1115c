"""Acceptance: the real scheduler (`autoverify schedule`, a subprocess) over the lab store.

The database starts as the verified lab minus NODE3's three snapshots (as if they had just
arrived in the store: TCG is slow, so the test verifies 3 snapshots, not 12). Seconds-level
cron triggers; the report goes to a local SMTP sink. First scheduler run: verify takes only
the 3 new snapshots, in one appliance launch, then the report runs and is mailed; a second
scheduler on the same database exits 2; SIGTERM stops it with exit 0. Second scheduler run:
verify finds nothing new (no launch), the report runs again, and every snapshot keeps the
verification it had.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAUNCHED = "appliance launched under"
NEW = "NODE3"  # its snapshots are made "new" in a copy of the verified lab
SNAPSHOT_TABLES = ("findings", "volumes", "mounted_devices", "cluster_disks", "csv_volumes", "disks")

pytestmark = pytest.mark.appliance


class Sink:
    """aiosmtpd handler keeping the envelopes it received."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_sink():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, sink
    controller.stop()


def runs(db: Path) -> list[dict]:
    if not db.is_file():
        return []
    conn = sqlite3.connect(db, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("select * from runs order by id")]
    except sqlite3.OperationalError:  # still being created
        return []
    finally:
        conn.close()


def snapshots(db: Path) -> dict[str, tuple]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return {r[0]: r[1:] for r in conn.execute("select id, verified_at, run_id, status from snapshots")}
    finally:
        conn.close()


def verify_then_report(db: Path, after_id: int) -> tuple[dict, dict] | None:
    """The first finished verify run after `after_id` and a finished report run begun after it."""
    done = [r for r in runs(db) if r["id"] > after_id and r["ended_at"]]
    verify = next((r for r in done if r["kind"] == "verify"), None)
    report = next((r for r in done if verify and r["kind"] == "report" and r["id"] > verify["id"]), None)
    return (verify, report) if report else None


def scheduler_round(config: Path, db: Path, log: Path, after_id: int, timeout: int = 900,
                    while_running=None) -> tuple[dict, dict, str]:
    """Start the scheduler, wait for verify then report, SIGTERM it; return both runs and its log."""
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "autoverify", "-v", "schedule", "--config", str(config)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + timeout
        lock = Path(f"{db}.lock")

        def alive() -> bool:
            assert proc.poll() is None, f"the scheduler exited {proc.returncode}: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no verify+report within {timeout} s: {log.read_text()[-3000:]}"
            time.sleep(0.2)
            return True

        while not (lock.is_file() and lock.read_text().strip() == str(proc.pid)) and alive():
            pass
        if while_running:
            while_running(proc.pid)
        while not (pair := verify_then_report(db, after_id)) and alive():
            pass
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    return *pair, log.read_text()


def forget_system(db: Path, system: str) -> list[str]:
    """Remove a system's snapshots from the database, as if the store had just received them."""
    conn = sqlite3.connect(db)
    with conn:
        ids = [r[0] for r in conn.execute("select id from snapshots where system = ?", (system,))]
        marks = ",".join("?" * len(ids))
        for table in SNAPSHOT_TABLES:
            conn.execute(f"delete from {table} where snapshot_id in ({marks})", ids)
        conn.execute(f"delete from snapshots where id in ({marks})", ids)
    conn.close()
    return ids


def test_scheduler_verifies_new_snapshots_then_reports_each_once_across_two_runs(
        verified_lab, lab_dir, manifest, lab_config, tmp_path, smtp_sink):
    port, sink = smtp_sink
    config = lab_config(tmp_path, lab_dir, verify="*/5 * * * * *", report="*/15 * * * * *",
                        audit="0 6 1 1 *", smtp_port=port)
    db = tmp_path / "autoverify.db"
    shutil.copyfile(verified_lab[1], db)
    new = forget_system(db, NEW)
    before = snapshots(db)
    assert len(new) == 3 and len(before) == len(manifest["snapshots"]) - 3

    def second_scheduler_refuses(pid: int) -> None:
        r = subprocess.run([sys.executable, "scheduler.py", "--config", str(config)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2
        assert f"a scheduler (pid {pid}) already runs on the database {db}; stop it first" in r.stderr

    last = runs(db)[-1]["id"]
    verify, report, log1 = scheduler_round(config, db, tmp_path / "first.log", last,
                                           while_running=second_scheduler_refuses)
    counts = json.loads(verify["counts"])
    assert verify["outcome"] in ("ok", "findings"), verify
    assert (counts["new"], counts["selected"], counts["verified"]) == (3, 3, 3), counts
    assert report["outcome"] == "ok" and report["started_at"] >= verify["ended_at"], report
    assert log1.count(LAUNCHED) == 1  # ceil(3 disks / batch_size 8)
    assert {e.rcpt_tos[0] for e in sink.envelopes} == {"noc@contoso.example", "ops@legacy.example"}
    first = snapshots(db)
    assert {k: v for k, v in first.items() if k not in new} == before  # old ones untouched
    assert all(first[sid][0] and first[sid][1] == verify["id"] for sid in new)

    last = runs(db)[-1]["id"]
    verify2, report2, log2 = scheduler_round(config, db, tmp_path / "second.log", last)
    assert json.loads(verify2["counts"])["selected"] == 0 and verify2["outcome"] == "ok", verify2
    assert report2["outcome"] == "ok"
    assert LAUNCHED not in log2
    assert snapshots(db) == first  # each snapshot verified once across the two scheduler runs
    assert "running" not in [r["outcome"] for r in runs(db)]  # every job run ended and was recorded

"""The scheduler's wiring: cron triggers, one job at a time, runs recorded, one scheduler per database.

No appliance here: jobs are small functions; the real jobs over the lab are in test_lab_schedule.py.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoverify.config import Config, validate
from autoverify.errors import AlreadyRunning
from autoverify.scheduling import (
    JobResult,
    Runner,
    audit_job,
    build_scheduler,
    cron_trigger,
    crontab_days,
    report_job,
    scheduler_lock,
    serve,
)
from autoverify.store import open_db

ROOT = Path(__file__).resolve().parents[2]


def make_cfg(tmp_path: Path, **schedule) -> Config:
    (tmp_path / "store").mkdir(exist_ok=True)
    raw = {"store": {"root": "store"}, "database": {"path": "av.db"}, "schedule": schedule}
    path = tmp_path / "config.toml"
    path.write_text('[store]\nroot = "store"\n[database]\npath = "av.db"\n[schedule]\n'
                    + "".join(f'{k} = {json.dumps(v)}\n' for k, v in schedule.items()))
    return Config(path=path, data=validate(raw, path))


@pytest.mark.parametrize("expr, after, expected", [
    ("*/5 * * * * *", "2026-11-26T01:00:01", "2026-11-26T01:00:05"),  # seconds first
    ("0 1 * * *", "2026-11-26T01:00:01", "2026-11-27T01:00:00"),  # nightly
    ("0 6 * * 1", "2026-11-26T07:00:00", "2026-11-30T06:00:00"),  # Mondays (crontab: 1 = Monday)
])
def test_cron_trigger_fields(expr, after, expected):
    t = cron_trigger(expr, "UTC")
    now = datetime.fromisoformat(after).replace(tzinfo=UTC)
    assert t.get_next_fire_time(None, now).isoformat() == expected + "+00:00"


@pytest.mark.parametrize("field, names", [
    ("1", "mon"), ("0", "sun"), ("7", "sun"), ("1-5", "mon,tue,wed,thu,fri"), ("5-0", "fri,sat,sun"),
    ("*/2", "sun,tue,thu,sat"), ("sat,1", "sat,mon"), ("*", "*"), ("mon-fri", "mon-fri"),
])
def test_crontab_day_numbers_become_names(field, names):
    assert crontab_days(field) == names


def test_jobs_coalesce_run_one_instance_and_have_a_grace_time(tmp_path):
    cfg = make_cfg(tmp_path, misfire_grace_time=120)
    scheduler = build_scheduler(cfg, Runner(cfg, threading.Event()), run_now="report")
    scheduler.start(paused=True)
    try:
        jobs = {j.id: j for j in scheduler.get_jobs()}
        assert set(jobs) == {"verify", "report", "audit", "report-now"}
        for j in jobs.values():
            assert j.coalesce and j.max_instances == 1 and j.misfire_grace_time == 120
    finally:
        scheduler.shutdown(wait=False)


def test_runner_runs_one_job_at_a_time_and_skips_when_stopping(tmp_path):
    spans: list[tuple[str, float, float]] = []

    def slow(name):
        def job(cfg, stop):
            t0 = time.monotonic()
            time.sleep(0.3)
            spans.append((name, t0, time.monotonic()))
            return JobResult("ok")
        return job

    stop = threading.Event()
    runner = Runner(None, stop, {"verify": slow("verify"), "report": slow("report")})
    threads = [threading.Thread(target=runner, args=[n]) for n in ("verify", "report")]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    (a, a0, a1), (b, b0, b1) = spans
    assert (a, b) == ("verify", "report") and b0 >= a1  # report waited for verify
    stop.set()
    assert runner("verify").outcome == "skipped"


def test_a_job_run_is_a_runs_row(tmp_path):
    cfg = make_cfg(tmp_path)
    res = report_job(cfg, threading.Event())
    row = open_db(cfg["database"]["path"])["runs"].get(res.run_id)
    assert (row["kind"], row["outcome"]) == ("report", res.outcome) and row["ended_at"] >= row["started_at"]
    assert json.loads(row["counts"]) == res.counts and res.counts["sent"] == 0


def test_a_missing_stage_is_an_import_error_not_a_skipped_job(monkeypatch):
    """The scheduler imports every job's stage up front: without one it does not start (no exit 0 doing nothing)."""
    monkeypatch.delitem(sys.modules, "autoverify.scheduling")
    monkeypatch.setitem(sys.modules, "reports.publish", None)  # as if reports/publish.py were missing
    with pytest.raises(ImportError, match="reports.publish"):
        importlib.import_module("autoverify.scheduling")


def test_a_failing_stage_is_a_failed_run_not_a_dead_scheduler(tmp_path):
    cfg = make_cfg(tmp_path)  # no [[clusters]]: the audit cannot run
    res = audit_job(cfg, threading.Event())
    row = open_db(cfg["database"]["path"])["runs"].get(res.run_id)
    assert (row["kind"], row["outcome"]) == ("audit", "failed") and "no [[clusters]] to audit" in row["message"]


def test_run_now_once_returns_the_jobs_exit_code(tmp_path):
    cfg = make_cfg(tmp_path)
    jobs = {"audit": lambda cfg, stop: JobResult("findings")}
    assert serve(cfg, threading.Event(), run_now="audit", once=True, jobs=jobs) == 1


def test_a_second_lock_on_the_same_database_is_refused(tmp_path):
    db = tmp_path / "av.db"
    with scheduler_lock(db):
        with pytest.raises(AlreadyRunning, match=rf"a scheduler \(pid {os.getpid()}\) already runs on the database"):
            with scheduler_lock(db):
                pass
    with scheduler_lock(db):  # released with its holder
        pass


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "autoverify", *args]


def test_cli_second_scheduler_exits_2_and_sigterm_stops_the_first_with_0(tmp_path):
    cfg = make_cfg(tmp_path, verify="0 1 1 1 *", report="0 7 1 1 *", audit="0 6 1 1 *")
    first = subprocess.Popen(cli("schedule", "--config", str(cfg.path)), cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        lock = Path(f"{cfg['database']['path']}.lock")
        deadline = time.monotonic() + 30
        while not (lock.is_file() and lock.read_text().strip() == str(first.pid)):
            assert time.monotonic() < deadline and first.poll() is None, "the scheduler did not start"
            time.sleep(0.2)
        second = subprocess.run(cli("schedule", "--config", str(cfg.path)), cwd=ROOT, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 2
        assert second.stderr.strip() == (f"autoverify: a scheduler (pid {first.pid}) already runs on the database "
                                         f"{cfg['database']['path']}; stop it first (lock file {lock}).")
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=30)
        assert first.returncode == 0, err
        assert "scheduler stopped" in err
    finally:
        if first.poll() is None:
            first.kill()


def test_cli_once_needs_run_now(tmp_path):
    cfg = make_cfg(tmp_path)
    r = subprocess.run(cli("schedule", "--once", "--config", str(cfg.path)), cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "--once needs --run-now JOB" in r.stderr

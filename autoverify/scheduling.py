"""The nightly scheduler: APScheduler cron jobs for verify, report and audit; one per database.

Why: the appliance runs unattended for months. So every job run is a row in the `runs`
table (start, end, outcome, counts); a job never overlaps itself (max_instances=1,
coalesce) nor another job (report and audit wait for verify, so they see its results);
a second scheduler on the same database refuses to start (flock on '<db>.lock', held for
the process lifetime); and a stop request lets the verify job finish its snapshot first.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autoverify import store
from autoverify.cron import cron_trigger, crontab_days  # noqa: F401 - re-exported
from autoverify.errors import EXIT_OK, AutoVerifyError, outcome_exit_code
from autoverify.locks import exclusive_lock
from autoverify.verify import run_verify
from driveletter_audit.cli import audit_from_config
from reports.publish import publish

log = logging.getLogger(__name__)

JOB_NAMES = ("verify", "report", "audit")


@dataclass(frozen=True)
class JobResult:
    outcome: str  # "ok" | "findings" | "failed" | "stopped" | "skipped"
    counts: dict = field(default_factory=dict)
    message: str = ""
    run_id: int | None = None


# --- the one-scheduler-per-database lock ------------------------------------------------------

def scheduler_lock(db_path: str | Path):
    """Hold '<db>.lock' exclusively; raise AlreadyRunning when another process holds it."""
    path = Path(f"{db_path}.lock")
    return exclusive_lock(path, lambda pid: f"a scheduler (pid {pid}) already runs on the database {db_path}; "
                                            f"stop it first (lock file {path}).")


# --- the jobs ---------------------------------------------------------------------------------

def _recorded(cfg, kind: str, body: Callable[[], JobResult]) -> JobResult:
    """Run `body` as one row of the runs table; its errors become the row's outcome."""
    db = store.open_db(cfg["database"]["path"])
    try:
        run_id = store.start_run(db, kind)
        try:
            res = body()
        except AutoVerifyError as exc:
            res = JobResult("failed", {}, str(exc))
        except Exception as exc:  # a bug in a stage must not kill the scheduler
            log.exception("%s job failed", kind)
            res = JobResult("failed", {}, f"{exc.__class__.__name__}: {exc}")
        store.finish_run(db, run_id, res.outcome, res.counts, res.message)
    finally:
        db.close()  # months of nightly runs: no connection left behind
    log.info("%s run %d %s%s", kind, run_id, res.outcome, f": {res.message}" if res.message else "")
    return JobResult(res.outcome, res.counts, res.message, run_id)


def verify_job(cfg, stop: threading.Event) -> JobResult:
    """New snapshots only; run_verify records its own run row."""
    try:
        s = run_verify(cfg, stop=stop)
    except AutoVerifyError as exc:  # before the run row exists (lock held, store missing, ...)
        failure = JobResult("failed", {}, str(exc))
        return _recorded(cfg, "verify", lambda: failure)
    return JobResult(s.outcome, s.counts, s.message, s.run_id)


def report_job(cfg, stop: threading.Event) -> JobResult:
    """Render every partner's report and mail it (as `autoverify report --send`)."""
    def body() -> JobResult:
        db = store.open_db(cfg["database"]["path"])
        try:
            pub = publish(db, cfg, send=bool(cfg["partners"]))
        finally:
            db.close()
        counts = {"reports": len(pub.reports), "sent": len(pub.deliveries) - len(pub.failed),
                  "not_sent": len(pub.failed)}
        if pub.failed:
            return JobResult("failed", counts, f"{len(pub.failed)} report(s) not sent: {pub.failed[0].error}")
        return JobResult("ok", counts)

    return _recorded(cfg, "report", body)


def audit_job(cfg, stop: threading.Event) -> JobResult:
    """The drive-letter audit of every configured cluster over the stored snapshots."""
    def body() -> JobResult:
        result = audit_from_config(cfg)
        counts = {"clusters": len(result.clusters), "findings": sum(len(c.findings) for c in result.clusters)}
        outcome = "failed" if result.could_not_audit else "ok" if result.compliant else "findings"
        return JobResult(outcome, counts)

    return _recorded(cfg, "audit", body)


JOBS: dict[str, Callable[[object, threading.Event], JobResult]] = {
    "verify": verify_job, "report": report_job, "audit": audit_job}


# --- the scheduler ----------------------------------------------------------------------------



class Runner:
    """Runs jobs one at a time; a stop request makes waiting jobs give up."""

    def __init__(self, cfg, stop: threading.Event, jobs: dict | None = None):
        self.cfg, self.stop, self.jobs = cfg, stop, jobs or JOBS
        self._busy = threading.Lock()

    def __call__(self, name: str) -> JobResult:
        while not self._busy.acquire(timeout=1):
            if self.stop.is_set():
                return JobResult("skipped", {}, "the scheduler is stopping")
        try:
            if self.stop.is_set():
                return JobResult("skipped", {}, "the scheduler is stopping")
            log.info("%s job starting", name)
            return self.jobs[name](self.cfg, self.stop)
        finally:
            self._busy.release()


def build_scheduler(cfg, runner: Runner, run_now: str | None = None):
    """A BackgroundScheduler with one cron job per [schedule] entry."""
    from datetime import UTC, datetime

    from apscheduler.schedulers.background import BackgroundScheduler

    sch = cfg["schedule"]
    scheduler = BackgroundScheduler(timezone=sch["timezone"], job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": sch["misfire_grace_time"] or None})
    for name in JOB_NAMES:
        scheduler.add_job(runner, cron_trigger(sch[name], sch["timezone"]), args=[name], id=name, name=name)
    if run_now:
        scheduler.add_job(runner, "date", run_date=datetime.now(UTC), args=[run_now], id=f"{run_now}-now",
                          name=f"{run_now} (run now)")
    return scheduler


def serve(cfg, stop: threading.Event, run_now: str | None = None, once: bool = False,
          jobs: dict | None = None) -> int:
    """Hold the database's scheduler lock and run jobs until `stop` is set; return an exit code."""
    with scheduler_lock(cfg["database"]["path"]) as lock:
        runner = Runner(cfg, stop, jobs)
        if once and run_now:
            return outcome_exit_code(runner(run_now).outcome)
        scheduler = build_scheduler(cfg, runner, run_now)
        scheduler.start()
        for job in scheduler.get_jobs():
            log.info("scheduled %s: next run %s", job.name, job.next_run_time)
        log.info("scheduler running (pid %d, lock %s); SIGTERM or SIGINT stops it", os.getpid(), lock)
        while not stop.wait(1):
            pass
        log.info("scheduler stopping: waiting for the running job to finish its current step")
        scheduler.shutdown(wait=True)
        log.info("scheduler stopped")
    return EXIT_OK

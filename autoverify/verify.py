"""The verify pipeline: discover -> register -> inspect (batched) -> check volumes -> store.

Why it is shaped this way: the appliance is the expensive part (one launch per batch of
disks), so every selected snapshot goes to `inspect_snapshots` in one stream; the NTFS
checker reads volumes through qemu-nbd, outside the appliance; each snapshot's results
are written in ONE transaction, so a crash or a stop leaves every snapshot either fully
stored (with `verified_at`) or untouched, and the next run takes what is left.
The stages are plain functions of their own modules, called in order by `_verify_all` and
`_verify_snapshot`; tests replace one at its module (e.g. `readers.open_reader`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlite_utils

from autoverify import discovery, findings, inspection, readers, store
from autoverify.checks import ntfs
from autoverify.config import Config
from autoverify.errors import EXIT_USAGE, AutoVerifyError
from autoverify.guestfs_session import Settings
from autoverify.locks import exclusive_lock
from autoverify.models import CheckResult, DiskImage, Finding, Inspection, Snapshot, Volume

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str, str], None]  # (done, total, snapshot id, status)
Where = dict[str, Any]  # the Finding fields that locate a volume: snapshot_id, disk, volume, node


# Inspection failures that say nothing about the snapshot (the appliance did not start): the
# snapshot stays pending. And failures a stop request may have caused: the snapshot is not stored.
OPERATIONAL = {"inspect.appliance"}
INTERRUPTIBLE = {"inspect.appliance", "inspect.timeout", "check.unreadable"}


class UnknownSnapshot(AutoVerifyError):
    """--snapshot / --system names nothing in the store."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Selection:
    """Which snapshots a run takes: by default the ones never verified."""

    system: str | None = None
    snapshot: str | None = None  # an explicit id is verified even if it was already
    all: bool = False


@dataclass(frozen=True)
class VerifySummary:
    """What one verify run did; `counts` is what the runs table stores."""

    run_id: int
    outcome: str  # "ok" | "findings" | "stopped" | "failed"
    discovered: int
    new: int
    selected: int
    verified: int
    statuses: dict[str, str] = field(default_factory=dict)  # snapshot id -> healthy|warning|failed
    volumes_checked: int = 0
    volumes_skipped: int = 0
    findings: int = 0
    left: int = 0  # selected but not verified (stopped, limit, failure)
    seconds: float = 0.0
    message: str = ""

    @property
    def counts(self) -> dict[str, int]:
        by = {s: sum(1 for v in self.statuses.values() if v == s) for s in ("healthy", "warning", "failed")}
        return {"discovered": self.discovered, "new": self.new, "selected": self.selected,
                "verified": self.verified, **by, "volumes_checked": self.volumes_checked,
                "volumes_skipped": self.volumes_skipped, "findings": self.findings, "left": self.left}

    def line(self) -> str:
        """The one-line summary of the run for the log."""
        c = self.counts
        return (f"verify run {self.run_id} {self.outcome}: {c['verified']} of {c['selected']} snapshot(s) verified "
                f"({c['healthy']} healthy, {c['warning']} warning, {c['failed']} failed), "
                f"{c['volumes_checked']} volume(s) checked, {c['findings']} finding(s), {c['left']} left, "
                f"{c['new']} new in the store, {self.seconds:.0f} s")


# --- one run ----------------------------------------------------------------------------------

def run_lock(db_path: str | Path) -> AbstractContextManager[Path]:
    """Only one verify run per database at a time (a manual run next to the nightly one)."""
    return exclusive_lock(Path(f"{db_path}.verify.lock"),
                          lambda pid: f"{db_path}: a verify run (pid {pid}) is already in progress on this "
                                      f"database; wait for it to finish.")


def run_verify(cfg: Config, selection: Selection = Selection(), stop: threading.Event | None = None,
               progress: Progress | None = None) -> VerifySummary:
    """Verify the selected snapshots of the configured store; see the module docstring.

    `stop` is checked between snapshots: once set, the snapshot in hand is finished (or
    abandoned without writing if its inspection failed) and the run ends as "stopped".
    """
    stop = stop or threading.Event()
    db_path = cfg["database"]["path"]
    with run_lock(db_path):
        db = store.open_db(db_path)
        try:
            return _run(cfg, db, selection, stop, progress)
        finally:
            db.close()


def _run(cfg: Config, db: sqlite_utils.Database, selection: Selection, stop: threading.Event, progress: Progress | None) -> VerifySummary:
    started = time.monotonic()
    root = Path(cfg["store"]["root"])
    if not root.is_dir():
        raise AutoVerifyError(f"{root}: the snapshot store (store.root) is not a folder.")
    try:
        discovered = discovery.discover(root)
    except OSError as exc:
        raise AutoVerifyError(f"{exc.filename or root}: the snapshot store cannot be read "
                              f"({exc.strerror or exc}).") from None
    new = store.register_snapshots(db, discovered)
    by_id = {s.id: s for s in discovered}
    chosen = _select(db, by_id, selection, cfg["verify"]["max_snapshots"])
    run_id = store.start_run(db, "verify")
    log.info("verify run %d: %d snapshot(s) in the store (%d new), %d to verify", run_id,
             len(discovered), new, len(chosen))
    state = _RunState(total=len(chosen))
    outcome, message = "ok", ""
    try:
        if chosen and not stop.is_set():
            _verify_all(cfg, db, run_id, chosen, stop, progress, state)
    except AutoVerifyError as exc:
        outcome, message = "failed", str(exc)
        log.error("verify run %d failed: %s", run_id, exc)
    except Exception as exc:  # a bug in a stage: record it, keep the scheduler alive
        outcome, message = "failed", f"{exc.__class__.__name__}: {exc}"
        log.exception("verify run %d failed", run_id)
    if outcome == "ok":
        outcome, message = _outcome(state, len(chosen), stop.is_set())
    summary = VerifySummary(
        run_id=run_id, outcome=outcome, discovered=len(discovered), new=new, selected=len(chosen),
        verified=len(state.statuses), statuses=dict(state.statuses), volumes_checked=state.checked,
        volumes_skipped=state.skipped, findings=state.findings, left=len(chosen) - len(state.statuses),
        seconds=time.monotonic() - started, message=message)
    store.finish_run(db, run_id, outcome, summary.counts, message)
    log.info("%s", summary.line())
    return summary


@dataclass
class _RunState:
    total: int
    statuses: dict[str, str] = field(default_factory=dict)
    checked: int = 0
    skipped: int = 0
    findings: int = 0
    operational: list[str] = field(default_factory=list)


def _outcome(state: _RunState, chosen: int, stopping: bool) -> tuple[str, str]:
    if state.operational:
        return "failed", f"{len(state.operational)} snapshot(s) left pending: {state.operational[0]}"
    if stopping and len(state.statuses) < chosen:
        return "stopped", "stopped on request; the next run takes what is left"
    if state.findings or any(s != "healthy" for s in state.statuses.values()):
        return "findings", ""
    return "ok", ""


def _select(db: sqlite_utils.Database, by_id: dict[str, Snapshot], sel: Selection, limit: int) -> list[Snapshot]:
    if sel.snapshot and sel.snapshot not in by_id:
        raise UnknownSnapshot(f"snapshot {sel.snapshot!r} is not in the store (ids look like SYSTEM/FOLDER).")
    if sel.system and not any(s.system == sel.system for s in by_id.values()):
        raise UnknownSnapshot(f"system {sel.system!r} has no snapshot in the store.")
    if sel.snapshot:
        ids = [sel.snapshot]
    else:
        ids = [s.id for s in by_id.values()] if sel.all else store.pending_snapshot_ids(db)
        gone = [i for i in ids if i not in by_id]
        if gone:
            log.warning("%d pending snapshot(s) are no longer in the store and stay unverified: %s",
                        len(gone), ", ".join(gone[:5]))
    chosen = [by_id[i] for i in ids if i in by_id and (not sel.system or by_id[i].system == sel.system)]
    chosen.sort(key=lambda s: (s.taken_at, s.id))
    return chosen[:limit] if limit else chosen


def _verify_all(cfg: Config, db: sqlite_utils.Database, run_id: int, chosen: list[Snapshot], stop: threading.Event,
                progress: Progress | None, state: _RunState) -> None:
    """Inspect the chosen snapshots in one stream (batched appliances); verify and store each as it comes."""
    g = cfg["guestfs"]
    by_id = {s.id: s for s in chosen}
    stream = inspection.inspect_snapshots(chosen, Settings.from_config(cfg), batch_size=g["batch_size"],
                                          snapshot_timeout=g["snapshot_timeout"])
    try:
        for insp in stream:
            snap = by_id[insp.snapshot_id]
            if _left_pending(snap, insp, state):
                continue
            status = _verify_snapshot(cfg, db, run_id, snap, insp, stop, state)
            if status is None:
                break
            _report(progress, state, snap.id, status)
            if stop.is_set():
                log.info("stop requested: ending the run after %s", snap.id)
                break
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()  # shuts the batch's appliance down when we leave early


def _left_pending(snap: Snapshot, insp: Inspection, state: _RunState) -> bool:
    """An operational failure (the appliance did not start) is no verdict: the next run takes the snapshot."""
    operational = [f for f in insp.errors if f.check in OPERATIONAL]
    if operational:
        state.operational.append(operational[0].message)
        log.error("%s stays pending: %s", snap.id, operational[0].message)
    return bool(operational)


def _verify_snapshot(cfg: Config, db: sqlite_utils.Database, run_id: int, snap: Snapshot, insp: Inspection, stop: threading.Event,
                     state: _RunState) -> str | None:
    """Check one inspected snapshot's volumes and store everything in one transaction; return its status.

    None: abandoned without writing, because the stop request cut its inspection or reads.
    """
    checks, skipped, extra = check_volumes(snap, insp, cfg["verify"]["check_unlettered"])
    if stop.is_set() and _cut_short(insp, checks):
        log.info("%s: abandoned without writing (the stop request cut its inspection or reads)", snap.id)
        return None
    status = store.save_verification(db, run_id, snap, insp, checks, skipped, extra)
    state.statuses[snap.id] = status
    state.checked += sum(1 for c in checks.values() if c.status != "unchecked")
    state.skipped += len(skipped)
    state.findings += sum(1 for f in (*insp.errors, *extra, *(x for c in checks.values() for x in c.findings))
                          if f.severity != "info")
    return status


def _cut_short(insp: Inspection, checks: dict[str, CheckResult]) -> bool:
    """Did a failure coincide with the stop (qemu / qemu-nbd may have got the SIGINT too)?"""
    found = [*insp.errors, *(f for c in checks.values() for f in c.findings)]
    return any(f.check in INTERRUPTIBLE for f in found)


def _report(progress: Progress | None, state: _RunState, sid: str, status: str) -> None:
    if progress:
        progress(len(state.statuses), state.total, sid, status)


# --- volumes of one snapshot ------------------------------------------------------------------

def volume_name(v: Volume) -> str:
    if v.drive_letters:
        return f"{v.drive_letters[0]}:"
    return v.csv_name or v.label or (f"Volume{{{v.volume_guid}}}" if v.volume_guid else v.device)


def check_plan(v: Volume, check_unlettered: bool) -> str | None:
    """None when the volume is to be checked, else why it is skipped: every NTFS volume is checked
    (lettered, CSVs, mount-point-only and data volumes, those of a snapshot without Windows), the
    unlettered ones unless verify.check_unlettered is off."""
    if v.filesystem != "ntfs":
        return f"not NTFS ({v.filesystem or 'no filesystem'})"
    if v.drive_letters or check_unlettered:
        return None
    return "no drive letter (verify.check_unlettered is off; the vendor's verification skips it too)"


def check_volumes(snap: Snapshot, insp: Inspection, check_unlettered: bool
                  ) -> tuple[dict[str, CheckResult], dict[str, str], list[Finding]]:
    """Check every NTFS volume (see check_plan); return checks, skips, extra findings."""
    checks: dict[str, CheckResult] = {}
    skipped: dict[str, str] = {}
    extra: list[Finding] = []
    for v in insp.volumes:
        reason = check_plan(v, check_unlettered)
        if reason:
            skipped[v.device] = reason
            continue
        disk = snap.disks[v.disk_index] if 0 <= v.disk_index < len(snap.disks) else None
        where: Where = {"snapshot_id": snap.id, "disk": disk.path if disk else None, "volume": volume_name(v),
                 "node": snap.system}
        if v.encrypted:  # inspection may have said so already (ntfs.bitlocker): say it once
            said = any(f.check == "ntfs.bitlocker" and f.disk == where["disk"] for f in insp.errors)
            checks[v.device] = CheckResult("unchecked", () if said else (findings.make(
                "ntfs.bitlocker", f"{volume_name(v)} is BitLocker-encrypted: it cannot be checked "
                "offline.", **where),))
            continue
        if not v.drive_letters:
            extra.append(_unlettered(v, where))
        checks[v.device] = _check_one(v, disk, where)
    return checks, skipped, extra


def _unlettered(v: Volume, where: Where) -> Finding:
    """The volume is reported apart: beyond what the vendor's verification covers."""
    return findings.make("verify.unlettered-csv-checked" if v.csv_id else "verify.unlettered-checked",
                         f"{volume_name(v)} has no drive letter: the vendor's verification skips it; AutoVerify "
                         "checked it.", **where)


def _check_one(v: Volume, disk: DiskImage | None, where: Where) -> CheckResult:
    if disk is None:
        return _unchecked(f"{volume_name(v)}: inspection placed it on disk {v.disk_index}, which the snapshot "
                          "does not have.", where)
    started = time.monotonic()
    try:
        with readers.open_reader(disk, v.offset, v.size) as reader:
            result = ntfs.check_ntfs(reader)
    except AutoVerifyError as exc:
        return _unchecked(f"{volume_name(v)} could not be read: {exc}", where)
    except OSError as exc:
        return _unchecked(f"{volume_name(v)} could not be read from {disk.path} ({exc.strerror or exc}).", where)
    found = tuple(_locate(f, where) for f in result.findings)
    return CheckResult(result.status, found, result.mft_records, result.seconds or time.monotonic() - started,
                       result.stats)


def _locate(f: Finding, where: Where) -> Finding:
    """The checker is pure over bytes: tell its findings which snapshot/disk/volume they are about."""
    return replace(f, **{k: getattr(f, k) or val for k, val in where.items()})


def _unchecked(message: str, where: Where) -> CheckResult:
    return CheckResult("unchecked", (findings.make("check.unreadable", message, **where),))

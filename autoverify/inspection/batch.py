"""Many snapshots per appliance launch: batching, per-snapshot time limit, relaunch when the appliance dies.

Launches per run = ceil(disks / batch_size) (a snapshot is never split; one with more
disks than batch_size gets an appliance of its own). A snapshot that runs past its time
limit or kills the appliance gets a finding; the appliance is relaunched for the rest.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from autoverify import guestfs_session
from autoverify.errors import ApplianceError
from autoverify.inspection.findings import disk_finding
from autoverify.inspection.precheck import precheck_disk
from autoverify.inspection.snapshot import inspect_in
from autoverify.models import Finding, Inspection, Snapshot

log = logging.getLogger(__name__)
MAX_DEATHS = 2  # a snapshot that kills the appliance twice is given up


@dataclass(frozen=True)
class Job:
    """A snapshot and its prechecked disks: indexes to attach, findings for those left out."""

    snap: Snapshot
    good: tuple[int, ...]
    pre: tuple[Finding, ...]


def prepare(snap: Snapshot) -> Job:
    findings = {i: precheck_disk(snap, d) for i, d in enumerate(snap.disks)}
    return Job(snap, tuple(i for i, f in findings.items() if f is None),
               tuple(f for f in findings.values() if f is not None))


def plan(jobs: Sequence[Job], batch_size: int) -> list[list[Job]]:
    """Consecutive jobs grouped so each group attaches at most batch_size disks."""
    batches: list[list[Job]] = []
    current: list[Job] = []
    used = 0
    for job in jobs:
        n = len(job.good)
        if current and used + n > batch_size:
            batches.append(current)
            current, used = [], 0
        current.append(job)
        used += n
    if current:
        batches.append(current)
    return batches


@contextmanager
def deadline(g, seconds: float) -> Iterator[threading.Event]:
    """Kill the appliance's qemu after `seconds`: the blocked guestfs call then fails and we move on."""
    fired = threading.Event()
    pid = g.get_pid()

    def kill() -> None:
        fired.set()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(seconds, kill)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def _alive(g) -> bool:
    """The appliance still answers: its qemu runs and the handle is ready (probing files would hide a death)."""
    try:
        pid = g.get_pid()
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
                return False
        return bool(g.is_ready())
    except (RuntimeError, OSError):
        return False


def failed(job: Job, check: str, text: str) -> Inspection:
    """An Inspection holding only findings (the snapshot could not be looked at)."""
    return Inspection(snapshot_id=job.snap.id, os=None, volumes=(),
                      errors=(*job.pre, disk_finding(check, job.snap, None, text)))


def run_batch(jobs: list[Job], settings: guestfs_session.Settings, timeout: float) -> Iterator[Inspection]:
    """Yield one Inspection per job, in order, relaunching the appliance after a death or a timeout."""
    pending = list(jobs)
    deaths: dict[str, int] = {}
    while pending:
        attach = [j for j in pending if j.good]
        for j in [j for j in pending if not j.good]:
            yield Inspection(snapshot_id=j.snap.id, os=None, volumes=(), errors=j.pre)
        pending = attach
        if not pending:
            return
        drives = [guestfs_session.Drive(j.snap.disks[i].path, j.snap.disks[i].format) for j in pending for i in j.good]
        try:
            g = guestfs_session.launch(drives, settings)
        except ApplianceError as exc:
            if len(pending) > 1:  # find the culprit: every snapshot on its own
                for j in pending:
                    yield from run_batch([j], settings, timeout)
                return
            yield failed(pending[0], "inspect.appliance", f"the libguestfs appliance could not open its disks ({exc}).")
            return
        try:
            yield from _inspect_all(g, pending, deaths, timeout)
        finally:
            guestfs_session.close(g)


def _inspect_all(g, pending: list[Job], deaths: dict[str, int], timeout: float) -> Iterator[Inspection]:
    """Inspect pending jobs in g, popping each one done; return early (for a relaunch) if g dies."""
    devices = iter(g.list_devices())
    devmaps = [{i: next(devices) for i in j.good} for j in pending]
    for devmap in devmaps:
        job = pending[0]
        error: Exception | None = None
        with deadline(g, timeout) as fired:
            try:
                insp = inspect_in(g, job.snap, devmap, job.pre)
            except Exception as exc:  # noqa: BLE001 - a bad image must not stop the batch
                insp, error = None, exc
        if fired.is_set():
            pending.pop(0)
            yield failed(job, "inspect.timeout", f"inspection took longer than its limit of {timeout:.0f} s "
                         "and was stopped; the rest of the batch goes on.")
            return
        if not _alive(g):  # whatever inspect_in saw after the death is not about the disks
            deaths[job.snap.id] = deaths.get(job.snap.id, 0) + 1
            log.warning("the appliance died while inspecting %s; relaunching", job.snap.id)
            if deaths[job.snap.id] >= MAX_DEATHS:
                pending.pop(0)
                yield failed(job, "inspect.appliance", "the libguestfs appliance died while inspecting it, "
                             f"{MAX_DEATHS} times" + (f" ({error})." if error else "."))
            return
        pending.pop(0)
        if insp is None:
            log.debug("inspection of %s failed", job.snap.id, exc_info=error)
            yield failed(job, "inspect.unreadable", f"inspection failed ({error.__class__.__name__}: {error}).")
        else:
            yield insp

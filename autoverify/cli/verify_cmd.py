"""`autoverify verify`: run the pipeline once; progress on a terminal, log lines otherwise.

SIGTERM / SIGINT ask the run to stop after the snapshot in hand (one transaction per
snapshot), and the command still exits 0: the next run takes what is left.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from autoverify.config import load_config
from autoverify.errors import outcome_exit_code
from autoverify.verify import Selection, VerifySummary, run_verify

log = logging.getLogger("autoverify.verify")


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT set `stop` instead of killing the process mid-snapshot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame) -> None:
        if not stop.is_set():
            log.info("%s received: finishing the current snapshot, then stopping.", signal.Signals(signum).name)
        stop.set()

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def progress_printer(stream=None):
    """A progress callback: a redrawn bar on a terminal, one log line per snapshot otherwise."""
    stream = stream or sys.stderr
    tty = stream.isatty()

    def show(done: int, total: int, sid: str, status: str) -> None:
        if not tty:
            log.info("[%d/%d] %s: %s", done, total, sid, status)
            return
        width = 30
        filled = width * done // max(total, 1)
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {sid}: {status}\033[K")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def summary_json(s: VerifySummary) -> dict:
    return {"run_id": s.run_id, "outcome": s.outcome, "counts": s.counts, "seconds": round(s.seconds, 1),
            "snapshots": [{"id": k, "status": v} for k, v in s.statuses.items()], "message": s.message}


def run(args) -> int:
    cfg = getattr(args, "cfg", None) or load_config(args.config)
    selection = Selection(system=args.system, snapshot=args.snapshot, all=args.all)
    stop = threading.Event()
    with stop_on_signals(stop):
        summary = run_verify(cfg, selection, stop=stop, progress=progress_printer())
    if args.json:
        print(json.dumps(summary_json(summary), indent=2))
    if summary.outcome == "failed":
        print(f"autoverify: the verify run failed: {summary.message}", file=sys.stderr)
    return outcome_exit_code(summary.outcome)

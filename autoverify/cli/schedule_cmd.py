"""`autoverify schedule` (and `python scheduler.py`): the scheduler in the foreground.

SIGTERM / SIGINT stop it gracefully (the verify job finishes its snapshot) with exit 0;
a second scheduler on the same database exits 2 (AlreadyRunning, raised by serve).
"""

from __future__ import annotations

import sys
import threading

from autoverify.cli.verify_cmd import stop_on_signals
from autoverify.config import load_config
from autoverify.errors import EXIT_USAGE
from autoverify.scheduling import serve


def run(args) -> int:
    if args.once and not args.run_now:
        print("autoverify: --once needs --run-now JOB (verify, report or audit).", file=sys.stderr)
        return EXIT_USAGE
    cfg = getattr(args, "cfg", None) or load_config(args.config)
    stop = threading.Event()
    with stop_on_signals(stop):
        return serve(cfg, stop, run_now=args.run_now, once=args.once)

"""Exclusive per-database process locks (flock on a side file), so two runs never interleave."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from autoverify.errors import AlreadyRunning


@contextmanager
def exclusive_lock(path: Path, busy: Callable[[str], str]) -> Iterator[Path]:
    """Hold `path` exclusively while inside; else raise AlreadyRunning(busy(holder pid)).

    The kernel drops an flock with its holder, so a crashed process never leaves it stale.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            raise AlreadyRunning(busy(fh.read().strip() or "?")) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield path
    finally:
        fh.close()

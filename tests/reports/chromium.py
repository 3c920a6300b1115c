"""Headless Debian chromium as a test instrument: the DOM it built, its console, a screenshot.

Console messages (console.*, Content-Security-Policy violations such as a blocked external
asset or inline script) are logged by chromium as `INFO:CONSOLE` lines on stderr with
--enable-logging=stderr; a report has no script, so any such line is a defect.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--hide-scrollbars")
CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\] (.*)")


@dataclass(frozen=True)
class Page:
    dom: str
    console: tuple[str, ...]


def load(page: Path, *, screenshot: Path | None = None, size: str = "1200,3000", timeout: int = 90) -> Page:
    """Open `page` in a fresh profile; dump its DOM, or take a screenshot of `size` pixels."""
    with tempfile.TemporaryDirectory(prefix="av-chromium-") as profile:
        action = [f"--screenshot={screenshot}", f"--window-size={size}"] if screenshot else ["--dump-dom"]
        proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *action, page.resolve().as_uri()],
                              capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}")
    return Page(proc.stdout, tuple(m.group(1) for m in CONSOLE.finditer(proc.stderr)))

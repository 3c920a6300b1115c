"""The CLI contract: every documented command exists, has help, and is in the README."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autoverify.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [["lab", "build"], ["verify"], ["inspect"], ["chkdsk"], ["letters"], ["audit-letters"],
            ["report"], ["schedule"], ["findings"]]


@pytest.mark.parametrize("cmd", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_command_has_help_and_is_documented(cmd):
    proc = subprocess.run([sys.executable, "-m", "autoverify", *cmd, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "usage: autoverify" in proc.stdout
    assert "--config" in proc.stdout
    readme = (ROOT / "README.md").read_text()
    assert f"autoverify {' '.join(cmd)}" in readme or f"`{cmd[0]}" in readme


def test_parser_knows_every_documented_command():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == {c[0] for c in COMMANDS}


def test_no_command_is_usage_error():
    proc = subprocess.run([sys.executable, "-m", "autoverify"], capture_output=True, text=True)
    assert proc.returncode == 2


def test_audit_letters_console_script_exists():
    assert (Path(sys.executable).parent / "audit-letters").exists()

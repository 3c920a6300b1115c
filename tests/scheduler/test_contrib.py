"""contrib/ systemd units: they parse (systemd-analyze verify) and keep their hardening."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

import pytest

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"
SERVICES = ("autoverify-scheduler.service", "autoverify-verify.service")
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
             "ReadWritePaths": "/var/lib/autoverify", "KillMode": "mixed", "DevicePolicy": "closed"}


def unit(name: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read(CONTRIB / name)
    return cp


@pytest.mark.parametrize("name", SERVICES)
def test_services_are_hardened_and_the_store_is_read_only(name):
    service = unit(name)["Service"]
    assert {k: service.get(k) for k in HARDENING} == HARDENING
    assert service["ReadOnlyPaths"] and "MemoryDenyWriteExecute" not in service  # TCG needs W+X
    assert "--config /etc/autoverify/config.toml" in service["ExecStart"]


def test_scheduler_is_not_restarted_for_a_usage_error_and_the_timer_is_persistent():
    assert unit("autoverify-scheduler.service")["Service"]["RestartPreventExitStatus"] == "2"
    assert unit("autoverify-verify.service")["Service"]["SuccessExitStatus"] == "1"  # findings are a result
    timer = unit("autoverify-verify.timer")["Timer"]
    assert timer["OnCalendar"] == "*-*-* 01:00:00" and timer["Persistent"] == "true"


def test_units_pass_systemd_analyze_verify(tmp_path):
    for name in (*SERVICES, "autoverify-verify.timer"):
        text = (CONTRIB / name).read_text().replace("/opt/autoverify/.venv/bin/autoverify", "/bin/true")
        (tmp_path / name).write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n) for n in
                                                       (*SERVICES, "autoverify-verify.timer"))],
                       capture_output=True, text=True, timeout=60)
    problems = [line for line in r.stderr.splitlines() if "autoverify" in line]
    assert r.returncode == 0 and problems == [], r.stderr

"""Fixtures of the audit tests: fake WinRM nodes (real pywinrm client, local listener) and their config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autoverify.config import validate
from tests.driveletter_audit.wsman_server import Listener

PAYLOADS = Path(__file__).parent / "payloads"
LAB_NODES = {"CSVNodes": ["NODE1", "NODE2", "NODE3"], "LEGACY": ["OLDNODE1"]}
USER_ENV, PASSWORD_ENV = "AV_TEST_WINRM_USER", "AV_TEST_WINRM_PASSWORD"


@pytest.fixture(scope="session")
def listeners():
    """One listening fake node per lab node, replaying payloads/<NODE>/."""
    started = {n: Listener(n, PAYLOADS).start() for nodes in LAB_NODES.values() for n in nodes}
    yield started
    for listener in started.values():
        listener.stop()


@pytest.fixture()
def winrm_env(monkeypatch):
    monkeypatch.setenv(USER_ENV, "lab\\auditor")
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    return os.environ


def clusters_config(endpoints: dict[str, int | str]) -> list[dict]:
    """Validated [[clusters]] tables (config.py fills defaults) with http + basic for the fake nodes."""
    raw = {"store": {"root": "/nonexistent"}, "database": {"path": "/nonexistent.db"},
           "clusters": [{"name": name, "nodes": nodes, "winrm_transport": "basic", "winrm_scheme": "http",
                         "winrm_username_env": USER_ENV, "winrm_password_env": PASSWORD_ENV,
                         "winrm_endpoints": {n: f"127.0.0.1:{endpoints[n]}" for n in nodes if n in endpoints}}
                        for name, nodes in LAB_NODES.items()]}
    return validate(raw, Path("config.toml"))["clusters"]

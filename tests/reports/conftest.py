"""Fixtures of the report tests: a lab-shaped verified database, a config.toml, a loopback SMTP server."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autoverify.config import Config, load_config
from autoverify.store import open_db
from tests.reports.synthetic import populate

ROOT = Path(__file__).resolve().parents[2]
PARTNERS = """
[[partners]]
name = "Contoso IT"
emails = ["noc@contoso.example", "cto@contoso.example"]
clusters = ["CSVNodes"]

[[partners]]
name = "Legacy Care"
emails = ["ops@legacy.example"]
systems = ["OLDNODE1"]

[[clusters]]
name = "CSVNodes"
nodes = ["NODE1", "NODE2", "NODE3"]

[[clusters]]
name = "LEGACY"
nodes = ["OLDNODE1"]
"""


def write_config(folder: Path, smtp: str = "", reports: str = "") -> Path:
    """A config.toml in `folder` whose database and reports live there too."""
    path = folder / "config.toml"
    path.write_text(f'[store]\nroot = "store"\n[database]\npath = "av.db"\n'
                    f'[reports]\nout_dir = "reports"\n{reports}\n[smtp]\n{smtp}\n{PARTNERS}', encoding="utf-8")
    return path


@dataclass
class Env:
    folder: Path
    config: Path
    facts: dict

    @property
    def cfg(self) -> Config:
        return load_config(self.config)

    def db(self):
        return open_db(self.folder / "av.db")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """The real `autoverify` command line, in a child process."""
        return subprocess.run([sys.executable, "-m", "autoverify", *args, "--config", str(self.config)],
                              capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    """A fresh lab-shaped database and a config without SMTP settings (tests add theirs)."""
    config = write_config(tmp_path, smtp='security = "none"\nretries = 1\nbackoff_seconds = 0')
    db = open_db(tmp_path / "av.db")
    facts = populate(db)
    db.conn.close()
    return Env(tmp_path, config, facts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Inbox:
    """What the loopback SMTP server received."""

    messages: list = field(default_factory=list)  # (envelope rcpt_tos, raw bytes)
    logins: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 (plain, STARTTLS or implicit TLS; optional AUTH)."""

    def __init__(self, port: int, inbox: Inbox, **kwargs) -> None:
        from aiosmtpd.controller import Controller

        self.port, self.inbox = port, inbox
        self.controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert, key), made by openssl."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def server_context(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*map(str, tls_files))
    return ctx

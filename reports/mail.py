"""E-mail delivery of rendered reports: MIME multipart/alternative over SMTP, with retries.

A delivery is a row of the `deliveries` table before it is a message: queued as
'pending', then 'sent' or 'failed' after 1 + `smtp.retries` attempts with exponential
backoff (every attempt counted, the last error kept). A failed delivery keeps its report
on disk and is tried again, oldest first, by the next `send_pending`. The SMTP password
comes from the environment variable named by smtp.password_env; it is never logged or
stored.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import sqlite_utils

from autoverify.config import Config
from autoverify.store import queries, queue_delivery, record_delivery
from autoverify.store.queries import StoredDelivery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | tls | none
    sender: str
    username: str = ""
    password: str | None = field(default=None, repr=False)
    password_env: str = ""
    timeout: float = 30
    retries: int = 3  # attempts after the first
    backoff: float = 2.0  # seconds before the first retry, doubled before each next one
    ca_file: str = ""

    @classmethod
    def from_config(cls, cfg: Config) -> SmtpSettings:
        s = cfg["smtp"]
        return cls(host=s["host"], port=s["port"], security=s["security"], sender=s["sender"],
                   username=s["username"], password=cfg.secret("smtp", "password_env"),
                   password_env=s["password_env"], timeout=s["timeout"], retries=s["retries"],
                   backoff=float(s["backoff_seconds"]), ca_file=s["ca_file"] or "")


@dataclass(frozen=True)
class Delivery:
    id: int
    partner: str
    recipients: tuple[str, ...]
    report_path: str
    status: str  # pending | sent | failed | abandoned (its report file is gone)
    attempts: int
    error: str | None = None


class PermanentFailure(Exception):
    """A failure that retrying now cannot fix (bad credentials, missing password, lost report)."""


def build_message(subject: str, text: str, html: str, sender: str, recipients: Sequence[str],
                  partner: str = "") -> EmailMessage:
    """multipart/alternative: the plain-text part first, the HTML part (preferred) last."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "autoverify.local")
    if partner:
        msg["X-AutoVerify-Partner"] = partner
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def queue(db: sqlite_utils.Database, partner: str, recipients: Sequence[str], report_path: Path,
          subject: str) -> int:
    """Record a report to send as a 'pending' delivery; return its id."""
    return queue_delivery(db, partner, recipients, str(report_path), subject)


def send_pending(db: sqlite_utils.Database, settings: SmtpSettings,
                 sleep: Callable[[float], None] = time.sleep) -> list[Delivery]:
    """Send every pending or failed delivery, oldest first; return what became of each."""
    return [_deliver(db, settings, row, sleep) for row in queries.unsent_deliveries(db)]


def _deliver(db: sqlite_utils.Database, settings: SmtpSettings, row: StoredDelivery,
             sleep: Callable[[float], None]) -> Delivery:
    recipients, attempts, status = row.recipients, row.attempts, "failed"
    try:
        msg = _message_of(row, settings.sender)
    except PermanentFailure as exc:  # nothing left to send: stop retrying it on every run
        record_delivery(db, row.id, attempts, str(exc), "abandoned")
        return Delivery(row.id, row.partner, recipients, row.report_path, "abandoned", attempts, str(exc))
    error: str | None = None
    for attempt in range(1 + settings.retries):
        if attempt:
            sleep(settings.backoff * 2 ** (attempt - 1))
        attempts += 1
        permanent = False
        try:
            refused = send(settings, msg, recipients)
            status, error = "sent", (f"refused recipients: {', '.join(refused)}" if refused else None)
        except PermanentFailure as exc:
            error, permanent = str(exc), True
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{settings.host}:{settings.port}: {_describe(exc)}"
        record_delivery(db, row.id, attempts, error, status)
        log.info("delivery %s to %s: attempt %d %s", row.id, row.partner, attempts,
                 "sent" if status == "sent" else f"failed ({error})")
        if status == "sent" or permanent:
            break
    return Delivery(row.id, row.partner, recipients, row.report_path, status, attempts, error)


def send(settings: SmtpSettings, msg: EmailMessage, recipients: Sequence[str]) -> dict[str, tuple[int, bytes]]:
    """One SMTP session: connect (implicit TLS / STARTTLS / plain), authenticate, send.

    Returns the recipients the server refused (when it accepted at least one).
    """
    if settings.username and settings.password is None:
        raise PermanentFailure(f"smtp.username is set but the environment variable "
                               f"{settings.password_env or '(smtp.password_env is empty)'} holds no password.")
    context = ssl.create_default_context(cafile=settings.ca_file or None)
    if settings.security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with smtp:
        smtp.ehlo()
        if settings.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            try:
                smtp.login(settings.username, settings.password or "")
            except smtplib.SMTPAuthenticationError as exc:
                raise PermanentFailure(f"{settings.host}:{settings.port} refused the login of "
                                       f"{settings.username!r} ({exc.smtp_code}).") from None
            except smtplib.SMTPNotSupportedError:
                raise PermanentFailure(f"{settings.host}:{settings.port} offers no AUTH: unset smtp.username "
                                       f"or use the server's submission port.") from None
        return smtp.send_message(msg, from_addr=settings.sender, to_addrs=list(recipients))


def _message_of(row: StoredDelivery, sender: str) -> EmailMessage:
    html_path = Path(row.report_path)
    try:
        html = html_path.read_text(encoding="utf-8")
        text = html_path.with_suffix(".txt").read_text(encoding="utf-8")
    except OSError as exc:
        raise PermanentFailure(f"report {exc.filename} is no longer on disk ({exc.strerror}).") from None
    if not row.recipients:
        raise PermanentFailure(f"delivery {row.id} has no recipient.")
    return build_message(row.subject or "AutoVerify health report", text, html, sender, row.recipients, row.partner)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the SMTP server up?)"
    return f"{exc.__class__.__name__}: {exc}"


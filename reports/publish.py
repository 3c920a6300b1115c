"""`autoverify report` as one library call (the CLI and the scheduler both call `publish`).

Without sending: one report (all systems, or one partner's). With sending: one report
per partner holding only that partner's systems, each queued as a delivery; then every
pending or failed delivery is sent, oldest first, so yesterday's failed report goes out
before today's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from autoverify.config import Config
from autoverify.errors import ConfigError
from reports.mail import Delivery, SmtpSettings, queue, send_pending
from reports.model import Partner, partners
from reports.render import RenderedReport, find_partner, render_report, slug


@dataclass(frozen=True)
class Publication:
    reports: tuple[RenderedReport, ...]
    deliveries: tuple[Delivery, ...] = ()

    @property
    def failed(self) -> tuple[Delivery, ...]:
        return tuple(d for d in self.deliveries if d.status != "sent")

    def as_json(self) -> dict:
        return {"reports": [{"partner": r.partner, "html": str(r.path), "text": str(r.text_path),
                             "subject": r.subject} for r in self.reports],
                "deliveries": [{"id": d.id, "partner": d.partner, "recipients": list(d.recipients),
                                "report": d.report_path, "status": d.status, "attempts": d.attempts,
                                "error": d.error} for d in self.deliveries]}


def publish(db: sqlite_utils.Database, cfg: Config, partner: str | None = None, send: bool = False,
            out: str | Path | None = None) -> Publication:
    targets: list[Partner | None]
    if partner:
        targets = [find_partner(cfg, partner)]
    elif send:
        targets = list(partners(cfg["partners"]))
        if not targets:
            raise ConfigError(f"{cfg.path}: --send needs at least one [[partners]] entry to send reports to.")
    else:
        targets = [None]
    reports = tuple(render_report(db, cfg, p, out=_out_for(out, p, len(targets))) for p in targets)
    if not send:
        return Publication(reports)
    for p, r in zip(targets, reports, strict=True):
        assert p is not None
        queue(db, p.name, p.emails, r.path, r.subject)
    return Publication(reports, tuple(send_pending(db, SmtpSettings.from_config(cfg))))


def _out_for(out: str | Path | None, partner: Partner | None, count: int) -> Path | None:
    """An --out file name serves one report; with several, each gets the partner's name appended."""
    if out is None:
        return None
    out = Path(out)
    if count > 1 and out.suffix.lower() in (".html", ".htm"):
        return out.with_name(f"{out.stem}-{slug(partner.name if partner else None)}{out.suffix}")
    return out

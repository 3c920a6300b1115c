"""Render the health report (self-contained HTML + plain text) and write it to disk.

Each report is one HTML file with inline CSS and inline SVG (no external asset, no
script; a Content-Security-Policy forbids both) plus a .txt twin: the MIME parts of the
e-mail. Every report made is recorded as a run (kind 'report-rendered'), holding the statuses the next
report compares against ("what changed since the last report").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from autoverify.config import Config
from autoverify.errors import ConfigError, StoreError
from autoverify.store import finish_run, start_run
from reports.changes import RUN_KIND
from reports.model import Partner, ReportModel, build_model, parse_time, partners
from reports.svg import COLOURS, history_svg

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class RenderedReport:
    html: str
    text: str
    subject: str
    path: Path  # the .html file; the text part is next to it (.txt)
    partner: str | None = None

    @property
    def text_path(self) -> Path:
        return self.path.with_suffix(".txt")


def size(n: int | None) -> str:
    """Bytes as the vendor's panes show them: 60.00 GB, 116.30 MB."""
    if n is None:
        return "—"
    for unit, scale in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def vendor_time(value: str | None) -> str:
    """'November 23 2026 01:00:00' (UTC), the vendor's Cluster Shared Volumes pane format."""
    return parse_time(value).astimezone(UTC).strftime("%B %d %Y %H:%M:%S") if value else "—"


def snapshot_name(value: str) -> str:
    """'Mon 11-23-26 01:00 AM' (UTC), the vendor's Snapshots table Name format."""
    return parse_time(value).astimezone(UTC).strftime("%a %m-%d-%y %I:%M %p")


def yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def slug(name: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (name or "all systems").lower()).strip("-") or "partner"


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(size=size, vendor_time=vendor_time, snapshot_name=snapshot_name, yes_no=yes_no)
    env.globals.update(history_svg=history_svg, colours=COLOURS)
    return env


def subject_of(model: ReportModel) -> str:
    counts = model.summary.system_status
    scope = model.partner or "all systems"
    day = model.generated_at[:10]
    return (f"{model.title} {day} — {scope}: {counts.get('failed', 0)} failed, {counts.get('warning', 0)} warning, "
            f"{counts.get('healthy', 0)} healthy")


def find_partner(cfg: Config, name: str) -> Partner:
    for p in partners(cfg["partners"]):
        if p.name == name:
            return p
    known = ", ".join(repr(p.name) for p in partners(cfg["partners"])) or "none"
    raise ConfigError(f"{cfg.path}: no [[partners]] entry is named {name!r} (known: {known}).")


def render_model(model: ReportModel) -> tuple[str, str]:
    env = environment()
    return (env.get_template("report.html.j2").render(m=model),
            env.get_template("report.txt.j2").render(m=model))


def render_report(db: sqlite_utils.Database, cfg: Config, partner: Partner | None = None,
                  out: str | Path | None = None, now: datetime | None = None) -> RenderedReport:
    """Build, render and write one report (all systems, or only `partner`'s); record it as a run.

    `out` is a folder, or a file name ending in .html; default: reports.out_dir.
    """
    rcfg = cfg["reports"]
    model = build_model(db, title=rcfg["title"], window_days=rcfg["history_days"], partner=partner, now=now)
    html, text = render_model(model)
    path = output_path(out or rcfg["out_dir"], model)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        path.with_suffix(".txt").write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"{path}: cannot write the report ({exc.strerror}).") from None
    run_id = start_run(db, RUN_KIND)
    finish_run(db, run_id, "ok", model.state(), str(path))
    return RenderedReport(html=html, text=text, subject=subject_of(model), path=path, partner=model.partner)


def output_path(out: str | Path, model: ReportModel) -> Path:
    out = Path(out)
    if out.suffix.lower() in (".html", ".htm"):
        return out
    stamp = parse_time(model.generated_at).strftime("%Y%m%dT%H%M%S")
    path, n = out / f"report-{slug(model.partner)}-{stamp}.html", 1
    while path.exists():  # never overwrite: a queued delivery may still point at the older report
        n += 1
        path = out / f"report-{slug(model.partner)}-{stamp}-{n}.html"
    return path

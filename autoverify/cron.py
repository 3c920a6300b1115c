"""Cron expressions as config.toml writes them (crontab meaning), as APScheduler 3 triggers.

Shared by config validation and the scheduler, so a schedule that validates is exactly
the schedule that runs.
"""

from __future__ import annotations

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def crontab_days(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday, 1 = Monday) as APScheduler day names.

    APScheduler 3.x counts 0 = Monday, even in `from_crontab`: "0 6 * * 1" would run on
    Tuesdays. Numbers are therefore turned into names (which mean the same to both).
    """
    if field == "*" or not any(c.isdigit() for c in field):
        return field
    days: list[str] = []
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            first, last = (_day_number(x) for x in span.split("-", 1))
        else:
            first = last = _day_number(span)
        if last < first:
            last += 7
        days += [DAY_NAMES[d % 7] for d in range(first, last + 1, int(step or 1))]
    return ",".join(dict.fromkeys(days))


def _day_number(token: str) -> int:
    token = token.strip().lower()
    return int(token) % 7 if token.isdigit() else DAY_NAMES.index(token[:3])


def cron_trigger(expr: str, timezone: str):
    """A CronTrigger from 5 fields (crontab) or 6 with seconds first (as config.toml allows)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    sec, (minute, hour, day, month, dow) = ("0", fields) if len(fields) == 5 else (fields[0], fields[1:])
    return CronTrigger(second=sec, minute=minute, hour=hour, day=day, month=month,
                       day_of_week=crontab_days(dow), timezone=timezone)

"""The 30-day history of one system as a small inline SVG (no script, no external asset).

One square per day coloured by the worst snapshot status of that day, so a failed night
stands out in a row of green. Each square carries a <title> for a tooltip; the HTML next
to it repeats the counts in words for mail clients that drop SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from reports.model import DayCell

COLOURS = {"healthy": "#2e7d32", "warning": "#ef8f00", "failed": "#c62828", "unchecked": "#78909c",
           "pending": "#90a4ae", "none": "#e3e7eb"}
CELL, GAP, TOP, BOTTOM = 16, 3, 4, 16


def history_svg(cells: Sequence[DayCell], label: str = "") -> str:
    """A row of day squares, oldest left, with the first and last dates underneath."""
    width = len(cells) * (CELL + GAP) - GAP if cells else CELL
    height = TOP + CELL + BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="history" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(label)}">']
    for i, c in enumerate(cells):
        n = f"{c.snapshots} snapshot{'s' if c.snapshots != 1 else ''}"
        tip = f"{c.day.isoformat()}: {c.status if c.snapshots else 'no snapshot'}" + (f" ({n})" if c.snapshots else "")
        parts.append(f'<rect x="{i * (CELL + GAP)}" y="{TOP}" width="{CELL}" height="{CELL}" rx="3" '
                     f'fill="{COLOURS.get(c.status, COLOURS["none"])}" data-status="{escape(c.status)}">'
                     f'<title>{escape(tip)}</title></rect>')
        if c.snapshots > 1:
            parts.append(f'<text x="{i * (CELL + GAP) + CELL / 2}" y="{TOP + CELL - 4}" font-size="10" '
                         f'text-anchor="middle" fill="#fff" font-family="sans-serif">{c.snapshots}</text>')
    if cells:
        y = TOP + CELL + 12
        parts.append(f'<text x="0" y="{y}" font-size="10" fill="#5f6b76" font-family="sans-serif">'
                     f'{cells[0].day.strftime("%b %d")}</text>')
        parts.append(f'<text x="{width}" y="{y}" font-size="10" fill="#5f6b76" text-anchor="end" '
                     f'font-family="sans-serif">{cells[-1].day.strftime("%b %d")}</text>')
    parts.append("</svg>")
    return "".join(parts)

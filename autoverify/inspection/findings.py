"""Inspection failures as findings: one sentence naming the snapshot and the disk, and a declared check id.

Severity and the default remedy come from the registry (autoverify/findings.py).
"""

from __future__ import annotations

import os

from autoverify import findings
from autoverify.models import DiskImage, Finding, Snapshot


def disk_finding(check: str, snap: Snapshot, disk: DiskImage | None, text: str, volume: str | None = None,
                 remedy: str | None = None) -> Finding:
    """`Snapshot S, disk D: <text>` as a Finding; `text` is the rest of the sentence."""
    where = f"Snapshot {snap.id}" + (f", disk {os.path.basename(disk.path)}" if disk else "")
    return findings.make(check, f"{where}: {text}", snapshot_id=snap.id, disk=disk.path if disk else None,
                         volume=volume, node=snap.system or None, remedy=remedy)

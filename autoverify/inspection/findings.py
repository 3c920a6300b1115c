"""Inspection failures as findings: one sentence naming the snapshot and the disk, and a stable check id."""

from __future__ import annotations

import os

from autoverify.models import DiskImage, Finding, Snapshot

SEVERITY = {
    "inspect.unreadable": "error", "inspect.zero-byte": "error", "inspect.unknown-format": "error",
    "inspect.missing-backing": "error", "inspect.hive": "error", "inspect.no-os": "error",
    "inspect.timeout": "error", "inspect.appliance": "error",
    "inspect.bitlocker": "warning", "inspect.ldm": "warning",
}


def disk_finding(check: str, snap: Snapshot, disk: DiskImage | None, text: str, volume: str | None = None,
                 remedy: str | None = None) -> Finding:
    """`Snapshot S, disk D: <text>` as a Finding; `text` is the rest of the sentence."""
    where = f"Snapshot {snap.id}" + (f", disk {os.path.basename(disk.path)}" if disk else "")
    return Finding(check=check, severity=SEVERITY[check], message=f"{where}: {text}", snapshot_id=snap.id,
                   disk=disk.path if disk else None, volume=volume, node=snap.system or None, remedy=remedy)

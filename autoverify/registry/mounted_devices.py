"""Decode SYSTEM\\MountedDevices ourselves (domain.md §2): libguestfs ignores volume GUIDs and device paths."""

from __future__ import annotations

import os
import struct
import uuid

from autoverify.models import LetterAssignment
from autoverify.registry.hive import HiveError, open_hive

GPT_PREFIX = b"DMIO:ID:"


def value_name(raw: str) -> str:
    """'\\DosDevices\\C:' -> 'C'; '\\??\\Volume{G}' -> '{g}' (lower case); anything else unchanged."""
    if raw.lower().startswith("\\dosdevices\\") and raw.endswith(":") and len(raw) == len("\\DosDevices\\C:"):
        return raw[-2].upper()
    if raw.startswith("\\??\\Volume{") and raw.endswith("}"):
        return raw[len("\\??\\Volume"):].lower()
    return raw


def decode_value(name: str, data: bytes) -> LetterAssignment:
    """One value: 12 bytes = MBR signature + offset; DMIO:ID: + GUID = GPT; else a UTF-16 device path."""
    short = value_name(name)
    if len(data) == 12:
        sig, offset = struct.unpack("<IQ", data)
        return LetterAssignment(short, "mbr", disk_signature=f"0x{sig:08x}", offset=offset)
    if len(data) >= 24 and data.startswith(GPT_PREFIX):
        return LetterAssignment(short, "gpt", partition_guid=str(uuid.UUID(bytes_le=data[8:24])))
    if len(data) >= 2 and len(data) % 2 == 0:
        text = data.decode("utf-16-le", errors="replace").rstrip("\x00")
        if text and text.isprintable():
            return LetterAssignment(short, "device", device=text)
    return LetterAssignment(short, "unknown")


def decode_mounted_devices(hive_path: str | os.PathLike) -> tuple[LetterAssignment, ...]:
    """All MountedDevices values of a SYSTEM hive, letters first (sorted), then the rest by name."""
    hive = open_hive(hive_path)
    node = hive.node("MountedDevices")
    if node is None:
        if hive.node("Select") is None:
            raise HiveError(f"{os.fspath(hive_path)}: is not a SYSTEM hive (no MountedDevices or Select key).")
        return ()
    decoded = [decode_value(name, data) for name, (_kind, data) in hive.values(node).items()]
    return tuple(sorted(decoded, key=lambda a: (len(a.name) != 1, a.name)))


def _form(a: LetterAssignment) -> dict:
    if a.kind == "gpt":
        return {"kind": "gpt", "partition_guid": a.partition_guid}
    if a.kind == "mbr":
        return {"kind": "mbr", "disk_signature": a.disk_signature, "offset": a.offset}
    if a.kind == "device":
        return {"kind": "device", "device": a.device}
    return {"kind": "unknown"}


def letters_json(assignments: tuple[LetterAssignment, ...]) -> dict:
    """The `autoverify letters --json` document of docs/cli.md."""
    letters = {a.name: _form(a) for a in assignments if len(a.name) == 1}
    volumes = {a.name: _form(a) for a in assignments if a.name.startswith("{")}
    others = {a.name: _form(a) for a in assignments if len(a.name) != 1 and not a.name.startswith("{")}
    out = {"letters": letters, "volumes": volumes}
    if others:
        out["other"] = others
    return out

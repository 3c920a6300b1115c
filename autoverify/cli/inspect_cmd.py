"""`autoverify inspect IMAGE...` and `autoverify letters --system-hive PATH` (docs/cli.md)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from autoverify.config import load_config
from autoverify.errors import EXIT_OK, EXIT_OPERATIONAL, ConfigError
from autoverify.guestfs_session import Settings
from autoverify.models import Inspection, LetterAssignment, Volume

VOLUME_KEYS = ("device", "partition_number", "offset", "size", "filesystem", "label", "volume_guid",
               "drive_letters", "mount_paths", "bootable", "encrypted", "compressed", "total_bytes",
               "used_bytes", "free_bytes", "csv_id")
UNREADABLE = {"inspect.unreadable", "inspect.zero-byte", "inspect.unknown-format", "inspect.missing-backing",
              "inspect.appliance", "inspect.timeout"}


def _settings(args: argparse.Namespace) -> Settings:
    """guestfs settings from config.toml when there is one; defaults otherwise (inspect needs no store)."""
    try:
        return Settings.from_config(load_config(args.config))
    except ConfigError:
        if args.config:
            raise
        return Settings()


def inspection_json(insp: Inspection) -> dict:
    """The `inspect --json` document: exactly the keys of docs/cli.md (plus a few added ones)."""
    def vol(v: Volume) -> dict:
        d = asdict(v)
        out = {k: d[k] for k in VOLUME_KEYS}
        out.update(disk_index=v.disk_index, csv_name=v.csv_name, partition_guid=v.partition_guid,
                   disk_guid=v.disk_guid, mbr_signature=v.mbr_signature)
        return out

    cluster = None
    if insp.cluster:
        cluster = asdict(insp.cluster)
        for c, src in zip(cluster["csv_volumes"], insp.cluster.csv_volumes, strict=True):
            c["volume_name"] = src.volume_name
    return {"os": asdict(insp.os) if insp.os else None, "volumes": [vol(v) for v in insp.volumes],
            "cluster": cluster, "enable_csv": insp.enable_csv,
            "errors": [{"check": f.check, "severity": f.severity, "message": f.message, "disk": f.disk}
                       for f in insp.errors]}


def _gib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**30:.2f} GiB"


def _print_text(insp: Inspection) -> None:
    o = insp.os
    print(f"OS: {o.product_name} {o.version} build {o.build}, host {o.hostname}, {o.installation_type}"
          if o else "OS: none found")
    for v in insp.volumes:
        letters = ",".join(f"{x}:" for x in v.drive_letters) or "-"
        flags = [n for n, on in (("bootable", v.bootable), ("BitLocker", v.encrypted),
                                 ("compressed", v.compressed)) if on]
        print(f"  {v.device:<10} part {v.partition_number} offset {v.offset} size {v.size} {v.filesystem or '-'} "
              f"label {v.label!r} letters {letters} guid {v.volume_guid or '-'} used {_gib(v.used_bytes)} "
              f"free {_gib(v.free_bytes)}" + (f" {' '.join(flags)}" if flags else "")
              + (f" CSV {v.csv_name or ''} {v.csv_id} {' '.join(v.mount_paths)}" if v.csv_id else ""))
    if insp.cluster:
        c = insp.cluster
        print(f"Cluster {c.name}: nodes {', '.join(c.nodes)}")
        for d in c.disks:
            print(f"  {d.name}: disk id {d.disk_id} {d.status}{' CSV' if d.is_csv else ''}")
        for cv in c.csv_volumes:
            print(f"  {cv.name or '?'}: CSV ID {cv.csv_id}, partition {cv.partition_number}, {cv.volume_name}, {cv.status}")
    for f in insp.errors:
        print(f"{f.severity}: {f.message}")


def _nothing_readable(insp: Inspection, images: list[str]) -> bool:
    bad = {f.disk for f in insp.errors if f.check in UNREADABLE}
    return not insp.volumes and (None in bad or len(bad) >= len(images))


def inspect(args: argparse.Namespace) -> int:
    from autoverify.inspection import inspect_images

    insp = inspect_images(args.images, _settings(args))
    if args.json:
        print(json.dumps(inspection_json(insp), indent=2))
    else:
        _print_text(insp)
    return EXIT_OPERATIONAL if _nothing_readable(insp, args.images) else EXIT_OK


def _describe(a: LetterAssignment) -> str:
    if a.kind == "gpt":
        return f"GPT partition {a.partition_guid}"
    if a.kind == "mbr":
        return f"MBR disk signature {a.disk_signature}, offset {a.offset}"
    if a.kind == "device":
        return f"device {a.device}"
    return "unknown data"


def letters(args: argparse.Namespace) -> int:
    from autoverify.registry import decode_mounted_devices, letters_json

    decoded = decode_mounted_devices(args.system_hive)
    if args.json:
        print(json.dumps(letters_json(decoded), indent=2))
        return EXIT_OK
    for a in decoded:
        name = f"{a.name}:" if len(a.name) == 1 else a.name
        print(f"{name:<40} {_describe(a)}")
    return EXIT_OK

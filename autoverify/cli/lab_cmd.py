"""`autoverify lab build DIR [--force]`: build the sample cluster lab and print its manifest path."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from autoverify.errors import EXIT_OK


def build(args: argparse.Namespace) -> int:
    from autoverify.lab import build_lab

    started = time.monotonic()
    path = build_lab(Path(args.dir), force=args.force)
    if not args.json:
        print(path)
        return EXIT_OK
    data = json.loads(path.read_text())
    print(json.dumps({
        "manifest": str(path), "seconds": round(time.monotonic() - started, 1),
        "clusters": [c["name"] for c in data["clusters"]],
        "snapshots": len(data["snapshots"]),
        "corrupted": [c["snapshot"] for c in data["corrupted"]],
    }, indent=2))
    return EXIT_OK

"""`autoverify findings --list [--json]`: the declared finding ids (autoverify/findings.py)."""

from __future__ import annotations

import argparse
import json

from autoverify import findings
from autoverify.errors import EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Print the registry: one line per id, or `{"findings": [...]}` with --json."""
    if args.json:
        print(json.dumps({"findings": [findings.as_json(k) for k in findings.KINDS]}, indent=2))
        return EXIT_OK
    width = max(len(k.id) for k in findings.KINDS)
    for k in findings.KINDS:
        print(f"{k.id:<{width}}  {k.severity:<8}  {k.section:<7}  {k.title}")
        print(f"{'':<{width}}  remedy: {k.remedy}")
    return EXIT_OK

"""`autoverify report [--out PATH] [--partner NAME] [--send]`: render (and e-mail) the health report."""

from __future__ import annotations

import argparse
import json
import sys

from autoverify.errors import EXIT_OK, EXIT_OPERATIONAL
from autoverify.store import open_db


def run(args: argparse.Namespace) -> int:
    from reports.publish import publish

    db = open_db(args.cfg["database"]["path"])
    result = publish(db, args.cfg, partner=args.partner, send=args.send, out=args.out)
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        for r in result.reports:
            print(r.path)
            print(r.text_path)
    for d in result.failed:
        print(f"autoverify: report for {d.partner} not sent after {d.attempts} attempt(s) ({d.error}); "
              f"it stays at {d.report_path} and the next `autoverify report --send` retries it.", file=sys.stderr)
    return EXIT_OPERATIONAL if result.failed else EXIT_OK

"""`autoverify` command line: parse, call one library function per command, map errors to exit codes.

Each command's handler lives in its own module (`autoverify/cli/<name>_cmd.py`) as
`run(args) -> int`, imported here directly (a missing module is an import error, never a
command that quietly does nothing); this file only builds the parser and dispatches. Exit codes and JSON
keys follow docs/cli.md (shared contract with MSP scripts).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

import driveletter_audit.cli as audit_cmd
from autoverify.cli import (
    chkdsk_cmd,
    findings_cmd,
    inspect_cmd,
    lab_cmd,
    report_cmd,
    schedule_cmd,
    verify_cmd,
)
from autoverify.config import load_config
from autoverify.errors import EXIT_OPERATIONAL, EXIT_USAGE, AutoVerifyError

Handler = Callable[[argparse.Namespace], int]

EXIT_CODES_HELP = """exit codes:
  0  success / all healthy / clean
  1  findings (verify, audit-letters)
  2  bad configuration or command line; a scheduler already runs on this database
  3  operational failure (the run itself failed; report not sent; no image readable)
  4  chkdsk: errors found on the volume
  8  chkdsk: the volume could not be checked (not NTFS, BitLocker, unreadable)
"""


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                   help="config.toml (default: ./config.toml, then /etc/autoverify/config.toml)")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging")
    return p


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="autoverify", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Verify Windows failover-cluster backup snapshots offline: inspect, check NTFS, "
                    "audit drive letters, report.", epilog=EXIT_CODES_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_: str, handler: Handler, needs_config: bool = False) -> argparse.ArgumentParser:
        """`needs_config`: the command works on the store, so config.toml is validated first."""
        p = sub.add_parser(name, parents=[common], help=help_, description=help_,
                           formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXIT_CODES_HELP)
        p.set_defaults(handler=handler, needs_config=needs_config)
        return p

    lab = sub.add_parser("lab", parents=[common], help="the built-in sample cluster lab",
                         description="The built-in sample cluster lab.")
    lab_sub = lab.add_subparsers(dest="lab_command", metavar="SUBCOMMAND", required=True)
    p = lab_sub.add_parser("build", parents=[common], help="build the sample cluster snapshot store in DIR",
                           description="Build the deterministic sample cluster snapshot store and DIR/manifest.json.")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--force", action="store_true", help="rebuild even if DIR already holds a complete lab")
    p.set_defaults(handler=lab_cmd.build, needs_config=False)

    p = add("verify", "discover snapshots in the store and verify each one not verified yet",
            verify_cmd.run, needs_config=True)
    p.add_argument("--system", metavar="NAME", help="only this protected system")
    p.add_argument("--snapshot", metavar="ID", help="only this snapshot")
    p.add_argument("--all", action="store_true", help="re-verify every snapshot")

    p = add("inspect", "treat the images as the disks of ONE snapshot and print what inspection sees",
            inspect_cmd.inspect)
    p.add_argument("images", nargs="+", metavar="IMAGE")

    p = add("chkdsk", "read-only NTFS consistency check of one volume", chkdsk_cmd.run)
    p.add_argument("image", metavar="IMAGE")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--partition", type=int, metavar="N", help="partition N of a disk image")
    where.add_argument("--offset", type=int, metavar="BYTES", help="byte offset of the volume in the image")

    p = add("letters", "decode MountedDevices of a SYSTEM hive file", inspect_cmd.letters)
    p.add_argument("--system-hive", required=True, metavar="PATH")

    p = add("audit-letters", "drive-letter and CSV compliance of every configured cluster",
            audit_cmd.run, needs_config=True)
    p.add_argument("--live", action="store_true", help="ask the nodes over WinRM instead of the snapshots")
    p.add_argument("--before-seeding", action="store_true", help="seeding readiness per node")

    p = add("report", "render the HTML health report (and --send it)", report_cmd.run, needs_config=True)
    p.add_argument("--out", metavar="PATH", help="folder or file to write")
    p.add_argument("--partner", metavar="NAME", help="only this partner's report")
    p.add_argument("--send", action="store_true", help="email each partner its report")

    p = add("findings", "list every finding id: severity, title, remedy (the registry)",
            findings_cmd.run)
    p.add_argument("--list", action="store_true", help="print the table (the default)")

    p = add("schedule", "run the scheduler in the foreground (nightly verify, report, audit)",
            schedule_cmd.run, needs_config=True)
    p.add_argument("--run-now", metavar="JOB", choices=("verify", "report", "audit"),
                   help="run one job now, then keep scheduling")
    p.add_argument("--once", action="store_true", help="with --run-now: run the job and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, default in (("config", None), ("json", False), ("verbose", False)):
        if not hasattr(args, name):
            setattr(args, name, default)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s" if args.verbose
                        else "autoverify: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        # Commands that work on the store validate config.toml first, before anything else.
        args.cfg = load_config(args.config) if args.needs_config else None
        handler: Handler = args.handler
        return handler(args)
    except AutoVerifyError as exc:
        print(f"autoverify: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("autoverify: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line, the traceback only with -v
        if args.verbose:
            raise
        print(f"autoverify: internal error ({exc.__class__.__name__}: {exc}); rerun with -v for details.",
              file=sys.stderr)
        return EXIT_OPERATIONAL


def audit_letters(argv: list[str] | None = None) -> int:
    """The `audit-letters` console script: the same command as `autoverify audit-letters`."""
    return main(["audit-letters", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())

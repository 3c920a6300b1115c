"""Nightly scheduler entry point: `python scheduler.py` is `autoverify schedule`."""

import sys

from autoverify.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["schedule", *sys.argv[1:]]))

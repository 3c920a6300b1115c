"""The project's error classes; the CLI maps each to an exit code of docs/cli.md."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2  # bad configuration or command line; a second scheduler
EXIT_OPERATIONAL = 3  # the run itself failed

# A run's outcome (runs.outcome) -> the exit code of the command that ran it. "stopped":
# a stop request ended the run early and the next run takes what is left; "skipped": the
# scheduler was stopping before the job began.
EXIT_BY_OUTCOME = {"ok": EXIT_OK, "stopped": EXIT_OK, "skipped": EXIT_OK, "findings": EXIT_FINDINGS,
                   "failed": EXIT_OPERATIONAL}


def outcome_exit_code(outcome: str) -> int:
    """The exit code for a run's outcome; an outcome this table does not know is a failure."""
    return EXIT_BY_OUTCOME.get(outcome, EXIT_OPERATIONAL)


class AutoVerifyError(Exception):
    """Base class: carries one sentence for the user and an exit code."""

    exit_code = EXIT_OPERATIONAL


class ConfigError(AutoVerifyError):
    """config.toml is missing, unreadable or invalid (names the file and the key)."""

    exit_code = EXIT_USAGE


class AlreadyRunning(AutoVerifyError):
    """Another scheduler holds this database."""

    exit_code = EXIT_USAGE


class ImageError(AutoVerifyError):
    """A disk image cannot be read (names the image)."""

    exit_code = EXIT_OPERATIONAL


class ApplianceError(AutoVerifyError):
    """The libguestfs appliance could not be started or died."""

    exit_code = EXIT_OPERATIONAL


class StoreError(AutoVerifyError):
    """The SQLite database cannot be opened or migrated."""

    exit_code = EXIT_OPERATIONAL


class DeliveryError(AutoVerifyError):
    """A report could not be sent (it stays on disk)."""

    exit_code = EXIT_OPERATIONAL

"""The project's error classes; the CLI maps each to an exit code of docs/cli.md."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2  # bad configuration or command line; a second scheduler
EXIT_OPERATIONAL = 3  # the run itself failed (also: command not built yet)


class AutoVerifyError(Exception):
    """Base class: carries one sentence for the user and an exit code."""

    exit_code = EXIT_OPERATIONAL


class ConfigError(AutoVerifyError):
    """config.toml is missing, unreadable or invalid (names the file and the key)."""

    exit_code = EXIT_USAGE


class AlreadyRunning(AutoVerifyError):
    """Another scheduler holds this database."""

    exit_code = EXIT_USAGE


class NotBuiltYet(AutoVerifyError):
    """A documented command whose capability has not landed yet."""

    exit_code = EXIT_OPERATIONAL


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

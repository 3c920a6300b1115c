"""Quoting for the PowerShell that AutoVerify writes for administrators to run.

Why: CSV names, node names and labels come from snapshots and clusters (untrusted). A name
holding a quote, a newline, `$(...)` or a backtick must never become code in a script an
administrator runs on every node. Every generated script builds its arguments here:
single-quoted literals (nothing expands inside them) with every single-quote character doubled
(PowerShell treats the typographic quotes U+2018..U+201B like `'`), control characters
refused, and names never placed in a comment.
"""

from __future__ import annotations

import re
import unicodedata

# PowerShell's single-quote characters: ' and the four typographic ones it accepts as the same.
SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class UnsafeName(ValueError):
    """A value that cannot be put in a script safely (the plan says so instead of writing it)."""


def literal(value: str) -> str:
    """`value` as a single-quoted PowerShell string literal; control characters are refused."""
    bad = [c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    if bad:
        raise UnsafeName(f"{value!r} holds a control character ({ascii(bad[0])}): it is not put in a script.")
    return "'" + "".join(c * 2 if c in SINGLE_QUOTES else c for c in value) + "'"


def letter(value: str) -> str:
    """A drive letter A..Z, checked (it stands unquoted in `-NewDriveLetter L`)."""
    if len(value) != 1 or not "A" <= value.upper() <= "Z":
        raise UnsafeName(f"{value!r} is not a drive letter: it is not put in a script.")
    return value.upper()


def guid(value: str) -> str:
    """A GUID in braces as a literal ('{...}'), checked: a partition filter must match one volume only."""
    if not _GUID.match(value):
        raise UnsafeName(f"{value!r} is not a volume GUID: it is not put in a script.")
    return literal("{" + value.lower() + "}")


def move_csv(csv_name: str, node: str) -> str:
    """The cmdlet that brings a CSV to `node` (its owner takes the letter change)."""
    return f"Get-ClusterSharedVolume -Name {literal(csv_name)} | Move-ClusterSharedVolume -Node {literal(node)}"


def move_group(group: str, node: str) -> str:
    """The cmdlet that brings a role (and its shared disk) to `node`."""
    return f"Move-ClusterGroup -Name {literal(group)} -Node {literal(node)}"

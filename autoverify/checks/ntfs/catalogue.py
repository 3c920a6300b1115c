"""The NTFS check ids (a view of the finding registry): what each protects against, and its severity.

Every finding the checker emits carries one of these ids (a test asserts it); reports and
the CLI show the id, so it must stay stable. Errors make the volume's status "errors"
(exit 4); warnings do not.
"""

from __future__ import annotations

from dataclasses import dataclass

from autoverify import findings


@dataclass(frozen=True)
class Check:
    id: str
    severity: str
    doc: str


# Derived from the finding registry (autoverify/findings.py, section "ntfs"): declare new ids there.
CATALOGUE: tuple[Check, ...] = tuple(Check(k.id, k.severity, k.doc) for k in findings.in_section("ntfs"))

BY_ID = {c.id: c for c in CATALOGUE}


def severity(check_id: str) -> str:
    return BY_ID[check_id].severity

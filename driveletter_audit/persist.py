"""Store an audit: one letter_audits row per cluster and its findings (source "audit"), one transaction."""

from __future__ import annotations

import sqlite_utils

from autoverify.store import ClusterAuditRecord, save_letter_audits
from driveletter_audit.audit import AuditResult


def save_audit(db: sqlite_utils.Database, result: AuditResult) -> int:
    """Record the audit as a run; return the run id. Findings carry the audit time."""
    return save_letter_audits(db, result.audited_at, result.source,
                              [ClusterAuditRecord(c.name, tuple(c.findings), c.to_json()) for c in result.clusters],
                              result.could_not_audit)

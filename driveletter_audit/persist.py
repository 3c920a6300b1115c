"""Store an audit: one letter_audits row per cluster and its findings (source "audit"), one transaction."""

from __future__ import annotations

import json

import sqlite_utils

from autoverify.store import finish_run, start_run, transaction
from autoverify.store.records import finding_row
from driveletter_audit.audit import AuditResult


def save_audit(db: sqlite_utils.Database, result: AuditResult) -> int:
    """Record the audit as a run; return the run id. Findings carry the audit time."""
    with transaction(db):  # start_run/finish_run join it: the run, rows and findings commit together
        run_id = start_run(db, "audit")
        for c in result.clusters:
            db["letter_audits"].insert({"run_id": run_id, "cluster": c.name, "audited_at": result.audited_at,
                                        "source": result.source, "compliant": int(not c.findings),
                                        "findings": len(c.findings), "result": json.dumps(c.to_json())})
            db["findings"].insert_all([{**finding_row(f, run_id, "audit", c.name), "created_at": result.audited_at}
                                       for f in c.findings])
        counts = {"clusters": len(result.clusters), "findings": sum(len(c.findings) for c in result.clusters)}
        finish_run(db, run_id, "could-not-audit" if result.could_not_audit else "ok", counts)
    return run_id

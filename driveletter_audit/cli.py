"""`audit-letters` / `autoverify audit-letters`: gather inventories, audit, store, print; exit 0/1/3.

Exit codes (docs/cli.md): 0 compliant, 1 findings, 3 could not audit (no cluster configured,
or a cluster none of whose nodes could be looked at). Errors are one sentence, never a traceback.
"""

from __future__ import annotations

import argparse
import json

from autoverify.config import Config, load_config
from autoverify.errors import EXIT_FINDINGS, EXIT_OK, EXIT_OPERATIONAL, AutoVerifyError
from autoverify.store import now, open_db
from driveletter_audit.audit import AuditResult, audit_clusters
from driveletter_audit.inventory import Inventories, from_store, history_from_store
from driveletter_audit.live import live_inventories
from driveletter_audit.persist import save_audit
from driveletter_audit.render import render_text


class NothingToAudit(AutoVerifyError):
    """config.toml defines no [[clusters]]."""


def audit_from_config(cfg: Config, live: bool = False) -> AuditResult:
    """The library call behind the command (the scheduler's audit job calls it too); stores the result."""
    clusters = cfg["clusters"]
    if not clusters:
        raise NothingToAudit(f"{cfg.path}: no [[clusters]] to audit.")
    names = [c["name"] for c in clusters]
    db = open_db(cfg["database"]["path"])
    try:
        invs: Inventories = (live_inventories(clusters, history_from_store(db, names)) if live
                             else from_store(db, names))
        result = audit_clusters(invs.nodes, {c["name"]: c["nodes"] for c in clusters}, invs.failures,
                                audited_at=now(), source="live" if live else "offline")
        save_audit(db, result)
    finally:
        db.close()  # the scheduler calls this weekly for months: no connection left behind
    return result


def exit_code(result: AuditResult) -> int:
    if result.could_not_audit:
        return EXIT_OPERATIONAL
    return EXIT_OK if result.compliant else EXIT_FINDINGS


def run(args: argparse.Namespace) -> int:
    cfg = getattr(args, "cfg", None) or load_config(getattr(args, "config", None))
    result = audit_from_config(cfg, live=bool(getattr(args, "live", False)))
    if getattr(args, "json", False):
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(render_text(result, before_seeding=bool(getattr(args, "before_seeding", False))), end="")
    return exit_code(result)


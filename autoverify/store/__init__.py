"""The SQLite store: schema and migrations, transactions, writers (records) and readers (queries).

The store owns all SQL: no other package names a table or writes a query.
"""

from autoverify.store.connection import now, transaction
from autoverify.store.db import open_db
from autoverify.store.records import (
    ClusterAuditRecord,
    finish_run,
    pending_snapshot_ids,
    queue_delivery,
    record_delivery,
    register_snapshots,
    save_letter_audits,
    save_verification,
    start_run,
)
from autoverify.store.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "ClusterAuditRecord", "finish_run", "now", "open_db", "pending_snapshot_ids", "queue_delivery",
           "record_delivery", "register_snapshots", "save_letter_audits", "save_verification", "start_run",
           "transaction"]

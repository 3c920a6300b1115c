"""The SQLite store: schema and migrations, transactions, and writers of pipeline results."""

from autoverify.store.db import now, open_db, transaction
from autoverify.store.records import (
    finish_run,
    pending_snapshot_ids,
    register_snapshots,
    save_verification,
    start_run,
)
from autoverify.store.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "finish_run", "now", "open_db", "pending_snapshot_ids", "register_snapshots",
           "save_verification", "start_run", "transaction"]

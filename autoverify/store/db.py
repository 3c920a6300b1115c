"""Open the SQLite database (sqlite-utils, WAL), migrated to the current schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from autoverify.errors import StoreError
from autoverify.store.connection import TxConnection, now, transaction
from autoverify.store.schema import migrate

__all__ = ["TxConnection", "now", "open_db", "transaction"]


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating and migrating) the database at `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), factory=TxConnection, isolation_level=None, timeout=30,
                               check_same_thread=False)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=30000")
        migrate(db)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open the database ({exc}).") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the database ({exc.strerror}).") from None
    return db

"""Open the SQLite database (sqlite-utils, WAL) and run one-transaction units of work.

sqlite-utils commits inside its own `with conn:` blocks, which would split a snapshot's
results over several transactions. `TxConnection` makes those inner blocks join the
outer transaction opened by `transaction()`, so a crash leaves no partial snapshot.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from autoverify.errors import StoreError
from autoverify.store.schema import migrate


class TxConnection(sqlite3.Connection):
    """A connection whose context-manager commits defer to an outer `transaction()`."""

    outer = False

    def __enter__(self):  # noqa: D105
        return self if self.outer else super().__enter__()

    def __exit__(self, *exc):  # noqa: D105
        return False if self.outer else super().__exit__(*exc)

    def commit(self) -> None:
        if not self.outer:
            super().commit()


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


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


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """All writes inside commit together or not at all."""
    conn: TxConnection = db.conn  # type: ignore[assignment]
    if conn.outer:
        yield db  # already inside one: join it
        return
    conn.execute("BEGIN IMMEDIATE")
    conn.outer = True
    try:
        yield db
    except BaseException:
        conn.outer = False
        conn.execute("ROLLBACK")
        raise
    conn.outer = False
    conn.execute("COMMIT")

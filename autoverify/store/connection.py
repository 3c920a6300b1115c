"""The connection class and the one-transaction unit of work every store writer uses.

sqlite-utils commits inside its own `with conn:` blocks, which would split a snapshot's
results over several transactions. `TxConnection` makes those inner blocks join the
outer transaction opened by `transaction()`, so a crash leaves no partial snapshot.
Kept apart from db.py so that the migrations (schema.py) and db.py both use it
without importing each other.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal, cast

import sqlite_utils


class TxConnection(sqlite3.Connection):
    """A connection whose context-manager commits defer to an outer `transaction()`."""

    outer = False

    def __enter__(self) -> TxConnection:  # noqa: D105
        return self if self.outer else super().__enter__()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,  # noqa: D105
                 tb: TracebackType | None) -> Literal[False]:
        if not self.outer:
            super().__exit__(exc_type, exc, tb)
        return False

    def commit(self) -> None:
        if not self.outer:
            super().commit()


def table(db: sqlite_utils.Database, name: str) -> sqlite_utils.db.Table:
    """`db[name]` typed as the table it is here (the schema has no views)."""
    return cast(sqlite_utils.db.Table, db[name])


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """All writes inside commit together or not at all."""
    conn = cast(TxConnection, db.conn)
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

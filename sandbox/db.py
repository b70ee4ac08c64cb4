"""The sandbox's SQLite store: one file shared by the three services, each owning its own tables.

A restart with the same ``--state`` file keeps everything the services wrote. The services run on one
event loop, but admin calls and tests may touch the store from other threads, so every statement runs
under one lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Row = sqlite3.Row


class StateFileError(Exception):
    """The state file cannot be created or opened as an SQLite database; the message says which and why."""


class Database:
    """A thread-safe wrapper around one SQLite connection."""

    def __init__(self, path: Path | str) -> None:
        self._path = str(path)
        self._lock = threading.RLock()
        try:
            # A fresh checkout has no state folder yet (e.g. .work/): create it.
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise StateFileError(f"cannot create sandbox state file {path}: {reason}") from None
        try:
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            # A sandbox may lose its last write in a power cut; it must not fsync on every request.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as error:
            self._conn.close()
            raise StateFileError(f"cannot open sandbox state file {path}: {error}") from None

    def migrate(self, schema: str) -> None:
        """Create a service's tables (idempotent ``CREATE TABLE IF NOT EXISTS`` statements)."""
        with self._lock:
            self._conn.executescript(schema)

    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; returns the last inserted row id."""
        with self._lock:
            cursor = self._conn.execute(sql, tuple(params))
            return cursor.lastrowid or 0

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        with self._lock:
            return list(self._conn.execute(sql, tuple(params)).fetchall())

    def query_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        with self._lock:
            row: Row | None = self._conn.execute(sql, tuple(params)).fetchone()
            return row

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Several statements as one atomic unit (e.g. check-then-insert for dedupe)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

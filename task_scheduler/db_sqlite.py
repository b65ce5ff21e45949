"""The SQLite backend: one file on one machine, WAL mode, ``BEGIN IMMEDIATE`` writers.

SQLite serialises writers itself, so ``exclusive`` changes nothing here: every write
transaction is already the only one. Another process's commits show in ``PRAGMA
data_version``, which costs microseconds, so watchers poll it instead of re-reading the queue.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .db_backend import BUMP_REVISION, plain_key
from .errors import StoreUnavailable


class SqliteBackend:
    engine = "sqlite"
    claim_lock = ""

    def __init__(self, conn: sqlite3.Connection, label: str) -> None:
        self._conn = conn
        self.label = label
        self._data_version = 0

    @classmethod
    def open(cls, path: Path, *, busy_timeout_s: float) -> SqliteBackend:
        """Open (creating) the file, refuse a damaged one untouched, switch to WAL."""
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        backend = cls(conn, str(path))
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000):d}")
            backend._check_integrity()  # before anything writes to the file (WAL mode, migrations)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreUnavailable(f"{path}: could not switch to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            backend.close()
            raise StoreUnavailable(backend.explain(exc)) from exc
        except BaseException:
            backend.close()
            raise
        return backend

    def _check_integrity(self) -> None:
        """``PRAGMA quick_check``: refuse a damaged file before the first write touches it.

        A file with one bad page still opens and serves; writing to it (even the revision) can
        spread the damage. quick_check reads every page once (about a second at 100 000 tasks).
        """
        rows = [str(r[0]) for r in self._conn.execute("PRAGMA quick_check(5)").fetchall()]
        if rows != ["ok"]:
            raise StoreUnavailable(
                f"{self.label}: the task database is damaged (integrity check: {'; '.join(rows)[:300]}). "
                "It was left untouched; move it aside to start an empty queue, or restore a backup "
                "(sqlite3's .recover can save what is readable)."
            )

    @property
    def conn(self) -> sqlite3.Connection:
        return self._conn

    def begin(self, *, exclusive: bool) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def changes(self) -> int:
        return self._conn.total_changes

    def commit_revision(self) -> int:
        """Other processes see the commit in ``data_version``: nothing to send."""
        self._conn.execute(BUMP_REVISION)
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        self.commit()
        return int(row[0]) if row else 0

    def other_writers(self) -> bool:
        try:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            return False  # the next look tries again; a reader never fails on this
        if version == self._data_version:
            return False
        self._data_version = version
        return True

    def is_error(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.DatabaseError)

    def is_conflict(self, exc: BaseException) -> bool:
        return False  # BEGIN IMMEDIATE waits for the other writer instead of losing a race

    def explain(self, exc: BaseException) -> str:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return (
                f"{self.label}: the task database is locked by another process ({text}); "
                "is a second WebUI using it?"
            )
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return (
                f"{self.label}: the task database is unreadable ({text}). It was left untouched; "
                "move it aside to start an empty queue, or restore a backup."
            )
        return f"{self.label}: {text}"

    def reconnect_if_lost(self) -> None:
        """A file does not go away between two uses."""

    @contextmanager
    def migration_lock(self) -> Iterator[None]:
        yield  # each migration's BEGIN IMMEDIATE already excludes other processes

    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def apply_migration(self, version: int, script: str) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            if self.schema_version() >= version:  # another process applied it meanwhile
                self._conn.execute("ROLLBACK")
                return
            # executescript would COMMIT first; run statements one by one inside our transaction.
            for statement in statements(script):
                self._conn.execute(statement)
            self._conn.execute(f"PRAGMA user_version = {version:d}")
            self._conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise

    def json_number(self, column: str, key: str) -> str:
        return f"(CASE WHEN json_valid({column}) THEN json_extract({column}, '$.{plain_key(key)}') END)"

    def json_array_length(self, column: str, key: str) -> str:
        return f"(CASE WHEN json_valid({column}) THEN json_array_length({column}, '$.{plain_key(key)}') END)"

    def close(self) -> None:
        try:
            self._conn.close()
        except sqlite3.Error:
            pass


def statements(script: str) -> list[str]:
    """A script split into whole statements (a ``;`` inside a string literal stays put)."""
    parts: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                parts.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        parts.append(buffer.strip())
    return parts

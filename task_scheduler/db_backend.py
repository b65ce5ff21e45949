"""The seam between the store and a database engine (SQLite or PostgreSQL).

Why a seam this thin: every query in the package is written once, in the SQL both engines
understand (``?`` placeholders, ``ON CONFLICT``, no engine-only functions); a backend only
connects, runs transactions, counts changes, notices another process's commits and explains
its errors. :class:`~task_scheduler.store.Store` does everything else the same way on both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

#: every write that changed the queue bumps its revision (what ``/wait`` and other processes watch)
BUMP_REVISION = "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'revision'"


class Row(Protocol):
    """A result row readable by position and by column name (``sqlite3.Row`` is one)."""

    def __getitem__(self, key: int | str) -> Any: ...
    def keys(self) -> list[str]: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What queries use: ``execute`` with ``?`` placeholders and ``executemany``."""

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


class Backend(Protocol):
    """One open connection to one queue's tables, used under the store's lock."""

    #: "sqlite" or "postgresql"
    engine: str
    #: where, without credentials, for messages
    label: str
    #: appended to the claim's candidate query: row locks that other claimers skip
    claim_lock: str

    @property
    def conn(self) -> Connection: ...
    def begin(self, *, exclusive: bool) -> None:
        """Start a write transaction; ``exclusive``: one such writer at a time across processes."""

    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def changes(self) -> int:
        """A running count of rows this connection inserted, updated or deleted."""

    def commit_revision(self) -> int:
        """Bump the queue's revision (:data:`BUMP_REVISION`), tell other processes, and commit;
        the new revision. For a write transaction that changed rows."""

    def other_writers(self) -> bool:
        """Cheap, non-blocking: did another connection commit (or announce) since the last look?"""

    def is_error(self, exc: BaseException) -> bool:
        """True for the engine's own errors (they become ``StoreUnavailable``)."""

    def is_conflict(self, exc: BaseException) -> bool:
        """True when the transaction lost a race (deadlock, serialization) and may simply be retried."""

    def explain(self, exc: BaseException) -> str:
        """A message for the user, naming the store without credentials."""

    def reconnect_if_lost(self) -> None:
        """Before a use: open a new connection when the old one broke (raises when it cannot)."""

    def migration_lock(self) -> AbstractContextManager[None]: ...
    def schema_version(self) -> int: ...
    def apply_migration(self, version: int, script: str) -> None:
        """Run one migration script and record ``version`` in one transaction."""

    def json_number(self, column: str, key: str) -> str:
        """SQL: the number (or boolean as 1/0) at top-level ``key`` of a JSON text column, else NULL."""

    def json_array_length(self, column: str, key: str) -> str:
        """SQL: the length of the array at top-level ``key`` of a JSON text column, else NULL."""

    def close(self) -> None: ...


def plain_key(key: str) -> str:
    """``key`` when it can go into SQL text as a JSON key (the queries' own constants only)."""
    if not key.isidentifier():
        raise ValueError(f"not a plain JSON key: {key!r}")
    return key

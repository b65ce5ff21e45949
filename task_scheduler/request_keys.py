"""Idempotency keys: a client that sends a request again because it lost the answer (a timeout,
a dropped connection, a proxy's retry) queues its tasks once, not twice.

The client names the request (HTTP ``Idempotency-Key``). The first request with a key records,
in the transaction that queues its tasks, the key, a fingerprint of the request and what it
queued. The same key again gets what the first one queued; the same key with another request is
refused (a client bug: reusing a key would silently drop work). Keys are kept a day.

Two copies that arrive at once (PostgreSQL, two workers' APIs) both pass the first look; the
second one's insert then finds the key taken and rolls back (:class:`KeyTaken`), and the caller
answers with what the first one queued.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import InvalidTaskData, StoreConflict
from .gate import MAX_DEPTH, check_value

T = TypeVar("T")

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
#: how long a key is remembered: a client retries within minutes, not days
KEEP_SECONDS = 24 * 3600


class KeyTaken(Exception):
    """Raised inside the queueing transaction when another request recorded the key first."""


@dataclass(frozen=True)
class RequestKey:
    """A client's key for one request, with the fingerprint of that request."""

    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: str, request: Any) -> RequestKey:
        """``request``: JSON-able data that says what was asked (the route and its parsed body)."""
        if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
            raise InvalidTaskData(HEADER, f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
        # the body is not through the entry gate yet, and json.dumps recurses: its limits first
        check_value("body", request, max_depth=MAX_DEPTH + 16)
        canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
        return cls(key, hashlib.sha256(canonical.encode()).hexdigest())


@dataclass(frozen=True)
class Answered:
    """What the first request with a key queued."""

    task_ids: list[str]
    job_id: str | None


def answered(conn: Any, key: RequestKey, now: float) -> Answered | None:
    """What ``key`` queued within :data:`KEEP_SECONDS`; None for a new key.

    Raises :class:`InvalidTaskData` when the key was used for another request."""
    row = conn.execute(
        "SELECT fingerprint, task_ids, job_id FROM request_key WHERE id = ? AND created_at >= ?",
        (key.key, now - KEEP_SECONDS),
    ).fetchone()
    if row is None:
        return None
    if row[0] != key.fingerprint:
        raise InvalidTaskData(HEADER, "this key was used for another request; use a new key for each request")
    try:
        task_ids = json.loads(row[1])
    except (TypeError, ValueError):
        task_ids = None
    job_id = row[2]
    if not isinstance(task_ids, list) or not all(isinstance(i, str) for i in task_ids):
        task_ids = None
    if task_ids is None or not (job_id is None or isinstance(job_id, str)):  # a hand-edited row
        raise InvalidTaskData(HEADER, "what this key queued cannot be read back; use a new key")
    return Answered(task_ids=task_ids, job_id=job_id)


def once(
    answered_by: Callable[[RequestKey], Answered | None], key: RequestKey | None, queue: Callable[[], T]
) -> T | Answered:
    """``queue()`` (which records ``key``), unless an earlier request with ``key`` queued already:
    then what that one queued. ``answered_by``: :meth:`TaskQueue.answered`."""
    found = answered_by(key) if key is not None else None
    if found is not None:
        return found
    try:
        return queue()
    except KeyTaken:
        assert key is not None  # only a recorded key is taken
        found = answered_by(key)
        if found is None:  # pragma: no cover - the winner committed before this insert failed
            raise StoreConflict("an Idempotency-Key was taken, then lost; send the request again") from None
        return found


def record(conn: Any, key: RequestKey, task_ids: list[str], job_id: str | None, now: float) -> None:
    """Remember what ``key`` queued, in the caller's queueing transaction; forget expired keys.

    Raises :class:`KeyTaken` when another request holds the key (the transaction must roll back)."""
    conn.execute("DELETE FROM request_key WHERE created_at < ?", (now - KEEP_SECONDS,))
    cursor = conn.execute(
        "INSERT INTO request_key (id, fingerprint, task_ids, job_id, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO NOTHING",
        (key.key, key.fingerprint, json.dumps(task_ids), job_id, now),
    )
    if cursor.rowcount != 1:
        raise KeyTaken(key.key)


__all__ = ["HEADER", "KEEP_SECONDS", "Answered", "KeyTaken", "RequestKey", "answered", "once", "record"]

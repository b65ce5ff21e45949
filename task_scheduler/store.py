"""Persistence for tasks: one connection policy, one transaction helper, one status writer.

Why one shared connection behind a lock: the queue lives inside a WebUI process where the
executor, gradio handlers and HTTP routes all touch it from different threads. Serialising them
in Python means the database never has to arbitrate between our own writers, so "database is
locked" (or an unreachable server) can only come from *outside* this process, which we report
as :class:`StoreUnavailable` instead of failing a random request. The engine (SQLite file or
PostgreSQL server) sits behind :mod:`.db_backend`; every query here is written once for both.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .db_backend import Backend, Connection, Row
from .db_location import StoreLocation, parse_location
from .db_sqlite import SqliteBackend
from .errors import InvalidTransition, StoreConflict, StoreUnavailable, TaskNotFound
from .migrations import migrate
from .task import Task, TaskResult, TaskStatus, allowed_sources, checkpoint_key, damaged_task

#: Columns a caller may write through :meth:`Store.update_fields`; ``status`` is deliberately absent.
UPDATABLE = frozenset(
    {
        "name",
        "params",
        "script_args",
        "script_name",
        "checkpoint",
        "priority",
        "position",
        "pinned",
        "job_id",
        "bookmarked",
        "started_at",
        "finished_at",
        "result",
        "error",
        "warnings",
        "attempts",
        "crashes",
        "user",
        "callback_url",
        "worker_id",
        "lease_expires_at",
        "worker_pin",
        "stop_request",
        "progress",
        "not_before",
        "repeat_times",
        "repeat_round",
        "repeat_keep_seeds",
        "repeat_stopped",
        "repeat_series",
        "batching",
        "batch_id",
    }
)
_JSON_COLUMNS = frozenset({"params", "script_args", "warnings"})
#: how often a store that someone watches looks for another process's commits (``data_version``)
WATCH_INTERVAL_S = 0.1

TASK_COLUMNS = (
    "id, kind, name, status, params, script_args, script_name, checkpoint, source, priority, position, "
    "pinned, job_id, bookmarked, created_at, updated_at, started_at, finished_at, result, error, warnings, "
    "attempts, crashes, user, callback_url, requeued_from, worker_id, lease_expires_at, worker_pin, "
    "not_before, repeat_times, repeat_round, repeat_keep_seeds, repeat_stopped, repeat_series, needs_webui, "
    "batching, batch_id"
)


def search_text(name: str, params: dict[str, Any], checkpoint: str | None) -> str:
    """The lower-cased text history search matches against (name, prompt, checkpoint)."""
    prompt = params.get("prompt") if isinstance(params.get("prompt"), str) else ""
    return f"{name} {prompt} {checkpoint or ''}".lower()


class Store:
    """Owns the queue's database. Every public read or write goes through :meth:`read` / :meth:`write`.

    ``location``: a SQLite file path, or a ``postgresql://`` URL (:mod:`.db_location`).
    """

    def __init__(
        self,
        location: str | Path | StoreLocation,
        *,
        busy_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.location = location if isinstance(location, StoreLocation) else parse_location(location)
        self.clock = clock
        self._lock = threading.RLock()
        self._revision_changed = threading.Condition(self._lock)
        self._closed = False
        self._watchers: list[Callable[[], None]] = []
        self._watch_thread: threading.Thread | None = None
        self._in_write = False
        #: what the last look for other processes' commits met when it could not read the store
        self._outage: str | None = None
        self._backend = _open_backend(self.location, busy_timeout_s)
        try:
            migrate(self._backend)
            self._revision = int(self._meta("revision", "0"))
            self._backend.other_writers()  # start looking from here
        except BaseException as exc:
            self._backend.close()
            if self._backend.is_error(exc):
                raise StoreUnavailable(self._backend.explain(exc)) from exc
            raise

    @property
    def path(self) -> Path:
        """The SQLite file (a PostgreSQL store has none: ask :attr:`location`)."""
        if self.location.path is None:
            raise AttributeError("a PostgreSQL store has no file path")
        return self.location.path

    @property
    def engine(self) -> str:
        return self._backend.engine

    @property
    def claim_lock(self) -> str:
        """SQL appended to a claim's candidate query: skip rows another claimer holds."""
        return self._backend.claim_lock

    def unindexed(self, column: str) -> str:
        """``column`` as the planner must not use an index for (SQLite's unary ``+``)."""
        return f"+{column}" if self._backend.engine == "sqlite" else column

    def json_number(self, column: str, key: str) -> str:
        """SQL for the number at ``key`` of the JSON text in ``column`` (NULL when not JSON)."""
        return self._backend.json_number(column, key)

    def json_array_length(self, column: str, key: str) -> str:
        """SQL for the length of the array at ``key`` of the JSON in ``column`` (NULL when none)."""
        return self._backend.json_array_length(column, key)

    # -- connection and transactions -------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._backend.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._lock:
            self._check_open()
            try:
                self._backend.reconnect_if_lost()
                yield self._backend.conn
            except Exception as exc:
                if self._backend.is_error(exc):
                    raise StoreUnavailable(self._backend.explain(exc)) from exc
                raise

    @contextmanager
    def write(self, *, quiet: bool = False, exclusive: bool = True) -> Iterator[Connection]:
        """One write transaction that bumps the revision when it changed a row.

        A transaction that changed nothing (the executor's idle ``claim_next``) leaves the
        revision alone, so it wakes no ``/wait`` client. ``quiet``: a change nobody needs to be
        woken for (a heartbeat, a lease renewal, a progress step) leaves it alone too.
        ``exclusive`` (PostgreSQL; SQLite always is): no other process writes meanwhile. Only a
        claim, which locks its own rows, and quiet writes, which touch their own worker's rows,
        may share. A write begun inside another (the same thread: a file put while a delete
        decides what to remove) joins it: one transaction, committed by the outer one.
        """
        with self._lock:
            self._check_open()
            if self._in_write:
                yield self._backend.conn
                return
            backend = self._backend
            try:
                backend.reconnect_if_lost()
                backend.begin(exclusive=exclusive and not quiet)
            except Exception as exc:
                if backend.is_error(exc):
                    backend.rollback()
                    raise StoreUnavailable(backend.explain(exc)) from exc
                raise
            changed = False
            self._in_write = True
            try:
                before = backend.changes()
                yield backend.conn
                changed = not quiet and backend.changes() != before
                if changed:
                    revision = backend.commit_revision()  # other processes bump it too
                else:
                    backend.commit()
            except BaseException as exc:
                backend.rollback()
                if backend.is_conflict(exc):
                    raise StoreConflict(backend.explain(exc)) from exc
                if backend.is_error(exc):
                    raise StoreUnavailable(backend.explain(exc)) from exc
                raise
            finally:
                self._in_write = False
            if changed:
                self._revision = revision
                self._revision_changed.notify_all()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"{self.location}: the task store is closed")

    # -- revision ----------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        return self._revision

    def wait_for_revision(self, since: int, timeout: float) -> int:
        """Block until the revision differs from ``since`` or ``timeout`` passes; return it.

        Another process's commit counts too: the wait looks for one every ``WATCH_INTERVAL_S``.
        Raises ``StoreUnavailable`` as soon as a look finds the store out of reach (a database
        server that went away): a waiting page says so instead of showing a queue that is no
        longer true; it waits again once the store is back.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            while self._revision == since and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._revision_changed.wait(min(remaining, WATCH_INTERVAL_S))
                self._look_for_other_writers()
                if self._outage is not None:
                    raise StoreUnavailable(self._outage)
            return self._revision

    def _look_for_other_writers(self) -> bool:
        """True when another process committed a change that bumped the revision.

        The backend's look costs microseconds (SQLite's ``data_version``, PostgreSQL's pending
        notifications), so a waiting process polls it instead of re-reading the queue.
        """
        with self._lock:
            if self._closed:
                return False
            if not self._backend.other_writers() and self._outage is None:
                return False  # nothing new; after an outage, read until the store answers again
            try:
                self._backend.reconnect_if_lost()
                revision = int(self._meta("revision", "0"))
            except Exception as exc:
                if isinstance(exc, StoreUnavailable) or self._backend.is_error(exc):
                    # the next look reads again, news or not, until the store answers
                    self._outage = (
                        str(exc) if isinstance(exc, StoreUnavailable) else self._backend.explain(exc)
                    )
                    return False
                raise
            self._outage = None
            if revision == self._revision:
                return False  # a quiet write (heartbeat, progress) elsewhere
            self._revision = revision
            self._revision_changed.notify_all()
            return True

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` (from a watcher thread) after another process changed the queue.

        The thread runs while anyone watches; returns the function that stops watching.
        """
        with self._lock:
            self._watchers.append(callback)
            if self._watch_thread is None or not self._watch_thread.is_alive():
                self._watch_thread = threading.Thread(
                    target=self._watch_loop, name="task-scheduler-store-watch", daemon=True
                )
                self._watch_thread.start()

        def unwatch() -> None:
            with self._lock:
                if callback in self._watchers:
                    self._watchers.remove(callback)

        return unwatch

    def _watch_loop(self) -> None:
        while True:
            time.sleep(WATCH_INTERVAL_S)
            with self._lock:
                if self._closed or not self._watchers:
                    self._watch_thread = None
                    return
                watchers = list(self._watchers)
            if self._look_for_other_writers():
                for callback in watchers:
                    try:
                        callback()
                    except Exception:  # pragma: no cover - a watcher must not end the loop
                        logging.getLogger(__name__).exception("store watcher failed")

    # -- meta key/value ----------------------------------------------------------------------

    def _meta(self, key: str, default: str) -> str:
        row = self._backend.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def get_meta(self, key: str, default: str = "") -> str:
        with self.read():
            return self._meta(key, default)

    @staticmethod
    def meta(conn: Connection, key: str, default: str = "") -> str:
        """A meta value read inside a transaction the caller holds."""
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    @staticmethod
    def set_meta(conn: Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- tasks -------------------------------------------------------------------------------

    @staticmethod
    def insert(conn: Connection, task: Task) -> None:
        conn.execute(
            f"INSERT INTO task ({TASK_COLUMNS}, checkpoint_key, search_text) "
            f"VALUES ({', '.join('?' for _ in range(TASK_COLUMNS.count(',') + 3))})",
            (
                task.id,
                task.kind,
                task.name,
                task.status.value,
                json.dumps(task.params, ensure_ascii=False, allow_nan=False),
                json.dumps(task.script_args, ensure_ascii=False, allow_nan=False),
                task.script_name,
                task.checkpoint,
                task.source,
                task.priority,
                task.position,
                int(task.pinned),
                task.job_id,
                int(task.bookmarked),
                task.created_at,
                task.updated_at,
                task.started_at,
                task.finished_at,
                task.result.to_json() if task.result else None,
                task.error,
                json.dumps(task.warnings),
                task.attempts,
                task.crashes,
                task.user,
                task.callback_url,
                task.requeued_from,
                task.worker_id,
                task.lease_expires_at,
                task.worker_pin,
                task.not_before,
                task.repeat_times,
                task.repeat_round,
                int(task.repeat_keep_seeds),
                int(task.repeat_stopped),
                task.repeat_series,
                task.needs_webui,
                task.batching,
                task.batch_id,
                checkpoint_key(task.checkpoint),
                search_text(task.name, task.params, task.checkpoint),
            ),
        )

    @staticmethod
    def attach_files(conn: Connection, task_id: str, refs: Iterable[str]) -> None:
        conn.executemany(
            "INSERT INTO task_file (task_id, ref) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(task_id, r) for r in refs],
        )

    @staticmethod
    def files_of(conn: Connection, task_id: str) -> list[str]:
        return [
            r[0] for r in conn.execute("SELECT ref FROM task_file WHERE task_id = ? ORDER BY ref", (task_id,))
        ]

    @staticmethod
    def delete_tasks(conn: Connection, where: str, args: Iterable[Any] = ()) -> tuple[list[str], list[str]]:
        """Delete matching tasks; return their ids and the file references nobody uses any more."""
        args = tuple(args)
        ids = [r[0] for r in conn.execute(f"SELECT id FROM task WHERE {where}", args)]
        if not ids:
            return [], []
        refs = {
            r[0]
            for r in conn.execute(
                f"SELECT DISTINCT ref FROM task_file WHERE task_id IN (SELECT id FROM task WHERE {where})",
                args,
            )
        }
        conn.execute(f"DELETE FROM task WHERE {where}", args)
        return ids, Store.unused_refs(conn, refs)

    @staticmethod
    def unused_refs(conn: Connection, refs: Iterable[str]) -> list[str]:
        """The file references no task and no saved task uses (any more)."""
        return [
            ref
            for ref in sorted(set(refs))
            if conn.execute(
                "SELECT 1 FROM task_file WHERE ref = ? UNION ALL SELECT 1 FROM saved_task_file WHERE ref = ? "
                "LIMIT 1",
                (ref, ref),
            ).fetchone()
            is None
        ]

    @staticmethod
    def fetch(conn: Connection, task_id: str) -> Task:
        row = conn.execute(f"SELECT {TASK_COLUMNS} FROM task WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise TaskNotFound(task_id)
        return row_to_task(row)

    @staticmethod
    def fetch_many(conn: Connection, sql_tail: str, args: Iterable[Any] = ()) -> list[Task]:
        rows = conn.execute(f"SELECT {TASK_COLUMNS} FROM task {sql_tail}", tuple(args)).fetchall()
        return [row_to_task(row) for row in rows]

    def transition(
        self,
        conn: Connection,
        task_id: str,
        target: TaskStatus,
        *,
        only_from: Iterable[TaskStatus] | None = None,
        action: str | None = None,
        owner: str | None = None,
        **fields: Any,
    ) -> None:
        """The only status writer: a guarded UPDATE that refuses a move the lifecycle forbids.

        ``owner``: only while that worker holds the task (a worker whose lease was taken over
        must not record an outcome over the task's new run).
        """
        sources = allowed_sources(target)
        if only_from is not None:
            sources = sources & frozenset(only_from)
        assignments, values = _assignments(fields)
        assignments.insert(0, "status = ?")
        values.insert(0, target.value)
        placeholders = ", ".join("?" for _ in sources) or "NULL"
        guard = "" if owner is None else " AND worker_id = ?"
        cursor = conn.execute(
            f"UPDATE task SET {', '.join(assignments)}, updated_at = ? "
            f"WHERE id = ? AND status IN ({placeholders}){guard}",
            (*values, self.clock(), task_id, *(s.value for s in sources), *([owner] if owner else [])),
        )
        if cursor.rowcount != 1:
            raise self._refusal(conn, task_id, target, action)

    def update_fields(
        self,
        conn: Connection,
        task_id: str,
        fields: dict[str, Any],
        *,
        require: Iterable[TaskStatus] | None = None,
        action: str = "change it",
    ) -> None:
        """Write only the given columns; with ``require``, only while the task is in those states."""
        assignments, values = _assignments(fields)
        if "name" in fields or "params" in fields or "checkpoint" in fields:
            current = self.fetch(conn, task_id)
            name = fields.get("name", current.name)
            params = fields.get("params", current.params)
            checkpoint = fields.get("checkpoint", current.checkpoint)
            assignments.append("search_text = ?")
            values.append(search_text(name, params, checkpoint))
        sql = f"UPDATE task SET {', '.join(assignments)}, updated_at = ? WHERE id = ?"
        args: list[Any] = [*values, self.clock(), task_id]
        if require is not None:
            statuses = [s.value for s in require]
            sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
            args.extend(statuses)
        cursor = conn.execute(sql, args)
        if cursor.rowcount != 1:
            raise self._refusal(conn, task_id, None, action)

    @staticmethod
    def _refusal(conn: Connection, task_id: str, target: TaskStatus | None, action: str | None) -> Exception:
        row = conn.execute("SELECT status FROM task WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            return TaskNotFound(task_id)
        return InvalidTransition(task_id, row[0], target.value if target else "", action)


def _assignments(fields: dict[str, Any]) -> tuple[list[str], list[Any]]:
    assignments: list[str] = []
    values: list[Any] = []
    for column, value in fields.items():
        if column not in UPDATABLE:
            raise ValueError(f"column {column!r} cannot be updated this way")
        if column in _JSON_COLUMNS:
            value = json.dumps(value, ensure_ascii=False, allow_nan=False)
        elif column == "result":
            value = value.to_json() if isinstance(value, TaskResult) else value
        elif column in ("pinned", "bookmarked", "repeat_keep_seeds", "repeat_stopped"):
            value = int(bool(value))
        assignments.append(f"{column} = ?")
        values.append(value)
        if column == "checkpoint":
            assignments.append("checkpoint_key = ?")
            values.append(checkpoint_key(value))
    return assignments, values


#: a row's scalar columns and the Python types every engine reads them as; SQLite keeps whatever
#: was written (a hand edit's text in a time column), and a view of such a row would fail
_TIME_COLUMNS = ("created_at", "updated_at", "started_at", "finished_at", "lease_expires_at", "not_before")
_INT_COLUMNS = ("priority", "attempts", "crashes", "repeat_times", "repeat_round")
_TEXT_COLUMNS = (
    "kind", "source", "script_name", "checkpoint", "job_id", "error", "user", "callback_url",
    "requeued_from", "worker_id", "worker_pin", "repeat_series", "needs_webui", "batching", "batch_id",
)  # fmt: skip
#: the timestamps an ISO 8601 view can show (years 1 to 9999)
_TIME_RANGE = (-62135596800.0, 253402300799.0)


def _wrong_columns(task: Task) -> list[str]:
    """The scalar columns of ``task`` whose value no code of this extension writes."""

    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    wrong = []
    for name in _TIME_COLUMNS:
        value = getattr(task, name)
        required = name in ("created_at", "updated_at")
        if value is None and not required:
            continue
        if not number(value) or not _TIME_RANGE[0] <= value <= _TIME_RANGE[1]:
            wrong.append(name)
    for name in _INT_COLUMNS:
        value = getattr(task, name)
        if not (isinstance(value, int) and not isinstance(value, bool)) and not (
            value is None and name == "repeat_times"
        ):
            wrong.append(name)
    if not number(task.position) or not math.isfinite(task.position):
        wrong.append("position")
    wrong += [name for name in _TEXT_COLUMNS if not isinstance(getattr(task, name), (str, type(None)))]
    return wrong


def row_to_task(row: Row) -> Task:
    """The row as a task; a row that cannot be read becomes a damaged task naming why."""
    try:
        task = _read_row(row)
        shapes = ((task.params, dict), (task.script_args, dict), (task.warnings, list), (task.name, str))
        if not all(isinstance(value, kind) for value, kind in shapes):
            raise ValueError("params, script_args, warnings or name have the wrong type")
        wrong = _wrong_columns(task)
        if wrong:
            raise ValueError(f"{', '.join(wrong)}: not a value this extension writes")
        return task
    except Exception as exc:  # any column may hold anything: it was written outside this code
        return damaged_task(row, f"the stored task cannot be read ({type(exc).__name__}: {exc})"[:500])


def _read_row(row: Row) -> Task:
    return Task(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        status=TaskStatus(row["status"]),
        params=json.loads(row["params"]),
        script_args=json.loads(row["script_args"]),
        script_name=row["script_name"],
        checkpoint=row["checkpoint"],
        source=row["source"],
        priority=row["priority"],
        position=row["position"],
        pinned=bool(row["pinned"]),
        job_id=row["job_id"],
        bookmarked=bool(row["bookmarked"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        result=TaskResult.from_json(row["result"]),
        error=row["error"],
        warnings=json.loads(row["warnings"]),
        attempts=row["attempts"],
        crashes=row["crashes"],
        user=row["user"],
        callback_url=row["callback_url"],
        requeued_from=row["requeued_from"],
        worker_id=row["worker_id"],
        lease_expires_at=row["lease_expires_at"],
        worker_pin=row["worker_pin"],
        not_before=row["not_before"],
        repeat_times=row["repeat_times"],
        repeat_round=row["repeat_round"],
        repeat_keep_seeds=bool(row["repeat_keep_seeds"]),
        repeat_stopped=bool(row["repeat_stopped"]),
        repeat_series=row["repeat_series"],
        needs_webui=row["needs_webui"],
        batching=row["batching"],
        batch_id=row["batch_id"],
    )


def _open_backend(location: StoreLocation, busy_timeout_s: float) -> Backend:
    try:
        if location.is_postgres:
            from .db_postgres import PostgresBackend

            return PostgresBackend(location, connect_timeout_s=busy_timeout_s)
        assert location.path is not None
        return SqliteBackend.open(location.path, busy_timeout_s=busy_timeout_s)
    except sqlite3.DatabaseError as exc:  # the file cannot even be opened
        raise StoreUnavailable(f"{location}: {exc}") from exc
    except ImportError as exc:
        raise StoreUnavailable(
            f"{location}: a PostgreSQL store needs psycopg 3 (pip install 'psycopg[binary]'; "
            "the extension's install.py installs it when the URL is configured): {exc}"
        ) from exc

"""SQLite persistence for tasks: one connection policy, one transaction helper, one status writer.

Why one shared connection behind a lock: the queue lives inside a WebUI process where the
executor, gradio handlers and HTTP routes all touch it from different threads. Serialising them
in Python means SQLite never has to arbitrate between our own writers, so "database is locked"
can only come from *another process* holding the file, which we report as
:class:`StoreUnavailable` instead of failing a random request.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import InvalidTransition, StoreUnavailable, TaskNotFound
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
    }
)
_JSON_COLUMNS = frozenset({"params", "script_args", "warnings"})
#: how often a store that someone watches looks for another process's commits (``data_version``)
WATCH_INTERVAL_S = 0.1

TASK_COLUMNS = (
    "id, kind, name, status, params, script_args, script_name, checkpoint, source, priority, position, "
    "pinned, job_id, bookmarked, created_at, updated_at, started_at, finished_at, result, error, warnings, "
    "attempts, crashes, user, callback_url, requeued_from, worker_id, lease_expires_at, worker_pin, "
    "not_before, repeat_times, repeat_round, repeat_keep_seeds, repeat_stopped, repeat_series"
)


def search_text(name: str, params: dict[str, Any], checkpoint: str | None) -> str:
    """The lower-cased text history search matches against (name, prompt, checkpoint)."""
    prompt = params.get("prompt") if isinstance(params.get("prompt"), str) else ""
    return f"{name} {prompt} {checkpoint or ''}".lower()


class Store:
    """Owns the database file. Every public read or write goes through :meth:`read` / :meth:`write`."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.RLock()
        self._revision_changed = threading.Condition(self._lock)
        self._closed = False
        self._watchers: list[Callable[[], None]] = []
        self._watch_thread: threading.Thread | None = None
        self._data_version = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                str(self.path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000):d}")
            self._check_integrity()  # before anything writes to the file (WAL mode, migrations)
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreUnavailable(f"{self.path}: could not switch to WAL mode (got {mode})")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            migrate(self._conn)
            self._revision = int(self._meta("revision", "0"))
            self._data_version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self._conn_close_quietly()
            raise StoreUnavailable(_explain(self.path, exc)) from exc
        except StoreUnavailable:
            self._conn_close_quietly()
            raise

    def _check_integrity(self) -> None:
        """``PRAGMA quick_check``: refuse a damaged file before the first write touches it.

        A file with one bad page still opens and serves; writing to it (even the revision) can
        spread the damage. quick_check reads every page once (about a second at 100 000 tasks).
        """
        rows = [str(r[0]) for r in self._conn.execute("PRAGMA quick_check(5)").fetchall()]
        if rows != ["ok"]:
            raise StoreUnavailable(_damaged(self.path, "; ".join(rows)))

    def _conn_close_quietly(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    # -- connection and transactions -------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._check_open()
            try:
                yield self._conn
            except sqlite3.DatabaseError as exc:
                raise StoreUnavailable(_explain(self.path, exc)) from exc

    @contextmanager
    def write(self, *, quiet: bool = False) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction that bumps the revision when it changed a row.

        A transaction that changed nothing (the executor's idle ``claim_next``) leaves the
        revision alone, so it wakes no ``/wait`` client. ``quiet``: a change nobody needs to be
        woken for (a heartbeat, a lease renewal, a progress step) leaves it alone too.
        """
        with self._lock:
            self._check_open()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise StoreUnavailable(_explain(self.path, exc)) from exc
            changed = False
            try:
                before = self._conn.total_changes
                yield self._conn
                changed = not quiet and self._conn.total_changes != before
                if changed:
                    self._conn.execute(
                        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'"
                    )
                    revision = int(self._meta("revision", "0"))  # other processes bump it too
                self._conn.execute("COMMIT")
            except BaseException as exc:
                try:
                    self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if isinstance(exc, sqlite3.DatabaseError):
                    raise StoreUnavailable(_explain(self.path, exc)) from exc
                raise
            if changed:
                self._revision = revision
                self._revision_changed.notify_all()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"{self.path}: the task store is closed")

    # -- revision ----------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        return self._revision

    def wait_for_revision(self, since: int, timeout: float) -> int:
        """Block until the revision differs from ``since`` or ``timeout`` passes; return it.

        Another process's commit counts too: the wait looks for one every ``WATCH_INTERVAL_S``.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            while self._revision == since and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._revision_changed.wait(min(remaining, WATCH_INTERVAL_S))
                self._look_for_other_writers()
            return self._revision

    def _look_for_other_writers(self) -> bool:
        """True when another connection committed a change that bumped the revision.

        ``PRAGMA data_version`` changes only when *another* connection committed, and costs
        microseconds, so a waiting process polls it instead of re-reading the queue.
        """
        with self._lock:
            if self._closed:
                return False
            try:
                version = self._conn.execute("PRAGMA data_version").fetchone()[0]
                if version == self._data_version:
                    return False
                self._data_version = version
                revision = int(self._meta("revision", "0"))
            except sqlite3.DatabaseError:
                return False  # the next look tries again; a reader never fails on this
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
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def get_meta(self, key: str, default: str = "") -> str:
        with self.read():
            return self._meta(key, default)

    @staticmethod
    def meta(conn: sqlite3.Connection, key: str, default: str = "") -> str:
        """A meta value read inside a transaction the caller holds."""
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    @staticmethod
    def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- tasks -------------------------------------------------------------------------------

    @staticmethod
    def insert(conn: sqlite3.Connection, task: Task) -> None:
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
                checkpoint_key(task.checkpoint),
                search_text(task.name, task.params, task.checkpoint),
            ),
        )

    @staticmethod
    def attach_files(conn: sqlite3.Connection, task_id: str, refs: Iterable[str]) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO task_file (task_id, ref) VALUES (?, ?)", [(task_id, r) for r in refs]
        )

    @staticmethod
    def files_of(conn: sqlite3.Connection, task_id: str) -> list[str]:
        return [
            r[0] for r in conn.execute("SELECT ref FROM task_file WHERE task_id = ? ORDER BY ref", (task_id,))
        ]

    @staticmethod
    def delete_tasks(
        conn: sqlite3.Connection, where: str, args: Iterable[Any] = ()
    ) -> tuple[list[str], list[str]]:
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
    def unused_refs(conn: sqlite3.Connection, refs: Iterable[str]) -> list[str]:
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
    def fetch(conn: sqlite3.Connection, task_id: str) -> Task:
        row = conn.execute(f"SELECT {TASK_COLUMNS} FROM task WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise TaskNotFound(task_id)
        return row_to_task(row)

    @staticmethod
    def fetch_many(conn: sqlite3.Connection, sql_tail: str, args: Iterable[Any] = ()) -> list[Task]:
        rows = conn.execute(f"SELECT {TASK_COLUMNS} FROM task {sql_tail}", tuple(args)).fetchall()
        return [row_to_task(row) for row in rows]

    def transition(
        self,
        conn: sqlite3.Connection,
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
        conn: sqlite3.Connection,
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
    def _refusal(
        conn: sqlite3.Connection, task_id: str, target: TaskStatus | None, action: str | None
    ) -> Exception:
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


def row_to_task(row: sqlite3.Row) -> Task:
    """The row as a task; a row that cannot be read becomes a damaged task naming why."""
    try:
        task = _read_row(row)
        shapes = ((task.params, dict), (task.script_args, dict), (task.warnings, list), (task.name, str))
        if not all(isinstance(value, kind) for value, kind in shapes):
            raise ValueError("params, script_args, warnings or name have the wrong type")
        return task
    except Exception as exc:  # any column may hold anything: it was written outside this code
        return damaged_task(row, f"the stored task cannot be read ({type(exc).__name__}: {exc})"[:500])


def _read_row(row: sqlite3.Row) -> Task:
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
    )


def _damaged(path: Path, detail: str) -> str:
    return (
        f"{path}: the task database is damaged (integrity check: {detail[:300]}). It was left untouched; "
        "move it aside to start an empty queue, or restore a backup "
        "(sqlite3's .recover can save what is readable)."
    )


def _explain(path: Path, exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"{path}: the task database is locked by another process ({text}); is a second WebUI using it?"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (
            f"{path}: the task database is unreadable ({text}). It was left untouched; "
            "move it aside to start an empty queue, or restore a backup."
        )
    return f"{path}: {text}"

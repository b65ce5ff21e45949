"""Saved tasks: named templates you queue again (the seed extension's "bookmarks", AS#32 presets).

A saved task holds what a task holds before it runs — kind, named params, script args by title,
checkpoint, its input files — and never runs itself: *queue* turns it into new pending tasks
(the same seed, or new random seeds), and it can be the base of a sweep. It is not the star on a
finished task (``Task.bookmarked``), which only keeps that task in the history.

Rows live in ``saved_task``; the files they use in ``saved_task_file``, which the store counts
as users of a file like ``task_file`` (:meth:`Store.unused_refs`), so deleting the task a saved
task was made from never deletes its init image.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .errors import InvalidTaskData, TaskNotFound
from .store import Store
from .task import (
    MAX_NAME_LENGTH,
    NewTask,
    Task,
    ensure_json,
    merge_changes,
    new_task_id,
    validate_new_task,
)
from .task_queue import TaskQueue

#: the most tasks one "queue this saved task" makes
MAX_COPIES = 1000
_COLUMNS = (
    "id, name, kind, params, script_args, script_name, checkpoint, source, user, created_at, updated_at, "
    "needs_webui"
)


class SavedTaskNotFound(TaskNotFound):
    """Answered like a missing task (404), with its own words."""

    def __init__(self, saved_id: str) -> None:
        super().__init__(saved_id)
        self.args = (f"no saved task with id {saved_id!r}",)


@dataclass
class SavedTask:
    id: str
    name: str
    kind: str
    params: dict[str, Any]
    script_args: dict[str, Any] = field(default_factory=dict)
    script_name: str | None = None
    checkpoint: str | None = None
    source: str = "api"
    user: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    files: list[str] = field(default_factory=list)
    #: the WebUI family whose argument names it holds (see :attr:`Task.needs_webui`)
    needs_webui: str | None = None
    #: why the stored row cannot be read, for a row that was damaged on disk
    damaged: str | None = None

    def as_new_task(self, *, seed: int | None = None, user: str | None = None) -> NewTask:
        """A pending task from this template; ``seed`` replaces the stored one when given."""
        if self.damaged:
            raise InvalidTaskData("saved", f"saved task {self.id} is {self.damaged}; delete it")
        params = dict(self.params)
        if seed is not None:
            params["seed"] = seed
        return NewTask(
            kind=self.kind,
            params=params,
            name=self.name,
            script_args=self.script_args,
            script_name=self.script_name,
            checkpoint=self.checkpoint,
            source=self.source,
            user=user or self.user,
            files=list(self.files),
            needs_webui=self.needs_webui,
        )

    def as_pending_task(self) -> Task:
        """The template seen as a pending task, for checks written for pending tasks (edits)."""
        return Task(
            id=self.id,
            kind=self.kind,
            params=self.params,
            name=self.name,
            script_args=self.script_args,
            script_name=self.script_name,
            checkpoint=self.checkpoint,
            source=self.source,
            user=self.user,
            needs_webui=self.needs_webui,
        )


def _json_object(text: Any) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"expected an object, found {type(value).__name__}")
    return value


#: the text columns of a saved task, shown as they are
_TEXT = ("name", "kind", "script_name", "checkpoint", "source", "user", "needs_webui")
#: the timestamps an ISO 8601 view can show (years 1 to 9999)
_TIME_RANGE = (-62135596800.0, 253402300799.0)


def _row(row: sqlite3.Row, files: list[str]) -> SavedTask:
    """A row as a saved task; one that cannot be read is listed as damaged (and can be deleted).

    SQLite keeps any value in any column (a hand edit): a value this code never writes there
    makes the row damaged, shown with what is readable, instead of failing the whole listing.
    """
    problems = []
    try:
        params, script_args = _json_object(row["params"]), _json_object(row["script_args"])
    except (TypeError, ValueError) as exc:
        params, script_args = {}, {}
        problems.append(str(exc))
    text = {}
    for name in _TEXT:
        value = row[name]
        if value is not None and not isinstance(value, str):
            problems.append(f"{name} is not text")
            value = None
        text[name] = value
    times = {}
    for name in ("created_at", "updated_at"):
        value = row[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{name} is not a time")
            value = 0.0
        elif not _TIME_RANGE[0] <= value <= _TIME_RANGE[1]:
            problems.append(f"{name} is out of range")
            value = 0.0
        times[name] = float(value)
    return SavedTask(
        id=str(row["id"]),
        name=text["name"] or "",
        kind=text["kind"] or "",
        damaged=f"damaged: {'; '.join(problems)}" if problems else None,
        params=params,
        script_args=script_args,
        script_name=text["script_name"],
        checkpoint=text["checkpoint"],
        source=text["source"] or "",
        user=text["user"],
        created_at=times["created_at"],
        updated_at=times["updated_at"],
        files=files,
        needs_webui=text["needs_webui"],
    )


class SavedTasks:
    """Save, list, edit, delete and queue saved tasks; every write is one store transaction."""

    def __init__(self, queue: TaskQueue) -> None:
        self.queue = queue
        self.store: Store = queue.store

    # -- saving ------------------------------------------------------------------------------

    @staticmethod
    def check(new: NewTask, name: str) -> str:
        """Raise what :meth:`save` would refuse (the entry gate, the name); the name it keeps."""
        validate_new_task(new)
        return _check_name(name)

    def save(self, new: NewTask, name: str) -> SavedTask:
        """Save what would be queued as ``new`` (a capture, an API body) under ``name``."""
        name = self.check(new, name)
        now = self.store.clock()
        saved = SavedTask(
            id=new_task_id(),
            name=name,
            kind=new.kind,
            params=new.params,
            script_args=new.script_args,
            script_name=new.script_name,
            checkpoint=new.checkpoint,
            source=new.source,
            user=new.user,
            created_at=now,
            updated_at=now,
            files=sorted(set(new.files)),
            needs_webui=new.needs_webui,
        )
        with self.store.write() as conn:
            conn.execute(
                f"INSERT INTO saved_task ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    saved.id,
                    saved.name,
                    saved.kind,
                    ensure_json("params", saved.params),
                    ensure_json("script_args", saved.script_args),
                    saved.script_name,
                    saved.checkpoint,
                    saved.source,
                    saved.user,
                    saved.created_at,
                    saved.updated_at,
                    saved.needs_webui,
                ),
            )
            conn.executemany(
                "INSERT INTO saved_task_file (saved_id, ref) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(saved.id, ref) for ref in saved.files],
            )
        if self.queue.files is not None:  # recorded: the puts need not hold these any more
            self.queue.files.release(saved.files)
        return saved

    def save_task(self, task_id: str, name: str = "") -> SavedTask:
        """Save any task (pending, running or finished) as a template; its files are shared."""
        task = self.queue.get(task_id)
        new = NewTask.from_task(task, self.queue.files_of(task_id), name="", priority=0, job_id=None)
        return self.save(new, name or task.name or _title(task.prompt, task.kind))

    def save_last_capture(self, name: str = "", *, user: str | None = None) -> SavedTask:
        """Save what the Queue button queued last (for ``user`` when given)."""
        where, args = "WHERE source = 'ui'", []
        if user is not None:
            where += " AND user = ?"
            args.append(user)
        with self.store.read() as conn:
            last = self.store.fetch_many(conn, f"{where} ORDER BY created_at DESC, rowid DESC LIMIT 1", args)
        if not last:
            raise InvalidTaskData("name", "nothing was queued with the Queue button yet")
        return self.save_task(last[0].id, name)

    # -- reading -----------------------------------------------------------------------------

    def get(self, saved_id: str) -> SavedTask:
        with self.store.read() as conn:
            return self._fetch(conn, saved_id)

    def list(self, *, limit: int = 100, offset: int = 0) -> tuple[list[SavedTask], int]:
        """Newest first, with the total."""
        if limit < 1 or limit > 1000:
            raise InvalidTaskData("limit", "must be between 1 and 1000")
        if offset < 0:
            raise InvalidTaskData("offset", "must not be negative")
        with self.store.read() as conn:
            total = conn.execute("SELECT count(*) FROM saved_task").fetchone()[0]
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM saved_task ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
            return [_row(row, self._files(conn, row["id"])) for row in rows], total

    def count(self) -> int:
        with self.store.read() as conn:
            return int(conn.execute("SELECT count(*) FROM saved_task").fetchone()[0])

    # -- changing ----------------------------------------------------------------------------

    def edit(
        self,
        saved_id: str,
        *,
        name: str | None = None,
        checkpoint: str | None = None,
        params: dict[str, Any] | None = None,
        script_args: dict[str, Any] | None = None,
    ) -> SavedTask:
        """Merge changes like a pending task's edit (a ``None`` value removes a key)."""
        with self.store.write() as conn:
            saved = self._fetch(conn, saved_id)
            changed = replace(saved, updated_at=self.store.clock())
            if name is not None:
                changed.name = _check_name(name)
            if checkpoint is not None:
                changed.checkpoint = checkpoint or None
            if params is not None:
                changed.params = merge_changes(saved.params, params, "params")
            if script_args is not None:
                changed.script_args = merge_changes(saved.script_args, script_args, "script_args")
            validate_new_task(changed.as_new_task())
            conn.execute(
                "UPDATE saved_task SET name = ?, checkpoint = ?, params = ?, script_args = ?, updated_at = ? "
                "WHERE id = ?",
                (
                    changed.name,
                    changed.checkpoint,
                    ensure_json("params", changed.params),
                    ensure_json("script_args", changed.script_args),
                    changed.updated_at,
                    saved_id,
                ),
            )
        return changed

    def delete(self, saved_id: str) -> None:
        with self.store.write() as conn:
            saved = self._fetch(conn, saved_id)
            conn.execute("DELETE FROM saved_task WHERE id = ?", (saved_id,))
            orphans = self.store.unused_refs(conn, saved.files)
        self.queue.delete_unused_files(orphans)

    # -- queueing ----------------------------------------------------------------------------

    def queue_copies(
        self,
        saved_id: str,
        *,
        times: int = 1,
        new_seeds: bool = False,
        at: Literal["top", "bottom"] = "bottom",
        user: str | None = None,
        rng: Callable[[], int] | None = None,
    ) -> list[Task]:
        """Queue the template ``times`` times, with its own seed or a new random seed each."""
        if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_COPIES:
            raise InvalidTaskData("times", f"must be a whole number from 1 to {MAX_COPIES}")
        saved = self.get(saved_id)
        draw = rng or (lambda: random.randrange(0, 2**32))
        news = [saved.as_new_task(seed=draw() if new_seeds else None, user=user) for _ in range(times)]
        if new_seeds and times > 1:  # a seed repeat: auto-batching may run them together
            for new in news:
                new.batching = "repeat"
        return self.queue.enqueue_many(news, at=at)

    # -- internals ---------------------------------------------------------------------------

    def _fetch(self, conn: sqlite3.Connection, saved_id: str) -> SavedTask:
        row = conn.execute(f"SELECT {_COLUMNS} FROM saved_task WHERE id = ?", (saved_id,)).fetchone()
        if row is None:
            raise SavedTaskNotFound(saved_id)
        return _row(row, self._files(conn, saved_id))

    @staticmethod
    def _files(conn: sqlite3.Connection, saved_id: str) -> list[str]:
        rows = conn.execute("SELECT ref FROM saved_task_file WHERE saved_id = ? ORDER BY ref", (saved_id,))
        return [r[0] for r in rows]


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidTaskData("name", f"a saved task needs a name of 1 to {MAX_NAME_LENGTH} characters")
    return name.strip()


def _title(prompt: str, kind: str) -> str:
    prompt = " ".join(prompt.split())
    return (prompt[:60] + "…" if len(prompt) > 60 else prompt) or f"{kind} task"


__all__ = ["MAX_COPIES", "SavedTask", "SavedTaskNotFound", "SavedTasks"]

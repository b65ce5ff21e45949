"""Queue operations: the one API that the UI, the HTTP routes and the executor all use.

Run order is ``priority DESC, position ASC`` among pending tasks. ``pinned`` marks a task the
user placed explicitly (moved, run now); checkpoint-aware claiming never reorders around it.
Every mutation happens in one store transaction and bumps the revision, which callers wait on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .errors import InvalidTaskData, TaskNotFound
from .files import FileStore
from .store import Store
from .task import (
    FINISHED,
    NewTask,
    Task,
    TaskResult,
    TaskStatus,
    checkpoint_key,
    merge_changes,
    new_task_id,
    validate_new_task,
)

log = logging.getLogger(__name__)

#: Interrupted by a crash this many times, a task is no longer requeued automatically (AS#210).
MAX_AUTOMATIC_CRASH_REQUEUES = 1
_POSITION_EPSILON = 1e-6
#: pending tasks of a held (paused) job are not claimed; see jobs.py
_NOT_HELD = " AND (job_id IS NULL OR job_id NOT IN (SELECT id FROM job WHERE held = 1))"

Listener = Callable[[str, "Task | None"], None]
#: why the running task is asked to stop: deleted, interrupted, or "paused" — stop after the
#: image in progress and wait in the queue to make the rest (:mod:`.resume`)
StopReason = Literal["cancelled", "interrupted", "paused"]


@dataclass
class Page:
    tasks: list[Task]
    total: int
    limit: int
    offset: int


@dataclass
class Progress:
    """Live progress of the running task; kept in memory, never written per step."""

    task_id: str
    fraction: float = 0.0
    text: str = ""
    eta_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class TaskQueue:
    def __init__(self, store: Store, files: FileStore | None = None) -> None:
        self.store = store
        self.files = files
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()
        self._stop_requests: dict[str, StopReason] = {}
        self._progress: dict[str, Progress] = {}

    # -- change notification ---------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """``listener(event, task)`` after every change; returns an unsubscribe function."""
        with self._listeners_lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._listeners_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, event: str, task: Task | None = None) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event, task)
            except Exception:
                log.exception("task queue listener failed on %s", event)

    @property
    def revision(self) -> int:
        return self.store.revision

    def wait_for_change(self, since: int, timeout: float) -> int:
        return self.store.wait_for_revision(since, timeout)

    # -- enqueue -----------------------------------------------------------------------------

    def enqueue(self, new: NewTask, *, at: Literal["top", "bottom"] = "bottom") -> Task:
        return self.enqueue_many([new], at=at)[0]

    def enqueue_many(
        self,
        items: Sequence[NewTask],
        *,
        at: Literal["top", "bottom"] = "bottom",
        in_transaction: Callable[[Any], None] | None = None,
    ) -> list[Task]:
        """Add tasks in one transaction: all of them are queued, or none.

        ``in_transaction(conn)`` runs inside that transaction first (a job row its tasks belong to).
        """
        for item in items:
            validate_new_task(item)
        if at not in ("top", "bottom"):
            raise InvalidTaskData("position", "must be 'top' or 'bottom'")
        now = self.store.clock()
        created: list[Task] = []
        with self.store.write() as conn:
            if in_transaction is not None:
                in_transaction(conn)
            low, high = self._position_bounds(conn)
            for index, item in enumerate(items):
                if at == "top":
                    position = low - len(items) + index
                else:
                    position = high + 1 + index
                task = Task(
                    id=new_task_id(),
                    kind=item.kind,
                    params=item.params,
                    name=item.name,
                    script_args=item.script_args,
                    script_name=item.script_name,
                    checkpoint=item.checkpoint,
                    source=item.source,
                    priority=item.priority,
                    position=position,
                    pinned=at == "top",
                    job_id=item.job_id,
                    created_at=now,
                    updated_at=now,
                    user=item.user,
                    callback_url=item.callback_url,
                    requeued_from=item.requeued_from,
                    crashes=item.crashes,
                )
                self.store.insert(conn, task)
                self.store.attach_files(conn, task.id, item.files)
                created.append(task)
        if self.files is not None:
            self.files.release({ref for item in items for ref in item.files})
        for task in created:
            self._emit("enqueued", task)
        return created

    @staticmethod
    def _position_bounds(conn: Any) -> tuple[float, float]:
        row = conn.execute(
            "SELECT min(position), max(position) FROM task WHERE status = 'pending'"
        ).fetchone()
        low = row[0] if row[0] is not None else 0.0
        high = row[1] if row[1] is not None else 0.0
        return float(low), float(high)

    # -- reads -------------------------------------------------------------------------------

    def get(self, task_id: str) -> Task:
        with self.store.read() as conn:
            return self.store.fetch(conn, task_id)

    def pending(self, limit: int | None = None, offset: int = 0) -> list[Task]:
        """Pending tasks in the order they will run (before checkpoint-aware preference)."""
        tail = "WHERE status = 'pending' ORDER BY priority DESC, position"
        args: list[Any] = []
        if limit is not None:
            tail += " LIMIT ? OFFSET ?"
            args = [limit, offset]
        with self.store.read() as conn:
            return self.store.fetch_many(conn, tail, args)

    def count(self, status: TaskStatus) -> int:
        with self.store.read() as conn:
            row = conn.execute("SELECT n FROM task_count WHERE status = ?", (status.value,)).fetchone()
            return row[0] if row else 0

    def position_of(self, task_id: str) -> int | None:
        """1-based place in the run order, or None when the task is not pending."""
        with self.store.read() as conn:
            task = self.store.fetch(conn, task_id)
            if task.status is not TaskStatus.PENDING:
                return None
            ahead = conn.execute(
                "SELECT count(*) FROM task WHERE status = 'pending' AND "
                "(priority > ? OR (priority = ? AND position < ?))",
                (task.priority, task.priority, task.position),
            ).fetchone()[0]
            return ahead + 1

    def running(self) -> list[Task]:
        with self.store.read() as conn:
            return self.store.fetch_many(conn, "WHERE status = 'running' ORDER BY started_at")

    def history(
        self,
        *,
        status: TaskStatus | Iterable[TaskStatus] | None = None,
        search: str | None = None,
        bookmarked: bool | None = None,
        job_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """Finished tasks, newest first, with the total that matches the same filters."""
        if limit < 1 or limit > 500:
            raise InvalidTaskData("limit", "must be between 1 and 500")
        if offset < 0:
            raise InvalidTaskData("offset", "must not be negative")
        statuses = _status_filter(status)
        all_finished = set(statuses) == FINISHED
        marks = ", ".join("?" for _ in statuses)
        # Every finished status: walk the created_at index newest first and skip the few pending
        # rows ("+status" keeps SQLite off the status index, which would sort the whole history).
        # A few statuses: their (status, created_at) index entries are fewer and already ordered.
        where = [f"+status IN ({marks})" if all_finished else f"status IN ({marks})"]
        args: list[Any] = [s.value for s in statuses]
        if search:
            where.append("search_text LIKE ? ESCAPE '\\'")
            args.append("%" + _like_escape(search.lower()) + "%")
        if bookmarked is not None:
            where.append("bookmarked = ?")
            args.append(int(bookmarked))
        if job_id is not None:
            where.append("job_id = ?")
            args.append(job_id)
        clause = "WHERE " + " AND ".join(where)
        with self.store.read() as conn:
            if len(where) == 1:  # no filter but status: the trigger-kept counts answer at once
                total = conn.execute(
                    f"SELECT coalesce(sum(n), 0) FROM task_count WHERE status IN ({marks})", args
                ).fetchone()[0]
            else:
                total = conn.execute(f"SELECT count(*) FROM task {clause}", args).fetchone()[0]
            tasks = self.store.fetch_many(
                conn,
                f"{clause} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            )
        return Page(tasks=tasks, total=total, limit=limit, offset=offset)

    # -- ordering ----------------------------------------------------------------------------

    def move(
        self,
        task_id: str,
        *,
        to: Literal["top", "bottom"] | None = None,
        before: str | None = None,
        after: str | None = None,
    ) -> Task:
        """Place a pending task explicitly; the placement is remembered as user intent."""
        if sum(x is not None for x in (to, before, after)) != 1:
            raise InvalidTaskData("move", "give exactly one of to, before or after")
        if to not in (None, "top", "bottom"):
            raise InvalidTaskData("to", "must be 'top' or 'bottom'")
        with self.store.write() as conn:
            task = self.store.fetch(conn, task_id)
            self._require_pending(task, "move it")
            priority, position = self._placement(conn, task, to, before, after)
            self.store.update_fields(
                conn,
                task_id,
                {"priority": priority, "position": position, "pinned": True},
                require=[TaskStatus.PENDING],
                action="move it",
            )
            moved = self.store.fetch(conn, task_id)
        self._emit("moved", moved)
        return moved

    def _placement(
        self, conn: Any, task: Task, to: str | None, before: str | None, after: str | None
    ) -> tuple[int, float]:
        if to is not None:
            row = conn.execute(
                "SELECT max(priority), min(priority) FROM task WHERE status = 'pending' AND id != ?",
                (task.id,),
            ).fetchone()
            if row[0] is None:
                return task.priority, task.position
            if to == "top":
                priority = max(task.priority, row[0])
                first = conn.execute(
                    "SELECT min(position) FROM task WHERE status = 'pending' AND priority = ? AND id != ?",
                    (priority, task.id),
                ).fetchone()[0]
                return priority, (first if first is not None else task.position) - 1
            priority = min(task.priority, row[1])
            last = conn.execute(
                "SELECT max(position) FROM task WHERE status = 'pending' AND priority = ? AND id != ?",
                (priority, task.id),
            ).fetchone()[0]
            return priority, (last if last is not None else task.position) + 1
        anchor_id = before or after
        assert anchor_id is not None
        if anchor_id == task.id:
            raise InvalidTaskData("move", "a task cannot be placed next to itself")
        anchor = self.store.fetch(conn, anchor_id)
        self._require_pending(anchor, "place a task next to it")
        for _attempt in range(2):
            if before is not None:
                row = conn.execute(
                    "SELECT max(position) FROM task WHERE status = 'pending' AND priority = ? "
                    "AND position < ? AND id != ?",
                    (anchor.priority, anchor.position, task.id),
                ).fetchone()
                neighbour = row[0] if row[0] is not None else anchor.position - 2
            else:
                row = conn.execute(
                    "SELECT min(position) FROM task WHERE status = 'pending' AND priority = ? "
                    "AND position > ? AND id != ?",
                    (anchor.priority, anchor.position, task.id),
                ).fetchone()
                neighbour = row[0] if row[0] is not None else anchor.position + 2
            if abs(neighbour - anchor.position) > _POSITION_EPSILON:
                return anchor.priority, (neighbour + anchor.position) / 2
            self._renumber(conn)
            anchor = self.store.fetch(conn, anchor_id)
        raise RuntimeError("could not find room to place the task")  # pragma: no cover

    @staticmethod
    def _renumber(conn: Any) -> None:
        """Spread pending positions out again when repeated midpoints ran out of precision."""
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM task WHERE status = 'pending' ORDER BY priority DESC, position"
            )
        ]
        conn.executemany(
            "UPDATE task SET position = ? WHERE id = ?", [(float(i), tid) for i, tid in enumerate(ids)]
        )

    def run_next(self, task_id: str) -> Task:
        """Put a task first; on a paused queue, also let exactly this task run."""
        task = self.move(task_id, to="top")
        if self.paused:
            with self.store.write() as conn:
                self.store.set_meta(conn, "run_once", task_id)
            self._emit("run_once", task)
        return task

    # -- claiming (executor) ----------------------------------------------------------------

    def claim_next(
        self, *, prefer_checkpoint: str | None = None, skip_checkpoints: Collection[str] = ()
    ) -> Task | None:
        """Atomically pick the next runnable task and mark it running.

        With ``prefer_checkpoint``, among unpinned tasks of the head's priority that come before
        the first pinned one, a task using that checkpoint is taken first, so a mixed queue loads
        each model once. Tasks whose checkpoint is in ``skip_checkpoints`` are left for another
        worker (one of several backends that has that model). Pending tasks of a held job (see
        :mod:`.jobs`) are passed over. Returns None when nothing may run (empty, or paused).
        """
        prefer = checkpoint_key(prefer_checkpoint)
        skip = sorted({key for key in map(checkpoint_key, skip_checkpoints) if key})
        if prefer in skip:
            prefer = None
        with self.store.write() as conn:
            paused = self.store._meta("paused", "0") == "1"
            chosen: str | None = None
            if paused:
                run_once = self.store._meta("run_once", "")
                if run_once:
                    row = conn.execute(
                        "SELECT id, checkpoint_key FROM task WHERE id = ? AND status = 'pending'", (run_once,)
                    ).fetchone()
                    if row is None or row["checkpoint_key"] not in skip:
                        self.store.set_meta(conn, "run_once", "")
                        chosen = row[0] if row else None
            else:
                chosen = self._pick(conn, prefer, skip)
            failed: list[Task] = []
            task: Task | None = None
            while chosen is not None:
                now = self.store.clock()
                self.store.transition(conn, chosen, TaskStatus.RUNNING, started_at=now, finished_at=None)
                conn.execute("UPDATE task SET attempts = attempts + 1 WHERE id = ?", (chosen,))
                task = self.store.fetch(conn, chosen)
                if task.damaged is None:
                    break
                # a row that cannot be read is never run: it fails with the reason; the queue goes on
                self.store.transition(
                    conn,
                    chosen,
                    TaskStatus.FAILED,
                    only_from=[TaskStatus.RUNNING],
                    finished_at=self.store.clock(),
                    error=task.damaged,
                )
                failed.append(replace(task, status=TaskStatus.FAILED))
                task = None
                chosen = None if paused else self._pick(conn, prefer, skip)
        for damaged in failed:
            self._emit("finished", damaged)
        if task is None:
            return None
        self._emit("started", task)
        return task

    @staticmethod
    def _pick(conn: Any, prefer: str | None, skip: Sequence[str] = ()) -> str | None:
        runnable = _NOT_HELD
        if skip:
            marks = ", ".join("?" for _ in skip)
            runnable += f" AND (checkpoint_key IS NULL OR checkpoint_key NOT IN ({marks}))"
        head = conn.execute(
            "SELECT id, priority, pinned, checkpoint_key FROM task WHERE status = 'pending'"
            + runnable
            + " ORDER BY priority DESC, position LIMIT 1",
            list(skip),
        ).fetchone()
        if head is None:
            return None
        if prefer is None or head["pinned"] or head["checkpoint_key"] == prefer:
            return head["id"]
        fence = conn.execute(
            "SELECT min(position) FROM task WHERE status = 'pending' AND priority = ? AND pinned = 1"
            + runnable,
            [head["priority"], *skip],
        ).fetchone()[0]
        sql = (
            "SELECT id FROM task WHERE status = 'pending' AND checkpoint_key = ? AND priority = ? "
            "AND pinned = 0" + _NOT_HELD
        )
        args: list[Any] = [prefer, head["priority"]]
        if fence is not None:
            sql += " AND position < ?"
            args.append(fence)
        row = conn.execute(sql + " ORDER BY position LIMIT 1", args).fetchone()
        return row["id"] if row else head["id"]

    def finish(
        self,
        task_id: str,
        status: TaskStatus,
        *,
        result: TaskResult | None = None,
        error: str | None = None,
        warnings: Sequence[str] = (),
    ) -> Task:
        """Record the outcome of a run (the executor's single exit)."""
        if status not in FINISHED:
            raise ValueError(f"{status} is not an outcome")
        with self.store.write() as conn:
            self.store.transition(
                conn,
                task_id,
                status,
                only_from=[TaskStatus.RUNNING],
                finished_at=self.store.clock(),
                result=result,
                error=error,
                warnings=list(warnings),
            )
            task = self.store.fetch(conn, task_id)
        self._stop_requests.pop(task_id, None)
        self._progress.pop(task_id, None)
        self._emit("finished", task)
        return task

    def recover_after_crash(self, *, requeue: bool = True) -> list[Task]:
        """Tasks left ``running`` by a dead process become ``interrupted``; requeue them once.

        A task that was running during a second crash stays interrupted: it may be what crashes
        the WebUI, and requeueing it forever would make the WebUI unbootable.
        """
        recovered: list[Task] = []
        with self.store.write() as conn:
            for task in self.store.fetch_many(conn, "WHERE status = 'running'"):
                crashes = task.crashes + 1
                self.store.transition(
                    conn,
                    task.id,
                    TaskStatus.INTERRUPTED,
                    finished_at=self.store.clock(),
                    crashes=crashes,
                    error="The WebUI stopped while this task was running.",
                )
                if requeue and crashes <= MAX_AUTOMATIC_CRASH_REQUEUES:
                    self.store.transition(
                        conn,
                        task.id,
                        TaskStatus.PENDING,
                        only_from=[TaskStatus.INTERRUPTED],
                        started_at=None,
                        finished_at=None,
                    )
                recovered.append(self.store.fetch(conn, task.id))
        for task in recovered:
            self._emit("recovered", task)
        return recovered

    def park(self, task_id: str, made: TaskResult | None) -> Task:
        """A task paused inside: back to pending in its place, keeping what it made (``made``)."""
        with self.store.write() as conn:
            self.store.transition(conn, task_id, TaskStatus.INTERRUPTED, only_from=[TaskStatus.RUNNING])
            self.store.transition(
                conn, task_id, TaskStatus.PENDING, started_at=None, finished_at=None, error=None, result=made
            )
            task = self.store.fetch(conn, task_id)
        self._stop_requests.pop(task_id, None)
        self._progress.pop(task_id, None)
        self._emit("requeued", task)
        return task

    def record_partial(self, task_id: str, made: TaskResult) -> None:
        """Keep what a running task has made so far, so a crash does not make it again."""
        with self.store.write() as conn:
            self.store.update_fields(conn, task_id, {"result": made}, require=[TaskStatus.RUNNING])

    def requeue_running(self, task_id: str, reason: str) -> Task:
        """Give a running task back to the queue (its worker went away); it keeps its place."""
        with self.store.write() as conn:
            self.store.transition(conn, task_id, TaskStatus.INTERRUPTED, error=reason)
            self.store.transition(
                conn, task_id, TaskStatus.PENDING, started_at=None, finished_at=None, error=None
            )
            task = self.store.fetch(conn, task_id)
        self._progress.pop(task_id, None)
        self._emit("requeued", task)
        return task

    # -- stop requests for the running task ------------------------------------------------

    def request_stop(self, task_id: str, reason: StopReason) -> None:
        self._stop_requests[task_id] = reason
        self._emit("stop_requested", None)

    def stop_request(self, task_id: str) -> StopReason | None:
        return self._stop_requests.get(task_id)

    # -- progress (memory only) --------------------------------------------------------------

    def set_progress(self, progress: Progress) -> None:
        self._progress[progress.task_id] = progress

    def progress(self, task_id: str) -> Progress | None:
        return self._progress.get(task_id)

    # -- user actions on single tasks -------------------------------------------------------

    def delete(self, task_id: str) -> Literal["deleted", "stopping"]:
        """Pending or finished: remove it. Running: ask the runner to stop; it ends ``cancelled``.

        Output images the WebUI saved stay on disk: they are the user's pictures, not ours.
        """
        with self.store.write() as conn:
            task = self.store.fetch(conn, task_id)
            if task.status is TaskStatus.RUNNING:
                orphans: list[str] = []
            else:
                _ids, orphans = self.store.delete_tasks(conn, "id = ? AND status != 'running'", (task_id,))
        if task.status is TaskStatus.RUNNING:
            self.request_stop(task_id, "cancelled")
            return "stopping"
        self.delete_unused_files(orphans)
        self._emit("deleted", task)
        return "deleted"

    def cancel(self, task_id: str) -> Task:
        with self.store.write() as conn:
            self.store.transition(
                conn,
                task_id,
                TaskStatus.CANCELLED,
                only_from=[TaskStatus.PENDING],
                action="cancel it",
                finished_at=self.store.clock(),
            )
            task = self.store.fetch(conn, task_id)
        self._emit("cancelled", task)
        return task

    def rename(self, task_id: str, name: str) -> Task:
        if not isinstance(name, str) or len(name) > 200:
            raise InvalidTaskData("name", "must be text of at most 200 characters")
        return self._update(task_id, {"name": name}, "renamed")

    def set_bookmark(self, task_id: str, bookmarked: bool) -> Task:
        return self._update(task_id, {"bookmarked": bookmarked}, "bookmarked")

    def edit(
        self,
        task_id: str,
        *,
        params: dict[str, Any] | None = None,
        script_args: dict[str, Any] | None = None,
        checkpoint: str | None = None,
        name: str | None = None,
        validate: Callable[[Task], None] | None = None,
    ) -> Task:
        """Partially update a pending task; the merged task is validated before it is written.

        ``params`` and ``script_args`` are merged key by key (a ``None`` value removes the key),
        so an edit never resets what it did not mention.
        """
        with self.store.write() as conn:
            task = self.store.fetch(conn, task_id)
            self._require_pending(task, "edit it")
            fields: dict[str, Any] = {}
            if params is not None:
                fields["params"] = merge_changes(task.params, params, "params")
                if task.result is not None:  # made by a paused run of other params: make all anew
                    fields["result"] = None
            if script_args is not None:
                fields["script_args"] = merge_changes(task.script_args, script_args, "script_args")
            if checkpoint is not None:
                fields["checkpoint"] = checkpoint or None
            if name is not None:
                fields["name"] = name
            edited = replace(task, **fields)
            validate_new_task(NewTask.from_task(edited))
            if validate is not None:
                validate(edited)
            if fields:
                self.store.update_fields(
                    conn, task_id, fields, require=[TaskStatus.PENDING], action="edit it"
                )
            task = self.store.fetch(conn, task_id)
        self._emit("edited", task)
        return task

    def requeue(self, task_id: str, *, at: Literal["top", "bottom"] = "bottom") -> Task:
        """Queue a copy of a finished task as a new pending task that remembers its original."""
        original = self.get(task_id)
        if not original.is_finished:
            from .errors import InvalidTransition

            raise InvalidTransition(task_id, original.status.value, "pending", "requeue it before it ended")
        return self.enqueue(_copy_of(original, self.files_of(task_id)), at=at)

    def requeue_failed(self) -> list[Task]:
        with self.store.read() as conn:
            failed = self.store.fetch_many(conn, "WHERE status = 'failed' ORDER BY created_at")
            copies = [_copy_of(task, self.store.files_of(conn, task.id)) for task in failed]
        return self.enqueue_many(copies) if copies else []

    def _update(self, task_id: str, fields: dict[str, Any], event: str) -> Task:
        with self.store.write() as conn:
            self.store.update_fields(conn, task_id, fields)
            task = self.store.fetch(conn, task_id)
        self._emit(event, task)
        return task

    @staticmethod
    def _require_pending(task: Task, action: str) -> None:
        if task.status is not TaskStatus.PENDING:
            from .errors import InvalidTransition

            raise InvalidTransition(task.id, task.status.value, "pending", action)

    # -- bulk --------------------------------------------------------------------------------

    def clear_pending(self) -> int:
        with self.store.write() as conn:
            ids, orphans = self.store.delete_tasks(conn, "status = 'pending'")
        self.delete_unused_files(orphans)
        self._emit("cleared", None)
        return len(ids)

    def clear_history(self, *, keep_bookmarked: bool = True) -> int:
        return self._delete_finished(None, keep_bookmarked=keep_bookmarked)

    def purge_older_than(self, seconds: float, *, keep_bookmarked: bool = True) -> int:
        """Retention: drop finished tasks older than ``seconds``; bookmarked ones stay."""
        return self._delete_finished(self.store.clock() - seconds, keep_bookmarked=keep_bookmarked)

    def _delete_finished(self, older_than: float | None, *, keep_bookmarked: bool) -> int:
        statuses = [s.value for s in FINISHED]
        where = f"status IN ({', '.join('?' for _ in statuses)})"
        args: list[Any] = list(statuses)
        if keep_bookmarked:
            where += " AND bookmarked = 0"
        if older_than is not None:
            where += " AND coalesce(finished_at, created_at) < ?"
            args.append(older_than)
        with self.store.write() as conn:
            ids, orphans = self.store.delete_tasks(conn, where, args)
        self.delete_unused_files(orphans)
        if ids:
            self._emit("cleared", None)
        return len(ids)

    def forget_files(self, refs: list[str]) -> None:
        """Files written for a task that was then refused: release their holds, delete the unused."""
        if self.files is None or not refs:
            return
        self.files.release(refs)
        self.delete_unused_files(refs)

    def delete_unused_files(self, refs: list[str]) -> None:
        """Unlink files whose last user (task or saved task) is gone, checking again under the lock.

        Between the delete's commit and here a new task may have been queued with the same file
        (its put held the file until then): such a file is in use again and stays.
        """
        if self.files is None or not refs:
            return
        with self.store.write() as conn:
            self.files.delete(self.store.unused_refs(conn, refs))

    def files_of(self, task_id: str) -> list[str]:
        with self.store.read() as conn:
            self.store.fetch(conn, task_id)
            return self.store.files_of(conn, task_id)

    # -- queue state ---------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self.store.get_meta("paused", "0") == "1"

    def pause(self) -> None:
        with self.store.write() as conn:
            self.store.set_meta(conn, "paused", "1")
        self._emit("paused", None)

    def pause_now(self) -> list[str]:
        """Pause, and ask each running task to stop after its image in progress; their ids."""
        self.pause()
        running = [task.id for task in self.running()]
        for task_id in running:
            self.request_stop(task_id, "paused")
        return running

    def resume(self) -> None:
        with self.store.write() as conn:
            self.store.set_meta(conn, "paused", "0")
            self.store.set_meta(conn, "run_once", "")
        self._emit("resumed", None)


def _status_filter(status: TaskStatus | Iterable[TaskStatus] | None) -> list[TaskStatus]:
    if status is None:
        return sorted(FINISHED, key=lambda s: s.value)
    statuses = [status] if isinstance(status, (TaskStatus, str)) else list(status)
    try:
        return [TaskStatus(s) for s in statuses]
    except ValueError:
        raise InvalidTaskData("status", f"unknown status in {statuses!r}") from None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _copy_of(task: Task, files: list[str]) -> NewTask:
    return NewTask.from_task(task, files, requeued_from=task.id)


__all__ = ["Page", "Progress", "TaskQueue", "TaskNotFound"]

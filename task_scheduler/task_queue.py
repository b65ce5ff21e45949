"""Queue operations: the one API that the UI, the HTTP routes and the executor all use.

Run order is ``priority DESC, position ASC`` among pending tasks (:mod:`.ordering`). ``pinned``
marks a task the user placed explicitly (moved, run now); checkpoint-aware claiming
(:mod:`.claiming`) never reorders around it. Every mutation happens in one store transaction
and bumps the revision, which callers wait on.

Several workers (processes, remote WebUIs) may share the queue: a claim writes the worker and a
lease into the task (:mod:`.workers`), and what they must agree on — stop requests, progress,
pause — is in the store, never in one process's memory.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from . import claiming, ordering, repeat, request_keys, schedule
from .batching import BatchPolicy, batch_key, select_group
from .checker import Problem, TaskChecker, TaskRefused, errors_of, grouped, warnings_of
from .errors import InvalidTaskData, InvalidTransition, StoreConflict, TaskNotFound
from .events import EventBus, Listener, QueueEvent
from .files import FileStore
from .gate import check_timing
from .history import Page, history_page
from .store import Store
from .task import (
    FINISHED,
    NewTask,
    Task,
    TaskResult,
    TaskStatus,
    checkpoint_aliases,
    checkpoint_key,
    merge_changes,
    new_task_id,
    validate_new_task,
)
from .workers import WorkerIdentity, Workers

log = logging.getLogger(__name__)

#: Interrupted by a crash this many times, a task is no longer requeued automatically (AS#210).
MAX_AUTOMATIC_CRASH_REQUEUES = 1

#: why the running task is asked to stop: deleted, interrupted, or "paused" — stop after the
#: image in progress and wait in the queue to make the rest (:mod:`.resume`)
StopReason = Literal["cancelled", "interrupted", "paused"]
STOP_REASONS: tuple[str, ...] = ("cancelled", "interrupted", "paused")


@dataclass
class Progress:
    """Live progress of a running task, as its worker last wrote it to the store."""

    task_id: str
    fraction: float = 0.0
    text: str = ""
    eta_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"fraction": self.fraction, "text": self.text, "eta_s": self.eta_s, "extra": self.extra},
            ensure_ascii=False,
            allow_nan=False,
            default=str,
        )

    @classmethod
    def from_json(cls, task_id: str, text: str | None) -> Progress | None:
        try:
            data = json.loads(text) if text else None
            if not isinstance(data, dict):
                return None
            extra = data.get("extra")
            return cls(
                task_id,
                float(data.get("fraction") or 0.0),
                str(data.get("text") or ""),
                float(data["eta_s"]) if isinstance(data.get("eta_s"), (int, float)) else None,
                extra if isinstance(extra, dict) else {},
            )
        except (ValueError, TypeError):
            return None


@dataclass(frozen=True)
class IdlePlan:
    """What an idle worker may wait for (see :meth:`Executor.idle_step`)."""

    next_due: float | None
    gate_change: float | None
    unload_after_s: float | None


def _another_worker_has(problem: Problem, published: set[str]) -> bool:
    return (
        problem.kind == "checkpoint"
        and isinstance(problem.value, str)
        and bool(checkpoint_aliases([problem.value]) & published)
    )


class TaskQueue:
    def __init__(self, store: Store, files: FileStore | None = None) -> None:
        self.store = store
        self.files = files
        self.events = EventBus()
        self.workers = Workers(store)
        #: checks what a task names against what the WebUI has (:mod:`.checker`); None: unchecked
        self.checker: TaskChecker | None = None

    # -- change notification ---------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """``listener(event, task)`` after every change; returns an unsubscribe function.

        Changes another process made arrive as :attr:`QueueEvent.CHANGED_ELSEWHERE` while
        anyone listens (the store looks for them every 0.1 s).
        """
        unsubscribe = self.events.subscribe(listener)
        unwatch = self.store.watch(lambda: listener(QueueEvent.CHANGED_ELSEWHERE, None))

        def both() -> None:
            unsubscribe()
            unwatch()

        return both

    def notify(self, event: QueueEvent, task: Task | None = None) -> None:
        """Tell this process's listeners about a change made outside these methods (jobs)."""
        self.events.emit(event, task)

    @property
    def revision(self) -> int:
        return self.store.revision

    def wait_for_change(self, since: int, timeout: float) -> int:
        return self.store.wait_for_revision(since, timeout)

    # -- enqueue -----------------------------------------------------------------------------

    def enqueue(self, new: NewTask, *, at: Literal["top", "bottom"] = "bottom", strict: bool = False) -> Task:
        return self.enqueue_many([new], at=at, strict=strict)[0]

    def check(self, items: Sequence[NewTask | Task], *, strict: bool = False) -> list[list[Problem]]:
        """What the checker finds in each of ``items`` (nothing without a checker)."""
        if self.checker is None:
            return [[] for _ in items]
        found = self.checker.check_many(items, strict=strict)
        elsewhere = self.workers.published_checkpoints() if any(found) else set()
        if not elsewhere:
            return found
        # a model this WebUI lacks but another live worker has is no error: that worker takes it
        return [[p for p in problems if not _another_worker_has(p, elsewhere)] for problems in found]

    def refuse_errors(self, items: Sequence[NewTask | Task], *, strict: bool = False) -> list[list[Problem]]:
        """Raise :class:`TaskRefused` with every error of ``items`` (grouped); else their problems."""
        problems = self.check(items, strict=strict)
        errors = grouped([errors_of(found) for found in problems])
        if errors:
            raise TaskRefused(errors)
        return problems

    def enqueue_many(
        self,
        items: Sequence[NewTask],
        *,
        at: Literal["top", "bottom"] = "bottom",
        in_transaction: Callable[[Any], None] | None = None,
        strict: bool = False,
        request_key: request_keys.RequestKey | None = None,
    ) -> list[Task]:
        """Add tasks in one transaction: all of them are queued, or none.

        ``in_transaction(conn)`` runs inside that transaction first (a job row its tasks belong to).
        The checker's errors refuse them all (:class:`TaskRefused`, every error at once); its
        warnings are stored on the task they concern. ``strict``: warnings refuse too.
        ``request_key``: recorded with what was queued, in the same transaction; raises
        :class:`request_keys.KeyTaken` (nothing queued) when another request recorded it first
        (:meth:`answered` says what that one queued).
        """
        for item in items:
            validate_new_task(item)
        problems = self.refuse_errors(items, strict=strict)
        if at not in ("top", "bottom"):
            raise InvalidTaskData("position", "must be 'top' or 'bottom'")
        with self.store.write() as conn:
            for pin in {item.worker_pin for item in items if item.worker_pin}:
                self.workers.require_known(conn, pin)
            if in_transaction is not None:
                in_transaction(conn)
            created = self.insert_tasks(
                conn, items, at=at, warnings=[[p.text for p in warnings_of(found)] for found in problems]
            )
            if request_key is not None:
                job_id = created[0].job_id if created else None
                request_keys.record(conn, request_key, [t.id for t in created], job_id, self.store.clock())
        if self.files is not None:
            self.files.release({ref for item in items for ref in item.files})
        for task in created:
            self.events.emit(QueueEvent.ENQUEUED, task)
        return created

    def answered(self, request_key: request_keys.RequestKey) -> request_keys.Answered | None:
        """What an earlier request with this key queued (None: a new key); refuses a key used
        for another request (:class:`InvalidTaskData`)."""
        with self.store.read() as conn:
            return request_keys.answered(conn, request_key, self.store.clock())

    def insert_tasks(
        self,
        conn: Any,
        items: Sequence[NewTask],
        *,
        at: Literal["top", "bottom"] = "bottom",
        warnings: Sequence[list[str]] | None = None,
    ) -> list[Task]:
        """Insert validated ``items`` inside the caller's transaction (a repetition's next round).

        ``warnings``: the check's warnings of each item, stored on its task."""
        now = self.store.clock()
        low, high = ordering.position_bounds(conn)
        created: list[Task] = []
        for index, item in enumerate(items):
            position = low - len(items) + index if at == "top" else high + 1 + index
            task_id = new_task_id()
            task = Task(
                id=task_id,
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
                worker_pin=item.worker_pin,
                needs_webui=item.needs_webui,
                batching=item.batching,
                not_before=item.not_before,
                repeat_times=item.repeat_times,
                repeat_round=item.repeat_round,
                repeat_keep_seeds=item.repeat_keep_seeds,
                repeat_series=item.repeat_series or (task_id if item.repeat_times is not None else None),
                warnings=list(warnings[index]) if warnings is not None else [],
            )
            self.store.insert(conn, task)
            self.store.attach_files(conn, task.id, item.files)
            created.append(task)
        return created

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

    def batch_of(self, batch_id: str) -> list[str]:
        """The ids of the tasks that ran (or run) together as one batch, in run order."""
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT id FROM task WHERE batch_id = ? ORDER BY priority DESC, position", (batch_id,)
            ).fetchall()
        return [row[0] for row in rows]

    def batch_sizes(self, batch_ids: set[str]) -> dict[str, int]:
        """How many tasks each of ``batch_ids`` holds, counted in the store: a listing shows one
        page (or only the finished part of a batch still being recorded), never the whole batch."""
        if not batch_ids:
            return {}
        ids = sorted(batch_ids)
        marks = ", ".join("?" for _ in ids)
        with self.store.read() as conn:
            rows = conn.execute(
                f"SELECT batch_id, count(*) FROM task WHERE batch_id IN ({marks}) GROUP BY batch_id", ids
            ).fetchall()
        return {row[0]: int(row[1]) for row in rows}

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
        return history_page(
            self.store,
            status=status,
            search=search,
            bookmarked=bookmarked,
            job_id=job_id,
            limit=limit,
            offset=offset,
        )

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
            ordering.require_pending(task, "move it")
            priority, position = ordering.placement(conn, self.store, task, to, before, after)
            self.store.update_fields(
                conn,
                task_id,
                {"priority": priority, "position": position, "pinned": True},
                require=[TaskStatus.PENDING],
                action="move it",
            )
            moved = self.store.fetch(conn, task_id)
        self.events.emit(QueueEvent.MOVED, moved)
        return moved

    def run_next(self, task_id: str) -> Task:
        """Put a task first and let exactly this task run next, whatever holds the queue: a
        pause, its run windows, the task's or its job's not-before time, a held job."""
        task = self.move(task_id, to="top")
        with self.store.write() as conn:
            self.store.set_meta(conn, "run_once", task_id)
        self.events.emit(QueueEvent.RUN_ONCE, task)
        return task

    # -- claiming (workers) -------------------------------------------------------------------

    def claim_next(
        self,
        *,
        worker: WorkerIdentity | None = None,
        prefer_checkpoint: str | None = None,
        skip_checkpoints: Collection[str] = (),
    ) -> Task | None:
        """Atomically pick the next runnable task and mark it running under ``worker``'s lease.

        Checkpoint-aware order (:func:`claiming.pick`) with ``prefer_checkpoint``. Tasks whose
        checkpoint is in ``skip_checkpoints`` or only other workers have
        (:meth:`Workers.only_elsewhere`) are left to them, and so are tasks for a model another
        idle worker has loaded. Pending tasks of a held job (see :mod:`.jobs`), and tasks pinned
        to another worker, are passed over. Returns None when nothing may run (empty, or paused).
        """
        group = self.claim_group(
            worker=worker, prefer_checkpoint=prefer_checkpoint, skip_checkpoints=skip_checkpoints
        )
        return group[0] if group else None

    def claim_group(
        self,
        *,
        worker: WorkerIdentity | None = None,
        prefer_checkpoint: str | None = None,
        skip_checkpoints: Collection[str] = (),
        batching: BatchPolicy | None = None,
        checkpoint_aware: bool = True,
    ) -> list[Task]:
        """:meth:`claim_next`, and with ``batching`` the tasks that run with it as one batch
        (:func:`batching.select_group`), all marked running under one lease and one ``batch_id``
        in the same transaction; empty when nothing may run."""
        for attempt in range(3):
            try:
                return self._claim_once(
                    worker, prefer_checkpoint, skip_checkpoints, batching, checkpoint_aware
                )
            except StoreConflict:  # lost a race with another process's claim: look again
                if attempt == 2:
                    raise
        return []  # pragma: no cover - the loop returns or raises

    def _claim_once(
        self,
        worker: WorkerIdentity | None,
        prefer_checkpoint: str | None,
        skip_checkpoints: Collection[str],
        batching: BatchPolicy | None = None,
        checkpoint_aware: bool = True,
    ) -> list[Task]:
        """One claim transaction. It shares the store with other claims (each locks only its
        candidate row, and skips rows another claimer holds) but never with a writer that
        reorders or ends tasks."""
        prefer = checkpoint_key(prefer_checkpoint)
        skip = {key for key in map(checkpoint_key, skip_checkpoints) if key}
        worker_id = worker.id if worker is not None else None
        family = worker.family if worker is not None else None
        lock = self.store.claim_lock
        with self.store.write(exclusive=False) as conn:
            if worker_id is not None:
                if self.workers.is_paused(conn, worker_id):
                    return []
                skip |= self.workers.only_elsewhere(conn, worker_id)
            if prefer in skip:  # only other workers have it: never run here, preferred or not
                prefer = None
            if worker_id is not None:
                # an idle worker with that model loaded takes those tasks; never this one's own model
                skip |= self.workers.idle_checkpoints_elsewhere(conn, worker_id) - {prefer}
            ordered_skip = sorted(skip)
            now = self.store.clock()
            paused = self.store.meta(conn, "paused", "0") == "1"
            # outside its run windows the queue holds like a paused one (schedule.py)
            holding = paused or not schedule.gate(conn, worker_id, now).open
            chosen: str | None = None
            run_once = self.store.meta(conn, "run_once", "")
            if run_once:  # "Run now": runs whatever holds the queue, the task or its job
                runnable, args = claiming.runnable_clause(
                    ordered_skip, worker_id, held_too=True, family=family
                )
                row = conn.execute(
                    "SELECT id FROM task WHERE id = ? AND status = 'pending'" + runnable + lock,
                    [run_once, *args],
                ).fetchone()
                exists = conn.execute(
                    "SELECT 1 FROM task WHERE id = ? AND status = 'pending'", (run_once,)
                ).fetchone()
                if row is not None or exists is None:  # this worker takes it, or it is gone
                    self.store.set_meta(conn, "run_once", "")
                    chosen = row[0] if row else None
            if chosen is None and not holding:
                chosen = claiming.pick(conn, prefer, ordered_skip, worker_id, now, lock=lock, family=family)
            failed: list[Task] = []
            task: Task | None = None
            while chosen is not None:
                task = self._mark_running(conn, chosen, worker)
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
                chosen = (
                    None
                    if holding
                    else claiming.pick(conn, prefer, ordered_skip, worker_id, now, lock=lock, family=family)
                )
            group = [task] if task is not None else []
            if task is not None and batching is not None and not holding:
                group = self._claim_with(
                    conn, task, batching, checkpoint_aware, ordered_skip, worker, lock, now=now
                )
            if worker_id is not None and task is not None:
                self.workers.set_state(
                    conn, worker_id, state="running", current_task=task.id, checkpoint=prefer_checkpoint
                )
        for damaged in failed:
            self.events.emit(QueueEvent.FINISHED, damaged)
        for claimed in group:
            self.events.emit(QueueEvent.STARTED, claimed)
        return group

    def _claim_with(
        self,
        conn: Any,
        head: Task,
        policy: BatchPolicy,
        checkpoint_aware: bool,
        skip: Sequence[str],
        worker: WorkerIdentity | None,
        lock: str,
        *,
        now: float,
    ) -> list[Task]:
        """Inside the claim: the tasks that join ``head``'s batch, marked running like it."""
        if batch_key(head) is None or policy.limit(head) < 2:
            return [head]  # it runs alone: no candidates to read (and on PostgreSQL to lock)
        worker_id = worker.id if worker is not None else None
        family = worker.family if worker is not None else None
        # read without locks, then lock only the tasks that join: locking every candidate (up to
        # 64) made another worker's concurrent claim skip them all and start a task far down
        candidates = claiming.following(conn, self.store, head, skip, worker_id, now=now, family=family)
        members = select_group(head, candidates, policy.limit, checkpoint_aware=checkpoint_aware)
        if len(members) > 1 and lock:
            # a joiner another worker claimed meanwhile is skipped (PostgreSQL); the rest still join
            taken = claiming.lock_pending(conn, [member.id for member in members[1:]], lock)
            members = [head, *(member for member in members[1:] if member.id in taken)]
        if len(members) < 2:
            return [head]
        batch_id = new_task_id()
        self.store.update_fields(conn, head.id, {"batch_id": batch_id}, require=[TaskStatus.RUNNING])
        claimed: list[Task] = [self.store.fetch(conn, head.id)]
        for member in members[1:]:
            claimed.append(self._mark_running(conn, member.id, worker, batch_id=batch_id))
        return claimed

    def _mark_running(
        self, conn: Any, task_id: str, worker: WorkerIdentity | None, *, batch_id: str | None = None
    ) -> Task:
        """Inside a claim: ``task_id`` runs now under ``worker``'s lease (one more attempt)."""
        now = self.store.clock()
        self.store.transition(
            conn,
            task_id,
            TaskStatus.RUNNING,
            started_at=now,
            finished_at=None,
            worker_id=worker.id if worker is not None else None,
            lease_expires_at=now + worker.lease_s if worker is not None else None,
            stop_request=None,
            progress=None,
            batch_id=batch_id,
        )
        conn.execute("UPDATE task SET attempts = attempts + 1 WHERE id = ?", (task_id,))
        return self.store.fetch(conn, task_id)

    def finish(
        self,
        task_id: str,
        status: TaskStatus,
        *,
        result: TaskResult | None = None,
        error: str | None = None,
        warnings: Sequence[str] = (),
        worker: WorkerIdentity | None = None,
    ) -> Task:
        """Record the outcome of a run (a worker's single exit); only while ``worker`` holds it."""
        if status not in FINISHED:
            raise ValueError(f"{status} is not an outcome")
        # shared with claims and other outcomes (PostgreSQL): it changes only its own task, guarded
        # by status and owner, and its own worker's row; an exclusive writer still waits for it.
        # Exclusive, every outcome stalled every worker's claim: 8 workers ran hardly more than 4.
        # An outcome that may append a repetition's next round is written alone (repeat.py).
        with self.store.read() as conn:
            alone = repeat.may_add_rounds(conn, self.store.fetch(conn, task_id))
        with self.store.write(exclusive=alone) as conn:
            queued_with = self.store.fetch(conn, task_id).warnings
            self.store.transition(
                conn,
                task_id,
                status,
                only_from=[TaskStatus.RUNNING],
                owner=worker.id if worker is not None else None,
                finished_at=self.store.clock(),
                result=result,
                error=error,
                warnings=list(dict.fromkeys([*queued_with, *warnings])),
                lease_expires_at=None,
                stop_request=None,
                progress=None,
            )
            task = self.store.fetch(conn, task_id)
            self._worker_idle(conn, worker)
            rounds = repeat.task_round(self.store, conn, task) + repeat.job_round(self.store, conn, task)
            added = self.insert_tasks(conn, rounds) if rounds else []
        self.events.emit(QueueEvent.FINISHED, task)
        for new in added:
            self.events.emit(QueueEvent.ENQUEUED, new)
        return task

    def _worker_idle(self, conn: Any, worker: WorkerIdentity | None) -> None:
        if worker is not None:
            row = conn.execute("SELECT checkpoint FROM worker WHERE id = ?", (worker.id,)).fetchone()
            self.workers.set_state(
                conn, worker.id, state="idle", current_task=None, checkpoint=row[0] if row else None
            )

    def recover(
        self, *, worker: WorkerIdentity | None = None, requeue: bool = True, lapsed_only: bool = False
    ) -> list[Task]:
        """Tasks left ``running`` by a worker that is gone become ``interrupted``; requeued once.

        Gone means: tasks whose lease lapsed (their worker was killed, lost power or the
        network) and, at a start (not ``lapsed_only``), ``worker``'s own tasks (it restarted:
        its earlier run died with it) and tasks claimed without a worker or before workers
        existed. A live lease of another worker is never touched. A task that was running during
        a second crash stays interrupted: it may be what crashes the WebUI, and requeueing it
        forever would make the WebUI unbootable.
        """
        recovered: list[Task] = []
        now = self.store.clock()
        if lapsed_only:  # every heartbeat asks: a read, and a write only when a lease lapsed
            with self.store.read() as conn:
                lapsed = conn.execute(
                    "SELECT 1 FROM task WHERE status = 'running' AND lease_expires_at < ? LIMIT 1", (now,)
                ).fetchone()
            if lapsed is None:
                return []
        with self.store.write() as conn:
            if lapsed_only:
                where, args = "WHERE status = 'running' AND lease_expires_at < ?", [now]
            else:
                where = (
                    "WHERE status = 'running' AND (worker_id IS NULL OR lease_expires_at IS NULL "
                    "OR lease_expires_at < ? OR worker_id = ?)"
                )
                args = [now, worker.id if worker is not None else None]
            gone = self.store.fetch_many(conn, where, args)
            for task in gone:
                crashes = task.crashes + 1
                mine = worker is not None and task.worker_id == worker.id
                self.store.transition(
                    conn,
                    task.id,
                    TaskStatus.INTERRUPTED,
                    finished_at=now,
                    crashes=crashes,
                    lease_expires_at=None,
                    stop_request=None,
                    progress=None,
                    error="The WebUI stopped while this task was running."
                    if mine or task.worker_id is None
                    else f"Its worker ({task.worker_id}) stopped answering while it ran.",
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
            self.events.emit(QueueEvent.RECOVERED, task)
        return recovered

    def recover_after_crash(self, *, requeue: bool = True) -> list[Task]:
        """:meth:`recover` without a worker of its own (tools, tests)."""
        return self.recover(requeue=requeue)

    def park(self, task_id: str, made: TaskResult | None, *, worker: WorkerIdentity | None = None) -> Task:
        """A task paused inside: back to pending in its place, keeping what it made (``made``)."""
        return self._give_back(task_id, worker, error=None, result=made)

    def requeue_running(self, task_id: str, reason: str, *, worker: WorkerIdentity | None = None) -> Task:
        """Give a running task back to the queue (its runner went away); it keeps its place."""
        return self._give_back(task_id, worker, error=reason)

    def _give_back(
        self, task_id: str, worker: WorkerIdentity | None, *, error: str | None, **fields: Any
    ) -> Task:
        with self.store.write() as conn:
            self.store.transition(
                conn,
                task_id,
                TaskStatus.INTERRUPTED,
                only_from=[TaskStatus.RUNNING],
                owner=worker.id if worker is not None else None,
                error=error,
                lease_expires_at=None,
                stop_request=None,
                progress=None,
            )
            self.store.transition(
                conn, task_id, TaskStatus.PENDING, started_at=None, finished_at=None, error=None, **fields
            )
            task = self.store.fetch(conn, task_id)
            self._worker_idle(conn, worker)
        self.events.emit(QueueEvent.REQUEUED, task)
        return task

    def record_partial(self, task_id: str, made: TaskResult, *, worker: WorkerIdentity | None = None) -> None:
        """Keep what a running task has made so far, so a crash does not make it again."""
        with self.store.write() as conn:
            if worker is not None and not self._holds(conn, task_id, worker):
                raise InvalidTransition(
                    task_id, "running", "running", f"keep images of a run {worker.id} lost"
                )
            self.store.update_fields(conn, task_id, {"result": made}, require=[TaskStatus.RUNNING])

    @staticmethod
    def _holds(conn: Any, task_id: str, worker: WorkerIdentity) -> bool:
        row = conn.execute(
            "SELECT 1 FROM task WHERE id = ? AND status = 'running' AND worker_id = ?", (task_id, worker.id)
        ).fetchone()
        return row is not None

    # -- stop requests and progress: in the store, seen by every worker ---------------------

    def request_stop(self, task_id: str, reason: StopReason) -> None:
        """Ask the worker running ``task_id`` (in this process or another) to stop it."""
        if reason not in STOP_REASONS:
            raise InvalidTaskData("reason", f"must be one of {', '.join(STOP_REASONS)}")
        with self.store.write() as conn:
            conn.execute(
                "UPDATE task SET stop_request = ? WHERE id = ? AND status = 'running' "
                "AND (stop_request IS NULL OR stop_request != ?)",
                (reason, task_id, reason),
            )  # over a pending skip too: the stop is what counts
        self.events.emit(QueueEvent.STOP_REQUESTED, None)

    def stop_request(self, task_id: str) -> StopReason | None:
        value = self.requested(task_id)
        return value if value in STOP_REASONS else None  # type: ignore[return-value]

    def requested(self, task_id: str) -> str | None:
        """What was asked of the running task: a stop reason, ``"skip"``, or None."""
        with self.store.read() as conn:
            row = conn.execute("SELECT stop_request FROM task WHERE id = ?", (task_id,)).fetchone()
        return row[0] if row else None

    def request_skip(self, task_id: str) -> None:
        """Ask the worker running ``task_id`` to skip the image in progress (a stop wins over it)."""
        with self.store.write() as conn:
            conn.execute(
                "UPDATE task SET stop_request = 'skip' "
                "WHERE id = ? AND status = 'running' AND stop_request IS NULL",
                (task_id,),
            )
        self.events.emit(QueueEvent.STOP_REQUESTED, None)

    def take_skip(self, task_id: str) -> bool:
        """The worker takes the skip request (once): True when there was one."""
        with self.store.write(quiet=True) as conn:
            cursor = conn.execute(
                "UPDATE task SET stop_request = NULL WHERE id = ? AND stop_request = 'skip'", (task_id,)
            )
            return cursor.rowcount == 1

    def set_progress(self, progress: Progress, *, worker: WorkerIdentity | None = None) -> None:
        """Write a running task's progress for every process to read; a quiet write."""
        with self.store.write(quiet=True) as conn:
            guard, args = ("", []) if worker is None else (" AND worker_id = ?", [worker.id])
            conn.execute(
                "UPDATE task SET progress = ? WHERE id = ? AND status = 'running'" + guard,
                [progress.to_json(), progress.task_id, *args],
            )

    def progress(self, task_id: str) -> Progress | None:
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT progress FROM task WHERE id = ? AND status = 'running'", (task_id,)
            ).fetchone()
        return Progress.from_json(task_id, row[0]) if row else None

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
        self.events.emit(QueueEvent.DELETED, task)
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
        self.events.emit(QueueEvent.CANCELLED, task)
        return task

    def rename(self, task_id: str, name: str) -> Task:
        if not isinstance(name, str) or len(name) > 200:
            raise InvalidTaskData("name", "must be text of at most 200 characters")
        return self._update(task_id, {"name": name}, QueueEvent.RENAMED)

    def stop_repeating(self, task_id: str) -> Task:
        """End the repetition ``task_id`` belongs to: no further round; nothing is deleted."""
        with self.store.write() as conn:
            task = self.store.fetch(conn, task_id)
            if task.repeat_times is None:
                raise InvalidTaskData("repeat", "this task does not repeat")
            repeat.stop_series(conn, task)
            task = self.store.fetch(conn, task_id)
        self.events.emit(QueueEvent.EDITED, task)
        return task

    def set_bookmark(self, task_id: str, bookmarked: bool) -> Task:
        return self._update(task_id, {"bookmarked": bookmarked}, QueueEvent.BOOKMARKED)

    def edit(
        self,
        task_id: str,
        *,
        params: dict[str, Any] | None = None,
        script_args: dict[str, Any] | None = None,
        checkpoint: str | None = None,
        name: str | None = None,
        worker_pin: str | None = None,
        exact: bool | None = None,
        validate: Callable[[Task], None] | None = None,
        strict: bool = False,
        not_before: Any = ...,
        repeat: Any = ...,
    ) -> Task:
        """Partially update a pending task; the merged task is validated before it is written.

        ``exact``: True keeps it out of auto-batches; False lets it join one again.

        ``params`` and ``script_args`` are merged key by key (a ``None`` value removes the key),
        so an edit never resets what it did not mention. The edited task is checked as a new one
        would be: errors refuse the edit, and its warnings replace the task's. ``not_before``: an
        instant, or None to start as soon as its turn comes. ``repeat``: ``(times, keep_seeds)``,
        or None to run once.
        """
        with self.store.write() as conn:
            task = self.store.fetch(conn, task_id)
            ordering.require_pending(task, "edit it")
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
            if worker_pin is not None:  # "" lets any worker run it
                if worker_pin:
                    self.workers.require_known(conn, worker_pin)
                fields["worker_pin"] = worker_pin or None
            if not_before is not ...:
                fields["not_before"] = not_before
            if repeat is not ...:
                times, keep = repeat if repeat is not None else (None, False)
                fields.update(repeat_times=times, repeat_keep_seeds=bool(keep), repeat_stopped=False)
                fields["repeat_series"] = (task.repeat_series or task.id) if times is not None else None
            if exact is not None and exact != (task.batching == "exact"):
                fields["batching"] = "exact" if exact else None
            edited = replace(task, **fields)
            validate_new_task(NewTask.from_task(edited))
            check_timing(edited.not_before, edited.repeat_times)
            if validate is not None:
                validate(edited)
            if fields.keys() & {"params", "script_args", "checkpoint"}:
                (found,) = self.refuse_errors([edited], strict=strict)
                fields["warnings"] = [p.text for p in warnings_of(found)]
            if fields:
                self.store.update_fields(
                    conn, task_id, fields, require=[TaskStatus.PENDING], action="edit it"
                )
            task = self.store.fetch(conn, task_id)
        self.events.emit(QueueEvent.EDITED, task)
        return task

    def requeue(self, task_id: str, *, at: Literal["top", "bottom"] = "bottom") -> Task:
        """Queue a copy of a finished task as a new pending task that remembers its original."""
        original = self.get(task_id)
        if not original.is_finished:
            raise InvalidTransition(task_id, original.status.value, "pending", "requeue it before it ended")
        return self.enqueue(_copy_of(original, self.files_of(task_id)), at=at)

    def requeue_failed(self) -> list[Task]:
        with self.store.read() as conn:
            failed = self.store.fetch_many(conn, "WHERE status = 'failed' ORDER BY created_at")
            copies = [_copy_of(task, self.store.files_of(conn, task.id)) for task in failed]
        return self.enqueue_many(copies) if copies else []

    def _update(self, task_id: str, fields: dict[str, Any], event: QueueEvent) -> Task:
        with self.store.write() as conn:
            self.store.update_fields(conn, task_id, fields)
            task = self.store.fetch(conn, task_id)
        self.events.emit(event, task)
        return task

    # -- bulk --------------------------------------------------------------------------------

    def clear_pending(self) -> int:
        with self.store.write() as conn:
            ids, orphans = self.store.delete_tasks(conn, "status = 'pending'")
        self.delete_unused_files(orphans)
        self.events.emit(QueueEvent.CLEARED, None)
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
            self.events.emit(QueueEvent.CLEARED, None)
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
            self.files.delete(self.store.unused_refs(conn, refs), conn)

    def files_of(self, task_id: str) -> list[str]:
        with self.store.read() as conn:
            self.store.fetch(conn, task_id)
            return self.store.files_of(conn, task_id)

    # -- schedule: run windows, due times, the model given back (schedule.py) -----------------

    def schedule_config(self) -> schedule.ScheduleConfig:
        with self.store.read() as conn:
            return schedule.read(conn)

    def set_schedule(self, **values: Any) -> schedule.ScheduleConfig:
        """Store run windows, time zone, unload delay or a worker's windows (see :func:`schedule.write`)."""
        with self.store.write() as conn:
            schedule.write(conn, **values)
            config = schedule.read(conn)
        self.events.emit(QueueEvent.SCHEDULE_CHANGED, None)
        return config

    def idle_plan(self, worker_id: str | None, now: float) -> IdlePlan:
        """What an idle worker waits for: the next due time, its window's next change, the unload delay."""
        with self.store.read() as conn:
            config = schedule.read(conn)
            return IdlePlan(
                next_due=schedule.next_due(conn, now),
                gate_change=schedule.gate_of(config, worker_id, now).change_at,
                unload_after_s=config.unload_after_s,
            )

    def unloaded_workers(self) -> dict[str, float]:
        """Workers that gave their model back, and since when."""
        with self.store.read() as conn:
            return schedule.unloaded_workers(conn)

    def note_model_unloaded(self, worker_id: str, at: float | None) -> None:
        """Record that the worker gave its model back (``at``) or has it loaded again (None)."""
        with self.store.write() as conn:
            schedule.mark_unloaded(conn, worker_id, at)

    # -- queue state ---------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self.store.get_meta("paused", "0") == "1"

    def pause(self) -> None:
        with self.store.write() as conn:
            self.store.set_meta(conn, "paused", "1")
        self.events.emit(QueueEvent.PAUSED, None)

    def pause_now(self, worker_id: str | None = None) -> list[str]:
        """Pause (the queue, or one worker), and ask each running task concerned to stop after
        its image in progress; their ids."""
        if worker_id is None:
            self.pause()
        else:
            self.pause_worker(worker_id)
        running = [task.id for task in self.running() if worker_id is None or task.worker_id == worker_id]
        for task_id in running:
            self.request_stop(task_id, "paused")
        return running

    def resume(self) -> None:
        with self.store.write() as conn:
            self.store.set_meta(conn, "paused", "0")
            self.store.set_meta(conn, "run_once", "")
        self.events.emit(QueueEvent.RESUMED, None)

    def pause_worker(self, worker_id: str) -> None:
        """This worker takes no new task (the GPU you want back); the others go on."""
        self.workers.set_paused(worker_id, True)
        self.events.emit(QueueEvent.WORKERS_CHANGED, None)

    def resume_worker(self, worker_id: str) -> None:
        self.workers.set_paused(worker_id, False)
        self.events.emit(QueueEvent.WORKERS_CHANGED, None)


def _copy_of(task: Task, files: list[str]) -> NewTask:
    return NewTask.from_task(task, files, requeued_from=task.id)


__all__ = ["Page", "Progress", "QueueEvent", "StopReason", "TaskNotFound", "TaskQueue"]

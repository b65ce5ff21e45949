"""Jobs: a named group of tasks (``task.job_id``) that is queued, judged and acted on as one.

A job is created with its tasks in one store transaction (a sweep, a follow-up, ...). Its status
is never stored: it is derived from its tasks' statuses each time it is read, so it can never
disagree with them. A task that was requeued inside the job (a copy of it exists there) no longer
counts: the copy stands for it.

Whole-job actions: hold / release its pending tasks (``claim_next`` passes over a held job), move
it to the top, cancel it, delete it with or without its result images, requeue its failures, list
its images for a zip, and mark images kept or discarded, deleting discarded files on request.
Files outside the job's own result images are never touched.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePath
from typing import Any, Literal

from .errors import InvalidTaskData, InvalidTransition, TaskNotFound
from .events import QueueEvent
from .gate import check_timing
from .request_keys import RequestKey
from .task import MAX_NAME_LENGTH, NewTask, Task, TaskStatus, ensure_json
from .task_queue import TaskQueue

Mark = Literal["kept", "discarded"]
MARKS = ("kept", "discarded")


class JobStatus(str, Enum):
    EMPTY = "empty"  # every task of it was deleted one by one
    PENDING = "pending"  # nothing started yet
    RUNNING = "running"  # started, not finished (a held job with work left stays "running")
    DONE = "done"
    DONE_WITH_FAILURES = "done_with_failures"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


class JobNotFound(TaskNotFound):
    """No job with that id (a TaskNotFound, so every API maps it to 404 already)."""

    def __init__(self, job_id: str) -> None:
        LookupError.__init__(self, f"no job with id {job_id!r}")
        self.task_id = job_id
        self.job_id = job_id


class JobConflict(InvalidTransition):
    """A whole-job action its tasks' statuses do not allow (a 409 like any InvalidTransition)."""

    def __init__(self, job_id: str, message: str) -> None:
        Exception.__init__(self, f"job {job_id}: {message}")
        self.task_id = job_id
        self.current = None
        self.target = ""


@dataclass
class Job:
    id: str
    name: str
    created_at: float
    updated_at: float
    held: bool = False
    cancelled_at: float | None = None
    source_job_id: str | None = None
    source_task_id: str | None = None
    #: how the job came about: ``{"type": "sweep", "axes": ...}``, ``{"type": "followup", ...}``
    origin: dict[str, Any] = field(default_factory=dict)
    user: str | None = None
    #: its tasks do not start before this instant (epoch seconds)
    not_before: float | None = None
    #: repeat the whole job: None no; 0 until stopped; N rounds in all (see repeat.py)
    repeat_times: int | None = None
    repeat_round: int = 1
    repeat_keep_seeds: bool = False
    repeat_stopped: bool = False
    #: task status -> number of the job's (not superseded) tasks in it, plus ``total``
    counts: dict[str, int] = field(default_factory=dict)
    status: JobStatus = JobStatus.EMPTY
    images: int = 0
    kept: int = 0
    discarded: int = 0
    superseded: int = 0
    #: why the stored row could not be read (listed with what is readable); None for a sound row
    damaged: str | None = None

    @property
    def progress(self) -> float:
        total = self.counts.get("total", 0)
        if not total:
            return 0.0
        return (total - self.counts.get("pending", 0) - self.counts.get("running", 0)) / total


@dataclass
class JobPage:
    jobs: list[Job]
    total: int
    limit: int
    offset: int


@dataclass
class JobImage:
    """One result image of a job's task; ``index`` is its place in ``task.result.images``."""

    task_id: str
    index: int
    path: str
    infotext: str | None
    seed: int | None
    mark: Mark | None
    exists: bool
    grid: bool

    @property
    def name(self) -> str:
        return PurePath(self.path).name

    @property
    def key(self) -> tuple[str, int]:
        return self.task_id, self.index


def derive_status(counts: dict[str, int], *, cancelled: bool = False) -> JobStatus:
    """The job's status from its tasks' status counts (the one place this is decided)."""
    total = sum(counts.get(s.value, 0) for s in TaskStatus)
    if total == 0:
        return JobStatus.EMPTY
    pending, running = counts.get("pending", 0), counts.get("running", 0)
    if running or pending:
        return JobStatus.RUNNING if running or pending < total else JobStatus.PENDING
    if cancelled or counts.get("cancelled", 0) == total:
        return JobStatus.CANCELLED
    if counts.get("failed", 0) or counts.get("interrupted", 0):
        return JobStatus.DONE_WITH_FAILURES
    return JobStatus.DONE


def image_infotext(task: Task, index: int) -> str | None:
    """The infotext of result image ``index``, allowing for a grid's infotext listed first."""
    if task.result is None:
        return None
    infotexts, images = task.result.infotexts, task.result.images
    if len(infotexts) != len(images):
        first = task.result.info.get("index_of_first_image") or 0
        if isinstance(first, int) and len(infotexts) - first == len(images):
            index += first
    return infotexts[index] if 0 <= index < len(infotexts) else None


def image_seed(task: Task, index: int) -> int | None:
    seeds = task.result.seeds if task.result else []
    return seeds[index] if 0 <= index < len(seeds) else None


def is_grid(path: str) -> bool:
    """The WebUI saves grids into ``*-grids`` folders; they are not images of their own."""
    return PurePath(path).parent.name.endswith("-grids")


_JOB_COLUMNS = (
    "id, name, created_at, updated_at, held, cancelled_at, source_job_id, source_task_id, origin, user"
)
_JOB_READ = _JOB_COLUMNS + ", not_before, repeat_times, repeat_round, repeat_keep_seeds, repeat_stopped"


class Jobs:
    """Job operations over a :class:`TaskQueue` (same store, same transactions, same events)."""

    def __init__(self, queue: TaskQueue) -> None:
        self.queue = queue
        self.store = queue.store

    # -- create ------------------------------------------------------------------------------

    def create(
        self,
        tasks: Sequence[NewTask],
        *,
        name: str = "",
        at: Literal["top", "bottom"] = "bottom",
        origin: dict[str, Any] | None = None,
        source_job_id: str | None = None,
        source_task_id: str | None = None,
        user: str | None = None,
        strict: bool = False,
        not_before: float | None = None,
        repeat: tuple[int, bool] | None = None,
        request_key: RequestKey | None = None,
    ) -> tuple[Job, list[Task]]:
        """Queue ``tasks`` as a new job: the job row and every task, or nothing.

        ``strict``: the checker's warnings refuse it too. ``not_before``: none of its tasks
        starts before then. ``repeat``: ``(times, keep_seeds)``, the whole job repeats
        (:mod:`.repeat`). ``request_key``: see :meth:`TaskQueue.enqueue_many`.
        """
        if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH:
            raise InvalidTaskData("name", f"must be text of at most {MAX_NAME_LENGTH} characters")
        times, keep = repeat if repeat is not None else (None, False)
        check_timing(not_before, times)
        if not tasks:
            raise InvalidTaskData("tasks", "a job needs at least one task")
        origin = dict(origin or {})
        origin_json = ensure_json("origin", origin)
        job_id = uuid.uuid4().hex
        for item in tasks:
            item.job_id = job_id
        now = self.store.clock()

        def insert_job(conn: Any) -> None:
            conn.execute(
                f"INSERT INTO job ({_JOB_COLUMNS}) VALUES (?, ?, ?, ?, 0, NULL, ?, ?, ?, ?)",
                (job_id, name, now, now, source_job_id, source_task_id, origin_json, user),
            )
            if not_before is not None or times is not None:
                conn.execute(
                    "UPDATE job SET not_before = ?, repeat_times = ?, repeat_keep_seeds = ? WHERE id = ?",
                    (not_before, times, int(bool(keep)), job_id),
                )

        created = self.queue.enqueue_many(
            tasks, at=at, in_transaction=insert_job, strict=strict, request_key=request_key
        )
        return self.get(job_id), created

    # -- reads -------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        with self.store.read() as conn:
            row = conn.execute(f"SELECT {_JOB_READ} FROM job WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFound(job_id)
            return self._with_counts(conn, [_row_to_job(row)])[0]

    def list(self, *, limit: int = 50, offset: int = 0) -> JobPage:
        """Jobs, newest first."""
        if limit < 1 or limit > 500:
            raise InvalidTaskData("limit", "must be between 1 and 500")
        if offset < 0:
            raise InvalidTaskData("offset", "must not be negative")
        with self.store.read() as conn:
            total = conn.execute("SELECT count(*) FROM job").fetchone()[0]
            rows = conn.execute(
                f"SELECT {_JOB_READ} FROM job ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
            jobs = self._with_counts(conn, [_row_to_job(r) for r in rows])
        return JobPage(jobs=jobs, total=total, limit=limit, offset=offset)

    def tasks(self, job_id: str) -> list[Task]:
        """The job's tasks in the order they were queued."""
        with self.store.read() as conn:
            self._require(conn, job_id)
            return self._tasks(conn, job_id)

    def images(self, job_id: str) -> list[JobImage]:
        """Every result image of the job's tasks, with its keep / discard mark."""
        with self.store.read() as conn:
            self._require(conn, job_id)
            tasks = self.store.fetch_many(
                conn, "WHERE job_id = ? AND result IS NOT NULL ORDER BY created_at, rowid", (job_id,)
            )
            marks = {
                r[0]: r[1]
                for r in conn.execute("SELECT path, mark FROM job_image WHERE job_id = ?", (job_id,))
            }
        images: list[JobImage] = []
        for task in tasks:
            assert task.result is not None
            grids = set(task.result.grids())  # as the runner marked them; else the folder's name
            for index, path in enumerate(task.result.images):
                images.append(
                    JobImage(
                        task_id=task.id,
                        index=index,
                        path=path,
                        infotext=image_infotext(task, index),
                        seed=image_seed(task, index),
                        mark=marks.get(path),
                        exists=Path(path).is_file(),
                        grid=path in grids or is_grid(path),
                    )
                )
        return images

    def select_images(
        self, job_id: str, keys: Iterable[tuple[str, int]] | None = None, *, include_discarded: bool = False
    ) -> list[JobImage]:
        """The job's images by ``(task_id, index)`` (all of them when ``keys`` is None).

        An unknown key is an error naming it; discarded images are left out unless asked for.
        """
        images = self.images(job_id)
        if keys is None:
            return [i for i in images if include_discarded or i.mark != "discarded"]
        by_key = {image.key: image for image in images}
        chosen: list[JobImage] = []
        for position, (task_id, index) in enumerate(keys):
            image = by_key.get((task_id, index))
            if image is None:
                raise InvalidTaskData(
                    f"images.{position}", f"job {job_id} has no image {index} of task {task_id}"
                )
            if include_discarded or image.mark != "discarded":
                chosen.append(image)
        return chosen

    def zip_entries(self, job_id: str, *, include_discarded: bool = False) -> Iterator[tuple[Path, str]]:
        """``(file, name in the zip)`` for each of the job's images still on disk; names are unique."""
        used: set[str] = set()
        for number, image in enumerate(self.images(job_id)):
            if not image.exists or (image.mark == "discarded" and not include_discarded):
                continue
            name = image.name
            if name in used:
                name = f"{number:04d}-{name}"
            used.add(name)
            yield Path(image.path), name

    # -- whole-job actions -------------------------------------------------------------------

    def hold(self, job_id: str) -> Job:
        """Pause the job: its pending tasks stay queued but are not started."""
        return self._set_held(job_id, True, QueueEvent.JOB_HELD)

    def release(self, job_id: str) -> Job:
        """Resume a held job."""
        return self._set_held(job_id, False, QueueEvent.JOB_RESUMED)

    def _set_held(self, job_id: str, held: bool, event: QueueEvent) -> Job:
        with self.store.write() as conn:
            self._require(conn, job_id)
            conn.execute(
                "UPDATE job SET held = ?, updated_at = ? WHERE id = ?",
                (int(held), self.store.clock(), job_id),
            )
        self.queue.notify(event, None)
        return self.get(job_id)

    def schedule(self, job_id: str, *, not_before: Any = ..., repeat: Any = ...) -> Job:
        """Change when the job starts (``not_before``: an instant or None) and whether it repeats
        (``repeat``: ``(times, keep_seeds)`` or None)."""
        fields: dict[str, Any] = {}
        if not_before is not ...:
            fields["not_before"] = not_before
        if repeat is not ...:
            times, keep = repeat if repeat is not None else (None, False)
            fields.update(repeat_times=times, repeat_keep_seeds=int(bool(keep)), repeat_stopped=0)
        check_timing(fields.get("not_before"), fields.get("repeat_times"))
        with self.store.write() as conn:
            self._require(conn, job_id)
            if fields:
                sets = ", ".join(f"{column} = ?" for column in fields)
                conn.execute(
                    f"UPDATE job SET {sets}, updated_at = ? WHERE id = ?",
                    [*fields.values(), self.store.clock(), job_id],
                )
        self.queue.notify(QueueEvent.JOB_RESUMED, None)  # a start time moved: workers look again
        return self.get(job_id)

    def stop_repeating(self, job_id: str) -> Job:
        """No further round of the job; what ran and a round already queued stay."""
        with self.store.write() as conn:
            self._require(conn, job_id)
            conn.execute(
                "UPDATE job SET repeat_stopped = 1, updated_at = ? WHERE id = ?", (self.store.clock(), job_id)
            )
        self.queue.notify(QueueEvent.JOB_HELD, None)
        return self.get(job_id)

    def move_to_top(self, job_id: str) -> Job:
        """Put the job's pending tasks first, in their order, as an explicit (pinned) placement."""
        with self.store.write() as conn:
            self._require(conn, job_id)
            mine = conn.execute(
                "SELECT id, priority FROM task WHERE job_id = ? AND status = 'pending' "
                "ORDER BY priority DESC, position",
                (job_id,),
            ).fetchall()
            if not mine:
                raise JobConflict(job_id, "has no pending tasks to move")
            others = conn.execute(
                "SELECT max(priority) FROM task WHERE status = 'pending' AND (job_id IS NULL OR job_id != ?)",
                (job_id,),
            ).fetchone()[0]
            priority = max([r["priority"] for r in mine] + ([others] if others is not None else []))
            first = conn.execute(
                "SELECT min(position) FROM task WHERE status = 'pending' AND priority = ? "
                "AND (job_id IS NULL OR job_id != ?)",
                (priority, job_id),
            ).fetchone()[0]
            start = (first if first is not None else 0.0) - len(mine)
            for offset, row in enumerate(mine):
                self.store.update_fields(
                    conn,
                    row["id"],
                    {"priority": priority, "position": start + offset, "pinned": True},
                    require=[TaskStatus.PENDING],
                    action="move it",
                )
        self.queue.notify(QueueEvent.MOVED, None)
        return self.get(job_id)

    def cancel(self, job_id: str) -> tuple[Job, list[str]]:
        """Pending tasks become cancelled, a running one is asked to stop (it ends cancelled).

        Returns the job and the ids of the running tasks that were asked to stop.
        """
        cancelled: list[Task] = []
        with self.store.write() as conn:
            self._require(conn, job_id)
            now = self.store.clock()
            for (task_id,) in conn.execute(
                "SELECT id FROM task WHERE job_id = ? AND status = 'pending'", (job_id,)
            ).fetchall():
                self.store.transition(
                    conn,
                    task_id,
                    TaskStatus.CANCELLED,
                    only_from=[TaskStatus.PENDING],
                    action="cancel it",
                    finished_at=now,
                )
                cancelled.append(self.store.fetch(conn, task_id))
            running = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM task WHERE job_id = ? AND status = 'running'", (job_id,)
                )
            ]
            conn.execute(
                "UPDATE job SET cancelled_at = ?, held = 0, updated_at = ? WHERE id = ?", (now, now, job_id)
            )
        for task in cancelled:
            self.queue.notify(QueueEvent.CANCELLED, task)
        for task_id in running:
            self.queue.request_stop(task_id, "cancelled")
        return self.get(job_id), running

    def delete(self, job_id: str, *, delete_images: bool = False) -> dict[str, Any]:
        """Remove the job and its tasks; with ``delete_images``, also its tasks' result image files.

        Refused while one of its tasks runs (cancel the job first). Only paths listed in the
        results of this job's own tasks are deleted; nothing else on disk is touched.
        """
        with self.store.write() as conn:
            self._require(conn, job_id)
            if conn.execute(
                "SELECT 1 FROM task WHERE job_id = ? AND status = 'running' LIMIT 1", (job_id,)
            ).fetchone():
                raise JobConflict(job_id, "a task of it is running; cancel the job, then delete it")
            paths = self._result_paths(conn, job_id) if delete_images else []
            ids, orphans = self.store.delete_tasks(conn, "job_id = ?", (job_id,))
            conn.execute("DELETE FROM job WHERE id = ?", (job_id,))
        self.queue.delete_unused_files(orphans)
        removed = _unlink(paths)
        self.queue.notify(QueueEvent.JOB_DELETED, None)
        return {"id": job_id, "deleted_tasks": len(ids), "deleted_images": len(removed)}

    def requeue_failed(self, job_id: str) -> list[Task]:
        """Queue a copy of each failed or interrupted task of the job, inside the job."""
        with self.store.read() as conn:
            self._require(conn, job_id)
            failed = [
                t
                for t in self._current_tasks(conn, job_id)
                if t.status in (TaskStatus.FAILED, TaskStatus.INTERRUPTED)
            ]
            copies = [
                NewTask.from_task(task, self.store.files_of(conn, task.id), requeued_from=task.id)
                for task in failed
            ]
        if not copies:
            return []

        def reopen(conn: Any) -> None:
            conn.execute(
                "UPDATE job SET cancelled_at = NULL, updated_at = ? WHERE id = ?",
                (self.store.clock(), job_id),
            )

        return self.queue.enqueue_many(copies, in_transaction=reopen)

    # -- image marks -------------------------------------------------------------------------

    def mark(self, job_id: str, keys: Sequence[tuple[str, int]], mark: Mark | None) -> list[JobImage]:
        """Mark images kept or discarded (``None`` clears the mark); returns the images marked."""
        if mark is not None and mark not in MARKS:
            raise InvalidTaskData("mark", "must be 'kept', 'discarded' or null")
        chosen = self.select_images(job_id, keys, include_discarded=True)
        now = self.store.clock()
        with self.store.write() as conn:
            self._require(conn, job_id)
            for image in chosen:
                if mark is None:
                    conn.execute("DELETE FROM job_image WHERE job_id = ? AND path = ?", (job_id, image.path))
                else:
                    conn.execute(
                        "INSERT INTO job_image (job_id, path, task_id, idx, mark, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(job_id, path) DO UPDATE SET "
                        "mark = excluded.mark, updated_at = excluded.updated_at",
                        (job_id, image.path, image.task_id, image.index, mark, now),
                    )
                image.mark = mark
            conn.execute("UPDATE job SET updated_at = ? WHERE id = ?", (now, job_id))
        self.queue.notify(QueueEvent.JOB_MARKED, None)
        return chosen

    def delete_discarded(self, job_id: str) -> list[str]:
        """Delete the files of the job's images marked discarded; returns the paths deleted.

        Only a path that one of this job's tasks lists as a result image is ever unlinked.
        """
        with self.store.write() as conn:
            self._require(conn, job_id)
            own = set(self._result_paths(conn, job_id))
            discarded = [
                r[0]
                for r in conn.execute(
                    "SELECT path FROM job_image WHERE job_id = ? AND mark = 'discarded' ORDER BY path",
                    (job_id,),
                )
            ]
            targets = [path for path in discarded if path in own]
            conn.executemany(
                "UPDATE job_image SET deleted = 1 WHERE job_id = ? AND path = ?",
                [(job_id, p) for p in targets],
            )
        removed = _unlink(targets)
        self.queue.notify(QueueEvent.JOB_MARKED, None)
        return removed

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _require(conn: Any, job_id: str) -> None:
        if conn.execute("SELECT 1 FROM job WHERE id = ?", (job_id,)).fetchone() is None:
            raise JobNotFound(job_id)

    def _tasks(self, conn: Any, job_id: str) -> list[Task]:
        return self.store.fetch_many(conn, "WHERE job_id = ? ORDER BY created_at, rowid", (job_id,))

    def _current_tasks(self, conn: Any, job_id: str) -> list[Task]:
        """The job's tasks less those a requeued copy inside the job stands for."""
        tasks = self._tasks(conn, job_id)
        superseded = {t.requeued_from for t in tasks if t.requeued_from}
        return [t for t in tasks if t.id not in superseded]

    @staticmethod
    def _result_paths(conn: Any, job_id: str) -> list[str]:
        paths: list[str] = []
        for (result,) in conn.execute(
            "SELECT result FROM task WHERE job_id = ? AND result IS NOT NULL", (job_id,)
        ):
            images = json.loads(result).get("images") or []
            paths.extend(str(p) for p in images)
        return paths

    def _with_counts(self, conn: Any, jobs: list[Job]) -> list[Job]:
        if not jobs:
            return jobs
        by_id = {job.id: job for job in jobs}
        marks = ", ".join("?" for _ in by_id)
        rows = conn.execute(
            "SELECT id, job_id, status, requeued_from, "
            f"coalesce({self.store.json_array_length('result', 'images')}, 0) AS images "
            f"FROM task WHERE job_id IN ({marks})",
            list(by_id),
        ).fetchall()
        superseded = {(r["job_id"], r["requeued_from"]) for r in rows if r["requeued_from"]}
        counts: dict[str, dict[str, int]] = {job_id: {s.value: 0 for s in TaskStatus} for job_id in by_id}
        for row in rows:
            job = by_id[row["job_id"]]
            job.images += row["images"]
            if (row["job_id"], row["id"]) in superseded:
                job.superseded += 1
                continue
            counts[row["job_id"]][row["status"]] += 1
        for job_id, mark, n in conn.execute(
            f"SELECT job_id, mark, count(*) FROM job_image WHERE job_id IN ({marks}) GROUP BY job_id, mark",
            list(by_id),
        ):
            setattr(by_id[job_id], mark, n)
        for job in jobs:
            job.counts = {**counts[job.id], "total": sum(counts[job.id].values())}
            job.status = derive_status(counts[job.id], cancelled=job.cancelled_at is not None)
        return jobs


#: the timestamps an ISO 8601 view can show (years 1 to 9999)
_TIME_RANGE = (-62135596800.0, 253402300799.0)


def _row_to_job(row: Any) -> Job:
    """The row as a job; one holding what this code never writes (SQLite keeps any value in any
    column: a hand edit) is a job with what is readable and ``damaged`` saying why, so that it
    never fails a listing and can still be deleted."""
    problems: list[str] = []

    def text(name: str) -> str | None:
        value = row[name]
        if value is None or isinstance(value, str):
            return value
        problems.append(f"{name} is not text")
        return None

    def moment(name: str, required: bool = False) -> float | None:
        value = row[name]
        if value is None and not required:
            return None
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and _TIME_RANGE[0] <= value <= _TIME_RANGE[1]:
            return float(value)
        problems.append(f"{name} is not a time")
        return 0.0 if required else None

    def whole(name: str, default: int | None) -> int | None:
        value = row[name]
        if (value is None and default is None) or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        problems.append(f"{name} is not a whole number")
        return default

    try:
        origin = json.loads(row["origin"] or "{}")
        if not isinstance(origin, dict):
            raise ValueError(f"expected an object, found {type(origin).__name__}")
    except (TypeError, ValueError) as exc:
        problems.append(f"origin cannot be read ({exc})")
        origin = {}
    job = Job(
        id=str(row["id"]),
        name=text("name") or "",
        created_at=moment("created_at", required=True) or 0.0,
        updated_at=moment("updated_at", required=True) or 0.0,
        held=bool(row["held"]),
        cancelled_at=moment("cancelled_at"),
        source_job_id=text("source_job_id"),
        source_task_id=text("source_task_id"),
        origin=origin,
        user=text("user"),
        not_before=moment("not_before"),
        repeat_times=whole("repeat_times", None),
        repeat_round=whole("repeat_round", 1) or 1,
        repeat_keep_seeds=bool(row["repeat_keep_seeds"]),
        repeat_stopped=bool(row["repeat_stopped"]),
    )
    if problems:
        job.damaged = f"the stored job cannot be read: {'; '.join(problems)}"
    return job


def _unlink(paths: Iterable[str]) -> list[str]:
    removed: list[str] = []
    for raw in dict.fromkeys(paths):
        path = Path(raw)
        try:
            if path.is_file():
                path.unlink()
                removed.append(raw)
        except OSError:
            continue
    return removed


__all__ = [
    "Job",
    "JobConflict",
    "JobImage",
    "JobNotFound",
    "JobPage",
    "JobStatus",
    "Jobs",
    "derive_status",
    "image_infotext",
]

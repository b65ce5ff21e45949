"""Finished tasks, newest first: the history listing and its search."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import InvalidTaskData
from .store import Store
from .task import FINISHED, Task, TaskStatus


@dataclass
class Page:
    tasks: list[Task]
    total: int
    limit: int
    offset: int


def history_page(
    store: Store,
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
    statuses = status_filter(status)
    all_finished = set(statuses) == FINISHED
    marks = ", ".join("?" for _ in statuses)
    # Every finished status: walk the created_at index newest first and skip the few pending
    # rows (kept off the status index, which would sort the whole history). A few statuses:
    # their (status, created_at) index entries are fewer and already ordered.
    status = store.unindexed("status") if all_finished else "status"
    where = [f"{status} IN ({marks})"]
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
    with store.read() as conn:
        if len(where) == 1:  # no filter but status: the trigger-kept counts answer at once
            total = conn.execute(
                f"SELECT coalesce(sum(n), 0) FROM task_count WHERE status IN ({marks})", args
            ).fetchone()[0]
        else:
            total = conn.execute(f"SELECT count(*) FROM task {clause}", args).fetchone()[0]
        tasks = store.fetch_many(
            conn, f"{clause} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?", [*args, limit, offset]
        )
    return Page(tasks=tasks, total=total, limit=limit, offset=offset)


def status_filter(status: TaskStatus | Iterable[TaskStatus] | None) -> list[TaskStatus]:
    if status is None:
        return sorted(FINISHED, key=lambda s: s.value)
    statuses = [status] if isinstance(status, (TaskStatus, str)) else list(status)
    try:
        return [TaskStatus(s) for s in statuses]
    except ValueError:
        raise InvalidTaskData("status", f"unknown status in {statuses!r}") from None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

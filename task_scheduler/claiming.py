"""Which pending task a worker takes next: order, checkpoint affinity, holds and pins.

Only the choice lives here; marking the task ``running`` under a lease is the queue's
(:meth:`TaskQueue.claim_next`), in the same transaction, so two workers never take one task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: pending tasks of a held (paused) job, or of a job not due yet, are not claimed; see jobs.py
_NOT_HELD = " AND (job_id IS NULL OR job_id NOT IN (SELECT id FROM job WHERE held = 1 OR not_before > ?))"
#: a task whose not-before time has not come waits (see schedule.py)
_DUE = " AND (not_before IS NULL OR not_before <= ?)"


def runnable_clause(
    skip: Sequence[str],
    worker_id: str | None,
    *,
    held_too: bool = False,
    now: float = 0.0,
    family: str | None = None,
) -> tuple[str, list[Any]]:
    """SQL (``AND ...``) for the pending tasks this worker may take, and its arguments.

    ``skip``: checkpoint keys left to other workers. A task pinned to a worker is only that
    worker's; a claim made without a worker (tests, tools) takes no pinned task. ``held_too``:
    a held job's task, and one whose not-before time (or its job's) is still ahead of ``now``,
    counts (the user said "run this one now"). ``family``: the worker's WebUI family; a task
    captured by a WebUI's Queue button holds that WebUI's argument names and is taken only by a
    worker of the same family (a worker without one takes only tasks without one; a claim
    without a worker is not filtered).
    """
    sql = "" if held_too else _NOT_HELD + _DUE
    args: list[Any] = [] if held_too else [now, now]
    if skip:
        mine = "" if worker_id is None else " OR worker_pin = ?"  # pinned here: nobody else may take it
        sql += (
            f" AND (checkpoint_key IS NULL OR checkpoint_key NOT IN ({', '.join('?' for _ in skip)}){mine})"
        )
        args.extend(skip)
        if worker_id is not None:
            args.append(worker_id)
    if worker_id is None:
        sql += " AND worker_pin IS NULL"
        return sql, args
    sql += " AND (worker_pin IS NULL OR worker_pin = ?)"
    args.append(worker_id)
    if family is None:
        sql += " AND needs_webui IS NULL"
    else:
        sql += " AND (needs_webui IS NULL OR needs_webui = ?)"
        args.append(family)
    return sql, args


def pick(
    conn: Any,
    prefer: str | None,
    skip: Sequence[str] = (),
    worker_id: str | None = None,
    now: float = 0.0,
    *,
    lock: str = "",
    family: str | None = None,
) -> str | None:
    """The id of the task to run next, or None.

    With ``prefer`` (the checkpoint loaded now), among unpinned tasks of the head's priority
    that come before the first explicitly placed one, a task using that checkpoint goes first,
    so a mixed queue loads each model once. ``lock`` (PostgreSQL's ``FOR UPDATE SKIP LOCKED``)
    holds the candidate for this claim's transaction; a row another claimer holds is passed over.
    """
    runnable, args = runnable_clause(skip, worker_id, now=now, family=family)
    head = conn.execute(
        "SELECT id, priority, pinned, checkpoint_key FROM task WHERE status = 'pending'"
        + runnable
        + " ORDER BY priority DESC, position LIMIT 1"
        + lock,
        args,
    ).fetchone()
    if head is None:
        return None
    if prefer is None or head["pinned"] or head["checkpoint_key"] == prefer:
        return head["id"]
    fence = conn.execute(
        "SELECT min(position) FROM task WHERE status = 'pending' AND priority = ? AND pinned = 1" + runnable,
        [head["priority"], *args],
    ).fetchone()[0]
    sql = (
        "SELECT id FROM task WHERE status = 'pending' AND checkpoint_key = ? AND priority = ? AND pinned = 0"
        + runnable
    )
    more: list[Any] = [prefer, head["priority"], *args]
    if fence is not None:
        sql += " AND position < ?"
        more.append(fence)
    row = conn.execute(sql + " ORDER BY position LIMIT 1" + lock, more).fetchone()
    return row["id"] if row else head["id"]


def lock_pending(conn: Any, task_ids: Sequence[str], lock: str) -> set[str]:
    """Lock those of ``task_ids`` still pending and not locked by another claim (``lock``: the
    store's ``FOR UPDATE SKIP LOCKED``); returns their ids."""
    if not task_ids:
        return set()
    marks = ", ".join("?" for _ in task_ids)
    rows = conn.execute(
        f"SELECT id FROM task WHERE id IN ({marks}) AND status = 'pending'" + lock, list(task_ids)
    ).fetchall()
    return {row[0] for row in rows}


def following(
    conn: Any,
    store: Any,
    head: Any,
    skip: Sequence[str],
    worker_id: str | None,
    *,
    now: float,
    family: str | None = None,
    limit: int = 64,
) -> list[Any]:
    """The pending tasks this worker may take now that come after ``head`` in queue order, at
    its priority: the candidates to run in one batch with it (:func:`batching.select_group`).
    Read without locks; the claim locks those that join (:func:`lock_pending`)."""
    runnable, args = runnable_clause(skip, worker_id, now=now, family=family)
    return store.fetch_many(
        conn,
        "WHERE status = 'pending' AND priority = ? AND position > ?"
        + runnable
        + " ORDER BY position LIMIT ?",
        [head.priority, head.position, *args, limit],
    )

"""Repeating tasks and jobs: the next round, queued at the end of the queue when a round ends.

A task queued with ``repeat_times`` (N rounds in all, or 0: until stopped) is the first round of
a *series* (``repeat_series``, the first task's id). When a round ends ``done``, a copy of it is
appended at the bottom of the queue as the next round, in the same transaction that records the
outcome, so a crash between the two cannot lose the repetition or queue it twice. A round that
failed, was interrupted or cancelled ends the repetition: repeating a failure forever helps no one.

A job queued with a repetition repeats as a whole: when the last task of its current round ends
(and at least one of them is ``done``), copies of that round's tasks are queued inside the job as
the next round. Stopping a repetition only stops the next rounds: what ran, and a round already
queued, stay.

Seeds: each round gets new ones (``seed = -1``) unless ``keep_seeds``; then every round uses the
seeds the first round actually used (its random seed made fixed).
"""

from __future__ import annotations

from typing import Any

from .task import NewTask, Task, TaskStatus


def more_rounds(times: int | None, round_: int, stopped: bool) -> bool:
    """Whether a round follows round ``round_`` of a repetition of ``times`` rounds (0: forever)."""
    return times is not None and not stopped and (times == 0 or round_ < times)


def may_add_rounds(conn: Any, task: Task) -> bool:
    """Whether ending ``task`` may append a round: its outcome must then be written alone.

    Appending places tasks at the end of the queue, and a job's round ends with its last task;
    two outcomes written side by side (PostgreSQL lets them share) would each see the other's
    task still running, and neither would append the next round.
    """
    if more_rounds(task.repeat_times, task.repeat_round, task.repeat_stopped):
        return True
    if task.job_id is None:
        return False
    row = conn.execute("SELECT repeat_times FROM job WHERE id = ?", (task.job_id,)).fetchone()
    return row is not None and row[0] is not None


def _params_for_next(task: Task, keep_seeds: bool) -> dict[str, Any]:
    params = dict(task.params)
    if not keep_seeds:
        params["seed"] = -1
        return params
    seed = params.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        made = task.result.seeds if task.result else []
        if made:
            params["seed"] = made[0]
    return params


def task_round(store: Any, conn: Any, task: Task) -> list[NewTask]:
    """The next round of a repeating task that just ended (empty when there is none)."""
    if task.status is not TaskStatus.DONE:
        return []
    if not more_rounds(task.repeat_times, task.repeat_round, task.repeat_stopped):
        return []
    return [
        NewTask.from_task(
            task,
            store.files_of(conn, task.id),
            params=_params_for_next(task, task.repeat_keep_seeds),
            repeat_times=task.repeat_times,
            repeat_keep_seeds=task.repeat_keep_seeds,
            repeat_round=task.repeat_round + 1,
            repeat_series=task.repeat_series or task.id,
        )
    ]


def job_round(store: Any, conn: Any, task: Task) -> list[NewTask]:
    """The next round of a repeating job whose task just ended, when that ended the round.

    Marks the job as being in the next round (inside the caller's transaction).
    """
    if task.job_id is None:
        return []
    job = conn.execute(
        "SELECT repeat_times, repeat_round, repeat_keep_seeds, repeat_stopped, cancelled_at "
        "FROM job WHERE id = ?",
        (task.job_id,),
    ).fetchone()
    if job is None or job["cancelled_at"] is not None:
        return []
    round_ = job["repeat_round"]
    if task.repeat_round != round_ or not more_rounds(
        job["repeat_times"], round_, bool(job["repeat_stopped"])
    ):
        return []
    unfinished = conn.execute(
        "SELECT 1 FROM task WHERE job_id = ? AND repeat_round = ? "
        "AND status IN ('pending', 'running') LIMIT 1",
        (task.job_id, round_),
    ).fetchone()
    if unfinished is not None:
        return []
    tasks = store.fetch_many(
        conn, "WHERE job_id = ? AND repeat_round = ? ORDER BY created_at, position", (task.job_id, round_)
    )
    superseded = {t.requeued_from for t in tasks if t.requeued_from}
    current = [t for t in tasks if t.id not in superseded]
    if not any(t.status is TaskStatus.DONE for t in current):
        return []
    keep = bool(job["repeat_keep_seeds"])
    conn.execute(
        "UPDATE job SET repeat_round = ?, updated_at = ? WHERE id = ?",
        (round_ + 1, store.clock(), task.job_id),
    )
    return [
        NewTask.from_task(
            t,
            store.files_of(conn, t.id),
            params=_params_for_next(t, keep),
            repeat_round=round_ + 1,
        )
        for t in current
    ]


def stop_series(conn: Any, task: Task) -> int:
    """Stop the repetition ``task`` belongs to (its series); returns the rows changed."""
    series = task.repeat_series or task.id
    cursor = conn.execute(
        "UPDATE task SET repeat_stopped = 1 WHERE (repeat_series = ? OR id = ?) AND repeat_stopped = 0",
        (series, task.id),
    )
    return cursor.rowcount

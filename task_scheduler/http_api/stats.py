"""The queue at a glance, for the Task Queue tab's header: "running 2 of 15, about 4 min left".

* ``finished``/``total``: the current run is every task that finished since the oldest task still
  waiting (or running) was queued, plus what is waiting; so 15 queued at once read "1 of 15"
  while the first runs and "15 of 15" while the last does. Stateless: it survives a restart.
* ``eta_s``: seconds left, from how long recent tasks took for their work. A unit of work is
  one sampling step of one 512x512 image (steps x batch count x batch size x pixels / 512²,
  hires fix adding its upscaled pass); recent durations are fitted as a cost per task plus a
  cost per unit (:func:`pace`), so a queue of small and large tasks is not judged by the last
  one alone. ``None`` until some task has finished.

The numbers come from SQL aggregates over the store, never from loading every task.
"""

from __future__ import annotations

from typing import Any

from ..store import Store
from ..task import FINISHED
from ..task_queue import TaskQueue

#: recent tasks whose durations set the pace
RECENT = 20


def units_sql(store: Store) -> str:
    """SQL for the work units of one task row (built from trusted constants only).

    A row whose params are not JSON (damaged) counts with the defaults instead of failing.
    """

    def num(name: str, default: float) -> str:
        return f"coalesce({store.json_number('params', name)}, {default})"

    hires = num("hr_scale", 2)
    return (
        f"({num('steps', 20)} * {num('n_iter', 1)} * {num('batch_size', 1)}"
        f" * {num('width', 512)} * {num('height', 512)} / 262144.0"
        f" * (CASE WHEN {num('enable_hr', 0)} <> 0 THEN 1 + {hires} * {hires} ELSE 1 END))"
    )


_FINISHED = ", ".join(f"'{status.value}'" for status in sorted(FINISHED, key=lambda s: s.value))


def queue_stats(queue: TaskQueue, running_fractions: dict[str, float]) -> dict[str, Any]:
    """``{finished, total, eta_s, seconds_per_unit}`` for the header.

    ``running_fractions`` maps each running task's id to its progress (0..1).
    """
    units = units_sql(queue.store)
    with queue.store.read() as conn:
        oldest = conn.execute(
            "SELECT min(created_at) FROM task WHERE status IN ('pending', 'running')"
        ).fetchone()[0]
        finished = 0
        if oldest is not None:
            finished = conn.execute(
                f"SELECT count(*) FROM task WHERE status IN ({_FINISHED}) AND finished_at >= ?", (oldest,)
            ).fetchone()[0]
        pending, pending_units = conn.execute(
            f"SELECT count(*), coalesce(sum({units}), 0) FROM task WHERE status = 'pending'"
        ).fetchone()
        running_units = conn.execute(f"SELECT id, {units} FROM task WHERE status = 'running'").fetchall()
        recent = conn.execute(
            f"SELECT finished_at - started_at, {units} FROM task WHERE status = 'done' "
            "AND started_at IS NOT NULL AND finished_at >= started_at "
            "ORDER BY created_at DESC LIMIT ?",
            (RECENT,),
        ).fetchall()
    overhead, rate = pace([(float(row[0]), float(row[1] or 0)) for row in recent])
    left = float(pending_units) * rate + int(pending) * overhead
    for task_id, task_units in running_units:
        fraction = min(max(running_fractions.get(task_id, 0.0), 0.0), 1.0)
        left += (float(task_units or 0) * rate + overhead) * (1.0 - fraction)
    known = bool(recent)
    eta = round(left, 1) if known and (pending or running_units) else None
    return {
        "finished": int(finished),
        "total": int(finished) + len(running_units) + int(pending),
        "eta_s": eta,
        "seconds_per_unit": round(rate, 4) if known else None,
        "seconds_per_task": round(overhead, 2) if known else None,
    }


def pace(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """``(seconds per task, seconds per unit)`` fitted to ``(duration, units)`` samples.

    A least-squares line when the recent tasks differ in size, so a fixed cost per task (model
    moves, saving, VAE) is not scaled up with the work; otherwise all time is per unit.
    """
    if not samples:
        return 0.0, 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_u = sum(u for _, u in samples) / n
    spread = sum((u - mean_u) ** 2 for _, u in samples)
    if spread > 1e-9 * max(mean_u * mean_u, 1e-12) and n >= 3:
        slope = sum((u - mean_u) * (t - mean_t) for t, u in samples) / spread
        if slope > 0 and mean_t - slope * mean_u >= 0:
            return mean_t - slope * mean_u, slope
    return 0.0, (mean_t / mean_u if mean_u > 0 else 0.0)

"""Where a pending task sits: fractional positions, and placing a task explicitly.

Run order is ``priority DESC, position ASC`` among pending tasks. A placement takes the midpoint
between two neighbours, so moving one task writes one row; when repeated midpoints run out of
float precision the pending positions are spread out again (:func:`renumber`).
"""

from __future__ import annotations

import math
from typing import Any

from .errors import InvalidTaskData, InvalidTransition
from .store import Store
from .task import Task, TaskStatus

_POSITION_EPSILON = 1e-6


def position_bounds(conn: Any) -> tuple[float, float]:
    """The lowest and highest pending positions (0 for an empty queue).

    A position that is not a number (SQLite keeps a hand edit's text; such a row is listed as
    damaged) is passed over, so that one row never stops everyone from queueing.
    """
    row = conn.execute("SELECT min(position), max(position) FROM task WHERE status = 'pending'").fetchone()
    if all(value is None or _number(value) for value in row):
        return float(row[0] if row[0] is not None else 0.0), float(row[1] if row[1] is not None else 0.0)
    rows = conn.execute("SELECT position FROM task WHERE status = 'pending'").fetchall()
    numbers = [value for (value,) in rows if _number(value)]
    return float(min(numbers, default=0.0)), float(max(numbers, default=0.0))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def placement(
    conn: Any, store: Store, task: Task, to: str | None, before: str | None, after: str | None
) -> tuple[int, float]:
    """The (priority, position) that puts ``task`` at ``to`` or next to another pending task."""
    if to is not None:
        return _at_end(conn, task, to)
    anchor_id = before or after
    assert anchor_id is not None
    if anchor_id == task.id:
        raise InvalidTaskData("move", "a task cannot be placed next to itself")
    anchor = store.fetch(conn, anchor_id)
    require_pending(anchor, "place a task next to it")
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
        renumber(conn)
        anchor = store.fetch(conn, anchor_id)
    raise RuntimeError("could not find room to place the task")  # pragma: no cover


def _at_end(conn: Any, task: Task, to: str) -> tuple[int, float]:
    row = conn.execute(
        "SELECT max(priority), min(priority) FROM task WHERE status = 'pending' AND id != ?", (task.id,)
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


def renumber(conn: Any) -> None:
    """Spread pending positions out again when repeated midpoints ran out of precision."""
    ids = [
        r[0]
        for r in conn.execute("SELECT id FROM task WHERE status = 'pending' ORDER BY priority DESC, position")
    ]
    conn.executemany(
        "UPDATE task SET position = ? WHERE id = ?", [(float(i), tid) for i, tid in enumerate(ids)]
    )


def require_pending(task: Task, action: str) -> None:
    if task.status is not TaskStatus.PENDING:
        raise InvalidTransition(task.id, task.status.value, "pending", action)

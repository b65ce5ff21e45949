"""What the queue is doing and why, said in words and in fields: the tab's header and ``GET /queue``.

One place decides it, from the store (so every process says the same): paused, running,
holding outside its run windows ("holding until 23:00"), waiting for a start time ("next: job
'lora test' at 01:00"), or idle; whether a worker gave its model back ("model unloaded"); and
the next instant a task starts (None when nothing is foreseen). Times are written in the run
windows' time zone, the WebUI machine's clock unless one is set.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from . import schedule
from .windows import resolve_tz


def _clock(ts: float, tz_name: str, now: float) -> str:
    """``23:00`` today or tomorrow morning, ``Sat 00:00`` within a week, else the date."""
    try:
        tz = resolve_tz(tz_name)
    except Exception:
        tz = None
    moment = datetime.fromtimestamp(ts, tz) if tz is not None else datetime.fromtimestamp(ts)
    today = datetime.fromtimestamp(now, tz) if tz is not None else datetime.fromtimestamp(now)
    if ts - now < 20 * 3600 or moment.date() == today.date():
        return moment.strftime("%H:%M")
    if moment.date() - today.date() < timedelta(days=7):
        return moment.strftime("%a %H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


def _next_waiting(conn: Any, now: float) -> tuple[str, float] | None:
    """The task or job whose start time comes first, in words, and that time."""
    task = conn.execute(
        "SELECT name, params, not_before FROM task WHERE status = 'pending' AND not_before > ? "
        "ORDER BY not_before LIMIT 1",
        (now,),
    ).fetchone()
    job = conn.execute(
        "SELECT name, not_before FROM job WHERE not_before > ? AND id IN "
        "(SELECT job_id FROM task WHERE status = 'pending' AND job_id IS NOT NULL) "
        "ORDER BY not_before LIMIT 1",
        (now,),
    ).fetchone()
    found: list[tuple[str, float]] = []
    # a start time that is not a number (a hand edit SQLite kept; the row is listed as damaged)
    # sorts after every number, so only the first row can be a real one
    if task is not None and _is_time(task["not_before"]):
        found.append((f"task '{task['name']}'" if task["name"] else "a task", task["not_before"]))
    if job is not None and _is_time(job["not_before"]):
        found.append((f"job '{job['name']}'" if job["name"] else "a job", job["not_before"]))
    return min(found, key=lambda item: item[1]) if found else None


def _is_time(value: Any) -> bool:
    """An epoch time a clock can show (years 1 to 9999)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return number and -62135596800.0 <= value <= 253402300799.0


def _due_now(conn: Any, now: float) -> int:
    """Pending tasks that may start now as far as start times and held jobs go."""
    return conn.execute(
        "SELECT count(*) FROM task WHERE status = 'pending' AND (not_before IS NULL OR not_before <= ?) "
        "AND (job_id IS NULL OR job_id NOT IN (SELECT id FROM job WHERE held = 1 OR not_before > ?))",
        (now, now),
    ).fetchone()[0]


def describe(store: Any, now: float) -> dict[str, Any]:
    """The queue's state (see the module doc) as a JSON-ready dict."""
    with store.read() as conn:
        config = schedule.read(conn)
        paused = store.meta(conn, "paused", "0") == "1"
        running = conn.execute("SELECT count(*) FROM task WHERE status = 'running'").fetchone()[0]
        pending = conn.execute("SELECT count(*) FROM task WHERE status = 'pending'").fetchone()[0]
        due = _due_now(conn, now)
        waiting = _next_waiting(conn, now)
        live = {row[0] for row in conn.execute("SELECT id FROM worker WHERE stopped_at IS NULL")}
        unloaded = {w: at for w, at in schedule.unloaded_workers(conn).items() if w in live}
    gate = schedule.gate_of(config, None, now)
    tz = config.timezone
    reasons: list[str] = []
    next_start: float | None = None
    if paused:
        state = "paused"
        reasons.append("paused")
    elif not gate.open and (due or waiting):
        state = "holding"
        next_start = gate.change_at
        if waiting is not None and not due:
            next_start = max(next_start or waiting[1], waiting[1])
        reasons.append(
            f"holding until {_clock(gate.change_at, tz, now)}"
            if gate.change_at
            else "holding: no window ahead"
        )
    elif running:
        state = "running"
        reasons.append("running")
    elif due:
        state = "starting"
        next_start = now
        reasons.append("starting")
    elif waiting is not None:
        state = "waiting"
        next_start = waiting[1]
        at_open = schedule.gate_of(config, None, waiting[1])
        if not at_open.open and at_open.change_at:
            next_start = at_open.change_at
    else:
        state = "idle"
        reasons.append("queue empty" if not pending else "nothing to run")
    if running and state == "holding":
        reasons.insert(0, "running the last task of the window")
    if waiting is not None and state in ("waiting", "holding", "running", "idle"):
        reasons.append(f"next: {waiting[0]} at {_clock(waiting[1], tz, now)}")
    if unloaded:
        reasons.append("model unloaded")
    return {
        "state": state,
        "text": ", ".join(reasons),
        "reasons": reasons,
        "next_start": next_start,
        "window_open": gate.open,
        "window_change": gate.change_at,
        "windows": config.windows,
        "timezone": config.timezone,
        "unload_after_s": config.unload_after_s,
        "model_unloaded": bool(unloaded),
        "unloaded_workers": sorted(unloaded),
    }

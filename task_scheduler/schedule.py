"""The queue's schedule, kept in the store so that every worker process reads the same one.

What lives here (``meta`` keys, no table of its own): the queue's run windows (the text a person
wrote, see :mod:`.windows`), the time zone they are read in, each worker's own windows, and after
how long an idle worker gives its GPU back (unloads the model). Why the store: several WebUIs
(processes) share one queue; a window kept in one process's memory or settings file would let
another start tasks the user wanted held.

:func:`gate` answers "may this worker start a task now, and until when" for :meth:`TaskQueue.claim_next`
(inside its transaction); :func:`next_due` when the earliest not-before time of a waiting task or
job comes, so an idle executor sleeps until then instead of polling.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidTaskData
from .store import Store
from .windows import RunWindows, describe, parse, resolve_tz

log = logging.getLogger(__name__)

WINDOWS = "schedule_windows"
TIMEZONE = "schedule_timezone"
UNLOAD_AFTER = "schedule_unload_after_s"
#: a worker's own windows: ``WORKER_WINDOWS + worker id``
WORKER_WINDOWS = "schedule_windows:"
#: a worker gave its model back: ``UNLOADED + worker id`` -> the instant (empty: loaded)
UNLOADED = "model_unloaded:"
#: longest unload delay (a week), so a typo cannot make it meaningless
MAX_UNLOAD_AFTER_S = 7 * 86400


@dataclass
class ScheduleConfig:
    """The schedule as stored: windows text (empty: always open), zone, unload delay, per worker."""

    windows: str = ""
    timezone: str = ""
    unload_after_s: float | None = None
    worker_windows: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "windows": self.windows,
            "timezone": self.timezone,
            "unload_after_s": self.unload_after_s,
            "worker_windows": dict(self.worker_windows),
        }


@dataclass(frozen=True)
class Gate:
    """Whether a worker may start tasks now, and when that changes (None: not foreseeable)."""

    open: bool
    change_at: float | None = None
    #: "queue" or "worker": whose window holds it (when closed)
    held_by: str | None = None


def normalized_windows(text: str) -> str:
    """``text`` checked and rewritten in the canonical form (raises :class:`InvalidTaskData`)."""
    return describe(parse(text or ""))


def check_unload_after(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidTaskData(
            "unload_after_s", "must be a number of seconds, or null to keep the model loaded"
        )
    if not 0 <= value <= MAX_UNLOAD_AFTER_S:
        raise InvalidTaskData("unload_after_s", f"must be between 0 and {MAX_UNLOAD_AFTER_S} seconds")
    return float(value)


def read(conn: Any) -> ScheduleConfig:
    """The schedule as stored (inside a transaction the caller holds)."""
    values = dict(
        conn.execute(
            "SELECT key, value FROM meta WHERE key IN (?, ?, ?) OR key LIKE ?",
            (WINDOWS, TIMEZONE, UNLOAD_AFTER, WORKER_WINDOWS + "%"),
        ).fetchall()
    )
    unload = values.get(UNLOAD_AFTER) or ""
    try:
        unload_after = float(unload) if unload else None
    except ValueError:
        unload_after = None
    return ScheduleConfig(
        windows=values.get(WINDOWS, ""),
        timezone=values.get(TIMEZONE, ""),
        unload_after_s=unload_after,
        worker_windows={
            key[len(WORKER_WINDOWS) :]: value
            for key, value in values.items()
            if key.startswith(WORKER_WINDOWS) and value
        },
    )


def write(
    conn: Any,
    *,
    windows: str | None = None,
    timezone: str | None = None,
    unload_after_s: Any = ...,
    worker: str | None = None,
    worker_windows: str | None = None,
) -> None:
    """Validate and store what is given (inside the caller's transaction); the rest stays."""
    if timezone is not None:
        resolve_tz(timezone)
        Store.set_meta(conn, TIMEZONE, timezone.strip())
    if windows is not None:
        Store.set_meta(conn, WINDOWS, normalized_windows(windows))
    if unload_after_s is not ...:
        value = check_unload_after(unload_after_s)
        Store.set_meta(conn, UNLOAD_AFTER, "" if value is None else repr(value))
    if worker is not None and worker_windows is not None:
        Store.set_meta(conn, WORKER_WINDOWS + worker, normalized_windows(worker_windows))


def _windows(text: str, tz_name: str) -> RunWindows | None:
    if not text:
        return None
    try:
        return RunWindows.from_text(text, tz_name)
    except InvalidTaskData:  # written outside this code: never hold the queue on a bad row
        log.warning("task scheduler: ignoring unreadable run windows %r", text)
        return None


def windows_of(config: ScheduleConfig, worker_id: str | None) -> list[tuple[str, RunWindows]]:
    """The windows that apply to ``worker_id``: the queue's and the worker's own (both must be open)."""
    found: list[tuple[str, RunWindows]] = []
    queue_windows = _windows(config.windows, config.timezone)
    if queue_windows is not None:
        found.append(("queue", queue_windows))
    if worker_id is not None:
        own = _windows(config.worker_windows.get(worker_id, ""), config.timezone)
        if own is not None:
            found.append(("worker", own))
    return found


def gate_of(config: ScheduleConfig, worker_id: str | None, now: float) -> Gate:
    """Open when every window that applies is open; the instant that changes."""
    applying = windows_of(config, worker_id)
    if not applying:
        return Gate(True)
    closed = [(who, w) for who, w in applying if not w.is_open(now)]
    if not closed:
        ends = [w.next_change(now) for _who, w in applying]
        known = [end for end in ends if end is not None]
        return Gate(True, min(known) if known else None)
    return Gate(False, _next_open(applying, now), closed[0][0])


def _next_open(applying: list[tuple[str, RunWindows]], now: float) -> float | None:
    """The first instant from ``now`` at which every window is open at once."""
    at = now
    for _ in range(64):
        shut = next((w for _who, w in applying if not w.is_open(at)), None)
        if shut is None:
            return at
        nxt = shut.next_change(at)
        if nxt is None or nxt <= at:
            return None
        at = nxt
    return None


def gate(conn: Any, worker_id: str | None, now: float) -> Gate:
    return gate_of(read(conn), worker_id, now)


def next_due(conn: Any, now: float) -> float | None:
    """The earliest not-before time after ``now`` of a pending task or of a job with pending tasks."""
    task_due = conn.execute(
        "SELECT min(not_before) FROM task WHERE status = 'pending' AND not_before > ?", (now,)
    ).fetchone()[0]
    job_due = conn.execute(
        "SELECT min(not_before) FROM job WHERE not_before > ? AND id IN "
        "(SELECT job_id FROM task WHERE status = 'pending' AND job_id IS NOT NULL)",
        (now,),
    ).fetchone()[0]
    # min() over a column SQLite let hold a text too is that text only when no number is there
    times = [t for t in (task_due, job_due) if isinstance(t, (int, float)) and not isinstance(t, bool)]
    return min(times) if times else None


def mark_unloaded(conn: Any, worker_id: str, at: float | None) -> None:
    """Record that ``worker_id`` gave its model back (``at``), or loaded one again (None)."""
    Store.set_meta(conn, UNLOADED + worker_id, "" if at is None else repr(at))


def unloaded_workers(conn: Any) -> dict[str, float]:
    """Workers whose model is unloaded now, and since when."""
    found: dict[str, float] = {}
    for key, value in conn.execute("SELECT key, value FROM meta WHERE key LIKE ?", (UNLOADED + "%",)):
        try:
            if value:
                found[key[len(UNLOADED) :]] = float(value)
        except ValueError:
            continue
    return found

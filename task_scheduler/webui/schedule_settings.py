"""The schedule's options on the Settings page (run windows, their time zone, this WebUI's own
windows, giving the GPU back), kept in the queue's store, not only in this WebUI's config.

Why both: every WebUI sharing the queue must hold at the same hours, so the store is the
arbiter (:mod:`task_scheduler.schedule`). The Settings page is where a person edits them: an edit
is checked and written to the store at once (``onchange``); a value that cannot be read is
refused there (the WebUI keeps the old value and prints the reason, e.g. ``windows rule 2
('Sat 25:00-26:00'): 25:00 is not a time of day``). At start-up the page's values are filled from
the store (:func:`show_stored`), so it shows what the queue obeys, whoever changed it last.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

RUN_WINDOWS = "task_scheduler_run_windows"
TIMEZONE = "task_scheduler_run_windows_timezone"
WORKER_WINDOWS = "task_scheduler_worker_run_windows"
UNLOAD = "task_scheduler_unload_when_idle"
UNLOAD_AFTER = "task_scheduler_unload_after_s"
KEYS = (RUN_WINDOWS, TIMEZONE, WORKER_WINDOWS, UNLOAD, UNLOAD_AFTER)
DEFAULT_UNLOAD_AFTER_S = 300

#: ``() -> (queue, this worker's id)`` of the open queue, or None while it is not open
Current = Callable[[], "tuple[Any, str] | None"]


def register(add: Callable[[str, Any], None], option: Callable[..., Any], current: Current) -> None:
    """Add the options; ``option(default, label, component, args, onchange=...)`` builds one."""

    def store(**values: Any) -> Callable[[], None]:
        def onchange() -> None:
            write(current, **values)

        return onchange

    add(
        RUN_WINDOWS,
        option(
            "",
            "Run windows (when the queue starts tasks)",
            "Textbox",
            None,
            onchange=store(windows=RUN_WINDOWS),
        ).info(
            "e.g. Mon-Fri 23:00-07:30; Sat,Sun 00:00-24:00 — empty: always. Outside them the running "
            "task finishes and nothing new starts; Run now still runs. Shared by every WebUI of this queue"
        ),
    )
    add(
        TIMEZONE,
        option("", "Time zone of the run windows", "Textbox", None, onchange=store(timezone=TIMEZONE)).info(
            "e.g. Europe/Berlin; empty: this machine's clock"
        ),
    )
    add(
        WORKER_WINDOWS,
        option(
            "", "This WebUI's own run windows", "Textbox", None, onchange=store(worker_windows=WORKER_WINDOWS)
        ).info("besides the queue's: this WebUI starts tasks only when both are open; empty: the queue's"),
    )
    add(
        UNLOAD,
        option(
            False, "Give the GPU back when the queue is idle", "Checkbox", None, onchange=store(unload=True)
        ).info(
            "unload the model after the delay below once the queue ran empty, left its window or was "
            "paused; the next task loads it again"
        ),
    )
    add(
        UNLOAD_AFTER,
        option(
            DEFAULT_UNLOAD_AFTER_S,
            "Unload after (seconds idle)",
            "Number",
            {"precision": 0, "minimum": 0},
            onchange=store(unload=True),
        ),
    )


def _opts() -> Any:
    from modules import shared

    return shared.opts


def write(current: Current, **which: Any) -> None:
    """Store the edited option (raises :class:`InvalidTaskData` to refuse it, or when no queue is open)."""
    from ..errors import InvalidTaskData

    opened = current()
    if opened is None:
        raise InvalidTaskData("schedule", "the task queue is not open; the schedule cannot be stored")
    queue, worker_id = opened
    data = _opts().data
    values: dict[str, Any] = {}
    if "windows" in which:
        values["windows"] = str(data.get(RUN_WINDOWS) or "")
    if "timezone" in which:
        values["timezone"] = str(data.get(TIMEZONE) or "")
    if "worker_windows" in which:
        values.update(worker=worker_id, worker_windows=str(data.get(WORKER_WINDOWS) or ""))
    if "unload" in which:
        values["unload_after_s"] = unload_after(data)
    queue.set_schedule(**values)


def unload_after(data: dict[str, Any]) -> float | None:
    if not data.get(UNLOAD):
        return None
    try:
        return max(0.0, float(data.get(UNLOAD_AFTER, DEFAULT_UNLOAD_AFTER_S)))
    except (TypeError, ValueError):
        return float(DEFAULT_UNLOAD_AFTER_S)


def show_stored(queue: Any, worker_id: str, opts: Any | None = None) -> None:
    """Fill the page's values from the store (what the queue obeys), without calling ``onchange``."""
    opts = opts if opts is not None else _opts()
    config = queue.schedule_config()
    data = opts.data
    data[RUN_WINDOWS] = config.windows
    data[TIMEZONE] = config.timezone
    data[WORKER_WINDOWS] = config.worker_windows.get(worker_id, "")
    data[UNLOAD] = config.unload_after_s is not None
    if config.unload_after_s is not None:
        data[UNLOAD_AFTER] = int(config.unload_after_s)

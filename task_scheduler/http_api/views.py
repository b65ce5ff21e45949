"""Tasks as the two APIs show them. One time format everywhere: ISO 8601 UTC strings."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import PurePath
from typing import Any

from ..gate import shown_safely
from ..queue_state import describe
from ..task import GRIDS_KEY, Task, TaskStatus
from ..task_queue import Progress
from .payloads import api_params_view


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def progress_view(progress: Progress | dict[str, Any] | None) -> dict[str, Any] | None:
    if progress is None:
        return None
    if isinstance(progress, Progress):
        data = asdict(progress)
        data.pop("task_id", None)
        return data
    return dict(progress)


def task_public(
    task: Task, *, position: int | None = None, progress: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The task as our API shows it; one that cannot be shown is listed as damaged (id, reason)."""
    if task.damaged is None:
        view = _task_public(task, position, progress)
        why = shown_safely(view)
        if why is None:
            return view
        task = replace(task, damaged=f"the stored task cannot be shown ({why})")
    return _task_public(
        replace(task, params={}, script_args={}, result=None, warnings=[], error=task.damaged), position, None
    )


def _task_public(task: Task, position: int | None, progress: dict[str, Any] | None) -> dict[str, Any]:
    result = None
    if task.result is not None:
        result = {
            "images": [PurePath(path).name for path in task.result.images],
            "infotexts": list(task.result.infotexts),
            "seeds": list(task.result.seeds),
            "info": dict(task.result.info),
        }
        if GRIDS_KEY in result["info"]:  # names, like the images: no server paths
            result["info"][GRIDS_KEY] = [PurePath(path).name for path in task.result.grids()]
    return {
        "id": task.id,
        "kind": task.kind,
        "status": task.status.value,
        "name": task.name,
        "params": task.params,
        "script_args": task.script_args,
        "script_name": task.script_name,
        "checkpoint": task.checkpoint,
        "source": task.source,
        "priority": task.priority,
        "position": position,
        "pinned": task.pinned,
        "job_id": task.job_id,
        "bookmarked": task.bookmarked,
        "created_at": iso(task.created_at),
        "updated_at": iso(task.updated_at),
        "started_at": iso(task.started_at),
        "finished_at": iso(task.finished_at),
        "result": result,
        "error": task.error,
        "warnings": list(task.warnings),
        "attempts": task.attempts,
        "crashes": task.crashes,
        "user": task.user,
        "callback_url": task.callback_url,
        "requeued_from": task.requeued_from,
        "worker": task.worker_id,
        "worker_pin": task.worker_pin,
        "needs_webui": task.needs_webui,
        "batching": task.batching,
        "batch_id": task.batch_id,
        "progress": progress,
        "damaged": task.damaged,
        "not_before": iso(task.not_before),
        "repeat": repeat_view(
            task.repeat_times, task.repeat_round, task.repeat_keep_seeds, task.repeat_stopped
        ),
        "repeat_series": task.repeat_series,
        "round": task.repeat_round,
    }


def repeat_view(times: int | None, round_: int, keep: bool, stopped: bool) -> dict[str, Any] | None:
    """A task's or job's repetition: rounds in all (0: until stopped), which round, seeds, stopped."""
    if times is None:
        return None
    return {
        "times": times,
        "until_stopped": times == 0,
        "round": round_,
        "keep_seeds": keep,
        "stopped": stopped,
    }


def schedule_view(queue: Any) -> dict[str, Any]:
    """What the queue is doing and why (:mod:`~task_scheduler.queue_state`), times in ISO 8601."""
    state = describe(queue.store, queue.store.clock())
    state["next_start"] = iso(state["next_start"])
    state["window_change"] = iso(state["window_change"])
    return state


#: Agent Scheduler knows no "cancelled": a task stopped by the user was "interrupted" there.
AS_STATUS = {TaskStatus.CANCELLED: "interrupted"}


def as_status(status: TaskStatus) -> str:
    return AS_STATUS.get(status, status.value)


def as_result(task: Task) -> str | None:
    """AS's ``result``: a JSON string ``{images, infotexts, geninfo}``, or the error text."""
    if task.status is TaskStatus.FAILED or (task.result is None and task.error):
        return task.error
    if task.result is None:
        return None
    return json.dumps(
        {
            "images": list(task.result.images),
            "infotexts": list(task.result.infotexts),
            "geninfo": task.result.info,
        }
    )


def as_task_model(task: Task, *, position: int | None = None) -> dict[str, Any]:
    """Agent Scheduler's ``TaskModel``; a task that cannot be shown is listed as damaged."""
    if task.damaged is None:
        view = _as_task_model(task, position)
        why = shown_safely(view)
        if why is None:
            return view
        task = replace(task, damaged=f"the stored task cannot be shown ({why})")
    bare = replace(task, params={}, script_args={}, result=None, error=task.damaged, callback_url=None)
    return {**_as_task_model(bare, position), "damaged": task.damaged}


def _as_task_model(task: Task, position: int | None) -> dict[str, Any]:
    return {
        "id": task.id,
        "api_task_id": task.job_id,
        "api_task_callback": task.callback_url,
        "name": task.name or None,
        "type": task.kind,
        "status": as_status(task.status),
        "params": api_params_view(task),
        "priority": task.priority,
        "position": position,
        "result": as_result(task),
        "bookmarked": task.bookmarked,
        "created_at": iso(task.created_at),
        "updated_at": iso(task.updated_at),
    }

"""``/task-scheduler/``: the routes of the extension seed 003 describes (SachiraChin's), over our queue.

Its clients send a small body (``prompt``, ``steps``, ... and ``extra_params`` merged in) and read
``{"success": ...}`` answers with its own task dict and status words. This router takes those
shapes and nothing else of it: a body becomes the same ``Txt2ImgRequest`` / ``Img2ImgRequest``
every other route queues (so the same limits and checks apply), errors have real status codes
with ``success: false`` and ``error`` in the body, and every documented field is honoured. Its
statuses map onto ours in :data:`SEED_STATUS`; README.md lists the deliberate differences.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pydantic
from fastapi import APIRouter, Depends, HTTPException, Query, Request

from ..errors import InvalidTaskData, InvalidTransition
from ..saved_tasks import SavedTask, SavedTasks
from ..task import FINISHED, Task, TaskStatus
from . import _pydantic as pd
from . import actions
from ._pydantic import ApiModel, field
from .auth import make_auth_dependency, request_user
from .errors import SeedErrorMappingRoute
from .schemas import Img2ImgRequest, Txt2ImgRequest
from .services import ApiServices
from .views import iso

PREFIX = "/task-scheduler"
#: finished tasks ``GET /queue`` lists, newest first (the seed listed all; ours may hold 100 000)
HISTORY_SHOWN = 500

#: our status -> the word the seed's clients know
SEED_STATUS: dict[TaskStatus, str] = {
    TaskStatus.PENDING: "pending",
    TaskStatus.RUNNING: "running",
    TaskStatus.DONE: "completed",
    TaskStatus.FAILED: "failed",
    TaskStatus.CANCELLED: "cancelled",
    TaskStatus.INTERRUPTED: "stopped",
}


class SeedQueueRequest(ApiModel):
    """The seed's ``QueueTaskRequest``, with its defaults: a client that leaves a field out gets them."""

    prompt: str = ""
    negative_prompt: str = ""
    steps: int = field(20, ge=1, le=10000)
    cfg_scale: float = 7.0
    width: int = field(512, ge=1, le=65536)
    height: int = field(512, ge=1, le=65536)
    batch_size: int = field(1, ge=1, le=1000)
    n_iter: int = field(1, ge=1, le=10000)
    seed: int = -1
    sampler_name: str = "Euler"
    scheduler: str = "automatic"
    extra_params: dict[str, Any] = field(
        {},
        description="Any other field of the WebUI API's body (enable_hr, denoising_strength, "
        "init_images, override_settings, alwayson_scripts, ...), merged over the fields above.",
    )


def _as_request(kind: str, body: SeedQueueRequest) -> Txt2ImgRequest | Img2ImgRequest:
    """The seed's body as the request every other route queues; unknown extra fields are refused."""
    values = pd.dump(body)
    extra = values.pop("extra_params")
    if kind == "img2img":
        values["denoising_strength"] = 0.75  # the seed's img2img default
    values.update(extra)
    model = Txt2ImgRequest if kind == "txt2img" else Img2ImgRequest
    try:
        return pd.validate(model, values)
    except pydantic.ValidationError as exc:
        first = pd.error_list(exc)[0]
        raise InvalidTaskData(".".join(["extra_params", *map(str, first["loc"])]), first["msg"]) from None


def seed_task(task: Task, *, full: bool = False) -> dict[str, Any]:
    """A task as the seed shows it: its list entry, or (``full``) its stored dict."""
    params = task.params
    shown: dict[str, Any] = {
        "id": task.id,
        "task_type": task.kind,
        "status": SEED_STATUS[task.status],
        "name": task.name or _display_name(task),
        "checkpoint": _short_checkpoint(task.checkpoint),
        "created_at": iso(task.created_at),
        "completed_at": iso(task.finished_at),
        "priority": task.priority,
        "requeued_task_id": None,
    }
    if not full:
        hires = bool(params.get("enable_hr"))
        shown.update(
            vae=str((params.get("override_settings") or {}).get("sd_vae") or ""),
            sampler_name=params.get("sampler_name"),
            scheduler=params.get("scheduler"),
            width=params.get("width"),
            height=params.get("height"),
            enable_hr=hires,
            upscaled_width=params.get("hr_resize_x") if hires else None,
            upscaled_height=params.get("hr_resize_y") if hires else None,
            batch_size=params.get("batch_size"),
            n_iter=params.get("n_iter"),
        )
        return shown
    result = task.result
    shown.update(
        checkpoint=task.checkpoint or "",
        started_at=iso(task.started_at),
        # the seed stores these three as JSON text, and its clients parse them
        params=json.dumps(params),
        script_args=json.dumps(task.script_args),
        result_images=json.dumps(list(result.images) if result else []),
        result_info=(result.infotexts[0] if result and result.infotexts else ""),
        error=task.error,
        name=task.name,
        completed_iterations=len(result.images) if result else 0,
        original_n_iter=params.get("n_iter") or 1,
        capture_format="dynamic" if task.source == "ui" else None,
    )
    return shown


def seed_bookmark(saved: SavedTask, *, full: bool = True) -> dict[str, Any]:
    """A saved task as the seed's bookmark row (its list left ``script_args`` as JSON text)."""
    return {
        "id": saved.id,
        "name": saved.name,
        "task_type": saved.kind,
        "created_at": iso(saved.created_at),
        "params": saved.params,
        "checkpoint": saved.checkpoint or "",
        "script_args": saved.script_args if full else json.dumps(saved.script_args),
    }


def _display_name(task: Task) -> str:
    prompt = str(task.params.get("prompt") or "")
    if not prompt:
        return f"{task.kind} task"
    return f"{task.kind}: {prompt[:47]}..." if len(prompt) > 50 else f"{task.kind}: {prompt}"


def _short_checkpoint(name: Optional[str]) -> str:
    return name.split(" [")[0] if name else "Unknown"


def _ok(message: str, **extra: Any) -> dict[str, Any]:
    return {"success": True, **extra, "message": message}


def make_seed_router(services: ApiServices) -> APIRouter:
    """The ``/task-scheduler/`` router of seed 003's extension, over ``services``."""
    router = APIRouter(
        prefix=PREFIX,
        tags=["task-scheduler (seed 003 compatible)"],
        dependencies=[Depends(make_auth_dependency(services))],
        route_class=SeedErrorMappingRoute,
    )
    queue = services.queue

    def stats() -> dict[str, int]:
        counts = {word: queue.count(status) for status, word in SEED_STATUS.items()}
        counts["paused"] = 0
        counts["total"] = sum(counts.values())
        return counts

    def enqueue(kind: str, body: SeedQueueRequest, request: Request) -> dict[str, Any]:
        task = actions.queue_tasks(services, kind, [_as_request(kind, body)], user=request_user(request))[0]
        return _ok(f"Task queued: {_display_name(task)}", task_id=task.id)

    @router.post("/queue/txt2img")
    def queue_txt2img(body: SeedQueueRequest, request: Request) -> dict[str, Any]:
        return enqueue("txt2img", body, request)

    @router.post("/queue/img2img")
    def queue_img2img(body: SeedQueueRequest, request: Request) -> dict[str, Any]:
        return enqueue("img2img", body, request)

    @router.get("/queue")
    def get_queue() -> dict[str, Any]:
        """Running and pending tasks in run order, then the newest finished ones (at most 500)."""
        tasks = queue.running() + queue.pending()
        tasks += queue.history(status=list(FINISHED), limit=HISTORY_SHOWN).tasks
        return {"success": True, "tasks": [seed_task(t) for t in tasks]}

    @router.get("/queue/{task_id}")
    def get_task(task_id: str) -> dict[str, Any]:
        return {"success": True, "task": seed_task(queue.get(task_id), full=True)}

    @router.delete("/queue/{task_id}")
    def delete_task(task_id: str) -> dict[str, Any]:
        outcome = queue.delete(task_id)
        if outcome == "stopping" and services.executor is None:
            services.webui.interrupt()
        return _ok("Task deleted")

    @router.post("/queue/{task_id}/cancel")
    def cancel_task(task_id: str) -> dict[str, Any]:
        if queue.get(task_id).status is not TaskStatus.PENDING:
            raise HTTPException(400, "Task not found or not pending")
        queue.cancel(task_id)
        return _ok("Task cancelled")

    @router.post("/queue/{task_id}/retry")
    def retry_task(task_id: str) -> dict[str, Any]:
        try:
            copy = queue.requeue(task_id)
        except InvalidTransition as exc:
            raise HTTPException(400, f"Task is {SEED_STATUS[queue.get(task_id).status]}: {exc}") from None
        return _ok("Task requeued", task_id=copy.id)

    @router.post("/queue/{task_id}/run")
    def run_single_task(task_id: str) -> dict[str, Any]:
        task = queue.get(task_id)
        if queue.running():
            raise HTTPException(400, "Another task is already running")
        if task.status is not TaskStatus.PENDING:
            raise HTTPException(400, f"Task is not pending (status: {SEED_STATUS[task.status]})")
        queue.run_next(task_id)
        return _ok(f"Running task: {_display_name(task)}")

    @router.post("/start")
    def start_queue() -> dict[str, Any]:
        started = queue.paused
        queue.resume()
        return _ok("Queue started" if started else "Queue already running", started=started)

    @router.post("/stop")
    def stop_queue() -> dict[str, Any]:
        """Pause the queue and interrupt the running task (it ends ``stopped``, keeping its images)."""
        queue.pause()
        for task in queue.running():
            queue.request_stop(task.id, "interrupted")
        if services.executor is None:
            services.webui.interrupt()
        return _ok("Queue stopped")

    @router.post("/pause")
    def pause_queue() -> dict[str, Any]:
        if queue.paused:
            queue.resume()
            return _ok("Queue resumed", is_paused=False)
        queue.pause()
        return _ok("Queue paused", is_paused=True)

    @router.get("/status")
    def get_status() -> dict[str, Any]:
        paused = queue.paused
        running = queue.running()
        counts = stats()
        has_finished = any(counts[w] for w in ("completed", "failed", "cancelled", "stopped"))
        return {
            "success": True,
            "button_states": {
                "start": paused and counts["pending"] > 0,
                "stop": not paused,
                "pause": not paused,
                "clear": has_finished,
            },
            "is_running": not paused,
            "is_paused": paused,
            "is_stopping": False,
            "status_text": "Paused" if paused else ("Running" if running else ""),
            "current_task": seed_task(running[0], full=True) if running else None,
            "queue_stats": counts,
        }

    @router.post("/clear")
    def clear_completed() -> dict[str, Any]:
        """Delete finished tasks; starred (bookmarked) ones are kept, as everywhere in this queue."""
        count = queue.clear_history(keep_bookmarked=True)
        return _ok(f"Cleared {count} tasks", cleared=count)

    # -- bookmarks: our saved tasks, in the seed's shapes --------------------------------------

    saved_tasks = SavedTasks(queue)

    @router.get("/bookmarks")
    def get_bookmarks() -> dict[str, Any]:
        items, total = saved_tasks.list(limit=1000)
        return {"success": True, "bookmarks": [seed_bookmark(s, full=False) for s in items], "count": total}

    @router.get("/bookmarks/count")
    def get_bookmark_count() -> dict[str, Any]:
        return {"success": True, "count": saved_tasks.count()}

    @router.get("/bookmarks/{bookmark_id}")
    def get_bookmark(bookmark_id: str) -> dict[str, Any]:
        return {"success": True, "bookmark": seed_bookmark(saved_tasks.get(bookmark_id))}

    @router.post("/bookmarks")
    def create_bookmark(request: Request, name: str = Query("", max_length=200)) -> dict[str, Any]:
        """What the Queue button queued last, saved (the seed saved its last intercepted click)."""
        try:
            saved = saved_tasks.save_last_capture(name, user=request_user(request))
        except InvalidTaskData:
            raise HTTPException(
                400, "No valid intercept data available. Use the Queue button first."
            ) from None
        return _ok(f"{name or 'Bookmark'} saved!", bookmark_id=saved.id)

    @router.post("/bookmarks/from-task/{task_id}")
    def create_bookmark_from_task(task_id: str, name: str = Query("", max_length=200)) -> dict[str, Any]:
        task = queue.get(task_id)
        saved = saved_tasks.save_task(task_id, name or f"Bookmark from {_display_name(task)[:30]}")
        return _ok(f"Bookmark '{saved.name}' created", bookmark_id=saved.id)

    @router.put("/bookmarks/{bookmark_id}")
    def update_bookmark(
        bookmark_id: str, name: Optional[str] = Query(None, max_length=200)
    ) -> dict[str, Any]:
        saved_tasks.edit(bookmark_id, name=name)
        return _ok("Bookmark updated")

    @router.delete("/bookmarks/{bookmark_id}")
    def delete_bookmark(bookmark_id: str) -> dict[str, Any]:
        saved_tasks.delete(bookmark_id)
        return _ok("Bookmark deleted")

    @router.get("/settings")
    def get_settings() -> dict[str, Any]:
        return {
            "success": True,
            "settings": {"enable_controlnet": True, "large_batch_warning": 0, "bookmark_prompt_name": False},
        }

    return router


__all__ = ["SEED_STATUS", "SeedQueueRequest", "make_seed_router", "seed_task"]

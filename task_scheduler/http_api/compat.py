"""``/agent-scheduler/v1``: Agent Scheduler's 24 routes and shapes, over the same queue.

Request and response shapes follow Agent Scheduler (``{"task_id"}``, ``{success, data}``,
``TaskModel`` ...), so its clients keep working. Its bugs are not reproduced: errors have real
status codes (with ``success: false`` and ``message`` in the body as well), every route needs
the same auth, timestamps are ISO 8601 everywhere, PUT applies ``params`` without a checkpoint,
and ``/import`` never unpickles. README.md lists every deliberate difference.
"""

from typing import Any, Optional

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from ..errors import InvalidTaskData
from ..task import FINISHED, Task, TaskStatus
from . import actions
from ._pydantic import ApiModel, OpenModel, field
from .auth import make_auth_dependency, request_user
from .errors import CompatErrorMappingRoute
from .images import zip_results
from .schemas import Img2ImgRequest, Txt2ImgRequest
from .services import ApiServices
from .transfer import export_tasks, parse_as_import, queue_incoming
from .views import as_status, as_task_model

PREFIX = "/agent-scheduler/v1"


class QueueTaskResponse(OpenModel):
    task_id: str


class TaskModel(OpenModel):
    id: str
    api_task_id: Optional[str] = None
    api_task_callback: Optional[str] = None
    name: Optional[str] = None
    type: str
    status: str
    params: dict[str, Any]
    priority: Optional[int] = None
    position: Optional[int] = None
    result: Optional[str] = field(None, description="JSON text {images, infotexts, geninfo}, or the error.")
    bookmarked: Optional[bool] = None
    created_at: Optional[str] = field(None, description="ISO 8601, UTC")
    updated_at: Optional[str] = field(None, description="ISO 8601, UTC")


class QueueStatusResponse(OpenModel):
    current_task_id: Optional[str] = None
    pending_tasks: list[TaskModel]
    total_pending_tasks: int
    paused: bool


class HistoryResponse(OpenModel):
    tasks: list[TaskModel]
    total: int


class UpdateTaskArgs(ApiModel):
    name: Optional[str] = field(None, max_length=200)
    checkpoint: Optional[str] = None
    params: Optional[dict[str, Any]] = field(None, description="API names -> values, merged.")


class StringRequestBody(ApiModel):
    content: str


def _ok(message: str, **extra: Any) -> dict[str, Any]:
    return {"success": True, "message": message, **extra}


_HISTORY_FILTERS = {
    "done": [TaskStatus.DONE],
    "failed": [TaskStatus.FAILED],
    "interrupted": [TaskStatus.INTERRUPTED, TaskStatus.CANCELLED],
    "cancelled": [TaskStatus.CANCELLED],
}


def make_compat_router(services: ApiServices) -> APIRouter:
    """The ``/agent-scheduler/v1`` router over ``services``."""
    router = APIRouter(
        prefix=PREFIX,
        tags=["agent-scheduler (compatible)"],
        dependencies=[Depends(make_auth_dependency(services))],
        route_class=CompatErrorMappingRoute,
    )
    queue = services.queue

    def position(task: Task) -> Optional[int]:
        """0-based place in /queue's list, where running tasks come first (as in AS)."""
        if task.status is TaskStatus.RUNNING:
            ids = [t.id for t in queue.running()]
            return ids.index(task.id) if task.id in ids else 0
        if task.status is not TaskStatus.PENDING:
            return None
        place = queue.position_of(task.id)
        return None if place is None else len(queue.running()) + place - 1

    # 1, 2
    @router.get("/samplers", response_model=list[str])
    def get_samplers() -> list[str]:
        return list(services.webui.samplers())

    @router.get("/sd-models", response_model=list[str])
    def get_sd_models() -> list[str]:
        return list(services.webui.checkpoints())

    # 3, 4
    @router.post("/queue/txt2img", response_model=QueueTaskResponse)
    def queue_txt2img(body: Txt2ImgRequest, request: Request) -> dict[str, Any]:
        task = actions.queue_tasks(services, "txt2img", [body], user=request_user(request))[0]
        return {"task_id": task.id}

    @router.post("/queue/img2img", response_model=QueueTaskResponse)
    def queue_img2img(body: Img2ImgRequest, request: Request) -> dict[str, Any]:
        task = actions.queue_tasks(services, "img2img", [body], user=request_user(request))[0]
        return {"task_id": task.id}

    # 5
    @router.get("/queue", response_model=QueueStatusResponse)
    def queue_status(
        limit: int = Query(20, ge=1, le=1000), offset: int = Query(0, ge=0, le=actions.MAX_OFFSET)
    ) -> dict[str, Any]:
        running = queue.running()
        shown: list[Task] = running[offset : offset + limit]
        rest = limit - len(shown)
        if rest > 0:
            shown += queue.pending(limit=rest, offset=max(0, offset - len(running)))
        return {
            "current_task_id": running[0].id if running else None,
            "pending_tasks": [as_task_model(t, position=offset + i) for i, t in enumerate(shown)],
            "total_pending_tasks": len(running) + queue.count(TaskStatus.PENDING),
            "paused": queue.paused,
        }

    # 6, 7
    @router.get("/export")
    def export_queue(
        limit: int = Query(1000, ge=1, le=10000), offset: int = Query(0, ge=0, le=actions.MAX_OFFSET)
    ) -> list[dict[str, Any]]:
        return export_tasks(services, limit=limit, offset=offset)

    @router.post("/import")
    def import_queue(body: StringRequestBody, request: Request) -> dict[str, Any]:
        news = parse_as_import(services, body.content, user=request_user(request))
        if len(news) > services.settings.max_tasks_per_call:
            raise InvalidTaskData("content", f"at most {services.settings.max_tasks_per_call} tasks per call")
        tasks = queue_incoming(services, news) if news else []
        return _ok("Queue imported", task_ids=[t.id for t in tasks])

    # 8
    @router.get("/history", response_model=HistoryResponse)
    def history(
        status: Optional[str] = Query(None, description="all, bookmarked, done, failed or interrupted"),
        limit: int = Query(20, ge=1, le=500),
        offset: int = Query(0, ge=0, le=actions.MAX_OFFSET),
    ) -> dict[str, Any]:
        bookmarked = True if status == "bookmarked" else None
        if not status or status in ("all", "bookmarked"):
            statuses = list(FINISHED)
        elif status in _HISTORY_FILTERS:
            statuses = _HISTORY_FILTERS[status]
        else:
            raise InvalidTaskData("status", "must be all, bookmarked, done, failed or interrupted")
        page = queue.history(status=statuses, bookmarked=bookmarked, limit=limit, offset=offset)
        return {"tasks": [as_task_model(t) for t in page.tasks], "total": page.total}

    # 14 (before /task/{id} routes)
    @router.post("/task/requeue-failed")
    def requeue_failed_tasks() -> dict[str, Any]:
        copies = queue.requeue_failed()
        return _ok(f"Requeued {len(copies)} failed tasks", task_ids=[t.id for t in copies])

    # 9, 10
    @router.get("/task/{id}")
    def get_task(id: str) -> dict[str, Any]:
        task = queue.get(id)
        return {"success": True, "data": as_task_model(task, position=position(task))}

    @router.get("/task/{id}/position")
    def get_task_position(id: str) -> dict[str, Any]:
        task = queue.get(id)
        return {"success": True, "data": {"status": as_status(task.status), "position": position(task)}}

    # 11
    @router.put("/task/{id}")
    def update_task(id: str, body: UpdateTaskArgs) -> dict[str, Any]:
        actions.put_task_as(services, id, name=body.name, checkpoint=body.checkpoint, params=body.params)
        return _ok("Task updated.")

    # 12
    @router.post("/task/{id}/run")
    @router.post("/run/{id}", deprecated=True)
    def run_task(id: str) -> dict[str, Any]:
        busy = bool(queue.running())
        queue.run_next(id)
        return _ok("Task is scheduled to run next" if busy else "Task is executing")

    # 13
    @router.post("/task/{id}/requeue")
    @router.post("/requeue/{id}", deprecated=True)
    def requeue_task(id: str) -> dict[str, Any]:
        copy = queue.requeue(id)
        return _ok("Task requeued", task_id=copy.id)

    # 15
    @router.delete("/task/{id}")
    @router.post("/delete/{id}", deprecated=True)
    def delete_task(id: str) -> dict[str, Any]:
        outcome = queue.delete(id)
        if outcome == "stopping":
            if services.executor is None:
                services.webui.interrupt()
            return _ok("Task interrupted")
        return _ok("Task deleted")

    # 16
    @router.post("/task/{id}/move/{over_id}")
    @router.post("/move/{id}/{over_id}", deprecated=True)
    def move_task(id: str, over_id: str) -> dict[str, Any]:
        if over_id in ("top", "bottom"):
            queue.move(id, to=over_id)  # type: ignore[arg-type]
            return _ok(f"Task moved to {over_id}")
        mine, theirs = queue.position_of(id), queue.position_of(over_id)
        if mine is not None and theirs is not None and mine < theirs:
            queue.move(id, after=over_id)
        else:
            queue.move(id, before=over_id)
        return _ok("Task moved")

    # 17, 18
    @router.post("/task/{id}/bookmark")
    @router.post("/bookmark/{id}", deprecated=True)
    def bookmark(id: str) -> dict[str, Any]:
        queue.set_bookmark(id, True)
        return _ok("Task bookmarked")

    @router.post("/task/{id}/unbookmark")
    @router.post("/unbookmark/{id}", deprecated=True)
    def unbookmark(id: str) -> dict[str, Any]:
        queue.set_bookmark(id, False)
        return _ok("Task unbookmarked")

    # 19
    @router.post("/task/{id}/rename")
    @router.post("/rename/{id}", deprecated=True)
    def rename(id: str, name: str = Query(..., max_length=200)) -> dict[str, Any]:
        queue.rename(id, name)
        return _ok("Task renamed.")

    # 20
    @router.get("/task/{id}/results")
    @router.get("/results/{id}", deprecated=True)
    def results(id: str, zip: bool = False) -> Any:
        task = queue.get(id)
        actions.require_results(task)
        if task.status is not TaskStatus.DONE and not (task.result and task.result.images):
            raise HTTPException(409, f"Task is {as_status(task.status)}")
        if zip:
            return Response(
                zip_results(task),
                media_type="application/zip",
                headers={"Content-Disposition": f"attachment; filename=results-{task.id}.zip"},
            )
        data = [
            {"image": item["image"], "infotext": item["infotext"]}
            for item in actions.results_json(task, skip_missing=True)
        ]
        return {"success": True, "data": data}

    # 21-24
    @router.post("/queue/pause")
    @router.post("/pause", deprecated=True)
    def pause_queue() -> dict[str, Any]:
        queue.pause()
        return _ok("Queue paused.")

    @router.post("/queue/resume")
    @router.post("/resume", deprecated=True)
    def resume_queue() -> dict[str, Any]:
        queue.resume()
        return _ok("Queue resumed.")

    @router.post("/queue/clear")
    def clear_queue() -> dict[str, Any]:
        count = queue.clear_pending()
        return _ok("Queue cleared.", deleted=count)

    @router.post("/history/clear")
    def clear_history() -> dict[str, Any]:
        count = queue.clear_history(keep_bookmarked=True)
        return _ok("History cleared.", deleted=count)

    return router

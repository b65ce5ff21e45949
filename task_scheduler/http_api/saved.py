"""``/task-scheduler/v1/saved``: saved tasks (named templates) over HTTP.

Mounted by :func:`.v1.make_router` (its auth and error mapping). Bodies go through the same request
models and checks as the queue routes; edits through the same checks as a pending task's PATCH.
The seed extension's ``/task-scheduler/bookmarks`` routes (:mod:`.seed_compat`) reach the same
saved tasks.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from fastapi import APIRouter, Query, Request

from ..errors import InvalidTaskData
from ..saved_tasks import SavedTask, SavedTasks
from . import _pydantic as pd
from . import actions
from .auth import request_user
from .errors import ErrorMappingRoute
from .payloads import prepare_task, stored_changes
from .schemas import Img2ImgRequest, Position, TaskPatch, Txt2ImgRequest
from .services import ApiServices
from .views import iso, task_public

#: the ``name`` query parameter of the save routes
NAME = Query(..., min_length=1, max_length=200, description="The saved task's name.")


class SaveRequest(pd.ApiModel):
    name: str = pd.field(..., min_length=1, max_length=200, example="portrait, soft light")


class QueueSavedRequest(pd.ApiModel):
    times: int = pd.field(1, ge=1, le=1000, description="How many tasks to queue.")
    new_seeds: bool = pd.field(False, description="A new random seed for each (else the saved seed).")
    position: Optional[Position] = None


def saved_public(saved: SavedTask) -> dict[str, Any]:
    return {
        "id": saved.id,
        "name": saved.name,
        "kind": saved.kind,
        "params": saved.params,
        "script_args": saved.script_args,
        "script_name": saved.script_name,
        "checkpoint": saved.checkpoint,
        "source": saved.source,
        "damaged": saved.damaged,
        "created_at": iso(saved.created_at),
        "updated_at": iso(saved.updated_at),
    }


def save_body(
    services: ApiServices, kind: Literal["txt2img", "img2img"], body: Any, name: str, user: str | None
) -> SavedTask:
    """An API body (as the queue routes take it) saved instead of queued."""
    prepared = prepare_task(kind, body, services.settings, user=user)
    new = prepared.store_files(services.files)
    return SavedTasks(services.queue).save(new, name)


def edit_saved(services: ApiServices, saved_id: str, body: TaskPatch) -> SavedTask:
    """A PATCH of a saved task, checked like the PATCH of a pending task."""
    saved_tasks = SavedTasks(services.queue)
    saved = saved_tasks.get(saved_id)
    sent = pd.fields_set(body)
    if body.worker is not None:
        raise InvalidTaskData("worker", "a saved task is not pinned to a worker; pin the tasks it queues")
    params = None
    if body.params:
        params = stored_changes(saved.kind, body.params, saved.as_pending_task(), saved.files)
    if body.script_args:
        actions.check_script_args(body.script_args, saved.as_pending_task(), saved.files)
    checkpoint = body.checkpoint.strip() if body.checkpoint is not None else None
    if checkpoint is None and "checkpoint" in sent:
        checkpoint = ""
    return saved_tasks.edit(
        saved_id, name=body.name, checkpoint=checkpoint, params=params, script_args=body.script_args or None
    )


def make_saved_router(services: ApiServices) -> APIRouter:
    router = APIRouter(prefix="/saved", route_class=ErrorMappingRoute, tags=["task-scheduler saved tasks"])
    saved_tasks = SavedTasks(services.queue)

    @router.get("")
    def list_saved(
        limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=actions.MAX_OFFSET)
    ) -> dict[str, Any]:
        """Saved tasks, newest first."""
        items, total = saved_tasks.list(limit=limit, offset=offset)
        return {"saved": [saved_public(s) for s in items], "total": total}

    @router.post("/txt2img", status_code=201)
    def save_txt2img(
        body: Txt2ImgRequest, request: Request, name: str = Query(..., min_length=1, max_length=200)
    ):
        """Save a txt2img body (as `/queue/txt2img` takes it) under `name`, without queueing it."""
        return saved_public(save_body(services, "txt2img", body, name, request_user(request)))

    @router.post("/img2img", status_code=201)
    def save_img2img(
        body: Img2ImgRequest, request: Request, name: str = Query(..., min_length=1, max_length=200)
    ):
        """Save an img2img body under `name`; its images are kept as long as the saved task."""
        return saved_public(save_body(services, "img2img", body, name, request_user(request)))

    @router.post("/from-task/{task_id}", status_code=201)
    def save_task(task_id: str, body: Optional[SaveRequest] = None) -> dict[str, Any]:
        """Save any task as a template (its name, or its prompt, when no name is given)."""
        return saved_public(saved_tasks.save_task(task_id, body.name if body else ""))

    @router.get("/{saved_id}")
    def get_saved(saved_id: str) -> dict[str, Any]:
        return saved_public(saved_tasks.get(saved_id))

    @router.patch("/{saved_id}")
    def patch_saved(saved_id: str, body: TaskPatch) -> dict[str, Any]:
        """Edit like a pending task: name, checkpoint, params and script_args are merged."""
        return saved_public(edit_saved(services, saved_id, body))

    @router.delete("/{saved_id}")
    def delete_saved(saved_id: str) -> dict[str, Any]:
        saved_tasks.delete(saved_id)
        return {"id": saved_id, "status": "deleted"}

    @router.post("/{saved_id}/queue", status_code=201)
    def queue_saved(
        saved_id: str, request: Request, body: Optional[QueueSavedRequest] = None
    ) -> dict[str, Any]:
        """Queue the saved task again: `times` tasks, with its seed or new random seeds."""
        body = body or QueueSavedRequest()
        tasks = saved_tasks.queue_copies(
            saved_id,
            times=body.times,
            new_seeds=body.new_seeds,
            at=body.position or "bottom",
            user=request_user(request),
        )
        return {"tasks": [task_public(t) for t in tasks]}

    return router


__all__ = ["edit_saved", "make_saved_router", "save_body", "saved_public"]

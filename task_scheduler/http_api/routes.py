"""The task routes of ``/task-scheduler/v1``, the queue's own API. Handlers validate, call TaskQueue, shape.

All handlers are plain ``def``: FastAPI runs them in its thread pool, so the blocking SQLite
calls and the ``/wait`` long-poll never stall the event loop.
"""

from typing import Any, Optional

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse

from ..errors import InvalidTaskData, InvalidTransition, TaskNotFound, TaskSchedulerError
from ..task import FINISHED, Task, TaskStatus
from . import _pydantic as pd
from . import actions
from .auth import request_user
from .images import media_type, thumbnail, zip_results
from .infotext import task_infotext
from .schemas import (
    BulkPublic,
    BulkRequest,
    HistoryPublic,
    Img2ImgRequest,
    ImportRequest,
    InfotextPublic,
    MoveRequest,
    QueuePublic,
    RenameRequest,
    RequeueRequest,
    ResultsPublic,
    ScheduleRequest,
    TaskList,
    TaskPatch,
    TaskPublic,
    Txt2ImgRequest,
    WaitPublic,
)
from .services import ApiServices
from .stats import queue_stats
from .timing import parse_when, repeat_args
from .transfer import export_tasks, import_tasks
from .urls import result_url
from .views import schedule_view, task_public

MAX_BULK = 1000

_IMAGE = {200: {"content": {"image/png": {}, "image/jpeg": {}}, "description": "The image file."}}
_ZIP = {200: {"content": {"application/zip": {}}, "description": "The result images in a zip file."}}


def _parse_statuses(text: Optional[str]) -> Optional[list[TaskStatus]]:
    if not text:
        return None
    statuses = []
    for part in text.split(","):
        try:
            status = TaskStatus(part.strip())
        except ValueError:
            raise InvalidTaskData("status", f"unknown status {part.strip()!r}") from None
        if status not in FINISHED:
            raise InvalidTaskData("status", f"{status.value!r} tasks are in the queue, not the history")
        statuses.append(status)
    return statuses


def add_task_routes(router: APIRouter, services: ApiServices) -> None:
    """Define the task routes (queueing, the queue, history, one task, results, export/import) on
    ``router``, the ``/task-scheduler/v1`` router :func:`.v1.make_router` builds with its auth and
    error mapping."""
    queue = services.queue

    def public(task_id: str) -> dict[str, Any]:
        task = queue.get(task_id)
        view = task_public(
            task, position=actions.position(services, task), progress=actions.progress(services, task)
        )
        if task.batch_id is not None and task.damaged is None:
            view["ran_with"] = [other for other in queue.batch_of(task.batch_id) if other != task.id]
        return view

    def with_batch_sizes(tasks: list[Task], views: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``views`` with each batched task's ``batch_size`` (the tab's "batch of 4")."""
        sizes = queue.batch_sizes({t.batch_id for t in tasks if t.batch_id is not None and t.damaged is None})
        for task, view in zip(tasks, views, strict=True):
            if task.batch_id in sizes:
                view["batch_size"] = sizes[task.batch_id]
        return views

    # -- queueing --------------------------------------------------------------------------

    def queue_once(
        kind: str, bodies: list[Any], request: Request, response: Response, key: str | None
    ) -> list[dict[str, Any]]:
        """Queue ``bodies`` (once per Idempotency-Key); the views of the tasks queued. Sent again,
        the tasks the first request queued that still exist; 409 when none does."""
        request_key = actions.request_key(key, request, bodies)

        def queue_them() -> list[str]:
            tasks = actions.queue_tasks(services, kind, bodies, user=request_user(request), key=request_key)
            return [t.id for t in tasks]

        ids = actions.once(services, request_key, response, queue_them, lambda found: found.task_ids)
        views = []
        for task_id in ids:
            try:
                views.append(public(task_id))
            except TaskNotFound:  # deleted since the first request queued it
                pass
        if not views:
            raise HTTPException(409, "the tasks queued with this Idempotency-Key have been deleted")
        return views

    @router.post("/queue/txt2img", response_model=TaskPublic, status_code=201)
    def queue_txt2img(
        body: Txt2ImgRequest,
        request: Request,
        response: Response,
        key: Optional[str] = actions.key_header(),
    ) -> dict[str, Any]:
        """Queue one txt2img task (the WebUI API's body, plus checkpoint, vae, name, ...)."""
        return queue_once("txt2img", [body], request, response, key)[0]

    @router.post("/queue/txt2img/batch", response_model=TaskList, status_code=201)
    def queue_txt2img_batch(
        body: list[Txt2ImgRequest],
        request: Request,
        response: Response,
        key: Optional[str] = actions.key_header(),
    ) -> dict[str, Any]:
        """Queue several txt2img tasks in one transaction: all of them, or none."""
        return {"tasks": queue_once("txt2img", body, request, response, key)}

    @router.post("/queue/img2img", response_model=TaskPublic, status_code=201)
    def queue_img2img(
        body: Img2ImgRequest,
        request: Request,
        response: Response,
        key: Optional[str] = actions.key_header(),
    ) -> dict[str, Any]:
        """Queue one img2img task; `init_images` holds one image, `mask` makes it inpaint upload."""
        return queue_once("img2img", [body], request, response, key)[0]

    @router.post("/queue/img2img/batch", response_model=TaskList, status_code=201)
    def queue_img2img_batch(
        body: list[Img2ImgRequest],
        request: Request,
        response: Response,
        key: Optional[str] = actions.key_header(),
    ) -> dict[str, Any]:
        """Queue several img2img tasks in one transaction: all of them, or none."""
        return {"tasks": queue_once("img2img", body, request, response, key)}

    # -- the queue -------------------------------------------------------------------------

    @router.get("/queue", response_model=QueuePublic)
    def get_queue(
        limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0, le=actions.MAX_OFFSET)
    ) -> dict[str, Any]:
        """Running tasks with their progress, pending tasks in run order, paused flag, revision."""
        revision = queue.revision
        running_tasks = queue.running()
        running = with_batch_sizes(
            running_tasks, [task_public(t, progress=actions.progress(services, t)) for t in running_tasks]
        )
        pending = [
            task_public(t, position=offset + i + 1)
            for i, t in enumerate(queue.pending(limit=limit, offset=offset))
        ]
        fractions = {t["id"]: float((t["progress"] or {}).get("fraction") or 0.0) for t in running}
        return {
            "running": running,
            "pending": pending,
            "total_pending": queue.count(TaskStatus.PENDING),
            "paused": queue.paused,
            "revision": revision,
            "stats": queue_stats(queue, fractions),
            "schedule": schedule_view(queue),
        }

    @router.get("/schedule")
    def get_schedule() -> dict[str, Any]:
        """The run windows, their time zone, each worker's own windows and the unload delay."""
        return {**queue.schedule_config().to_json(), "state": schedule_view(queue)}

    @router.put("/schedule")
    def put_schedule(body: ScheduleRequest) -> dict[str, Any]:
        """Change the schedule (only what the body names); windows are checked and rewritten in
        their canonical form, e.g. ``Mon-Fri 23:00-07:30; Sat-Sun 00:00-24:00``."""
        sent = pd.fields_set(body)
        values: dict[str, Any] = {}
        if "windows" in sent:
            values["windows"] = body.windows or ""
        if "timezone" in sent:
            values["timezone"] = body.timezone or ""
        if "unload_after_s" in sent:
            values["unload_after_s"] = body.unload_after_s
        if "worker" in sent or "worker_windows" in sent:
            if not body.worker:
                raise InvalidTaskData("worker", "give the worker whose windows these are")
            values["worker"] = body.worker
            values["worker_windows"] = body.worker_windows or ""
        queue.set_schedule(**values)
        return get_schedule()

    @router.post("/queue/pause")
    def pause_queue(
        now: bool = Query(False, description="Also stop the running task after its image in progress."),
    ) -> dict[str, Any]:
        """Stop starting new tasks; the running one finishes — or, with `now`, stops after the image
        in progress, keeps its images and waits first in line to make the rest."""
        stopping: list[str] = []
        if now:
            stopping = queue.pause_now()
        else:
            queue.pause()
        return {"paused": True, "stopping": stopping, "revision": queue.revision}

    @router.post("/queue/resume")
    def resume_queue() -> dict[str, Any]:
        """Start running pending tasks again."""
        queue.resume()
        return {"paused": False, "revision": queue.revision}

    @router.post("/queue/clear")
    def clear_queue() -> dict[str, Any]:
        """Delete every pending task (the running one goes on)."""
        return {"deleted": queue.clear_pending()}

    @router.get("/wait", response_model=WaitPublic)
    def wait_for_change(
        revision: int = Query(..., ge=0, description="The revision the client has seen."),
        timeout: float = Query(30.0, ge=0, le=600, description="Seconds to wait at most."),
    ) -> dict[str, Any]:
        """Long-poll: answers as soon as the queue changes from `revision`, or after `timeout`."""
        limit = min(timeout, services.settings.max_wait_s)
        current = queue.wait_for_change(revision, limit)
        return {"revision": current, "changed": current != revision}

    # -- history ---------------------------------------------------------------------------

    @router.get("/history", response_model=HistoryPublic)
    def get_history(
        status: Optional[str] = Query(None, description="Comma-separated: done,failed,interrupted,cancelled"),
        search: Optional[str] = Query(
            None, max_length=500, description="Text in name, prompt or checkpoint."
        ),
        bookmarked: Optional[bool] = None,
        limit: int = Query(50, ge=1, le=500),
        offset: int = Query(0, ge=0, le=actions.MAX_OFFSET),
    ) -> dict[str, Any]:
        """Finished tasks, newest first, with the total matching the same filters."""
        page = queue.history(
            status=_parse_statuses(status), search=search, bookmarked=bookmarked, limit=limit, offset=offset
        )
        return {
            "tasks": with_batch_sizes(page.tasks, [task_public(t) for t in page.tasks]),
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
        }

    @router.post("/history/clear")
    def clear_history(keep_bookmarked: bool = True) -> dict[str, Any]:
        """Delete finished tasks (bookmarked ones stay unless `keep_bookmarked=false`)."""
        return {"deleted": queue.clear_history(keep_bookmarked=keep_bookmarked)}

    # -- one task --------------------------------------------------------------------------

    @router.post("/tasks/bulk", response_model=BulkPublic)
    def bulk(body: BulkRequest) -> dict[str, Any]:
        """One action on many tasks; each id answers for itself (one refusal stops nothing).

        ``top`` keeps the given order at the head of the queue and ``bottom`` at its end.
        """
        if len(body.ids) > MAX_BULK:
            raise InvalidTaskData("ids", f"at most {MAX_BULK} tasks per call")
        ids = list(dict.fromkeys(body.ids))
        order = list(reversed(ids)) if body.action == "top" else ids
        results: dict[str, dict[str, Any]] = {}
        for task_id in order:
            try:
                results[task_id] = {"id": task_id, "ok": True, **_bulk_one(body.action, task_id)}
            except TaskSchedulerError as exc:
                results[task_id] = {"id": task_id, "ok": False, "error": str(exc)}
        return {"action": body.action, "results": [results[task_id] for task_id in ids]}

    def _bulk_one(action: str, task_id: str) -> dict[str, Any]:
        if action == "delete":
            return {"status": _delete(task_id)}
        if action in ("top", "bottom"):
            return {"status": queue.move(task_id, to=action).status.value}  # type: ignore[arg-type]
        if action == "requeue":
            copy = queue.requeue(task_id)
            return {"status": copy.status.value, "new_id": copy.id}
        return {"status": queue.set_bookmark(task_id, action == "bookmark").status.value}

    def _delete(task_id: str) -> str:
        outcome = queue.delete(task_id)
        if outcome == "stopping" and services.executor is None:
            services.webui.interrupt()
        return outcome

    def _require_running(task_id: str, action: str) -> None:
        task = queue.get(task_id)
        if task.status is not TaskStatus.RUNNING:
            raise InvalidTransition(task_id, task.status.value, task.status.value, action)

    @router.post("/tasks/requeue-failed", response_model=TaskList, status_code=201)
    def requeue_failed() -> dict[str, Any]:
        """Queue a copy of every failed task."""
        return {"tasks": [public(t.id) for t in queue.requeue_failed()]}

    @router.get("/tasks/{task_id}", response_model=TaskPublic)
    def get_task(task_id: str) -> dict[str, Any]:
        """One task, with its place in the queue while pending."""
        return public(task_id)

    @router.patch("/tasks/{task_id}", response_model=TaskPublic)
    def patch_task(task_id: str, body: TaskPatch) -> dict[str, Any]:
        """Edit a pending task: name, checkpoint, params and script_args are merged."""
        sent = pd.fields_set(body)
        actions.patch_task(
            services,
            task_id,
            name=body.name,
            checkpoint=body.checkpoint,
            clear_checkpoint="checkpoint" in sent and body.checkpoint is None,
            params=body.params,
            script_args=body.script_args,
            worker=body.worker,
            strict=bool(body.strict),
            not_before=parse_when(body.not_before) if "not_before" in sent else ...,
            repeat=repeat_args(body.repeat) if "repeat" in sent else ...,
            exact=body.exact,
        )
        return public(task_id)

    @router.post("/tasks/{task_id}/stop-repeating", response_model=TaskPublic)
    def stop_repeating(task_id: str) -> dict[str, Any]:
        """No further round of this task's repetition; what ran, and a round already queued, stay."""
        queue.stop_repeating(task_id)
        return public(task_id)

    @router.delete("/tasks/{task_id}")
    def delete_task(task_id: str) -> dict[str, Any]:
        """Delete a task; a running one is stopped and ends as cancelled."""
        return {"id": task_id, "status": _delete(task_id)}

    @router.post("/tasks/{task_id}/interrupt", response_model=TaskPublic)
    def interrupt(task_id: str) -> dict[str, Any]:
        """Stop the running task now; it ends as interrupted and keeps the images it made."""
        _require_running(task_id, "interrupt it (only a running task can be)")
        queue.request_stop(task_id, "interrupted")
        if services.executor is None:
            services.webui.interrupt()
        return public(task_id)

    @router.post("/tasks/{task_id}/skip", response_model=TaskPublic)
    def skip(task_id: str) -> dict[str, Any]:
        """Skip the image the running task is making; it goes on with the next one of its batch."""
        _require_running(task_id, "skip (only a running task can)")
        queue.request_skip(task_id)  # its worker skips, in this process or another
        return public(task_id)

    @router.post("/tasks/{task_id}/move", response_model=TaskPublic)
    def move_task(task_id: str, body: MoveRequest) -> dict[str, Any]:
        """Place a pending task at the top, the bottom, or before / after another pending task."""
        queue.move(task_id, to=body.to, before=body.before, after=body.after)
        return public(task_id)

    @router.post("/tasks/{task_id}/run-now", response_model=TaskPublic)
    def run_now(task_id: str) -> dict[str, Any]:
        """Put the task first; on a paused queue, run exactly this one."""
        queue.run_next(task_id)
        return public(task_id)

    @router.post("/tasks/{task_id}/requeue", response_model=TaskPublic, status_code=201)
    def requeue(task_id: str, body: Optional[RequeueRequest] = None) -> dict[str, Any]:
        """Queue a copy of a finished task; answers with the new task."""
        at = (body.position if body else None) or "bottom"
        return public(queue.requeue(task_id, at=at).id)

    @router.post("/tasks/{task_id}/bookmark", response_model=TaskPublic)
    def bookmark(task_id: str) -> dict[str, Any]:
        queue.set_bookmark(task_id, True)
        return public(task_id)

    @router.post("/tasks/{task_id}/unbookmark", response_model=TaskPublic)
    def unbookmark(task_id: str) -> dict[str, Any]:
        queue.set_bookmark(task_id, False)
        return public(task_id)

    @router.post("/tasks/{task_id}/rename", response_model=TaskPublic)
    def rename(task_id: str, body: RenameRequest) -> dict[str, Any]:
        queue.rename(task_id, body.name)
        return public(task_id)

    @router.get("/tasks/{task_id}/infotext", response_model=InfotextPublic)
    def infotext(task_id: str, index: int = Query(0, ge=0)) -> dict[str, Any]:
        """The task as WebUI infotext: result image `index`'s own, else written from its params."""
        text, source = task_infotext(queue.get(task_id), index)
        return {"task_id": task_id, "infotext": text, "source": source}

    # -- results -----------------------------------------------------------------------------

    @router.get("/tasks/{task_id}/results", response_model=ResultsPublic)
    def results(task_id: str) -> dict[str, Any]:
        """The result images as data URLs with their infotexts."""
        task = queue.get(task_id)
        actions.require_results(task)
        return {"task_id": task.id, "status": task.status.value, "images": actions.results_json(task)}

    @router.get("/tasks/{task_id}/results.zip", response_class=Response, responses=_ZIP)
    def results_zip(task_id: str) -> Response:
        """The result images in one zip file."""
        task = queue.get(task_id)
        actions.require_results(task)
        return Response(
            zip_results(task),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="results-{task.id}.zip"'},
        )

    @router.get("/tasks/{task_id}/results/{index}", response_class=Response, responses=_IMAGE)
    def result_image(
        task_id: str,
        index: int,
        thumbnail_size: Optional[int] = Query(None, alias="thumbnail", ge=16, le=2048),
    ) -> Response:
        """Result image `index`; with `?thumbnail=256`, scaled down to fit 256x256.

        On a queue shared by several machines, an image made by another WebUI is answered with
        a redirect (307) to that WebUI, which has the file."""
        task = queue.get(task_id)
        try:
            path = actions.one_result(task, index)
        except HTTPException as exc:
            elsewhere = actions.holder_url(services, task) if exc.status_code == 404 else None
            if elsewhere is None:
                raise
            query = f"?thumbnail={thumbnail_size}" if thumbnail_size is not None else ""
            return RedirectResponse(f"{elsewhere}{result_url(task.id, index)}{query}", status_code=307)
        headers = {"Cache-Control": "private, max-age=86400"}
        if thumbnail_size is None:
            return FileResponse(path, media_type=media_type(path), headers=headers)
        try:
            data, kind = thumbnail(path, thumbnail_size)
        except Exception:
            raise InvalidTaskData("thumbnail", f"result image {index} cannot be read as an image") from None
        return Response(data, media_type=kind, headers=headers)

    # -- WebUI facts, export / import --------------------------------------------------------

    @router.get("/samplers", response_model=list[str])
    def samplers() -> list[str]:
        return list(services.webui.samplers())

    @router.get("/checkpoints", response_model=list[str])
    def checkpoints() -> list[str]:
        return list(services.webui.checkpoints())

    @router.get("/export")
    def export(
        limit: int = Query(1000, ge=1, le=10000), offset: int = Query(0, ge=0, le=actions.MAX_OFFSET)
    ) -> list[dict[str, Any]]:
        """Pending tasks with their input files, as JSON that `/import` accepts."""
        return export_tasks(services, limit=limit, offset=offset)

    @router.post("/import", response_model=TaskList, status_code=201)
    def import_(body: ImportRequest, request: Request) -> dict[str, Any]:
        """Queue the tasks of an export (all or none)."""
        if len(body.tasks) > services.settings.max_tasks_per_call:
            raise InvalidTaskData("tasks", f"at most {services.settings.max_tasks_per_call} tasks per call")
        tasks = import_tasks(services, body.tasks, at=body.position or "bottom", user=request_user(request))
        return {"tasks": [public(t.id) for t in tasks]}

"""``/task-scheduler/v1/jobs``: sweeps, whole-job actions, image marks, zips and follow-ups.

Mounted by :func:`.v1.make_router` (it shares that router's auth and error mapping; never include
it on its own). Handlers validate, call :mod:`task_scheduler.jobs` / ``sweeps`` / ``followups``, shape.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Optional

import pydantic
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from ..checker import grouped
from ..errors import InvalidTaskData
from ..followups import build_followups, parse_followup, queue_followups
from ..jobs import Job, JobImage, Jobs
from ..request_keys import RequestKey
from ..saved_tasks import SavedTasks
from ..sweeps import DEFAULT_MAX_TASKS, Choices, count_tasks, expand, parse_axes, sweep_origin
from ..task import NewTask, validate_new_task
from . import _pydantic as pd
from . import actions
from .actions import MAX_OFFSET
from .auth import request_user
from .errors import ErrorMappingRoute
from .payloads import check_client_value, prepare_task, request_model
from .services import ApiServices
from .timing import RepeatRequest, When, parse_when, repeat_args
from .urls import result_url
from .views import iso, repeat_view, task_public

Position = Literal["top", "bottom"]
_ZIP = {200: {"content": {"application/zip": {}}, "description": "The job's images in a zip file."}}


# -- request models --------------------------------------------------------------------------------


@pd.with_example(
    {
        "name": "style LoRA test",
        "kind": "txt2img",
        "base": {"prompt": "a cat, <lora:style:1>", "steps": 20, "width": 512, "height": 512},
        "axes": [
            {"type": "prompt", "values": "a cat\na castle at night"},
            {"type": "lora", "name": "style", "values": "0.4, 0.7, 1"},
            {"type": "seed", "values": "1-3"},
        ],
        "mode": "cartesian",
        "dry_run": True,
    }
)
class JobCreate(pd.ApiModel):
    name: Optional[str] = pd.field(None, max_length=200)
    kind: Optional[Literal["txt2img", "img2img"]] = pd.field(None, description="The base's kind (txt2img).")
    base: Optional[dict[str, Any]] = pd.field(
        None, description="A /queue/txt2img or /queue/img2img body: the task every axis varies."
    )
    from_task: Optional[str] = pd.field(
        None, max_length=64, description="Or: the id of a task to start from."
    )
    from_saved: Optional[str] = pd.field(None, max_length=64, description="Or: the id of a saved task.")
    keep_seed: Optional[bool] = pd.field(
        None,
        description="from_task: use the seed a finished task ran with when it asked for -1 (default true).",
    )
    axes: list[dict[str, Any]] = pd.field(
        [],
        description="Axis objects {type, values, name?, group?, folder?, random?} (README, Jobs).",
    )
    mode: Optional[Literal["cartesian", "zip"]] = None
    dry_run: Optional[bool] = pd.field(None, description="Only count the tasks and preview the first few.")
    exact: Optional[bool] = pd.field(
        None,
        description="Run its tasks one by one, never as auto-batches (default: batched when they can be).",
    )
    preview: Optional[int] = pd.field(None, ge=0, le=50, description="How many tasks a dry run shows (5).")
    position: Optional[Position] = None
    strict: Optional[bool] = pd.field(None, description="Refuse the sweep for a warning too.")
    not_before: Optional[When] = pd.field(None, description="None of its tasks starts before this time.")
    repeat: Optional[RepeatRequest] = pd.field(None, description="Repeat the whole job {times, keep_seeds}.")


class JobSchedule(pd.ApiModel):
    not_before: Optional[When] = pd.field(
        None, description="None of its tasks starts before; null clears it."
    )
    repeat: Optional[RepeatRequest] = pd.field(None, description="Repeat {times, keep_seeds}; null: once.")


class ImageRef(pd.ApiModel):
    task_id: str = pd.field(..., max_length=64)
    index: int = pd.field(..., ge=0)


class MarkRequest(pd.ApiModel):
    images: list[ImageRef]
    mark: Optional[Literal["kept", "discarded"]] = pd.field(..., description="null clears the mark.")


@pd.with_example({"action": "img2img", "denoising_strength": "0.3, 0.45, 0.6", "scale": 1.5})
class FollowUpRequest(pd.ApiModel):
    action: Optional[Literal["img2img", "upscale"]] = None
    images: Optional[list[ImageRef]] = pd.field(
        None, description="The images to take further; default: every image not discarded."
    )
    denoising_strength: Optional[Any] = pd.field(
        None, description="A number, a list, or text like '0.3, 0.45, 0.6': one task per value."
    )
    scale: Optional[Any] = pd.field(None, description="img2img: size factor (1.5, 2); upscale: the factor.")
    width: Optional[int] = None
    height: Optional[int] = None
    steps: Optional[int] = None
    cfg_scale: Optional[float] = None
    sampler_name: Optional[str] = None
    scheduler: Optional[str] = None
    checkpoint: Optional[str] = None
    upscaler: Optional[str] = None
    upscaler_2: Optional[str] = None
    upscaler_2_visibility: Optional[float] = None
    params: Optional[dict[str, Any]] = pd.field(None, description="Stored params merged into each task.")
    name: Optional[str] = pd.field(None, max_length=200)
    position: Optional[Position] = None
    dry_run: Optional[bool] = None
    preview: Optional[int] = pd.field(None, ge=0, le=50)


# -- response shapes ---------------------------------------------------------------------------------


def job_public(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "status": job.status.value,
        "held": job.held,
        "counts": dict(job.counts),
        "progress": round(job.progress, 4),
        "images": job.images,
        "kept": job.kept,
        "discarded": job.discarded,
        "superseded": job.superseded,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "cancelled_at": iso(job.cancelled_at),
        "source_job_id": job.source_job_id,
        "source_task_id": job.source_task_id,
        "origin": job.origin,
        "user": job.user,
        "not_before": iso(job.not_before),
        "repeat": repeat_view(job.repeat_times, job.repeat_round, job.repeat_keep_seeds, job.repeat_stopped),
        "damaged": job.damaged,
    }


def image_public(image: JobImage) -> dict[str, Any]:
    url = result_url(image.task_id, image.index)
    return {
        "task_id": image.task_id,
        "index": image.index,
        "name": image.name,
        "mark": image.mark,
        "exists": image.exists,
        "grid": image.grid,
        "seed": image.seed,
        "infotext": image.infotext,
        "url": url,
        "thumbnail_url": f"{url}?thumbnail=256",
    }


def _preview(new: NewTask, labels: list[str] | None = None) -> dict[str, Any]:
    item = {
        "kind": new.kind,
        "name": new.name,
        "checkpoint": new.checkpoint,
        "params": new.params,
    }
    if labels is not None:
        item["labels"] = labels
    return item


# -- helpers -----------------------------------------------------------------------------------------


def max_tasks(services: ApiServices) -> int:
    """The sweep / follow-up cap: ``ApiSettings.max_sweep_tasks`` when the host sets one."""
    value = getattr(services.settings, "max_sweep_tasks", None)
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_MAX_TASKS


def _choices(services: ApiServices) -> Choices:
    schedulers = getattr(services.webui, "schedulers", None)
    return Choices(
        checkpoints=list(services.webui.checkpoints()),
        samplers=list(services.webui.samplers()),
        schedulers=list(schedulers()) if callable(schedulers) else [],
        lenient=services.queue.checker is not None,
    )


def sweep_problems(
    services: ApiServices, built: list[Any], axes: list[Any], *, strict: bool
) -> list[dict[str, Any]]:
    """The checker's problems of a sweep's tasks, one per axis value, with the tasks it touches."""
    found = grouped(services.queue.check([t.new for t in built], strict=strict))
    out = []
    for problem in found:
        item = problem.to_dict()
        axis = next((a for a in axes if _on_axis(a, problem.value)), None)
        if axis is not None:
            item["axis"] = axis.title
        out.append(item)
    return out


def _on_axis(axis: Any, value: Any) -> bool:
    if axis.type == "lora":
        return value == axis.name
    return any(
        v == value or (isinstance(v, str) and isinstance(value, str) and value in v) for v in axis.values
    )


def _base(services: ApiServices, body: JobCreate, user: str | None) -> tuple[Any, str | None]:
    """``(PreparedTask-or-NewTask, source task id)`` for the sweep's base."""
    if sum(x is not None for x in (body.base, body.from_task, body.from_saved)) != 1:
        raise InvalidTaskData("base", "give one of base (a txt2img / img2img body), from_task or from_saved")
    if body.from_saved is not None:
        return SavedTasks(services.queue).get(body.from_saved).as_new_task(user=user), None
    if body.from_task is not None:
        task = services.queue.get(body.from_task)
        if task.kind not in ("txt2img", "img2img"):
            raise InvalidTaskData("from_task", f"a {task.kind} task cannot be swept")
        params = dict(task.params)
        seeds = task.result.seeds if task.result else []
        if body.keep_seed is not False and params.get("seed", -1) == -1 and seeds:
            params["seed"] = seeds[0]
        new = NewTask.from_task(
            task, services.queue.files_of(task.id), params=params, job_id=None, user=user or task.user
        )
        return new, task.id
    kind = body.kind or "txt2img"
    try:
        request = pd.validate(request_model(kind), body.base or {})
    except pydantic.ValidationError as exc:
        first = pd.error_list(exc)[0]
        raise InvalidTaskData(".".join(["base", *map(str, first["loc"])]), first["msg"]) from None
    try:
        return prepare_task(kind, request, services.settings, user=user), None
    except InvalidTaskData as exc:
        raise InvalidTaskData(f"base.{exc.field}", exc.message) from None


def _validate(news: list[NewTask]) -> None:
    """What the entry gate would refuse when these are queued, refused now (dry runs)."""
    for index, item in enumerate(news):
        try:
            validate_new_task(item)
        except InvalidTaskData as exc:
            raise InvalidTaskData(
                exc.field if len(news) == 1 else f"tasks.{index}.{exc.field}", exc.message
            ) from None


def _default_name(new: NewTask) -> str:
    if new.name:
        return new.name
    prompt = re.sub(r"\s+", " ", new.params.get("prompt") or "").strip()
    return (prompt[:60] + "…") if len(prompt) > 60 else (prompt or "sweep")


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream whose bytes are taken out as they come (zip streaming)."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer.extend(data)
        return len(data)

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def stream_zip(entries: list[tuple[Path, str]], chunk: int = 1 << 20) -> Iterator[bytes]:
    """Zip ``(file, name)`` pairs as a stream of chunks; nothing is held in memory but a chunk."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for path, name in entries:
            try:
                source = path.open("rb")
            except OSError:
                continue  # removed since it was listed
            with source, archive.open(name, "w", force_zip64=True) as target:
                while block := source.read(chunk):
                    target.write(block)
                    if len(sink.buffer) >= chunk:
                        yield sink.take()
            yield sink.take()
    yield sink.take()


# -- the router --------------------------------------------------------------------------------------


def make_jobs_router(services: ApiServices) -> APIRouter:
    router = APIRouter(prefix="/jobs", route_class=ErrorMappingRoute, tags=["task-scheduler jobs"])
    jobs = Jobs(services.queue)

    def stop_running(stopping: list[str]) -> None:
        if stopping and services.executor is None:
            services.webui.interrupt()

    @router.post("", status_code=201)
    def create_job(
        body: JobCreate,
        request: Request,
        response: Response,
        key: Optional[str] = actions.key_header(),
    ) -> Any:
        """Queue a sweep as one job: a base and axes, crossed or zipped (`dry_run`: count and preview)."""
        request_key = None if body.dry_run else actions.request_key(key, request, body)
        return actions.once(
            services,
            request_key,
            response,
            lambda: queue_job(body, request, request_key),
            lambda found: {**job_public(jobs.get(found.job_id or "")), "task_ids": found.task_ids},
        )

    def queue_job(body: JobCreate, request: Request, request_key: RequestKey | None) -> Any:
        cap = max_tasks(services)
        base, source_task = _base(services, body, request_user(request))
        new = base if isinstance(base, NewTask) else base.new
        axes = parse_axes(body.axes, choices=_choices(services), cap=cap)
        mode = body.mode or "cartesian"
        count = count_tasks(axes, mode)
        name = body.name if body.name is not None else _default_name(new)
        if body.dry_run:
            limit = 5 if body.preview is None else body.preview
            # a dry run refuses what queueing would: every task when they are few enough to queue
            checked = expand(new, axes, mode=mode, cap=max(cap, count), name=name, limit=min(count, cap))
            _validate([t.new for t in checked])
            shown = expand(new, axes, mode=mode, cap=max(cap, count), name=name, limit=limit)
            _validate([t.new for t in shown])
            answer = {
                "count": count,
                "max_tasks": cap,
                "over_limit": count > cap,
                "preview": [_preview(t.new, t.labels) for t in shown],
                "problems": sweep_problems(services, checked, axes, strict=bool(body.strict)),
            }
            return JSONResponse(answer)
        built = expand(new, axes, mode=mode, cap=cap, name=name)  # every error before any file is written
        services.queue.refuse_errors([t.new for t in built], strict=bool(body.strict))
        position = body.position
        if not isinstance(base, NewTask):
            position = position or base.position
            new = base.store_files(services.files)  # fills the base's image tags: expand again
            built = expand(new, axes, mode=mode, cap=cap, name=name)
        origin = {**sweep_origin(axes, mode), "base": "task" if source_task else new.kind}
        if body.exact:
            for item in built:
                item.new.batching = "exact"
        try:
            job, tasks = jobs.create(
                [t.new for t in built],
                name=name,
                at=position or "bottom",
                origin=origin,
                source_task_id=source_task,
                user=request_user(request),
                strict=bool(body.strict),
                not_before=parse_when(body.not_before),
                repeat=repeat_args(body.repeat),
                request_key=request_key,
            )
        except BaseException:
            if not isinstance(base, NewTask):
                services.queue.forget_files(list(new.files))
            raise
        return {**job_public(job), "task_ids": [t.id for t in tasks]}

    @router.get("")
    def list_jobs(
        limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=MAX_OFFSET)
    ) -> dict[str, Any]:
        """Jobs, newest first, with their status and counts."""
        page = jobs.list(limit=limit, offset=offset)
        return {
            "jobs": [job_public(j) for j in page.jobs],
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
        }

    @router.get("/{job_id}")
    def get_job(job_id: str) -> dict[str, Any]:
        return job_public(jobs.get(job_id))

    @router.get("/{job_id}/tasks")
    def job_tasks(
        job_id: str, limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET)
    ) -> dict[str, Any]:
        """The job's tasks in the order they were queued."""
        tasks = jobs.tasks(job_id)
        return {"tasks": [task_public(t) for t in tasks[offset : offset + limit]], "total": len(tasks)}

    @router.patch("/{job_id}")
    def schedule_job(job_id: str, body: JobSchedule) -> dict[str, Any]:
        """Change when the job starts and whether it repeats (only what the body names)."""
        sent = pd.fields_set(body)
        job = jobs.schedule(
            job_id,
            not_before=parse_when(body.not_before) if "not_before" in sent else ...,
            repeat=repeat_args(body.repeat) if "repeat" in sent else ...,
        )
        return job_public(job)

    @router.post("/{job_id}/stop-repeating")
    def stop_repeating_job(job_id: str) -> dict[str, Any]:
        """No further round of the job; what ran, and a round already queued, stay."""
        return job_public(jobs.stop_repeating(job_id))

    @router.post("/{job_id}/pause")
    def pause_job(job_id: str) -> dict[str, Any]:
        """Hold the job's pending tasks (the rest of the queue runs on)."""
        return job_public(jobs.hold(job_id))

    @router.post("/{job_id}/resume")
    def resume_job(job_id: str) -> dict[str, Any]:
        return job_public(jobs.release(job_id))

    @router.post("/{job_id}/move-to-top")
    def move_job(job_id: str) -> dict[str, Any]:
        """Run the job's pending tasks first, in their order."""
        return job_public(jobs.move_to_top(job_id))

    @router.post("/{job_id}/cancel")
    def cancel_job(job_id: str) -> dict[str, Any]:
        """Pending tasks become cancelled; a running one is stopped and ends cancelled."""
        job, stopping = jobs.cancel(job_id)
        stop_running(stopping)
        return {**job_public(job), "stopping": stopping}

    @router.post("/{job_id}/requeue-failed", status_code=201)
    def requeue_failed(job_id: str) -> dict[str, Any]:
        """Queue a copy of each failed or interrupted task inside the job."""
        copies = jobs.requeue_failed(job_id)
        return {**job_public(jobs.get(job_id)), "task_ids": [t.id for t in copies]}

    @router.delete("/{job_id}")
    def delete_job(job_id: str, delete_images: bool = False) -> dict[str, Any]:
        """Delete the job and its tasks; `delete_images=true` also deletes its result image files."""
        return jobs.delete(job_id, delete_images=delete_images)

    @router.get("/{job_id}/images")
    def job_images(job_id: str) -> dict[str, Any]:
        """Every result image of the job with its mark; fetch one through its `url`."""
        return {"job_id": job_id, "images": [image_public(i) for i in jobs.images(job_id)]}

    @router.post("/{job_id}/images/mark")
    def mark_images(job_id: str, body: MarkRequest) -> dict[str, Any]:
        """Mark images kept or discarded (`mark: null` clears it)."""
        marked = jobs.mark(job_id, [(ref.task_id, ref.index) for ref in body.images], body.mark)
        return {"job": job_public(jobs.get(job_id)), "images": [image_public(i) for i in marked]}

    @router.post("/{job_id}/images/delete-discarded")
    def delete_discarded(job_id: str) -> dict[str, Any]:
        """Delete the files of the images marked discarded (no other file is touched)."""
        removed = jobs.delete_discarded(job_id)
        return {"deleted": len(removed), "files": [Path(p).name for p in removed]}

    @router.get("/{job_id}/images.zip", response_class=StreamingResponse, responses=_ZIP)
    def job_zip(job_id: str, include_discarded: bool = False) -> StreamingResponse:
        """The job's images still on disk as one zip, streamed (discarded ones only if asked)."""
        entries = list(jobs.zip_entries(job_id, include_discarded=include_discarded))
        return StreamingResponse(
            stream_zip(entries),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="job-{job_id}.zip"'},
        )

    @router.post("/{job_id}/follow-ups", status_code=201)
    def follow_up(job_id: str, body: FollowUpRequest, request: Request) -> Any:
        """Take the job's kept (or chosen) images to img2img or an upscaler, as a new job."""
        cap = max_tasks(services)
        raw = {k: v for k, v in pd.dump(body, exclude_unset=True).items() if v is not None}
        for key in ("images", "name", "position", "dry_run", "preview"):
            raw.pop(key, None)
        if body.params:
            check_client_value("params", body.params, [])
        spec = parse_followup(raw, cap=cap)
        keys = [(ref.task_id, ref.index) for ref in body.images] if body.images is not None else None
        if body.dry_run:
            news, _ = build_followups(
                jobs, services.files, job_id, spec, images=keys, cap=cap, store_files=False
            )
            _validate(news)
            limit = 5 if body.preview is None else body.preview
            problems = grouped(services.queue.check(news))
            return JSONResponse(
                {
                    "count": len(news),
                    "max_tasks": cap,
                    "preview": [_preview(n) for n in news[:limit]],
                    "problems": [p.to_dict() for p in problems],
                }
            )
        job, tasks = queue_followups(
            jobs,
            services.files,
            job_id,
            spec,
            images=keys,
            name=body.name,
            at=body.position or "bottom",
            cap=cap,
            user=request_user(request),
        )
        return {**job_public(job), "task_ids": [t.id for t in tasks]}

    return router


__all__ = ["job_public", "make_jobs_router", "stream_zip"]

"""Task progress bookkeeping and ``/internal/progress``, as ``modules.progress``.

The pydantic models (``ProgressRequest``, ``ProgressResponse``, ``PendingTasksResponse``) are built
on first use so that importing this module needs neither pydantic nor fastapi.
"""

from __future__ import annotations

import base64
import io
import random
import string
import time
from collections import OrderedDict

from modules import shared

current_task = None
pending_tasks: OrderedDict = OrderedDict()
finished_tasks: list = []
recorded_results: list = []
recorded_results_limit = 2


def start_task(id_task) -> None:
    global current_task
    current_task = id_task
    pending_tasks.pop(id_task, None)


def finish_task(id_task) -> None:
    global current_task
    if current_task == id_task:
        current_task = None
    finished_tasks.append(id_task)
    if len(finished_tasks) > 16:
        finished_tasks.pop(0)


def create_task_id(task_type: str) -> str:
    suffix = "".join(random.choices(string.ascii_uppercase + string.digits, k=7))
    return f"task({task_type}-{suffix})"


def record_results(id_task, res) -> None:
    recorded_results.append((id_task, res))
    if len(recorded_results) > recorded_results_limit:
        recorded_results.pop(0)


def add_task_to_queue(id_job) -> None:
    pending_tasks[id_job] = time.time()


_MODELS = ("ProgressRequest", "ProgressResponse", "PendingTasksResponse")


def _build_models() -> None:
    if "ProgressResponse" in globals():
        return
    from pydantic import BaseModel, Field

    class PendingTasksResponse(BaseModel):
        size: int = Field(title="Pending task size")
        tasks: list[str] = Field(title="Pending task ids")

    class ProgressRequest(BaseModel):
        id_task: str | None = Field(
            default=None, title="Task ID", description="id of the task to get progress for"
        )
        id_live_preview: int = Field(default=-1, title="Live preview image ID")
        live_preview: bool = Field(default=True, title="Include live preview")

    class ProgressResponse(BaseModel):
        active: bool = Field(title="Whether the task is being worked on right now")
        queued: bool = Field(title="Whether the task is in queue")
        completed: bool = Field(title="Whether the task has already finished")
        progress: float | None = Field(
            default=None, title="Progress", description="The progress with a range of 0 to 1"
        )
        eta: float | None = Field(default=None, title="ETA in secs")
        live_preview: str | None = Field(default=None, title="Live preview image")
        id_live_preview: int | None = Field(default=None, title="Live preview image ID")
        textinfo: str | None = Field(default=None, title="Info text")

    globals().update(
        PendingTasksResponse=PendingTasksResponse,
        ProgressRequest=ProgressRequest,
        ProgressResponse=ProgressResponse,
    )


def __getattr__(name: str):
    if name in _MODELS:
        _build_models()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def setup_progress_api(app):
    _build_models()
    app.add_api_route("/internal/pending-tasks", get_pending_tasks, methods=["GET"])
    model = globals()["ProgressResponse"]
    return app.add_api_route("/internal/progress", progressapi, methods=["POST"], response_model=model)


def get_pending_tasks():
    _build_models()
    ids = list(pending_tasks.keys())
    return globals()["PendingTasksResponse"](size=len(ids), tasks=ids)


def progressapi(req: ProgressRequest):  # noqa: F821 - built lazily by _build_models
    _build_models()
    response = globals()["ProgressResponse"]
    active = req.id_task == current_task
    queued = req.id_task in pending_tasks
    completed = req.id_task in finished_tasks

    if not active:
        textinfo = "Waiting..."
        if queued:
            order = sorted(pending_tasks.keys(), key=lambda x: pending_tasks[x])
            textinfo = f"In queue: {order.index(req.id_task) + 1}/{len(order)}"
        return response(
            active=active, queued=queued, completed=completed, id_live_preview=-1, textinfo=textinfo
        )

    state = shared.state
    progress = 0.0
    if state.job_count > 0:
        progress += state.job_no / state.job_count
        if state.sampling_steps > 0:
            progress += 1 / state.job_count * state.sampling_step / state.sampling_steps
    progress = min(progress, 1)

    elapsed = time.time() - (state.time_start or time.time())
    predicted = elapsed / progress if progress > 0 else None
    eta = predicted - elapsed if predicted is not None else None

    live_preview = None
    id_live_preview = req.id_live_preview
    if shared.opts.live_previews_enable and req.live_preview:
        state.set_current_image()
        if state.id_live_preview != req.id_live_preview and state.current_image is not None:
            buffered = io.BytesIO()
            state.current_image.save(buffered, format="png")
            live_preview = "data:image/png;base64," + base64.b64encode(buffered.getvalue()).decode("ascii")
            id_live_preview = state.id_live_preview

    return response(
        active=active,
        queued=queued,
        completed=completed,
        progress=progress,
        eta=eta,
        live_preview=live_preview,
        id_live_preview=id_live_preview,
        textinfo=state.textinfo,
    )


def restore_progress(id_task):
    while id_task == current_task or id_task in pending_tasks:
        time.sleep(0.1)
    res = next(iter([x[1] for x in recorded_results if id_task == x[0]]), None)
    if res is not None:
        return res
    return (
        None,
        None,
        None,
        f"Couldn't restore progress for {id_task}: results either have been discarded or never were obtained",
    )

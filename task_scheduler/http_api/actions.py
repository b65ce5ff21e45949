"""What both routers do, over TaskQueue: queueing with files, positions, edits, results.

Routes stay a few lines each; they call these functions and shape the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pydantic
from fastapi import Header, HTTPException, Request, Response

from .. import request_keys
from ..errors import InvalidTaskData, TaskSchedulerError
from ..request_keys import HEADER, Answered, RequestKey
from ..task import Task, TaskStatus, validate_new_task
from . import _pydantic as pd
from .auth import request_user
from .images import data_url, result_file, result_paths
from .payloads import (
    Edit,
    PreparedTask,
    api_changes,
    check_client_value,
    held_tags,
    prepare_task,
    stored_changes,
)
from .services import ApiServices
from .views import progress_view

#: largest ``offset`` a listing accepts (SQLite integers are 64-bit; Python's are not)
MAX_OFFSET = 1_000_000_000


T = TypeVar("T")

#: the answer's header that says an earlier request with the same Idempotency-Key queued it
REPLAYED_HEADER = "Idempotent-Replayed"


def key_header() -> Any:
    """The ``Idempotency-Key`` header parameter of the routes that queue (shown in the API docs)."""
    return Header(
        None,
        alias=HEADER,
        description="Sending the request again with the same key queues nothing new: the answer "
        "gives what the first request queued (header `Idempotent-Replayed: true`). Kept a day.",
    )


def request_key(key: str | None, request: Request, body: Any) -> RequestKey | None:
    """``key`` (the request's ``Idempotency-Key``) with the fingerprint of what it asks (path,
    user and parsed body: a retry with other whitespace is the same request); None without one."""
    if key is None:
        return None
    if isinstance(body, pydantic.BaseModel):
        body = pd.dump(body)
    elif isinstance(body, list):
        body = [pd.dump(item) if isinstance(item, pydantic.BaseModel) else item for item in body]
    return RequestKey.of(key, {"path": request.url.path, "user": request_user(request), "body": body})


def once(
    services: ApiServices,
    key: RequestKey | None,
    response: Response,
    queue: Callable[[], T],
    replay: Callable[[Answered], T],
) -> T:
    """``queue()`` once per key (:func:`request_keys.once`): a request sent again gets ``replay``
    of what the first queued, marked with :data:`REPLAYED_HEADER`."""
    outcome = request_keys.once(services.queue.answered, key, queue)
    if not isinstance(outcome, Answered):
        return outcome
    response.headers[REPLAYED_HEADER] = "true"
    return replay(outcome)


def queue_tasks(
    services: ApiServices,
    kind: str,
    bodies: Sequence[pydantic.BaseModel],
    *,
    user: str | None,
    key: RequestKey | None = None,
) -> list[Task]:
    """Convert, store input files, and enqueue: all of the bodies, or none of them.

    ``key``: recorded with the tasks (see :func:`once`)."""
    if not bodies:
        raise InvalidTaskData("body", "give at least one task")
    if len(bodies) > services.settings.max_tasks_per_call:
        raise InvalidTaskData("body", f"at most {services.settings.max_tasks_per_call} tasks per call")
    prepared: list[PreparedTask] = []
    for index, body in enumerate(bodies):
        try:
            item = prepare_task(kind, body, services.settings, user=user)
            validate_new_task(item.new)  # the entry gate, before any file is written
            prepared.append(item)
        except InvalidTaskData as exc:
            if len(bodies) == 1:
                raise
            raise InvalidTaskData(f"{index}.{exc.field}", exc.message) from None
    positions = {item.position for item in prepared}
    if len(positions) > 1:
        raise InvalidTaskData("position", "all tasks of one call go to the same position")
    strict = any(item.strict for item in prepared)
    services.queue.refuse_errors([item.new for item in prepared], strict=strict)  # before any file is written
    news = [item.store_files(services.files) for item in prepared]
    return services.queue.enqueue_many(news, at=positions.pop(), strict=strict, request_key=key)  # type: ignore[arg-type]


def position(services: ApiServices, task: Task) -> int | None:
    if task.status is not TaskStatus.PENDING:
        return None
    return services.queue.position_of(task.id)


def progress(services: ApiServices, task: Task) -> dict[str, Any] | None:
    if task.status is not TaskStatus.RUNNING:
        return None
    current = services.queue.progress(task.id)
    if current is not None:
        return progress_view(current)
    return progress_view(services.webui.progress(task.id))


def apply_edit(
    services: ApiServices,
    task_id: str,
    edit: Edit,
    script_args: dict[str, Any] | None = None,
    *,
    strict: bool = False,
) -> Task:
    return services.queue.edit(
        task_id,
        params=edit.params or None,
        script_args=script_args,
        checkpoint=edit.checkpoint,
        name=edit.name,
        worker_pin=edit.worker,
        strict=strict,
        exact=edit.exact,
    )


def patch_task(
    services: ApiServices,
    task_id: str,
    *,
    name: str | None,
    checkpoint: str | None,
    clear_checkpoint: bool,
    params: dict[str, Any] | None,
    script_args: dict[str, Any] | None,
    worker: str | None = None,
    strict: bool = False,
    not_before: Any = ...,
    repeat: Any = ...,
    exact: bool | None = None,
) -> Task:
    """Our PATCH: stored names, merged; ``clear_checkpoint`` when the body sent ``null``;
    ``not_before`` / ``repeat`` (``...``: not sent) set or clear the task's timing."""
    task = services.queue.get(task_id)
    edit = Edit(name=name, worker=worker.strip() if worker is not None else None, exact=exact)
    if checkpoint is not None:
        edit.checkpoint = checkpoint.strip()
    elif clear_checkpoint:
        edit.checkpoint = ""
    owned = services.queue.files_of(task_id)
    if params:
        edit.params = stored_changes(task.kind, params, task, owned)
    if script_args:
        check_script_args(script_args, task, owned)
    if not_before is not ... or repeat is not ...:
        services.queue.edit(task_id, not_before=not_before, repeat=repeat)
    return apply_edit(services, task_id, edit, script_args or None, strict=strict)


def check_script_args(script_args: dict[str, Any], task: Task, owned: list[str]) -> None:
    """An edit's ``script_args``: titled, and no tag or file the task does not hold already."""
    for title in script_args:
        if not isinstance(title, str) or not title.strip():
            raise InvalidTaskData("script_args", "script titles must be non-empty text")
    check_client_value("script_args", script_args, owned, held_tags(task))


def put_task_as(
    services: ApiServices,
    task_id: str,
    *,
    name: str | None,
    checkpoint: str | None,
    params: dict[str, Any] | None,
) -> Task:
    """Agent Scheduler's PUT: API names in ``params``, applied with or without ``checkpoint``."""
    task = services.queue.get(task_id)
    edit = api_changes(task.kind, params or {}, task) if params else Edit()
    if name is not None:
        edit.name = name
    if checkpoint is not None:
        edit.checkpoint = checkpoint.strip()
    return apply_edit(services, task_id, edit)


def require_results(task: Task) -> None:
    if task.status in (TaskStatus.PENDING, TaskStatus.RUNNING):
        raise HTTPException(409, f"task {task.id} is {task.status.value}: it has no results yet")


def results_json(task: Task, *, skip_missing: bool = False) -> list[dict[str, Any]]:
    infotexts = task.result.infotexts if task.result else []
    items = []
    for index, raw in enumerate(result_paths(task)):
        path = result_file(task, index)
        if path is None and skip_missing:
            continue
        items.append(
            {
                "index": index,
                "name": Path(raw).name,
                "image": data_url(path) if path is not None else None,
                "infotext": infotexts[index] if index < len(infotexts) else None,
            }
        )
    return items


def one_result(task: Task, index: int) -> Path:
    require_results(task)
    count = len(result_paths(task))
    if index < 0 or index >= count:
        raise HTTPException(404, f"task {task.id} has {count} result images; there is no image {index}")
    path = result_file(task, index)
    if path is None:
        raise HTTPException(404, f"result image {index} of task {task.id} is no longer on disk")
    return path


def holder_url(services: ApiServices, task: Task) -> str | None:
    """The address of the worker on another machine that made ``task``'s images, if it said one.

    Results stay where each WebUI saved them; a request for one that is not on this machine is
    sent on to the WebUI that has it.
    """
    here = services.executor.worker.id if services.executor is not None else None
    if not task.worker_id or task.worker_id == here:
        return None
    try:
        worker = services.queue.workers.get(task.worker_id)
    except TaskSchedulerError:
        return None
    url = worker.info.get("url") if isinstance(worker.info, dict) else None
    return url.rstrip("/") if isinstance(url, str) and url.startswith(("http://", "https://")) else None

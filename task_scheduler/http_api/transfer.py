"""Export and import of pending tasks as JSON. Nothing is ever unpickled.

An export lists each pending task in the stored shape plus its input files as data URLs, so it
can be imported into another install. Import accepts that, and (for ``/agent-scheduler/v1``)
Agent Scheduler's own export: its named ``params`` are converted like an API body; its pickled
``script_params`` are ignored, never loaded.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pydantic

from ..errors import InvalidTaskData
from ..gate import shown_safely
from ..task import NewTask, Task, validate_new_task
from . import _pydantic as pd
from .images import check_image_bytes
from .payloads import (
    RENAMED,
    TAGS,
    PreparedTask,
    check_callback_url,
    check_client_value,
    prepare_task,
    request_model,
)
from .schemas import ExportedTask
from .services import ApiServices
from .timing import parse_when, repeat_args
from .views import iso

_DATA_URL = re.compile(r"^data:[\w.+-]*/?[\w.+-]*;base64,", re.I)


def export_tasks(services: ApiServices, *, limit: int, offset: int) -> list[dict[str, Any]]:
    out = []
    for task in services.queue.pending(limit=limit, offset=offset):
        if task.damaged is not None or shown_safely([task.params, task.script_args]) is not None:
            continue  # a row that cannot be shown cannot be exported either (GET /queue names it)
        files = {}
        for ref in services.queue.files_of(task.id):
            data = services.files.read(ref)
            files[ref] = "data:application/octet-stream;base64," + base64.b64encode(data).decode("ascii")
        out.append(
            {
                "id": task.id,
                "kind": task.kind,
                "name": task.name,
                "status": task.status.value,
                "params": task.params,
                "script_args": task.script_args,
                "script_name": task.script_name,
                "checkpoint": task.checkpoint,
                "priority": task.priority,
                "callback_url": task.callback_url,
                "job_id": task.job_id,
                "needs_webui": task.needs_webui,
                "created_at": iso(task.created_at),
                "files": files,
                "not_before": task.not_before,
                "repeat": None
                if task.repeat_times is None or task.repeat_stopped
                else {"times": task.repeat_times, "keep_seeds": task.repeat_keep_seeds},
            }
        )
    return out


@dataclass
class _Incoming:
    """One imported task, checked; its files are written only once every task passed."""

    new: NewTask
    blobs: dict[str, tuple[bytes, str]] = field(default_factory=dict)


def import_tasks(
    services: ApiServices, items: list[ExportedTask], *, at: str = "bottom", user: str | None = None
) -> list[Task]:
    incoming = []
    for index, item in enumerate(items):
        try:
            incoming.append(_from_export(services, item, user))
        except InvalidTaskData as exc:
            raise InvalidTaskData(f"tasks.{index}.{exc.field}", exc.message) from None
    return queue_incoming(services, incoming, at=at)


def queue_incoming(services: ApiServices, incoming: list[Any], *, at: str = "bottom") -> list[Task]:
    """Write the checked tasks' files and queue them, all or none; a failure leaves no file behind."""
    written: list[str] = []
    news: list[NewTask] = []
    try:
        for item in incoming:
            if isinstance(item, PreparedTask):  # Agent Scheduler's items, converted like an API body
                news.append(item.store_files(services.files))
                written.extend(news[-1].files)
                continue
            mapping = {ref: services.files.put(data, ext) for ref, (data, ext) in item.blobs.items()}
            written.extend(mapping.values())
            new = item.new
            new.params = _rewrite(new.params, mapping)
            new.script_args = _rewrite(new.script_args, mapping)
            new.files = sorted(set(mapping.values()))
            news.append(new)
        return services.queue.enqueue_many(news, at=at)  # type: ignore[arg-type]
    except BaseException:
        services.queue.forget_files(written)
        raise


def _from_export(services: ApiServices, item: ExportedTask, user: str | None) -> _Incoming:
    limit = services.settings.max_image_bytes
    blobs: dict[str, tuple[bytes, str]] = {}
    for ref, url in (item.files or {}).items():
        match = _DATA_URL.match(url or "")
        extension = ref.rsplit(".", 1)[-1] if "." in ref else ""
        if not match or not re.fullmatch(r"[a-z0-9]{1,8}", extension):
            raise InvalidTaskData(f"files.{ref}", "must be a base64 data URL under a stored file reference")
        payload = url[match.end() :]
        if len(payload) // 4 * 3 > limit + 3:
            raise InvalidTaskData(f"files.{ref}", f"file is larger than {limit} bytes")
        try:
            blobs[ref] = (base64.b64decode(payload, validate=True), extension)
        except (binascii.Error, ValueError):
            raise InvalidTaskData(f"files.{ref}", "is not valid base64") from None
    params = dict(item.params)
    script_args = dict(item.script_args or {})
    refs = sorted(blobs)
    check_client_value("params", params, refs)
    check_client_value("script_args", script_args, refs)
    used = _refs_in(params) | _refs_in(script_args)
    missing = used - set(blobs)
    if missing:
        raise InvalidTaskData("files", f"the export lacks the files {sorted(missing)}")
    for ref in sorted(_refs_in(params, ("$image",)) | _refs_in(script_args, ("$image",))):
        check_image_bytes(blobs[ref][0], f"files.{ref}", services.settings)
    new = NewTask(
        kind=item.kind,
        params=params,
        name=item.name or "",
        script_args=script_args,
        script_name=item.script_name,
        checkpoint=item.checkpoint,
        source="api",
        priority=item.priority or 0,
        job_id=_known_job(services, item.job_id),
        user=user,
        callback_url=check_callback_url(item.callback_url, services.settings),
        not_before=parse_when(item.not_before),
        needs_webui=item.needs_webui,
    )
    repeat = repeat_args(item.repeat)
    if repeat is not None:
        new.repeat_times, new.repeat_keep_seeds = repeat
    validate_new_task(new)  # the entry gate, before any file is written
    return _Incoming(new, {ref: blob for ref, blob in blobs.items() if ref in used})


def _known_job(services: ApiServices, job_id: str | None) -> str | None:
    """An exported task's job, if that job exists here; a job of another install is dropped."""
    if not job_id:
        return None
    with services.queue.store.read() as conn:
        row = conn.execute("SELECT 1 FROM job WHERE id = ?", (job_id,)).fetchone()
    return job_id if row is not None else None


def _refs_in(value: Any, tags: tuple[str, ...] = TAGS) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for tag in tags:
            if isinstance(value.get(tag), str):
                found.add(value[tag])
        for inner in value.values():
            found |= _refs_in(inner, tags)
    elif isinstance(value, list):
        for inner in value:
            found |= _refs_in(inner, tags)
    return found


def _rewrite(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {k: _rewrite(v, mapping) for k, v in value.items()}
        for tag in TAGS:
            if isinstance(out.get(tag), str) and out[tag] in mapping:
                out[tag] = mapping[out[tag]]
        return out
    if isinstance(value, list):
        return [_rewrite(v, mapping) for v in value]
    return value


# -- Agent Scheduler's import format ---------------------------------------------------------


def parse_as_import(services: ApiServices, content: str, *, user: str | None) -> list[Any]:
    """``{"content": "<JSON list>"}``: our export items, or Agent Scheduler's (params only)."""
    try:
        items = json.loads(content)
    except (ValueError, RecursionError):
        raise InvalidTaskData("content", "is not JSON") from None
    if not isinstance(items, list):
        raise InvalidTaskData("content", "must be a JSON list of tasks")
    news = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidTaskData(f"content.{index}", "must be an object")
        try:
            if "kind" in item:
                try:
                    exported = pd.validate(ExportedTask, item)
                except pydantic.ValidationError as exc:
                    first = pd.error_list(exc)[0]
                    raise InvalidTaskData(".".join(str(p) for p in first["loc"]), first["msg"]) from None
                news.append(_from_export(services, exported, user))
            else:
                news.append(_from_agent_scheduler(services, item, user))
        except InvalidTaskData as exc:
            raise InvalidTaskData(f"content.{index}.{exc.field}", exc.message) from None
    return news


def _from_agent_scheduler(services: ApiServices, item: dict[str, Any], user: str | None) -> NewTask:
    kind = item.get("type")
    if kind not in ("txt2img", "img2img"):
        raise InvalidTaskData("type", "must be txt2img or img2img")
    params = item.get("params")
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            raise InvalidTaskData("params", "is not JSON") from None
    if not isinstance(params, dict):
        raise InvalidTaskData("params", "must be an object")
    args = params.get("args") if isinstance(params.get("args"), dict) else params
    model = request_model(kind)
    known = set(pd.field_names(model))
    reverse = {v: k for k, v in RENAMED.items()}
    body: dict[str, Any] = {}
    for name, value in args.items():
        api_name = reverse.get(name, name)
        if api_name in known and value is not None:
            body[api_name] = value
    for key in ("checkpoint", "vae"):
        if params.get(key) and key not in body:
            body[key] = params[key]
    if item.get("name"):
        body["name"] = str(item["name"])[:200]
    if item.get("api_task_callback"):
        body["callback_url"] = item["api_task_callback"]
    try:
        validated = pd.validate(model, body)
    except pydantic.ValidationError as exc:
        first = pd.error_list(exc)[0]
        raise InvalidTaskData("params." + ".".join(str(p) for p in first["loc"]), first["msg"]) from None
    prepared = prepare_task(kind, validated, services.settings, user=user)
    validate_new_task(prepared.new)
    return prepared

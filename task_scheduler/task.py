"""The task and its lifecycle: statuses, the one transition table, and the record shape.

Nothing in this module touches the database; ``store.Store.transition`` is the only code that
writes a status, and it asks :func:`allowed_sources` which states a move may start from.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .gate import check_task, check_timing


class TaskStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


#: from-status -> the statuses it may move to.  Everything not listed is illegal.
TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset({TaskStatus.RUNNING, TaskStatus.CANCELLED}),
    TaskStatus.RUNNING: frozenset(
        {TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.INTERRUPTED, TaskStatus.CANCELLED}
    ),
    # An interrupted task goes back to pending only through crash/backend recovery.
    TaskStatus.INTERRUPTED: frozenset({TaskStatus.PENDING}),
    TaskStatus.DONE: frozenset(),
    TaskStatus.FAILED: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}

FINISHED: frozenset[TaskStatus] = frozenset(
    {TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.INTERRUPTED, TaskStatus.CANCELLED}
)


def allowed_sources(target: TaskStatus) -> frozenset[TaskStatus]:
    """The statuses from which ``target`` may be reached."""
    return frozenset(src for src, targets in TRANSITIONS.items() if target in targets)


def new_task_id() -> str:
    return uuid.uuid4().hex


_HASH_SUFFIX = re.compile(r"\s*\[[0-9a-fA-F]{8,64}\]\s*$")


def checkpoint_key(name: str | None) -> str | None:
    """A comparable form of a checkpoint name.

    Titles gain a `` [shorthash]`` suffix after the first load and folders differ in slash
    style between platforms; neither may make two spellings of one model look different.
    """
    if not name:
        return None
    key = _HASH_SUFFIX.sub("", name).strip().replace("\\", "/").lower()
    return key or None


def checkpoint_aliases(spellings: Iterable[str | None]) -> set[str]:
    """The keys of every spelling of one model (title, name, stem, file name, hashes).

    A worker publishes these for the models it has; another worker leaves it the tasks that
    name a model only it has, however the task spells it.
    """
    keys: set[str] = set()
    for spelling in spellings:
        if not spelling:
            continue
        name = _HASH_SUFFIX.sub("", str(spelling)).strip().replace("\\", "/")
        base = name.rsplit("/", 1)[-1]
        has_extension = "." in base
        stems = (name.rsplit(".", 1)[0], base.rsplit(".", 1)[0]) if has_extension else ()
        keys |= {key for key in map(checkpoint_key, (name, base, *stems)) if key}
    return keys


#: ``TaskResult.info`` key: which of ``images`` are grids. The runner knows (the WebUI says
#: which outputs are grids); a path does not always (the grids folder is a setting).
GRIDS_KEY = "grids"


@dataclass
class TaskResult:
    """What a finished run produced. Image paths point at files the WebUI (or we) saved."""

    images: list[str] = field(default_factory=list)
    infotexts: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def grids(self) -> list[str]:
        """The paths of ``images`` that are grids (listed last), as the runner marked them."""
        marked = self.info.get(GRIDS_KEY)
        return [path for path in marked if path in self.images] if isinstance(marked, list) else []

    def to_json(self) -> str:
        return json.dumps(
            {"images": self.images, "infotexts": self.infotexts, "seeds": self.seeds, "info": self.info}
        )

    @classmethod
    def from_json(cls, text: str | None) -> TaskResult | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(
            images=list(data.get("images") or []),
            infotexts=list(data.get("infotexts") or []),
            seeds=list(data.get("seeds") or []),
            info=dict(data.get("info") or {}),
        )


@dataclass
class Task:
    """One queued generation, as stored.

    ``params`` are named (parameter name -> JSON value) and ``script_args`` are keyed by script
    title, never by position, so a task survives extensions being added or removed.
    """

    id: str
    kind: str
    params: dict[str, Any]
    status: TaskStatus = TaskStatus.PENDING
    name: str = ""
    script_args: dict[str, Any] = field(default_factory=dict)
    script_name: str | None = None
    checkpoint: str | None = None
    source: str = "api"
    priority: int = 0
    position: float = 0.0
    pinned: bool = False
    job_id: str | None = None
    bookmarked: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    result: TaskResult | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    attempts: int = 0
    crashes: int = 0
    user: str | None = None
    callback_url: str | None = None
    requeued_from: str | None = None
    #: the worker running it (while ``running``; kept afterwards: where it ran)
    worker_id: str | None = None
    #: while running: when the worker's claim lapses unless it renews it (see workers.py)
    lease_expires_at: float | None = None
    #: only this worker may run it
    worker_pin: str | None = None
    #: not started before this instant (epoch seconds); None: as soon as its turn comes
    not_before: float | None = None
    #: repeat: None no; 0 until stopped; N rounds in all (see :mod:`.repeat`)
    repeat_times: int | None = None
    #: which round of its series (or its job's repetition) this task is, from 1
    repeat_round: int = 1
    #: the next round keeps the seeds of the first instead of new ones
    repeat_keep_seeds: bool = False
    #: the user stopped the repetition: no further round is queued
    repeat_stopped: bool = False
    #: the id of the first round's task, shared by every round of a repeating task
    repeat_series: str | None = None
    #: the WebUI family (:data:`WEBUI_FAMILIES`) whose argument names it holds (a Queue-button
    #: capture); only a worker of that family takes it. None: runs anywhere (the API's schema)
    needs_webui: str | None = None
    #: how it may be auto-batched (:mod:`.batching`): None (as its origin says), "repeat" (one of
    #: a "Queue N times with new seeds"), "exact" (always one by one)
    batching: str | None = None
    #: the id shared by the tasks that ran together as one WebUI batch (None: it ran alone)
    batch_id: str | None = None
    #: why the stored row could not be read (listed as damaged, never run); None for a sound row
    damaged: str | None = None

    @property
    def prompt(self) -> str:
        value = self.params.get("prompt")
        return value if isinstance(value, str) else ""

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


def damaged_task(row: Any, reason: str) -> Task:
    """What a row that cannot be read becomes: its id and what is readable, and why.

    One bad row (written by hand, an old bug, a damaged page) must not fail every listing it is
    in; it is shown as damaged with its id and the reason, and can be deleted like any task.
    """

    def get(key: str, kind: type, default: Any) -> Any:
        try:
            value = row[key]
        except (IndexError, KeyError):
            return default
        return value if isinstance(value, kind) and not isinstance(value, bool) else default

    def moment(key: str) -> float:
        """A timestamp a view can show (years 1 to 9999), else 0."""
        value = float(get(key, (int, float), 0.0))
        return value if -62135596800.0 <= value <= 253402300799.0 else 0.0

    try:
        status = TaskStatus(row["status"])
    except (ValueError, KeyError, IndexError):
        status = TaskStatus.FAILED
    return Task(
        id=str(row["id"]),
        kind=get("kind", str, "unknown"),
        params={},
        status=status,
        name=get("name", str, ""),
        priority=get("priority", int, 0),
        position=float(get("position", (int, float), 0.0)),
        job_id=get("job_id", str, None),
        created_at=moment("created_at"),
        updated_at=moment("updated_at"),
        error=reason,
        damaged=reason,
    )


@dataclass
class NewTask:
    """What a caller supplies to enqueue; the store fills in ids, order and timestamps."""

    kind: str
    params: dict[str, Any]
    name: str = ""
    script_args: dict[str, Any] = field(default_factory=dict)
    script_name: str | None = None
    checkpoint: str | None = None
    source: str = "api"
    priority: int = 0
    job_id: str | None = None
    user: str | None = None
    callback_url: str | None = None
    requeued_from: str | None = None
    crashes: int = 0
    #: only this worker may run it
    worker_pin: str | None = None
    #: the WebUI family whose argument names it holds (see :attr:`Task.needs_webui`)
    needs_webui: str | None = None
    #: references (from :class:`~task_scheduler.files.FileStore`) of the input files it uses
    files: list[str] = field(default_factory=list)
    #: not started before this instant (epoch seconds)
    not_before: float | None = None
    #: None: runs once; 0: repeats until stopped; N: N rounds in all
    repeat_times: int | None = None
    repeat_keep_seeds: bool = False
    repeat_round: int = 1
    repeat_series: str | None = None
    #: see :attr:`Task.batching`
    batching: str | None = None

    @classmethod
    def from_task(cls, task: Task, files: list[str] | None = None, **changes: Any) -> NewTask:
        """What would queue ``task`` again: its values and input ``files``, with ``changes``."""
        values: dict[str, Any] = {
            "kind": task.kind,
            "params": task.params,
            "name": task.name,
            "script_args": task.script_args,
            "script_name": task.script_name,
            "checkpoint": task.checkpoint,
            "source": task.source,
            "priority": task.priority,
            "job_id": task.job_id,
            "user": task.user,
            "callback_url": task.callback_url,
            "worker_pin": task.worker_pin,
            "needs_webui": task.needs_webui,
            "files": list(files or []),
            "batching": task.batching,
        }
        values.update(changes)
        return cls(**values)


#: WebUI families whose Generate signatures (argument names, script titles) differ
WEBUI_FAMILIES = ("forge", "neo", "a1111")

#: the values of :attr:`Task.batching`
BATCHING: tuple[str | None, ...] = (None, "repeat", "exact")
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_NAME_LENGTH = 200


def validate_new_task(new: NewTask) -> NewTask:
    """Reject what would poison the queue later; raise :class:`InvalidTaskData` naming the field."""
    from .errors import InvalidTaskData

    if not isinstance(new.kind, str) or not _KIND.match(new.kind):
        raise InvalidTaskData("kind", f"must be a short lower-case identifier, got {new.kind!r}")
    if not isinstance(new.params, dict):
        raise InvalidTaskData("params", "must be an object of named parameters")
    if not isinstance(new.script_args, dict):
        raise InvalidTaskData("script_args", "must be an object keyed by script title")
    if not isinstance(new.name, str) or len(new.name) > MAX_NAME_LENGTH:
        raise InvalidTaskData("name", f"must be text of at most {MAX_NAME_LENGTH} characters")
    if new.source not in ("ui", "api"):
        raise InvalidTaskData("source", "must be 'ui' or 'api'")
    if isinstance(new.priority, bool) or not isinstance(new.priority, int):
        raise InvalidTaskData("priority", "must be an integer")
    if new.worker_pin is not None and (
        not isinstance(new.worker_pin, str) or not 0 < len(new.worker_pin) <= 200
    ):
        raise InvalidTaskData("worker", "must be a worker's id (text of at most 200 characters)")
    if new.needs_webui is not None and new.needs_webui not in WEBUI_FAMILIES:
        raise InvalidTaskData("needs_webui", f"must be one of {', '.join(WEBUI_FAMILIES)} or null")
    if new.batching not in BATCHING:
        raise InvalidTaskData("batching", f"must be one of {', '.join(repr(b) for b in BATCHING)}")
    check_task(new.params, new.script_args, new.priority)
    check_timing(new.not_before, new.repeat_times)
    for label, value in (("params", new.params), ("script_args", new.script_args)):
        ensure_json(label, value)
    if not isinstance(new.files, list) or not all(isinstance(ref, str) for ref in new.files):
        raise InvalidTaskData("files", "must be a list of stored file references")
    return new


def ensure_json(field_name: str, value: Any) -> str:
    """Serialise strictly: NaN, sets, bytes and objects are refused, never stringified."""
    from .errors import InvalidTaskData

    try:
        return json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidTaskData(field_name, f"is not plain JSON ({exc})") from None


def merge_changes(current: dict[str, Any], changes: dict[str, Any], field_name: str) -> dict[str, Any]:
    """An edit of named values: merged key by key, a ``None`` value removes the key."""
    from .errors import InvalidTaskData

    if not isinstance(changes, dict):
        raise InvalidTaskData(field_name, "must be an object")
    ensure_json(field_name, changes)
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged

"""From Generate's positional values to stored tasks: the part of the Queue button that knows
neither gradio nor the WebUI.

:class:`Capturer` names the values with an :class:`ArgumentLayout`, encodes every one of them
with the :class:`ValueCodec` (images and arrays become files, units tagged dicts), and queues one
task — or several, for the menu's variants (all checkpoints, a folder's checkpoints, N new random
seeds, at the top), or a whole job for "Queue as sweep…" (the captured values are the sweep's
base). A value that cannot be stored refuses the whole click with a message naming the script
and the type; nothing is queued and no file is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import posixpath
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from ..errors import InvalidTaskData, TaskSchedulerError
from ..files import FileStore
from ..jobs import Jobs
from ..saved_tasks import SavedTasks
from ..sweeps import Choices, parse_axes, queue_sweep
from ..sweeps import expand as expand_sweep
from ..task import NewTask, validate_new_task
from ..task_queue import TaskQueue
from ..values import UnsupportedValue, ValueCodec
from .arguments import ArgumentError, ArgumentLayout

log = logging.getLogger(__name__)

#: The most tasks one click may queue (all checkpoints x N seeds).
MAX_TASKS_PER_CLICK = 500
MAX_REPEAT = 100
#: The WebUI draws random seeds from this range (``modules.processing.get_fixed_seed``).
SEED_RANGE = 4294967294
NAME_EXCERPT = 40


class WebUIFacts(Protocol):
    """What capture reads from the running WebUI at click time."""

    def current_checkpoint(self) -> str | None:
        """The checkpoint Generate would use now, as a stable name (no ``[hash]``)."""
        ...

    def checkpoints(self) -> list[str]:
        """Every checkpoint the WebUI knows, as names relative to the models folder."""
        ...

    def override_settings(self) -> dict[str, Any]:
        """Settings Generate would use now that a task must keep (VAE, Forge's modules, ...)."""
        ...


@dataclass
class QueueOptions:
    """What the page asks for besides the values: menu variants and the picker's choice."""

    at: Literal["top", "bottom"] = "bottom"
    #: ``None`` = the current (or picked) checkpoint, ``"all"``, or ``"folder:<name>"``
    checkpoints: str | None = None
    repeat: int = 1
    #: True: each task gets a new random seed (the menu's "N times with new random seeds")
    new_seeds: bool = False
    checkpoint: str | None = None
    name: str = ""
    #: "Queue as sweep…": ``{"axes": [...], "mode": "cartesian" | "zip", "name": str}``
    sweep: dict[str, Any] | None = None
    #: "Save as…": save the values as a saved task of this name instead of queueing them
    save_as: str | None = None
    #: "Queue to start at…": the instant (epoch seconds) the task may start
    not_before: float | None = None

    @classmethod
    def parse(cls, raw: Any) -> QueueOptions:
        """Options the page put in the ``id_task`` slot; anything else (the dummy) means defaults."""
        if not isinstance(raw, str) or not raw.startswith("{"):
            return cls()
        try:
            data = json.loads(raw)
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        options = cls()
        if data.get("at") == "top":
            options.at = "top"
        checkpoints = data.get("checkpoints")
        if checkpoints == "all" or (isinstance(checkpoints, str) and checkpoints.startswith("folder:")):
            options.checkpoints = checkpoints
        repeat = data.get("repeat")
        if isinstance(repeat, int) and not isinstance(repeat, bool):
            options.repeat = max(1, min(MAX_REPEAT, repeat))
        options.new_seeds = bool(data.get("new_seeds")) or options.repeat > 1
        if isinstance(data.get("name"), str):
            options.name = data["name"].strip()[:200]
        if isinstance(data.get("save_as"), str):
            options.save_as = data["save_as"].strip()[:200]
        when = data.get("not_before")
        if isinstance(when, (int, float)) and not isinstance(when, bool) and math.isfinite(when):
            options.not_before = float(when)
        sweep = data.get("sweep")
        if isinstance(sweep, dict):
            options.sweep = {
                "axes": sweep.get("axes"),
                "mode": sweep.get("mode") if isinstance(sweep.get("mode"), str) else "cartesian",
                "name": sweep["name"].strip()[:200] if isinstance(sweep.get("name"), str) else "",
            }
        return options


@dataclass
class QueueOutcome:
    """The answer the page shows as a toast; ``ok`` False means nothing was queued."""

    ok: bool
    message: str
    task_ids: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    job_id: str | None = None
    folders: list[str] = field(default_factory=list)
    tab: str = ""
    #: time the server took to answer the click (capture, encode, store)
    server_ms: float | None = None
    #: when the tasks were committed (epoch seconds), for timing the click end to end
    stored_at: float | None = None
    #: the checker's warnings the tasks were queued with (distinct, each once)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {
                "ok": self.ok,
                "message": self.message,
                "task_ids": self.task_ids,
                "positions": self.positions,
                "job_id": self.job_id,
                "folders": self.folders,
                "tab": self.tab,
                "server_ms": self.server_ms,
                "stored_at": self.stored_at,
                "warnings": self.warnings,
                "nonce": random.getrandbits(48),
            },
            ensure_ascii=False,
        )


class CaptureRefused(TaskSchedulerError):
    """The click cannot be queued; the message is meant for the user."""


def _encode(codec: ValueCodec, value: Any, where: str, refs: list[str]) -> Any:
    try:
        return codec.encode(value, where, refs)
    except UnsupportedValue as exc:
        inner = exc.where[len(where) :].lstrip(".")
        text = f"{where} is a {_type_name(value)}"
        if inner:
            text += f" whose {inner} holds a {exc.type_name}"
        why = str(exc).partition(" cannot be queued")[2].strip(" ()")
        raise CaptureRefused(
            f"{text}, which cannot be stored in a task" + (f" ({why})" if why else "")
        ) from None


def _type_name(value: Any) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


class StagedFiles:
    """A :class:`FileStore` stand-in that keeps bytes in memory until the click succeeds.

    References are the store's own (content hash + extension), so encoded values are final;
    :meth:`commit` writes them, and a refused click simply drops the object.
    """

    def __init__(self, target: FileStore) -> None:
        self.target = target
        self._pending: dict[str, tuple[bytes, str]] = {}

    def put(self, data: bytes, extension: str = "png") -> str:
        extension = extension.lower().lstrip(".")
        ref = f"{hashlib.sha256(data).hexdigest()}.{extension}"
        self.target.path(ref)  # validates the extension exactly as the store will
        self._pending[ref] = (data, extension)
        return ref

    def path(self, ref: str) -> Any:
        return self.target.path(ref)

    def read(self, ref: str) -> bytes:
        staged = self._pending.get(ref)
        return staged[0] if staged is not None else self.target.read(ref)

    def commit(self) -> None:
        for ref, (data, extension) in self._pending.items():
            written = self.target.put(data, extension)
            if written != ref:  # pragma: no cover - guards against FileStore changing its naming
                raise RuntimeError(f"file store named {ref} as {written}")
        self._pending.clear()


@dataclass
class Encoded:
    params: dict[str, Any]
    script_args: dict[str, Any]
    script_name: str | None
    files: list[str]


class Capturer:
    """Turns one click's values into queued tasks for one tab."""

    def __init__(
        self,
        tab: str,
        layout: ArgumentLayout,
        queue: TaskQueue,
        files: FileStore,
        facts: WebUIFacts,
        *,
        codec_factory: Callable[[Any], ValueCodec] = ValueCodec,
        seed_source: Callable[[], int] | None = None,
        family: str | None = None,
    ) -> None:
        """``family``: the WebUI family whose argument names the captured values carry; every
        task made here records it, so only workers of that family take it."""
        self.tab = tab
        self.family = family
        self.layout = layout
        self.queue = queue
        self.files = files
        self.facts = facts
        self.codec_factory = codec_factory
        self.seed_source = seed_source or (lambda: random.randrange(SEED_RANGE))

    # -- the click ---------------------------------------------------------------------------

    def enqueue(self, values: Sequence[Any], *, user: str | None, options: QueueOptions) -> QueueOutcome:
        """Queue what Generate would run with ``values`` (its inputs without ``id_task``)."""
        if options.save_as is not None:
            return self.save(values, user=user, options=options)
        if options.sweep is not None:
            return self.enqueue_sweep(values, user=user, options=options)
        try:
            encoded, staged = self.encode(values)
            items = self.expand(encoded, user=user, options=options)
            for item in items:  # the entry gate, before any file is written
                validate_new_task(item)
            self.queue.refuse_errors(items)  # the checker: every error at once, before any file
            staged.commit()
            tasks = self.queue.enqueue_many(items, at=options.at)
            stored_at = time.time()
        except (CaptureRefused, ArgumentError, TaskSchedulerError) as exc:
            return self._refused(f"Not queued: {exc}")
        ends = (tasks[0],) if len(tasks) == 1 else (tasks[0], tasks[-1])
        positions = [p for p in (self.queue.position_of(t.id) for t in ends) if p]
        return QueueOutcome(
            warnings=_distinct_warnings(tasks),
            ok=True,
            message=_queued_message(
                tasks[0].name or _excerpt(encoded.params.get("prompt")), tasks, positions
            ),
            task_ids=[t.id for t in tasks],
            positions=positions,
            folders=self.folders(),
            tab=self.tab,
            stored_at=stored_at,
        )

    def enqueue_sweep(
        self, values: Sequence[Any], *, user: str | None, options: QueueOptions
    ) -> QueueOutcome:
        """Queue a job: the captured values crossed (or zipped) with the sweep's axes."""
        sweep = options.sweep or {}
        try:
            encoded, staged = self.encode(values)
            (base,) = self.expand(encoded, user=user, options=QueueOptions(checkpoint=options.checkpoint))
            choices = Choices(checkpoints=self.facts.checkpoints(), lenient=self.queue.checker is not None)
            mode = sweep.get("mode", "cartesian")
            # refuse bad axes before any file is written; the job is then created in one transaction
            every = expand_sweep(base, parse_axes(sweep.get("axes"), choices=choices), mode=mode)
            for item in [base, *(t.new for t in every[:1])]:
                validate_new_task(item)
            self.queue.refuse_errors([t.new for t in every])
            staged.commit()
            job, tasks = queue_sweep(
                Jobs(self.queue),
                base,
                sweep.get("axes"),
                mode=mode,
                name=sweep.get("name") or _excerpt(encoded.params.get("prompt")),
                choices=choices,
                at=options.at,
                user=user,
            )
            stored_at = time.time()
        except (CaptureRefused, ArgumentError, TaskSchedulerError) as exc:
            return self._refused(f"Not queued: {exc}")
        return QueueOutcome(
            warnings=_distinct_warnings(tasks),
            ok=True,
            message=f"Queued job '{job.name}' — {len(tasks)} tasks",
            task_ids=[t.id for t in tasks],
            job_id=job.id,
            folders=self.folders(),
            tab=self.tab,
            stored_at=stored_at,
        )

    def save(self, values: Sequence[Any], *, user: str | None, options: QueueOptions) -> QueueOutcome:
        """Save as…: the captured values become a saved task; nothing is queued."""
        try:
            encoded, staged = self.encode(values)
            (item,) = self.expand(encoded, user=user, options=QueueOptions(checkpoint=options.checkpoint))
            saved_tasks = SavedTasks(self.queue)
            saved_tasks.check(item, options.save_as or "")  # the entry gate, before any file is written
            staged.commit()
            saved = saved_tasks.save(item, options.save_as or "")
        except (CaptureRefused, ArgumentError, TaskSchedulerError) as exc:
            return self._refused(f"Not saved: {exc}")
        return QueueOutcome(ok=True, message=f"Saved '{saved.name}'", folders=self.folders(), tab=self.tab)

    def _refused(self, message: str) -> QueueOutcome:
        log.warning("Queue (%s): %s", self.tab, message)
        return QueueOutcome(ok=False, message=message, folders=self.folders(), tab=self.tab)

    # -- named + encoded ----------------------------------------------------------------------

    def encode(self, values: Sequence[Any]) -> tuple[Encoded, StagedFiles]:
        """Name and encode; raises :class:`CaptureRefused` naming the parameter or script."""
        captured = self.layout.split(values)
        staged = StagedFiles(self.files)
        codec = self.codec_factory(staged)
        refs: list[str] = []
        params = {
            name: _encode(codec, value, f"parameter '{name}'", refs)
            for name, value in captured.params.items()
        }
        script_args = {
            title: [
                _encode(codec, value, f"script '{title}' argument {index + 1}", refs)
                for index, value in enumerate(chunk)
            ]
            for title, chunk in captured.script_args.items()
        }
        return Encoded(params, script_args, captured.script_name, list(dict.fromkeys(refs))), staged

    # -- variants -----------------------------------------------------------------------------

    def expand(self, encoded: Encoded, *, user: str | None, options: QueueOptions) -> list[NewTask]:
        checkpoints = self._checkpoints_for(options)
        params = dict(encoded.params)
        overrides = self.facts.override_settings()
        if overrides:
            params["override_settings"] = {**overrides, **(params.get("override_settings") or {})}
        count = len(checkpoints) * options.repeat
        if count > MAX_TASKS_PER_CLICK:
            raise InvalidTaskData("repeat", f"{count} tasks in one click is more than {MAX_TASKS_PER_CLICK}")
        items: list[NewTask] = []
        for checkpoint in checkpoints:
            for _ in range(options.repeat):
                task_params = dict(params)
                if options.new_seeds:
                    task_params["seed"] = self.seed_source()
                items.append(
                    NewTask(
                        kind=self.tab,
                        params=task_params,
                        name=options.name,
                        script_args=encoded.script_args,
                        script_name=encoded.script_name,
                        checkpoint=checkpoint,
                        source="ui",
                        user=user,
                        files=list(encoded.files),
                        not_before=options.not_before,
                        needs_webui=self.family,
                        # "Queue N times with new seeds": auto-batching may run them together
                        batching="repeat" if options.new_seeds and options.repeat > 1 else None,
                    )
                )
        return items

    def _checkpoints_for(self, options: QueueOptions) -> list[str | None]:
        if options.checkpoints is None:
            return [options.checkpoint or self.facts.current_checkpoint()]
        known = sorted(self.facts.checkpoints(), key=str.lower)
        if options.checkpoints == "all":
            chosen = known
        else:
            folder = options.checkpoints.partition(":")[2].strip("/")
            chosen = [name for name in known if _folder_of(name) == folder]
        if not chosen:
            what = "checkpoints" if options.checkpoints == "all" else f"checkpoints in '{folder}'"
            raise InvalidTaskData("checkpoints", f"the WebUI lists no {what}")
        return list(chosen)

    def folders(self) -> list[str]:
        """Folders of the models directory that hold checkpoints ("" is the top level)."""
        try:
            return sorted({_folder_of(name) for name in self.facts.checkpoints()}, key=str.lower)
        except Exception:  # the menu only loses a submenu; the click itself is unaffected
            log.exception("listing checkpoint folders failed")
            return []


def _distinct_warnings(tasks: Sequence[Any]) -> list[str]:
    return list(dict.fromkeys(text for task in tasks for text in task.warnings))


def _folder_of(name: str) -> str:
    return posixpath.dirname(name.replace("\\", "/"))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _excerpt(prompt: Any) -> str:
    text = " ".join(str(prompt or "").split())
    if not text:
        return "(no prompt)"
    return text if len(text) <= NAME_EXCERPT else text[: NAME_EXCERPT - 1].rstrip() + "…"


def _queued_message(label: str, tasks: Sequence[Any], positions: list[int]) -> str:
    start = getattr(tasks[0], "not_before", None)
    starts = f", starts {datetime.fromtimestamp(start).strftime('%a %H:%M')}" if start else ""
    if len(tasks) == 1:
        where = f"{ordinal(positions[0])} in line" if positions else "running"
        return f"Queued '{label}' — {where}{starts}"
    where = f"{ordinal(positions[0])} to {ordinal(positions[-1])} in line" if len(positions) == 2 else ""
    return f"Queued {len(tasks)} tasks '{label}'" + (f" — {where}" if where else "") + starts

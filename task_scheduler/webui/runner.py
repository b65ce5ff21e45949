"""Run a queued task inside the WebUI, exactly as a Generate click would.

The positional list Generate sends is rebuilt from the task's named params and title-keyed
script args against the script runner installed *now* (:mod:`.arguments`), then handed to the
WebUI's own entry point, ``modules.txt2img.txt2img`` / ``modules.img2img.img2img``: the selected
script (X/Y/Z plot, prompts from file, ...) and every always-on script run as they do for the
user. Around the call, in the executor thread, this module does what ``wrap_gradio_gpu_call``
does for a click: ``modules.progress`` bookkeeping under the id ``task(<task id>)``, the one
``queue_lock`` (so a user's own Generate waits its turn) and ``shared.state.begin/end``.

Forge: the entry point's ``*_function`` runs on Forge's main thread through
``main_thread.run_and_wait_result`` inside a wrapper that *returns* its exception, because the
main-thread loop swallows exceptions into a ``None`` result. A1111: it runs in the executor
thread. What the WebUI has no Generate control for (``processing`` extras, ``override_settings``
from the API) reaches ``p`` through :class:`TaskParamsHook`, which an always-on script of this
extension calls from its ``setup``. Checkpoints are switched permanently before the task
(:mod:`.checkpoints`), never overridden and restored. ``extras`` tasks (a follow-up's upscale) go
to the Extras tab's ``run_extras`` under the same lock, state and progress id (:mod:`.extras`).
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import resume
from ..batching import combined
from ..catalog import Catalog
from ..errors import NotBatchable, OutOfMemory
from ..files import FileStore
from ..runner import ProgressCallback, ProgressUpdate, RunResult
from ..task import GRIDS_KEY, Task, TaskResult, checkpoint_aliases
from ..values import UndecodableValue, ValueCodec
from . import arguments, batch, checkpoints, resumed_grid, unload
from . import extras as extras_tab
from .catalog_source import WebUICatalog

log = logging.getLogger(__name__)

KINDS = ("txt2img", "img2img", "extras")
#: Title of the always-on script (``scripts/task_scheduler_params.py``) that applies task extras.
PARAMS_SCRIPT_TITLE = "Task Scheduler"
PROGRESS_INTERVAL_S = 0.5
_TAG = "_task_scheduler_task_id"

#: ``(tab, named parameter names) -> {name: UI default}`` or None (then FALLBACK_DEFAULTS)
NamedDefaults = Callable[[str, list[str]], "dict[str, Any] | None"]


def progress_id(task_id: str) -> str:
    """The id the WebUI's progress API and progress bar know a queued task by."""
    return f"task({task_id})"


class TaskRequest:
    """Stands in for the ``gr.Request`` of a click: the WebUI reads ``request.username``."""

    def __init__(self, username: str | None) -> None:
        self.username = username
        self.headers: dict[str, str] = {}
        self.query_params: dict[str, str] = {}
        self.client = None
        self.session_hash = None

    def __repr__(self) -> str:
        return f"TaskRequest(username={self.username!r})"


@dataclass
class _Extras:
    """What the params script applies to the ``p`` of the task being run."""

    task_id: str
    processing: dict[str, Any] = field(default_factory=dict)
    override_settings: dict[str, Any] = field(default_factory=dict)
    applied: int = 0
    warnings: list[str] = field(default_factory=list)


class TaskParamsHook:
    """Process-wide slot holding the running task's extras; the params script reads it.

    Only one task runs at a time (under ``queue_lock``), and every ``p`` created while it runs
    is that task's (a click or an API call waits for the lock before creating its own).
    """

    _active: _Extras | None = None
    _lock = threading.Lock()

    @classmethod
    def activate(cls, extras: _Extras | None) -> None:
        with cls._lock:
            cls._active = extras

    @classmethod
    def apply(cls, p: Any) -> None:
        """Called from the params script's ``setup(p)``: put the task's extras onto ``p``."""
        extras = cls._active
        if extras is None:
            return
        for name, value in extras.processing.items():
            if name.startswith("_") or not hasattr(p, name):
                if extras.applied == 0:
                    extras.warnings.append(f"processing field '{name}' is unknown to this WebUI; ignored")
                continue
            setattr(p, name, copy.copy(value))
        if extras.override_settings:
            current = getattr(p, "override_settings", None)
            if not isinstance(current, dict):
                current = {}
            current.update(extras.override_settings)
            p.override_settings = current
        p.do_not_save_samples = False  # results are files: force saving like Generate with defaults
        setattr(p, _TAG, extras.task_id)
        extras.applied += 1


def apply_task_extras(p: Any) -> None:
    TaskParamsHook.apply(p)


@dataclass
class _Call:
    """A call's outcome carried back from Forge's main thread (which swallows exceptions)."""

    result: Any = None
    error: BaseException | None = None


def _capturing(fn: Callable[..., Any], *args: Any) -> _Call:
    try:
        return _Call(result=fn(*args))
    except Exception as exc:  # returned, not raised: run_and_wait_result would turn it into None
        return _Call(error=exc)


class InProcessRunner:
    """The :class:`~task_scheduler.runner.Runner` that generates inside the running WebUI."""

    def __init__(
        self,
        files: FileStore,
        *,
        named_defaults: NamedDefaults | None = None,
        stop_reason: Callable[[str], str | None] | None = None,
        progress_interval_s: float = PROGRESS_INTERVAL_S,
    ) -> None:
        self.codec = ValueCodec(files)
        self.named_defaults = named_defaults
        #: why the queue asks a task to stop, if it does ("cancelled", "interrupted", "paused")
        self.stop_reason = stop_reason
        self.progress_interval_s = progress_interval_s
        self._lock = threading.Lock()
        self._running: str | None = None
        self._begun = False
        self._interrupt_for: str | None = None
        self._saved: list[str] | None = None
        #: the processing object of the running task's last saved image (its grid's settings)
        self._last_p: Any = None
        #: the grids the running task saved (its grids folder)
        self._saved_grids: list[str] = []
        #: the running task's progress callback and the images it made so far (not grids)
        self._made: tuple[ProgressCallback | None, TaskResult] = (None, TaskResult())
        self.model_switches = 0
        self.runs = 0
        #: (the checkpoint as the last task that named one spelled it, the model it resolved to)
        self._named: tuple[str, str] | None = None
        self._catalog = WebUICatalog()
        #: A1111: the idle queue moved the model to RAM; the next task moves it back first
        self._in_ram = False
        self.unloads = 0

    @property
    def running(self) -> str | None:
        """The id of the task being run, if any."""
        return self._running

    # -- Runner protocol -----------------------------------------------------------------------

    def available_checkpoints(self) -> list[str] | None:
        """Every spelling of every model this WebUI lists (None before it listed any).

        Published with each heartbeat: on a queue shared by several machines, another worker
        leaves this one the tasks naming a model only it has. Read from the WebUI's own list,
        which its refresh button updates; never a folder scan.
        """
        from modules import sd_models

        infos = list(sd_models.checkpoints_list.values())
        if not infos:
            return None
        keys: set[str] = set()
        for info in infos:
            keys |= checkpoint_aliases([*getattr(info, "ids", []), info.title, info.filename])
        return sorted(keys)

    def current_checkpoint(self) -> str | None:
        """The selected model, spelled as the last task that chose it spelled it (a stem, a title):
        the executor prefers pending tasks whose checkpoint reads the same, and those spelled
        like the one that caused the switch are the likeliest to share its model."""
        current = checkpoints.current_name()
        if self._named is not None and self._named[1] == current:
            return self._named[0]
        return current

    def skip(self) -> None:
        """Skip the image in progress (the WebUI's Skip button); only while a task runs here."""
        if self._running is not None:
            from modules import shared

            shared.state.skip()

    def interrupt(self) -> None:
        """Stop the running task, also when it has not reached ``state.begin()`` yet."""
        with self._lock:
            running = self._running
            if running is None:
                return
            self._interrupt_for = running
            begun = self._begun
        if begun:
            from modules import shared

            shared.state.interrupt()

    def stop_after_current(self) -> None:
        """End the running task after the image in progress (the WebUI's "stop generating")."""
        with self._lock:
            begun = self._running is not None and self._begun
        if begun:  # before begin() the stop reason is read at begin (see _execute)
            from modules import shared

            shared.state.stop_generating()

    def unload_model(self) -> bool:
        """Give the GPU back (:mod:`.unload`); False when no model was loaded."""
        what = unload.unload()
        if what == "nothing":
            return False
        self._in_ram = what == "in_ram"
        self.unloads += 1
        return True

    def run(self, task: Task, progress: ProgressCallback) -> RunResult:
        if task.kind not in KINDS:
            raise ValueError(
                f"task kind {task.kind!r} cannot run in the WebUI (expected txt2img, img2img or extras)"
            )
        prepared = self._prepare_extras(task) if task.kind == "extras" else self._prepare(task)
        with self._lock:
            self._running = task.id
            self._begun = False
            self._interrupt_for = None
        try:
            return self._execute(task, prepared, progress)
        finally:
            with self._lock:
                self._running = None
                self._begun = False
                self._interrupt_for = None

    def run_batch(self, tasks: list[Task], progress: ProgressCallback) -> list[RunResult]:
        """Compatible ``tasks`` (:mod:`..batching`) as one Generate call with a prompt and a seed
        per image, split back into one result per task (:mod:`.batch`)."""
        run = self.run(combined(tasks), lambda update: None if update.made is not None else progress(update))
        if not run.interrupted and (len(run.result.seeds) < len(tasks) or "video_path" in run.result.info):
            # Neo with a Wan model reads the batch size as a video's length: a batch of 4 images
            # made one frame (of the first task), 8 made a 5-frame video
            raise NotBatchable(
                f"the WebUI made {len(run.result.seeds)} image(s) for a batch of {len(tasks)} tasks"
                + (" and a video" if "video_path" in run.result.info else "")
            )
        return batch.split(run, tasks)

    # -- image collection (on_image_saved, registered by the extension) ------------------------

    def image_saved(self, params: Any) -> None:
        saved = self._saved
        if saved is None:
            return
        tag = getattr(getattr(params, "p", None), _TAG, None)
        with self._lock:
            running = self._running
        if tag is not None and tag != running:
            return
        filename = getattr(params, "filename", None)
        if filename:
            saved.append(os.path.abspath(filename))
            p = getattr(params, "p", None)
            self._last_p = p
            in_grids = _in_grids_folder(p, filename)
            if in_grids:
                self._saved_grids.append(os.path.abspath(filename))
            elif in_grids is not None:
                self._report_made(params)

    def _report_made(self, params: Any) -> None:
        """Tell the executor what the run has made so far (kept in the store; see resume.py).

        Only images, not grids (saved in their own folder at the end), and only while the two
        folders differ: a grid counted as an image would misplace every later seed.
        """
        report, made = self._made
        if report is None:
            return
        filename = os.path.abspath(params.filename)
        infotext = str((getattr(params, "pnginfo", None) or {}).get("parameters") or "")
        seed = _seed_of(infotext)
        if seed is None:
            return
        made.images.append(filename)
        made.infotexts.append(infotext)
        made.seeds.append(seed)
        report(
            ProgressUpdate(0.0, made=TaskResult(list(made.images), list(made.infotexts), list(made.seeds)))
        )

    # -- preparing the positional list ---------------------------------------------------------

    def catalog(self) -> Catalog:
        """What this WebUI has, from its own lists (:mod:`.catalog_source`); rebuilt on change."""
        return self._catalog()

    def layout(self, tab: str) -> arguments.ArgumentLayout:
        """Generate's input layout for ``tab`` in the WebUI as it is now."""
        from modules import scripts

        script_runner = scripts.scripts_txt2img if tab == "txt2img" else scripts.scripts_img2img
        named = arguments.entry_point_parameters(_signature_source(tab))
        defaults = None
        if self.named_defaults is not None:
            try:
                defaults = self.named_defaults(tab, named)
            except Exception:
                log.exception("could not read the UI's defaults for %s", tab)
        return arguments.ArgumentLayout.from_runner(tab, named, script_runner, defaults)

    def _prepare(self, task: Task) -> _Prepared:
        layout = self.layout(task.kind)
        params = dict(task.params)
        processing = params.pop("processing", None) or {}
        overrides = dict(params.pop("override_settings", None) or {})
        if not isinstance(processing, dict) or not isinstance(overrides, dict):
            raise ValueError("params.processing and params.override_settings must be objects")
        params = self.codec.decode(params)
        processing = self.codec.decode(processing)
        arguments.complete_lifted(params)
        installed = {slot.key for slot in layout.slots}
        script_args: dict[str, Any] = {}
        warnings: list[str] = []
        for title, values in (task.script_args or {}).items():
            try:
                script_args[title] = self.codec.decode(values)
            except UndecodableValue as exc:
                if title.lower() in installed:
                    raise UndecodableValue(f"script '{title}': {exc}") from exc
                script_args[title] = values  # reported below as not installed; never decoded
        built = layout.build(params, script_args, task.script_name, partial_ok=task.source == "api")
        warnings += built.warnings
        checkpoint_name = task.checkpoint or overrides.get("sd_model_checkpoint")
        overrides.pop("sd_model_checkpoint", None)
        info = checkpoints.resolve(checkpoint_name)
        if (processing or overrides) and not self._has_params_script(task.kind):
            warnings.append(
                "the Task Scheduler script is not loaded: processing fields and override settings "
                "were not applied"
            )
        grid_over = resume.earlier(task)
        if grid_over is not None and processing.get("do_not_save_grid"):
            grid_over = None  # the task itself wants no grid
        if grid_over is not None:  # resumed: one grid over all its images, made after this run
            processing = {**processing, "do_not_save_grid": True}
        return _Prepared(
            values=built.values,
            checkpoint=info,
            extras=_Extras(task_id=task.id, processing=processing, override_settings=overrides),
            warnings=warnings,
            grid_over=grid_over,
        )

    def _prepare_extras(self, task: Task) -> _Prepared:
        call = extras_tab.prepare(task, self.codec)
        return _Prepared([], None, _Extras(task_id=task.id), list(call.warnings), single_image=call)

    @staticmethod
    def _has_params_script(tab: str) -> bool:
        from modules import scripts

        script_runner = scripts.scripts_txt2img if tab == "txt2img" else scripts.scripts_img2img
        return any(
            arguments.script_title(s).lower() == PARAMS_SCRIPT_TITLE.lower()
            for s in getattr(script_runner, "alwayson_scripts", [])
        )

    # -- running -------------------------------------------------------------------------------

    def _execute(self, task: Task, prepared: _Prepared, progress: ProgressCallback) -> RunResult:
        from modules import call_queue, shared
        from modules import progress as webui_progress

        id_task = progress_id(task.id)
        state = shared.state
        request = TaskRequest(task.user)
        call = _Call()
        interrupted = False
        saved: list[str] = []
        saved_grids: list[str] = []
        forced_save = False
        webui_progress.add_task_to_queue(id_task)
        with call_queue.queue_lock:
            try:
                state.begin(job=id_task)
                webui_progress.start_task(id_task)
                with self._lock:
                    self._begun = True
                    pending = self._interrupt_for == task.id
                reason = self.stop_reason(task.id) if self.stop_reason is not None else None
                if reason == "paused":  # asked before the WebUI began: stop after the first image
                    state.stop_generating()
                    reason = None
                if pending or reason is not None:
                    # begin() clears interrupts; one asked for before it still stops the task,
                    # and before any work (no model load, no images)
                    state.interrupt()
                    return RunResult(interrupted=True, warnings=list(prepared.warnings))
                if self._in_ram:  # A1111: unloaded while idle; a generation needs it on the device
                    unload.reload_from_ram()
                    self._in_ram = False
                preset = checkpoints.select_preset(prepared.extras.override_settings)
                if checkpoints.switch(prepared.checkpoint, preset):
                    self.model_switches += 1
                if task.checkpoint and prepared.checkpoint is not None:
                    self._named = (task.checkpoint, prepared.checkpoint.name)
                if checkpoints.switch_modules(prepared.extras.override_settings, preset):
                    self.model_switches += 1
                if not shared.opts.data.get("samples_save", True):
                    shared.opts.data["samples_save"] = forced_save = True
                self._saved = saved
                self._saved_grids = saved_grids = []
                self._last_p = None
                self._made = (progress, TaskResult())
                TaskParamsHook.activate(prepared.extras)
                with _ProgressReporter(progress, self.progress_interval_s):
                    if prepared.single_image is not None:
                        call = _capturing(extras_tab.run, prepared.single_image)
                    else:
                        call = self._call_entry(task.kind, id_task, request, prepared.values)
                if call.error is None:
                    webui_progress.record_results(id_task, call.result)
            except Exception as exc:  # the switch, or the WebUI's own bookkeeping
                call = _Call(error=exc)
            finally:
                TaskParamsHook.activate(None)
                self._saved = None
                self._made = (None, TaskResult())
                if forced_save:
                    shared.opts.data["samples_save"] = False
                with self._lock:
                    interrupted = self._interrupt_for == task.id
                interrupted = interrupted or bool(state.interrupted or state.stopping_generation)
                webui_progress.finish_task(id_task)
                state.end()
                state.interrupted = state.skipped = state.stopping_generation = False
                self.runs += 1
        if call.error is not None:
            raise _classified(call.error)
        if call.result is None:
            raise RuntimeError("the WebUI returned no result (see its console for the error)")
        if prepared.single_image is not None:
            result = extras_tab.result_of(call.result, saved)
        else:
            result = _result_of(call.result, saved, frozenset(saved_grids))
        if prepared.grid_over is not None and not interrupted:
            with call_queue.queue_lock:  # saved like the WebUI's own grid, no generation beside it
                result = resumed_grid.with_whole_grid(prepared.grid_over, result, self._last_p)
        warnings = prepared.warnings + prepared.extras.warnings
        return RunResult(result=result, interrupted=interrupted, warnings=warnings)

    def _call_entry(self, tab: str, id_task: str, request: Any, values: list[Any]) -> _Call:
        module = importlib.import_module(f"modules.{tab}")
        function = getattr(module, f"{tab}_function", None)
        main_thread = _forge_main_thread() if function is not None else None
        if main_thread is not None:
            outcome = main_thread.run_and_wait_result(_capturing, function, id_task, request, *values)
            if not isinstance(outcome, _Call):
                error = getattr(main_thread, "last_exception", None)
                if error is not None and not isinstance(error, BaseException):
                    error = RuntimeError(str(error))  # Neo keeps "Type: message" (or "OOM")
                return _Call(error=error or RuntimeError("Forge's main thread returned no result"))
            return outcome
        entry = getattr(module, tab)
        return _capturing(entry, id_task, request, *values)


@dataclass
class _Prepared:
    values: list[Any]
    checkpoint: Any
    extras: _Extras
    warnings: list[str]
    #: an ``extras`` task's ``run_extras`` call (then ``values`` is unused)
    single_image: extras_tab.ExtrasCall | None = None
    #: a resumed task's earlier images: the grid goes over them and this run's (resumed_grid.py)
    grid_over: TaskResult | None = None


class _ProgressReporter:
    """Reports the WebUI's progress for the running task every ``interval`` seconds."""

    def __init__(self, callback: ProgressCallback, interval: float) -> None:
        self.callback = callback
        self.interval = interval
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _ProgressReporter:
        self._report()
        self._thread = threading.Thread(target=self._loop, name="task-scheduler-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(1.0)

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            self._report()

    def _report(self) -> None:
        try:
            self.callback(webui_progress_update())
        except Exception:
            log.debug("progress report failed", exc_info=True)


def webui_progress_update() -> ProgressUpdate:
    """The running generation's progress as ``/internal/progress`` computes it."""
    from modules import shared

    state = shared.state
    fraction = 0.0
    job_count = getattr(state, "job_count", 0) or 0
    if job_count > 0:
        fraction += (state.job_no or 0) / job_count
        steps = getattr(state, "sampling_steps", 0) or 0
        if steps > 0:
            fraction += (state.sampling_step or 0) / steps / job_count
    text = state.textinfo or ""
    if not text and job_count > 1:
        text = f"Batch {min(state.job_no + 1, job_count)} of {job_count}"
    return ProgressUpdate(
        fraction=max(0.0, min(fraction, 1.0)),
        text=str(text),
        extra={"step": state.sampling_step, "steps": state.sampling_steps, "job_no": state.job_no},
    )


def _forge_main_thread() -> Any | None:
    if not checkpoints.is_forge():
        return None
    try:
        from modules_forge import main_thread
    except ImportError:
        return None
    return main_thread


def _signature_source(tab: str) -> Callable[..., Any]:
    """The function whose parameters Generate's inputs follow (the UI's own source of truth)."""
    if tab == "txt2img":
        module = importlib.import_module("modules.txt2img")
        return module.txt2img_create_processing
    module = importlib.import_module("modules.img2img")
    return getattr(module, "img2img_function", None) or module.img2img


def _classified(exc: BaseException) -> BaseException:
    name = type(exc).__name__
    if name == "OutOfMemoryError" or "out of memory" in str(exc).lower():
        error = OutOfMemory(str(exc).strip() or name)
        error.__cause__ = exc
        return error
    return exc


_SEED = re.compile(r"(?:^|,\s*)Seed: (-?\d+)")


def _seed_of(infotext: str) -> int | None:
    """The seed an image's infotext records (its last line holds ``Seed: N``)."""
    match = _SEED.search(infotext.rsplit("\n", 1)[-1])
    return int(match.group(1)) if match else None


def _outputs(result: Any) -> tuple[list[Any], Any, str | None]:
    """``(images, generation info JSON, video path)`` from the entry point's outputs.

    Forge and A1111 return ``(images, js, info html, comments html)``. Neo returns
    ``(gr.update(gallery), gr.update(video), js, info html, comments html)``: the images are the
    gallery update's ``value``, the video (a video model's result, ``Processed.video_path``) the
    visible video update's, and the generation info comes third.
    """
    if not isinstance(result, (list, tuple)) or not result:
        return [], None, None
    first = result[0]
    if _is_update(first) and len(result) > 2:
        gallery = first.get("value") if first.get("visible", True) else None
        video = result[1] if _is_update(result[1]) else {}
        video_path = video.get("value") if video.get("visible") else None
        return list(gallery or []), result[2], str(video_path) if video_path else None
    return list(first or []), result[1] if len(result) > 1 else None, None


def _is_update(value: Any) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update"


def _in_grids_folder(p: Any, filename: str) -> bool | None:
    """Whether a file ``p`` saved is a grid (in its grids folder); None when that cannot be told
    (no folders, or grids and images saved into one folder)."""
    grids = getattr(p, "outpath_grids", None)
    samples = getattr(p, "outpath_samples", None)
    if not grids or not samples or os.path.abspath(grids) == os.path.abspath(samples):
        return None
    return os.path.dirname(os.path.abspath(filename)).startswith(os.path.abspath(grids))


def _result_of(result: Any, saved: list[str], saved_grids: frozenset[str] = frozenset()) -> TaskResult:
    """Paths, infotexts and seeds from the entry point's outputs (:func:`_outputs`), paired.

    ``images[i]``, ``infotexts[i]`` and ``seeds[i]`` describe one image, as everything that
    reads a result indexes them: the images made first, in order, then images saved but not
    returned (an extension's, without an infotext here), then grids, which the WebUI lists
    first (``index_of_first_image``) but which have no seed. The WebUI's own lists stay in
    ``info``; the grids are listed in ``info["grids"]`` (returned ones, and ``saved_grids``:
    saved into the grids folder, returned or not).
    """
    images, generation_info, video_path = _outputs(result)
    try:
        info = json.loads(generation_info) if isinstance(generation_info, str) else {}
    except ValueError:
        info = {}
    if not isinstance(info, dict):
        info = {}
    infotexts = [str(t) for t in info.get("infotexts") or []]
    first = info.get("index_of_first_image") or 0
    made = max(len(infotexts) - first, 0) if infotexts else len(images)
    seeds = [int(s) for s in info.get("all_seeds") or [] if isinstance(s, (int, float))]
    if made and len(seeds) > made:
        seeds = seeds[:made]
    from_infotexts = [_seed_of(text) for text in infotexts[first:]]
    if made and from_infotexts and None not in from_infotexts:
        seeds = [s for s in from_infotexts if s is not None]  # one per image, as the images say
    if video_path:
        info["video_path"] = os.path.abspath(video_path)
    paths, texts, grids = _paired(images, infotexts, first, saved, saved_grids)
    if grids:
        info[GRIDS_KEY] = grids
    return TaskResult(images=paths, infotexts=texts, seeds=seeds, info=info)


def _paired(
    images: list[Any], infotexts: list[str], first: int, saved: list[str], saved_grids: frozenset[str]
) -> tuple[list[str], list[str], list[str]]:
    """``(paths, infotexts, grids)``: paths and infotexts one for one, in :func:`_result_of`'s
    order, and which paths are grids.

    A returned image's path is its ``already_saved_as``; one never saved (cut short by an
    interrupt) has no file and drops out with its infotext. When the WebUI's infotexts do not
    go one per returned image they cannot be paired: the paths as saved (a grid last), then
    any returned ones not saved through the hook, with the infotexts as the WebUI listed them.
    """
    returned = [getattr(image, "already_saved_as", None) for image in images]
    if len(infotexts) != len(images):
        paths = list(dict.fromkeys([*saved, *(os.path.abspath(p) for p in returned if p)]))
        return paths, infotexts, [path for path in paths if path in saved_grids]
    made: dict[str, str] = {}
    grids: dict[str, str] = {}
    for index, (path, text) in enumerate(zip(returned, infotexts, strict=True)):
        if path:
            (grids if index < first else made).setdefault(os.path.abspath(path), text)
    for path in saved:
        if path in saved_grids and path not in made:
            grids.setdefault(path, "")  # saved into the grids folder but not returned
    others = {path: "" for path in saved if path not in made and path not in grids}
    paired = {**made, **others, **grids}
    return list(paired), list(paired.values()), list(grids)


__all__ = [
    "InProcessRunner",
    "PARAMS_SCRIPT_TITLE",
    "TaskParamsHook",
    "TaskRequest",
    "apply_task_extras",
    "progress_id",
    "webui_progress_update",
]

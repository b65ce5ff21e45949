"""The extension's one piece of process-wide state, and the WebUI callbacks that drive it.

``scripts/task_scheduler.py`` only registers the ``on_*`` functions below. The WebUI re-imports
that script on "Reload UI" (registering the callbacks again) but not this package, so the
state lives here: ``on_before_reload`` / ``on_script_unloaded`` dispose of it (executor stopped,
database closed) and the next ``on_app_started`` builds a fresh one. Starting is idempotent:
a second ``on_app_started`` for the same state starts nothing twice and mounts the routers on
each app only once.

A reload does not wait for a long task (a slow checkpoint load) beyond ``CLOSE_TIMEOUT_S``: the
old executor finishes it and records its outcome in its own, still open, database connection,
which closes afterwards; the new executor starts only then. So a task never runs twice while its
first run is alive, and its result is kept.

A database that cannot be opened (locked, damaged, not a database) disables the queue, not the
WebUI: one log line says why, the file is left untouched, and the extension's routes answer 503
with that reason, which the Task Queue tab shows.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..checker import TaskChecker
from ..db_location import InvalidLocation, parse_location
from ..errors import StoreUnavailable
from ..executor import Executor
from ..file_setup import open_files
from ..files import FileStore
from ..store import Store
from ..task import Task, TaskStatus
from ..task_queue import TaskQueue
from ..workers import WorkerIdentity
from . import arguments, capture, checkpoints, schedule_settings
from . import settings as ts_settings
from .runner import InProcessRunner, webui_progress_update

log = logging.getLogger(__name__)

EXTENSION_DIR = Path(__file__).resolve().parents[2]
#: how long a reload waits for the running task before handing it over (see the module doc)
CLOSE_TIMEOUT_S = 10.0


@dataclass
class DryNotice:
    """The queue ran empty after working: shown by the tab as a browser notification."""

    seq: int
    at: float
    done: int
    failed: int
    interrupted: int


@dataclass
class Extension:
    #: a SQLite file, or a PostgreSQL URL (shown only as ``store.location``, without secrets)
    location: Path | str
    store: Store
    files: FileStore
    queue: TaskQueue
    runner: InProcessRunner
    executor: Executor
    settings: ts_settings.ExtensionSettings
    services: Any = None
    callbacks: Any = None
    mounted_apps: list[int] = field(default_factory=list)
    started: bool = False
    model_loads: int = 0
    notice: DryNotice | None = None
    #: (task id, started_at, finished_at, status) of recent runs, for the stats route and benches
    timings: deque = field(default_factory=lambda: deque(maxlen=500))
    _unsubscribe: list[Any] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=lambda: {"done": 0, "failed": 0, "interrupted": 0})

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self.callbacks is not None:
            try:
                self.callbacks.close()
            except Exception:
                log.exception("task scheduler: closing the callback sender failed")
        self.executor.stop(timeout=CLOSE_TIMEOUT_S)
        if self.executor.alive:
            log.warning(
                "task scheduler: task %s still runs; it finishes before the queue restarts",
                self.executor.current_task_id,
            )
        self.executor.after_stop(self._release)

    def _release(self) -> None:
        self.executor.close()
        self.store.close()


_lock = threading.RLock()
_state: Extension | None = None
_paused_once = False  # "paused at start-up" applies to the process start, not to a UI reload
#: the executor of the state a reload disposed of, while it still finishes its task
_previous: Executor | None = None
#: why the queue could not be opened (shown by the routes and the tab), None when it is open
_disabled_reason: str | None = None


def state() -> Extension | None:
    """The live extension state (None before ``on_app_started`` or after unloading)."""
    return _state


# -- callbacks (registered by scripts/task_scheduler.py) --------------------------------------


def on_ui_settings() -> None:
    ts_settings.register(on_change=refresh_settings, current=_schedule_target)
    with _lock:
        ext = _open()  # the schedule's options show what the shared store holds
    if ext is not None:
        _guarded(
            "showing the stored schedule", schedule_settings.show_stored, ext.queue, ext.executor.worker.id
        )
    _guarded("adding the Queue button's settings", capture.register_settings, ts_settings.SECTION)


def _schedule_target() -> tuple[TaskQueue, str] | None:
    """Where the Settings page's schedule options are stored: the open queue, this worker."""
    ext = _state
    return (ext.queue, ext.executor.worker.id) if ext is not None else None


def on_ui_tabs() -> list[Any] | None:
    """The Task Queue tab (``webui/tab.py``); its services resolve once the queue is open."""
    if importlib.util.find_spec(f"{__package__}.tab") is None:
        return None
    from . import tab

    return tab.on_ui_tabs(lambda: _state.services if _state is not None else None)


def on_after_component(component: Any, **kwargs: Any) -> None:
    capture.on_after_component(component, **kwargs)


def on_app_started(demo: Any, app: Any) -> None:
    """Open the queue, start the executor (once), bind the Queue buttons, mount the routers."""
    global _paused_once
    with _lock:
        ext = _open()
        if ext is None:
            mount = app is not None and id(app) not in _disabled_apps
            if mount and _guarded("mounting the disabled notice", _mount_disabled, app) is not False:
                _disabled_apps.append(id(app))
            return
        if not ext.started:
            if ext.settings.paused_at_startup and not _paused_once:
                ext.queue.pause()
            _paused_once = True
            ext.executor.start(after=_previous)
            _guarded("hooking the stop signals", _hook_stop_signals)
            ext.started = True
            log.info("task scheduler: queue at %s, executor started", ext.store.location)
        if demo is not None:
            _guarded("binding the Queue buttons", capture.bind, demo, ext.services)
        mount = app is not None and id(app) not in ext.mounted_apps
        if mount and _guarded("mounting the HTTP API", _mount, ext, app) is not False:
            ext.mounted_apps.append(id(app))


def on_before_reload() -> None:
    shutdown()


def on_script_unloaded() -> None:
    shutdown()


def on_image_saved(params: Any) -> None:
    ext = _state
    if ext is not None:
        ext.runner.image_saved(params)


def on_model_loaded(sd_model: Any) -> None:
    ext = _state
    if ext is not None:
        ext.model_loads += 1


# -- lifecycle -------------------------------------------------------------------------------


def shutdown() -> None:
    """Stop the executor (letting the running task finish) and close the database."""
    global _state, _previous, _disabled_reason
    with _lock:
        ext, _state = _state, None
        _disabled_reason = None
    if ext is not None:
        ext.close()
        if ext.executor.alive:
            _previous = ext.executor
        else:
            log.info("task scheduler: executor stopped, queue closed")


#: signals that end a WebUI without any callback: Ctrl+C (the WebUI's own handler ends it with
#: ``os._exit(0)``) and SIGTERM (Python's default: the process ends at once)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_chained: dict[int, Any] = {}


def _hook_stop_signals() -> None:
    """Say "stopped" in the worker list before the WebUI's own handling of a stop signal.

    Without it a WebUI ended by Ctrl+C or SIGTERM stays listed as a live, idle worker with its
    checkpoint until its heartbeat is a lease old, and the other workers leave tasks for that
    checkpoint to it meanwhile. Its running task, if any, keeps its lease: it is put back when
    the lease lapses (as after a crash), since a handler that does not end the process could
    still be finishing it. Installed once per process, chaining whatever handler was there.

    Only the process's main thread may install a handler. A1111 calls ``on_app_started`` there;
    Forge and Neo call it from their UI thread while the main thread runs their task loop
    (``modules_forge.main_thread``), so there the hook is handed to that loop.
    """
    if threading.current_thread() is threading.main_thread():
        _install_stop_handlers()
        return
    try:
        from modules_forge import main_thread
    except ImportError:
        log.info("task scheduler: not on the main thread; a stop by signal is seen when the lease lapses")
        return
    main_thread.async_run(_install_stop_handlers)


def _install_stop_handlers() -> None:
    for signum in STOP_SIGNALS:
        current = signal.getsignal(signum)
        if current is _on_stop_signal:
            continue
        signal.signal(signum, _on_stop_signal)
        _chained[signum] = current


def _on_stop_signal(signum: int, frame: Any) -> None:
    ext = _state
    if ext is not None:
        try:
            ext.queue.workers.stopped(ext.executor.worker)
        except Exception:
            log.exception("task scheduler: could not record this worker's stop")
    previous = _chained.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:  # the default action: end the process with this signal
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def refresh_settings() -> None:
    """Re-read the Settings page into the live executor (its ``onchange``)."""
    ext = _state
    if ext is None:
        return
    fresh = ts_settings.read()
    ts_settings.apply(ext.executor.settings, fresh.executor)
    ext.settings = fresh
    if ext.services is not None:
        ext.services.settings.allow_private_callbacks = fresh.allow_private_callbacks


def _cli_option(name: str) -> str | None:
    try:
        from modules import shared

        return getattr(shared.cmd_opts, name, None)
    except ImportError:  # pragma: no cover - outside the WebUI
        return None


def db_location() -> Path | str:
    """The queue's SQLite file or PostgreSQL URL (raises ``InvalidLocation`` for a bad one)."""
    return config.resolve_db_location(
        EXTENSION_DIR, cli_value=_cli_option("task_scheduler_db"), setting_value=ts_settings.read().db_path
    )


def worker_identity() -> WorkerIdentity:
    """This WebUI as a worker: named by ``--task-scheduler-worker`` or host:port, with its GPU."""
    host = socket.gethostname()
    try:
        from modules import shared

        opts = shared.cmd_opts
    except ImportError:  # pragma: no cover - outside the WebUI
        opts = None
    name = config.worker_name(
        host, getattr(opts, "port", None), cli_value=getattr(opts, "task_scheduler_worker", None)
    )
    port = getattr(opts, "port", None) or 7860
    info: dict[str, Any] = {
        "port": port,
        "url": config.worker_url(
            host,
            port,
            server_name=getattr(opts, "server_name", None),
            listen=bool(getattr(opts, "listen", False)),
            tls=bool(getattr(opts, "tls_keyfile", None)),
        ),
        "webui": checkpoints.webui_family(),
    }
    device = getattr(opts, "device_id", None)
    if device not in (None, ""):
        info["gpu"] = f"cuda:{device}"
    return WorkerIdentity(id=name, name=name, kind="webui", host=host, info=info)


def _open() -> Extension | None:
    global _state, _disabled_reason
    if _state is not None:
        return _state
    label = "the queue's database"
    try:
        location = db_location()
        label = str(parse_location(location))  # never the password
        store = Store(location)
        files = open_files(
            store,
            local_dir=EXTENSION_DIR,
            shared_dir=config.shared_files_dir(_cli_option("task_scheduler_files")),
        )
    except (StoreUnavailable, InvalidLocation) as exc:
        if _disabled_reason is None:
            log.error("task scheduler: the queue is disabled: %s", exc)
        _disabled_reason = str(exc)
        return None
    except Exception as exc:
        log.exception("task scheduler: cannot open the queue at %s; the extension is disabled", label)
        _disabled_reason = f"{label}: {exc}"
        return None
    _disabled_reason = None
    queue = TaskQueue(store, files)
    current = ts_settings.read()
    runner = InProcessRunner(
        files,
        named_defaults=_ui_named_defaults,
        stop_reason=queue.stop_request,
    )
    executor = Executor(queue, runner, current.executor, worker=worker_identity())
    ext_ref: list[Extension] = []
    queue.checker = TaskChecker(
        runner.catalog, lambda: ext_ref[0].settings.check if ext_ref else current.check
    )
    ext = Extension(
        location=location,
        store=store,
        files=files,
        queue=queue,
        runner=runner,
        executor=executor,
        settings=current,
    )
    ext_ref.append(ext)
    ext.services = _services(ext)
    ext._unsubscribe.append(queue.subscribe(lambda event, task: _on_queue_event(ext, event, task)))
    _state = ext
    return ext


def _services(ext: Extension) -> Any:
    try:
        from ..http_api import ApiServices, ApiSettings
    except ImportError:  # fastapi missing: the queue still runs, without routes
        return None
    api_auth = None
    try:
        from modules import shared

        api_auth = getattr(shared.cmd_opts, "api_auth", None)
    except ImportError:  # pragma: no cover
        pass
    return ApiServices(
        queue=ext.queue,
        files=ext.files,
        executor=ext.executor,
        webui=WebUIAdapter(ext.runner),
        settings=ApiSettings(allow_private_callbacks=ext.settings.allow_private_callbacks),
        auth=[api_auth] if api_auth else None,
    )


def _mount(ext: Extension, app: Any) -> bool:
    if ext.services is None or not hasattr(app, "include_router"):
        return False
    from ..http_api import CallbackSender, gradio_session_check, include_routers

    if ext.services.session_check is None:
        ext.services.session_check = gradio_session_check(app)
    include_routers(app, ext.services)
    app.include_router(_stats_router(ext))
    if ext.callbacks is None:
        ext.callbacks = CallbackSender(ext.queue, settings=ext.services.settings).start()
    return True


_disabled_apps: list[int] = []


def disabled_reason() -> str | None:
    """Why the queue is not open (its database could not be opened), or None."""
    return _disabled_reason


def _mount_disabled(app: Any) -> bool:
    """Answer every route of both prefixes with 503 and the reason: the tab shows it."""
    if not hasattr(app, "add_api_route"):
        return False
    from fastapi.responses import JSONResponse

    from ..http_api.compat import PREFIX as COMPAT_PREFIX
    from ..http_api.urls import PREFIX

    def disabled(rest: str = "") -> Any:
        reason = _disabled_reason or "the task queue is not open"
        return JSONResponse({"detail": f"The task queue is disabled: {reason}"}, status_code=503)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    for prefix in (PREFIX, COMPAT_PREFIX):
        app.add_api_route(prefix + "/{rest:path}", disabled, methods=methods, include_in_schema=False)
    return True


def _stats_router(ext: Extension) -> Any:
    """``GET /task-scheduler/v1/webui/stats``: what the runner did (model loads, run timings)."""
    from fastapi import APIRouter, Depends

    from ..http_api.auth import make_auth_dependency
    from ..http_api.urls import PREFIX

    router = APIRouter(prefix=PREFIX, tags=["task-scheduler"])

    @router.get("/webui/stats", dependencies=[Depends(make_auth_dependency(ext.services))])
    def stats() -> dict[str, Any]:
        """Model loads seen since start-up, runs, checkpoint switches and recent run timings."""
        return {
            "model_loads": ext.model_loads,
            "runs": ext.runner.runs,
            "model_switches": ext.runner.model_switches,
            "current_checkpoint": checkpoints.current_name(),
            "running": ext.runner.running,
            "timings": [
                {"id": i, "started_at": s, "finished_at": f, "status": st} for i, s, f, st in ext.timings
            ],
        }

    @router.get("/webui/notice", dependencies=[Depends(make_auth_dependency(ext.services))])
    def notice() -> dict[str, Any] | None:
        """The latest "queue ran empty" notice (``seq`` grows by one each time), or null.

        Filled when Settings > Task Scheduler > "When the queue runs empty" is "Browser
        notification"; the Task Queue tab polls it and notifies once per ``seq``.
        """
        current = ext.notice
        return None if current is None else asdict(current)

    return router


def _guarded(what: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:
        log.exception("task scheduler: %s failed", what)
        return False


def _ui_named_defaults(tab: str, named: list[str]) -> dict[str, Any] | None:
    """Defaults of Generate's named inputs, when capture found the Generate click's components."""
    inputs_of = getattr(capture, "generate_inputs", None)
    if inputs_of is None:
        return None
    inputs = inputs_of(tab)
    if not inputs:
        return None
    return arguments.named_defaults_from_inputs(named, inputs)


# -- when the queue runs dry -----------------------------------------------------------------

_OUTCOMES = {TaskStatus.DONE: "done", TaskStatus.FAILED: "failed", TaskStatus.INTERRUPTED: "interrupted"}


def _on_queue_event(ext: Extension, event: str, task: Task | None) -> None:
    if event != "finished" or task is None:
        return
    ext.timings.append((task.id, task.started_at, task.finished_at, task.status.value))
    key = _OUTCOMES.get(task.status)
    if key is not None:
        ext._counts[key] += 1
    if ext.queue.paused or ext.queue.count(TaskStatus.PENDING):
        return
    counts, ext._counts = ext._counts, {"done": 0, "failed": 0, "interrupted": 0}
    if not any(counts.values()):
        return
    action = ext.settings.when_dry
    if action == ts_settings.DRY_NOTIFY:
        seq = ext.notice.seq + 1 if ext.notice else 1
        ext.notice = DryNotice(seq=seq, at=time.time(), **counts)
    elif action == ts_settings.DRY_COMMAND_CHOICE and ext.settings.dry_command:
        threading.Thread(
            target=run_dry_command,
            args=(ext.settings.dry_command, counts),
            name="task-scheduler-dry-command",
            daemon=True,
        ).start()


def run_dry_command(command: str, counts: dict[str, int]) -> int | None:
    """Run the configured command through the shell; its exit status is logged, never awaited by the queue."""
    env = dict(os.environ)
    env.update({f"TASK_SCHEDULER_{key.upper()}": str(value) for key, value in counts.items()})
    log.info("task scheduler: the queue is empty; running %r", command)
    try:
        completed = subprocess.run(command, shell=True, env=env, check=False)  # noqa: S602 - the user's own command
    except Exception:
        log.exception("task scheduler: the queue-empty command failed to start")
        return None
    if completed.returncode:
        log.warning("task scheduler: the queue-empty command exited with %d", completed.returncode)
    return completed.returncode


def dry_notice() -> DryNotice | None:
    """The latest "queue ran empty" notice (its ``seq`` grows), for the tab to notify once."""
    ext = _state
    return ext.notice if ext is not None else None


# -- what the HTTP API asks of the WebUI ------------------------------------------------------


class WebUIAdapter:
    """:class:`~task_scheduler.http_api.WebUIInfo` over the running WebUI."""

    def __init__(self, runner: InProcessRunner) -> None:
        self.runner = runner

    def samplers(self) -> list[str]:
        from modules import sd_samplers

        return [s.name for s in getattr(sd_samplers, "all_samplers", [])]

    def checkpoints(self) -> list[str]:
        from modules import sd_models

        return [info.title for info in sd_models.checkpoints_list.values()]

    def interrupt(self) -> None:
        from modules import shared

        shared.state.interrupt()

    def skip(self) -> None:
        from modules import shared

        shared.state.skip()

    def progress(self, task_id: str) -> dict[str, Any] | None:
        if self.runner.running != task_id:
            return None
        update = webui_progress_update()
        return {"fraction": update.fraction, "text": update.text, "eta_s": update.eta_s, **update.extra}

    def current_checkpoint(self) -> str | None:
        return checkpoints.current_name()

    def canonical_checkpoint(self, name: str) -> str | None:
        """The name the runner reports for ``name`` (an alias, title, hash), or None if unknown.

        Storing this form lets checkpoint-aware order group tasks that spell one model differently.
        """
        try:
            info = checkpoints.resolve(name)
        except checkpoints.MissingCheckpoint:
            return None
        return info.name if info is not None else None

"""The "Task Scheduler" section of the WebUI's Settings page, and reading it back.

``register()`` runs inside ``on_ui_settings``; ``read()`` turns the stored values into the
executor's switches and the extension's own. Options that could run a program or move the queue
(``dry_command``, ``db_path``) are ``restrict_api``: ``/sdapi/v1/options`` cannot change them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..batching import DEFAULT_FOR_CLICKS, DEFAULT_FOR_JOBS, SIZES
from ..checker import CheckSettings
from ..executor import ExecutorSettings
from . import schedule_settings

SECTION = ("task_scheduler", "Task Scheduler")

PAUSED_AT_STARTUP = "task_scheduler_paused_at_startup"
CHECKPOINT_AWARE = "task_scheduler_checkpoint_aware_order"
REQUEUE_INTERRUPTED = "task_scheduler_requeue_interrupted"
PAUSE_ON_OOM = "task_scheduler_pause_on_out_of_memory"
RETENTION_DAYS = "task_scheduler_history_retention_days"
DB_PATH = "task_scheduler_db_path"
WHEN_DRY = "task_scheduler_when_queue_empty"
DRY_COMMAND = "task_scheduler_when_queue_empty_command"
PRIVATE_CALLBACKS = "task_scheduler_allow_private_callbacks"
CHECK_NETWORKS = "task_scheduler_check_networks_are_errors"
CHECK_STRICT = "task_scheduler_check_strict"
CHECK_AT_START = "task_scheduler_check_at_start"

AT_START_WARN = "Run it with the warning"
AT_START_FAIL = "Fail it with the reason"
AT_START_CHOICES = (AT_START_WARN, AT_START_FAIL)
AUTO_BATCH = "task_scheduler_auto_batch"
AUTO_BATCH_CLICKS = "task_scheduler_auto_batch_clicks"

#: the auto-batching choices as the settings page words them (see batching.py)
BATCH_OFF = "Off"
BATCH_CHOICES = (BATCH_OFF, "2", "4", "8")

DRY_NONE = "Do nothing"
DRY_NOTIFY = "Browser notification"
DRY_COMMAND_CHOICE = "Run a command"
DRY_CHOICES = (DRY_NONE, DRY_NOTIFY, DRY_COMMAND_CHOICE)

KEYS = (
    *schedule_settings.KEYS,
    PAUSED_AT_STARTUP,
    CHECKPOINT_AWARE,
    REQUEUE_INTERRUPTED,
    PAUSE_ON_OOM,
    RETENTION_DAYS,
    DB_PATH,
    WHEN_DRY,
    DRY_COMMAND,
    PRIVATE_CALLBACKS,
    CHECK_NETWORKS,
    CHECK_STRICT,
    CHECK_AT_START,
    AUTO_BATCH,
    AUTO_BATCH_CLICKS,
)


@dataclass
class ExtensionSettings:
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    paused_at_startup: bool = False
    db_path: str = ""
    when_dry: str = DRY_NONE
    dry_command: str = ""
    allow_private_callbacks: bool = False
    check: CheckSettings = field(default_factory=CheckSettings)


def register(
    on_change: Callable[[], None] | None = None, current: schedule_settings.Current | None = None
) -> None:
    """Add the section's options (call from ``on_ui_settings``); ``on_change`` runs after an edit.

    ``current``: the open queue and this worker's id, where the schedule's options are stored.
    """
    from modules import shared

    try:
        import gradio as gr
    except ImportError:  # pragma: no cover - the WebUI always has gradio
        gr = None

    def component(name: str) -> Any:
        return getattr(gr, name, None) if gr is not None else None

    def option(default: Any, label: str, comp: str | None = None, args: Any = None, **kw: Any) -> Any:
        return shared.OptionInfo(
            default,
            label,
            component(comp) if comp else None,
            args,
            onchange=on_change,
            section=SECTION,
            **kw,
        )

    def scheduled(
        default: Any, label: str, comp: str | None = None, args: Any = None, *, onchange: Any
    ) -> Any:
        return shared.OptionInfo(
            default, label, component(comp) if comp else None, args, onchange=onchange, section=SECTION
        )

    add = shared.opts.add_option
    schedule_settings.register(add, scheduled, current or (lambda: None))
    add(
        PAUSED_AT_STARTUP,
        option(False, "Start with the queue paused", "Checkbox").info(
            "tasks wait until you press Resume; takes effect at the next start"
        ),
    )
    add(
        CHECKPOINT_AWARE,
        option(True, "Checkpoint-aware order", "Checkbox").info(
            "among tasks of equal priority that you have not placed yourself, run the next one "
            "using the checkpoint already loaded first, so each checkpoint loads once"
        ),
    )
    add(
        REQUEUE_INTERRUPTED,
        option(True, "Requeue a task that was running when the WebUI stopped", "Checkbox").info(
            "once per task: one that is running during a second crash stays interrupted"
        ),
    )
    add(
        AUTO_BATCH,
        option(
            str(DEFAULT_FOR_JOBS),
            "Auto-batch jobs and seed repeats: at most",
            "Radio",
            {"choices": list(BATCH_CHOICES)},
        ).info(
            "tasks of a sweep or of 'Queue N times with new seeds' that differ only in prompt and seed "
            "run as one WebUI batch (faster on a GPU; images differ from one-by-one ones by float rounding)"
        ),
    )
    add(
        AUTO_BATCH_CLICKS,
        option(
            BATCH_OFF, "Auto-batch single clicks: at most", "Radio", {"choices": list(BATCH_CHOICES)}
        ).info("the same for tasks queued one by one, when they sit next to each other in the queue"),
    )
    add(
        PAUSE_ON_OOM,
        option(True, "Pause the queue when a task runs out of memory", "Checkbox"),
    )
    add(
        RETENTION_DAYS,
        option(0, "Keep finished tasks for (days)", "Number", {"precision": 1, "minimum": 0}).info(
            "0 keeps them forever; bookmarked tasks are always kept; images are never deleted"
        ),
    )
    add(
        DB_PATH,
        option("", "Database path or PostgreSQL URL", "Textbox", restrict_api=True)
        .info(
            "empty: task_scheduler.sqlite3 in the extension folder; postgresql://user@host/db shares "
            "one queue between WebUIs (password in PGPASSWORD or ~/.pgpass, never here); "
            "--task-scheduler-db and TASK_SCHEDULER_DB take precedence"
        )
        .needs_restart(),
    )
    add(
        WHEN_DRY,
        option(DRY_NONE, "When the queue runs empty", "Radio", {"choices": list(DRY_CHOICES)}),
    )
    add(
        DRY_COMMAND,
        option("", "Command to run when the queue runs empty", "Textbox", restrict_api=True).info(
            "run by the shell, without waiting for it; TASK_SCHEDULER_DONE, TASK_SCHEDULER_FAILED "
            "hold this run's counts"
        ),
    )
    add(
        PRIVATE_CALLBACKS,
        option(False, "Allow callbacks to local and private addresses", "Checkbox", restrict_api=True).info(
            "lets a task's callback_url reach 127.0.0.1, 192.168.x.x, 10.x.x.x ...: "
            "for a receiver of your own on this machine or network"
        ),
    )
    add(
        CHECK_NETWORKS,
        option(False, "Refuse a task that names an unknown LoRA, LyCORIS or hypernetwork", "Checkbox").info(
            "off: the task is queued with a warning (the WebUI would run it without that network)"
        ),
    )
    add(
        CHECK_STRICT,
        option(False, "Refuse a task for any warning of the check (strict)", "Checkbox").info(
            "unknown extra networks, styles, extension scripts, a word one letter from an embedding"
        ),
    )
    add(
        CHECK_AT_START,
        option(
            AT_START_WARN,
            "When a task starts and names something gone since it was queued (a LoRA deleted)",
            "Radio",
            {"choices": list(AT_START_CHOICES)},
        ).info("an unknown checkpoint, sampler or script always fails the task"),
    )


def read(opts: Any | None = None) -> ExtensionSettings:
    """The current values (defaults when the section was never registered, e.g. API-only mode)."""
    if opts is None:
        from modules import shared

        opts = shared.opts
    data = getattr(opts, "data", None) or {}
    defaults = ExtensionSettings()

    def get(key: str, default: Any) -> Any:
        value = data.get(key, default)
        return default if value is None else value

    retention = _number(get(RETENTION_DAYS, 0))
    when_dry = str(get(WHEN_DRY, DRY_NONE))
    return ExtensionSettings(
        executor=ExecutorSettings(
            checkpoint_aware_order=bool(get(CHECKPOINT_AWARE, defaults.executor.checkpoint_aware_order)),
            requeue_interrupted=bool(get(REQUEUE_INTERRUPTED, defaults.executor.requeue_interrupted)),
            pause_on_out_of_memory=bool(get(PAUSE_ON_OOM, defaults.executor.pause_on_out_of_memory)),
            retention_days=retention if retention and retention > 0 else None,
            auto_batch=batch_size(get(AUTO_BATCH, DEFAULT_FOR_JOBS)),
            auto_batch_clicks=batch_size(get(AUTO_BATCH_CLICKS, DEFAULT_FOR_CLICKS)),
        ),
        paused_at_startup=bool(get(PAUSED_AT_STARTUP, False)),
        db_path=str(get(DB_PATH, "") or "").strip(),
        when_dry=when_dry if when_dry in DRY_CHOICES else DRY_NONE,
        dry_command=str(get(DRY_COMMAND, "") or "").strip(),
        allow_private_callbacks=bool(get(PRIVATE_CALLBACKS, False)),
        check=CheckSettings(
            networks_are_errors=bool(get(CHECK_NETWORKS, False)),
            strict=bool(get(CHECK_STRICT, False)),
            at_start="fail" if get(CHECK_AT_START, AT_START_WARN) == AT_START_FAIL else "warn",
        ),
    )


def apply(target: ExecutorSettings, source: ExecutorSettings) -> None:
    """Copy switches into the executor's live settings object (it reads them per task)."""
    target.checkpoint_aware_order = source.checkpoint_aware_order
    target.requeue_interrupted = source.requeue_interrupted
    target.pause_on_out_of_memory = source.pause_on_out_of_memory
    target.retention_days = source.retention_days
    target.auto_batch = source.auto_batch
    target.auto_batch_clicks = source.auto_batch_clicks


def batch_size(value: Any) -> int:
    """A batch setting as a number of tasks (0: off); an unknown value is off."""
    try:
        size = int(value)
    except (TypeError, ValueError):
        return 0
    return size if size in SIZES else 0


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None

"""The Queue button: capture exactly what Generate would send, as a named task (issue 5).

Contract with ``webui/extension.py`` (which owns the callbacks):

* ``on_after_component(component, **kwargs)`` is called for every component the WebUI creates;
  at ``txt2img_generate`` / ``img2img_generate`` it creates the Queue button (and the optional
  checkpoint picker) right after Generate, in Generate's row.
* ``bind(demo, services)`` is called from ``on_app_started`` with the root Blocks and the
  extension's services (``queue``, ``files``, ``codec``); it finds Generate's click event and binds
  the Queue buttons to the same inputs. ``ui_defaults(tab)`` then gives the UI default of every
  named parameter, for runners that fill what a task lacks.
* ``register_settings(section)`` adds this feature's options; the settings module calls it from
  ``on_ui_settings``.

Clicking Queue runs :func:`_make_handler`'s function with Generate's values: it never starts a
generation, never touches the progress bar and needs no lock, so it works while the GPU is busy.
The page side (menu, shortcut, toast) is ``javascript/task_scheduler.js``.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import checkpoints
from .arguments import ArgumentLayout, entry_point_parameters, named_defaults_from_inputs
from .capture_events import ClickInputs, GenerateEvent, bind_click, find_generate_event
from .capture_tasks import Capturer, QueueOptions, QueueOutcome

log = logging.getLogger(__name__)

TABS = ("txt2img", "img2img")
GENERATE_IDS = {f"{tab}_generate": tab for tab in TABS}
CURRENT_CHECKPOINT = "Current checkpoint"

OPT_BUTTON = "task_scheduler_queue_button"
OPT_PICKER = "task_scheduler_checkpoint_picker"
OPT_SHORTCUT = "task_scheduler_queue_shortcut"
DEFAULT_SHORTCUT = "Ctrl+E"
RESULT_CLASS = "task-scheduler-result"


def elem_id(tab: str, part: str) -> str:
    return f"task_scheduler_{tab}_{part}"


@dataclass
class TabControls:
    """What ``on_after_component`` made for one tab, and what ``bind`` learned about it."""

    tab: str
    generate: Any
    button: Any
    picker: Any | None = None
    inputs: list[Any] = field(default_factory=list)
    layout: ArgumentLayout | None = None
    defaults: dict[str, Any] = field(default_factory=dict)


#: The controls of the UI build in progress (replaced when the WebUI rebuilds its UI).
_tabs: dict[str, TabControls] = {}


# -- settings ------------------------------------------------------------------------------------


def register_settings(section: tuple[str, str]) -> None:
    """Add the Queue button's options to ``section`` (call from ``on_ui_settings``)."""
    import gradio as gr
    from modules import shared

    def add(key: str, info: Any) -> None:
        shared.opts.add_option(key, info)

    add(
        OPT_BUTTON,
        shared.OptionInfo(True, "Show the Queue button beside Generate", gr.Checkbox, section=section)
        .info("right-click it, or its ▾, for more ways to queue")
        .needs_reload_ui(),
    )
    add(
        OPT_PICKER,
        shared.OptionInfo(
            False, "Show a checkpoint picker beside the Queue button", gr.Checkbox, section=section
        )
        .info("the queued task uses the picked checkpoint; nothing is loaded when you pick")
        .needs_reload_ui(),
    )
    add(
        OPT_SHORTCUT,
        shared.OptionInfo(
            DEFAULT_SHORTCUT, "Keyboard shortcut that queues the current tab", gr.Textbox, section=section
        ).info("for example Ctrl+E, Ctrl+Shift+Q or Alt+Q (Ctrl also means Cmd on a Mac); empty: none"),
    )


def _opt(key: str, default: Any) -> Any:
    try:
        from modules import shared

        return getattr(shared.opts, key, default)
    except Exception:
        return default


# -- on_after_component --------------------------------------------------------------------------


def on_after_component(component: Any, **kwargs: Any) -> None:
    """At Generate, add the Queue button (and the picker) right after Generate's box."""
    tab = GENERATE_IDS.get(kwargs.get("elem_id") or getattr(component, "elem_id", None) or "")
    if tab is None or not _opt(OPT_BUTTON, True):
        return
    import gradio as gr

    with (
        _after_generate_box(tab),
        gr.Row(elem_id=elem_id(tab, "queue_row"), elem_classes=["task-scheduler-queue-row"]),
    ):
        button = gr.Button(
            "Queue", elem_id=elem_id(tab, "queue"), elem_classes=["task-scheduler-queue"], variant="secondary"
        )
        picker = None
        if _opt(OPT_PICKER, False):
            picker = gr.Dropdown(
                choices=[CURRENT_CHECKPOINT, *_checkpoint_names()],
                value=CURRENT_CHECKPOINT,
                label="Checkpoint for the queued task",
                show_label=False,
                container=False,
                elem_id=elem_id(tab, "checkpoint"),
                elem_classes=["task-scheduler-picker"],
                allow_custom_value=True,
            )
    _tabs[tab] = TabControls(tab=tab, generate=component, button=button, picker=picker)


@contextmanager
def _after_generate_box(tab: str) -> Iterator[None]:
    """Render into the box's parent, so Interrupt / Skip (absolute, over the whole box) never
    cover the Queue button while a generation runs. In the compact layout the box is moved
    later, so there the button stays inside it."""
    from gradio.context import Context

    box = Context.block
    parent = getattr(box, "parent", None)
    compact = "generate-box-compact" in (getattr(box, "elem_classes", None) or [])
    if parent is None or compact or getattr(box, "elem_id", None) != f"{tab}_generate_box":
        yield
        return
    Context.block = parent
    try:
        yield
    finally:
        Context.block = box


# -- bind ----------------------------------------------------------------------------------------


def bind(demo: Any, services: Any) -> None:
    """Bind each tab's Queue button to exactly the inputs of that tab's Generate click."""
    if demo is None or not _tabs:
        return
    if services is None or getattr(services, "queue", None) is None:
        log.warning("Queue button: no task queue to write to; the buttons stay inactive")
        return
    with demo:  # once: leaving the root Blocks regenerates its config (and, in gradio 4, its app)
        for tab, controls in list(_tabs.items()):
            result = _answer_block(tab)
            try:
                _bind_tab(demo, services, controls, result)
            except Exception as exc:
                log.exception("Queue button (%s): binding to Generate failed", tab)
                _bind_failure(controls, result, exc)


def _answer_block(tab: str) -> Any:
    """A hidden HTML block the click answers into; the page watches it (no extra event)."""
    import gradio as gr

    return gr.HTML(value="", elem_id=elem_id(tab, "queue_result"), elem_classes=[RESULT_CLASS])


def _bind_tab(demo: Any, services: Any, controls: TabControls, result: Any) -> None:
    """Inside ``with demo:``: find Generate's event, name its inputs, bind the Queue click."""
    tab = controls.tab
    event = find_generate_event(demo, controls.generate, tab)
    if event is None:
        raise LookupError(f"no click event on {tab}_generate in the root Blocks")
    layout = build_layout(tab, event.inputs)
    capturer = Capturer(
        tab, layout, services.queue, services.files, WebUIState(), family=checkpoints.webui_family()
    )
    plan = ClickInputs.plan(event, controls.picker)
    result.value = answer_html(
        QueueOutcome(ok=True, message="", folders=capturer.folders(), tab=tab).to_json()
    )
    bind_click(
        controls.button,
        _make_handler(capturer, event, plan),
        plan.components,
        result,
        prepare_js=_prepare_js(tab, len(plan.components)),
    )
    controls.layout = layout
    controls.defaults = dict(layout.named_defaults)
    controls.inputs = list(event.inputs)
    log.info(
        "Queue button (%s): bound to %s with %d inputs, %d state handler(s) replayed",
        tab,
        event.name or "Generate",
        len(event.inputs),
        len(event.replays),
    )


def _bind_failure(controls: TabControls, result: Any, exc: Exception) -> None:
    """A button that cannot capture says why when clicked, instead of doing nothing."""
    message = f"Not queued: the Queue button could not be connected to Generate ({exc}); see the console"

    def explain() -> str:
        return answer_html(QueueOutcome(ok=False, message=message, tab=controls.tab).to_json())

    try:
        bind_click(controls.button, explain, [], result, prepare_js=_prepare_js(controls.tab, 0))
    except Exception:
        log.exception("Queue button (%s): cannot even bind the explanation", controls.tab)


def _prepare_js(tab: str, count: int) -> str:
    return (
        f"(...args) => window.taskSchedulerQueue ? window.taskSchedulerQueue.prepare('{tab}', args, {count}) "
        f": args.slice(0, {count})"
    )


def _make_handler(capturer: Capturer, event: GenerateEvent, plan: ClickInputs) -> Any:
    import gradio as gr

    def enqueue(request, *values):
        started = time.perf_counter()
        try:
            options = QueueOptions.parse(values[0] if values else None)
            picked = plan.picked(values)
            if isinstance(picked, str) and picked and picked != CURRENT_CHECKPOINT:
                options.checkpoint = picked
            generate_values = plan.generate_values(event, values)
            user = getattr(request, "username", None)
            outcome = capturer.enqueue(generate_values[1:], user=user, options=options)
        except Exception as exc:  # the page must always get an answer, never a stale toast
            log.exception("Queue (%s) failed", capturer.tab)
            outcome = QueueOutcome(ok=False, message=f"Not queued: {exc}", tab=capturer.tab)
        outcome.server_ms = round((time.perf_counter() - started) * 1000, 1)
        log.debug("Queue (%s): answered in %.1f ms: %s", capturer.tab, outcome.server_ms, outcome.message)
        return answer_html(outcome.to_json())

    enqueue.__annotations__ = {"request": gr.Request}  # gradio injects the request by annotation
    enqueue.__name__ = f"task_scheduler_queue_{capturer.tab}"
    return enqueue


def answer_html(text: str) -> str:
    """The click's JSON answer as inert HTML: escaped, so a prompt is never markup."""
    return f'<div class="task-scheduler-answer">{html.escape(text, quote=False)}</div>'


def build_layout(tab: str, inputs: list[Any]) -> ArgumentLayout:
    """The named layout of Generate's ``inputs`` for the running WebUI (checked against them)."""
    from modules import scripts

    runner = scripts.scripts_txt2img if tab == "txt2img" else scripts.scripts_img2img
    named = entry_point_parameters(entry_function(tab))
    expected = 1 + len(named) + len(runner.inputs)
    if expected != len(inputs):
        raise ValueError(
            f"{tab}: Generate sends {len(inputs)} values but the signature and scripts account for "
            f"{expected}; refusing to guess names"
        )
    defaults = named_defaults_from_inputs(named, inputs)
    return ArgumentLayout.from_runner(tab, named, runner, named_defaults=defaults)


def entry_function(tab: str) -> Any:
    """The function whose signature names Generate's values (Forge and A1111 differ in name)."""
    if tab == "txt2img":
        import modules.txt2img as module

        candidates = ("txt2img_create_processing", "txt2img_function", "txt2img")
    else:
        import modules.img2img as module

        candidates = ("img2img_function", "img2img")
    for name in candidates:
        function = getattr(module, name, None)
        if function is not None:
            try:
                if len(entry_point_parameters(function)) > 0:
                    return function
            except ValueError:
                continue
    raise LookupError(f"no {tab} entry point with named parameters")


def ui_defaults(tab: str) -> dict[str, Any]:
    """UI defaults of the named parameters of ``tab`` (empty until ``bind`` ran)."""
    controls = _tabs.get(tab)
    return dict(controls.defaults) if controls is not None else {}


def generate_inputs(tab: str) -> list[Any]:
    """Generate's input components for ``tab`` (empty until ``bind`` ran)."""
    controls = _tabs.get(tab)
    return list(controls.inputs) if controls is not None else []


def layout(tab: str) -> ArgumentLayout | None:
    """The layout capture uses for ``tab`` (None until ``bind`` ran)."""
    controls = _tabs.get(tab)
    return controls.layout if controls is not None else None


# -- the WebUI at click time ---------------------------------------------------------------------


class WebUIState:
    """Reads the checkpoint, its modules and the checkpoint list from the running WebUI."""

    def current_checkpoint(self) -> str | None:
        return checkpoints.current_name()

    def checkpoints(self) -> list[str]:
        return _checkpoint_names()

    def override_settings(self) -> dict[str, Any]:
        from modules import shared

        if checkpoints.is_forge():
            selected = {
                "forge_additional_modules": list(getattr(shared.opts, "forge_additional_modules", None) or [])
            }
            preset = checkpoints.current_preset()
            if preset is not None:  # Neo: the preset, and the storage dtype chosen beside the checkpoint
                selected["forge_preset"] = preset
                selected["forge_unet_storage_dtype"] = shared.opts.data.get(
                    "forge_unet_storage_dtype", "Automatic"
                )
            return selected
        vae = getattr(shared.opts, "sd_vae", None)
        return {"sd_vae": vae} if vae else {}


def _checkpoint_names() -> list[str]:
    try:
        from modules import sd_models

        return sorted({info.name for info in sd_models.checkpoints_list.values()}, key=str.lower)
    except Exception:
        return []

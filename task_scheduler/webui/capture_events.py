"""Find Generate's click event in the root Blocks and bind the Queue button to the same inputs.

gradio 4 (Forge) keeps events in ``demo.fns``, a dict of ``BlockFunction`` with ``.targets``;
gradio 3 (A1111) in ``demo.dependencies`` (dicts of component ids) beside a parallel list
``demo.fns``. Besides the generation itself, Generate's click may run *state-update* handlers
first — Forge's built-in ControlNet rebuilds each unit's ``gr.State`` from the unit's controls
(one handler per unit, ``queue=False``). Binding a second click to them would race with ours, so
the Queue handler runs them itself, in the same request, and uses their fresh results in place
of the stale ``gr.State`` values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class StateReplay:
    """A handler Generate runs first whose outputs are ``gr.State`` inputs of the generation."""

    fn: Callable[..., Any]
    name: str
    inputs: list[Any]
    #: for each output, its index in Generate's inputs
    targets: list[int]


@dataclass
class GenerateEvent:
    inputs: list[Any]
    name: str
    replays: list[StateReplay] = field(default_factory=list)


def gradio_major() -> int:
    import gradio

    return int(str(gradio.__version__).split(".")[0])


def _is_state(component: Any) -> bool:
    import gradio as gr

    return isinstance(component, gr.State)


def _click_functions(demo: Any, button: Any) -> list[tuple[Any, list[Any], list[Any]]]:
    """``(fn object, inputs, outputs)`` of every click event whose target is ``button``."""
    found: list[tuple[Any, list[Any], list[Any]]] = []
    fns = getattr(demo, "fns", None)
    if isinstance(fns, dict):  # gradio 4
        for block_fn in fns.values():
            if (button._id, "click") in [tuple(t) for t in (block_fn.targets or [])]:
                found.append((block_fn, list(block_fn.inputs), list(block_fn.outputs)))
        return found
    dependencies = getattr(demo, "dependencies", None) or []
    for index, dependency in enumerate(dependencies):  # gradio 3
        if dependency.get("trigger") != "click" or button._id not in dependency.get("targets", []):
            continue
        block_fn = fns[index] if fns is not None and index < len(fns) else None
        if block_fn is None or [c._id for c in block_fn.inputs] != list(dependency.get("inputs", [])):
            # the lists are parallel; fall back to matching by input ids as Agent Scheduler does
            block_fn = next(
                (f for f in fns or [] if [c._id for c in f.inputs] == list(dependency.get("inputs", []))),
                None,
            )
        if block_fn is not None:
            found.append((block_fn, list(block_fn.inputs), list(block_fn.outputs)))
    return found


def find_generate_event(demo: Any, button: Any, tab: str) -> GenerateEvent | None:
    """The generation bound to ``button`` (named ``tab`` in the WebUI) and its state replays."""
    clicks = [c for c in _click_functions(demo, button) if getattr(c[0], "fn", None) is not None]
    if not clicks:
        return None

    def is_state_update(click: tuple[Any, list[Any], list[Any]]) -> bool:
        outputs = click[2]
        return bool(outputs) and all(_is_state(o) for o in outputs)

    named = [c for c in clicks if getattr(c[0], "name", None) == tab]
    generation = named or [c for c in clicks if not is_state_update(c)]
    if not generation:
        return None
    main = max(generation, key=lambda c: len(c[1]))
    inputs = main[1]
    position = {id(component): index for index, component in enumerate(inputs)}
    replays: list[StateReplay] = []
    for click in clicks:
        if click is main or not is_state_update(click):
            continue
        block_fn, fn_inputs, outputs = click
        targets = [position.get(id(output)) for output in outputs]
        if any(t is None for t in targets) or not getattr(block_fn, "preprocess", True):
            continue
        replays.append(
            StateReplay(
                fn=block_fn.fn,
                name=getattr(block_fn, "name", None) or "handler",
                inputs=fn_inputs,
                targets=[t for t in targets if t is not None],
            )
        )
    return GenerateEvent(inputs=list(inputs), name=getattr(main[0], "name", "") or "", replays=replays)


@dataclass
class ClickInputs:
    """The Queue click's inputs: Generate's, then the picker, then what replays need (deduplicated)."""

    components: list[Any]
    generate_count: int
    picker_index: int | None
    replay_indexes: list[list[int]]

    @classmethod
    def plan(cls, event: GenerateEvent, picker: Any | None) -> ClickInputs:
        components = list(event.inputs)
        position = {id(c): i for i, c in enumerate(components)}

        def index_of(component: Any) -> int:
            if id(component) not in position:
                position[id(component)] = len(components)
                components.append(component)
            return position[id(component)]

        picker_index = None
        if picker is not None:
            picker_index = len(components)
            components.append(picker)
        replay_indexes = [[index_of(c) for c in replay.inputs] for replay in event.replays]
        return cls(components, len(event.inputs), picker_index, replay_indexes)

    def generate_values(self, event: GenerateEvent, values: Sequence[Any]) -> list[Any]:
        """Generate's values, with the state-update handlers' fresh results in place."""
        result = list(values[: self.generate_count])
        for replay, indexes in zip(event.replays, self.replay_indexes, strict=True):
            try:
                output = replay.fn(*[values[i] for i in indexes])
            except Exception:
                log.exception("Queue: replaying %s before capture failed; using its last state", replay.name)
                continue
            outputs = [output] if len(replay.targets) == 1 else list(output)
            for target, value in zip(replay.targets, outputs, strict=False):
                result[target] = value
        return result

    def picked(self, values: Sequence[Any]) -> Any:
        return values[self.picker_index] if self.picker_index is not None else None


def bind_click(
    button: Any, handler: Callable[..., Any], inputs: list[Any], result: Any, *, prepare_js: str
) -> None:
    """``button.click(handler)``; call inside ``with demo:``.

    Not queued and without progress: the click only writes to the task queue, so it must not
    wait behind a generation in gradio's queue, nor show a spinner over anything.
    """
    major = gradio_major()
    extra: dict[str, Any] = {"show_progress": "hidden", "queue": False, "api_name": False}
    if major >= 4:
        extra["show_api"] = False
    js_key = "js" if major >= 4 else "_js"
    button.click(fn=handler, inputs=inputs, outputs=[result], **{js_key: prepare_js}, **extra)

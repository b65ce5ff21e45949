"""Light stand-ins for gradio components used by the double's scripts and UI build.

Real gradio components expose ``.value``, ``.label`` and ``.elem_id``; these do too. Constructing
one behaves like the WebUI's patched gradio ``__init__``: the current ScriptRunner's
``before_component`` and ``script_callbacks.before_component_callback`` run first, then
``script_callbacks.after_component_callback`` and the runner's ``after_component``; the keyword
arguments they see are the base-class ones (``value``, ``elem_id``, ``label``, ``visible``,
``elem_classes``), never ``tooltip``.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

_ids = itertools.count(1)


def reset_ids() -> None:
    global _ids
    _ids = itertools.count(1)


class Control:
    kind = "component"

    def __init__(
        self,
        value: Any = None,
        label: str | None = None,
        elem_id: str | None = None,
        *,
        choices: list | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        step: float | None = None,
        visible: bool = True,
        type: str | None = None,
        multiselect: bool | None = None,
        elem_classes: list[str] | None = None,
        tooltip: str | None = None,
        render: bool = True,
    ):
        self._id = next(_ids)
        self.value = value
        self.label = label
        self.elem_id = elem_id
        self.choices = choices
        self.minimum = minimum
        self.maximum = maximum
        self.step = step
        self.visible = visible
        self.type = type
        self.multiselect = multiselect
        self.elem_classes = elem_classes
        self.webui_tooltip = tooltip
        self.custom_script_source = None
        kwargs = {
            "value": value,
            "elem_id": elem_id,
            "label": label,
            "visible": visible,
            "elem_classes": elem_classes,
            "render": render,
        }
        _fire("before", self, kwargs)
        _fire("after", self, kwargs)

    def event_value(self) -> Any:
        """The value an event handler receives: ``type="index"`` controls send the choice's index;
        a multiselect left at ``None`` sends ``[]`` from A1111's page (gradio 3), ``None`` from
        Forge's (gradio 4)."""
        if self.type == "index" and self.choices is not None and not isinstance(self.value, int):
            return self.choices.index(self.value) if self.value in self.choices else None
        if self.value is None and self.multiselect:
            from webui_double import shim_config

            return None if shim_config.current.is_forge else []
        return self.value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(label={self.label!r}, elem_id={self.elem_id!r}, value={self.value!r})"


class Textbox(Control):
    kind = "textbox"


class Slider(Control):
    kind = "slider"


class Number(Control):
    kind = "number"


class Checkbox(Control):
    kind = "checkbox"


class Dropdown(Control):
    kind = "dropdown"


class Radio(Control):
    kind = "radio"


class Image(Control):
    kind = "image"


class Button(Control):
    kind = "button"


class JSON(Control):
    kind = "json"


class State(Control):
    """Like ``gr.State``: holds an arbitrary Python object as its value."""

    kind = "state"

    def __init__(self, value: Any = None, **kwargs: Any):
        super().__init__(value, **kwargs)


def _fire(stage: str, component: Control, kwargs: dict) -> None:
    callbacks = sys.modules.get("modules.script_callbacks")
    scripts = sys.modules.get("modules.scripts")
    runner = getattr(scripts, "scripts_current", None) if scripts is not None else None
    if stage == "before":
        if runner is not None:
            runner.before_component(component, **kwargs)
        if callbacks is not None:
            callbacks.before_component_callback(component, **kwargs)
    else:
        if callbacks is not None:
            callbacks.after_component_callback(component, **kwargs)
        if runner is not None:
            runner.after_component(component, **kwargs)

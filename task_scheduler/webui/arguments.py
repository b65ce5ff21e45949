"""Named task arguments <-> the positional list the WebUI's Generate sends.

Positions are facts of one UI build: they move whenever the WebUI changes its signature or an
extension is added, removed or updated. So a task never stores them. Capture (:meth:`split`)
names every value — entry-point parameters by their signature names, script controls by script
title — and the runner (:meth:`build`) lays them out again against the scripts installed *now*,
filling what is missing with the UI's defaults and saying what could not be applied.

This module only reads attributes of the WebUI objects handed to it (script runner, scripts,
components) and imports nothing from the WebUI itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Built-in always-on scripts whose controls are lifted to named params (docs/task-format.md).
LIFTED: dict[str, tuple[str, ...]] = {
    "sampler": ("steps", "sampler_name", "scheduler"),
    "seed": (
        "seed",
        "seed_enable_extras",
        "subseed",
        "subseed_strength",
        "seed_resize_from_w",
        "seed_resize_from_h",
    ),
    "refiner": ("enable_refiner", "refiner_checkpoint", "refiner_switch_at"),
}

#: Used only when the WebUI has no UI to read defaults from (API-only mode).
FALLBACK_DEFAULTS: dict[str, Any] = {
    "prompt": "",
    "negative_prompt": "",
    "prompt_styles": [],
    "n_iter": 1,
    "batch_size": 1,
    "cfg_scale": 7.0,
    "distilled_cfg_scale": 3.5,
    "image_cfg_scale": 1.5,
    "height": 512,
    "width": 512,
    "enable_hr": False,
    "denoising_strength": 0.75,
    "hr_scale": 2.0,
    "hr_upscaler": "Latent",
    "hr_second_pass_steps": 0,
    "hr_resize_x": 0,
    "hr_resize_y": 0,
    "hr_checkpoint_name": "Use same checkpoint",
    "hr_additional_modules": ["Use same choices"],
    "hr_sampler_name": "Use same sampler",
    "hr_scheduler": "Use same scheduler",
    "hr_prompt": "",
    "hr_negative_prompt": "",
    "hr_cfg": 1.0,
    "hr_distilled_cfg": 3.5,
    "override_settings_texts": [],
    "mode": 0,
    "init_img": None,
    "sketch": None,
    "sketch_fg": None,
    "init_img_with_mask": None,
    "init_img_with_mask_fg": None,
    "inpaint_color_sketch": None,
    "inpaint_color_sketch_fg": None,
    "inpaint_color_sketch_orig": None,
    "init_img_inpaint": None,
    "init_mask_inpaint": None,
    "mask_blur": 4,
    "mask_alpha": 0,
    "inpainting_fill": 1,
    "selected_scale_tab": 0,
    "scale_by": 1.0,
    "resize_mode": 0,
    "inpaint_full_res": 0,
    "inpaint_full_res_padding": 32,
    "inpainting_mask_invert": 0,
    "img2img_batch_input_dir": "",
    "img2img_batch_output_dir": "",
    "img2img_batch_inpaint_mask_dir": "",
    "img2img_batch_use_png_info": False,
    "img2img_batch_png_info_props": [],
    "img2img_batch_png_info_dir": "",
    "img2img_batch_source_type": "upload",
    "img2img_batch_upload": None,
}


class ArgumentError(ValueError):
    """The stored task cannot be laid out against the WebUI as it is now."""


def entry_point_parameters(function: Callable[..., Any]) -> list[str]:
    """Names of the positional parameters after ``id_task, request`` (``*args`` excluded)."""
    names: list[str] = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.KEYWORD_ONLY, parameter.VAR_KEYWORD):
            break
        names.append(parameter.name)
    if names[:2] != ["id_task", "request"]:
        raise ArgumentError(f"unexpected WebUI entry point signature: {names[:3]}")
    return names[2:]


def component_default(component: Any) -> Any:
    """What the WebUI would receive from an untouched control (index dropdowns send indexes)."""
    if component is None:
        return 0  # the Script dropdown placeholder
    value = getattr(component, "value", None)
    if value is None and getattr(component, "multiselect", False):
        return _untouched_multiselect()
    if getattr(component, "type", None) == "index" and isinstance(value, str):
        choices = [
            c[1] if isinstance(c, (list, tuple)) else c for c in getattr(component, "choices", None) or []
        ]
        labels = [
            c[0] if isinstance(c, (list, tuple)) else c for c in getattr(component, "choices", None) or []
        ]
        for options in (choices, labels):
            if value in options:
                return options.index(value)
        return 0
    return value


def _untouched_multiselect() -> list[Any] | None:
    """What the page sends for a multiselect left at ``None`` ("Override settings"): A1111's page
    (gradio 3) sends ``[]``, and A1111 iterates it (``create_override_settings_dict`` raises on
    ``None``); Forge's page (gradio 4) sends ``None``."""
    from .checkpoints import is_forge

    return None if is_forge() else []


@dataclass
class ScriptSlot:
    title: str
    args_from: int
    args_to: int
    alwayson: bool
    dropdown_index: int | None  # 1-based position in the Script dropdown, for selectable scripts
    defaults: list[Any]

    @property
    def key(self) -> str:
        return self.title.lower()

    @property
    def lifted(self) -> tuple[str, ...] | None:
        names = LIFTED.get(self.key) if self.alwayson else None
        return names if names is not None and len(names) == self.args_to - self.args_from else None


@dataclass
class Captured:
    params: dict[str, Any]
    script_args: dict[str, list[Any]]
    script_name: str | None


@dataclass
class Built:
    values: list[Any]
    warnings: list[str] = field(default_factory=list)


@dataclass
class ArgumentLayout:
    """Where each named value sits in Generate's inputs for one tab of the running WebUI."""

    tab: str
    named: list[str]
    named_defaults: dict[str, Any]
    slots: list[ScriptSlot]
    script_defaults: list[Any]

    @classmethod
    def from_runner(
        cls, tab: str, named: list[str], script_runner: Any, named_defaults: dict[str, Any] | None = None
    ) -> ArgumentLayout:
        inputs = list(getattr(script_runner, "inputs", None) or [None])
        script_defaults = [component_default(c) for c in inputs]
        script_defaults[0] = 0
        selectable = list(getattr(script_runner, "selectable_scripts", []))
        slots: list[ScriptSlot] = []
        seen: dict[str, int] = {}
        for script in getattr(script_runner, "scripts", []):
            start, end = getattr(script, "args_from", None), getattr(script, "args_to", None)
            if start is None or end is None:
                continue
            title = _title(script)
            seen[title.lower()] = seen.get(title.lower(), 0) + 1
            if seen[title.lower()] > 1:  # two scripts with one title must not share a key
                title = f"{title} ({seen[title.lower()]})"
            slots.append(
                ScriptSlot(
                    title=title,
                    args_from=start,
                    args_to=end,
                    alwayson=bool(getattr(script, "alwayson", False)),
                    dropdown_index=selectable.index(script) + 1 if script in selectable else None,
                    defaults=script_defaults[start:end],
                )
            )
        defaults = {name: FALLBACK_DEFAULTS.get(name) for name in named}
        defaults.update(named_defaults or {})
        return cls(
            tab=tab, named=named, named_defaults=defaults, slots=slots, script_defaults=script_defaults
        )

    @property
    def script_count(self) -> int:
        return len(self.script_defaults)

    # -- capture: positional -> named ---------------------------------------------------------

    def split(self, values: Sequence[Any]) -> Captured:
        """Name Generate's inputs (without ``id_task``): signature names, then scripts by title."""
        if len(values) < len(self.named):
            raise ArgumentError(f"{self.tab}: got {len(values)} values for {len(self.named)} parameters")
        params = dict(zip(self.named, values, strict=False))
        script_values = list(values[len(self.named) :])
        script_values += self.script_defaults[len(script_values) :]
        selected = script_values[0] or 0
        script_name: str | None = None
        script_args: dict[str, list[Any]] = {}
        for slot in self.slots:
            chunk = script_values[slot.args_from : slot.args_to]
            if slot.lifted:
                params.update(zip(slot.lifted, chunk, strict=False))
            elif slot.alwayson:
                if slot.args_to > slot.args_from:  # a script without controls has nothing to keep
                    script_args[slot.title] = chunk
            elif slot.dropdown_index == selected:
                script_name = slot.title
                script_args[slot.title] = chunk
        return Captured(params=params, script_args=script_args, script_name=script_name)

    # -- run: named -> positional -------------------------------------------------------------

    def build(
        self,
        params: dict[str, Any],
        script_args: dict[str, Any],
        script_name: str | None,
        *,
        partial_ok: bool = False,
    ) -> Built:
        """Lay a task out against the scripts installed now; unknown names become warnings.

        ``partial_ok``: a script given fewer values than it takes is normal (WebUI API
        semantics: ``alwayson_scripts`` args fill the start of the slice, defaults the rest).
        """
        warnings: list[str] = []
        values = [params.get(name, self.named_defaults.get(name)) for name in self.named]
        scripts = list(self.script_defaults)
        by_key = {key.lower(): (key, value) for key, value in script_args.items()}
        used: set[str] = set()
        for slot in self.slots:
            if slot.lifted:
                for offset, name in enumerate(slot.lifted):
                    if name in params:
                        scripts[slot.args_from + offset] = params[name]
                continue
            found = by_key.get(slot.key)
            if found is None:
                continue
            used.add(slot.key)
            given = _as_list(found[1], slot)
            width = slot.args_to - slot.args_from
            if len(given) > width or (len(given) < width and not partial_ok):
                fix = "the extra ones were dropped" if len(given) > width else "missing ones use the defaults"
                warnings.append(
                    f"script '{slot.title}' now takes {width} values, the task has {len(given)}; {fix}"
                )
            for offset, value in enumerate(given[:width]):
                scripts[slot.args_from + offset] = value
        if script_name:
            slot = next((s for s in self.slots if s.dropdown_index and s.key == script_name.lower()), None)
            if slot is None:
                raise ArgumentError(f"the script '{script_name}' this task uses is not installed")
            scripts[0] = slot.dropdown_index
        for key, (title, value) in by_key.items():
            if value in ([], ()):  # nothing was set for it: nothing is lost
                continue
            if key not in used and (not script_name or key != script_name.lower()):
                warnings.append(f"script '{title}' is not installed any more; its settings were not applied")
        return Built(values=values + scripts, warnings=warnings)


def complete_lifted(params: dict[str, Any]) -> dict[str, Any]:
    """Turn on the Seed extras / Refiner when a task (e.g. from the HTTP API) sets their values.

    The WebUI API has no ``seed_enable_extras`` / ``enable_refiner``; a task that carries a
    variation strength, a seed resize or a refiner checkpoint without them means them on, as
    ``/sdapi/v1/txt2img`` does. Values set explicitly (a captured click) are left alone.
    """
    if "seed_enable_extras" not in params:
        strength = params.get("subseed_strength") or 0
        resize = (params.get("seed_resize_from_w") or 0, params.get("seed_resize_from_h") or 0)
        if _positive(strength) or all(_positive(v) for v in resize):
            params["seed_enable_extras"] = True
    if "enable_refiner" not in params:
        refiner = params.get("refiner_checkpoint")
        if refiner and str(refiner) not in ("None", "") and _positive(params.get("refiner_switch_at", 0.8)):
            params["enable_refiner"] = True
    return params


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def named_defaults_from_inputs(named: Sequence[str], inputs: Sequence[Any]) -> dict[str, Any]:
    """UI defaults of the named params from Generate's input components (``[id_task, *named, ...]``)."""
    return {
        name: component_default(c) for name, c in zip(named, list(inputs)[1 : 1 + len(named)], strict=False)
    }


def script_title(script: Any) -> str:
    return _title(script)


def _title(script: Any) -> str:
    try:
        title = script.title()
    except Exception:
        title = None
    return str(title or getattr(script, "name", None) or type(script).__name__)


def _as_list(value: Any, slot: ScriptSlot) -> list[Any]:
    """Script args as a list; a dict (API style, by argument label) is not positional."""
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ArgumentError(f"arguments of script '{slot.title}' must be a list of its control values")

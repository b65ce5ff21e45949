"""A task as WebUI infotext, the text the WebUI's paste mechanism reads ("Load into txt2img").

A finished task's own result infotext is the truth (it carries every extension's parameters and
the seed actually used). A task that has not run yet gets one written from its stored params in
the WebUI's format: ``prompt``, ``Negative prompt: ...``, then ``Key: value`` pairs, values with
a comma, colon or newline quoted as JSON like the WebUI's ``quote()``.
"""

from __future__ import annotations

import json
from typing import Any

from ..task import Task

#: (stored param, infotext key), in the order the WebUI writes them
_PAIRS = (
    ("steps", "Steps"),
    ("sampler_name", "Sampler"),
    ("scheduler", "Schedule type"),
    ("cfg_scale", "CFG scale"),
    ("distilled_cfg_scale", "Distilled CFG Scale"),
    ("image_cfg_scale", "Image CFG scale"),
    ("seed", "Seed"),
)
_AFTER_SIZE = (
    ("batch_size", "Batch size"),
    ("denoising_strength", "Denoising strength"),
    ("mask_blur", "Mask blur"),
)
_HIRES = (
    ("hr_scale", "Hires upscale"),
    ("hr_second_pass_steps", "Hires steps"),
    ("hr_upscaler", "Hires upscaler"),
    ("hr_sampler_name", "Hires sampler"),
    ("hr_scheduler", "Hires schedule type"),
    ("hr_prompt", "Hires prompt"),
    ("hr_negative_prompt", "Hires negative prompt"),
    ("hr_cfg", "Hires CFG Scale"),
)
_SAME = ("Use same sampler", "Use same scheduler", "Use same checkpoint", "")
_CLIP_SKIP = "CLIP_stop_at_last_layers"


def quote(value: Any) -> str:
    text = ("True" if value else "False") if isinstance(value, bool) else str(value)
    if "," not in text and "\n" not in text and ":" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def from_params(task: Task) -> str:
    """Infotext for ``task`` written from its stored params (what the task *will* do)."""
    params = task.params
    lines = [str(params.get("prompt") or "")]
    negative = params.get("negative_prompt")
    if negative:
        lines.append(f"Negative prompt: {negative}")
    pairs: list[tuple[str, Any]] = []
    for name, key in _PAIRS:
        if params.get(name) is not None:
            pairs.append((key, _number(params[name])))
    width, height = params.get("width"), params.get("height")
    if width and height:
        pairs.append(("Size", f"{_number(width)}x{_number(height)}"))
    if task.checkpoint:
        pairs.append(("Model", task.checkpoint))
    for name, key in _AFTER_SIZE:
        if params.get(name) is not None and (name != "batch_size" or params[name] != 1):
            pairs.append((key, _number(params[name])))
    if params.get("subseed_strength"):
        pairs.append(("Variation seed", params.get("subseed", -1)))
        pairs.append(("Variation seed strength", _number(params["subseed_strength"])))
    if params.get("enable_hr"):
        for name, key in _HIRES:
            value = params.get(name)
            if value is not None and value not in _SAME:
                pairs.append((key, _number(value)))
        if params.get("hr_resize_x") or params.get("hr_resize_y"):
            pairs.append(("Hires resize", f"{params.get('hr_resize_x', 0)}x{params.get('hr_resize_y', 0)}"))
    overrides = params.get("override_settings")
    if isinstance(overrides, dict) and overrides.get(_CLIP_SKIP) is not None:
        pairs.append(("Clip skip", overrides[_CLIP_SKIP]))
    if params.get("refiner_checkpoint"):
        pairs.append(("Refiner", params["refiner_checkpoint"]))
        if params.get("refiner_switch_at") is not None:
            pairs.append(("Refiner switch at", params["refiner_switch_at"]))
    lines.append(", ".join(f"{key}: {quote(value)}" for key, value in pairs))
    return "\n".join(lines)


def task_infotext(task: Task, index: int = 0) -> tuple[str, str]:
    """``(infotext, source)``: result image ``index``'s own infotext, else one from the params."""
    infotexts = task.result.infotexts if task.result else []
    if infotexts:
        chosen = infotexts[index] if 0 <= index < len(infotexts) else infotexts[0]
        if chosen:
            return chosen, "result"
    return from_params(task), "params"

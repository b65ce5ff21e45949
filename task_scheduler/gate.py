"""The one entry gate: what a task may hold before it is stored, whichever way it comes in.

Every way a task enters the queue (both API prefixes, their batch forms, ``PATCH`` / ``PUT``
edits, ``/import``, sweeps and follow-ups, the Queue button) ends in
:func:`~task_scheduler.task.validate_new_task`, which calls :func:`check_task`. A value that
passes here can be stored, listed, exported and answered by every response class the hosts use:
the WebUI answers with gradio's ORJSON response, which refuses integers beyond 64 bits and
nesting deeper than 255 levels. One such value stored used to make ``GET /queue`` answer 500 for
everyone until the queue was cleared; now it is refused at the door with a ``422`` naming it.

The numeric ranges are the queue routes' own (``schemas.py`` builds its fields from
:data:`INT_RANGES`), so ``/import``, a sweep's param axis and a follow-up's ``params`` cannot
store a task the queue routes would refuse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .errors import InvalidTaskData

#: deepest nesting of one task's params or script args (the WebUI's ORJSON stops at 255)
MAX_DEPTH = 64
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: longest text value, in characters: script args may carry base64 images (ControlNet via API)
MAX_STRING = 48 * 1024 * 1024
#: longest prompt-like text, in characters
MAX_TEXT = 100_000
#: most items in one list, or keys in one object
MAX_ITEMS = 10_000
#: most styles of one task
MAX_STYLES = 1_000
#: stored params holding text a person wrote; ``MAX_TEXT`` applies
TEXT_PARAMS = ("prompt", "negative_prompt", "hr_prompt", "hr_negative_prompt")
#: integer params and their ranges, shared with the queue routes' request models
INT_RANGES: dict[str, tuple[int | None, int | None]] = {
    "batch_size": (1, 1000),
    "n_iter": (1, 10000),
    "steps": (1, 10000),
    "width": (1, 65536),
    "height": (1, 65536),
    "hr_second_pass_steps": (0, 10000),
    "hr_resize_x": (0, 65536),
    "hr_resize_y": (0, 65536),
    "resize_mode": (0, 3),
    "inpainting_fill": (0, 3),
    "inpaint_full_res_padding": (0, None),
    "inpainting_mask_invert": (0, 1),
}
#: number params that must be finite numbers (their range is the WebUI's business)
NUMBER_PARAMS = ("cfg_scale", "denoising_strength", "distilled_cfg_scale", "hr_scale", "subseed_strength")
PRIORITY_RANGE = (-1000, 1000)
#: most rounds of a repetition that is not "until stopped"
MAX_REPEAT = 10_000


def check_task(params: Any, script_args: Any, priority: Any = 0) -> None:
    """Raise :class:`InvalidTaskData` naming the first value a task may not hold."""
    check_value("params", params)
    check_value("script_args", script_args)
    if isinstance(params, Mapping):
        check_params(params)
    low, high = PRIORITY_RANGE
    if isinstance(priority, int) and not isinstance(priority, bool) and not low <= priority <= high:
        raise InvalidTaskData("priority", f"must be between {low} and {high}")


def check_timing(not_before: Any, repeat_times: Any) -> None:
    """A start time is an instant (epoch seconds); a repetition a count of rounds (0: until stopped)."""
    if not_before is not None and (
        isinstance(not_before, bool)
        or not isinstance(not_before, (int, float))
        or not math.isfinite(not_before)
        or not 0 <= not_before < 1e11
    ):
        raise InvalidTaskData("not_before", "must be a time (epoch seconds or an ISO 8601 date and time)")
    if repeat_times is not None and (
        isinstance(repeat_times, bool)
        or not isinstance(repeat_times, int)
        or not 0 <= repeat_times <= MAX_REPEAT
    ):
        raise InvalidTaskData(
            "repeat.times",
            f"must be a whole number of rounds from 1 to {MAX_REPEAT} (0 or null: until stopped)",
        )


def check_params(params: Mapping[str, Any], where: str = "params") -> None:
    """The queue routes' ranges and types for the stored params they know."""
    for name, (low, high) in INT_RANGES.items():
        if params.get(name) is None:
            continue
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidTaskData(f"{where}.{name}", "must be a whole number")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise InvalidTaskData(f"{where}.{name}", f"must be {bounds}")
    for name in NUMBER_PARAMS:
        value = params.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InvalidTaskData(f"{where}.{name}", "must be a number")
    for name in TEXT_PARAMS:
        value = params.get(name)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise InvalidTaskData(f"{where}.{name}", f"is longer than {MAX_TEXT:,} characters")
    styles = params.get("prompt_styles")
    if isinstance(styles, list) and len(styles) > MAX_STYLES:
        raise InvalidTaskData(f"{where}.prompt_styles", f"more than {MAX_STYLES:,} styles")
    processing = params.get("processing")
    if isinstance(processing, Mapping):
        check_params(processing, f"{where}.processing")


def check_value(where: str, value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Plain JSON within limits: depth, 64-bit integers, finite floats, sizes. Iterative."""
    stack: list[tuple[str, Any, int]] = [(where, value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                raise InvalidTaskData(path, "is outside the 64-bit integer range")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidTaskData(path, "must be a finite number")
        elif isinstance(item, str):
            if len(item) > MAX_STRING:
                raise InvalidTaskData(path, f"is longer than {MAX_STRING:,} characters")
        elif isinstance(item, (list, tuple, dict)):
            if depth >= max_depth:
                raise InvalidTaskData(path, f"is nested more than {max_depth} levels deep")
            if len(item) > MAX_ITEMS:
                raise InvalidTaskData(path, f"has more than {MAX_ITEMS:,} items")
            if isinstance(item, dict):
                for key, inner in item.items():
                    if not isinstance(key, str):
                        raise InvalidTaskData(path, "object keys must be text")
                    if len(key) > MAX_TEXT:
                        raise InvalidTaskData(path, f"has a key longer than {MAX_TEXT:,} characters")
                    stack.append((f"{path}.{key}", inner, depth + 1))
            else:
                stack.extend((f"{path}.{index}", inner, depth + 1) for index, inner in enumerate(item))
        else:
            raise InvalidTaskData(path, f"a value of type {type(item).__name__} is not plain JSON")


def shown_safely(value: Any) -> str | None:
    """Why ``value`` (a stored task as a listing shows it) cannot be answered, or None if it can.

    The response is a little deeper than the task's own values, hence the margin.
    """
    try:
        check_value("task", value, max_depth=MAX_DEPTH + 16)
    except InvalidTaskData as exc:
        return str(exc)
    return None

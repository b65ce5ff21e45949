"""Sweeps: one base task and a few axes expanded into many tasks (a job), like X/Y/Z plot.

An axis is a JSON object ``{"type": ..., "values": ...}``:

==================== ============================================================================
type                 values
==================== ============================================================================
``prompt``           prompts (a list, or text with one per line); a base prompt containing
                     ``{prompt}`` keeps its text around each value
``prompt_sr``        search / replace like X/Y/Z's Prompt S/R: the first value is searched for in
                     the prompt and negative prompt and replaced by each value (itself included)
``checkpoint``       checkpoint names, or ``"folder": "sdxl/"`` matched against the available names
``seed``             seeds: ``[1, 2]``, ``"1-10"``, or ``"random": 5``
``cfg_scale``        numbers; ``"5, 7, 9"``, ``"4-8 (+2)"`` and ``"0.3-0.6 [4]"`` ranges as in X/Y/Z
``steps``            integers, same forms
``sampler_name``     sampler names
``scheduler``        scheduler names
``size``             ``"512x768"`` sizes (width x height)
``denoising_strength`` numbers from 0 to 1
``enable_hr``        hires fix on / off (``true``, ``false``, ``"on"``, ``"off"``)
``lora``             weights of ``"name"``: rewrites ``<lora:name:w>`` in the prompt (added if absent)
``param``            any other stored parameter ``"name"`` (``override_settings.KEY`` and
                     ``processing.KEY`` reach into those objects)
==================== ============================================================================

Axes are crossed (cartesian product, the first axis varying slowest) unless zipped: ``mode:
"zip"`` zips them all, and axes sharing a ``"group"`` are zipped together and crossed with the
rest. Zipped axes must have equal lengths. The checkpoint axis always varies slowest, so a sweep
loads each checkpoint once. :func:`count_tasks` gives the number before anything is built, and a
sweep over the cap (default :data:`DEFAULT_MAX_TASKS`) is refused with the count in the message.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidTaskData
from .task import MAX_NAME_LENGTH, NewTask, checkpoint_key
from .values import escape_plain

DEFAULT_MAX_TASKS = 1000
MAX_SEED = 2**32 - 1
MODES = ("cartesian", "zip")

AXIS_TYPES = (
    "prompt",
    "prompt_sr",
    "checkpoint",
    "seed",
    "cfg_scale",
    "steps",
    "sampler_name",
    "scheduler",
    "size",
    "denoising_strength",
    "enable_hr",
    "lora",
    "param",
)
_ALIASES = {
    "cfg": "cfg_scale",
    "sampler": "sampler_name",
    "hires_fix": "enable_hr",
    "denoise": "denoising_strength",
}
#: the order axes are applied in, whatever order they were given in (the prompt first, then edits of it)
_APPLY_ORDER = {"prompt": 0, "prompt_sr": 1, "lora": 2}
_TAGS = ("$image", "$ndarray", "$file", "$dataclass")
_FILE_TAGS = ("$image", "$ndarray", "$file")

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_RANGE = re.compile(
    rf"^\s*(?P<a>{_NUMBER})\s*-\s*(?P<b>{_NUMBER})\s*"
    rf"(?:\(\s*(?P<step>{_NUMBER})\s*\)|\[\s*(?P<count>\d+)\s*\])?\s*$"
)
_SIZE = re.compile(r"^\s*(\d{1,9})\s*[xX×*]\s*(\d{1,9})\s*$")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_ .\-/]+)?$")


@dataclass
class Axis:
    type: str
    values: list[Any]
    name: str | None = None  # the LoRA or the parameter
    group: str | None = None
    search: str | None = None  # prompt_sr

    @property
    def title(self) -> str:
        if self.type in ("lora", "param"):
            return f"{self.type} {self.name}"
        return self.type

    def label(self, value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        if self.type == "prompt" and len(text) > 40:
            text = text[:39] + "…"
        short = {"checkpoint": "model", "sampler_name": "sampler", "cfg_scale": "cfg", "prompt_sr": "S/R"}
        return f"{self.name if self.type in ('lora', 'param') else short.get(self.type, self.type)}: {text}"


@dataclass
class SweepTask:
    new: NewTask
    #: axis title -> the value this task takes on it
    values: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)


@dataclass
class Choices:
    """What the host knows is available; empty lists mean "not known, accept anything"."""

    checkpoints: Sequence[str] = ()
    samplers: Sequence[str] = ()
    schedulers: Sequence[str] = ()
    #: keep a name that matches none as given: the queue's checker reports every one of them,
    #: per axis value with the tasks it touches, instead of the first one refusing the sweep
    lenient: bool = False


# -- parsing -------------------------------------------------------------------------------


def parse_axes(
    raw: Any,
    *,
    choices: Choices | None = None,
    cap: int = DEFAULT_MAX_TASKS,
    rng: random.Random | None = None,
) -> list[Axis]:
    """Validate and normalise axis objects; errors name ``axes.<i>.<field>``."""
    if not isinstance(raw, list):
        raise InvalidTaskData("axes", "must be a list of axis objects")
    choices = choices or Choices()
    axes = [
        _parse_axis(item, f"axes.{i}", choices, cap, rng or random.Random()) for i, item in enumerate(raw)
    ]
    seen: dict[str, int] = {}
    for i, axis in enumerate(axes):
        if axis.title in seen and axis.type not in ("prompt_sr",):
            raise InvalidTaskData(f"axes.{i}.type", f"{axis.title} is already axis {seen[axis.title]}")
        seen.setdefault(axis.title, i)
    return axes


def _parse_axis(item: Any, where: str, choices: Choices, cap: int, rng: random.Random) -> Axis:
    if not isinstance(item, dict):
        raise InvalidTaskData(where, "must be an object with type and values")
    known = {"type", "values", "name", "group", "folder", "random"}
    extra = sorted(set(item) - known)
    if extra:
        raise InvalidTaskData(f"{where}.{extra[0]}", "is not an axis field")
    kind = _ALIASES.get(str(item.get("type", "")), item.get("type"))
    if kind not in AXIS_TYPES:
        raise InvalidTaskData(f"{where}.type", f"must be one of {', '.join(AXIS_TYPES)}")
    group = item.get("group")
    if group is not None and (not isinstance(group, (str, int)) or isinstance(group, bool)):
        raise InvalidTaskData(f"{where}.group", "must be a name")
    axis = Axis(type=kind, values=[], group=None if group is None else str(group))
    raw = item.get("values")
    at = f"{where}.values"

    if kind == "checkpoint" and item.get("folder") is not None:
        axis.values = _checkpoint_folder(item["folder"], f"{where}.folder", choices.checkpoints)
    elif kind == "seed" and item.get("random") is not None:
        n = item["random"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidTaskData(f"{where}.random", "must be a positive number of seeds")
        _check_cap(n, cap, at)
        axis.values = [rng.randrange(0, MAX_SEED) for _ in range(n)]
    elif kind in ("prompt", "prompt_sr"):
        axis.values = _texts(raw, at, lines=kind == "prompt")
        if kind == "prompt_sr":
            if len(axis.values) < 2:
                raise InvalidTaskData(at, "give the text to search for first, then what replaces it")
            axis.search = axis.values[0]
            if not axis.search:
                raise InvalidTaskData(at, "the search text (the first value) is empty")
    elif kind in ("checkpoint", "sampler_name", "scheduler"):
        axis.values = _texts(raw, at, lines=False)
        known_names = {"sampler_name": choices.samplers, "scheduler": choices.schedulers}.get(kind, ())
        if kind == "checkpoint":
            axis.values = [
                _match_checkpoint(v, at, choices.checkpoints, choices.lenient) for v in axis.values
            ]
        elif known_names:
            axis.values = [_match_name(v, at, known_names, choices.lenient) for v in axis.values]
    elif kind == "seed":
        axis.values = [int(v) for v in _numbers(raw, at, cap, integer=True)]
        for v in axis.values:
            if v < -1 or v > MAX_SEED:
                raise InvalidTaskData(at, f"seed {v} is outside -1 to {MAX_SEED}")
    elif kind == "steps":
        axis.values = [int(v) for v in _numbers(raw, at, cap, integer=True)]
        if any(v < 1 or v > 10000 for v in axis.values):
            raise InvalidTaskData(at, "steps must be between 1 and 10000")
    elif kind in ("cfg_scale", "denoising_strength"):
        axis.values = _numbers(raw, at, cap)
        if kind == "denoising_strength" and any(v < 0 or v > 1 for v in axis.values):
            raise InvalidTaskData(at, "denoising strength must be between 0 and 1")
    elif kind == "lora":
        axis.name = _required_name(item, where)
        if any(c in axis.name for c in "<>:"):
            raise InvalidTaskData(f"{where}.name", "is a LoRA name, without <lora: ...>")
        axis.values = _numbers(raw, at, cap)
    elif kind == "size":
        axis.values = [_size(v, at) for v in _texts(raw, at, lines=False)]
    elif kind == "enable_hr":
        axis.values = [_flag(v, at) for v in (raw if isinstance(raw, list) else _split(raw, at))]
    else:  # param
        axis.name = _required_name(item, where)
        if not _PARAM_NAME.match(axis.name):
            raise InvalidTaskData(f"{where}.name", "must be a stored parameter name")
        head = axis.name.split(".", 1)[0]
        if "." in axis.name and head not in ("override_settings", "processing"):
            raise InvalidTaskData(
                f"{where}.name", "only override_settings.KEY and processing.KEY may be dotted"
            )
        axis.values = list(raw) if isinstance(raw, list) else [_json_or_text(v) for v in _split(raw, at)]
        for v in axis.values:
            if isinstance(v, dict) and any(tag in v for tag in _FILE_TAGS):
                raise InvalidTaskData(at, "files cannot be swept")
        # typed or sent values are data: an object with "$" keys stays that object (values.py)
        axis.values = [escape_plain(v, f"{at}.values.{i}") for i, v in enumerate(axis.values)]
    if not axis.values:
        raise InvalidTaskData(at, "give at least one value")
    _check_cap(len(axis.values), cap, at)
    return axis


def _required_name(item: dict[str, Any], where: str) -> str:
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidTaskData(f"{where}.name", "is required for this axis")
    return name.strip()


def _split(raw: Any, at: str) -> list[str]:
    if isinstance(raw, list):
        return [str(v) for v in raw]
    if not isinstance(raw, str):
        raise InvalidTaskData(at, "must be a list or comma-separated text")
    return [part.strip() for part in raw.split(",") if part.strip()]


def _texts(raw: Any, at: str, *, lines: bool) -> list[str]:
    if isinstance(raw, list):
        if not all(isinstance(v, str) for v in raw):
            raise InvalidTaskData(at, "must be a list of text")
        return [v.strip() if not lines else v for v in raw if v.strip()]
    if not isinstance(raw, str):
        raise InvalidTaskData(at, "must be a list of text")
    if lines:
        return [line.strip() for line in raw.splitlines() if line.strip()]
    return _split(raw, at)


def _numbers(raw: Any, at: str, cap: int, *, integer: bool = False) -> list[float]:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = [raw]
    items: list[Any] = raw if isinstance(raw, list) else _split(raw, at)
    out: list[float] = []
    for item in items:
        if isinstance(item, bool):
            raise InvalidTaskData(at, f"{item!r} is not a number")
        if isinstance(item, (int, float)):
            if isinstance(item, int) and abs(item) > MAX_NUMBER:
                raise InvalidTaskData(at, "numbers must be at most 2^53 in size")
            out.append(item)
        elif isinstance(item, str):
            out.extend(_number_item(item, at, cap, integer))
        else:
            raise InvalidTaskData(at, f"{item!r} is not a number")
        _check_cap(len(out), cap, at)
    for v in out:
        if not math.isfinite(v):
            raise InvalidTaskData(at, "numbers must be finite")
        if integer and v != int(v):
            raise InvalidTaskData(at, f"{v} is not a whole number")
    return out


def parse_numbers(raw: Any, at: str, *, cap: int = DEFAULT_MAX_TASKS, integer: bool = False) -> list[float]:
    """Numbers from a list or text (``"0.3, 0.45, 0.6"``, ``"1-10"``, ``"4-8 (+2)"``, ``"0.2-0.8 [4]"``)."""
    if raw is None or raw == "" or raw == []:
        raise InvalidTaskData(at, "give at least one number")
    return _numbers(raw, at, cap, integer=integer)


def _number_item(text: str, at: str, cap: int, integer: bool) -> list[float]:
    text = text.strip()
    try:
        return [_num(text)]
    except ValueError:
        pass
    match = _RANGE.match(text)
    if not match:
        raise InvalidTaskData(
            at, f"{text[:40]!r} is not a number or a range like 1-10, 1-10 (+2) or 0.2-0.8 [4]"
        )
    try:
        a, b = _num(match["a"]), _num(match["b"])
        step_given = _num(match["step"]) if match["step"] is not None else None
        count = int(match["count"]) if match["count"] is not None and len(match["count"]) < 10 else None
    except ValueError:
        raise InvalidTaskData(at, f"{text[:40]!r}: a number is too large or not finite") from None
    if match["count"] is not None and count is None:
        raise InvalidTaskData(at, f"{text[:40]!r}: the count is too large")
    if count is not None:
        n = count
        _check_cap(n, cap, at)
        if n < 1:
            raise InvalidTaskData(at, f"{text!r}: the count must be at least 1")
        if n == 1:
            return [a]
        values = [a + (b - a) * i / (n - 1) for i in range(n)]
        return [round(v) for v in values] if integer else [round(v, 6) for v in values]
    step = step_given if step_given is not None else (1 if b >= a else -1)
    if step == 0 or (b - a) * step < 0:
        raise InvalidTaskData(at, f"{text!r}: the step never reaches the end")
    n = math.floor((b - a) / step + 1e-9) + 1
    _check_cap(n, cap, at)
    values = [a + step * i for i in range(n)]
    if all(isinstance(v, int) for v in (a, b, step)):
        return values
    return [round(v, 6) for v in values]


#: largest magnitude a sweep number may have: beyond it no parameter means anything, and a
#: 400-digit value used to overflow float conversions into a 500
MAX_NUMBER = 2**53


def _num(text: str) -> float:
    """A number from text; ValueError for what is not one, or is not finite, or is too large."""
    text = text.strip()
    if len(text) > 64:
        raise ValueError(text[:20])
    if re.fullmatch(r"[+-]?\d+", text):
        number: float = int(text)
    else:
        number = float(text)
    if not math.isfinite(number) or abs(number) > MAX_NUMBER:
        raise ValueError(text)
    return number


def _check_cap(count: int, cap: int, at: str = "axes") -> None:
    if count > cap:
        raise InvalidTaskData(
            at,
            f"this sweep would make {count:,} tasks, more than the limit of {cap:,}; "
            "use fewer values (or raise the limit in Settings)",
        )


def _size(text: str, at: str) -> list[int]:
    match = _SIZE.match(text)
    if not match:
        raise InvalidTaskData(at, f"{text!r} is not a size like 512x768")
    width, height = int(match[1]), int(match[2])
    if not (1 <= width <= 65536 and 1 <= height <= 65536):
        raise InvalidTaskData(at, f"{text!r} is outside 1 to 65536 pixels")
    return [width, height]


def _flag(value: Any, at: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise InvalidTaskData(at, f"{value!r} is not on or off")


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _match_name(value: str, at: str, known: Sequence[str], lenient: bool = False) -> str:
    for name in known:
        if name.lower() == value.lower():
            return name
    if lenient:
        return value
    raise InvalidTaskData(at, f"{value!r} is not one of {', '.join(known)}")


def _match_checkpoint(value: str, at: str, available: Sequence[str], lenient: bool = False) -> str:
    """Kept as given when the list is unknown; else it must name one (with or without its hash)."""
    if not available:
        return value
    key = checkpoint_key(value)
    for name in available:
        if checkpoint_key(name) == key:
            return name
    for name in available:  # "model" for "folder/model.safetensors [hash]"
        stem = (checkpoint_key(name) or "").rsplit("/", 1)[-1]
        if stem == key or stem.rsplit(".", 1)[0] == key:
            return name
    if lenient:
        return value
    raise InvalidTaskData(at, f"no checkpoint is called {value!r}")


def _checkpoint_folder(folder: Any, at: str, available: Sequence[str]) -> list[str]:
    if not isinstance(folder, str) or not folder.strip():
        raise InvalidTaskData(at, "must be a folder name")
    if not available:
        raise InvalidTaskData(at, "the list of checkpoints is not available here; list them instead")
    prefix = folder.strip().replace("\\", "/").strip("/").lower() + "/"
    matched = sorted(name for name in available if (checkpoint_key(name) or "").startswith(prefix))
    if not matched:
        raise InvalidTaskData(at, f"no checkpoint is in the folder {folder!r}")
    return matched


# -- counting and expanding -----------------------------------------------------------------


def _groups(axes: Sequence[Axis], mode: str) -> list[list[Axis]]:
    """Axes grouped for zipping, in product order (the group holding the checkpoint first)."""
    if mode not in MODES:
        raise InvalidTaskData("mode", "must be 'cartesian' or 'zip'")
    if mode == "zip":
        groups = [list(axes)] if axes else []
    else:
        order: dict[str, list[Axis]] = {}
        for index, axis in enumerate(axes):
            key = f"group:{axis.group}" if axis.group is not None else f"axis:{index}"
            order.setdefault(key, []).append(axis)
        groups = list(order.values())
    for group in groups:
        lengths = {len(a.values) for a in group}
        if len(lengths) > 1:
            described = ", ".join(f"{a.title} has {len(a.values)}" for a in group)
            raise InvalidTaskData("axes", f"zipped axes need the same number of values: {described}")
    groups.sort(key=lambda g: 0 if any(a.type == "checkpoint" for a in g) else 1)
    return groups


def count_tasks(axes: Sequence[Axis], mode: str = "cartesian") -> int:
    """How many tasks the axes make (1 with no axes: the base alone)."""
    return math.prod(len(group[0].values) for group in _groups(axes, mode))


def expand(
    base: NewTask,
    axes: Sequence[Axis],
    *,
    mode: str = "cartesian",
    cap: int = DEFAULT_MAX_TASKS,
    name: str = "",
    limit: int | None = None,
) -> list[SweepTask]:
    """The sweep's tasks (all of them, or the first ``limit`` for a preview).

    Each is a deep copy of ``base`` with its axis values applied, its ``files`` shared, and a
    name made of ``name`` (or the base's) and its axis labels.
    """
    groups = _groups(axes, mode)
    total = math.prod(len(group[0].values) for group in groups)
    _check_cap(total, cap)
    _check_base(base, axes)
    prefix = name or base.name
    out: list[SweepTask] = []
    combos = itertools.product(*(range(len(g[0].values)) for g in groups))
    for indices in itertools.islice(combos, limit):
        chosen: list[tuple[Axis, Any]] = []
        for group, index in zip(groups, indices, strict=True):
            chosen.extend((axis, axis.values[index]) for axis in group)
        new = copy.deepcopy(base)
        new.files = list(base.files)
        for axis, value in sorted(chosen, key=lambda pair: _APPLY_ORDER.get(pair[0].type, 9)):
            _apply(new, axis, value)
        labels = [axis.label(value) for axis, value in chosen]
        new.name = _task_name(prefix, labels)
        out.append(SweepTask(new=new, values={a.title: v for a, v in chosen}, labels=labels))
    return out


def _task_name(prefix: str, labels: list[str]) -> str:
    text = " · ".join(labels)
    if prefix:
        text = f"{prefix} [{text}]" if text else prefix
    return text if len(text) <= MAX_NAME_LENGTH else text[: MAX_NAME_LENGTH - 1] + "…"


def _check_base(base: NewTask, axes: Sequence[Axis]) -> None:
    for axis in axes:
        if axis.type == "enable_hr" and base.kind != "txt2img":
            raise InvalidTaskData("axes", "hires fix is a txt2img setting")
        if axis.type == "prompt_sr":
            texts = [_text(base.params, k) for k in ("prompt", "negative_prompt")]
            prompt_axis = any(a.type == "prompt" for a in axes)
            if not prompt_axis and not any(axis.search in t for t in texts):
                raise InvalidTaskData(
                    "axes", f"prompt S/R: {axis.search!r} is not in the prompt or the negative prompt"
                )


def _text(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    return value if isinstance(value, str) else ""


def _apply(new: NewTask, axis: Axis, value: Any) -> None:
    params = new.params
    kind = axis.type
    if kind == "prompt":
        current = _text(params, "prompt")
        params["prompt"] = current.replace("{prompt}", value) if "{prompt}" in current else value
    elif kind == "prompt_sr":
        assert axis.search is not None
        keys = ("prompt", "negative_prompt", "hr_prompt", "hr_negative_prompt")
        if not any(axis.search in _text(params, k) for k in keys[:2]):
            raise InvalidTaskData(
                "axes", f"prompt S/R: {axis.search!r} is not in the prompt {_text(params, 'prompt')!r}"
            )
        for key in keys:
            if _text(params, key):
                params[key] = params[key].replace(axis.search, value)
    elif kind == "checkpoint":
        new.checkpoint = value
    elif kind == "size":
        params["width"], params["height"] = value
    elif kind == "lora":
        assert axis.name is not None
        for key in ("prompt", "hr_prompt"):
            if key == "prompt" or _text(params, key):
                params[key] = set_lora_weight(_text(params, key), axis.name, value, add=key == "prompt")
    elif kind == "param":
        assert axis.name is not None
        _set_param(params, axis.name, value)
    else:  # seed, steps, cfg_scale, sampler_name, scheduler, denoising_strength, enable_hr
        params[kind] = value


def _set_param(params: dict[str, Any], name: str, value: Any) -> None:
    if "." in name:
        head, key = name.split(".", 1)
        inner = params.get(head)
        inner = dict(inner) if isinstance(inner, dict) else {}
        inner[key] = value
        params[head] = inner
        return
    current = params.get(name)
    if isinstance(current, dict) and any(tag in current for tag in _TAGS):
        raise InvalidTaskData("axes", f"{name} holds a file and cannot be swept")
    params[name] = _like(current, value)


def _like(current: Any, value: Any) -> Any:
    """Give a text value the type of the base's value (``"30"`` for an int parameter is 30)."""
    if not isinstance(value, str) or current is None or isinstance(current, str):
        return value
    try:
        if isinstance(current, bool):
            return _flag(value, "axes")
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
    except (ValueError, InvalidTaskData):
        pass
    return value


_LORA = re.compile(r"<(?P<kind>lora|lyco):(?P<name>[^:>]+)(?P<rest>(?::[^>]*)?)>", re.IGNORECASE)


def set_lora_weight(prompt: str, name: str, weight: float, *, add: bool = True) -> str:
    """Set the weight of every ``<lora:name:...>`` in ``prompt``; add the tag when it is absent.

    Only the first multiplier changes: ``<lora:x:0.8:0.5>`` (text encoder, unet) keeps its second
    value, and ``<lora:x:te=0.8>`` keyword forms have ``te=`` (or a first ``unet=``) rewritten.
    """
    text = _weight_text(weight)
    found = False

    def rewrite(match: re.Match[str]) -> str:
        nonlocal found
        if match["name"].strip() != name:
            return match[0]
        found = True
        parts = match["rest"].split(":")[1:] if match["rest"] else []
        if not parts:
            parts = [text]
        elif "=" in parts[0]:
            key = parts[0].split("=", 1)[0].strip()
            parts[0] = f"{key}={text}"
        else:
            parts[0] = text
        return f"<{match['kind']}:{match['name']}:{':'.join(parts)}>"

    out = _LORA.sub(rewrite, prompt)
    if not found and add:
        out = f"{out.rstrip()} <lora:{name}:{text}>".lstrip()
    return out


def _weight_text(weight: float) -> str:
    if float(weight).is_integer():
        return str(int(weight)) if isinstance(weight, int) else f"{float(weight):.1f}"
    return f"{float(weight):g}"


def sweep_origin(axes: Sequence[Axis], mode: str) -> dict[str, Any]:
    """What a job remembers about the sweep that made it."""
    return {
        "type": "sweep",
        "mode": mode,
        "axes": [
            {
                "type": a.type,
                **({"name": a.name} if a.name else {}),
                **({"group": a.group} if a.group is not None else {}),
                "values": a.values,
            }
            for a in axes
        ],
    }


def queue_sweep(
    jobs: Any,
    base: NewTask,
    raw_axes: Any,
    *,
    mode: str = "cartesian",
    name: str = "",
    choices: Choices | None = None,
    cap: int = DEFAULT_MAX_TASKS,
    at: str = "bottom",
    user: str | None = None,
    source_task_id: str | None = None,
) -> tuple[Any, list[Any]]:
    """Parse, expand and queue a sweep as one job (``jobs``: a :class:`~.jobs.Jobs`).

    For callers holding a base task already (the Queue button's captured task): the job and its
    tasks are created in one transaction, or nothing is.
    """
    axes = parse_axes(raw_axes, choices=choices, cap=cap)
    built = expand(base, axes, mode=mode, cap=cap, name=name)
    origin = {**sweep_origin(axes, mode), "base": "task" if source_task_id else base.kind}
    return jobs.create(
        [t.new for t in built],
        name=name or base.name,
        at=at,
        origin=origin,
        source_task_id=source_task_id,
        user=user,
    )


__all__ = [
    "AXIS_TYPES",
    "DEFAULT_MAX_TASKS",
    "Axis",
    "Choices",
    "SweepTask",
    "count_tasks",
    "expand",
    "parse_axes",
    "parse_numbers",
    "queue_sweep",
    "set_lora_weight",
    "sweep_origin",
]

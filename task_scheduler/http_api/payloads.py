"""API bodies <-> the stored task shape of docs/task-format.md, in one module.

``prepare_task`` turns a validated txt2img/img2img request into a :class:`NewTask` whose params
use the WebUI entry point's names (``styles`` -> ``prompt_styles``; ``steps``, ``sampler_name``,
``seed`` ... lifted; API-only processing fields under ``processing``; ``override_settings`` as a
dict), whose ``script_args`` are keyed by script title, and whose images are PNG files in the
file store referenced as ``{"$image": ref, "mode": ..., "size": [w, h]}``. Images are decoded
first and written only by :meth:`PreparedTask.store_files`, so a batch that fails validation
leaves no files behind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pydantic

from ..errors import InvalidTaskData
from ..files import FileStore
from ..task import NewTask, Task
from ..values import OBJECT_TAGS, escape_plain
from ..values import TAGS as ALL_TAGS
from . import _pydantic as pd
from .callback_targets import check_at_queue_time
from .images import DecodedImage, decode_input_image
from .schemas import Img2ImgRequest, Txt2ImgRequest
from .services import ApiSettings
from .timing import parse_when, repeat_args

#: What the WebUI's own API uses for a field left out (``/sdapi/v1/txt2img`` semantics), so a body
#: written for that API or for Agent Scheduler produces the same picture when queued here.
API_DEFAULTS: dict[str, Any] = {
    "prompt": "",
    "negative_prompt": "",
    "seed": -1,
    "sampler_name": "Euler",
    "batch_size": 1,
    "n_iter": 1,
    "steps": 50,
    "cfg_scale": 7.0,
    "width": 512,
    "height": 512,
}
API_DEFAULTS_IMG2IMG: dict[str, Any] = {
    "denoising_strength": 0.75,
    "resize_mode": 0,
    "mask_blur": 4,
    "inpainting_fill": 0,
    "inpaint_full_res": True,
    "inpaint_full_res_padding": 0,
    "inpainting_mask_invert": 0,
}

RENAMED = {"styles": "prompt_styles"}
#: values of the built-in Sampler / Seed / Refiner scripts, stored under their own names
LIFTED = (
    "steps",
    "sampler_name",
    "scheduler",
    "seed",
    "subseed",
    "subseed_strength",
    "seed_resize_from_w",
    "seed_resize_from_h",
    "refiner_checkpoint",
    "refiner_switch_at",
)
ENTRY_COMMON = (
    "prompt",
    "negative_prompt",
    "n_iter",
    "batch_size",
    "cfg_scale",
    "distilled_cfg_scale",
    "height",
    "width",
    "denoising_strength",
)
ENTRY_TXT2IMG = (
    "enable_hr",
    "hr_scale",
    "hr_upscaler",
    "hr_second_pass_steps",
    "hr_resize_x",
    "hr_resize_y",
    "hr_checkpoint_name",
    "hr_additional_modules",
    "hr_sampler_name",
    "hr_scheduler",
    "hr_prompt",
    "hr_negative_prompt",
    "hr_cfg",
    "hr_distilled_cfg",
)
ENTRY_IMG2IMG = (
    "mask_blur",
    "inpainting_fill",
    "image_cfg_scale",
    "resize_mode",
    "inpaint_full_res",
    "inpaint_full_res_padding",
    "inpainting_mask_invert",
)
#: StableDiffusionProcessing fields the UI has no control for: stored under params["processing"]
PROCESSING_COMMON = (
    "restore_faces",
    "tiling",
    "do_not_save_grid",
    "eta",
    "s_min_uncond",
    "s_churn",
    "s_tmax",
    "s_tmin",
    "s_noise",
    "override_settings_restore_afterwards",
    "disable_extra_networks",
)
PROCESSING_TXT2IMG = ("firstphase_width", "firstphase_height")
PROCESSING_IMG2IMG = (
    "mask_blur_x",
    "mask_blur_y",
    "mask_round",
    "initial_noise_multiplier",
    "hr_distilled_cfg",
)
PROCESSING_IMAGES = ("firstpass_image", "latent_mask")
#: accepted for compatibility, without effect on a queued task
IGNORED = ("send_images", "save_images", "include_init_images", "force_task_id", "do_not_save_samples")
#: our own fields, not generation parameters
TASK_FIELDS = (
    "checkpoint",
    "vae",
    "name",
    "position",
    "priority",
    "callback_url",
    "worker",
    "not_before",
    "repeat",
    "strict",
    "exact",
)
SCRIPT_FIELDS = ("script_name", "script_args", "alwayson_scripts")
INPUT_IMAGES = ("init_images", "mask")
TAGS = ("$image", "$ndarray", "$file")


def request_model(kind: str) -> type[pydantic.BaseModel]:
    return Txt2ImgRequest if kind == "txt2img" else Img2ImgRequest


def _entry_names(kind: str) -> tuple[str, ...]:
    return ENTRY_COMMON + LIFTED + (ENTRY_TXT2IMG if kind == "txt2img" else ENTRY_IMG2IMG)


def _processing_names(kind: str) -> tuple[str, ...]:
    return PROCESSING_COMMON + (PROCESSING_TXT2IMG if kind == "txt2img" else PROCESSING_IMG2IMG)


@dataclass
class PreparedTask:
    """A converted task whose images are decoded but not yet in the file store."""

    new: NewTask
    position: str
    images: list[tuple[dict[str, Any], DecodedImage]] = field(default_factory=list)
    #: the checker's warnings refuse this task too (the body's ``"strict": true``)
    strict: bool = False

    def store_files(self, files: FileStore) -> NewTask:
        for tag, image in self.images:
            ref = files.put(image.png, "png")
            tag["$image"] = ref
            if ref not in self.new.files:
                self.new.files.append(ref)
        self.images = []
        return self.new


def prepare_task(
    kind: str, body: pydantic.BaseModel, settings: ApiSettings, *, user: str | None = None
) -> PreparedTask:
    """Convert one validated request body; raise InvalidTaskData naming the offending field."""
    given = {k: v for k, v in pd.dump(body, exclude_unset=True).items() if v is not None}
    values = dict(API_DEFAULTS)
    if kind == "img2img":
        values.update(API_DEFAULTS_IMG2IMG)
    if "sampler_index" in given and "sampler_name" not in given:
        given["sampler_name"] = given["sampler_index"]
    given.pop("sampler_index", None)
    values.update(given)

    if values.get("infotext"):
        raise InvalidTaskData("infotext", "is not supported for queued tasks; send the fields themselves")

    params: dict[str, Any] = {}
    for name in _entry_names(kind):
        if name in values:
            params[name] = values[name]
    if "styles" in values:
        params["prompt_styles"] = list(values["styles"])
    processing = {name: values[name] for name in _processing_names(kind) if name in values}

    override_settings = escape_plain(dict(values.get("override_settings") or {}), "override_settings")
    vae = _clean(values.get("vae"))
    if vae is not None:
        if "sd_vae" in override_settings and override_settings["sd_vae"] != vae:
            raise InvalidTaskData("vae", "differs from override_settings.sd_vae; give one of them")
        override_settings["sd_vae"] = vae
    if override_settings:
        params["override_settings"] = override_settings

    prepared = PreparedTask(
        new=NewTask(kind=kind, params=params, source="api", user=user),
        position=values.get("position") or "bottom",
        strict=bool(values.get("strict")),
    )
    for name in PROCESSING_IMAGES:
        if name in values:
            processing[name] = _image_tag(prepared, values[name], name, settings)
    if processing:
        params["processing"] = processing
    if kind == "img2img":
        _img2img_images(prepared, values, settings)

    script_name, script_args = _scripts(values)
    new = prepared.new
    new.script_name = script_name
    new.script_args = script_args
    new.name = values.get("name") or ""
    new.checkpoint = _clean(values.get("checkpoint"))
    new.priority = int(values.get("priority") or 0)
    new.callback_url = check_callback_url(values.get("callback_url"), settings)
    new.worker_pin = _clean(values.get("worker"))
    new.not_before = parse_when(values.get("not_before"))
    repeat = repeat_args(values.get("repeat"))
    if repeat is not None:
        new.repeat_times, new.repeat_keep_seeds = repeat
    new.batching = "exact" if values.get("exact") else None
    return prepared


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _image_tag(prepared: PreparedTask, value: Any, field_name: str, settings: ApiSettings) -> dict[str, Any]:
    image = decode_input_image(value, field_name, settings)
    tag: dict[str, Any] = {"$image": None, "mode": image.mode, "size": list(image.size)}
    prepared.images.append((tag, image))
    return tag


def _img2img_images(prepared: PreparedTask, values: dict[str, Any], settings: ApiSettings) -> None:
    init_images = values.get("init_images") or []
    if not init_images:
        raise InvalidTaskData("init_images", "img2img needs one init image")
    if len(init_images) > 1:
        raise InvalidTaskData("init_images", "give one image per task (queue one task per init image)")
    params = prepared.new.params
    init = _image_tag(prepared, init_images[0], "init_images.0", settings)
    if values.get("mask"):
        params["mode"] = 4  # inpaint upload
        params["init_img_inpaint"] = init
        params["init_mask_inpaint"] = _image_tag(prepared, values["mask"], "mask", settings)
    else:
        params["mode"] = 0
        params["init_img"] = init


def _scripts(values: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    script_args: dict[str, Any] = {}
    for title, entry in (values.get("alwayson_scripts") or {}).items():
        if not isinstance(title, str) or not title.strip():
            raise InvalidTaskData("alwayson_scripts", "script names must be non-empty text")
        args = entry.get("args") if isinstance(entry, dict) else None
        script_args[title] = escape_plain(list(args or []), f"alwayson_scripts.{title}.args")
    script_name = _clean(values.get("script_name"))
    selected_args = values.get("script_args") or []
    if script_name is None:
        if selected_args:
            raise InvalidTaskData("script_args", "given without script_name")
        return None, script_args
    if any(title.lower() == script_name.lower() for title in script_args):
        raise InvalidTaskData("script_name", f"{script_name!r} is also listed in alwayson_scripts")
    script_args[script_name] = escape_plain(list(selected_args), "script_args")
    return script_name, script_args


def check_callback_url(value: Any, settings: ApiSettings) -> str | None:
    """An http(s) URL to a public address (see callback_targets), or None."""
    url = _clean(value)
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise InvalidTaskData("callback_url", "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidTaskData("callback_url", "must be an http:// or https:// URL")
    check_at_queue_time(url, allow_private=settings.allow_private_callbacks)
    return url


# -- edits -----------------------------------------------------------------------------------


@dataclass
class Edit:
    params: dict[str, Any] | None = None
    checkpoint: str | None = None  # "" clears it
    name: str | None = None
    worker: str | None = None  # "" lets any worker run it
    exact: bool | None = None  # True: never in an auto-batch


def api_changes(kind: str, changes: dict[str, Any], task: Task) -> Edit:
    """Changes in API names (Agent Scheduler's PUT ``params``) -> a stored-params edit."""
    model = request_model(kind)
    known = set(pd.field_names(model))
    edit = Edit(params={})
    assert edit.params is not None
    processing = dict(task.params.get("processing") or {})
    overrides = dict(task.params.get("override_settings") or {})
    touched_processing = touched_overrides = False
    checked = _check_values(model, {k: v for k, v in changes.items() if v is not None and k in known})
    for name, value in changes.items():
        if name not in known:
            raise InvalidTaskData(f"params.{name}", "is not a parameter of this task kind")
        if name in INPUT_IMAGES or name in PROCESSING_IMAGES:
            raise InvalidTaskData(f"params.{name}", "images cannot be edited; queue a new task")
        if name in SCRIPT_FIELDS or name in (
            "name",
            "position",
            "priority",
            "callback_url",
            "worker",
            "exact",
            "infotext",
            "not_before",
            "repeat",
        ):
            raise InvalidTaskData(f"params.{name}", "cannot be changed through params")
        if name in IGNORED:
            continue
        value = checked.get(name, value)
        if name == "checkpoint":
            edit.checkpoint = _clean(value) or ""
        elif name in ("vae", "override_settings"):
            touched_overrides = True
        elif name in _processing_names(kind):
            if value is None:
                processing.pop(name, None)
            else:
                processing[name] = value
            touched_processing = True
        elif name == "sampler_index":
            edit.params["sampler_name"] = value
        else:
            edit.params[RENAMED.get(name, name)] = value
    if touched_processing:
        edit.params["processing"] = processing or None
    if touched_overrides:
        if "override_settings" in changes:
            overrides = escape_plain(dict(checked.get("override_settings") or {}), "override_settings")
        if "vae" in changes:
            if changes["vae"]:
                overrides["sd_vae"] = changes["vae"]
            else:
                overrides.pop("sd_vae", None)
        edit.params["override_settings"] = overrides or None
    return edit


def stored_changes(
    kind: str, changes: dict[str, Any], task: Task | None, owned_refs: list[str]
) -> dict[str, Any]:
    """Check a PATCH of stored params: known names are type-checked, file refs must be the task's."""
    model = request_model(kind)
    known = set(pd.field_names(model))
    reverse = {v: k for k, v in RENAMED.items()}
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if not isinstance(name, str) or not name:
            raise InvalidTaskData("params", "parameter names must be non-empty text")
        check_client_value(f"params.{name}", value, owned_refs, held_tags(task))
        if value is None:
            out[name] = None
            continue
        api_name = reverse.get(name, name)
        if name in ("processing", "override_settings"):
            if not isinstance(value, dict):
                raise InvalidTaskData(f"params.{name}", "must be an object")
            if name == "processing":
                plain = {k: v for k, v in value.items() if k in known and k not in PROCESSING_IMAGES}
                value = {**value, **_check_values(model, plain, prefix="params.processing")}
        elif (
            api_name in known
            and api_name not in INPUT_IMAGES + SCRIPT_FIELDS + TASK_FIELDS + IGNORED
            and not _is_tag(value)
        ):
            value = _check_values(model, {api_name: value}, prefix="params")[api_name]
        out[name] = value
    return out


def _check_values(
    model: type[pydantic.BaseModel], values: dict[str, Any], prefix: str = "params"
) -> dict[str, Any]:
    if not values:
        return {}
    try:
        validated = pd.validate(model, values)
    except pydantic.ValidationError as exc:
        first = pd.error_list(exc)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidTaskData(f"{prefix}.{where}", first["msg"]) from None
    dumped = pd.dump(validated, exclude_unset=True)
    return {k: dumped[k] for k in values if k in dumped}


def _is_tag(value: Any) -> bool:
    return isinstance(value, dict) and any(tag in value for tag in TAGS)


_NUMERIC_DTYPE = re.compile(r"^(bool|u?int(8|16|32|64)|float(16|32|64)|complex(64|128))$")


def held_tags(task: Task | None) -> frozenset[str]:
    """The object-tagged values a task already holds, as canonical JSON (an edit may keep them)."""
    if task is None:
        return frozenset()
    found: set[str] = set()
    stack: list[Any] = [task.params, task.script_args]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if any(tag in value for tag in OBJECT_TAGS):
                found.add(json.dumps(value, sort_keys=True))
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return frozenset(found)


def check_client_value(where: str, value: Any, owned: list[str], held: frozenset[str] = frozenset()) -> None:
    """A stored-shape value a client sent (PATCH, /import, follow-up params): tags are checked.

    File tags must name files the task owns; ``$path``, ``$dataclass`` and ``$enum`` are made
    only by the Queue button's capture, so a client may send one only as the task already holds
    it (a PATCH that leaves a captured ControlNet unit as it was). The rest are plain containers.
    """
    if isinstance(value, list):
        for index, inner in enumerate(value):
            check_client_value(f"{where}.{index}", inner, owned, held)
        return
    if not isinstance(value, dict):
        return
    tag = next((key for key in value if key in ALL_TAGS), None)
    if tag in OBJECT_TAGS:
        if json.dumps(value, sort_keys=True) not in held:
            raise InvalidTaskData(
                where, f"{tag} values are made by the Queue button only; send plain JSON through the API"
            )
        return
    if tag in TAGS and value[tag] not in owned:
        raise InvalidTaskData(where, "refers to a file this task does not have")
    if tag == "$npscalar" and not (isinstance(value[tag], str) and _NUMERIC_DTYPE.match(value[tag])):
        raise InvalidTaskData(where, "$npscalar needs a numeric dtype")
    for key, inner in value.items():
        check_client_value(f"{where}.{key}", inner, owned, held)


# -- stored -> API names (Agent Scheduler's TaskModel.params) ---------------------------------


def api_params_view(task: Task) -> dict[str, Any]:
    """The task's params under API names, without images; plus ``checkpoint`` (AS shape)."""
    reverse = {v: k for k, v in RENAMED.items()}
    view: dict[str, Any] = {}
    for name, value in task.params.items():
        if name == "processing" and isinstance(value, dict):
            for key, inner in value.items():
                if not _is_tag(inner):
                    view[key] = inner
            continue
        if _is_tag(value) or name == "mode":
            continue
        view[reverse.get(name, name)] = value
    if task.script_name:
        view["script_name"] = task.script_name
    view["checkpoint"] = task.checkpoint
    return view

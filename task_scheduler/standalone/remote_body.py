"""A stored task (docs/task-format.md) -> the JSON body of a WebUI's ``/sdapi/v1/txt2img|img2img``
(or, for an ``extras`` task, ``/sdapi/v1/extra-single-image``, whose field names it already has).

The stored shape names the WebUI entry point's parameters; the HTTP API names the processing
class's fields. Most names are the same; this module handles the rest in one place:
``prompt_styles`` -> ``styles``, the UI's "Use same ..." choices -> unset, the Seed and Refiner
switches, img2img's input images by mode, ``processing`` extras, script values by title
(``alwayson_scripts`` / ``script_name`` + ``script_args``), and tagged values (images become
base64 PNG, dataclass units their field dicts, enums their values).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidTaskData
from ..files import FileStore
from ..task import Task

RENAMED = {"prompt_styles": "styles"}
#: the UI's "no separate choice" values, which the WebUI's entry points turn into None
SAME_AS_FIRST_PASS = {
    "hr_checkpoint_name": "Use same checkpoint",
    "hr_sampler_name": "Use same sampler",
    "hr_scheduler": "Use same scheduler",
}
SEED_EXTRAS = ("subseed", "subseed_strength", "seed_resize_from_w", "seed_resize_from_h")
#: controls captured from the UI that have no field in the HTTP API (handled here or dropped)
UI_ONLY = frozenset(
    {
        "seed_enable_extras",
        "enable_refiner",
        "override_settings_texts",
        "mode",
        "init_img",
        "sketch",
        "sketch_fg",
        "init_img_with_mask",
        "init_img_with_mask_fg",
        "inpaint_color_sketch",
        "inpaint_color_sketch_fg",
        "inpaint_color_sketch_orig",
        "init_img_inpaint",
        "init_mask_inpaint",
        "mask_alpha",
        "selected_scale_tab",
        "scale_by",
        "img2img_batch_input_dir",
        "img2img_batch_output_dir",
        "img2img_batch_inpaint_mask_dir",
        "img2img_batch_use_png_info",
        "img2img_batch_png_info_props",
        "img2img_batch_png_info_dir",
        "img2img_batch_source_type",
        "img2img_batch_upload",
    }
)
#: the fields of ``/sdapi/v1/extra-single-image`` (``ExtrasSingleImageRequest``, Forge and A1111 1.10)
EXTRAS_FIELDS = (
    "image",
    "resize_mode",
    "show_extras_results",
    "gfpgan_visibility",
    "codeformer_visibility",
    "codeformer_weight",
    "upscaling_resize",
    "upscaling_resize_w",
    "upscaling_resize_h",
    "upscaling_crop",
    "upscaler_1",
    "upscaler_2",
    "extras_upscaler_2_visibility",
    "upscale_first",
)
IMG2IMG_MODES = {
    0: "img2img",
    1: "sketch",
    2: "inpaint",
    3: "inpaint sketch",
    4: "inpaint upload",
    5: "batch",
}


@dataclass
class RemoteRequest:
    """What to send: the endpoint, its JSON body, and what the runner must do around the call."""

    endpoint: str
    body: dict[str, Any]
    checkpoint: str | None = None
    warnings: list[str] = field(default_factory=list)


def build_request(task: Task, files: FileStore, *, scripts: set[str] | None = None) -> RemoteRequest:
    """Translate ``task``; ``scripts`` (lower-case titles the WebUI has) drops unknown script values.

    Raises :class:`InvalidTaskData` for what the HTTP API cannot express (e.g. batch-from-folder).
    """
    if task.kind == "extras":
        return _extras_request(task, _Converter(files))
    if task.kind not in ("txt2img", "img2img"):
        raise InvalidTaskData(
            "kind", f"the standalone server runs txt2img, img2img and extras, not {task.kind!r}"
        )
    convert = _Converter(files)
    params = dict(task.params)
    warnings: list[str] = []
    body: dict[str, Any] = {}

    processing = params.pop("processing", None) or {}
    overrides = dict(params.pop("override_settings", None) or {})
    checkpoint = task.checkpoint
    if "sd_model_checkpoint" in overrides:  # switched through the options endpoint, never restored
        named = overrides.pop("sd_model_checkpoint")
        checkpoint = checkpoint or (str(named) if named else None)
    if params.get("override_settings_texts"):
        warnings.append(
            "override_settings_texts (the UI's 'Override settings' labels) are not applied by the "
            "standalone server; give override_settings instead"
        )
    if params.get("seed_enable_extras") is False:
        params.update(subseed=-1, subseed_strength=0, seed_resize_from_w=0, seed_resize_from_h=0)
    if params.get("enable_refiner") is False:
        params.pop("refiner_checkpoint", None)
        params.pop("refiner_switch_at", None)
    for name, same in SAME_AS_FIRST_PASS.items():
        if params.get(name) == same:
            params.pop(name)
    if task.kind == "img2img":
        _img2img_inputs(params, body, convert)

    for name, value in params.items():
        if name in UI_ONLY:
            continue
        body[RENAMED.get(name, name)] = convert(value)
    for name, value in processing.items():
        body[name] = convert(value)
    if overrides:
        body["override_settings"] = convert(overrides)

    alwayson: dict[str, Any] = {}
    for title, args in task.script_args.items():
        if scripts is not None and title.lower() not in scripts:
            warnings.append(f"script {title!r} is not installed on this WebUI; its values were not applied")
            continue
        values = convert(list(args) if isinstance(args, list) else args)
        if task.script_name and title.lower() == task.script_name.lower():
            body["script_name"] = title
            body["script_args"] = values
        else:
            alwayson[title] = {"args": values}
    if task.script_name and "script_name" not in body:
        if scripts is not None and task.script_name.lower() not in scripts:
            raise InvalidTaskData(
                "script_name", f"script {task.script_name!r} is not installed on this WebUI"
            )
        body["script_name"] = task.script_name
        body["script_args"] = []
    if alwayson:
        body["alwayson_scripts"] = alwayson
    body["send_images"] = True
    body["save_images"] = False
    return RemoteRequest(f"/sdapi/v1/{task.kind}", body, checkpoint, warnings)


def _extras_request(task: Task, convert: _Converter) -> RemoteRequest:
    """The single-image upscale: the stored fields as they are, the image as base64."""
    if not _is_image(task.params.get("image")):
        raise InvalidTaskData("image", "an extras task needs its image")
    body: dict[str, Any] = {}
    warnings: list[str] = []
    for name, value in task.params.items():
        if name in EXTRAS_FIELDS:
            body[name] = convert(value)
        else:
            warnings.append(f"extras field '{name}' is not a field of /sdapi/v1/extra-single-image; ignored")
    return RemoteRequest("/sdapi/v1/extra-single-image", body, None, warnings)


def _img2img_inputs(params: dict[str, Any], body: dict[str, Any], convert: _Converter) -> None:
    mode = params.get("mode", 0)
    if mode == 0:
        init, mask = params.get("init_img"), None
    elif mode == 4:
        init, mask = params.get("init_img_inpaint"), params.get("init_mask_inpaint")
        if not _is_image(mask):
            raise InvalidTaskData("init_mask_inpaint", "an inpaint task needs its mask image")
    else:
        what = IMG2IMG_MODES.get(mode, repr(mode))
        raise InvalidTaskData(
            "mode", f"img2img mode {what!r} cannot run through the HTTP API; queue it as img2img with a mask"
        )
    if not _is_image(init):
        raise InvalidTaskData("init_img", "an img2img task needs its init image")
    body["init_images"] = [convert(init)]
    if mask is not None:
        body["mask"] = convert(mask)
    if params.get("selected_scale_tab") == 1:  # "Resize by": the size follows the init image
        scale = float(params.get("scale_by") or 1.0)
        width, height = init.get("size") or (0, 0)
        if width and height:
            params["width"], params["height"] = int(width * scale), int(height * scale)


def _is_image(value: Any) -> bool:
    return isinstance(value, dict) and "$image" in value


class _Converter:
    """Tagged JSON -> plain JSON the WebUI API accepts (images as base64 PNG)."""

    def __init__(self, files: FileStore) -> None:
        self.files = files

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "$image" in value:
            return base64.b64encode(self.files.read(value["$image"])).decode("ascii")
        if "$file" in value:
            return base64.b64encode(self.files.read(value["$file"])).decode("ascii")
        if "$ndarray" in value:
            return self._array(value)
        if "$dataclass" in value:
            return {key: self(item) for key, item in (value.get("fields") or {}).items()}
        if "$enum" in value or "$npscalar" in value:
            return self(value.get("value"))
        if "$tuple" in value:
            return [self(item) for item in value["$tuple"]]
        if "$dict" in value:
            return {key: self(item) for key, item in value["$dict"].items()}
        if "$float" in value:
            return float(value["$float"])
        if "$path" in value:
            return str(value["$path"])
        return {key: self(item) for key, item in value.items()}

    def _array(self, value: dict[str, Any]) -> Any:
        import numpy as np

        array = np.load(io.BytesIO(self.files.read(value["$ndarray"])), allow_pickle=False)
        if array.dtype == np.uint8 and (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4))):
            from PIL import Image

            buffer = io.BytesIO()
            Image.fromarray(array.squeeze(2) if array.ndim == 3 and array.shape[2] == 1 else array).save(
                buffer, format="PNG"
            )
            return base64.b64encode(buffer.getvalue()).decode("ascii")
        return array.tolist()

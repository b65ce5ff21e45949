"""API request/response models, as ``modules.api.models`` (imports pydantic; optional).

The processing request models get one optional field per init field of the processing dataclass
(minus the WebUI's not-allowed list) plus the API extras. Only the pydantic 1.10 / 2.x common
subset is used (``create_model`` with ``(type, default)`` tuples).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from modules.processing import StableDiffusionProcessingImg2Img, StableDiffusionProcessingTxt2Img
from pydantic import BaseModel, Field, create_model

API_NOT_ALLOWED = [
    "self",
    "kwargs",
    "sd_model",
    "outpath_samples",
    "outpath_grids",
    "sampler_index",
    "extra_generation_params",
    "overlay_images",
    "do_not_reload_embeddings",
    "seed_enable_extras",
    "prompt_for_display",
    "sampler_noise_scheduler_override",
    "ddim_discretize",
]

_SIMPLE = (int, float, str, bool)


_NAMED = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict}


def _field_type(annotation) -> Any:
    if isinstance(annotation, str):  # processing.py uses postponed annotations
        annotation = _NAMED.get(annotation.split("[", 1)[0], Any)
    if annotation in _SIMPLE:
        return Optional[annotation]
    origin = getattr(annotation, "__origin__", annotation)
    if origin is list:
        return Optional[list]
    if origin is dict:
        return Optional[dict]
    return Any


class PydanticModelGenerator:
    def __init__(self, model_name: str, class_instance, additional_fields: list[dict]):
        self._model_name = model_name
        self._class = class_instance
        self._additional = additional_fields

    def generate_model(self):
        fields: dict[str, tuple] = {}
        for f in dataclasses.fields(self._class):
            if not f.init or f.name in API_NOT_ALLOWED:
                continue
            default = f.default if f.default is not dataclasses.MISSING else None
            if isinstance(default, property):
                default = None
            fields[f.name] = (_field_type(f.type), default)
        for extra in self._additional:
            fields[extra["key"]] = (extra["type"], extra["default"])
        return create_model(self._model_name, **fields)


StableDiffusionTxt2ImgProcessingAPI = PydanticModelGenerator(
    "StableDiffusionProcessingTxt2Img",
    StableDiffusionProcessingTxt2Img,
    [
        {"key": "sampler_index", "type": str, "default": "Euler"},
        {"key": "script_name", "type": Optional[str], "default": None},
        {"key": "script_args", "type": list, "default": []},
        {"key": "send_images", "type": bool, "default": True},
        {"key": "save_images", "type": bool, "default": False},
        {"key": "alwayson_scripts", "type": dict, "default": {}},
        {"key": "force_task_id", "type": Optional[str], "default": None},
        {"key": "infotext", "type": Optional[str], "default": None},
    ],
).generate_model()

StableDiffusionImg2ImgProcessingAPI = PydanticModelGenerator(
    "StableDiffusionProcessingImg2Img",
    StableDiffusionProcessingImg2Img,
    [
        {"key": "sampler_index", "type": str, "default": "Euler"},
        {"key": "init_images", "type": Optional[list], "default": None},
        {"key": "denoising_strength", "type": float, "default": 0.75},
        {"key": "mask", "type": Optional[str], "default": None},
        {"key": "include_init_images", "type": bool, "default": False},
        {"key": "script_name", "type": Optional[str], "default": None},
        {"key": "script_args", "type": list, "default": []},
        {"key": "send_images", "type": bool, "default": True},
        {"key": "save_images", "type": bool, "default": False},
        {"key": "alwayson_scripts", "type": dict, "default": {}},
        {"key": "force_task_id", "type": Optional[str], "default": None},
        {"key": "infotext", "type": Optional[str], "default": None},
    ],
).generate_model()


class TextToImageResponse(BaseModel):
    images: Optional[list[str]] = Field(
        default=None, title="Image", description="The generated image in base64 format."
    )
    parameters: dict
    info: str


class ImageToImageResponse(BaseModel):
    images: Optional[list[str]] = Field(
        default=None, title="Image", description="The generated image in base64 format."
    )
    parameters: dict
    info: str


class ScriptArg(BaseModel):
    label: Optional[str] = None
    value: Optional[Any] = None
    minimum: Optional[Any] = None
    maximum: Optional[Any] = None
    step: Optional[Any] = None
    choices: Optional[Any] = None


class ScriptInfo(BaseModel):
    name: Optional[str] = None
    is_alwayson: Optional[bool] = None
    is_img2img: Optional[bool] = None
    args: list[ScriptArg] = []


class ProgressResponse(BaseModel):
    progress: float
    eta_relative: float
    state: dict
    current_image: Optional[str] = None
    textinfo: Optional[str] = None

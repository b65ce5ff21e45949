"""Callback registry, as ``modules.script_callbacks``.

Registering appends; firing goes through ``ordered_callbacks`` and wraps every call in try/except,
so an exception in a callback is reported (stderr) and never propagated. ``script_unloaded`` and
``before_ui`` fire in reverse registration order.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from typing import Any

from modules import errors


def report_exception(c: ScriptCallback, job: str) -> None:
    errors.report(f"Error executing callback {job} for {c.script}", exc_info=True)


class ImageSaveParams:
    def __init__(self, image, p, filename: str, pnginfo: dict):
        self.image = image
        self.p = p
        self.filename = filename
        self.pnginfo = pnginfo


class ImageGridLoopParams:
    def __init__(self, imgs, cols: int, rows: int):
        self.imgs = imgs
        self.cols = cols
        self.rows = rows


class CFGDenoiserParams:
    """Passed to ``on_cfg_denoiser`` callbacks once per sampling step (no tensors in the double)."""

    def __init__(
        self, x, image_cond, sigma, sampling_step, total_sampling_steps, text_cond, text_uncond, denoiser=None
    ):
        self.x = x
        self.image_cond = image_cond
        self.sigma = sigma
        self.sampling_step = sampling_step
        self.total_sampling_steps = total_sampling_steps
        self.text_cond = text_cond
        self.text_uncond = text_uncond
        self.denoiser = denoiser


@dataclasses.dataclass
class ScriptCallback:
    script: str
    callback: Callable
    name: str | None = None


_CATEGORIES = (
    "app_started",
    "model_loaded",
    "ui_tabs",
    "ui_train_tabs",
    "ui_settings",
    "before_image_saved",
    "image_saved",
    "extra_noise",
    "cfg_denoiser",
    "cfg_denoised",
    "cfg_after_cfg",
    "before_component",
    "after_component",
    "image_grid",
    "infotext_pasted",
    "script_unloaded",
    "before_ui",
    "on_reload",
    "list_optimizers",
    "list_unets",
    "before_token_counter",
)

callback_map: dict[str, list[ScriptCallback]] = {f"callbacks_{c}": [] for c in _CATEGORIES}


def _caller_filename() -> str:
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return frame.f_code.co_filename if frame is not None else "unknown file"


def add_callback(
    callbacks: list,
    fun: Callable,
    *,
    name: str | None = None,
    category: str = "unknown",
    filename: str | None = None,
) -> None:
    if filename is None:
        filename = _caller_filename()
    from modules import extensions

    extension = extensions.find_extension(filename)
    extension_name = extension.canonical_name if extension is not None else "base"
    callback_name = f"{extension_name}/{os.path.basename(filename)}/{category}"
    if name is not None:
        callback_name += f"/{name}"
    unique_name = callback_name
    index = 0
    while any(x.name == unique_name for x in callbacks):
        index += 1
        unique_name = f"{callback_name}-{index}"
    callbacks.append(ScriptCallback(filename, fun, unique_name))


def ordered_callbacks(
    category: str, unordered_callbacks: list | None = None, *, enable_user_sort: bool = True
) -> list[ScriptCallback]:
    """Registration order, with names listed in the ``prioritized_callbacks_<category>`` option first."""
    callbacks = list(
        unordered_callbacks if unordered_callbacks is not None else callback_map[f"callbacks_{category}"]
    )
    if not enable_user_sort:
        return callbacks
    shared = sys.modules.get("modules.shared")
    wanted = []
    if shared is not None:
        wanted = shared.opts.data.get(f"prioritized_callbacks_{category}") or []
    if not wanted:
        return callbacks
    first = [c for name in wanted for c in callbacks if c.name == name]
    return first + [c for c in callbacks if c not in first]


def _fire(category: str, job: str, *args: Any, reverse: bool = False) -> None:
    callbacks = ordered_callbacks(category)
    for c in reversed(callbacks) if reverse else callbacks:
        try:
            c.callback(*args)
        except Exception:
            report_exception(c, job)


def clear_callbacks() -> None:
    for callback_list in callback_map.values():
        callback_list.clear()


def app_started_callback(demo, app) -> None:
    _fire("app_started", "app_started_callback", demo, app)


def app_reload_callback() -> None:
    _fire("on_reload", "callbacks_on_reload")


def model_loaded_callback(sd_model) -> None:
    _fire("model_loaded", "model_loaded_callback", sd_model)


def ui_tabs_callback() -> list:
    res = []
    for c in ordered_callbacks("ui_tabs"):
        try:
            res += c.callback() or []
        except Exception:
            report_exception(c, "ui_tabs_callback")
    return res


def cfg_denoiser_callback(params: CFGDenoiserParams) -> None:
    _fire("cfg_denoiser", "cfg_denoiser_callback", params)


def cfg_denoised_callback(params) -> None:
    _fire("cfg_denoised", "cfg_denoised_callback", params)


def cfg_after_cfg_callback(params) -> None:
    _fire("cfg_after_cfg", "cfg_after_cfg_callback", params)


def ui_train_tabs_callback(params) -> None:
    _fire("ui_train_tabs", "callbacks_ui_train_tabs", params)


def ui_settings_callback() -> None:
    _fire("ui_settings", "ui_settings_callback")


def before_image_saved_callback(params: ImageSaveParams) -> None:
    _fire("before_image_saved", "before_image_saved_callback", params)


def image_saved_callback(params: ImageSaveParams) -> None:
    _fire("image_saved", "image_saved_callback", params)


def image_grid_callback(params: ImageGridLoopParams) -> None:
    _fire("image_grid", "image_grid", params)


def infotext_pasted_callback(infotext: str, params: dict) -> None:
    _fire("infotext_pasted", "infotext_pasted", infotext, params)


def script_unloaded_callback() -> None:
    _fire("script_unloaded", "script_unloaded", reverse=True)


def before_ui_callback() -> None:
    _fire("before_ui", "before_ui", reverse=True)


def before_component_callback(component, **kwargs) -> None:
    for c in ordered_callbacks("before_component"):
        try:
            c.callback(component, **kwargs)
        except Exception:
            report_exception(c, "before_component_callback")


def after_component_callback(component, **kwargs) -> None:
    for c in ordered_callbacks("after_component"):
        try:
            c.callback(component, **kwargs)
        except Exception:
            report_exception(c, "after_component_callback")


def remove_current_script_callbacks() -> None:
    filename = _caller_filename()
    if filename == "unknown file":
        return
    for callback_list in callback_map.values():
        for cb in [cb for cb in callback_list if cb.script == filename]:
            callback_list.remove(cb)


def remove_callbacks_for_function(callback_func: Callable) -> None:
    for callback_list in callback_map.values():
        for cb in [cb for cb in callback_list if cb.callback == callback_func]:
            callback_list.remove(cb)


def _register(category: str):
    def on(callback: Callable, *, name: str | None = None) -> None:
        add_callback(callback_map[f"callbacks_{category}"], callback, name=name, category=category)

    return on


on_app_started = _register("app_started")
on_before_reload = _register("on_reload")
on_model_loaded = _register("model_loaded")
on_ui_tabs = _register("ui_tabs")
on_ui_train_tabs = _register("ui_train_tabs")
on_ui_settings = _register("ui_settings")
on_before_image_saved = _register("before_image_saved")
on_image_saved = _register("image_saved")
on_image_grid = _register("image_grid")
on_infotext_pasted = _register("infotext_pasted")
on_script_unloaded = _register("script_unloaded")
on_before_ui = _register("before_ui")
on_before_component = _register("before_component")
on_after_component = _register("after_component")
on_list_optimizers = _register("list_optimizers")
on_list_unets = _register("list_unets")
on_cfg_denoiser = _register("cfg_denoiser")
on_cfg_denoised = _register("cfg_denoised")
on_cfg_after_cfg = _register("cfg_after_cfg")
on_extra_noise = _register("extra_noise")
on_before_token_counter = _register("before_token_counter")

"""Scripts and script runners, as ``modules.scripts``.

``ScriptRunner.inputs`` is ``[script dropdown] + every script's controls``; each script's slice is
``inputs[script.args_from:script.args_to]``. Always-on scripts are laid out first (by UI section),
then the dropdown goes into ``inputs[0]`` and the selectable scripts follow. Every hook call made by
a runner is also appended to ``runner._shim_calls`` as ``(hook, title, args)`` for tests.
"""

from __future__ import annotations

import dataclasses
import os
from collections import namedtuple
from typing import Any

from modules import errors, shared

from webui_double.script_base import AlwaysVisible, Script, ScriptBuiltinUI  # noqa: F401  (stable across installs)


class MaskBlendArgs:
    def __init__(self, current_latent, nmask, init_latent, mask, blended_latent, denoiser=None, sigma=None):
        self.current_latent = current_latent
        self.nmask = nmask
        self.init_latent = init_latent
        self.mask = mask
        self.blended_latent = blended_latent
        self.denoiser = denoiser
        self.is_final_blend = denoiser is None
        self.sigma = sigma


class PostSampleArgs:
    def __init__(self, samples):
        self.samples = samples


class PostprocessImageArgs:
    def __init__(self, image):
        self.image = image


class PostProcessMaskOverlayArgs:
    def __init__(self, index, mask_for_overlay, overlay_image):
        self.index = index
        self.mask_for_overlay = mask_for_overlay
        self.overlay_image = overlay_image


class PostprocessBatchListArgs:
    def __init__(self, images):
        self.images = images


@dataclasses.dataclass
class OnComponent:
    component: Any


@dataclasses.dataclass
class _ScriptArg:
    """Fallback for ``modules.api.models.ScriptArg`` when pydantic is not installed."""

    label: str = ""
    value: Any = None
    minimum: Any = None
    maximum: Any = None
    step: Any = None
    choices: Any = None


@dataclasses.dataclass
class _ScriptInfo:
    name: str
    is_img2img: bool
    is_alwayson: bool
    args: list


def _api_info_classes():
    """The API's pydantic ``ScriptArg``/``ScriptInfo`` (as in the WebUI); dataclasses without pydantic."""
    try:
        from modules.api import models
    except ImportError:
        return _ScriptArg, _ScriptInfo
    return models.ScriptArg, models.ScriptInfo


ScriptClassData = namedtuple("ScriptClassData", ["script_class", "path", "basedir", "module"])

scripts_data: list = []
postprocessing_scripts_data: list = []
_shim_script_tabs: dict = {}  # script_class -> allowed tabs (harness-only restriction)


def list_scripts(scriptdirname, extension, *, include_extensions=True):
    return []


def load_scripts() -> None:
    """Re-create the runners (as a WebUI reload does); the harness fills ``scripts_data`` and
    ``postprocessing_scripts_data``."""
    global scripts_txt2img, scripts_img2img, scripts_postproc
    from modules import scripts_postprocessing

    scripts_txt2img = ScriptRunner()
    scripts_img2img = ScriptRunner()
    scripts_postproc = scripts_postprocessing.ScriptPostprocessingRunner()


def wrap_call(func, filename, funcname, *args, default=None, **kwargs):
    try:
        return func(*args, **kwargs)
    except Exception:
        errors.report(f"Error calling: {filename}/{funcname}", exc_info=True)
    return default


_SECTION_ORDER = {"sampler": 0, "accordions": 1, "seed": 2}


class ScriptRunner:
    def __init__(self):
        self.scripts: list[Script] = []
        self.selectable_scripts: list[Script] = []
        self.alwayson_scripts: list[Script] = []
        self.titles: list[str] = []
        self.title_map: dict[str, Script] = {}
        self.infotext_fields: list = []
        self.paste_field_names: list = []
        self.inputs: list = [None]
        self.callback_map: dict = {}
        self.callback_names: list = []
        self.on_before_component_elem_id: dict = {}
        self.on_after_component_elem_id: dict = {}
        self.is_img2img = False
        self._shim_calls: list[tuple[str, str, tuple]] = []

    def initialize_scripts(self, is_img2img) -> None:
        self.scripts.clear()
        self.alwayson_scripts.clear()
        self.selectable_scripts.clear()
        self.is_img2img = is_img2img
        tab = "img2img" if is_img2img else "txt2img"
        for script_data in scripts_data:
            tabs = _shim_script_tabs.get(script_data.script_class)
            if tabs is not None and tab not in tabs:
                continue
            script = script_data.script_class()
            script.filename = script_data.path
            script.is_txt2img = not is_img2img
            script.is_img2img = is_img2img
            script.tabname = tab
            visibility = script.show(script.is_img2img)
            if visibility == AlwaysVisible:
                self.scripts.append(script)
                self.alwayson_scripts.append(script)
                script.alwayson = True
            elif visibility:
                self.scripts.append(script)
                self.selectable_scripts.append(script)
        self.alwayson_scripts.sort(key=lambda x: (_SECTION_ORDER.get(x.section, 3), x.sorting_priority))
        self.apply_on_before_component_callbacks()

    def apply_on_before_component_callbacks(self) -> None:
        for script in self.scripts:
            for elem_id, callback in script.on_before_component_elem_id or []:
                self.on_before_component_elem_id.setdefault(elem_id, []).append((callback, script))
            for elem_id, callback in script.on_after_component_elem_id or []:
                self.on_after_component_elem_id.setdefault(elem_id, []).append((callback, script))
            script.on_before_component_elem_id = []
            script.on_after_component_elem_id = []

    def create_script_ui(self, script: Script) -> None:
        script.args_from = len(self.inputs)
        script.args_to = len(self.inputs)
        try:
            self.create_script_ui_inner(script)
        except Exception:
            errors.report(f"Error creating UI for {script.name}: ", exc_info=True)

    def create_script_ui_inner(self, script: Script) -> None:
        controls = wrap_call(script.ui, script.filename, "ui", script.is_img2img)
        if controls is None:
            return
        controls = list(controls)
        script.name = wrap_call(script.title, script.filename, "title", default=script.filename).lower()
        ScriptArg, ScriptInfo = _api_info_classes()  # noqa: N806
        api_args = []
        for control in controls:
            control.custom_script_source = os.path.basename(script.filename or "")
            arg_info = ScriptArg(label=getattr(control, "label", None) or "")
            for fieldname in ("value", "minimum", "maximum", "step", "choices"):
                v = getattr(control, fieldname, None)
                if v is not None:
                    setattr(arg_info, fieldname, v)
            api_args.append(arg_info)
        script.api_info = ScriptInfo(
            name=script.name, is_img2img=script.is_img2img, is_alwayson=script.alwayson, args=api_args
        )
        if script.infotext_fields is not None:
            self.infotext_fields += script.infotext_fields
        if script.paste_field_names is not None:
            self.paste_field_names += script.paste_field_names
        self.inputs += controls
        script.controls = controls
        script.args_to = len(self.inputs)

    def setup_ui_for_section(self, section, scriptlist=None) -> None:
        if scriptlist is None:
            scriptlist = self.alwayson_scripts
        for script in scriptlist:
            if script.alwayson and script.section != section:
                continue
            self.create_script_ui(script)

    def prepare_ui(self) -> None:
        self.inputs = [None]

    def setup_ui(self) -> list:
        from webui_double.components import Dropdown

        all_titles = [wrap_call(s.title, s.filename, "title") or s.filename for s in self.scripts]
        self.title_map = {
            title.lower(): script for title, script in zip(all_titles, self.scripts, strict=True)
        }
        self.titles = [
            wrap_call(s.title, s.filename, "title") or f"{s.filename} [error]"
            for s in self.selectable_scripts
        ]
        self.setup_ui_for_section(None)
        dropdown = Dropdown(
            label="Script", elem_id="script_list", choices=["None"] + self.titles, value="None", type="index"
        )
        self.inputs[0] = dropdown
        self.setup_ui_for_section(None, self.selectable_scripts)
        return self.inputs

    def run(self, p, *args):
        """Run the selectable script chosen by ``args[0]``; 0/None → None (the caller runs process_images)."""
        script_index = args[0]
        if script_index == 0 or script_index is None:
            return None
        script = self.selectable_scripts[script_index - 1]
        if script is None:
            return None
        script_args = args[script.args_from : script.args_to]
        self._shim_calls.append(("run", _title(script), tuple(script_args)))
        processed = script.run(p, *script_args)
        shared.total_tqdm.clear()
        return processed

    def _hook(self, hook: str, p, *extra, **kwargs) -> None:
        for script in self.alwayson_scripts:
            try:
                script_args = p.script_args[script.args_from : script.args_to]
                self._shim_calls.append((hook, _title(script), tuple(script_args)))
                getattr(script, hook)(p, *extra, *script_args, **kwargs)
            except Exception:
                errors.report(f"Error running {hook}: {script.filename}", exc_info=True)

    def setup_scrips(self, p, *, is_ui=True) -> None:
        for script in self.alwayson_scripts:
            if not is_ui and script.setup_for_ui_only:
                continue
            try:
                script_args = p.script_args[script.args_from : script.args_to]
                self._shim_calls.append(("setup", _title(script), tuple(script_args)))
                script.setup(p, *script_args)
            except Exception:
                errors.report(f"Error running setup: {script.filename}", exc_info=True)

    def before_process(self, p):
        self._hook("before_process", p)

    def process(self, p):
        self._hook("process", p)

    def before_process_batch(self, p, **kwargs):
        self._hook("before_process_batch", p, **kwargs)

    def after_extra_networks_activate(self, p, **kwargs):
        self._hook("after_extra_networks_activate", p, **kwargs)

    def process_before_every_sampling(self, p, **kwargs):
        self._hook("process_before_every_sampling", p, **kwargs)

    def process_batch(self, p, **kwargs):
        self._hook("process_batch", p, **kwargs)

    def postprocess(self, p, processed):
        self._hook("postprocess", p, processed)

    def postprocess_batch(self, p, images, **kwargs):
        self._hook("postprocess_batch", p, images=images, **kwargs)

    def postprocess_batch_list(self, p, pp: PostprocessBatchListArgs, **kwargs):
        self._hook("postprocess_batch_list", p, pp, **kwargs)

    def postprocess_image(self, p, pp: PostprocessImageArgs):
        self._hook("postprocess_image", p, pp)

    def before_hr(self, p):
        self._hook("before_hr", p)

    def before_component(self, component, **kwargs):
        for callback, script in self.on_before_component_elem_id.get(kwargs.get("elem_id"), []):
            try:
                callback(OnComponent(component=component))
            except Exception:
                errors.report(f"Error running on_before_component: {script.filename}", exc_info=True)
        for script in self.scripts:
            try:
                script.before_component(component, **kwargs)
            except Exception:
                errors.report(f"Error running before_component: {script.filename}", exc_info=True)

    def after_component(self, component, **kwargs):
        for callback, script in self.on_after_component_elem_id.get(getattr(component, "elem_id", None), []):
            try:
                callback(OnComponent(component=component))
            except Exception:
                errors.report(f"Error running on_after_component: {script.filename}", exc_info=True)
        for script in self.scripts:
            try:
                script.after_component(component, **kwargs)
            except Exception:
                errors.report(f"Error running after_component: {script.filename}", exc_info=True)

    def script(self, title):
        return self.title_map.get(title.lower())

    def reload_sources(self, cache=None) -> None:
        pass

    def set_named_arg(self, args, script_name, arg_elem_id, value, fuzzy=False):
        """Set the value of the control with ``elem_id`` (fuzzy: containing it) in a script-args list."""
        script = next((x for x in self.scripts if x.name == script_name), None)
        if script is None:
            raise RuntimeError(f"script {script_name} not found")
        for i, control in enumerate(script.controls):
            if arg_elem_id in control.elem_id if fuzzy else arg_elem_id == control.elem_id:
                index = script.args_from + i
                if isinstance(args, tuple):
                    return args[:index] + (value,) + args[index + 1 :]
                if isinstance(args, list):
                    args[index] = value
                    return args
                raise RuntimeError(f"args is not a list or tuple, but {type(args)}")
        raise RuntimeError(f"arg_elem_id {arg_elem_id} not found in script {script_name}")


def _title(script) -> str:
    try:
        return script.title()
    except Exception:
        return str(script.name)


scripts_txt2img: ScriptRunner = ScriptRunner()
scripts_img2img: ScriptRunner = ScriptRunner()
scripts_postproc = None
scripts_current: ScriptRunner | None = None


def reload_script_body_only() -> None:
    pass


reload_scripts = load_scripts

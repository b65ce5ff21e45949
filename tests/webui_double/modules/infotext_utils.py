"""Infotext parsing and paste bindings, as ``modules.infotext_utils``.

Also importable as ``modules.generation_parameters_copypaste`` (the old name). There is no gradio:
``connect_paste_params_buttons()`` only marks the registered bindings as connected, and
``_shim_paste(tabname, infotext)`` computes what a paste would put into each registered field.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import sys

from modules import script_callbacks, shared
from PIL import Image

from webui_double import shim_config

sys.modules["modules.generation_parameters_copypaste"] = sys.modules[__name__]

re_param_code = r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)'
re_param = re.compile(re_param_code)
re_imagesize = re.compile(r"^(\d+)x(\d+)$")
re_hypernet_hash = re.compile(r"\(([0-9a-f]+)\)$")

paste_fields: dict = {}
registered_param_bindings: list = []
connected_bindings: list = []


class ParamBinding:
    def __init__(
        self,
        paste_button,
        tabname,
        source_text_component=None,
        source_image_component=None,
        source_tabname=None,
        override_settings_component=None,
        paste_field_names=None,
    ):
        self.paste_button = paste_button
        self.tabname = tabname
        self.source_text_component = source_text_component
        self.source_image_component = source_image_component
        self.source_tabname = source_tabname
        self.override_settings_component = override_settings_component
        self.paste_field_names = paste_field_names or []


class PasteField(tuple):
    def __new__(cls, component, target, *, api=None):
        return super().__new__(cls, (component, target))

    def __init__(self, component, target, *, api=None):
        super().__init__()
        self.api = api
        self.component = component
        self.label = target if isinstance(target, str) else None
        self.function = target if callable(target) else None


def reset() -> None:
    paste_fields.clear()
    registered_param_bindings.clear()
    connected_bindings.clear()


def quote(text):
    if "," not in str(text) and "\n" not in str(text) and ":" not in str(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def unquote(text):
    if len(text) == 0 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        return json.loads(text)
    except Exception:
        return text


def image_from_url_text(filedata):
    """Gallery item / file dict / data URI → PIL image."""
    if filedata is None:
        return None
    if isinstance(filedata, list):
        if not filedata:
            return None
        filedata = filedata[0]
    if isinstance(filedata, tuple) and filedata:  # gradio 4 gallery item: (image, caption)
        filedata = filedata[0]
    if isinstance(filedata, Image.Image):
        return filedata
    if isinstance(filedata, dict):
        if filedata.get("is_file") or filedata.get("path") or filedata.get("name"):
            return Image.open(filedata.get("path") or filedata.get("name"))
        filedata = filedata.get("url") or filedata.get("data")
    if isinstance(filedata, str) and filedata.startswith("data:image/"):
        filedata = filedata[filedata.index(",") + 1 :]
    if isinstance(filedata, str) and os.path.exists(filedata):
        return Image.open(filedata)
    return Image.open(io.BytesIO(base64.b64decode(filedata)))


def add_paste_fields(tabname, init_img, fields, override_settings_component=None):
    if fields:
        for i in range(len(fields)):
            if not isinstance(fields[i], PasteField):
                fields[i] = PasteField(*fields[i])
    paste_fields[tabname] = {
        "init_img": init_img,
        "fields": fields,
        "override_settings_component": override_settings_component,
    }


def create_buttons(tabs_list):
    return dict.fromkeys(tabs_list)


def bind_buttons(buttons, send_image, send_generate_info):
    for tabname, button in buttons.items():
        register_paste_params_button(
            ParamBinding(
                paste_button=button,
                tabname=tabname,
                source_text_component=send_generate_info,
                source_image_component=send_image,
            )
        )


def register_paste_params_button(binding: ParamBinding) -> None:
    registered_param_bindings.append(binding)


def connect_paste_params_buttons() -> None:
    """Wire every registered binding once (bindings registered later are never wired)."""
    for binding in registered_param_bindings:
        if binding not in connected_bindings:
            connected_bindings.append(binding)


def parse_generation_parameters(x: str, skip_fields: list[str] | None = None) -> dict:
    """Parse an infotext into ``{label: string value}`` (``Size`` → ``Size-1``/``Size-2``)."""
    if skip_fields is None:
        skip_fields = shared.opts.infotext_skip_pasting

    res: dict = {}
    prompt = ""
    negative_prompt = ""
    done_with_prompt = False

    *lines, lastline = x.strip().split("\n")
    if len(re_param.findall(lastline)) < 3:
        lines.append(lastline)
        lastline = ""

    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            done_with_prompt = True
            line = line[16:].strip()
        if done_with_prompt:
            negative_prompt += ("" if negative_prompt == "" else "\n") + line
        else:
            prompt += ("" if prompt == "" else "\n") + line

    res["Prompt"] = prompt
    res["Negative prompt"] = negative_prompt

    for k, v in re_param.findall(lastline):
        try:
            if v and v[0] == '"' and v[-1] == '"':
                v = unquote(v)
            m = re_imagesize.match(v)
            if m is not None:
                res[f"{k}-1"] = m.group(1)
                res[f"{k}-2"] = m.group(2)
            else:
                res[k] = v
        except Exception:
            print(f'Error parsing "{k}: {v}"')

    res.setdefault("Clip skip", "1")
    res.setdefault("Hires resize-1", "0")
    res.setdefault("Hires resize-2", "0")
    res.setdefault("Hires sampler", "Use same sampler")
    res.setdefault("Hires schedule type", "Use same scheduler")
    res.setdefault("Hires checkpoint", "Use same checkpoint")
    res.setdefault("Hires prompt", "")
    res.setdefault("Hires negative prompt", "")
    res.setdefault("Mask mode", "Inpaint masked")
    res.setdefault("Masked content", "original")
    res.setdefault("Inpaint area", "Whole picture")
    res.setdefault("Masked area padding", 32)
    res.setdefault("RNG", "GPU")
    res.setdefault("Schedule type", "Automatic")
    res.setdefault("Schedule max sigma", 0)
    res.setdefault("Schedule min sigma", 0)
    res.setdefault("Schedule rho", 0)
    res.setdefault("VAE Encoder", "Full")
    res.setdefault("VAE Decoder", "Full")
    res.setdefault("FP8 weight", "Disable")
    res.setdefault("Cache FP16 weight for LoRA", False)
    res.setdefault("Refiner switch by sampling steps", False)

    for key in skip_fields or []:
        res.pop(key, None)
    return res


infotext_to_setting_name_mapping = (
    [("VAE/TE", "forge_additional_modules")]
    if shared.opts.data_labels.get("forge_additional_modules") is not None
    else []
)


def _mapping():
    labels = [(info.infotext, k) for k, info in shared.opts.data_labels.items() if info.infotext]
    return labels + infotext_to_setting_name_mapping


def create_override_settings_dict(text_pairs) -> dict:
    """``["Clip skip: 2"]`` → ``{"CLIP_stop_at_last_layers": 2}`` (labels from the options' ``infotext``)."""
    res = {}
    params = {}
    if shim_config.current.is_forge and not text_pairs:  # Forge returns early; A1111 iterates
        return res
    for pair in text_pairs:  # A1111: None raises TypeError, as in the real one
        k, v = pair.split(":", maxsplit=1)
        params[k] = v.strip()
    for param_name, setting_name in _mapping():
        value = params.get(param_name)
        if value is None:
            continue
        res[setting_name] = shared.opts.cast_value(setting_name, value)
    return res


def get_override_settings(params, *, skip_fields=None):
    """``[(infotext label, setting name, value)]`` for settings in ``params`` that differ from ``opts``."""
    res = []
    for param_name, setting_name in _mapping():
        if param_name in (skip_fields or {}):
            continue
        v = params.get(param_name, None)
        if v is None:
            continue
        if (
            setting_name in ("sd_model_checkpoint", "forge_additional_modules")
            and shared.opts.disable_weights_auto_swap
        ):
            continue
        v = shared.opts.cast_value(setting_name, v)
        current_value = getattr(shared.opts, setting_name, None)
        if v == current_value:
            continue
        res.append((param_name, setting_name, v))
    return res


def _cast_like(current, value):
    if current is None or value is None:
        return value
    try:
        if isinstance(current, bool):
            return value if isinstance(value, bool) else str(value) == "True"
        if isinstance(current, int | float):
            number = float(value)
            return int(number) if isinstance(current, int) and number.is_integer() else number
        return type(current)(value)
    except (TypeError, ValueError):
        return current


def _shim_paste(tabname: str, infotext: str) -> dict:
    """Test helper: ``{component: new value}`` that pasting ``infotext`` into ``tabname`` would produce."""
    params = parse_generation_parameters(infotext)
    script_callbacks.infotext_pasted_callback(infotext, params)
    res = {}
    for field in paste_fields.get(tabname, {}).get("fields") or []:
        component, key = field
        if callable(key):
            value = key(params)
        else:
            value = params.get(key, None)
        if value is None:
            continue
        res[component] = _cast_like(getattr(component, "value", None), value)
    return res

"""Extras-tab operations and their runner, as ``modules.scripts_postprocessing``.

``ScriptPostprocessingRunner`` holds one instance of every registered postprocessing script
(``modules.scripts.postprocessing_scripts_data``; "Simple Upscale" is left out, as in the WebUI),
ordered by ``opts.postprocessing_operation_order`` then ``order``. ``setup_ui()`` lays out their
controls into one flat input list (each script owns ``inputs[args_from:args_to]``);
``create_args_for_run({script name: {argument: value}})`` builds such a list for a call without
the UI (arguments not given are ``None``); ``run(pp, args)`` runs every script's
``process_firstpass`` and then its ``process`` on the image and on the extra images scripts add.
"""

from __future__ import annotations

import dataclasses
import os

from modules import errors, shared

from webui_double.script_base import ScriptPostprocessing  # noqa: F401  (stable across installs)


@dataclasses.dataclass
class PostprocessedImageSharedInfo:
    target_width: int | None = None
    target_height: int | None = None


class PostprocessedImage:
    def __init__(self, image):
        self.image = image
        self.info: dict = {}
        self.shared = PostprocessedImageSharedInfo()
        self.extra_images: list = []
        self.nametags: list[str] = []
        self.disable_processing = False
        self.caption = None

    def get_suffix(self, used_suffixes=None):
        """``-tag1-tag2`` from the name tags, made unique within ``used_suffixes`` with ``-N``."""
        used = {} if used_suffixes is None else used_suffixes
        base = "".join(f"-{tag}" for tag in self.nametags)
        candidates = [base] + [f"{base}-{n}" for n in range(1, 100)]
        for candidate in candidates:
            if candidate not in used:
                used[candidate] = 1
                return candidate
        return base

    def create_copy(self, new_image, *, nametags=None, disable_processing=False):
        copy = PostprocessedImage(new_image)
        copy.shared = self.shared
        copy.nametags = list(self.nametags) + list(nametags or [])
        copy.info = dict(self.info)
        copy.disable_processing = disable_processing
        return copy


def wrap_call(func, filename, funcname, *args, default=None, **kwargs):
    try:
        return func(*args, **kwargs)
    except Exception as e:
        errors.display(e, f"calling {filename}/{funcname}")
    return default


class ScriptPostprocessingRunner:
    def __init__(self):
        self.scripts = None
        self.ui_created = False

    def initialize_scripts(self, scripts_data):
        self.scripts = []
        for data in scripts_data:
            script = data.script_class()
            script.filename = data.path
            if script.name != "Simple Upscale":
                self.scripts.append(script)

    def create_script_ui(self, script, inputs):
        script.args_from = len(inputs)
        script.controls = wrap_call(script.ui, script.filename, "ui") or {}
        for control in script.controls.values():
            control.custom_script_source = os.path.basename(script.filename or "")
        inputs += list(script.controls.values())
        script.args_to = len(inputs)

    def scripts_in_preferred_order(self):
        if self.scripts is None:
            from modules import scripts

            self.initialize_scripts(scripts.postprocessing_scripts_data)
        preferred = list(shared.opts.postprocessing_operation_order or [])
        disabled = set(shared.opts.postprocessing_disable_in_extras or [])
        kept = [script for script in self.scripts if script.name not in disabled]

        def rank(indexed):
            index, script = indexed
            place = preferred.index(script.name) if script.name in preferred else len(self.scripts)
            return place, script.order, script.name, index

        return [script for _, script in sorted(enumerate(kept), key=rank)]

    def setup_ui(self):
        inputs: list = []
        for script in self.scripts_in_preferred_order():
            self.create_script_ui(script, inputs)
        self.ui_created = True
        return inputs

    def run(self, pp, args):
        planned = []
        for script in self.scripts_in_preferred_order():
            values = args[script.args_from : script.args_to]
            planned.append((script, dict(zip(script.controls, values, strict=False))))
        for script, kwargs in planned:
            script.process_firstpass(pp, **kwargs)
        images = [pp]
        for script, kwargs in planned:
            if shared.state.skipped:
                break
            shared.state.job = script.name
            for image in list(images):
                if not image.disable_processing:
                    script.process(image, **kwargs)
                for extra in image.extra_images:
                    images.append(
                        extra if isinstance(extra, PostprocessedImage) else image.create_copy(extra)
                    )
                image.extra_images.clear()
        pp.extra_images = images[1:]

    def create_args_for_run(self, scripts_args):
        if not self.ui_created:
            self.setup_ui()
        ordered = self.scripts_in_preferred_order()
        args = [None] * max((script.args_to for script in ordered), default=0)
        for script in ordered:
            given = scripts_args.get(script.name)
            if given is None:
                continue
            for offset, name in enumerate(script.controls):
                args[script.args_from + offset] = given.get(name)
        return args

    def image_changed(self):
        for script in self.scripts_in_preferred_order():
            script.image_changed()

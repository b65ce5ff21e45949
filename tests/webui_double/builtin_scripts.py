"""Fakes of scripts every WebUI install ships, registered by the harness for each UI build.

* ``XYZPlot`` ("X/Y/Z plot", selectable): runs ``process_images`` once per axis value and returns
  one ``Processed`` whose first image is the grid (lone images only with ``include_lone_images``).
* ``PromptsFromFile`` ("Prompts from file or textbox", selectable): one ``process_images`` per line.
* ``ForgeControlNet`` ("ControlNet", always-on, Forge flavour only): one ``gr.State``-like arg per
  unit holding a ``lib_controlnet.external_code.ControlNetUnit``.
"""

from __future__ import annotations

import copy
import shlex

from PIL import Image

from webui_double.components import Checkbox, Dropdown, Radio, State, Textbox
from webui_double.script_base import AlwaysVisible, Script

# ``modules`` is imported inside methods: these classes outlive any one install() of the double.


class RecordingScript(Script):
    """Base for the double's fake scripts: every hook appends ``(hook, args)`` to ``self.received``."""

    def __init__(self):
        self.received: list[tuple[str, tuple]] = []

    def _record(self, hook: str, args: tuple) -> None:
        self.received.append((hook, tuple(args)))

    def setup(self, p, *args):
        self._record("setup", args)

    def before_process(self, p, *args):
        self._record("before_process", args)

    def process(self, p, *args):
        self._record("process", args)

    def postprocess(self, p, processed, *args):
        self._record("postprocess", args)

    def args_for(self, hook: str) -> list[tuple]:
        return [args for name, args in self.received if name == hook]


XYZ_AXES = ["Nothing", "Seed", "Steps", "CFG Scale", "Prompt S/R", "Sampler", "Checkpoint name"]


def _split_values(text: str) -> list[str]:
    return [x.strip() for x in next(iter(_csv_rows(text)), []) if x.strip()]


def _csv_rows(text: str):
    import csv
    import io

    return csv.reader(io.StringIO(text or ""))


class XYZPlot(Script):
    _shim_arg_names = (
        "x_type",
        "x_values",
        "y_type",
        "y_values",
        "draw_legend",
        "include_lone_images",
        "no_fixed_seeds",
    )

    def __init__(self):
        self.received: list[tuple[str, tuple]] = []

    def title(self):
        return "X/Y/Z plot"

    def ui(self, is_img2img):
        x_type = Dropdown(
            label="X type", choices=XYZ_AXES, value="Seed", type="index", elem_id=self.elem_id("x_type")
        )
        x_values = Textbox(label="X values", value="", elem_id=self.elem_id("x_values"))
        y_type = Dropdown(
            label="Y type", choices=XYZ_AXES, value="Nothing", type="index", elem_id=self.elem_id("y_type")
        )
        y_values = Textbox(label="Y values", value="", elem_id=self.elem_id("y_values"))
        draw_legend = Checkbox(label="Draw legend", value=True, elem_id=self.elem_id("draw_legend"))
        include_lone_images = Checkbox(
            label="Include Sub Images", value=False, elem_id=self.elem_id("include_lone_images")
        )
        no_fixed_seeds = Checkbox(
            label="Keep -1 for seeds", value=False, elem_id=self.elem_id("no_fixed_seeds")
        )
        return [x_type, x_values, y_type, y_values, draw_legend, include_lone_images, no_fixed_seeds]

    @staticmethod
    def _apply(p, axis: int, value, values: list) -> None:
        from modules import sd_models, sd_samplers

        name = XYZ_AXES[axis]
        if name == "Nothing" or value is None:
            return
        if name == "Seed":
            p.seed = int(value)
        elif name == "Steps":
            p.steps = int(value)
        elif name == "CFG Scale":
            p.cfg_scale = float(value)
        elif name == "Prompt S/R":
            p.prompt = p.prompt.replace(values[0], value)
            p.negative_prompt = p.negative_prompt.replace(values[0], value)
        elif name == "Sampler":
            sampler = sd_samplers.samplers_map.get(value.lower())
            if sampler is None:
                raise RuntimeError(f"Unknown sampler: {value}")
            p.sampler_name = sampler
        elif name == "Checkpoint name":
            info = sd_models.get_closet_checkpoint_match(value)
            if info is None:
                raise RuntimeError(f"Unknown checkpoint: {value}")
            p.override_settings["sd_model_checkpoint"] = info.name

    def run(self, p, x_type, x_values, y_type, y_values, draw_legend, include_lone_images, no_fixed_seeds):
        from modules import images, processing, shared

        self.received.append(
            ("run", (x_type, x_values, y_type, y_values, draw_legend, include_lone_images, no_fixed_seeds))
        )
        if not no_fixed_seeds:
            processing.fix_seed(p)
        xs = _split_values(x_values) if XYZ_AXES[x_type] != "Nothing" else []
        ys = _split_values(y_values) if XYZ_AXES[y_type] != "Nothing" else []
        xs = xs or [None]
        ys = ys or [None]
        p.do_not_save_grid = True
        shared.state.job_count = len(xs) * len(ys) * p.n_iter

        cells, results = [], []
        for y in ys:
            for x in xs:
                if shared.state.interrupted or shared.state.stopping_generation:
                    break
                pc = copy.copy(p)
                pc.styles = list(p.styles)
                pc.override_settings = dict(p.override_settings)
                pc.extra_generation_params = dict(p.extra_generation_params)
                self._apply(pc, x_type, x, xs)
                self._apply(pc, y_type, y, ys)
                res = processing.process_images(pc)
                results.append(res)
                if len(res.images) > res.index_of_first_image:
                    cells.append(res.images[res.index_of_first_image])
                else:
                    cells.append(Image.new("RGB", (p.width, p.height)))

        done = [r for r in results if r.images]
        if not done:
            return processing.Processed(p, [])

        grid = images.image_grid(cells, rows=len(ys))
        first = done[0]
        grid_info = first.info
        out_images, infotexts = [grid], [grid_info]
        all_prompts, all_seeds, all_subseeds = [], [], []
        for r in results:
            all_prompts += r.all_prompts
            all_seeds += r.all_seeds
            all_subseeds += r.all_subseeds
            if include_lone_images:
                out_images += r.images[r.index_of_first_image :]
                infotexts += r.infotexts[r.index_of_first_image :]
        if shared.opts.grid_save:
            images.save_image(
                grid,
                p.outpath_grids,
                "xyz_grid",
                info=grid_info,
                extension=shared.opts.grid_format,
                prompt=p.prompt,
                seed=first.seed,
                grid=True,
                p=p,
            )
        return processing.Processed(
            p,
            out_images,
            seed=first.seed,
            info=grid_info,
            subseed=first.subseed,
            all_prompts=all_prompts,
            all_seeds=all_seeds,
            all_subseeds=all_subseeds,
            index_of_first_image=1,
            infotexts=infotexts,
        )


_LINE_TYPES = {
    "prompt": str,
    "negative_prompt": str,
    "steps": int,
    "seed": int,
    "cfg_scale": float,
    "width": int,
    "height": int,
    "sampler_name": str,
    "n_iter": int,
    "batch_size": int,
}


def _parse_line(line: str) -> dict:
    if not line.startswith("--"):
        return {"prompt": line}
    args = shlex.split(line)
    res = {}
    pos = 0
    while pos < len(args):
        tag = args[pos]
        if not tag.startswith("--") or tag[2:] not in _LINE_TYPES:
            raise RuntimeError(f"unknown commandline option: {tag}")
        res[tag[2:]] = _LINE_TYPES[tag[2:]](args[pos + 1])
        pos += 2
    return res


class PromptsFromFile(Script):
    _shim_arg_names = ("checkbox_iterate", "checkbox_iterate_batch", "prompt_position", "prompt_txt")

    def __init__(self):
        self.received: list[tuple[str, tuple]] = []

    def title(self):
        return "Prompts from file or textbox"

    def ui(self, is_img2img):
        checkbox_iterate = Checkbox(
            label="Iterate seed every line", value=False, elem_id=self.elem_id("checkbox_iterate")
        )
        checkbox_iterate_batch = Checkbox(
            label="Use same random seed for all lines",
            value=False,
            elem_id=self.elem_id("checkbox_iterate_batch"),
        )
        prompt_position = Radio(
            choices=["start", "end"],
            label="Insert prompts at the",
            value="start",
            elem_id=self.elem_id("prompt_position"),
        )
        prompt_txt = Textbox(label="List of prompt inputs", value="", elem_id=self.elem_id("prompt_txt"))
        return [checkbox_iterate, checkbox_iterate_batch, prompt_position, prompt_txt]

    def run(self, p, checkbox_iterate, checkbox_iterate_batch, prompt_position, prompt_txt):
        from modules import processing, shared

        self.received.append(("run", (checkbox_iterate, checkbox_iterate_batch, prompt_position, prompt_txt)))
        lines = [x.strip() for x in (prompt_txt or "").splitlines() if x.strip()]
        p.do_not_save_grid = True
        if checkbox_iterate or checkbox_iterate_batch:
            processing.fix_seed(p)
        jobs = [_parse_line(line) for line in lines]
        shared.state.job_count = sum(job.get("n_iter", p.n_iter) for job in jobs)

        out_images, all_prompts, all_seeds, infotexts = [], [], [], []
        for job in jobs:
            if shared.state.interrupted or shared.state.stopping_generation:
                break
            copy_p = copy.copy(p)
            copy_p.override_settings = dict(p.override_settings)
            copy_p.extra_generation_params = dict(p.extra_generation_params)
            for k, v in job.items():
                if k == "prompt" and p.prompt:
                    v = f"{v} {p.prompt}" if prompt_position == "start" else f"{p.prompt} {v}"
                setattr(copy_p, k, v)
            proc = processing.process_images(copy_p)
            out_images += proc.images
            all_prompts += proc.all_prompts
            all_seeds += proc.all_seeds
            infotexts += proc.infotexts
            if checkbox_iterate:
                p.seed = p.seed + (p.batch_size * p.n_iter)
        seed = all_seeds[0] if all_seeds else p.seed
        return processing.Processed(
            p,
            out_images,
            seed,
            infotexts[0] if infotexts else "",
            all_prompts=all_prompts,
            all_seeds=all_seeds or None,
            infotexts=infotexts,
        )


class ForgeControlNet(RecordingScript):
    """Forge's built-in ControlNet: ``ui()`` returns one State per unit holding a ``ControlNetUnit``."""

    def title(self):
        return "ControlNet"

    def show(self, is_img2img):
        return AlwaysVisible

    def ui(self, is_img2img):
        from lib_controlnet.external_code import ControlNetUnit
        from modules import shared

        count = shared.opts.data.get("control_net_unit_count", 3)
        return [State(ControlNetUnit()) for _ in range(count)]

    @staticmethod
    def get_enabled_units(units) -> list:
        from lib_controlnet.external_code import ControlNetUnit

        res = []
        for unit in units:
            if isinstance(unit, dict):
                unit = ControlNetUnit.from_dict(unit)
            if isinstance(unit, ControlNetUnit) and unit.enabled:
                res.append(unit)
        return res

    def process(self, p, *units):
        super().process(p, *units)
        for i, unit in enumerate(self.get_enabled_units(units)):
            p.extra_generation_params[f"ControlNet {i}"] = unit.infotext()

"""Built-in always-on "Sampler" script: args ``steps, sampler_name, scheduler``."""

from modules import scripts, sd_samplers, sd_schedulers

from webui_double import shim_config
from webui_double.components import Dropdown, Slider


class ScriptSampler(scripts.ScriptBuiltinUI):
    section = "sampler"
    create_group = False
    _shim_arg_names = ("steps", "sampler_name", "scheduler")

    def __init__(self):
        self.steps = None
        self.sampler_name = None
        self.scheduler = None

    def title(self):
        return "Sampler"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        default = "Euler a" if shim_config.current.is_forge else "DPM++ 2M"
        self.sampler_name = Dropdown(
            label="Sampling method",
            elem_id=self.elem_id("sampling"),
            choices=sd_samplers.visible_sampler_names(),
            value=default,
        )
        self.scheduler = Dropdown(
            label="Schedule type",
            elem_id=self.elem_id("scheduler"),
            choices=[x.label for x in sd_schedulers.schedulers],
            value="Automatic",
        )
        self.steps = Slider(
            minimum=1, maximum=150, step=1, elem_id=self.elem_id("steps"), label="Sampling steps", value=20
        )
        self.infotext_fields = [
            (self.steps, "Steps"),
            (self.sampler_name, "Sampler"),
            (self.scheduler, "Schedule type"),
        ]
        self.paste_field_names = ["Steps", "Sampler", "Schedule type"]
        return self.steps, self.sampler_name, self.scheduler

    def setup(self, p, steps, sampler_name, scheduler):
        p.steps = steps
        p.sampler_name = sampler_name
        p.scheduler = scheduler

"""Built-in always-on "Seed" script: args ``seed, seed_checkbox, subseed, subseed_strength,
seed_resize_from_w, seed_resize_from_h``."""

from modules import scripts

from webui_double.components import Checkbox, Number, Slider


class ScriptSeed(scripts.ScriptBuiltinUI):
    section = "seed"
    create_group = False
    _shim_arg_names = (
        "seed",
        "seed_checkbox",
        "subseed",
        "subseed_strength",
        "seed_resize_from_w",
        "seed_resize_from_h",
    )

    def __init__(self):
        self.seed = None
        self.reuse_seed = None
        self.reuse_subseed = None

    def title(self):
        return "Seed"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        self.seed = Number(label="Seed", value=-1, elem_id=self.elem_id("seed"), minimum=-1, step=1)
        seed_checkbox = Checkbox(label="Extra", elem_id=self.elem_id("subseed_show"), value=False)
        subseed = Number(
            label="Variation seed", value=-1, elem_id=self.elem_id("subseed"), minimum=-1, step=1
        )
        subseed_strength = Slider(
            label="Variation strength",
            value=0.0,
            minimum=0,
            maximum=1,
            step=0.01,
            elem_id=self.elem_id("subseed_strength"),
        )
        seed_resize_from_w = Slider(
            minimum=0,
            maximum=2048,
            step=8,
            label="Resize seed from width",
            value=0,
            elem_id=self.elem_id("seed_resize_from_w"),
        )
        seed_resize_from_h = Slider(
            minimum=0,
            maximum=2048,
            step=8,
            label="Resize seed from height",
            value=0,
            elem_id=self.elem_id("seed_resize_from_h"),
        )
        self.infotext_fields = [
            (self.seed, "Seed"),
            (seed_checkbox, lambda d: "Variation seed" in d or "Seed resize from-1" in d),
            (subseed, "Variation seed"),
            (subseed_strength, "Variation seed strength"),
            (seed_resize_from_w, "Seed resize from-1"),
            (seed_resize_from_h, "Seed resize from-2"),
        ]
        return self.seed, seed_checkbox, subseed, subseed_strength, seed_resize_from_w, seed_resize_from_h

    def setup(
        self, p, seed, seed_checkbox, subseed, subseed_strength, seed_resize_from_w, seed_resize_from_h
    ):
        p.seed = seed
        if seed_checkbox and subseed_strength > 0:
            p.subseed = subseed
            p.subseed_strength = subseed_strength
        if seed_checkbox and seed_resize_from_w > 0 and seed_resize_from_h > 0:
            p.seed_resize_from_w = seed_resize_from_w
            p.seed_resize_from_h = seed_resize_from_h

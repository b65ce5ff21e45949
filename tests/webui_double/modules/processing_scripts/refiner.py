"""Built-in always-on "Refiner" script: args ``enable_refiner, refiner_checkpoint, refiner_switch_at``."""

from modules import scripts, sd_models

from webui_double.components import Checkbox, Dropdown, Slider


class ScriptRefiner(scripts.ScriptBuiltinUI):
    section = "accordions"
    create_group = False
    _shim_arg_names = ("enable_refiner", "refiner_checkpoint", "refiner_switch_at")

    def title(self):
        return "Refiner"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        enable_refiner = Checkbox(label="Refiner", value=False, elem_id=self.elem_id("enable"))
        refiner_checkpoint = Dropdown(
            label="Checkpoint",
            elem_id=self.elem_id("checkpoint"),
            choices=["", *sd_models.checkpoint_tiles()],
            value="",
        )
        refiner_switch_at = Slider(
            value=0.8,
            label="Switch at",
            minimum=0.01,
            maximum=1.0,
            step=0.01,
            elem_id=self.elem_id("switch_at"),
        )
        self.infotext_fields = [
            (enable_refiner, lambda d: "Refiner" in d),
            (refiner_checkpoint, "Refiner"),
            (refiner_switch_at, "Refiner switch at"),
        ]
        return enable_refiner, refiner_checkpoint, refiner_switch_at

    def setup(self, p, enable_refiner, refiner_checkpoint, refiner_switch_at):
        if not enable_refiner or refiner_checkpoint in (None, "", "None"):
            p.refiner_checkpoint = None
            p.refiner_switch_at = None
        else:
            p.refiner_checkpoint = refiner_checkpoint
            p.refiner_switch_at = refiner_switch_at

"""What ``create_ui`` does for txt2img/img2img, without gradio: named-parameter controls, toprow
buttons and the script runners' layout. The Generate button's input list is
``[dummy (id_task)] + named-parameter controls (in signature order) + runner.inputs``.
"""

from __future__ import annotations

import dataclasses
import inspect

from webui_double import components as gr
from webui_double import shim_config

TABS = ("txt2img", "img2img")
#: multiselect dropdowns (what their page sends: ``components.Control.event_value``)
_MULTISELECT = ("prompt_styles", "override_settings_texts")

# name -> (component class, UI default, elem_id suffix). Sliders deliver ints when integral.
_COMMON = {
    "prompt": (gr.Textbox, "", "prompt"),
    "negative_prompt": (gr.Textbox, "", "neg_prompt"),
    "prompt_styles": (gr.Dropdown, [], "styles"),
    "n_iter": (gr.Slider, 1, "batch_count"),
    "batch_size": (gr.Slider, 1, "batch_size"),
    "cfg_scale": (gr.Slider, 7, "cfg_scale"),
    "distilled_cfg_scale": (gr.Slider, 3.5, "distilled_cfg_scale"),
    "height": (gr.Slider, 512, "height"),
    "width": (gr.Slider, 512, "width"),
}

_TXT2IMG = {
    "enable_hr": (gr.Checkbox, False, "hr"),
    "denoising_strength": (gr.Slider, 0.7, "denoising_strength"),
    "hr_scale": (gr.Slider, 2, "hr_scale"),
    "hr_upscaler": (gr.Dropdown, "Latent", "hr_upscaler"),
    "hr_second_pass_steps": (gr.Slider, 0, "hires_steps"),
    "hr_resize_x": (gr.Slider, 0, "hr_resize_x"),
    "hr_resize_y": (gr.Slider, 0, "hr_resize_y"),
    "hr_checkpoint_name": (gr.Dropdown, "Use same checkpoint", "hr_checkpoint"),
    "hr_additional_modules": (gr.Dropdown, ["Use same choices"], "hr_vae_te"),
    "hr_sampler_name": (gr.Dropdown, "Use same sampler", "hr_sampler"),
    "hr_scheduler": (gr.Dropdown, "Use same scheduler", "hr_scheduler"),
    "hr_prompt": (gr.Textbox, "", "hires_prompt"),
    "hr_negative_prompt": (gr.Textbox, "", "hires_neg_prompt"),
    "hr_cfg": (gr.Slider, 1, "hr_cfg"),
    "hr_distilled_cfg": (gr.Slider, 3.5, "hr_distilled_cfg"),
}

_IMG2IMG = {
    "mode": (gr.Number, 0, "selected_tab"),
    "init_img": (gr.Image, None, "image"),
    "sketch": (gr.Image, None, "sketch"),
    "sketch_fg": (gr.Image, None, "sketch_fg"),
    "init_img_with_mask": (gr.Image, None, "inpaint"),
    "init_img_with_mask_fg": (gr.Image, None, "inpaint_fg"),
    "inpaint_color_sketch": (gr.Image, None, "inpaint_sketch"),
    "inpaint_color_sketch_fg": (gr.Image, None, "inpaint_sketch_fg"),
    "inpaint_color_sketch_orig": (gr.State, None, "inpaint_sketch_orig"),
    "init_img_inpaint": (gr.Image, None, "inpaint_upload"),
    "init_mask_inpaint": (gr.Image, None, "inpaint_upload_mask"),
    "mask_blur": (gr.Slider, 4, "mask_blur"),
    "mask_alpha": (gr.Slider, 0, "mask_alpha"),
    "inpainting_fill": (gr.Radio, 1, "inpainting_fill"),
    "image_cfg_scale": (gr.Slider, 1.5, "image_cfg_scale"),
    "denoising_strength": (gr.Slider, 0.75, "denoising_strength"),
    "selected_scale_tab": (gr.State, 0, "selected_scale_tab"),
    "scale_by": (gr.Slider, 1, "scale"),
    "resize_mode": (gr.Radio, 0, "resize_mode"),
    "inpaint_full_res": (gr.Radio, 0, "inpaint_full_res"),
    "inpaint_full_res_padding": (gr.Slider, 32, "inpaint_full_res_padding"),
    "inpainting_mask_invert": (gr.Radio, 0, "mask_mode"),
    "img2img_batch_input_dir": (gr.Textbox, "", "batch_input_dir"),
    "img2img_batch_output_dir": (gr.Textbox, "", "batch_output_dir"),
    "img2img_batch_inpaint_mask_dir": (gr.Textbox, "", "batch_inpaint_mask_dir"),
    "img2img_batch_use_png_info": (gr.Checkbox, False, "batch_use_png_info"),
    "img2img_batch_png_info_props": (gr.Dropdown, [], "batch_png_info_props"),
    "img2img_batch_png_info_dir": (gr.Textbox, "", "batch_png_info_dir"),
    "img2img_batch_source_type": (gr.Textbox, "upload", "batch_source_type"),
    "img2img_batch_upload": (gr.Dropdown, None, "batch_upload"),
}

_SECTIONS_BEFORE_DIMENSIONS = ("sampler",)
_SECTIONS_AFTER_DIMENSIONS = ("accordions", "seed")


def entry_function(tab: str):
    """The module-level function whose signature the Generate inputs follow."""
    if tab == "txt2img":
        import modules.txt2img

        return modules.txt2img.txt2img_create_processing
    import modules.img2img

    return getattr(modules.img2img, "img2img_function", modules.img2img.img2img)


def named_parameters(tab: str) -> list[str]:
    """Named parameters after ``request``, in signature order (Forge 25 / A1111 21 for txt2img)."""
    params = list(inspect.signature(entry_function(tab)).parameters.values())
    names = [p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    return names[2:]


def _spec(tab: str, name: str):
    if name == "override_settings_texts":  # a multiselect left at None, in both WebUIs
        return gr.Dropdown, None, "override_settings"
    table = {**_COMMON, **(_TXT2IMG if tab == "txt2img" else _IMG2IMG)}
    return table[name]


@dataclasses.dataclass
class TabUi:
    tab: str
    dummy: gr.Control
    named: dict[str, gr.Control]
    generate: gr.Button
    inputs: list

    @property
    def script_args_offset(self) -> int:
        return 1 + len(self.named)


def build_tab(tab: str):
    """Build one tab as ``create_ui`` does; returns a ``TabUi``."""
    from modules import scripts

    is_img2img = tab == "img2img"
    runner = scripts.scripts_img2img if is_img2img else scripts.scripts_txt2img
    scripts.scripts_current = runner
    runner.initialize_scripts(is_img2img=is_img2img)
    try:
        names = named_parameters(tab)
        named: dict[str, gr.Control] = {}

        def make(name):
            cls, default, suffix = _spec(tab, name)
            extra = {"multiselect": True} if name in _MULTISELECT else {}
            named[name] = cls(value=default, label=name, elem_id=f"{tab}_{suffix}", **extra)

        for name in ("prompt", "negative_prompt"):
            make(name)
        gr.Button(value="Interrupt", elem_id=f"{tab}_interrupt")
        gr.Button(value="Skip", elem_id=f"{tab}_skip")
        generate = gr.Button(value="Generate", elem_id=f"{tab}_generate")
        make("prompt_styles")

        runner.prepare_ui()
        for section in _SECTIONS_BEFORE_DIMENSIONS:
            runner.setup_ui_for_section(section)
        for name in names:
            if name not in named:
                make(name)
        for section in _SECTIONS_AFTER_DIMENSIONS:
            runner.setup_ui_for_section(section)
        custom_inputs = runner.setup_ui()
        if shim_config.current.is_forge:
            dummy = gr.Textbox(value="", visible=False)
        else:
            dummy = gr.JSON(value={}, visible=False)
        ordered = {name: named[name] for name in names}
        _register_paste_fields(tab, ordered, runner)
        return TabUi(
            tab=tab,
            dummy=dummy,
            named=ordered,
            generate=generate,
            inputs=[dummy, *ordered.values(), *custom_inputs],
        )
    finally:
        scripts.scripts_current = None


def _register_paste_fields(tab: str, named: dict, runner) -> None:
    from modules import infotext_utils

    labels = {
        "prompt": "Prompt",
        "negative_prompt": "Negative prompt",
        "cfg_scale": "CFG scale",
        "distilled_cfg_scale": "Distilled CFG Scale",
        "width": "Size-1",
        "height": "Size-2",
        "batch_size": "Batch size",
        "denoising_strength": "Denoising strength",
        "enable_hr": lambda d: "Denoising strength" in d and ("Hires upscale" in d or "Hires resize-1" in d),
        "hr_scale": "Hires upscale",
        "hr_upscaler": "Hires upscaler",
        "hr_second_pass_steps": "Hires steps",
        "hr_resize_x": "Hires resize-1",
        "hr_resize_y": "Hires resize-2",
        "hr_checkpoint_name": "Hires checkpoint",
        "hr_sampler_name": "Hires sampler",
        "hr_scheduler": "Hires schedule type",
        "hr_prompt": "Hires prompt",
        "hr_negative_prompt": "Hires negative prompt",
        "image_cfg_scale": "Image CFG scale",
        "mask_blur": "Mask blur",
    }
    fields = [
        infotext_utils.PasteField(named[name], target, api=name)
        for name, target in labels.items()
        if name in named
    ]
    fields += [infotext_utils.PasteField(*field) for field in runner.infotext_fields]
    init_img = named.get("init_img")
    infotext_utils.add_paste_fields(tab, init_img, fields, named.get("override_settings_texts"))

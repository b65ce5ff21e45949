"""txt2img entry points with the active flavour's exact signatures, as ``modules.txt2img``.

Forge: ``txt2img`` = ``main_thread.run_and_wait_result(txt2img_function, ...)`` (exceptions are
swallowed into ``None``). Neo: the same signatures as Forge, but ``txt2img_function`` returns five
outputs, ``(gr.update(gallery), gr.update(video), generation_info_js, info_html, comments_html)``:
the images are the gallery update's ``value`` and the generation info is the *third* item.
A1111: ``txt2img`` runs in the calling thread. Neither takes ``queue_lock``.
"""

from contextlib import closing

import modules.scripts
from modules import processing, shared
from modules.infotext_utils import create_override_settings_dict
from modules.shared import opts
from modules.ui_common import plaintext_to_html

from webui_double import shim_config

FORGE = shim_config.current.is_forge
NEO = shim_config.current.is_neo


def _update(**kwargs):
    """What gradio 4's ``gr.update(...)`` returns."""
    return {"__type__": "update", **kwargs}


def neo_outputs(processed):
    """Neo's gallery and video outputs: two ``gr.update`` dicts, one of them hidden."""
    if processed.video_path is None:
        return (
            _update(value=processed.images + processed.extra_images, visible=True),
            _update(value=None, visible=False),
        )
    return _update(value=None, visible=False), _update(value=processed.video_path, visible=True)


def _create(
    id_task,
    request,
    prompt,
    negative_prompt,
    prompt_styles,
    n_iter,
    batch_size,
    cfg_scale,
    height,
    width,
    enable_hr,
    denoising_strength,
    hr_scale,
    hr_upscaler,
    hr_second_pass_steps,
    hr_resize_x,
    hr_resize_y,
    hr_checkpoint_name,
    hr_sampler_name,
    hr_scheduler,
    hr_prompt,
    hr_negative_prompt,
    override_settings_texts,
    args,
    force_enable_hr,
    **forge_kwargs,
):
    override_settings = create_override_settings_dict(override_settings_texts)
    if force_enable_hr:
        enable_hr = True
    extra = {} if FORGE else {"sd_model": shared.sd_model}
    p = processing.StableDiffusionProcessingTxt2Img(
        outpath_samples=opts.outdir_samples or opts.outdir_txt2img_samples,
        outpath_grids=opts.outdir_grids or opts.outdir_txt2img_grids,
        prompt=prompt,
        styles=prompt_styles,
        negative_prompt=negative_prompt,
        batch_size=batch_size,
        n_iter=n_iter,
        cfg_scale=cfg_scale,
        width=width,
        height=height,
        enable_hr=enable_hr,
        denoising_strength=denoising_strength if enable_hr else None,
        hr_scale=hr_scale,
        hr_upscaler=hr_upscaler,
        hr_second_pass_steps=hr_second_pass_steps,
        hr_resize_x=hr_resize_x,
        hr_resize_y=hr_resize_y,
        hr_checkpoint_name=None if hr_checkpoint_name == "Use same checkpoint" else hr_checkpoint_name,
        hr_sampler_name=None if hr_sampler_name == "Use same sampler" else hr_sampler_name,
        hr_scheduler=None if hr_scheduler == "Use same scheduler" else hr_scheduler,
        hr_prompt=hr_prompt,
        hr_negative_prompt=hr_negative_prompt,
        override_settings=override_settings,
        **forge_kwargs,
        **extra,
    )
    p.scripts = modules.scripts.scripts_txt2img
    p.script_args = args
    p.user = request.username
    if opts.enable_console_prompts:
        print(f"\ntxt2img: {prompt}", file=shared.progress_print_out)
    return p


if FORGE:

    def txt2img_create_processing(
        id_task: str,
        request,
        prompt: str,
        negative_prompt: str,
        prompt_styles,
        n_iter: int,
        batch_size: int,
        cfg_scale: float,
        distilled_cfg_scale: float,
        height: int,
        width: int,
        enable_hr: bool,
        denoising_strength: float,
        hr_scale: float,
        hr_upscaler: str,
        hr_second_pass_steps: int,
        hr_resize_x: int,
        hr_resize_y: int,
        hr_checkpoint_name: str,
        hr_additional_modules: list,
        hr_sampler_name: str,
        hr_scheduler: str,
        hr_prompt: str,
        hr_negative_prompt,
        hr_cfg: float,
        hr_distilled_cfg: float,
        override_settings_texts,
        *args,
        force_enable_hr=False,
    ):
        return _create(
            id_task,
            request,
            prompt,
            negative_prompt,
            prompt_styles,
            n_iter,
            batch_size,
            cfg_scale,
            height,
            width,
            enable_hr,
            denoising_strength,
            hr_scale,
            hr_upscaler,
            hr_second_pass_steps,
            hr_resize_x,
            hr_resize_y,
            hr_checkpoint_name,
            hr_sampler_name,
            hr_scheduler,
            hr_prompt,
            hr_negative_prompt,
            override_settings_texts,
            args,
            force_enable_hr,
            distilled_cfg_scale=distilled_cfg_scale,
            hr_additional_modules=hr_additional_modules,
            hr_cfg=hr_cfg,
            hr_distilled_cfg=hr_distilled_cfg,
        )

    def txt2img_function(id_task: str, request, *args):
        p = txt2img_create_processing(id_task, request, *args)
        with closing(p):
            processed = modules.scripts.scripts_txt2img.run(p, *p.script_args)
            if processed is None:
                processed = processing.process_images(p)
        shared.total_tqdm.clear()
        generation_info_js = processed.js()
        if opts.samples_log_stdout:
            print(generation_info_js)
        if opts.do_not_show_images:
            processed.images = []
        if NEO:
            return (
                *neo_outputs(processed),
                generation_info_js,
                plaintext_to_html(processed.info),
                plaintext_to_html(processed.comments, classname="comments"),
            )
        return (
            processed.images + processed.extra_images,
            generation_info_js,
            plaintext_to_html(processed.info),
            plaintext_to_html(processed.comments, classname="comments"),
        )

    def txt2img(id_task: str, request, *args):
        from modules_forge import main_thread

        return main_thread.run_and_wait_result(txt2img_function, id_task, request, *args)

else:

    def txt2img_create_processing(
        id_task: str,
        request,
        prompt: str,
        negative_prompt: str,
        prompt_styles,
        n_iter: int,
        batch_size: int,
        cfg_scale: float,
        height: int,
        width: int,
        enable_hr: bool,
        denoising_strength: float,
        hr_scale: float,
        hr_upscaler: str,
        hr_second_pass_steps: int,
        hr_resize_x: int,
        hr_resize_y: int,
        hr_checkpoint_name: str,
        hr_sampler_name: str,
        hr_scheduler: str,
        hr_prompt: str,
        hr_negative_prompt,
        override_settings_texts,
        *args,
        force_enable_hr=False,
    ):
        return _create(
            id_task,
            request,
            prompt,
            negative_prompt,
            prompt_styles,
            n_iter,
            batch_size,
            cfg_scale,
            height,
            width,
            enable_hr,
            denoising_strength,
            hr_scale,
            hr_upscaler,
            hr_second_pass_steps,
            hr_resize_x,
            hr_resize_y,
            hr_checkpoint_name,
            hr_sampler_name,
            hr_scheduler,
            hr_prompt,
            hr_negative_prompt,
            override_settings_texts,
            args,
            force_enable_hr,
        )

    def txt2img(id_task: str, request, *args):
        p = txt2img_create_processing(id_task, request, *args)
        with closing(p):
            processed = modules.scripts.scripts_txt2img.run(p, *p.script_args)
            if processed is None:
                processed = processing.process_images(p)
        shared.total_tqdm.clear()
        generation_info_js = processed.js()
        if opts.samples_log_stdout:
            print(generation_info_js)
        if opts.do_not_show_images:
            processed.images = []
        return (
            processed.images,
            generation_info_js,
            plaintext_to_html(processed.info),
            plaintext_to_html(processed.comments, classname="comments"),
        )

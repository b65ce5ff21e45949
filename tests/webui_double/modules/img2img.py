"""img2img entry points with the active flavour's exact signatures, as ``modules.img2img``.

Forge canvases arrive as background/foreground PIL images (``sketch`` + ``sketch_fg`` …; the inpaint
mask is the foreground's alpha); A1111 inpaint arrives as ``{"image": PIL, "mask": PIL}``.
Mode 5 (batch from a directory) is not emulated: it returns an empty result. Neo returns its five
outputs (gallery and video ``gr.update`` dicts first), as ``modules.txt2img`` describes.
"""

from contextlib import closing

import modules.scripts
from modules import processing, shared
from modules.infotext_utils import create_override_settings_dict
from modules.shared import opts
from modules.ui_common import plaintext_to_html
from PIL import Image, ImageChops, ImageOps

from webui_double import shim_config

FORGE = shim_config.current.is_forge


def _binary(mask: Image.Image) -> Image.Image:
    return mask.point(lambda v: 255 if v > 0 else 0)


def _alpha_mask(fg: Image.Image) -> Image.Image:
    return _binary(fg.convert("RGBA").getchannel("A"))


def _composite(bg: Image.Image, fg: Image.Image | None) -> Image.Image:
    if fg is None:
        return bg
    return Image.alpha_composite(bg.convert("RGBA"), fg.convert("RGBA").resize(bg.size))


def _forge_image_and_mask(
    mode,
    init_img,
    sketch,
    sketch_fg,
    init_img_with_mask,
    init_img_with_mask_fg,
    inpaint_color_sketch,
    inpaint_color_sketch_fg,
    init_img_inpaint,
    init_mask_inpaint,
):
    if mode == 0:
        return init_img, None
    if mode == 1:
        return _composite(sketch, sketch_fg), None
    if mode == 2:
        return init_img_with_mask, _alpha_mask(init_img_with_mask_fg)
    if mode == 3:
        return _composite(inpaint_color_sketch, inpaint_color_sketch_fg), _alpha_mask(inpaint_color_sketch_fg)
    if mode == 4:
        return init_img_inpaint, init_mask_inpaint
    return None, None


def _a1111_image_and_mask(
    mode,
    init_img,
    sketch,
    init_img_with_mask,
    inpaint_color_sketch,
    inpaint_color_sketch_orig,
    init_img_inpaint,
    init_mask_inpaint,
):
    if mode == 0:
        return init_img, None
    if mode == 1:
        return sketch, None
    if mode == 2:
        image, mask = init_img_with_mask["image"], init_img_with_mask["mask"]
        mask = mask.getchannel("A") if mask.mode == "RGBA" else mask.convert("L")
        return image, _binary(mask)
    if mode == 3:
        image = inpaint_color_sketch
        orig = inpaint_color_sketch_orig or inpaint_color_sketch
        diff = ImageChops.difference(orig.convert("RGB"), image.convert("RGB")).convert("L")
        return image, _binary(diff)
    if mode == 4:
        return init_img_inpaint, init_mask_inpaint
    return None, None


def _run(
    request,
    mode,
    prompt,
    negative_prompt,
    prompt_styles,
    image,
    mask,
    mask_blur,
    inpainting_fill,
    n_iter,
    batch_size,
    cfg_scale,
    image_cfg_scale,
    denoising_strength,
    selected_scale_tab,
    height,
    width,
    scale_by,
    resize_mode,
    inpaint_full_res,
    inpaint_full_res_padding,
    inpainting_mask_invert,
    override_settings_texts,
    args,
    **forge_kwargs,
):
    override_settings = create_override_settings_dict(override_settings_texts)
    is_batch = mode == 5
    if image is not None:
        image = ImageOps.exif_transpose(image)
    if selected_scale_tab == 1 and not is_batch:
        assert image, "Can't scale by because no image is selected"
        width = int(image.width * scale_by)
        width -= width % 8
        height = int(image.height * scale_by)
        height -= height % 8
    assert 0.0 <= denoising_strength <= 1.0, "can only work with strength in [0.0, 1.0]"

    extra = {} if FORGE else {"sd_model": shared.sd_model}
    p = processing.StableDiffusionProcessingImg2Img(
        outpath_samples=opts.outdir_samples or opts.outdir_img2img_samples,
        outpath_grids=opts.outdir_grids or opts.outdir_img2img_grids,
        prompt=prompt,
        negative_prompt=negative_prompt,
        styles=prompt_styles,
        batch_size=batch_size,
        n_iter=n_iter,
        cfg_scale=cfg_scale,
        width=width,
        height=height,
        init_images=[image],
        mask=mask,
        mask_blur=mask_blur,
        inpainting_fill=inpainting_fill,
        resize_mode=resize_mode,
        denoising_strength=denoising_strength,
        image_cfg_scale=image_cfg_scale,
        inpaint_full_res=inpaint_full_res,
        inpaint_full_res_padding=inpaint_full_res_padding,
        inpainting_mask_invert=inpainting_mask_invert,
        override_settings=override_settings,
        **forge_kwargs,
        **extra,
    )
    p.scripts = modules.scripts.scripts_img2img
    p.script_args = args
    p.user = request.username
    if opts.enable_console_prompts:
        print(f"\nimg2img: {prompt}", file=shared.progress_print_out)

    with closing(p):
        if is_batch:
            processed = processing.Processed(p, [], p.seed, "")
        else:
            processed = modules.scripts.scripts_img2img.run(p, *args)
            if processed is None:
                processed = processing.process_images(p)
    shared.total_tqdm.clear()
    generation_info_js = processed.js()
    if opts.samples_log_stdout:
        print(generation_info_js)
    if opts.do_not_show_images:
        processed.images = []
    if shim_config.current.is_neo:
        from modules.txt2img import neo_outputs

        return (
            *neo_outputs(processed),
            generation_info_js,
            plaintext_to_html(processed.info),
            plaintext_to_html(processed.comments, classname="comments"),
        )
    output = processed.images + processed.extra_images if FORGE else processed.images
    return (
        output,
        generation_info_js,
        plaintext_to_html(processed.info),
        plaintext_to_html(processed.comments, classname="comments"),
    )


if FORGE:

    def img2img_function(
        id_task: str,
        request,
        mode: int,
        prompt: str,
        negative_prompt: str,
        prompt_styles,
        init_img,
        sketch,
        sketch_fg,
        init_img_with_mask,
        init_img_with_mask_fg,
        inpaint_color_sketch,
        inpaint_color_sketch_fg,
        init_img_inpaint,
        init_mask_inpaint,
        mask_blur: int,
        mask_alpha: float,
        inpainting_fill: int,
        n_iter: int,
        batch_size: int,
        cfg_scale: float,
        distilled_cfg_scale: float,
        image_cfg_scale: float,
        denoising_strength: float,
        selected_scale_tab: int,
        height: int,
        width: int,
        scale_by: float,
        resize_mode: int,
        inpaint_full_res: bool,
        inpaint_full_res_padding: int,
        inpainting_mask_invert: int,
        img2img_batch_input_dir: str,
        img2img_batch_output_dir: str,
        img2img_batch_inpaint_mask_dir: str,
        override_settings_texts,
        img2img_batch_use_png_info: bool,
        img2img_batch_png_info_props: list,
        img2img_batch_png_info_dir: str,
        img2img_batch_source_type: str,
        img2img_batch_upload: list,
        *args,
    ):
        image, mask = _forge_image_and_mask(
            mode,
            init_img,
            sketch,
            sketch_fg,
            init_img_with_mask,
            init_img_with_mask_fg,
            inpaint_color_sketch,
            inpaint_color_sketch_fg,
            init_img_inpaint,
            init_mask_inpaint,
        )
        return _run(
            request,
            mode,
            prompt,
            negative_prompt,
            prompt_styles,
            image,
            mask,
            mask_blur,
            inpainting_fill,
            n_iter,
            batch_size,
            cfg_scale,
            image_cfg_scale,
            denoising_strength,
            selected_scale_tab,
            height,
            width,
            scale_by,
            resize_mode,
            inpaint_full_res,
            inpaint_full_res_padding,
            inpainting_mask_invert,
            override_settings_texts,
            args,
            distilled_cfg_scale=distilled_cfg_scale,
        )

    def img2img(
        id_task: str,
        request,
        mode: int,
        prompt: str,
        negative_prompt: str,
        prompt_styles,
        init_img,
        sketch,
        sketch_fg,
        init_img_with_mask,
        init_img_with_mask_fg,
        inpaint_color_sketch,
        inpaint_color_sketch_fg,
        init_img_inpaint,
        init_mask_inpaint,
        mask_blur: int,
        mask_alpha: float,
        inpainting_fill: int,
        n_iter: int,
        batch_size: int,
        cfg_scale: float,
        distilled_cfg_scale: float,
        image_cfg_scale: float,
        denoising_strength: float,
        selected_scale_tab: int,
        height: int,
        width: int,
        scale_by: float,
        resize_mode: int,
        inpaint_full_res: bool,
        inpaint_full_res_padding: int,
        inpainting_mask_invert: int,
        img2img_batch_input_dir: str,
        img2img_batch_output_dir: str,
        img2img_batch_inpaint_mask_dir: str,
        override_settings_texts,
        img2img_batch_use_png_info: bool,
        img2img_batch_png_info_props: list,
        img2img_batch_png_info_dir: str,
        img2img_batch_source_type: str,
        img2img_batch_upload: list,
        *args,
    ):
        from modules_forge import main_thread

        return main_thread.run_and_wait_result(
            img2img_function,
            id_task,
            request,
            mode,
            prompt,
            negative_prompt,
            prompt_styles,
            init_img,
            sketch,
            sketch_fg,
            init_img_with_mask,
            init_img_with_mask_fg,
            inpaint_color_sketch,
            inpaint_color_sketch_fg,
            init_img_inpaint,
            init_mask_inpaint,
            mask_blur,
            mask_alpha,
            inpainting_fill,
            n_iter,
            batch_size,
            cfg_scale,
            distilled_cfg_scale,
            image_cfg_scale,
            denoising_strength,
            selected_scale_tab,
            height,
            width,
            scale_by,
            resize_mode,
            inpaint_full_res,
            inpaint_full_res_padding,
            inpainting_mask_invert,
            img2img_batch_input_dir,
            img2img_batch_output_dir,
            img2img_batch_inpaint_mask_dir,
            override_settings_texts,
            img2img_batch_use_png_info,
            img2img_batch_png_info_props,
            img2img_batch_png_info_dir,
            img2img_batch_source_type,
            img2img_batch_upload,
            *args,
        )

else:

    def img2img(
        id_task: str,
        request,
        mode: int,
        prompt: str,
        negative_prompt: str,
        prompt_styles,
        init_img,
        sketch,
        init_img_with_mask,
        inpaint_color_sketch,
        inpaint_color_sketch_orig,
        init_img_inpaint,
        init_mask_inpaint,
        mask_blur: int,
        mask_alpha: float,
        inpainting_fill: int,
        n_iter: int,
        batch_size: int,
        cfg_scale: float,
        image_cfg_scale: float,
        denoising_strength: float,
        selected_scale_tab: int,
        height: int,
        width: int,
        scale_by: float,
        resize_mode: int,
        inpaint_full_res: bool,
        inpaint_full_res_padding: int,
        inpainting_mask_invert: int,
        img2img_batch_input_dir: str,
        img2img_batch_output_dir: str,
        img2img_batch_inpaint_mask_dir: str,
        override_settings_texts,
        img2img_batch_use_png_info: bool,
        img2img_batch_png_info_props: list,
        img2img_batch_png_info_dir: str,
        img2img_batch_source_type: str,
        img2img_batch_upload: list,
        *args,
    ):
        image, mask = _a1111_image_and_mask(
            mode,
            init_img,
            sketch,
            init_img_with_mask,
            inpaint_color_sketch,
            inpaint_color_sketch_orig,
            init_img_inpaint,
            init_mask_inpaint,
        )
        return _run(
            request,
            mode,
            prompt,
            negative_prompt,
            prompt_styles,
            image,
            mask,
            mask_blur,
            inpainting_fill,
            n_iter,
            batch_size,
            cfg_scale,
            image_cfg_scale,
            denoising_strength,
            selected_scale_tab,
            height,
            width,
            scale_by,
            resize_mode,
            inpaint_full_res,
            inpaint_full_res_padding,
            inpainting_mask_invert,
            override_settings_texts,
            args,
        )

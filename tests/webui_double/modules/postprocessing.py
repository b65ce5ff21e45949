"""The Extras tab's processing, as ``modules.postprocessing``.

``run_postprocessing(extras_mode, image, image_folder, input_dir, output_dir, show_extras_results,
*args, save_output=True)`` runs ``scripts.scripts_postproc`` on one image (mode 0), a list of
images or uploads (mode 1) or a folder (mode 2). It calls ``state.begin(job="extras")`` itself and
``state.end()`` only when it gets there (an operation that raises leaves the state as it is);
each result is saved with ``images.save_image`` (so ``on_image_saved`` fires, with ``p=None``)
into ``opts.outdir_samples or opts.outdir_extras_samples`` when ``save_output``, the input's PNG
info carried over plus the operations' infotext under ``postprocessing`` (Forge) or ``extras``
(A1111). Returns ``(images, infotext as HTML, "")``.

``run_extras(...)`` is the API's single/batch entry (``/sdapi/v1/extra-single-image`` calls it
with ``extras_mode=0``): its named upscale / face-restoration values become the Upscale, GFPGAN
and CodeFormer scripts' arguments. Captions are not written (no fake operation makes one).
"""

from __future__ import annotations

import os

from modules import devices, images, infotext_utils, scripts, scripts_postprocessing, shared, ui_common
from modules.shared import opts
from PIL import Image

from webui_double import shim_config

FORGE = shim_config.current.is_forge
PNGINFO_SECTION = "postprocessing" if FORGE else "extras"


def _inputs(extras_mode, image, image_folder, input_dir):
    """``(image or path, name)`` pairs to process; name is None for the single image."""
    if extras_mode == 1:
        found = []
        for item in image_folder:
            if isinstance(item, Image.Image):
                found.append((item, ""))
            else:
                shown = item.name if FORGE else getattr(item, "orig_name", item.name)
                found.append((Image.open(os.path.abspath(item.name)), os.path.splitext(shown)[0]))
        return found
    if extras_mode == 2:
        assert not shared.cmd_opts.hide_ui_dir_config, "--hide-ui-dir-config option must be disabled"
        assert input_dir, "input directory not selected"
        names = sorted(os.listdir(input_dir))
        return [(os.path.join(input_dir, n), os.path.join(input_dir, n)) for n in names]
    assert image, "image not selected"
    return [(image, None)]


def run_postprocessing(
    extras_mode,
    image,
    image_folder,
    input_dir,
    output_dir,
    show_extras_results,
    *args,
    save_output: bool = True,
):
    devices.torch_gc()
    shared.state.begin(job="extras")
    if FORGE and isinstance(image, dict):  # gradio 4's image editor value
        image = image["composite"]
    outpath = (
        output_dir
        if extras_mode == 2 and output_dir != ""
        else opts.outdir_samples or opts.outdir_extras_samples
    )
    outputs = []
    infotext = ""
    work = _inputs(extras_mode, image, image_folder, input_dir)
    shared.state.job_count = len(work)
    for source, name in work:
        shared.state.nextjob()
        shared.state.textinfo = name
        shared.state.skipped = False
        if shared.state.interrupted or shared.state.stopping_generation:
            break
        if isinstance(source, str):
            try:
                source = Image.open(source)
            except Exception:
                continue
        picture = source if source.mode in ("RGB", "RGBA") else source.convert("RGB")
        parameters, existing = images.read_info_from_image(picture)
        if parameters:
            existing["parameters"] = parameters
        first = scripts_postprocessing.PostprocessedImage(picture)
        scripts.scripts_postproc.run(first, args)
        if shared.state.skipped:
            continue
        suffixes: dict = {}
        for pp in [first, *first.extra_images]:
            suffix = pp.get_suffix(suffixes)
            if opts.use_original_name_batch and name is not None:
                basename = os.path.splitext(os.path.basename(name))[0]
                forced = basename + suffix
            else:
                basename, forced = "", None
            infotext = ", ".join(
                key if key == value else f"{key}: {infotext_utils.quote(value)}"
                for key, value in pp.info.items()
                if value is not None
            )
            if opts.enable_pnginfo:
                pp.image.info = existing
                if not FORGE:
                    pp.image.info["postprocessing"] = infotext
            shared.state.assign_current_image(pp.image)
            if save_output:
                images.save_image(
                    pp.image,
                    path=outpath,
                    basename=basename,
                    extension=opts.samples_format,
                    info=infotext,
                    short_filename=True,
                    no_prompt=True,
                    grid=False,
                    pnginfo_section_name=PNGINFO_SECTION,
                    existing_info=existing,
                    forced_filename=forced,
                    suffix=suffix,
                )
            if extras_mode != 2 or show_extras_results:
                outputs.append(pp.image)
    devices.torch_gc()
    shared.state.end()
    return outputs, ui_common.plaintext_to_html(infotext), ""


def run_postprocessing_webui(id_task, *args, **kwargs):
    return run_postprocessing(*args, **kwargs)


def run_extras(
    extras_mode,
    resize_mode,
    image,
    image_folder,
    input_dir,
    output_dir,
    show_extras_results,
    gfpgan_visibility,
    codeformer_visibility,
    codeformer_weight,
    upscaling_resize,
    upscaling_resize_w,
    upscaling_resize_h,
    upscaling_crop,
    extras_upscaler_1,
    extras_upscaler_2,
    extras_upscaler_2_visibility,
    upscale_first: bool,
    save_output: bool = True,
    max_side_length: int = 0,
):
    """The API's entry: named values -> the postprocessing scripts' arguments (``upscale_first``
    is accepted and unused, as in the WebUI)."""
    args = scripts.scripts_postproc.create_args_for_run(
        {
            "Upscale": {
                "upscale_enabled": True,
                "upscale_mode": resize_mode,
                "upscale_by": upscaling_resize,
                "max_side_length": max_side_length,
                "upscale_to_width": upscaling_resize_w,
                "upscale_to_height": upscaling_resize_h,
                "upscale_crop": upscaling_crop,
                "upscaler_1_name": extras_upscaler_1,
                "upscaler_2_name": extras_upscaler_2,
                "upscaler_2_visibility": extras_upscaler_2_visibility,
            },
            "GFPGAN": {"enable": True, "gfpgan_visibility": gfpgan_visibility},
            "CodeFormer": {
                "enable": True,
                "codeformer_visibility": codeformer_visibility,
                "codeformer_weight": codeformer_weight,
            },
        }
    )
    return run_postprocessing(
        extras_mode,
        image,
        image_folder,
        input_dir,
        output_dir,
        show_extras_results,
        *args,
        save_output=save_output,
    )

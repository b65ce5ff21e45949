"""Image saving and grids, as ``modules.images``.

``save_image`` writes a PNG (``parameters`` text chunk = infotext) named ``NNNNN-<seed>.png``
(grids ``grid-NNNN.png``), sets ``image.already_saved_as`` and fires the before/after image-saved
callbacks.
"""

from __future__ import annotations

import datetime
import math
import os
import re

from modules import script_callbacks, shared
from PIL import Image, PngImagePlugin

_re_number = re.compile(r"^(\d+)")


def image_grid(imgs, batch_size=1, rows=None):
    if rows is None:
        if shared.opts.n_rows > 0:
            rows = shared.opts.n_rows
        elif shared.opts.n_rows == 0:
            rows = batch_size
        elif shared.opts.grid_prevent_empty_spots:
            rows = math.floor(math.sqrt(len(imgs)))
            while len(imgs) % rows != 0:
                rows -= 1
        else:  # the WebUI's default: as square as it gets, empty spots allowed (5 images: 3 x 2)
            rows = round(math.sqrt(len(imgs)))
    rows = max(1, min(rows, len(imgs)))
    cols = math.ceil(len(imgs) / rows)
    params = script_callbacks.ImageGridLoopParams(imgs, cols, rows)
    script_callbacks.image_grid_callback(params)
    w, h = max(i.width for i in imgs), max(i.height for i in imgs)
    grid = Image.new("RGB", size=(params.cols * w, params.rows * h), color="black")
    for i, img in enumerate(params.imgs):
        grid.paste(img.convert("RGB"), box=(i % params.cols * w, i // params.cols * h))
    return grid


def get_next_sequence_number(path: str, basename: str) -> int:
    """The number after the highest ``NNNNN`` prefix among files starting with ``basename`` in ``path``."""
    result = -1
    if basename != "":
        basename = f"{basename}-"
    prefix_length = len(basename)
    for p in os.listdir(path):
        if p.startswith(basename):
            m = _re_number.match(p[prefix_length:])
            if m:
                result = max(int(m.group(1)), result)
    return result + 1


def _sanitize(text: str) -> str:
    text = re.sub(r'[\\/:*?"<>|\r\n\t]', "_", str(text)).strip(" .")
    return text[:128]


def _decorate(pattern: str, seed, prompt, p) -> str:
    def repl(m):
        key = m.group(1)
        if key == "seed":
            return str(seed)
        if key in ("prompt", "prompt_spaces"):
            return _sanitize(prompt or "")
        if key == "date":
            return datetime.date.today().isoformat()
        if key == "steps":
            return str(getattr(p, "steps", ""))
        if key == "model_name":
            return str(getattr(p, "sd_model_name", ""))
        return m.group(0)

    return re.sub(r"\[(\w+)]", repl, pattern)


def save_image(
    image,
    path,
    basename,
    seed=None,
    prompt=None,
    extension="png",
    info=None,
    short_filename=False,
    no_prompt=False,
    grid=False,
    pnginfo_section_name="parameters",
    p=None,
    existing_info=None,
    forced_filename=None,
    suffix="",
    save_to_dirs=None,
):
    """Save ``image`` under ``path``; returns ``(fullfn, txt_fullfn)``."""
    if save_to_dirs is None:
        save_to_dirs = (grid and shared.opts.grid_save_to_dirs) or (
            not grid and shared.opts.save_to_dirs and not no_prompt
        )
    if save_to_dirs:
        dirname = (
            _decorate(shared.opts.directories_filename_pattern or "[date]", seed, prompt, p)
            .lstrip(" ")
            .rstrip("\\ /")
        )
        path = os.path.join(path, dirname)
    os.makedirs(path, exist_ok=True)

    if forced_filename is None:
        if short_filename or seed is None:
            file_decoration = ""
        else:
            file_decoration = _decorate(shared.opts.samples_filename_pattern or "[seed]", seed, prompt, p)
        if file_decoration:
            file_decoration = "-" + file_decoration
        number = get_next_sequence_number(path, basename)
        if basename == "":
            stem = f"{number:05}{file_decoration}"
        else:
            stem = f"{basename}-{number:04}{file_decoration}"
        fullfn = os.path.join(path, f"{stem}{suffix}.{extension}")
    else:
        fullfn = os.path.join(path, f"{forced_filename}.{extension}")

    pnginfo = dict(existing_info or {})
    if info is not None:
        pnginfo[pnginfo_section_name] = info

    params = script_callbacks.ImageSaveParams(image, p, fullfn, pnginfo)
    script_callbacks.before_image_saved_callback(params)
    image = params.image
    fullfn = params.filename

    png_info = PngImagePlugin.PngInfo()
    if shared.opts.enable_pnginfo:
        for k, v in (params.pnginfo or {}).items():
            png_info.add_text(k, str(v))
    temp = f"{fullfn}.tmp"
    image.save(temp, format="PNG", pnginfo=png_info)
    os.replace(temp, fullfn)
    image.already_saved_as = fullfn

    txt_fullfn = None
    if shared.opts.save_txt and info is not None:
        txt_fullfn = f"{os.path.splitext(fullfn)[0]}.txt"
        with open(txt_fullfn, "w", encoding="utf8") as file:
            file.write(f"{info}\n")

    script_callbacks.image_saved_callback(params)
    return fullfn, txt_fullfn


def read_info_from_image(image):
    """``(geninfo, items)``: the ``parameters`` text chunk and the remaining image info."""
    items = dict(image.info or {})
    geninfo = items.pop("parameters", None)
    for field in (
        "jfif",
        "jfif_version",
        "jfif_unit",
        "jfif_density",
        "dpi",
        "exif",
        "loop",
        "background",
        "timestamp",
        "duration",
        "progressive",
        "progression",
        "icc_profile",
        "chromaticity",
        "photoshop",
    ):
        items.pop(field, None)
    return geninfo, items


def resize_image(resize_mode, im, width, height, upscaler_name=None):
    return im.resize((width, height))


def flatten(img, bgcolor):
    if img.mode == "RGBA":
        background = Image.new("RGBA", img.size, bgcolor)
        background.paste(img, mask=img)
        img = background
    return img.convert("RGB")

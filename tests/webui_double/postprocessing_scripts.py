"""Fakes of the Extras-tab operations every WebUI ships (its ``scripts/postprocessing_*.py``).

* ``Upscale`` (order 1000): by a factor (``upscale_mode`` 0, limited by ``max_side_length``) or to
  a size (mode 1, centred on a black canvas with ``upscale_crop``), with ``shared.sd_upscalers``;
  an optional second upscaler blended in by ``upscaler_2_visibility``. An unknown upscaler name
  fails with ``AssertionError: could not find upscaler named …``, as in the WebUI. No cache.
* ``GFPGAN`` (2000), ``CodeFormer`` (3000): there are no face models here, so the pixels stay
  as they are; with a visibility above 0 they record it in ``pp.info`` like the real ones.
"""

from __future__ import annotations

from PIL import Image

from webui_double.components import Checkbox, Dropdown, Number, Slider
from webui_double.script_base import ScriptPostprocessing

# ``modules`` is imported inside methods: these classes outlive any one install() of the double.


def _limit_side(width: int, height: int, limit: int) -> tuple[int, int]:
    """Shrink ``(width, height)`` keeping the aspect so that no side exceeds ``limit`` (0: none)."""
    if limit and height > width and height > limit:
        return int(limit * width // height), int(limit)
    if limit and width > limit:
        return int(limit), int(limit * height // width)
    return int(width), int(height)


def _find_upscaler(name):
    from modules import shared

    if name in (None, "None"):
        return None
    found = next((u for u in shared.sd_upscalers if u.name == name), None)
    assert found is not None, f"could not find upscaler named {name}"
    return found


class Upscale(ScriptPostprocessing):
    name = "Upscale"
    order = 1000

    def ui(self):
        from modules import shared

        names = [u.name for u in shared.sd_upscalers]
        first = names[0] if names else "None"
        return {
            "upscale_enabled": Checkbox(True, label="Upscale", elem_id="extras_upscale"),
            "upscale_mode": Number(0, visible=False),
            "upscale_by": Slider(4, label="Resize", elem_id="extras_upscaling_resize"),
            "max_side_length": Number(0, label="Max side length", elem_id="extras_upscale_max_side_length"),
            "upscale_to_width": Slider(512, label="Width", elem_id="extras_upscaling_resize_w"),
            "upscale_to_height": Slider(512, label="Height", elem_id="extras_upscaling_resize_h"),
            "upscale_crop": Checkbox(True, label="Crop to fit", elem_id="extras_upscaling_crop"),
            "upscaler_1_name": Dropdown(
                first, label="Upscaler 1", elem_id="extras_upscaler_1", choices=names
            ),
            "upscaler_2_name": Dropdown(
                first, label="Upscaler 2", elem_id="extras_upscaler_2", choices=names
            ),
            "upscaler_2_visibility": Slider(
                0.0, label="Upscaler 2 visibility", elem_id="extras_upscaler_2_visibility"
            ),
        }

    def _scaled(self, image, info, upscaler, mode, factor, max_side, width, height, crop):
        if mode == 1:
            factor = max(width / image.width, height / image.height)
            info["Postprocess upscale to"] = f"{width}x{height}"
        else:
            info["Postprocess upscale by"] = factor
            if max_side and max(image.size) * factor > max_side:
                mode, crop = 1, False
                width, height = _limit_side(image.width * factor, image.height * factor, max_side)
                factor = max(width / image.width, height / image.height)
                info["Max side length"] = max_side
        image = upscaler.scaler.upscale(image, factor, upscaler.data_path)
        if mode == 1 and crop:
            canvas = Image.new("RGB", (width, height))
            canvas.paste(image, box=(width // 2 - image.width // 2, height // 2 - image.height // 2))
            image = canvas
            info["Postprocess crop to"] = f"{width}x{height}"
        return image

    def process_firstpass(
        self,
        pp,
        upscale_enabled=True,
        upscale_mode=1,
        upscale_by=2.0,
        max_side_length=0,
        upscale_to_width=None,
        upscale_to_height=None,
        upscale_crop=False,
        upscaler_1_name=None,
        upscaler_2_name=None,
        upscaler_2_visibility=0.0,
    ):
        if upscale_mode == 1:
            pp.shared.target_width, pp.shared.target_height = upscale_to_width, upscale_to_height
        else:
            pp.shared.target_width, pp.shared.target_height = _limit_side(
                int(pp.image.width * upscale_by), int(pp.image.height * upscale_by), max_side_length
            )

    def process(
        self,
        pp,
        upscale_enabled=True,
        upscale_mode=1,
        upscale_by=2.0,
        max_side_length=0,
        upscale_to_width=None,
        upscale_to_height=None,
        upscale_crop=False,
        upscaler_1_name=None,
        upscaler_2_name=None,
        upscaler_2_visibility=0.0,
    ):
        if not upscale_enabled:
            return
        first = _find_upscaler(upscaler_1_name)
        if first is None:
            return
        second = _find_upscaler(upscaler_2_name)
        size_args = (
            upscale_mode,
            upscale_by,
            max_side_length,
            upscale_to_width,
            upscale_to_height,
            upscale_crop,
        )
        result = self._scaled(pp.image, pp.info, first, *size_args)
        pp.info["Postprocess upscaler"] = first.name
        if second is not None and upscaler_2_visibility > 0:
            other = self._scaled(pp.image, pp.info, second, *size_args)
            if other.mode != result.mode:
                other = other.convert(result.mode)
            result = Image.blend(result, other, upscaler_2_visibility)
            pp.info["Postprocess upscaler 2"] = second.name
        pp.image = result


class GFPGAN(ScriptPostprocessing):
    name = "GFPGAN"
    order = 2000

    def ui(self):
        return {
            "enable": Checkbox(False, label="GFPGAN"),
            "gfpgan_visibility": Slider(1.0, label="Visibility", elem_id="extras_gfpgan_visibility"),
        }

    def process(self, pp, enable, gfpgan_visibility):
        if gfpgan_visibility == 0 or not enable:
            return
        pp.image = pp.image.convert("RGB")
        pp.info["GFPGAN visibility"] = round(gfpgan_visibility, 3)


class CodeFormer(ScriptPostprocessing):
    name = "CodeFormer"
    order = 3000

    def ui(self):
        return {
            "enable": Checkbox(False, label="CodeFormer"),
            "codeformer_visibility": Slider(1.0, label="Visibility", elem_id="extras_codeformer_visibility"),
            "codeformer_weight": Slider(0, label="Weight", elem_id="extras_codeformer_weight"),
        }

    def process(self, pp, enable, codeformer_visibility, codeformer_weight):
        if codeformer_visibility == 0 or not enable:
            return
        pp.image = pp.image.convert("RGB")
        pp.info["CodeFormer visibility"] = round(codeformer_visibility, 3)
        pp.info["CodeFormer weight"] = round(codeformer_weight, 3)


POSTPROCESSING_SCRIPTS = (Upscale, GFPGAN, CodeFormer)

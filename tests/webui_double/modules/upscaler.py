"""Upscalers, as ``modules.upscaler``.

``Upscaler.upscale(img, scale)`` aims at ``(width * scale, height * scale)`` rounded *down* to a
multiple of 8, runs ``do_upscale`` up to three times until the image covers that size (a model
upscaler has a fixed factor of its own), then resizes to exactly that size with Lanczos. Built in:
"None" (no change), "Lanczos" and "Nearest" (one resize by ``scale``). The double adds one model
upscaler, "R-ESRGAN 4x+" (``UpscalerRealESRGAN``; the WebUI's comes from
``modules.realesrgan_model``), whose single pass always makes the image 4 times larger (nearest
neighbour), so a factor-2 request shows the WebUI's "upscale, then resize down" path.
"""

from __future__ import annotations

from modules import shared
from PIL import Image

LANCZOS = Image.Resampling.LANCZOS
NEAREST = Image.Resampling.NEAREST


class Upscaler:
    name = None
    model_path = None
    model_name = None
    model_url = None
    enable = True
    filter = None
    model = None
    user_path = None
    scalers: list = []
    tile = True

    def __init__(self, create_dirs=False):
        self.scale = 1
        self.model_download_path = None

    def do_upscale(self, img, selected_model):
        return img

    def upscale(self, img, scale, selected_model=None):
        self.scale = scale
        target = (int(img.width * scale // 8 * 8), int(img.height * scale // 8 * 8))
        for attempt in range(3):
            covers = img.width >= target[0] and img.height >= target[1]
            if covers and (attempt > 0 or scale != 1):
                break
            if shared.state.interrupted:
                break
            before = img.size
            img = self.do_upscale(img, selected_model)
            if img.size == before:
                break
        if img.size != target:
            img = img.resize(target, resample=LANCZOS)
        return img

    def load_model(self, path):
        pass

    def find_models(self, ext_filter=None) -> list:
        return []

    def update_status(self, prompt):
        pass


class UpscalerData:
    name = None
    data_path = None
    scale: int = 4
    scaler: Upscaler | None = None
    model = None

    def __init__(self, name, path, upscaler=None, scale=4, model=None, sha256=None):
        self.name = name
        self.data_path = path
        self.local_data_path = path
        self.scaler = upscaler
        self.scale = scale
        self.model = model
        self.sha256 = sha256

    def __repr__(self):
        return f"<UpscalerData name={self.name} path={self.data_path} scale={self.scale}>"


class UpscalerNone(Upscaler):
    name = "None"

    def __init__(self, dirname=None):
        super().__init__(False)
        self.scalers = [UpscalerData("None", None, self)]


class _Resizing(Upscaler):
    resample = LANCZOS

    def do_upscale(self, img, selected_model=None):
        return img.resize((int(img.width * self.scale), int(img.height * self.scale)), resample=self.resample)


class UpscalerLanczos(_Resizing):
    def __init__(self, dirname=None):
        super().__init__(False)
        self.name = "Lanczos"
        self.scalers = [UpscalerData("Lanczos", None, self)]


class UpscalerNearest(_Resizing):
    resample = NEAREST

    def __init__(self, dirname=None):
        super().__init__(False)
        self.name = "Nearest"
        self.scalers = [UpscalerData("Nearest", None, self)]


class UpscalerRealESRGAN(Upscaler):
    """A stand-in for a 4x model: one pass is always x4, whatever ``scale`` asks for."""

    def __init__(self, dirname=None):
        super().__init__(False)
        self.name = "RealESRGAN"
        self.scalers = [UpscalerData("R-ESRGAN 4x+", "RealESRGAN_x4plus.pth", self, 4)]

    def do_upscale(self, img, selected_model=None):
        return img.resize((img.width * 4, img.height * 4), resample=NEAREST)

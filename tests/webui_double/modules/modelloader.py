"""Model discovery, as ``modules.modelloader``: only ``load_upscalers`` (run at start-up)."""

from __future__ import annotations

from modules import shared, upscaler

UPSCALER_CLASSES = (
    upscaler.UpscalerNone,
    upscaler.UpscalerLanczos,
    upscaler.UpscalerNearest,
    upscaler.UpscalerRealESRGAN,
)
_BUILT_IN = (upscaler.UpscalerNone, upscaler.UpscalerLanczos, upscaler.UpscalerNearest)


def load_upscalers() -> None:
    """Fill ``shared.sd_upscalers``: None, Lanczos, Nearest first, then the models by name."""
    found = []
    for cls in UPSCALER_CLASSES:
        found += cls(None).scalers
    shared.sd_upscalers = sorted(
        found, key=lambda data: "" if isinstance(data.scaler, _BUILT_IN) else data.name.lower()
    )

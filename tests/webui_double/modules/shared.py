"""Process-wide singletons, as ``modules.shared``.

``shared.sd_model`` is a module-level property (as in both WebUIs) backed by
``sd_models.model_data``: in the Forge flavour it is a model without ``sd_checkpoint_info``
until the first generation loads one.
"""

from __future__ import annotations

import argparse
import os
import sys
import types

from modules import options, paths_internal, shared_options, shared_state
from modules.options import OptionInfo, options_section  # noqa: F401  (re-exports, as in the WebUI)

cmd_opts = argparse.Namespace(
    api=False,
    api_auth=None,
    gradio_auth=None,
    gradio_auth_path=None,
    nowebui=False,
    hide_ui_dir_config=False,
    no_prompt_history=True,
    data_dir=paths_internal.data_path,
    ckpt_dir=None,
    ckpt=None,
    vae_dir=None,
    subpath=None,
    freeze_settings=False,
    listen=False,
    port=None,
    share=False,
    ui_settings_file=os.path.join(paths_internal.data_path, "config.json"),
)

config_filename = cmd_opts.ui_settings_file
styles_filename = [os.path.join(paths_internal.data_path, "styles.csv")]

demo = None
device = "cuda"
parallel_processing_allowed = True
xformers_available = False
hypernetworks: dict = {}
loaded_hypernetworks: list = []
sd_upscalers: list = []
latent_upscale_modes = {
    "Latent": {"mode": "bilinear", "antialias": False},
    "Latent (antialiased)": {"mode": "bilinear", "antialias": True},
    "Latent (bicubic)": {"mode": "bicubic", "antialias": False},
    "Latent (bicubic antialiased)": {"mode": "bicubic", "antialias": True},
    "Latent (nearest)": {"mode": "nearest", "antialias": False},
    "Latent (nearest-exact)": {"mode": "nearest-exact", "antialias": False},
}
face_restorers: list = []
progress_print_out = sys.stdout
gradio_theme = None

opts = options.Options(shared_options.options_templates, shared_options.restricted_opts)
state = shared_state.State()


class _StyleDatabase:
    def __init__(self):
        self.styles: dict = {}

    def apply_styles_to_prompt(self, prompt, styles):
        return prompt

    def apply_negative_styles_to_prompt(self, prompt, styles):
        return prompt

    def extract_styles_from_prompt(self, prompt, negative_prompt):
        return prompt, negative_prompt, []


prompt_styles = _StyleDatabase()


class _TotalTQDM:
    def __init__(self):
        self.total = 0
        self.done = 0

    def reset(self) -> None:
        self.done = 0

    def update(self) -> None:
        self.done += 1

    def updateTotal(self, new_total: int) -> None:  # noqa: N802 - WebUI name
        self.total = new_total

    def clear(self) -> None:
        self.total = 0
        self.done = 0


total_tqdm = _TotalTQDM()


def list_checkpoint_tiles(use_short: bool = False) -> list[str]:
    from modules import sd_models

    return sd_models.checkpoint_tiles(use_short)


def refresh_checkpoints() -> None:
    from modules import sd_models

    sd_models.list_models()


def list_samplers():
    from modules import sd_samplers

    return sd_samplers.all_samplers


def reload_hypernetworks() -> None:
    """``shared_items.reload_hypernetworks``: a new dict of ``models/hypernetworks``."""
    global hypernetworks
    from modules.hypernetworks import hypernetwork

    hypernetworks = hypernetwork.list_hypernetworks(os.path.join(paths_internal.models_path, "hypernetworks"))


class _Shared(types.ModuleType):
    @property
    def sd_model(self):
        from modules import sd_models

        return sd_models.model_data.get_sd_model()

    @sd_model.setter
    def sd_model(self, value):
        from modules import sd_models

        sd_models.model_data.set_sd_model(value)


sys.modules[__name__].__class__ = _Shared

from webui_double import shim_config as _shim  # noqa: E402

if _shim.current.is_neo:  # Neo has no hypernetworks at all
    del hypernetworks, loaded_hypernetworks, reload_hypernetworks

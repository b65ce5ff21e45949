"""Forge's checkpoint / module selection, as ``modules_forge.main_entry`` (no UI).

``checkpoint_change`` only records the choice (``opts.sd_model_checkpoint``) and refreshes
``sd_models.model_data.forge_loading_parameters``; the model is loaded lazily by the next
``process_images`` (``sd_models.forge_model_reload``).

Neo (``neo`` flavour): ``checkpoint_change(ckpt_name, preset, save, refresh)``,
``modules_change(module_values, preset, ...)`` and ``dtype_change(dtype, preset, ...)`` take the UI
preset (``opts.forge_preset``: sd / xl / flux / ...) and also record the choice per preset
(``forge_checkpoint_<preset>`` ...); the UI passes its preset dropdown, Neo's own internal calls
(hires checkpoint, ``/sdapi/v1/options``) pass ``preset=None``.
"""

from __future__ import annotations

from modules import sd_models, sd_vae, shared
from webui_double import shim_config

module_list: dict[str, str] = {}
ui_checkpoint = None
ui_vae = None


def refresh_models() -> tuple[list[str], list[str]]:
    shared.refresh_checkpoints()
    sd_vae.refresh_vae_list()
    module_list.clear()
    module_list.update(sd_vae.vae_dict)
    return sd_models.checkpoint_tiles(shared.opts.sd_checkpoint_dropdown_use_short), list(module_list.keys())


def refresh_model_loading_parameters() -> None:
    checkpoint_info = sd_models.select_checkpoint()
    sd_models.model_data.forge_loading_parameters = {
        "checkpoint_info": checkpoint_info,
        "additional_modules": shared.opts.forge_additional_modules,
        "unet_storage_dtype": None
        if shared.opts.forge_unet_storage_dtype == "Automatic"
        else shared.opts.forge_unet_storage_dtype,
    }
    print(f"Model selected: {_describe(checkpoint_info)}")


def _describe(checkpoint_info) -> str:
    filename = checkpoint_info.filename if checkpoint_info is not None else None
    return str(
        {
            "checkpoint_info": {"filename": filename},
            "additional_modules": shared.opts.forge_additional_modules,
        }
    )


def _checkpoint_change(ckpt_name: str, preset: str | None, save: bool, refresh: bool) -> bool:
    new_ckpt_info = sd_models.get_closet_checkpoint_match(ckpt_name)
    current_ckpt_info = sd_models.get_closet_checkpoint_match(shared.opts.data.get("sd_model_checkpoint", ""))
    if new_ckpt_info == current_ckpt_info:
        return False
    shared.opts.set("sd_model_checkpoint", ckpt_name)
    if preset is not None:
        shared.opts.set(f"forge_checkpoint_{preset}", ckpt_name)
    if save:
        shared.opts.save(shared.config_filename)
    if refresh:
        refresh_model_loading_parameters()
    return True


def _modules_change(module_values: list, preset: str | None, save: bool, refresh: bool) -> bool:
    modules = []
    for v in module_values or []:
        modules.append(module_list.get(v, v))
    if sorted(modules) == sorted(shared.opts.forge_additional_modules or []):
        return False
    shared.opts.set("forge_additional_modules", modules)
    if preset is not None:
        shared.opts.set(f"forge_additional_modules_{preset}", modules)
    if save:
        shared.opts.save(shared.config_filename)
    if refresh:
        refresh_model_loading_parameters()
    return True


if shim_config.current.is_neo:

    def checkpoint_change(ckpt_name: str, preset: str, save=True, refresh=True) -> bool:
        """Neo: select a checkpoint for ``preset`` too (``forge_checkpoint_<preset>``, which the
        UI restores when the user switches back to that preset); ``preset=None`` skips that."""
        return _checkpoint_change(ckpt_name, preset, save, refresh)

    def modules_change(module_values: list, preset: str, save=True, refresh=True) -> bool:
        """Neo: VAE / text encoders, also remembered as ``forge_additional_modules_<preset>``."""
        return _modules_change(module_values, preset, save, refresh)

    def dtype_change(dtype: str, preset: str, save=True, refresh=True) -> bool:
        """Neo: "Diffusion in Low Bits"; always True (Neo does not compare)."""
        shared.opts.set("forge_unet_storage_dtype", dtype)
        if preset is not None:
            shared.opts.set(f"forge_unet_storage_dtype_{preset}", dtype)
        if save:
            shared.opts.save(shared.config_filename)
        if refresh:
            refresh_model_loading_parameters()
        return True

else:

    def checkpoint_change(ckpt_name: str, save: bool = True, refresh: bool = True) -> bool:
        """Select a checkpoint (name, title or hash); False if it is already the selected one."""
        return _checkpoint_change(ckpt_name, None, save, refresh)

    def modules_change(module_values: list, save: bool = True, refresh: bool = True) -> bool:
        """Select VAE / text-encoder files (names or paths); False if unchanged."""
        return _modules_change(module_values, None, save, refresh)


def get_a1111_ui_component(tab, label):
    return None


def forge_main_entry() -> None:
    refresh_models()

"""``modules.sysinfo.set_config``: apply a dict of settings (Forge routes model keys to main_entry)."""

from __future__ import annotations

from modules import shared

from webui_double import shim_config


def set_config(req: dict, is_api=False, run_callbacks=True, save_config=True) -> None:
    should_refresh = False
    for k, v in req.items():
        if shim_config.current.is_forge and k in ("sd_model_checkpoint", "forge_additional_modules"):
            from modules_forge import main_entry

            preset = {"preset": None} if shim_config.current.is_neo else {}  # Neo: no UI preset here
            if k == "sd_model_checkpoint":
                main_entry.checkpoint_change(v, save=False, refresh=False, **preset)
            else:
                main_entry.modules_change(v, save=False, refresh=False, **preset)
            should_refresh = True
        else:
            shared.opts.set(k, v, is_api=is_api, run_callbacks=run_callbacks)
    if save_config:
        shared.opts.save(shared.config_filename)
    if should_refresh:
        from modules_forge import main_entry

        main_entry.refresh_model_loading_parameters()

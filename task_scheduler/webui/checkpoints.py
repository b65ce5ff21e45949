"""Checkpoints (and Forge's VAE / text-encoder modules) for queued tasks.

A task names its checkpoint as the user chose it; it is resolved with the WebUI's own
``get_closet_checkpoint_match`` when the task runs (so the `` [hash]`` a title gains after its
first load does not matter) and switched *permanently*, like the checkpoint dropdown does: the
next task on the same model pays nothing, and nothing restores the old model afterwards (the
override-and-restore of Agent Scheduler reloads the user's model between every task, AS#164).

* Forge: ``modules_forge.main_entry.checkpoint_change(name, save=False, refresh=True)`` records
  the choice; the model loads lazily at the next generation, on Forge's main thread. Forge
  registers no ``onchange`` for the option, so this is safe while holding ``queue_lock``.
  ``sd_models.reload_model_weights`` is a no-op there and is never used.
* Forge Neo: the same functions take the UI preset (``checkpoint_change(name, preset, ...)``,
  ``modules_change(values, preset, ...)``, ``dtype_change(dtype, preset, ...)``) and also remember
  the choice per preset (``forge_checkpoint_<preset>``, which Neo's UI restores when the user
  switches to that preset). A task carries the preset it was queued under
  (``override_settings.forge_preset``), which becomes the current one again when it runs, and
  the storage dtype (``forge_unet_storage_dtype``, a reload when it changes). Arguments are passed
  by name after looking at the signature, so Forge's functions are called as before.
* A1111: ``opts.set("sd_model_checkpoint", ...)`` fires an ``onchange`` that takes ``queue_lock``
  (a deadlock for a caller already holding it), so the option is written directly and the
  weights are loaded with ``sd_models.reload_model_weights`` by the caller, inside the lock.
  A1111 loads the selected model at start in a thread of its own (``initialize.py``), holding
  ``model_data.lock`` with ``sd_model`` still None; a second load meanwhile fails ("Cannot copy
  out of meta tensor"). So :func:`switch` first reads ``shared.sd_model`` as Generate does: it
  waits for that load (or starts it, if nothing has loaded yet), and only then switches.
  Forge has no such window: it loads nothing at start, and every load happens inside a
  generation on its main thread, under ``queue_lock``.

``switch`` must be called with ``queue_lock`` held, from the thread that runs the task's work
(on A1111 the load happens right there).
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
from typing import Any

from ..errors import TaskSchedulerError

log = logging.getLogger(__name__)

#: ``override_settings`` keys that select models: applied as a permanent switch, never as a
#: per-task override that the WebUI restores afterwards.
MODEL_KEYS = ("sd_model_checkpoint", "forge_additional_modules", "forge_preset", "forge_unet_storage_dtype")
_VAE_DEFAULTS = ("", "Automatic", "None")


class MissingCheckpoint(TaskSchedulerError, LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        listed = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "")
        super().__init__(f"checkpoint {name!r} is not installed (installed: {listed or 'none'})")
        self.name = name


class MissingModule(TaskSchedulerError, LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"VAE / text encoder {name!r} is not installed")
        self.name = name


def is_forge() -> bool:
    try:
        return importlib.util.find_spec("modules_forge") is not None
    except (ImportError, ValueError):
        return False


def resolve(name: str | None) -> Any | None:
    """The CheckpointInfo a stored name, title or hash means now; None for "the current one"."""
    if name is None or not str(name).strip():
        return None
    from modules import sd_models

    info = sd_models.get_closet_checkpoint_match(str(name).strip())
    if info is None:
        raise MissingCheckpoint(str(name), [c.name for c in sd_models.checkpoints_list.values()])
    return info


def current_name() -> str | None:
    """The checkpoint the next generation runs on without a switch, by ``name``.

    Forge's ``shared.sd_model`` has no checkpoint before the first generation, and A1111's
    ``shared.sd_model`` *loads* one when read too early; the selected option is what the next
    generation uses in both, so it is read first (and never triggers a load).
    """
    from modules import sd_models, shared

    selected = shared.opts.data.get("sd_model_checkpoint")
    info = sd_models.get_closet_checkpoint_match(selected) if selected else None
    if info is None:
        loaded = getattr(sd_models.model_data, "sd_model", None)
        info = getattr(loaded, "sd_checkpoint_info", None)
    return getattr(info, "name", None) if info is not None else None


def takes_preset() -> bool:
    """Forge Neo: its model switches take the UI preset (Forge's do not; A1111 has none)."""
    if not is_forge():
        return False
    from modules_forge import main_entry

    return "preset" in _parameters(main_entry.checkpoint_change)


def webui_family() -> str:
    """Which WebUI this is, as a task records it (``neo``, ``forge`` or ``a1111``): their
    Generate signatures and script arguments differ, so a Queue-button capture runs only on
    its own family (see claiming.py)."""
    if takes_preset():
        return "neo"
    return "forge" if is_forge() else "a1111"


def current_preset() -> str | None:
    """Neo's UI preset now (``sd``, ``xl``, ``flux``, ...); None on Forge and A1111."""
    if not takes_preset():
        return None
    from modules import shared

    preset = shared.opts.data.get("forge_preset")
    return str(preset) if preset else None


def select_preset(overrides: dict[str, Any]) -> str | None:
    """Take the task's ``forge_preset`` out of ``overrides`` and make it Neo's current preset.

    Returns the preset the switches of this task are recorded under (the task's, else the current
    one); None where the WebUI has no presets (the key is dropped there). Call with
    ``queue_lock`` held, before :func:`switch`.
    """
    wanted = overrides.pop("forge_preset", None)
    if not takes_preset():
        return None
    from modules import shared

    if wanted and str(wanted) != shared.opts.data.get("forge_preset"):
        shared.opts.set("forge_preset", str(wanted))  # what Neo's preset dropdown does (no onchange)
    return current_preset()


def switch(info: Any | None, preset: str | None = None) -> bool:
    """Make ``info`` the checkpoint of the next generation; True when that meant a change.

    Call with ``queue_lock`` held. On A1111 the weights load here, synchronously. ``preset``
    (Neo): the UI preset the choice is recorded for, as Neo's checkpoint dropdown does.
    """
    if info is None:
        return False
    from modules import sd_models, shared

    if is_forge():
        from modules_forge import main_entry

        change = main_entry.checkpoint_change
        return bool(change(info.name, save=False, refresh=True, **_preset_argument(change, preset)))
    loaded = _wait_for_webui_load()
    loaded_info = getattr(loaded, "sd_checkpoint_info", None)
    changed = shared.opts.data.get("sd_model_checkpoint") != info.title
    shared.opts.data["sd_model_checkpoint"] = info.title  # not opts.set: its onchange takes queue_lock
    if loaded_info is not None and getattr(loaded_info, "filename", None) == info.filename:
        return changed
    sd_models.reload_model_weights(info=info)
    return True


def _wait_for_webui_load() -> Any | None:
    """A1111's loaded model once its own (start-up) load is over; what Generate reads first.

    ``model_data.get_sd_model()`` returns at once after the first load, otherwise it takes
    ``model_data.lock``, i.e. waits for the start-up thread, or loads the selected model itself.
    A failed start-up load leaves None: the switch below then loads the task's model.
    """
    from modules import sd_models

    model_data = sd_models.model_data
    get = getattr(model_data, "get_sd_model", None)
    if get is None:  # pragma: no cover - older A1111 without the accessor
        from modules import shared

        return shared.sd_model
    return get()


def switch_modules(overrides: dict[str, Any], preset: str | None = None) -> bool:
    """Select the VAE / text encoders a task names, permanently like its checkpoint.

    ``overrides`` is the task's ``override_settings``; the model keys are taken out of it and
    applied here, so the WebUI never restores (and reloads) them after the task. Forge:
    ``forge_additional_modules`` (module names or paths) and an explicit ``sd_vae`` go through
    ``main_entry.modules_change``. A1111: ``sd_vae`` is written to the option directly (its
    ``onchange`` takes ``queue_lock``) and loaded with ``sd_vae.reload_vae_weights``. Neo: also
    ``forge_unet_storage_dtype`` through ``main_entry.dtype_change``; every switch is recorded for
    ``preset``. Call with ``queue_lock`` held, after :func:`switch`.
    """
    if not is_forge():
        overrides.pop("forge_additional_modules", None)
        overrides.pop("forge_unet_storage_dtype", None)
        return _switch_a1111_vae(overrides)
    from modules_forge import main_entry

    changed = _switch_dtype(overrides.pop("forge_unet_storage_dtype", None), preset)

    wanted: list[str] | None = None
    if "forge_additional_modules" in overrides:
        value = overrides.pop("forge_additional_modules")
        wanted = [str(v) for v in (value if isinstance(value, (list, tuple)) else [value]) if v]
    vae = overrides.pop("sd_vae", None)
    if vae is not None and str(vae) not in _VAE_DEFAULTS:
        wanted = (wanted or []) + [str(vae)]
    if wanted is None:
        return changed
    known = getattr(main_entry, "module_list", {}) or {}
    paths = []
    for item in wanted:
        path = known.get(item, item)
        if path not in known.values() and not _exists(path):
            raise MissingModule(item)
        paths.append(path)
    change = main_entry.modules_change
    return bool(change(paths, save=False, refresh=True, **_preset_argument(change, preset))) or changed


def _switch_dtype(dtype: Any, preset: str | None) -> bool:
    """Neo's "Diffusion in Low Bits" for the task (Forge: no ``dtype_change``; the value is dropped)."""
    from modules import shared
    from modules_forge import main_entry

    change = getattr(main_entry, "dtype_change", None)
    if not dtype or change is None or str(dtype) == shared.opts.data.get("forge_unet_storage_dtype"):
        return False
    return bool(change(str(dtype), save=False, refresh=True, **_preset_argument(change, preset)))


def _parameters(function: Any) -> Any:
    try:
        return inspect.signature(function).parameters
    except (TypeError, ValueError):
        return {}


def _preset_argument(function: Any, preset: str | None) -> dict[str, Any]:
    """``{"preset": preset}`` for Neo's switches, nothing for Forge's (called by name either way)."""
    return {"preset": preset} if "preset" in _parameters(function) else {}


def _switch_a1111_vae(overrides: dict[str, Any]) -> bool:
    if "sd_vae" not in overrides:
        return False
    from modules import sd_vae, shared

    vae = overrides.pop("sd_vae")
    vae = "Automatic" if vae in (None, "") else str(vae)
    if vae not in ("Automatic", "None") and vae not in getattr(sd_vae, "vae_dict", {}):
        raise MissingModule(vae)
    if shared.opts.data.get("sd_vae", "Automatic") == vae:
        return False
    shared.opts.data["sd_vae"] = vae  # not opts.set: its onchange takes queue_lock
    sd_vae.reload_vae_weights()
    return True


def _exists(path: str) -> bool:
    import os

    return os.path.isfile(path)

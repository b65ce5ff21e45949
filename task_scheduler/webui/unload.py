"""Give the GPU back while the queue idles, with the WebUI's own unload; load it again for the next task.

Forge and Forge Neo: ``sd_models.unload_model_weights()`` is their memory management's
``unload_all_models()`` (the Settings page's "Unload all models"). Neo's also releases the model
(a ``FakeInitialModel`` in its place, ``forge_hash`` cleared, caches emptied, ``gc``); Forge's
keeps it in RAM, so here it is released the same way Neo and Forge's own model switch
(``forge_model_reload``) do. The next generation's ``forge_model_reload()`` then loads it again,
as after a start.

AUTOMATIC1111: ``sd_models.unload_model_weights()`` moves the model to RAM ("Unload SD checkpoint
to RAM"); a generation before ``send_model_to_device`` fails, so the runner moves it back before
the next task, as the Settings page's "Reload checkpoint from RAM" does.

Both run under ``queue_lock``: never while a generation (the queue's or the user's) runs. On
Forge the freed memory is then handed back to the system (glibc's ``malloc_trim``), so the
process's resident size drops by the model's size.
"""

from __future__ import annotations

import gc
import logging
from typing import Literal

from . import checkpoints

log = logging.getLogger(__name__)

#: what an unload did: released the model (Forge, Neo), moved it to RAM (A1111), or nothing
Unloaded = Literal["released", "in_ram", "nothing"]


def unload() -> Unloaded:
    """Unload the model now, if one is loaded."""
    from modules import call_queue, sd_models

    with call_queue.queue_lock:
        model_data = sd_models.model_data
        if checkpoints.is_forge():
            if getattr(model_data.sd_model, "sd_checkpoint_info", None) is None:
                return "nothing"  # before the first generation, or released already
            sd_models.unload_model_weights()
            if getattr(model_data.sd_model, "sd_checkpoint_info", None) is not None:
                _release_forge_model(sd_models)
            _return_freed_memory()
            return "released"
        if model_data.sd_model is None:
            return "nothing"
        sd_models.unload_model_weights()
        return "in_ram"


def _release_forge_model(sd_models: object) -> None:
    """What Neo's ``unload_model_weights`` does after ``unload_all_models``, for Forge's."""
    from backend import memory_management

    model_data = sd_models.model_data  # type: ignore[attr-defined]
    model_data.set_sd_model(sd_models.FakeInitialModel())  # type: ignore[attr-defined]
    model_data.forge_hash = ""
    memory_management.soft_empty_cache()
    gc.collect()


def _return_freed_memory() -> None:
    """Hand the freed weights' memory back to the system (glibc keeps freed heap memory
    otherwise: the process would still look as big). Elsewhere it does nothing."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reload_from_ram() -> None:
    """A1111: the model an unload moved to RAM goes back to the device (call under ``queue_lock``)."""
    from modules import sd_models

    model = sd_models.model_data.sd_model
    if model is not None:
        sd_models.send_model_to_device(model)

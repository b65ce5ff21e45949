"""``backend.memory_management`` as far as unloading goes (Forge dfdcbab, Neo).

``current_loaded_models`` holds the models on the GPU: a generation puts its model there
(``load_models_gpu`` in sampling); ``unload_all_models()`` empties it (``free_memory(1e30, ...)``:
the weights go back to their offload device, the model object stays where it is held);
``soft_empty_cache()`` and ``gc`` only count their calls here.
"""

from __future__ import annotations

current_loaded_models: list = []
soft_empty_cache_calls = 0


def load_models_gpu(models: list) -> None:
    for model in models:
        if model not in current_loaded_models:
            current_loaded_models.insert(0, model)


def unload_all_models() -> None:
    current_loaded_models.clear()


def soft_empty_cache(force: bool = False) -> None:
    global soft_empty_cache_calls
    soft_empty_cache_calls += 1

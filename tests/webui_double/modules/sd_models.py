"""Checkpoint listing and (fake) loading, as ``modules.sd_models``.

* ``CheckpointInfo.title`` is ``name`` until the sha256 is known; ``calculate_shorthash()`` (run on
  the first load) renames it to ``"name [shorthash]"``; the old title stays an alias.
* Forge flavour: ``reload_model_weights`` / ``load_model`` are no-ops; a model is "loaded" lazily by
  ``forge_model_reload()`` (called from ``process_images``) when ``model_data.forge_loading_parameters``
  changed. A1111 flavour: ``reload_model_weights`` loads synchronously in the calling thread; the
  start-up load runs in a thread of its own (``initialize.py``: ``Thread(target=load_model)``, which
  reads ``shared.sd_model``): while it runs ``model_data.sd_model`` is None and ``model_data.lock`` is
  held, and a second load started meanwhile fails as in the real WebUI ("Cannot copy out of meta
  tensor"), because both fill one half-built model.
Every load is appended to ``webui_double.shim_config.current.model_loads`` (checkpoint names).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import threading

from modules import devices, paths_internal, script_callbacks, shared

from webui_double import shim_config

FORGE = shim_config.current.is_forge

model_dir = "Stable-diffusion"
model_path = os.path.abspath(os.path.join(paths_internal.models_path, model_dir))

checkpoints_list: dict = {}
checkpoint_aliases: dict = {}
checkpoints_loaded: dict = {}
_sha256_cache: dict[str, str] = {}


def replace_key(d: dict, key, new_key, value) -> dict:
    keys = list(d.keys())
    d[new_key] = value
    if key not in keys:
        return d
    index = keys.index(key)
    keys[index] = new_key
    new_d = {k: d[k] for k in keys}
    d.clear()
    d.update(new_d)
    return d


def model_hash(filename: str) -> str:
    """The old 8-hex hash: sha256 of 64 KiB at offset 1 MiB (whole file when it is smaller)."""
    try:
        with open(filename, "rb") as file:
            file.seek(0x100000)
            chunk = file.read(0x10000)
            if not chunk:
                file.seek(0)
                chunk = file.read()
        return hashlib.sha256(chunk).hexdigest()[0:8]
    except FileNotFoundError:
        return "NOFILE"


def _sha256(filename: str) -> str:
    if filename not in _sha256_cache:
        with open(filename, "rb") as file:
            _sha256_cache[filename] = hashlib.sha256(file.read()).hexdigest()
    return _sha256_cache[filename]


class CheckpointInfo:
    def __init__(self, filename: str):
        self.filename = filename
        abspath = os.path.abspath(filename)
        if abspath.startswith(model_path + os.sep):
            name = abspath.replace(model_path, "")
        else:
            name = os.path.basename(filename)
        if name.startswith("\\") or name.startswith("/"):
            name = name[1:]
        self.name = name.replace("\\", "/")
        self.name_for_extra = os.path.splitext(os.path.basename(filename))[0]
        self.model_name = os.path.splitext(self.name.replace("/", "_"))[0]
        self.hash = model_hash(filename)
        self.is_safetensors = filename.lower().endswith(".safetensors")
        self.metadata: dict = {}
        self.sha256 = _sha256_cache.get(filename)
        self.shorthash = self.sha256[0:10] if self.sha256 else None
        self.title = self.name if self.shorthash is None else f"{self.name} [{self.shorthash}]"
        self.short_title = (
            self.name_for_extra if self.shorthash is None else f"{self.name_for_extra} [{self.shorthash}]"
        )
        self.ids = [
            self.hash,
            self.model_name,
            self.title,
            self.name,
            self.name_for_extra,
            f"{self.name} [{self.hash}]",
        ]
        if self.shorthash:
            self.ids += [
                self.shorthash,
                self.sha256,
                f"{self.name} [{self.shorthash}]",
                f"{self.name_for_extra} [{self.shorthash}]",
            ]

    def register(self) -> None:
        checkpoints_list[self.title] = self
        for alias in self.ids:
            checkpoint_aliases[alias] = self

    def calculate_shorthash(self) -> str:
        self.sha256 = _sha256(self.filename)
        if self.sha256 is None:
            return None
        shorthash = self.sha256[0:10]
        if self.shorthash == shorthash:
            return self.shorthash
        self.shorthash = shorthash
        if self.shorthash not in self.ids:
            self.ids += [
                self.shorthash,
                self.sha256,
                f"{self.name} [{self.shorthash}]",
                f"{self.name_for_extra} [{self.shorthash}]",
            ]
        old_title = self.title
        self.title = f"{self.name} [{self.shorthash}]"
        self.short_title = f"{self.name_for_extra} [{self.shorthash}]"
        replace_key(checkpoints_list, old_title, self.title, self)
        self.register()
        return self.shorthash


def list_models() -> None:
    checkpoints_list.clear()
    checkpoint_aliases.clear()
    extensions = ["*.ckpt", "*.safetensors"] + (["*.gguf"] if FORGE else [])
    found = []
    for pattern in extensions:
        found += glob.glob(os.path.join(model_path, "**", pattern), recursive=True)
    if shared.cmd_opts.ckpt_dir:
        for pattern in extensions:
            found += glob.glob(os.path.join(shared.cmd_opts.ckpt_dir, "**", pattern), recursive=True)
    for filename in sorted(set(found), key=str.lower):
        CheckpointInfo(filename).register()


def checkpoint_tiles(use_short: bool = False) -> list[str]:
    """Dropdown entries: titles in A1111, names in Forge (short titles with ``use_short``)."""
    if use_short:
        return [x.short_title for x in checkpoints_list.values()]
    if FORGE:
        return [x.name for x in checkpoints_list.values()]
    return [x.title for x in checkpoints_list.values()]


re_strip_checksum = re.compile(r"\s*\[[^]]+]\s*$")


def get_closet_checkpoint_match(search_string: str):
    """Exact alias, else the shortest title containing it, else the same without a trailing ``[hash]``."""
    if not search_string:
        return None
    info = checkpoint_aliases.get(search_string)
    if info is not None:
        return info
    found = sorted(
        [x for x in checkpoints_list.values() if search_string in x.title], key=lambda x: len(x.title)
    )
    if found:
        return found[0]
    stripped = re_strip_checksum.sub("", search_string)
    found = sorted([x for x in checkpoints_list.values() if stripped in x.title], key=lambda x: len(x.title))
    return found[0] if found else None


def select_checkpoint():
    """The checkpoint named by ``opts.sd_model_checkpoint``, else the first one, else None."""
    info = checkpoint_aliases.get(shared.opts.sd_model_checkpoint)
    if info is not None:
        return info
    if not checkpoints_list:
        print("No checkpoints found.")
        return None
    return next(iter(checkpoints_list.values()))


class FakeInitialModel:
    """Forge's placeholder before the first generation: no ``sd_checkpoint_info``."""

    def __init__(self):
        self.cond_stage_model = None
        self.chunk_length = 75

    def get_prompt_lengths_on_ui(self, prompt):
        return 0, 75


class FakeSDModel:
    """What the double "loads": carries the checkpoint identity, no weights."""

    is_sdxl = False
    is_sd1 = True
    is_sd2 = False
    is_sd3 = False

    def __init__(self, checkpoint_info: CheckpointInfo):
        self.sd_checkpoint_info = checkpoint_info
        self.sd_model_checkpoint = checkpoint_info.filename
        self.filename = checkpoint_info.filename
        self.sd_model_hash = checkpoint_info.calculate_shorthash()
        self.lowvram = False
        #: where the weights are: ``shared.device`` after a load, ``devices.cpu`` after A1111's unload
        self.device = shared.device

    def to(self, device):
        self.device = device
        return self

    def __repr__(self) -> str:
        return f"FakeSDModel({self.sd_checkpoint_info.name!r})"


class _CountingLock:
    """``threading.Lock`` that counts threads blocked on it (so a test can tell one waits)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.waiting = 0

    def acquire(self, blocking=True, timeout=-1):
        if self._lock.acquire(False):
            return True
        if not blocking:
            return False
        self.waiting += 1
        try:
            return self._lock.acquire(True, timeout)
        finally:
            self.waiting -= 1

    def release(self):
        self._lock.release()

    def locked(self):
        return self._lock.locked()

    __enter__ = acquire

    def __exit__(self, *exc_info):
        self.release()


class ModelData:
    def __init__(self):
        self.sd_model = FakeInitialModel() if FORGE else None
        self.loaded_sd_models: list = []
        self.was_loaded_at_least_once = False
        self.lock = _CountingLock()
        self.forge_loading_parameters: dict = {}
        self.forge_hash = ""

    def get_sd_model(self):
        """A1111: the first read loads the selected model under ``lock`` (others wait on it)."""
        if FORGE or self.was_loaded_at_least_once:
            return self.sd_model
        if self.sd_model is None:
            with self.lock:
                if self.sd_model is not None or self.was_loaded_at_least_once:
                    return self.sd_model
                try:
                    load_model()
                except Exception as exc:
                    print(f"Stable diffusion model failed to load: {exc}")
                    self.sd_model = None
        return self.sd_model

    def set_sd_model(self, v, already_loaded=False):
        self.sd_model = v
        if already_loaded and v is not None:
            self.loaded_sd_models = [v]


model_data = ModelData()


_loading = 0
_loading_lock = threading.Lock()

META_TENSOR_ERROR = (
    "Error(s) in loading state_dict for LatentDiffusion:\n\tWhile copying the parameter named "
    '"model.diffusion_model.time_embed.0.weight", whose dimensions in the model are torch.Size([1280, 320]) '
    "and whose dimensions in the checkpoint are torch.Size([1280, 320]), an exception occurred : "
    "('Cannot copy out of meta tensor; no data!',)."
)


def _load(checkpoint_info: CheckpointInfo):
    """One load; A1111: a second one while another runs fails, as two loads into one model do."""
    global _loading
    if FORGE:
        return _build(checkpoint_info)
    with _loading_lock:
        concurrent = _loading > 0
        _loading += 1
    try:
        if concurrent:
            raise RuntimeError(META_TENSOR_ERROR)
        gate = shim_config.current.start_load_gate
        if gate is not None and threading.current_thread() is shim_config.current.start_load_thread:
            gate.wait()
        return _build(checkpoint_info)
    finally:
        with _loading_lock:
            _loading -= 1


def load_model_at_start() -> None:
    """``initialize.py``'s start-up thread: read ``shared.sd_model``, which loads under the lock."""
    shared.sd_model  # noqa: B018


def _build(checkpoint_info: CheckpointInfo):
    sd_model = FakeSDModel(checkpoint_info)
    shim_config.current.model_loads.append(checkpoint_info.name)
    model_data.set_sd_model(sd_model, already_loaded=True)
    model_data.was_loaded_at_least_once = True
    print(f"Model loaded: {checkpoint_info.title}")
    script_callbacks.model_loaded_callback(sd_model)
    return sd_model


if FORGE:

    def load_model(checkpoint_info=None, already_loaded_state_dict=None):
        """No-op in Forge."""

    def reload_model_weights(sd_model=None, info=None, forced_reload=False):
        """No-op in Forge: switch with ``modules_forge.main_entry.checkpoint_change`` instead."""

    def unload_model_weights(sd_model=None, info=None):
        """Forge (dfdcbab): ``memory_management.unload_all_models()``; the model stays held in RAM.

        Neo: also releases it: ``FakeInitialModel`` in its place and ``forge_hash`` cleared, so
        the next ``forge_model_reload()`` loads it again.
        """
        from backend import memory_management

        memory_management.unload_all_models()
        if shim_config.current.is_neo:
            model_data.sd_model = FakeInitialModel()
            model_data.forge_hash = ""
            memory_management.soft_empty_cache()

    def forge_model_reload():
        """Load the model described by ``model_data.forge_loading_parameters`` if it changed."""
        current_hash = str(model_data.forge_loading_parameters)
        if model_data.forge_hash == current_hash:
            return model_data.sd_model, False
        checkpoint_info = model_data.forge_loading_parameters.get("checkpoint_info")
        if checkpoint_info is None:
            raise ValueError(
                "You do not have any model! Please download at least one model in [models/Stable-diffusion]."
            )
        print(f"Loading Model: {{'checkpoint_info': {{'filename': {checkpoint_info.filename!r}}}}}")
        model_data.forge_hash = current_hash
        return _load(checkpoint_info), True

else:

    def load_model(checkpoint_info=None, already_loaded_state_dict=None):
        checkpoint_info = checkpoint_info or select_checkpoint()
        if checkpoint_info is None:
            raise FileNotFoundError("No checkpoints found.")
        sd_model = _load(checkpoint_info)
        shared.opts.data["sd_model_checkpoint"] = checkpoint_info.title
        shared.opts.data["sd_checkpoint_hash"] = checkpoint_info.sha256
        return sd_model

    def reload_model_weights(sd_model=None, info=None, forced_reload=False):
        """Load ``info`` (default: the ``opts`` checkpoint) synchronously unless it already is loaded."""
        checkpoint_info = info or select_checkpoint()
        current = model_data.sd_model
        if (
            current is not None
            and not forced_reload
            and current.sd_checkpoint_info.filename == checkpoint_info.filename
        ):
            return current
        return load_model(checkpoint_info)

    def unload_model_weights(sd_model=None, info=None):
        """A1111: ``send_model_to_cpu``: the model stays loaded, in RAM; a generation before
        ``send_model_to_device`` fails (its weights are not where the tensors are)."""
        send_model_to_cpu(sd_model or shared.sd_model)
        return sd_model


def send_model_to_cpu(m):
    if m is not None:
        m.to(devices.cpu)
    devices.torch_gc()


def send_model_to_device(m):
    m.to(shared.device)


def apply_token_merging(sd_model, token_merging_ratio) -> None:
    pass

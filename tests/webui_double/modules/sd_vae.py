"""Minimal ``modules.sd_vae``: VAE file listing under models/VAE, no loading."""

from __future__ import annotations

import glob
import os

from modules import paths_internal

vae_path = os.path.join(paths_internal.models_path, "VAE")
vae_dict: dict[str, str] = {}
base_vae = None
loaded_vae_file = None
checkpoint_info = None
unspecified = object()


def refresh_vae_list() -> None:
    vae_dict.clear()
    for pattern in ("*.pt", "*.ckpt", "*.safetensors"):
        for filepath in glob.glob(os.path.join(vae_path, "**", pattern), recursive=True):
            vae_dict[os.path.basename(filepath)] = filepath


def find_vae_near_checkpoint(checkpoint_file):
    return None


def resolve_vae(checkpoint_file):
    return None, None


def reload_vae_weights(sd_model=None, vae_file=unspecified):
    global loaded_vae_file
    if vae_file is not unspecified:
        loaded_vae_file = vae_file
    return sd_model


def get_filename(filepath):
    return os.path.basename(filepath)

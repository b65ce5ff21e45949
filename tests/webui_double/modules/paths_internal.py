"""Paths, as ``modules.paths_internal``; everything lives under the harness root (a tmp dir)."""

import os

from webui_double import shim_config

_root = str(shim_config.current.root or os.getcwd())

script_path = _root
data_path = _root
models_path = os.path.join(data_path, "models")
extensions_dir = os.path.join(data_path, "extensions")
extensions_builtin_dir = os.path.join(script_path, "extensions-builtin")
config_states_dir = os.path.join(script_path, "config_states")
default_output_dir = os.path.join(data_path, "outputs")
modules_path = os.path.dirname(os.path.realpath(__file__))
sd_configs_path = os.path.join(script_path, "configs")
sd_default_config = os.path.join(sd_configs_path, "v1-inference.yaml")
sd_model_file = os.path.join(script_path, "model.ckpt")
default_sd_model_file = sd_model_file

"""The LoRA extension's ``networks`` module (A1111 ``extensions-builtin/Lora``, Forge / Neo
``sd_forge_lora``), imported by the WebUI under that top-level name.

``list_available_networks()`` lists ``--lora-dir`` (``models/Lora``) as the real one does: every
``.pt``, ``.ckpt`` and ``.safetensors`` file, keyed by its file name without the extension, in
``available_networks`` and ``available_network_aliases`` (the alias, from the file's metadata in
the real WebUI, is the name here). A prompt's ``<lora:NAME:w>`` is looked up there, case and all;
a name that is not there is reported on the console and the image is made without it.
"""

from __future__ import annotations

import os

from modules import extra_networks, shared


class NetworkOnDisk:
    def __init__(self, name, filename):
        self.name = name
        self.filename = filename
        self.alias = name


class ExtraNetworkLora(extra_networks.ExtraNetwork):
    def __init__(self):
        super().__init__("lora")
        self.missing: list[str] = []

    def activate(self, p, params_list):
        for params in params_list:
            name = params.positional[0] if params.positional else ""
            if available_network_aliases.get(name) is None:
                self.missing.append(name)
                print(f"Networks not found: {name}")


def lora_dir() -> str:
    return os.path.join(shared.cmd_opts.data_dir, "models", "Lora")


def list_available_networks():
    available_networks.clear()
    available_network_aliases.clear()
    forbidden_network_aliases.clear()
    forbidden_network_aliases.update({"none": 1, "Addams": 1})
    os.makedirs(lora_dir(), exist_ok=True)
    for folder, _dirs, filenames in os.walk(lora_dir()):
        for filename in sorted(filenames):
            if os.path.splitext(filename)[1].lower() not in (".pt", ".ckpt", ".safetensors"):
                continue
            name = os.path.splitext(filename)[0]
            entry = NetworkOnDisk(name, os.path.join(folder, filename))
            available_networks[name] = entry
            if entry.alias in available_network_aliases:
                forbidden_network_aliases[entry.alias.lower()] = 1
            available_network_aliases[name] = entry
            available_network_aliases[entry.alias] = entry


available_networks: dict = {}
available_network_aliases: dict = {}
forbidden_network_aliases: dict = {}
extra_network_lora = ExtraNetworkLora()

list_available_networks()


def before_ui():
    """``lora_script.py``'s ``on_before_ui``: register ``lora`` (and, on A1111, ``lyco``)."""
    from webui_double import shim_config

    extra_networks.register_extra_network(extra_network_lora)
    if not shim_config.current.is_forge:
        extra_networks.register_extra_network_alias(extra_network_lora, "lyco")

"""``modules.extra_networks``: the registry of ``<kind:...>`` prompt tags, as in the WebUIs.

``initialize()`` empties it; A1111 and Forge then call ``register_default_extra_networks()``
(``hypernet``), Neo does not (it has no hypernetworks). The LoRA extension registers ``lora`` in
its ``before_ui`` callback; only A1111's also registers the alias ``lyco`` (Forge and Neo skip a
``<lyco:...>`` tag as an unknown extra network). The pattern and parsing are the WebUI's.
"""

from __future__ import annotations

import re
from collections import defaultdict

extra_network_registry: dict = {}
extra_network_aliases: dict = {}


def initialize():
    extra_network_registry.clear()
    extra_network_aliases.clear()


def register_extra_network(extra_network):
    extra_network_registry[extra_network.name] = extra_network


def register_extra_network_alias(extra_network, alias):
    extra_network_aliases[alias] = extra_network


class ExtraNetwork:
    def __init__(self, name):
        self.name = name

    def activate(self, p, params_list):
        pass

    def deactivate(self, p):
        pass


class ExtraNetworkHypernet(ExtraNetwork):
    def __init__(self):
        super().__init__("hypernet")


def register_default_extra_networks():
    register_extra_network(ExtraNetworkHypernet())


class ExtraNetworkParams:
    def __init__(self, items=None):
        self.items = items or []
        self.positional = []
        self.named = {}
        for item in self.items:
            parts = item.split("=", 2) if isinstance(item, str) else [item]
            if len(parts) == 2:
                self.named[parts[0]] = parts[1]
            else:
                self.positional.append(item)


re_extra_net = re.compile(r"<(\w+):([^>]+)>")


def parse_prompt(prompt):
    res = defaultdict(list)

    def found(m):
        name = m.group(1)
        args = m.group(2)
        res[name].append(ExtraNetworkParams(items=args.split(":")))
        return ""

    prompt = re.sub(re_extra_net, found, prompt)
    return prompt, res

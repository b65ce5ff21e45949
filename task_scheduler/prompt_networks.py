"""The extra networks a prompt names: ``<lora:name:0.8>``, ``<lyco:...>``, ``<hypernet:...>``.

Parsed as the WebUI parses them (``modules/extra_networks.py``: ``<(\\w+):([^>]+)>``, the name
being the first ``:``-separated argument), so the checker sees exactly the names the WebUI will
look up when the task runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

#: the WebUI's own pattern (``extra_networks.re_extra_net``)
EXTRA_NETWORK = re.compile(r"<(\w+):([^>]+)>")
#: the prompts a task runs with, by stored parameter name
PROMPT_PARAMS = ("prompt", "negative_prompt", "hr_prompt", "hr_negative_prompt")


@dataclass(frozen=True)
class NetworkRef:
    kind: str
    name: str
    where: str


def networks_in(text: str, where: str) -> Iterator[NetworkRef]:
    """Every ``<kind:name...>`` tag in ``text``, with the parameter it was found in."""
    if "<" not in text:
        return
    for match in EXTRA_NETWORK.finditer(text):
        name = match.group(2).split(":", 1)[0].strip()
        if name:
            yield NetworkRef(match.group(1).lower(), name, where)


def without_networks(text: str) -> str:
    """The prompt as the tokenizer sees it: extra network tags removed."""
    return EXTRA_NETWORK.sub(" ", text) if "<" in text else text


__all__ = ["EXTRA_NETWORK", "PROMPT_PARAMS", "NetworkRef", "networks_in", "without_networks"]

"""pytest fixtures for the WebUI double; import them into a conftest or test module with
``from webui_double.fixtures import webui, forge_webui, a1111_webui, neo_webui  # noqa: F401``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import webui_double


def _flavours() -> list[str]:
    """The stack's own flavour when ``tests/run`` names the stack (``$TASK_SCHEDULER_STACK``): a
    WebUI only ever runs on its own packages, so Forge's double on A1111's gradio 3 tests nothing
    real. Every flavour when pytest runs without it."""
    stack = os.environ.get("TASK_SCHEDULER_STACK", "")
    return [stack] if stack in webui_double.FLAVOURS else list(webui_double.FLAVOURS)


FLAVOURS_HERE = _flavours()


@pytest.fixture(params=FLAVOURS_HERE, ids=FLAVOURS_HERE)
def webui(request, tmp_path) -> Iterator[webui_double.Env]:
    """An installed double, once per flavour of this run (:func:`_flavours`); root = tmp_path."""
    with webui_double.installed(request.param, tmp_path) as env:
        yield env


@pytest.fixture
def forge_webui(tmp_path) -> Iterator[webui_double.Env]:
    with webui_double.installed(webui_double.FORGE, tmp_path) as env:
        yield env


@pytest.fixture
def a1111_webui(tmp_path) -> Iterator[webui_double.Env]:
    with webui_double.installed(webui_double.A1111, tmp_path) as env:
        yield env


@pytest.fixture
def neo_webui(tmp_path) -> Iterator[webui_double.Env]:
    with webui_double.installed(webui_double.NEO, tmp_path) as env:
        yield env

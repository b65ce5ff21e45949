"""pytest fixtures for the WebUI double; import them into a conftest or test module with
``from webui_double.fixtures import webui, forge_webui, a1111_webui, neo_webui  # noqa: F401``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import webui_double


@pytest.fixture(params=list(webui_double.FLAVOURS), ids=list(webui_double.FLAVOURS))
def webui(request, tmp_path) -> Iterator[webui_double.Env]:
    """An installed double, once per flavour ("forge", "a1111", "neo"); root = tmp_path."""
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

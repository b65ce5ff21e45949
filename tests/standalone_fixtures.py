"""Fixtures and helpers of the standalone server's tests, shared by its test modules.

``tests/conftest.py`` imports the fixtures (``fakes``, ``start_server``); test modules import the
constants and helpers (``API``, ``FAST``, ``eventually``, ``two_webuis``) from here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fake_webui import FakeWebUI, serve_app, stop_app

from task_scheduler.standalone.backends import PoolSettings
from task_scheduler.standalone.server import ServerConfig, Standalone

API = "/task-scheduler/v1"
#: health checks and progress polls every few tens of milliseconds: the tests wait on them
FAST = PoolSettings(health_interval_s=0.05, poll_s=0.02, timeout_s=5.0)


def eventually(predicate: Callable[[], Any], timeout: float = 10.0) -> bool:
    """True as soon as ``predicate()`` is; its last answer after ``timeout`` seconds."""
    event = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return True
        event.wait(0.01)
    return bool(predicate())


@contextmanager
def two_webuis() -> Iterator[tuple[FakeWebUI, FakeWebUI]]:
    """Two fake WebUIs: one checkpoint each has alone, and one both have."""
    a = FakeWebUI(("model-a.safetensors", "shared.safetensors")).start()
    b = FakeWebUI(("model-b.safetensors", "shared.safetensors")).start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture
def fakes() -> Iterator[tuple[FakeWebUI, FakeWebUI]]:
    """:func:`two_webuis`, for one test."""
    with two_webuis() as pair:
        yield pair


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., tuple[str, Standalone]]]:
    """``start(webuis, **config) -> (url, standalone)``: a standalone server over ``webuis`` (fake
    WebUIs or URLs), served on loopback until the test ends."""
    running = []

    def start(webuis: list[FakeWebUI | str], **config: Any) -> tuple[str, Standalone]:
        urls = [w if isinstance(w, str) else w.url for w in webuis]
        config.setdefault("db_path", tmp_path / "db" / "q.sqlite3")
        standalone = Standalone(ServerConfig(webuis=urls, pool=FAST, **config))
        url, server = serve_app(standalone.app)
        running.append(server)
        return url, standalone

    yield start
    for server in running:
        stop_app(server)

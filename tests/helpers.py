"""Small helpers shared by test modules (import as ``from helpers import ...``)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from task_scheduler.task import NewTask


def store_engines() -> tuple[str, ...]:
    """The store engines this run tests: ``$TASK_SCHEDULER_STORE_ENGINES`` (comma-separated), else both.

    Why a run may leave one out: the store's SQL is the same on every WebUI stack, so
    ``tests/run`` gives the PostgreSQL half to one stack when it runs several side by side.
    """
    chosen = os.environ.get("TASK_SCHEDULER_STORE_ENGINES", "")
    names = tuple(name.strip() for name in chosen.split(",") if name.strip())
    return names or ("sqlite", "postgresql")


def postgres_server() -> Iterator[Any]:
    """A PostgreSQL server started for the caller (a fixture's body: ``yield from``), removed after.

    Skips where the machine has no PostgreSQL, unless ``TASK_SCHEDULER_REQUIRE_POSTGRES=1`` (CI)
    makes that a failure. Modules that stop the server take one of their own.
    """
    import pg_cluster  # bench/, on the path through conftest

    if "postgresql" not in store_engines():
        pytest.skip("PostgreSQL runs on another stack in this run (TASK_SCHEDULER_STORE_ENGINES)")
    reason = pg_cluster.available()
    if reason:
        if os.environ.get("TASK_SCHEDULER_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here: {reason}")
        pytest.skip(reason)
    server = pg_cluster.PgCluster().start()
    try:
        yield server
    finally:
        server.destroy()


def make_task(prompt: str = "a cat", **kw) -> NewTask:
    params = {"prompt": prompt, "steps": 2, "width": 64, "height": 64}
    params.update(kw.pop("params", {}))
    return NewTask(kind=kw.pop("kind", "txt2img"), params=params, **kw)


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``predicate`` until it holds or ``timeout`` passes; its last value (for an assert)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        pause.wait(0.005)
    return predicate()

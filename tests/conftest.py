"""Shared fixtures: a real SQLite store in a temporary folder, the queue over it, an executor.

The WebUI test double's fixtures (``webui``, ``forge_webui``, ``a1111_webui``) come from
``tests/webui_double/fixtures.py``, the standalone server's (``fakes``, ``start_server``) from
``tests/standalone_fixtures.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from task_scheduler.executor import Executor, ExecutorSettings
from task_scheduler.files import FileStore
from task_scheduler.runner import InMemoryRunner
from task_scheduler.store import Store
from task_scheduler.task_queue import TaskQueue

try:  # the double is optional for core-only runs
    from webui_double.fixtures import a1111_webui, forge_webui, neo_webui, webui  # noqa: F401
except ImportError:  # pragma: no cover
    pass
try:  # the standalone server's need fastapi and httpx
    from standalone_fixtures import fakes, start_server  # noqa: F401
except ImportError:  # pragma: no cover
    pass


class FakeClock:
    """A controllable clock so ordering by time never depends on how fast the machine is."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 0.001
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "queue" / "task_scheduler.sqlite3"


@pytest.fixture
def store(db_path: Path, clock: FakeClock) -> Iterator[Store]:
    s = Store(db_path, clock=clock)
    yield s
    s.close()


@pytest.fixture
def files(db_path: Path) -> FileStore:
    return FileStore(db_path.parent / "task_scheduler_files")


@pytest.fixture
def queue(store: Store, files: FileStore) -> TaskQueue:
    return TaskQueue(store, files)


@pytest.fixture
def runner() -> InMemoryRunner:
    return InMemoryRunner()


@pytest.fixture
def executor(queue: TaskQueue, runner: InMemoryRunner) -> Iterator[Executor]:
    ex = Executor(queue, runner, ExecutorSettings())
    yield ex
    ex.close()

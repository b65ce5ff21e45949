"""Shared fixtures: a real store in a temporary folder, the queue over it, an executor.

The store is SQLite, and for the modules that form the store contract (those that set
``STORE_ENGINES``) also PostgreSQL: a real server this run starts itself (bench/pg_cluster.py),
one fresh schema per test. Without PostgreSQL on the machine those cases are skipped, unless
``TASK_SCHEDULER_REQUIRE_POSTGRES=1`` (CI) makes that a failure. ``TASK_SCHEDULER_STORE_ENGINES``
limits a run to some engines (``tests/run`` gives PostgreSQL to one stack).

The WebUI test double's fixtures (``webui``, ``forge_webui``, ``a1111_webui``) come from
``tests/webui_double/fixtures.py``, the standalone server's (``fakes``, ``start_server``) from
``tests/standalone_fixtures.py``.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import postgres_server, store_engines

from task_scheduler.blobs import StoreBlobs
from task_scheduler.executor import Executor, ExecutorSettings
from task_scheduler.files import FileStore, StoreHolds
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


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import pg_cluster  # noqa: E402 - a throwaway PostgreSQL server, shared with the benches

ENGINES = ("sqlite", "postgresql")
_schemas = itertools.count(1)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A contract module (``STORE_ENGINES = ENGINES``) runs each of its store tests on every engine."""
    engines = [e for e in getattr(metafunc.module, "STORE_ENGINES", ()) if e in store_engines()]
    if engines and "store_engine" in metafunc.fixturenames:
        metafunc.parametrize("store_engine", engines, indirect=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg_cluster.PgCluster]:
    """One PostgreSQL server for the whole run (a few seconds to start)."""
    yield from postgres_server()


@pytest.fixture
def store_engine(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
def store_location(store_engine: str, db_path: Path, request: pytest.FixtureRequest) -> str | Path:
    """Where this test's queue lives: its SQLite file, or a fresh schema on the test server."""
    if store_engine == "sqlite":
        return db_path
    cluster = request.getfixturevalue("postgres")
    return cluster.url(schema=f"t{os.getpid()}_{next(_schemas)}")


@pytest.fixture
def store(store_location: str | Path, clock: FakeClock) -> Iterator[Store]:
    s = Store(store_location, clock=clock)
    yield s
    s.close()


@pytest.fixture
def files(db_path: Path, store_engine: str, request: pytest.FixtureRequest) -> FileStore:
    """Beside the SQLite file; on PostgreSQL in the database, the folder being this machine's cache."""
    if store_engine == "sqlite":
        return FileStore(db_path.parent / "task_scheduler_files")
    store = request.getfixturevalue("store")
    return FileStore(db_path.parent / "files_cache", holds=StoreHolds(store), blobs=StoreBlobs(store))


@pytest.fixture
def queue(store: Store, files: FileStore) -> TaskQueue:
    return TaskQueue(store, files)


@pytest.fixture
def runner() -> InMemoryRunner:
    return InMemoryRunner()


@pytest.fixture
def executor(queue: TaskQueue, runner: InMemoryRunner) -> Iterator[Executor]:
    """One task per run: auto-batching (on by default for jobs) has its own tests, test_autobatch*."""
    ex = Executor(queue, runner, ExecutorSettings(auto_batch=0))
    yield ex
    ex.close()

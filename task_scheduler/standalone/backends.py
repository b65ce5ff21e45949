"""Several WebUIs behind one queue: each backend is a worker of it, a remote one.

A backend is an Executor with its own RemoteRunner, registered in the store like a WebUI's
in-process worker, with the same claim, lease and recovery (:mod:`..workers`). It publishes
the checkpoints its WebUI lists, so a task whose checkpoint only other workers have is left to
them, and among the rest the one using the model already chosen on this backend goes first. A
task whose checkpoint no worker has runs anywhere and fails with a message listing the models
there are. This module only adds what a remote WebUI needs: its health.

A backend that stops answering is marked down: the call in progress raises RunnerUnavailable
(connection refused or dropped), or the health check gives up on it, and the executor puts its
task back in the queue for the others. The health check keeps asking; when the WebUI answers
again the backend rejoins with a fresh list of its checkpoints.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RunnerUnavailable
from ..executor import Executor, ExecutorSettings
from ..files import FileStore
from ..runner import ProgressCallback, RunResult
from ..task import Task
from ..task_queue import TaskQueue
from ..workers import WorkerIdentity
from .remote_runner import RemoteError, RemoteRunner

log = logging.getLogger(__name__)


@dataclass
class PoolSettings:
    #: seconds between health checks of every backend
    health_interval_s: float = 3.0
    #: health checks that must fail in a row before a busy backend is given up on
    down_after_failures: int = 2
    #: seconds between progress polls while a task runs
    poll_s: float = 1.0
    #: per-request timeout (the generation call itself has none)
    timeout_s: float = 30.0


class Backend:
    """One WebUI: its runner, its worker, and whether it answers."""

    def __init__(self, pool: BackendPool, url: str, runner: RemoteRunner) -> None:
        self.pool = pool
        self.url = runner.url
        self.runner = runner
        self.up = False
        self.failures = 0
        self.error: str | None = None
        self.since = time.time()
        #: grows at every mark_down: an answer to a check sent before it proves nothing
        self._downs = 0
        self._keys: frozenset[str] = frozenset()
        self.executor = _BackendExecutor(self, pool.queue, _Guarded(self), pool.executor_settings)

    @property
    def keys(self) -> frozenset[str]:
        return self._keys

    @property
    def current_task_id(self) -> str | None:
        return self.executor.current_task_id

    def check(self) -> bool:
        """Ask the WebUI for its checkpoints; mark it up or (after enough failures) down."""
        downs = self._downs
        try:
            self.runner.refresh()
        except (RunnerUnavailable, RemoteError, ValueError) as exc:
            self.failures += 1
            busy = self.current_task_id is not None
            if self.up and (not busy or self.failures >= self.pool.settings.down_after_failures):
                self.mark_down(str(exc))
                if busy:
                    self.runner.abandon(f"{self.url} stopped answering: {exc}")
            elif not self.up:
                self.error = str(exc)
            return False
        if downs != self._downs:  # it died while this check was under way
            return False
        self.failures = 0
        keys = frozenset(self.runner.checkpoint_keys())
        changed, self._keys = keys != self._keys, keys
        if changed and self.executor.alive:
            self.executor.beat()  # the other workers learn at once which models it has
        if not self.up:
            self.up, self.error, self.since = True, None, time.time()
            log.info("backend %s is up (%d checkpoints)", self.url, len(self.runner.checkpoints))
            self.pool.wake_all()
        return True

    def mark_down(self, reason: str) -> None:
        if self.up:
            log.warning("backend %s is down: %s", self.url, reason)
            self.since = time.time()
        self._downs += 1
        self.up = False
        self.error = reason

    def status(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "up": self.up,
            "since": self.since,
            "error": self.error,
            "running": self.current_task_id,
            "checkpoint": self.runner.current_checkpoint(),
            "checkpoints": [c.title for c in self.runner.checkpoints],
        }


class _Guarded:
    """The backend's runner as its executor sees it: a lost WebUI marks the backend down first,
    so the worker stops claiming before the executor requeues the task."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def run(self, task: Task, progress: ProgressCallback) -> RunResult:
        try:
            return self.backend.runner.run(task, progress)
        except RunnerUnavailable as exc:
            self.backend.mark_down(str(exc))
            raise

    def interrupt(self) -> None:
        self.backend.runner.interrupt()

    def skip(self) -> None:
        self.backend.runner.skip()

    def current_checkpoint(self) -> str | None:
        return self.backend.runner.current_checkpoint()

    def available_checkpoints(self) -> list[str] | None:
        return self.backend.runner.available_checkpoints()


class _BackendExecutor(Executor):
    def __init__(
        self, backend: Backend, queue: TaskQueue, runner: _Guarded, settings: ExecutorSettings
    ) -> None:
        super().__init__(queue, runner, settings, worker=worker_for(backend.url))
        self.backend = backend

    def down(self) -> bool:
        return not self.backend.up

    def run_one(self) -> bool:
        if not self.backend.up:
            return False
        return super().run_one()


def worker_for(url: str) -> WorkerIdentity:
    """The worker a backend is in the queue: named by its URL, so a restarted server recovers
    the backend's own tasks at once."""
    return WorkerIdentity(id=url, name=url, kind="remote", info={"url": url})


class BackendPool:
    def __init__(
        self,
        queue: TaskQueue,
        files: FileStore,
        urls: Sequence[str],
        results_dir: str | Path,
        *,
        settings: PoolSettings | None = None,
        executor_settings: ExecutorSettings | None = None,
    ) -> None:
        if not urls:
            raise ValueError("give at least one WebUI URL")
        self.queue = queue
        self.settings = settings or PoolSettings()
        self.executor_settings = executor_settings or ExecutorSettings()
        self.backends: list[Backend] = []
        for url in urls:
            runner = RemoteRunner(
                url,
                files,
                results_dir,
                timeout_s=self.settings.timeout_s,
                poll_s=self.settings.poll_s,
            )
            self.backends.append(Backend(self, url, runner))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Look at every backend, start their workers (each recovers its own tasks) and the health check."""
        self.check_all()
        for backend in self.backends:
            backend.executor.register()  # every backend's models are known before any claims
        for backend in self.backends:
            backend.executor.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._health_loop, name="task-scheduler-health", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop everything; a task still generating goes back to the queue (and its WebUI is
        asked to stop), so it runs again at the next start instead of counting as a crash."""
        self._stop.set()
        for backend in self.backends:
            backend.executor.stop(timeout=0)
            if backend.current_task_id is not None:
                backend.runner.abandon("the queue server is shutting down")
                backend.runner.stop_remote()
        for backend in self.backends:
            backend.executor.stop(timeout=timeout)
            backend.executor.close()
        if self._thread is not None:
            self._thread.join(timeout)
        for backend in self.backends:
            backend.runner.close()

    def check_all(self) -> None:
        threads = [threading.Thread(target=b.check, daemon=True) for b in self.backends]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def wake_all(self) -> None:
        for backend in self.backends:
            backend.executor.wake()

    def up(self) -> list[Backend]:
        return [b for b in self.backends if b.up]

    def status(self) -> list[dict[str, Any]]:
        return [b.status() for b in self.backends]

    def _health_loop(self) -> None:
        while not self._stop.wait(self.settings.health_interval_s):
            try:
                self.check_all()
            except Exception:
                log.exception("backend health check failed")

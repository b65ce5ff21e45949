"""The seam between the executor and whatever actually generates images.

Three implementations stand behind it: the in-process WebUI runner (Forge and A1111), the remote
runner that calls a WebUI's HTTP API, and :class:`InMemoryRunner` for tests and benchmarks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .task import Task, TaskResult


@dataclass
class ProgressUpdate:
    fraction: float
    text: str = ""
    eta_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: an update that carries only this: everything the run has made so far (an image was saved),
    #: kept in the store so that a task requeued after a crash makes only what is missing
    made: TaskResult | None = None


ProgressCallback = Callable[[ProgressUpdate], None]


@dataclass
class RunResult:
    """What a run produced. ``interrupted`` runs still return the images made before the stop."""

    result: TaskResult = field(default_factory=TaskResult)
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)


@runtime_checkable
class Runner(Protocol):
    def run(self, task: Task, progress: ProgressCallback) -> RunResult:
        """Generate ``task``; raise to fail it (``errors.OutOfMemory`` for device memory)."""
        ...

    def interrupt(self) -> None:
        """Stop the current run as soon as possible, keeping what it made; safe from any thread."""
        ...

    def current_checkpoint(self) -> str | None:
        """The checkpoint a task would run on without a switch (for checkpoint-aware order)."""
        ...

    # Optional: stop_after_current() -> None: end the run after the image in progress, keeping
    #   what it made (the WebUI's "stop generating"); without it a "pause now" lets the task end.
    # Optional, for one of several runners sharing a queue (the standalone server's backends):
    #   checkpoints_elsewhere() -> Collection[str]: checkpoints this runner lacks but another has;
    #       the executor leaves tasks using them to that runner.
    # A runner that loses its WebUI raises errors.RunnerUnavailable: the task is requeued, not failed.


class InMemoryRunner:
    """A runner that "generates" instantly, for tests and the executor benchmark.

    ``behaviour(task)`` may return a :class:`RunResult`, raise, or block (e.g. on an event) so
    tests can hold a task in the running state; interrupt() sets :attr:`interrupted`,
    stop_after_current() :attr:`stopping`. While it runs, :attr:`report` is the run's progress
    callback, for a behaviour that reports as it goes.
    """

    def __init__(self, behaviour: Callable[[Task], RunResult | None] | None = None) -> None:
        self.behaviour = behaviour
        self.ran: list[str] = []
        self.loaded_checkpoint: str | None = None
        self.checkpoint_loads: list[str] = []
        self.interrupted = threading.Event()
        self.stopping = threading.Event()
        self.report: ProgressCallback = lambda update: None

    def run(self, task: Task, progress: ProgressCallback) -> RunResult:
        self.interrupted.clear()
        self.stopping.clear()
        self.report = progress
        if task.checkpoint and task.checkpoint != self.loaded_checkpoint:
            self.loaded_checkpoint = task.checkpoint
            self.checkpoint_loads.append(task.checkpoint)
        self.ran.append(task.id)
        progress(ProgressUpdate(0.0, "started"))
        outcome = self.behaviour(task) if self.behaviour else None
        progress(ProgressUpdate(1.0, "finished"))
        if outcome is None:
            outcome = RunResult(TaskResult(images=[], infotexts=[task.prompt]))
        if self.interrupted.is_set() or self.stopping.is_set():  # as the WebUI counts "stop generating"
            outcome.interrupted = True
        return outcome

    def interrupt(self) -> None:
        self.interrupted.set()

    def stop_after_current(self) -> None:
        self.stopping.set()

    def current_checkpoint(self) -> str | None:
        return self.loaded_checkpoint

"""The seam between the executor and whatever actually generates images.

Three implementations stand behind it: the in-process WebUI runner (Forge and A1111), the remote
runner that calls a WebUI's HTTP API, and :class:`InMemoryRunner` for tests and benchmarks.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .catalog import Catalog
from .errors import InvalidTaskData, OutOfMemory
from .task import Task, TaskResult, checkpoint_key


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

    # Optional: catalog() -> Catalog | None: what the WebUI has (checkpoints, samplers, LoRAs, ...,
    #   see catalog.py), read from its own lists and the same object until they change; the
    #   checker (checker.py) checks tasks against it when they are queued and when they start.
    # Optional: run_batch(tasks, progress) -> list[RunResult]: generate compatible tasks (see
    #   batching.py) as one batch, one result per task in order; raise OutOfMemory when the batch
    #   does not fit, NotBatchable when the WebUI made no image per task (the tasks then run one
    #   by one and their model is not batched again). Without it the executor never batches.
    # Optional: stop_after_current() -> None: end the run after the image in progress, keeping
    #   what it made (the WebUI's "stop generating"); without it a "pause now" lets the task end.
    # Optional: unload_model() -> bool: give the GPU back while the queue is idle (the WebUI's own
    #   unload); the next run loads the model again. False: nothing was loaded.
    # Optional, for one of several workers sharing a queue (the standalone server's backends):
    #   available_checkpoints() -> Collection[str] | None: the checkpoints it has (None: not known);
    #       published in the worker's row, so tasks for models only other workers have go to them.
    # A runner that loses its WebUI raises errors.RunnerUnavailable: the task is requeued, not failed.


@dataclass
class Simulated:
    """A WebUI's run in miniature, for an :class:`InMemoryRunner` without a behaviour.

    A task makes ``n_iter`` × ``batch_size`` images of ``steps`` steps, ``step_s`` seconds a step,
    with the seeds ``seed``, ``seed + 1``, ... (a random first one for -1): each a small PNG in
    ``images_dir`` whose infotext names its seed and checkpoint, as the WebUI writes it. Progress
    is reported after every step and what the run made after every iteration (as the WebUI runner
    does); ``interrupt()`` stops at the next step keeping the images made, ``stop_after_current()``
    after the iteration in progress. So executor tests and benchmarks see a WebUI's results,
    timing and stops without one.
    """

    images_dir: Path
    step_s: float = 0.0


class InMemoryRunner:
    """A runner that "generates" instantly, for tests and the executor benchmark.

    ``behaviour(task)`` may return a :class:`RunResult`, raise, or block (e.g. on an event) so
    tests can hold a task in the running state; interrupt() sets :attr:`interrupted`,
    stop_after_current() :attr:`stopping`. While it runs, :attr:`report` is the run's progress
    callback, for a behaviour that reports as it goes. Without a behaviour a task returns its
    prompt as its only infotext, or, with ``simulate``, what a WebUI would make (:class:`Simulated`).
    With ``checkpoints`` (the names it has), a task naming another one fails, as in a WebUI.
    :attr:`catalog` is what :meth:`catalog` answers (settable: a test's WebUI lists).
    Batches (:meth:`run_batch`) go to ``batch_behaviour`` (else ``behaviour`` for each of its
    tasks) or are simulated; a batch of more than
    ``max_batch`` tasks runs out of memory, as on a GPU. :attr:`batches` lists the ids of each.
    """

    def __init__(
        self,
        behaviour: Callable[[Task], RunResult | None] | None = None,
        *,
        simulate: Simulated | None = None,
        checkpoints: Collection[str] | None = None,
        batch_behaviour: Callable[[list[Task]], list[RunResult] | None] | None = None,
        max_batch: int | None = None,
    ) -> None:
        self.behaviour = behaviour
        self.batch_behaviour = batch_behaviour
        self.max_batch = max_batch
        self.batches: list[list[str]] = []
        self.simulate = simulate
        self.checkpoints = list(checkpoints) if checkpoints is not None else None
        self.catalog_value: Catalog | None = None
        self.ran: list[str] = []
        self.loaded_checkpoint: str | None = None
        self.checkpoint_loads: list[str] = []
        #: the model is in (GPU) memory; False after :meth:`unload_model` until the next run
        self.model_loaded = True
        self.unloads = 0
        self.interrupted = threading.Event()
        self.stopping = threading.Event()
        self.report: ProgressCallback = lambda update: None

    def run(self, task: Task, progress: ProgressCallback) -> RunResult:
        self.interrupted.clear()
        self.stopping.clear()
        self.report = progress
        if task.checkpoint and task.checkpoint != self.loaded_checkpoint:
            self._check_checkpoint(task.checkpoint)
            self.loaded_checkpoint = task.checkpoint
            self.checkpoint_loads.append(task.checkpoint)
        elif not self.model_loaded:  # given back while idle: this run loads it again
            self.checkpoint_loads.append(self.loaded_checkpoint or "default")
        self.model_loaded = True
        self.ran.append(task.id)
        progress(ProgressUpdate(0.0, "started"))
        if self.behaviour is not None:
            outcome = self.behaviour(task)
        elif self.simulate is not None:
            outcome = _simulated_run(task, self.simulate, progress, self.interrupted, self.stopping)
        else:
            outcome = None
        progress(ProgressUpdate(1.0, "finished"))
        if outcome is None:
            outcome = RunResult(TaskResult(images=[], infotexts=[task.prompt]))
        if self.interrupted.is_set() or self.stopping.is_set():  # as the WebUI counts "stop generating"
            outcome.interrupted = True
        return outcome

    def run_batch(self, tasks: list[Task], progress: ProgressCallback) -> list[RunResult]:
        """``tasks`` as one batch (:mod:`.batching`): one result per task, in order."""
        self.interrupted.clear()
        self.stopping.clear()
        self.report = progress
        head = tasks[0]
        if head.checkpoint and head.checkpoint != self.loaded_checkpoint:
            self._check_checkpoint(head.checkpoint)
            self.loaded_checkpoint = head.checkpoint
            self.checkpoint_loads.append(head.checkpoint)
        if self.max_batch is not None and len(tasks) > self.max_batch:
            raise OutOfMemory(f"a batch of {len(tasks)} does not fit (at most {self.max_batch})")
        self.batches.append([task.id for task in tasks])
        self.ran.extend(task.id for task in tasks)
        progress(ProgressUpdate(0.0, "started"))
        outcome: list[RunResult] | None = None
        if self.batch_behaviour is not None:
            outcome = self.batch_behaviour(tasks)
        elif self.behaviour is not None:  # each task's part of the batch, as it would run alone
            outcome = [
                self.behaviour(task) or RunResult(TaskResult(images=[], infotexts=[task.prompt]))
                for task in tasks
            ]
        elif self.simulate is not None:
            outcome = _simulated_batch(tasks, self.simulate, progress, self.interrupted)
        if outcome is None:
            outcome = [RunResult(TaskResult(images=[], infotexts=[task.prompt])) for task in tasks]
        progress(ProgressUpdate(1.0, "finished"))
        if self.interrupted.is_set() or self.stopping.is_set():
            for run in outcome:
                run.interrupted = True
        return outcome

    def _check_checkpoint(self, name: str) -> None:
        if self.checkpoints is None:
            return
        key = checkpoint_key(name)
        spellings = {checkpoint_key(have) for have in self.checkpoints}
        spellings |= {spelled.rsplit(".", 1)[0] for spelled in spellings if spelled}  # the stem, too
        if key not in spellings:
            have = ", ".join(self.checkpoints) or "none"
            raise InvalidTaskData("checkpoint", f"{name!r} is not available (available: {have})")

    def catalog(self) -> Catalog | None:
        """The catalog a test set (:attr:`catalog_value`), or None: nothing is checked."""
        return self.catalog_value

    def interrupt(self) -> None:
        self.interrupted.set()

    def unload_model(self) -> bool:
        """Give the GPU back: the model leaves memory; False when none was loaded."""
        if not self.model_loaded:
            return False
        self.model_loaded = False
        self.unloads += 1
        return True

    def stop_after_current(self) -> None:
        self.stopping.set()

    def current_checkpoint(self) -> str | None:
        return self.loaded_checkpoint

    def available_checkpoints(self) -> list[str] | None:
        """The names given as ``checkpoints`` (None: it runs any)."""
        return list(self.checkpoints) if self.checkpoints is not None else None


def _whole(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _simulated_run(
    task: Task,
    simulate: Simulated,
    progress: ProgressCallback,
    interrupted: threading.Event,
    stopping: threading.Event,
) -> RunResult:
    """:class:`Simulated`'s run of ``task``."""

    params = task.params
    steps, n_iter, batch = (
        _whole(params, "steps", 20),
        _whole(params, "n_iter", 1),
        _whole(params, "batch_size", 1),
    )
    seed = params.get("seed")
    first = (
        seed
        if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0
        else random.randrange(2**32)
    )
    size = (_whole(params, "width", 8), _whole(params, "height", 8))
    made = TaskResult()
    for iteration in range(n_iter):
        for step in range(steps):
            if interrupted.is_set() or (simulate.step_s and interrupted.wait(simulate.step_s)):
                return RunResult(made)
            done = iteration * steps + step + 1
            progress(ProgressUpdate(done / (n_iter * steps), f"step {step + 1}/{steps}"))
        simulate.images_dir.mkdir(parents=True, exist_ok=True)
        for index in range(iteration * batch, (iteration + 1) * batch):
            path, infotext = _simulated_image(task, simulate, steps, size, first + index, index)
            made.images.append(path)
            made.infotexts.append(infotext)
            made.seeds.append(first + index)
        progress(
            ProgressUpdate(0.0, made=TaskResult(list(made.images), list(made.infotexts), list(made.seeds)))
        )
        if stopping.is_set():
            break
    return RunResult(made)


def _simulated_batch(
    tasks: list[Task], simulate: Simulated, progress: ProgressCallback, interrupted: threading.Event
) -> list[RunResult]:
    """:class:`Simulated`'s run of a batch: the steps once for all, then each task's image with its
    own seed and infotext, as the task alone would have made it; nothing after an interrupt."""

    steps = _whole(tasks[0].params, "steps", 20)
    for step in range(steps):
        if interrupted.is_set() or (simulate.step_s and interrupted.wait(simulate.step_s)):
            return [RunResult() for _ in tasks]
        progress(ProgressUpdate((step + 1) / steps, f"step {step + 1}/{steps}"))
    simulate.images_dir.mkdir(parents=True, exist_ok=True)
    runs: list[RunResult] = []
    for task in tasks:
        params = task.params
        seed = params.get("seed")
        image_seed = seed if isinstance(seed, int) and seed >= 0 else random.randrange(2**32)
        size = (_whole(params, "width", 8), _whole(params, "height", 8))
        path, infotext = _simulated_image(task, simulate, steps, size, image_seed, 0)
        runs.append(RunResult(TaskResult([path], [infotext], [image_seed])))
    return runs


def _simulated_image(
    task: Task, simulate: Simulated, steps: int, size: tuple[int, int], seed: int, index: int
) -> tuple[str, str]:
    """Image ``index`` of ``task`` with ``seed``, saved with its infotext: alone or in a batch, the
    same task and seed make the same file."""
    from PIL import Image, PngImagePlugin

    infotext = (
        f"{task.prompt}\nSteps: {steps}, Seed: {seed}, Size: {size[0]}x{size[1]}, "
        f"Model: {task.checkpoint or 'simulated'}"
    )
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", infotext)
    path = simulate.images_dir / f"{task.id}-{index:05d}-{seed}.png"
    Image.new("RGB", size, (seed % 256, index % 256, 0)).save(path, pnginfo=info)
    return str(path), infotext

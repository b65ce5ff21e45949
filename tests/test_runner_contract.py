"""One contract, every runner: what the executor (and so the user) may count on from any of them.

The same tests run against the in-memory runner (playing a WebUI in miniature), the in-process
WebUI runner over the WebUI double (the flavour of this stack), and the remote runner over the
fake WebUI HTTP API, the way huey runs one storage test suite over each storage. A runner that
legitimately lacks something says so in its :class:`Capabilities`; the tests check that
declaration too, so nothing is skipped in silence.

The contract:

* a txt2img task returns its images, one seed per image and the images' infotexts, in the
  shape the executor stores and the API serves (:func:`check_shape`);
* progress arrives as the run goes, fractions in [0, 1] that never go back;
* ``interrupt()`` during a run ends it with a result marked interrupted, keeping what it made,
  never with an exception; one on an idle runner does not stop the next run;
* ``current_checkpoint()`` names what the last task switched to, as the task spelled it (the
  file name or its stem); a task naming no checkpoint keeps it;
* a task naming a checkpoint the runner lacks fails with a message naming it, and the loaded
  checkpoint stays;
* ``stop_after_current()``, where the runner has it, ends the run after the image in progress;
* ``run_batch()``, where the runner has it, gives each task of a batch the image, seed and
  infotext it makes alone.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import webui_double
from fake_webui import FakeWebUI
from PIL import Image
from webui_double.fixtures import FLAVOURS_HERE

from task_scheduler.catalog import Catalog
from task_scheduler.files import FileStore
from task_scheduler.runner import InMemoryRunner, ProgressUpdate, Runner, RunResult, Simulated
from task_scheduler.task import Task, TaskResult, checkpoint_key

RUNNERS = ["memory", *(f"webui-{flavour}" for flavour in FLAVOURS_HERE), "remote"]
SEED = 1234
_IDS = itertools.count(1)


@dataclass(frozen=True)
class Capabilities:
    """Where a runner legitimately differs from the others."""

    #: it has ``stop_after_current()`` (the WebUI's "stop generating"); the remote runner cannot
    #: ask a WebUI for that over its API
    stop_after_current: bool
    #: it has ``run_batch()`` (auto-batching); the WebUI's HTTP API takes one prompt and seed a call
    batches: bool = True


@dataclass
class Harness:
    """A runner and the controls of what stands behind it (a simulation, a double, a fake)."""

    runner: Runner
    #: two checkpoints the runner has, named as a user names them (the file name)
    checkpoints: tuple[str, str]
    capabilities: Capabilities
    #: from now on a run goes slowly (a long task lasts many seconds) or waits, until released
    hold: Callable[[], None]
    #: runs go at full speed again, the one under way included
    release: Callable[[], None]


def _memory(tmp_path: Path, files: FileStore) -> Iterator[Harness]:
    simulated = Simulated(images_dir=tmp_path / "memory-images")
    runner = InMemoryRunner(simulate=simulated, checkpoints=("mem-a.safetensors", "mem-b.safetensors"))

    def hold() -> None:
        simulated.step_s = 0.01

    def release() -> None:
        simulated.step_s = 0.0

    yield Harness(runner, ("mem-a.safetensors", "mem-b.safetensors"), Capabilities(True), hold, release)


def _webui(flavour: str, tmp_path: Path, files: FileStore) -> Iterator[Harness]:
    with webui_double.installed(flavour, tmp_path) as env:
        from modules import script_callbacks

        from task_scheduler.webui.runner import InProcessRunner

        runner = InProcessRunner(files, progress_interval_s=0.005)
        script_callbacks.on_image_saved(runner.image_saved)  # as the extension registers it

        def hold() -> None:
            env.set_step_delay(0.01)

        def release() -> None:
            env.set_step_delay(0.0)

        yield Harness(runner, webui_double.DEFAULT_CHECKPOINTS, Capabilities(True), hold, release)


def _remote(tmp_path: Path, files: FileStore) -> Iterator[Harness]:
    from task_scheduler.standalone.remote_runner import RemoteRunner

    fake = FakeWebUI(("model-a.safetensors", "model-b.safetensors")).start()
    fake.encode_s = 0.1  # the WebUI encodes the images after the job ended, as the real API does
    runner = RemoteRunner(fake.url, files, tmp_path / "results", poll_s=0.02)

    try:
        yield Harness(
            runner,
            ("model-a.safetensors", "model-b.safetensors"),
            Capabilities(False, batches=False),
            fake.hold,
            fake.release,
        )
    finally:
        runner.close()
        fake.stop()


@pytest.fixture(params=RUNNERS, ids=RUNNERS)
def harness(request: pytest.FixtureRequest, tmp_path: Path, files: FileStore) -> Iterator[Harness]:
    name: str = request.param
    if name == "memory":
        yield from _memory(tmp_path, files)
    elif name == "remote":
        yield from _remote(tmp_path, files)
    else:
        yield from _webui(name.removeprefix("webui-"), tmp_path, files)


# -- helpers ----------------------------------------------------------------------------------------


def make(prompt: str = "a lighthouse", *, checkpoint: str | None = None, **params: Any) -> Task:
    base = {"prompt": prompt, "seed": SEED, "steps": 3, "width": 8, "height": 8, "n_iter": 1, "batch_size": 1}
    base.update(params)
    return Task(id=f"contract{next(_IDS)}", kind="txt2img", params=base, checkpoint=checkpoint)


def long_task() -> Task:
    """A task that runs for many seconds under ``hold()``, unless it is stopped."""
    return make("a long one", steps=10, n_iter=200)


def is_grid(path: str) -> bool:
    """The WebUI saves grids into ``*-grids`` folders; they are not images of their own."""
    return Path(path).parent.name.endswith("-grids")


def images_of(result: TaskResult) -> list[str]:
    return [path for path in result.images if not is_grid(path)]


def check_shape(result: TaskResult) -> None:
    """What the executor stores and the API serves: ``images[i]``, ``infotexts[i]`` and
    ``seeds[i]`` describe one image (every consumer indexes them alike). The images are files;
    grids (the WebUI lists them first) come after the images made, and have no seed; each image's
    infotext names its seed."""
    assert all(Path(path).is_file() for path in result.images), result.images
    grids = [is_grid(path) for path in result.images]
    assert grids == sorted(grids), result.images  # the made images first, then any grid
    assert len(result.infotexts) == len(result.images), (result.infotexts, result.images)
    assert len(result.seeds) == len(images_of(result)), (result.seeds, result.images)
    for index, path in enumerate(images_of(result)):
        with Image.open(path) as image:
            assert image.size[0] > 0
        assert f"Seed: {result.seeds[index]}" in result.infotexts[index], (index, result)


def progress_of(updates: list[ProgressUpdate]) -> list[float]:
    """The fractions of the progress steps (an update carrying ``made`` is not one)."""
    return [update.fraction for update in updates if update.made is None]


class Running:
    """``runner.run(task)`` in a thread, its updates and its outcome collected."""

    def __init__(self, runner: Runner, task: Task) -> None:
        self.updates: list[ProgressUpdate] = []
        self.result: RunResult | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(runner, task), daemon=True)
        self._thread.start()

    def _run(self, runner: Runner, task: Task) -> None:
        try:
            self.result = runner.run(task, self.updates.append)
        except BaseException as exc:
            self.error = exc

    def wait_for_progress(self, timeout: float = 30.0) -> bool:
        """True once the run has reported progress between 0 and 1 (so it is under way)."""
        event = threading.Event()
        for _ in range(int(timeout / 0.005)):
            if self.under_way() or not self._thread.is_alive():
                return self.under_way()
            event.wait(0.005)
        return False

    def under_way(self) -> bool:
        return any(0.0 < fraction < 1.0 for fraction in progress_of(self.updates))

    def outcome(self, timeout: float = 60.0) -> RunResult:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the run did not end"
        assert self.error is None, repr(self.error)
        assert self.result is not None
        return self.result


# -- the contract -------------------------------------------------------------------------------------


def test_it_is_a_runner(harness):
    assert isinstance(harness.runner, Runner)


def test_its_catalog_has_the_checkpoints_it_runs_and_no_other(harness):
    """``catalog()``: what the checker checks tasks against (the in-memory runner's is set by a
    test; the remote runner reads its WebUI's lists at the health check)."""
    runner = harness.runner
    if isinstance(runner, InMemoryRunner):
        runner.catalog_value = Catalog(checkpoints=harness.checkpoints)
    refresh = getattr(runner, "refresh", None)
    if callable(refresh):
        refresh()
    catalog = runner.catalog()
    assert isinstance(catalog, Catalog)
    assert catalog.index() is catalog.index()  # its lookup sets are built once
    checkpoints = catalog.index().checkpoints
    assert all(checkpoints.has(name) for name in harness.checkpoints)
    assert not checkpoints.has("no-such-model.safetensors")


def test_a_txt2img_task_returns_images_seeds_and_infotexts(harness):
    run = harness.runner.run(make(n_iter=2), lambda update: None)
    assert isinstance(run, RunResult) and not run.interrupted
    check_shape(run.result)
    assert run.result.seeds == [SEED, SEED + 1]


def test_progress_arrives_as_the_run_goes_and_never_goes_back(harness):
    harness.hold()
    running = Running(harness.runner, make(n_iter=4, steps=10))
    assert running.wait_for_progress()  # seen during the run, not only at its ends
    harness.release()
    run = running.outcome()
    fractions = progress_of(running.updates)
    assert not run.interrupted and len(run.result.seeds) == 4
    assert fractions and all(0.0 <= f <= 1.0 for f in fractions), fractions
    assert fractions == sorted(fractions), fractions


def test_interrupt_during_a_run_ends_it_interrupted_with_what_it_made(harness):
    harness.hold()
    running = Running(harness.runner, long_task())
    assert running.wait_for_progress()
    harness.runner.interrupt()
    run = running.outcome()
    assert run.interrupted
    assert len(images_of(run.result)) < 200
    assert all(Path(path).is_file() for path in run.result.images)


def test_an_interrupt_while_idle_does_not_stop_the_next_run(harness):
    harness.runner.interrupt()
    run = harness.runner.run(make(n_iter=2), lambda update: None)
    assert not run.interrupted and run.result.seeds == [SEED, SEED + 1]


@pytest.mark.parametrize("spelling", ["file name", "stem"])
def test_current_checkpoint_names_what_the_last_task_switched_to(harness, spelling):
    """As the task spelled it: the executor prefers the pending tasks whose checkpoint reads the
    same (``checkpoint_key``), so the queue's next tasks for this model run before a switch."""
    first, second = (
        name if spelling == "file name" else name.rsplit(".", 1)[0] for name in harness.checkpoints
    )
    harness.runner.run(make(checkpoint=second), lambda update: None)
    assert checkpoint_key(harness.runner.current_checkpoint()) == checkpoint_key(second)
    harness.runner.run(make(checkpoint=first), lambda update: None)
    assert checkpoint_key(harness.runner.current_checkpoint()) == checkpoint_key(first)
    harness.runner.run(make(), lambda update: None)  # no checkpoint: the loaded one
    assert checkpoint_key(harness.runner.current_checkpoint()) == checkpoint_key(first)


def test_an_unknown_checkpoint_fails_the_task_naming_it(harness):
    first, _ = harness.checkpoints
    harness.runner.run(make(checkpoint=first), lambda update: None)
    with pytest.raises(Exception, match="no-such-model.safetensors"):
        harness.runner.run(make(checkpoint="no-such-model.safetensors"), lambda update: None)
    assert checkpoint_key(harness.runner.current_checkpoint()) == checkpoint_key(first)


def test_stop_after_current_ends_the_run_after_the_image_in_progress(harness):
    stop = getattr(harness.runner, "stop_after_current", None)
    assert callable(stop) is harness.capabilities.stop_after_current
    if stop is None:
        return  # declared: the executor lets such a runner finish the task on "pause now"
    harness.hold()
    running = Running(harness.runner, long_task())
    assert running.wait_for_progress()
    stop()
    run = running.outcome()
    assert run.interrupted
    made = images_of(run.result)
    assert 1 <= len(made) < 200
    check_shape(run.result)  # the image in progress was finished: every seed has its image


def test_a_batch_gives_each_task_the_image_seed_and_infotext_it_makes_alone(harness):
    run_batch = getattr(harness.runner, "run_batch", None)
    assert (run_batch is not None) == harness.capabilities.batches
    if run_batch is None:
        return
    tasks = [
        make("a fox", seed=11),
        make("an owl", seed=12, negative_prompt="blurry"),
        make("a fox", seed=13),
    ]
    runs = run_batch(tasks, lambda update: None)
    assert len(runs) == len(tasks)
    for task, run in zip(tasks, runs, strict=True):
        check_shape(run.result)
        assert run.result.seeds == [task.params["seed"]] and not run.interrupted
        alone = harness.runner.run(task, lambda update: None).result
        assert run.result.infotexts == alone.infotexts
        with Image.open(run.result.images[0]) as mine, Image.open(alone.images[0]) as single:
            assert mine.convert("RGB").tobytes() == single.convert("RGB").tobytes()

"""Pausing inside a task: stop after the image in progress, keep what was made, make only the rest.

The runner here "generates" the way the WebUI numbers images — image i of a task gets seed + i
(or, with a variation strength, subseed + i) — reports each image as it is saved, and honours
stop_after_current() between iterations, as the WebUI's "stop generating" does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from task_scheduler import resume
from task_scheduler.executor import Executor
from task_scheduler.runner import InMemoryRunner, ProgressUpdate, RunResult
from task_scheduler.store import Store
from task_scheduler.task import NewTask, TaskResult, TaskStatus
from task_scheduler.task_queue import TaskQueue
from task_scheduler.workers import WorkerIdentity

ROOT = Path(__file__).resolve().parents[1]
RANDOM_SEED = 5000  # what "seed -1" resolves to in this runner


def iterating(runner: InMemoryRunner, outputs: Path, after_image=None):
    """A behaviour making n_iter × batch_size images with the WebUI's seeds; ``after_image(count)``."""

    def behaviour(task):
        params = task.params
        size, count = params.get("batch_size", 1), params.get("n_iter", 1)
        seed = RANDOM_SEED if params.get("seed", -1) == -1 else params["seed"]
        subseed, varies = params.get("subseed", 0), params.get("subseed_strength", 0) > 0
        made = TaskResult()
        for iteration in range(count):
            if runner.stopping.is_set():
                break
            for j in range(size):
                index = iteration * size + j
                image_seed = seed if varies else seed + index
                path = outputs / f"{task.id[:8]}-{image_seed}-{subseed + index}.png"
                path.write_bytes(b"png")
                variation = f", Variation seed: {subseed + index}" if varies else ""
                made.images.append(str(path))
                made.infotexts.append(f"{task.prompt}\nSteps: 2, Seed: {image_seed}{variation}")
                made.seeds.append(image_seed)
                runner.report(
                    ProgressUpdate(
                        0.0, made=TaskResult(list(made.images), list(made.infotexts), list(made.seeds))
                    )
                )
                if after_image is not None:
                    after_image(len(made.seeds))
        return RunResult(made)

    return behaviour


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    folder = tmp_path / "outputs"
    folder.mkdir()
    return folder


def queue_task(queue: TaskQueue, **params) -> str:
    return queue.enqueue(NewTask(kind="txt2img", params={"prompt": "a cat", **params})).id


def names(task) -> list[str]:
    return [Path(p).name for p in task.result.images]


def test_pause_now_after_two_of_five_keeps_two_and_resume_makes_the_other_three(
    queue, runner, executor, outputs
):
    task_id = queue_task(queue, seed=100, n_iter=5)
    runner.behaviour = iterating(runner, outputs, after_image=lambda n: n == 2 and queue.pause_now())
    assert executor.run_one()
    parked = queue.get(task_id)
    assert parked.status is TaskStatus.PENDING and queue.paused
    assert parked.result.seeds == [100, 101] and resume.done_iterations(parked) == 2
    assert queue.position_of(task_id) == 1  # first in line when the queue resumes

    runner.behaviour = iterating(runner, outputs)
    queue.resume()
    assert executor.run_one()
    done = queue.get(task_id)
    assert done.status is TaskStatus.DONE and done.result.seeds == [100, 101, 102, 103, 104]
    assert len(done.result.images) == 5 and resume.marker(done.result) is None

    # the same set of images as a run that was never paused
    again = queue_task(queue, seed=100, n_iter=5)
    assert executor.run_one()
    assert queue.get(again).result.seeds == done.result.seeds


def test_with_batch_size_two_the_seeds_step_by_two(queue, runner, executor, outputs):
    task_id = queue_task(queue, seed=10, n_iter=3, batch_size=2)
    seen = []
    runner.behaviour = iterating(runner, outputs, after_image=lambda n: n == 2 and queue.pause_now())
    executor.run_one()
    assert queue.get(task_id).result.seeds == [10, 11]

    def record(task):
        seen.append((task.params["n_iter"], task.params["seed"]))
        return iterating(runner, outputs)(task)

    runner.behaviour = record
    queue.resume()
    executor.run_one()
    assert seen == [(2, 12)]
    assert queue.get(task_id).result.seeds == [10, 11, 12, 13, 14, 15]


def test_a_random_seed_resumes_from_the_seed_it_resolved_to(queue, runner, executor, outputs):
    task_id = queue_task(queue, seed=-1, n_iter=3)
    runner.behaviour = iterating(runner, outputs, after_image=lambda n: n == 1 and queue.pause_now())
    executor.run_one()
    queue.resume()
    seen = []
    runner.behaviour = lambda task: seen.append(task.params["seed"]) or iterating(runner, outputs)(task)
    executor.run_one()
    assert seen == [RANDOM_SEED + 1]
    assert queue.get(task_id).result.seeds == [RANDOM_SEED, RANDOM_SEED + 1, RANDOM_SEED + 2]


def test_with_a_variation_strength_the_subseeds_move_on(queue, runner, executor, outputs):
    task_id = queue_task(queue, seed=7, subseed=40, subseed_strength=0.3, n_iter=4)
    runner.behaviour = iterating(runner, outputs, after_image=lambda n: n == 3 and queue.pause_now())
    executor.run_one()
    seen = []
    runner.behaviour = lambda task: (
        seen.append((task.params["seed"], task.params["subseed"])) or iterating(runner, outputs)(task)
    )
    queue.resume()
    executor.run_one()
    assert seen == [(7, 43)]
    assert names(queue.get(task_id)) == [f"{task_id[:8]}-7-{s}.png" for s in (40, 41, 42)] + [
        f"{task_id[:8]}-7-43.png"
    ]


def test_paused_before_the_first_image_or_before_it_started_it_waits_untouched(
    queue, runner, executor, outputs
):
    first = queue_task(queue, seed=1, n_iter=2)
    runner.behaviour = lambda task: queue.pause_now() and RunResult(TaskResult())
    executor.run_one()
    assert queue.get(first).status is TaskStatus.PENDING and queue.get(first).result is None
    queue.resume()
    runner.behaviour = iterating(runner, outputs)
    executor.run_one()
    assert queue.get(first).result.seeds == [1, 2]


def test_pause_now_during_the_last_image_lets_the_task_end_done(queue, runner, executor, outputs):
    task_id = queue_task(queue, seed=1, n_iter=2)
    runner.behaviour = iterating(runner, outputs, after_image=lambda n: n == 2 and queue.pause_now())
    executor.run_one()
    assert queue.get(task_id).status is TaskStatus.DONE and queue.paused


def test_editing_a_paused_task_makes_everything_anew(queue, runner, executor, outputs):
    task_id = queue_task(queue, seed=1, n_iter=3)
    runner.behaviour = iterating(runner, outputs, after_image=lambda n: n == 1 and queue.pause_now())
    executor.run_one()
    queue.edit(task_id, params={"steps": 9})
    assert queue.get(task_id).result is None
    queue.resume()
    runner.behaviour = iterating(runner, outputs)
    executor.run_one()
    assert queue.get(task_id).result.seeds == [1, 2, 3]


def test_the_api_pauses_now(queue, runner, executor, outputs):
    from fastapi.testclient import TestClient
    from test_http_helpers import make_app

    from task_scheduler.files import FileStore
    from task_scheduler.http_api import ApiServices

    services = ApiServices(queue=queue, files=FileStore(outputs / "files"), executor=executor)
    client = TestClient(make_app(services))
    task_id = queue_task(queue, seed=3, n_iter=4)
    answers = []
    runner.behaviour = iterating(
        runner,
        outputs,
        after_image=lambda n: (
            n == 1 and answers.append(client.post("/task-scheduler/v1/queue/pause?now=true"))
        ),
    )
    executor.run_one()
    assert answers[0].status_code == 200 and answers[0].json()["stopping"] == [task_id]
    assert queue.get(task_id).result.seeds == [3]
    plain = client.post("/task-scheduler/v1/queue/pause")
    assert plain.status_code == 200 and plain.json()["stopping"] == []


# -- a crash: kill -9 of the process running the task --------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, threading, time
    sys.path[:0] = [{root!r}, {tests!r}]
    from pathlib import Path
    from test_resume import iterating
    from task_scheduler.executor import Executor
    from task_scheduler.runner import InMemoryRunner
    from task_scheduler.store import Store
    from task_scheduler.task_queue import TaskQueue
    from task_scheduler.workers import WorkerIdentity

    queue = TaskQueue(Store({db!r}))
    runner = InMemoryRunner()
    # after the third image: hang, as a WebUI does until it is killed
    runner.behaviour = iterating(runner, Path({outputs!r}), after_image=lambda n: n == 3 and time.sleep(3600))
    Executor(queue, runner, worker=WorkerIdentity.local("this-webui")).run_one()
    """
)


def test_kill_9_after_three_of_five_and_the_requeued_run_makes_two(tmp_path, outputs):
    db = tmp_path / "q.sqlite3"
    queue = TaskQueue(Store(db))
    task_id = queue_task(queue, seed=20, n_iter=5)
    script = CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"), db=str(db), outputs=str(outputs))
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while True:
            task = queue.get(task_id)
            if task.result is not None and len(task.result.seeds) == 3:
                break
            assert child.poll() is None, "the worker process ended early"
            assert time.monotonic() < deadline, "the worker never reported three images"
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    assert queue.get(task_id).status is TaskStatus.RUNNING

    runner = InMemoryRunner()
    seen = []
    runner.behaviour = lambda task: (
        seen.append((task.params["n_iter"], task.params["seed"])) or iterating(runner, outputs)(task)
    )
    # what the restarted WebUI (the same worker) does at its start: requeued once
    [recovered] = queue.recover(worker=WorkerIdentity.local("this-webui"))
    assert recovered.status is TaskStatus.PENDING
    assert Executor(queue, runner).run_one()
    assert seen == [(2, 23)]
    done = queue.get(task_id)
    assert done.status is TaskStatus.DONE and done.result.seeds == [20, 21, 22, 23, 24]
    assert done.crashes == 1


def test_a_run_the_runner_let_finish_is_done_even_without_seeds(queue, runner, executor):
    """A runner without "stop after this image" (a remote WebUI), or a result without seeds
    (an upscale), finishes whole: Pause now must not queue it to run again."""
    task_id = queue_task(queue, seed=1, n_iter=3)
    finished_whole = RunResult(TaskResult(images=["x.png"], infotexts=["x"], seeds=[]))
    runner.behaviour = lambda task: queue.pause_now() and finished_whole
    runner.stop_after_current = lambda: None  # this runner cannot stop inside a task
    executor.run_one()
    assert queue.get(task_id).status is TaskStatus.DONE and queue.paused


def test_a_paused_runs_grid_is_not_kept_and_its_file_is_deleted(tmp_path):
    images = [tmp_path / f"{n}.png" for n in ("a", "b")]
    grid = tmp_path / "grids" / "grid-0000.png"
    grid.parent.mkdir()
    for path in [*images, grid]:
        path.write_bytes(b"png")
    result = TaskResult(
        images=[str(images[0]), str(images[1]), str(grid)],
        infotexts=["Seed: 5,", "Seed: 6,", "Seed: 5,"],
        seeds=[5, 6],
        info={"grids": [str(grid)]},
    )
    task = make_paused_candidate(n_iter=4)
    kept = resume.partial(task, result)
    assert (
        kept is not None
        and kept.images == [str(p) for p in images]
        and kept.infotexts == ["Seed: 5,", "Seed: 6,"]
    )
    assert "grids" not in kept.info and kept.grids() == []
    assert resume.discard_grids(result) == [str(grid)] and not grid.exists() and images[0].exists()
    assert resume.discard_grids(result) == []  # already gone: nothing to do, no error


def test_the_api_names_grids_without_server_paths():
    from task_scheduler.http_api.views import task_public

    task = make_paused_candidate(n_iter=2)
    task.result = TaskResult(
        images=["/srv/out/1.png", "/srv/grids/grid-0001.png"], info={"grids": ["/srv/grids/grid-0001.png"]}
    )
    assert task_public(task)["result"]["info"]["grids"] == ["grid-0001.png"]


def make_paused_candidate(**params):
    from task_scheduler.task import Task

    return Task(
        id="t1", kind="txt2img", params={"prompt": "x", "seed": 5, **params}, created_at=0.0, updated_at=0.0
    )

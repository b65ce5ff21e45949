"""Auto-batching through the WebUI's own Generate, over the stack's WebUI double.

One Generate call with a list of prompts and seeds makes the batch; each task gets the image,
seed, infotext and file name it would have had alone. Out of memory, a stop of one task and
Skip behave as the issue asks.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest
from helpers import wait_until
from PIL import Image

from task_scheduler.executor import Executor, ExecutorSettings
from task_scheduler.jobs import Jobs
from task_scheduler.task import NewTask, TaskStatus
from task_scheduler.values import ValueCodec

ROOT = Path(__file__).resolve().parents[1]


def load_params_script():
    spec = importlib.util.spec_from_file_location(
        "task_scheduler_params_script", ROOT / "scripts" / "task_scheduler_params.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TaskSchedulerParams


@pytest.fixture
def env(webui):
    webui.add_script(load_params_script())
    return webui


@pytest.fixture
def wrunner(env, files, queue):
    from task_scheduler.webui.runner import InProcessRunner

    return InProcessRunner(files, stop_reason=queue.stop_request, progress_interval_s=0.01)


def executor(queue, wrunner, **settings) -> Executor:
    return Executor(queue, wrunner, ExecutorSettings(**settings))


def click(env, files, tab="txt2img", **named) -> NewTask:
    """A task as the Queue button stores a click with ``named`` values."""
    from task_scheduler.webui.runner import InProcessRunner

    named = {"width": 64, "height": 64, "steps": 2, **named}
    args = env.generate_args(tab, **named)
    cap = InProcessRunner(files).layout(tab).split(args[1:])
    codec, refs = ValueCodec(files), []
    return NewTask(
        kind=tab,
        params=codec.encode(cap.params, "params", refs),
        script_args=codec.encode(cap.script_args, "script_args", refs),
        script_name=cap.script_name,
        source="ui",
        files=refs,
    )


def sweep(env, queue, files, prompts=("a red fox", "a blue owl"), seeds=(11, 12), **named):
    items = [click(env, files, prompt=p, seed=s, **named) for p in prompts for s in seeds]
    return Jobs(queue).create(items, name="sweep")[1]


def run_all(ex: Executor) -> int:
    runs = 0
    while ex.run_one():
        runs += 1
    return runs


def rgb(path) -> bytes:
    return Image.open(path).convert("RGB").tobytes()


def test_a_job_runs_as_one_generate_and_each_task_gets_what_it_would_alone(env, queue, files, wrunner):
    together = sweep(env, queue, files, negative_prompt="blurry")
    ex = executor(queue, wrunner)
    assert run_all(ex) == 1
    assert len(env.generations) == 1 and env.generations[0].seeds == [11, 12, 11, 12]
    alone = sweep(env, queue, files, negative_prompt="blurry")
    ex.settings.auto_batch = 0
    assert run_all(ex) == 4
    ex.close()
    assert [g.seeds for g in env.generations[1:]] == [[11], [12], [11], [12]]
    for mine, single in zip(together, alone, strict=True):
        a, b = queue.get(mine.id), queue.get(single.id)
        assert a.status is b.status is TaskStatus.DONE
        assert a.batch_id is not None and b.batch_id is None
        assert a.result.seeds == b.result.seeds == [mine.params["seed"]]
        assert a.result.infotexts == b.result.infotexts  # the WebUI's infotext for that image alone
        assert a.result.infotexts[0].startswith(f"{mine.params['prompt']}\nNegative prompt: blurry\n")
        assert f"Seed: {mine.params['seed']}," in a.result.infotexts[0]
        assert len(a.result.images) == 1 and rgb(a.result.images[0]) == rgb(b.result.images[0])
        # saved as the WebUI names an image alone: [number]-[seed]; the infotext in the PNG too
        assert (
            Path(a.result.images[0]).name.split("-", 1)[1] == Path(b.result.images[0]).name.split("-", 1)[1]
        )
        assert Image.open(a.result.images[0]).info["parameters"] == a.result.infotexts[0]
        info = a.result.info
        assert info["all_seeds"] == [mine.params["seed"]] and info["all_prompts"] == [mine.params["prompt"]]
        assert info["index_of_first_image"] == 0 and info["batch_size"] == 1
    grids = list((env.root / "outputs").rglob("*grid*"))
    assert grids == []  # alone, no task would have made a grid


def test_img2img_tasks_of_one_init_image_run_as_one_batch(env, queue, files, wrunner):
    image = Image.new("RGB", (32, 32), (200, 10, 10))
    items = [click(env, files, "img2img", prompt=f"fox {i}", seed=i, init_img=image) for i in range(3)]
    # one stored init image for all: the same reference, as a sweep of one image stores it
    first = items[0].params["init_img"]
    for item in items[1:]:
        item.params["init_img"] = first
    tasks = Jobs(queue).create(items, name="seeds of one image")[1]
    ex = executor(queue, wrunner)
    assert run_all(ex) == 1
    ex.close()
    assert env.generations[0].seeds == [0, 1, 2]
    assert [queue.get(t.id).result.seeds for t in tasks] == [[0], [1], [2]]


def test_out_of_memory_runs_the_tasks_one_by_one_and_the_next_batches_are_smaller(env, queue, files, wrunner):
    env.set_max_batch(2)
    first = sweep(env, queue, files)
    ex = executor(queue, wrunner, auto_batch=4)
    assert ex.run_one()
    assert [g.seeds for g in env.generations] == [[11], [12], [11], [12]]
    assert {queue.get(t.id).status for t in first} == {TaskStatus.DONE} and not queue.paused
    second = sweep(env, queue, files)
    run_all(ex)
    ex.close()
    assert [g.seeds for g in env.generations[4:]] == [[11, 12], [11, 12]]
    assert {queue.get(t.id).status for t in second} == {TaskStatus.DONE}


def test_on_neo_with_a_wan_model_a_job_runs_one_by_one_and_each_task_gets_its_image(neo_webui, queue, files):
    """Neo with a Wan model takes the batch size as a video's length (4 images in one batch make
    one frame, of the first): the tasks run one by one instead, each with its own image, seed and
    infotext and no video, and the next jobs of that model run one by one at once."""
    from task_scheduler.webui.runner import InProcessRunner

    neo_webui.add_script(load_params_script())
    neo_webui.set_video_output(True)
    ex = executor(queue, InProcessRunner(files, stop_reason=queue.stop_request, progress_interval_s=0.01))
    first = sweep(neo_webui, queue, files)
    run_all(ex)
    for task in first:
        done = queue.get(task.id)
        assert done.status is TaskStatus.DONE, done.error
        assert done.result.seeds == [task.params["seed"]] and len(done.result.images) == 1
        assert done.result.infotexts[0].startswith(task.params["prompt"])
        assert f"Seed: {task.params['seed']}," in done.result.infotexts[0]
        assert "video_path" not in done.result.info
    made = len(neo_webui.generations)
    second = sweep(neo_webui, queue, files)
    run_all(ex)
    ex.close()
    assert [g.seeds for g in neo_webui.generations[made:]] == [[11], [12], [11], [12]]
    assert {queue.get(t.id).status for t in second} == {TaskStatus.DONE}


def test_deleting_one_task_of_a_running_batch_cancels_it_and_puts_the_others_back_first(
    env, queue, files, wrunner
):
    env.set_step_delay(0.02)
    tasks = sweep(env, queue, files, steps=200)
    later = queue.enqueue(click(env, files, prompt="later"))
    ex = executor(queue, wrunner)
    thread = threading.Thread(target=ex.run_one)
    thread.start()
    # progress shows on every task of the batch
    assert wait_until(lambda: all(getattr(queue.progress(t.id), "fraction", 0) > 0 for t in tasks))
    assert queue.delete(tasks[2].id) == "stopping"
    thread.join(20)
    assert not thread.is_alive()
    assert queue.get(tasks[2].id).status is TaskStatus.CANCELLED
    back = [queue.get(t.id) for t in (tasks[0], tasks[1], tasks[3])]
    assert {t.status for t in back} == {TaskStatus.PENDING} and {t.crashes for t in back} == {0}
    assert [t.id for t in queue.pending()] == [tasks[0].id, tasks[1].id, tasks[3].id, later.id]
    assert env.generations[0].interrupted
    env.set_step_delay(0.0)
    run_all(ex)
    ex.close()
    assert env.generations[-2].seeds == [11, 12, 12]  # the three again, as one batch; then "later"
    assert {queue.get(t.id).status for t in back} == {TaskStatus.DONE}


def test_skip_skips_the_batch_as_the_webui_skips_it(env, queue, files, wrunner):
    from modules import shared

    env.set_step_delay(0.02)
    tasks = sweep(env, queue, files, steps=200)
    ex = executor(queue, wrunner)
    thread = threading.Thread(target=ex.run_one)
    thread.start()
    assert wait_until(lambda: shared.state.sampling_step >= 2)
    queue.request_skip(tasks[1].id)
    thread.join(20)
    ex.close()
    assert not thread.is_alive() and len(env.generations) == 1
    # the WebUI saves no skipped image: each task ends done, with nothing made, as a skipped click
    assert [queue.get(t.id).status for t in tasks] == [TaskStatus.DONE] * 4
    assert [queue.get(t.id).result.images for t in tasks] == [[]] * 4

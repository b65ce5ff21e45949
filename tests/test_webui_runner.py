"""The in-process runner against the WebUI double, in both flavours (Forge and A1111).

Tasks are queued the way the Queue button does it (Generate's positional inputs, named by the
argument layout, encoded by the value codec) and run by a real Executor over a real SQLite queue.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from pathlib import Path

import pytest
import webui_double
from helpers import wait_until
from PIL import Image
from webui_double import FakeRequest
from webui_double.extensions import ADETAILER_DEFAULT_ARGS, ADetailerLike
from webui_double.script_base import AlwaysVisible, Script

from task_scheduler.executor import Executor, ExecutorSettings
from task_scheduler.task import NewTask, Task, TaskResult, TaskStatus, checkpoint_key
from task_scheduler.values import ValueCodec

ROOT = Path(__file__).resolve().parents[1]
TABS = ("txt2img", "img2img")


def load_params_script():
    """``scripts/task_scheduler_params.py`` as the WebUI loads it (after the double's install)."""
    spec = importlib.util.spec_from_file_location(
        "task_scheduler_params_script", ROOT / "scripts" / "task_scheduler_params.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TaskSchedulerParams


class Probe(Script):
    """Always-on, no controls: records what a generation looked like from inside ``process``."""

    seen: list[dict] = []

    def title(self):
        return "Probe"

    def show(self, is_img2img):
        return AlwaysVisible

    def ui(self, is_img2img):
        return None

    def process(self, p, *args):
        from modules import progress, shared

        Probe.seen.append(
            {
                "current_task": progress.current_task,
                "pending": list(progress.pending_tasks),
                "job": shared.state.job,
                "thread": threading.current_thread().name,
                "eta": getattr(p, "eta", None),
                "tiling": getattr(p, "tiling", None),
                "clip_skip": shared.opts.CLIP_stop_at_last_layers,
                "user": getattr(p, "user", None),
                "do_not_save_samples": p.do_not_save_samples,
            }
        )


@pytest.fixture
def env(webui):
    webui.add_script(load_params_script())
    Probe.seen = []
    webui.add_script(Probe)
    return webui


@pytest.fixture
def wrunner(env, files, queue):
    from task_scheduler.webui.runner import InProcessRunner

    return InProcessRunner(
        files,
        stop_reason=queue.stop_request,
        progress_interval_s=0.01,
    )


@pytest.fixture
def settings():
    return ExecutorSettings()


@pytest.fixture
def wexec(queue, wrunner, settings):
    ex = Executor(queue, wrunner, settings)
    yield ex
    ex.close()


def captured(env, files, tab="txt2img", **named):
    """(NewTask, Generate's args) for a click with ``named`` values, as the Queue button stores it."""
    from task_scheduler.webui.runner import InProcessRunner

    checkpoint = named.pop("checkpoint", None)
    args = env.generate_args(tab, **named)
    cap = InProcessRunner(files).layout(tab).split(args[1:])
    codec, refs = ValueCodec(files), []
    new = NewTask(
        kind=tab,
        params=codec.encode(cap.params, "params", refs),
        script_args=codec.encode(cap.script_args, "script_args", refs),
        script_name=cap.script_name,
        checkpoint=checkpoint,
        source="ui",
        files=refs,
    )
    return new, args


def queue_click(env, queue, files, tab="txt2img", **named) -> Task:
    named.setdefault("width", 64)
    named.setdefault("height", 64)
    named.setdefault("steps", 2)
    return queue.enqueue(captured(env, files, tab, **named)[0])


def run_all(wexec) -> None:
    while wexec.run_one():
        pass


def rgb(path_or_image):
    image = path_or_image if isinstance(path_or_image, Image.Image) else Image.open(path_or_image)
    return image.convert("RGB").tobytes()


# -- arguments: what Generate sends <-> a stored task -------------------------------------------


@pytest.mark.parametrize("tab", TABS)
def test_named_positional_named_round_trip_equals_what_the_ui_passes(env, files, wrunner, tab):
    named = {
        "prompt": "a cat",
        "negative_prompt": "a dog",
        "steps": 7,
        "seed": 1234,
        "cfg_scale": 5.5,
        "selected_script": "X/Y/Z plot",
        "script_args_by_title": {"X/Y/Z plot": [2, "3, 5"]},
    }
    if tab == "img2img":
        named["init_img"] = Image.new("RGB", (16, 16), (10, 20, 30))
        named["denoising_strength"] = 0.4
    new, args = captured(env, files, tab, **named)
    assert new.params["steps"] == 7 and new.script_name == "X/Y/Z plot"
    stored = json.loads(json.dumps({"params": new.params, "script_args": new.script_args}))
    codec = ValueCodec(files)
    layout = wrunner.layout(tab)
    built = layout.build(codec.decode(stored["params"]), codec.decode(stored["script_args"]), new.script_name)
    assert built.warnings == []
    assert len(built.values) == len(args) - 1
    for index, (got, sent) in enumerate(zip(built.values, args[1:], strict=True)):
        if isinstance(sent, Image.Image):
            assert got.mode == sent.mode and rgb(got) == rgb(sent), index
        else:
            assert got == sent, (index, got, sent)
    again = layout.split(built.values)
    assert again.script_name == new.script_name
    assert again.params.keys() == new.params.keys()


@pytest.mark.parametrize("tab", TABS)
def test_a_sparse_task_gets_the_ui_defaults_of_what_it_leaves_out(env, files, tab):
    from task_scheduler.webui import arguments
    from task_scheduler.webui.runner import InProcessRunner

    runner = InProcessRunner(
        files,
        named_defaults=lambda t, named: arguments.named_defaults_from_inputs(named, env.ui[t].inputs),
    )
    built = runner.layout(tab).build({"prompt": "only a prompt"}, {}, None)
    assert built.values == env.generate_args(tab, prompt="only a prompt")[1:]


# -- running like a Generate click --------------------------------------------------------------


def test_a_queued_task_makes_the_same_image_as_generate(env, queue, files, wexec):
    named = {"prompt": "same cat", "seed": 4242, "width": 64, "height": 64, "steps": 3}
    generated = webui_double.forge_outputs(env.click_generate("txt2img", **named))
    task = queue_click(env, queue, files, **named)
    run_all(wexec)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE, done.error
    assert len(done.result.images) == 1 and Path(done.result.images[0]).is_file()
    assert rgb(done.result.images[0]) == rgb(generated[0][0])
    assert done.result.seeds == [4242]
    assert "Seed: 4242" in done.result.infotexts[0]
    assert json.loads(generated[1])["infotexts"] == done.result.infotexts


def test_runs_on_forge_main_thread_or_in_the_executor_thread(env, queue, files, wexec):
    task = queue_click(env, queue, files, prompt="where")
    wexec.start()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.DONE)
    thread = env.generations[-1].thread_name
    assert thread == ("shim-main-thread" if env.is_forge else "task-scheduler-executor")


def test_the_user_of_the_task_reaches_p(env, queue, files, wexec):
    new, _ = captured(env, files, prompt="mine", width=64, height=64, steps=2)
    new.user = "alice"
    queue.enqueue(new)
    run_all(wexec)
    assert Probe.seen[-1]["user"] == "alice"


def test_results_keep_paths_infotexts_and_the_seeds_used(env, queue, files, wexec):
    task = queue_click(env, queue, files, prompt="batch", seed=-1, n_iter=2, batch_size=2)
    run_all(wexec)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE, done.error
    seeds = done.result.seeds
    assert len(seeds) == 4 and all(s >= 0 for s in seeds) and seeds == list(range(seeds[0], seeds[0] + 4))
    assert all(Path(p).is_file() for p in done.result.images)
    samples = [p for p in done.result.images if "grid" not in Path(p).name]
    assert len(samples) == 4
    assert len(done.result.infotexts) >= 4
    assert done.result.info["all_seeds"][:4] == seeds


def test_images_are_saved_even_when_the_user_turned_saving_off(env, queue, files, wexec):
    from modules import shared

    shared.opts.data["samples_save"] = False
    task = queue_click(env, queue, files, prompt="saved anyway")
    run_all(wexec)
    done = queue.get(task.id)
    assert len(done.result.images) == 1 and Path(done.result.images[0]).is_file()
    assert shared.opts.data["samples_save"] is False


# -- scripts -----------------------------------------------------------------------------------


def test_a_selected_script_runs(env, queue, files, wexec):
    task = queue_click(
        env,
        queue,
        files,
        prompt="xyz",
        selected_script="X/Y/Z plot",
        script_args_by_title={"X/Y/Z plot": [2, "2,3,4"]},
    )
    run_all(wexec)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE, done.error
    assert env.received("txt2img", "X/Y/Z plot", "run")
    assert [g.prompt for g in env.generations] == ["xyz"] * 3
    assert any("xyz_grid" in Path(p).name for p in done.result.images)


def test_prompts_from_file_runs_each_line(env, queue, files, wexec):
    task = queue_click(
        env,
        queue,
        files,
        prompt="",
        selected_script="Prompts from file or textbox",
        script_args_by_title={"Prompts from file or textbox": [False, False, "start", "one\ntwo"]},
    )
    run_all(wexec)
    assert queue.get(task.id).status is TaskStatus.DONE
    assert [g.prompt for g in env.generations] == ["one", "two"]


def test_an_extension_installed_after_queueing_gets_its_ui_defaults(env, queue, files, wexec):
    task = queue_click(env, queue, files, prompt="before adetailer")
    env.add_script(ADetailerLike)
    run_all(wexec)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE and done.warnings == []
    setup = env.received("txt2img", "ADetailer", "setup")[-1]
    assert setup == (False, False, ADETAILER_DEFAULT_ARGS, {**ADETAILER_DEFAULT_ARGS, "ad_model": "None"})


def test_an_extension_removed_since_queueing_is_a_warning_not_a_crash(env, queue, files, wexec):
    env.add_script(ADetailerLike)
    settings = {**ADETAILER_DEFAULT_ARGS, "ad_model": "hand_yolov8n.pt"}
    task = queue_click(
        env,
        queue,
        files,
        prompt="with adetailer",
        script_args_by_title={"ADetailer": [True, False, settings]},
    )
    assert queue.get(task.id).script_args["ADetailer"][0] is True
    env.remove_script("ADetailer")
    run_all(wexec)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE, done.error
    assert any("ADetailer" in w and "not installed" in w for w in done.warnings)


def test_a_selected_script_that_was_removed_fails_the_task_by_name(env, queue, files, wexec):
    task = queue_click(
        env, queue, files, selected_script="X/Y/Z plot", script_args_by_title={"X/Y/Z plot": [2, "2"]}
    )
    other = queue_click(env, queue, files, prompt="next")
    env.remove_script("X/Y/Z plot")
    run_all(wexec)
    failed = queue.get(task.id)
    assert failed.status is TaskStatus.FAILED and "X/Y/Z plot" in failed.error
    assert queue.get(other.id).status is TaskStatus.DONE


def test_api_tasks_run_with_alwayson_scripts_by_name_and_their_extras(env, queue, files, wexec):
    from task_scheduler.http_api.payloads import prepare_task
    from task_scheduler.http_api.schemas import Txt2ImgRequest
    from task_scheduler.http_api.services import ApiSettings

    env.add_script(ADetailerLike)
    body = Txt2ImgRequest(
        prompt="api cat",
        steps=3,
        seed=77,
        width=64,
        height=64,
        eta=0.25,
        tiling=True,
        alwayson_scripts={"adetailer": {"args": [True]}},
        override_settings={"CLIP_stop_at_last_layers": 2},
    )
    new = prepare_task("txt2img", body, ApiSettings()).store_files(files)
    task = queue.enqueue(new)
    run_all(wexec)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE, done.error
    assert done.warnings == []
    assert done.result.seeds == [77]
    setup = env.received("txt2img", "ADetailer", "setup")[-1]
    assert setup[0] is True and setup[2] == ADETAILER_DEFAULT_ARGS
    seen = Probe.seen[-1]
    assert (seen["eta"], seen["tiling"], seen["clip_skip"]) == (0.25, True, 2)
    from modules import shared

    assert shared.opts.CLIP_stop_at_last_layers == 1  # restored after the task


def test_img2img_runs_with_its_stored_input_image(env, queue, files, wexec):
    init = Image.new("RGB", (32, 32), (200, 10, 10))
    task = queue_click(env, queue, files, tab="img2img", prompt="img", init_img=init, denoising_strength=0.5)
    run_all(wexec)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE, done.error
    assert len(done.result.images) == 1


# -- threads, locks, progress ------------------------------------------------------------------


def test_progress_ids_are_registered_and_finished(env, queue, files, wexec):
    from modules import progress

    task = queue_click(env, queue, files, prompt="progress")
    run_all(wexec)
    tid = f"task({task.id})"
    assert Probe.seen[-1]["current_task"] == tid
    assert Probe.seen[-1]["job"] == tid
    assert tid not in Probe.seen[-1]["pending"]
    assert progress.current_task is None
    assert tid in progress.finished_tasks and tid not in progress.pending_tasks


def test_a_waiting_task_shows_as_queued_in_the_webui_progress(env, queue, files, wexec):
    from modules import call_queue, progress

    task = queue_click(env, queue, files, prompt="waits")
    tid = f"task({task.id})"
    with call_queue.queue_lock:
        wexec.start()
        assert wait_until(lambda: tid in progress.pending_tasks)
        assert progress.current_task != tid
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.DONE)
    assert tid in progress.finished_tasks


def test_progress_is_reported_to_the_queue_while_running(env, queue, files, wexec):
    env.set_step_delay(0.025)  # about a second: progress is written to the store every 0.25 s
    task = queue_click(env, queue, files, prompt="slow", steps=20, n_iter=2)
    seen = []
    wexec.start()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.RUNNING)
    while queue.get(task.id).status is TaskStatus.RUNNING:
        current = queue.progress(task.id)
        if current is not None:
            seen.append(current.fraction)
        threading.Event().wait(0.01)
    assert queue.get(task.id).status is TaskStatus.DONE
    assert any(0 < f < 1 for f in seen), seen


def test_a_generate_click_waits_for_the_queued_task_instead_of_interleaving(env, queue, files, wexec):
    env.set_step_delay(0.01)
    from modules import shared

    task = queue_click(env, queue, files, prompt="queued", steps=50)
    wexec.start()
    # the task holds the WebUI's lock once its job has begun (RUNNING alone comes a little earlier)
    assert wait_until(lambda: shared.state.job == f"task({task.id})" and env.generations == [])
    click = threading.Thread(target=env.click_generate, args=("txt2img",), kwargs={"prompt": "clicked"})
    click.start()
    click.join(10)
    assert not click.is_alive()
    assert [g.prompt for g in env.generations] == ["queued", "clicked"]


def test_an_exception_on_the_main_thread_surfaces_in_the_task(env, queue, files, wexec):
    env.fail_at_step(1, ValueError("sampler exploded"), once=True)
    bad = queue_click(env, queue, files, prompt="bad", steps=3)
    good = queue_click(env, queue, files, prompt="good")
    run_all(wexec)
    failed = queue.get(bad.id)
    assert failed.status is TaskStatus.FAILED
    assert failed.error == "ValueError: sampler exploded"
    assert queue.get(good.id).status is TaskStatus.DONE
    from modules import shared

    assert not shared.state.interrupted and shared.state.job == ""


def test_out_of_memory_fails_the_task_and_pauses_the_queue(env, queue, files, wexec):
    env.fail_at_step(0, RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), once=True)
    task = queue_click(env, queue, files, prompt="big")
    later = queue_click(env, queue, files, prompt="later")
    run_all(wexec)
    failed = queue.get(task.id)
    assert failed.status is TaskStatus.FAILED and failed.error.startswith("Out of memory")
    assert queue.paused and queue.get(later.id).status is TaskStatus.PENDING


def test_torch_out_of_memory_error_by_type(env, queue, files, wexec, settings):
    class OutOfMemoryError(RuntimeError):
        pass

    settings.pause_on_out_of_memory = False
    env.fail_at_step(0, OutOfMemoryError("allocation failed"), once=True)
    task = queue_click(env, queue, files, prompt="big")
    run_all(wexec)
    assert queue.get(task.id).error.startswith("Out of memory")
    assert not queue.paused


# -- interrupt and skip ---------------------------------------------------------------------------


def test_an_interrupt_before_the_task_starts_still_stops_it(env, queue, files, wexec, wrunner):
    from modules import call_queue

    task = queue_click(env, queue, files, prompt="never")
    with call_queue.queue_lock:  # a user's Generate is running: the task waits for the lock
        wexec.start()
        assert wait_until(lambda: wrunner.running == task.id)
        queue.request_stop(task.id, "interrupted")  # the executor calls runner.interrupt()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.INTERRUPTED)
    assert env.generations == []


def test_runner_interrupt_before_begin_is_reapplied_after_begin(env, queue, files, wexec, wrunner):
    from modules import call_queue, shared

    task = queue_click(env, queue, files, prompt="never either")
    with call_queue.queue_lock:
        wexec.start()
        assert wait_until(lambda: wrunner.running == task.id)
        wrunner.interrupt()
        shared.state.interrupted = False  # what state.begin() does to an earlier interrupt
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.INTERRUPTED)
    assert env.generations == []
    follow = queue_click(env, queue, files, prompt="runs")
    assert wait_until(lambda: queue.get(follow.id).status is TaskStatus.DONE)


def test_interrupting_a_running_task_keeps_its_images_and_the_queue_goes_on(env, queue, files, wexec):
    env.set_step_delay(0.01)
    task = queue_click(env, queue, files, prompt="long", steps=10, n_iter=50)
    after = queue_click(env, queue, files, prompt="after")
    wexec.start()
    from modules import shared

    assert wait_until(lambda: shared.state.job_no >= 2 and queue.get(task.id).status is TaskStatus.RUNNING)
    queue.request_stop(task.id, "interrupted")
    assert wait_until(lambda: queue.get(after.id).status is TaskStatus.DONE)
    stopped = queue.get(task.id)
    assert stopped.status is TaskStatus.INTERRUPTED
    made = [p for p in stopped.result.images if "grid" not in Path(p).name]
    assert 2 <= len(made) < 50 and all(Path(p).is_file() for p in made)
    # the image being sampled when the stop came is returned (incomplete) but, as in the WebUI, not saved
    assert len(made) <= len(stopped.result.seeds) <= len(made) + 1


def test_the_webui_interrupt_button_interrupts_the_queued_task(env, queue, files, wexec):
    from modules import shared

    env.set_step_delay(0.01)
    task = queue_click(env, queue, files, prompt="button", steps=10, n_iter=50)
    wexec.start()
    assert wait_until(lambda: shared.state.job_no >= 1 and queue.get(task.id).status is TaskStatus.RUNNING)
    shared.state.interrupt()
    assert wait_until(lambda: queue.get(task.id).is_finished)
    assert queue.get(task.id).status is TaskStatus.INTERRUPTED
    assert not shared.state.interrupted  # reset for the next job, as the WebUI's wrapper does


def test_skip_moves_on_to_the_next_image_and_the_task_completes(env, queue, files, wexec):
    from modules import shared

    env.set_step_delay(0.01)
    task = queue_click(env, queue, files, prompt="skip", steps=30, n_iter=3)
    wexec.start()
    assert wait_until(
        lambda: shared.state.sampling_step >= 2 and queue.get(task.id).status is TaskStatus.RUNNING
    )
    shared.state.skip()
    assert wait_until(lambda: queue.get(task.id).is_finished)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE
    assert len(done.result.seeds) == 3


def test_a_skip_asked_through_the_queue_reaches_the_webui_of_the_worker_running_it(
    env, queue, files, wexec, monkeypatch
):
    """The skip route writes the request to the store; the worker running the task skips."""
    from modules import shared

    skips = []
    real_skip = shared.state.skip
    monkeypatch.setattr(shared.state, "skip", lambda: skips.append(1) or real_skip())
    env.set_step_delay(0.01)
    task = queue_click(env, queue, files, prompt="skip", steps=30, n_iter=3)
    wexec.start()
    assert wait_until(
        lambda: shared.state.sampling_step >= 2 and queue.get(task.id).status is TaskStatus.RUNNING
    )
    queue.request_skip(task.id)
    assert wait_until(lambda: queue.get(task.id).is_finished)
    assert skips == [1] and queue.get(task.id).status is TaskStatus.DONE
    assert queue.requested(task.id) is None  # taken once, not skipped again at the next change


def test_cancelling_the_running_task_ends_it_cancelled(env, queue, files, wexec):
    from modules import shared

    env.set_step_delay(0.01)
    task = queue_click(env, queue, files, prompt="cancel me", steps=10, n_iter=50)
    wexec.start()
    assert wait_until(lambda: shared.state.job_no >= 1 and queue.get(task.id).status is TaskStatus.RUNNING)
    assert queue.delete(task.id) == "stopping"
    assert wait_until(lambda: queue.get(task.id).is_finished)
    assert queue.get(task.id).status is TaskStatus.CANCELLED


# -- checkpoints ---------------------------------------------------------------------------------


@pytest.mark.parametrize("aware", [True, False], ids=["aware", "fifo"])
def test_checkpoint_loads_for_a_mixed_queue(env, queue, files, wexec, settings, aware):
    settings.checkpoint_aware_order = aware
    names = ["random-sd15-a.safetensors", "random-sd15-b.safetensors"] * 3
    tasks = [queue_click(env, queue, files, prompt=f"t{i}", checkpoint=n) for i, n in enumerate(names)]
    loads_before = len(env.model_loads)
    run_all(wexec)
    assert all(queue.get(t.id).status is TaskStatus.DONE for t in tasks)
    loads = env.model_loads[loads_before:]
    ran_on = [g.checkpoint for g in env.generations]
    assert sorted(ran_on) == sorted(names)
    if aware:
        assert len(loads) == len(set(loads)) <= 2, loads
        assert ran_on == sorted(ran_on)
    else:
        assert len(loads) >= 5, loads
        assert ran_on == names


def test_checkpoint_aware_order_groups_tasks_that_name_a_model_by_its_stem(
    env, queue, files, wexec, settings
):
    """The API takes "random-sd15-b" for "random-sd15-b.safetensors": a queue spelled so loads
    each model once too (the runner names the loaded model as the task that chose it did)."""
    settings.checkpoint_aware_order = True
    names = ["random-sd15-a", "random-sd15-b"] * 3
    tasks = [queue_click(env, queue, files, prompt=f"t{i}", checkpoint=n) for i, n in enumerate(names)]
    loads_before = len(env.model_loads)
    run_all(wexec)
    assert all(queue.get(t.id).status is TaskStatus.DONE for t in tasks)
    loads = env.model_loads[loads_before:]
    assert len(loads) == len(set(loads)) <= 2, loads


def test_the_runner_publishes_every_spelling_of_the_models_this_webui_has(env, wrunner):
    """Another machine's worker leaves this one the tasks naming a model only this one has."""
    from modules import sd_models

    published = set(wrunner.available_checkpoints())
    for info in sd_models.checkpoints_list.values():
        assert {
            checkpoint_key(info.title),
            checkpoint_key(info.name),
            checkpoint_key(info.model_name),
        } <= published
    assert "random-sd15-b" in published and "no-such-model" not in published


def test_a_checkpoint_stays_loaded_for_the_next_task(env, queue, files, wexec):
    from modules import shared

    queue_click(env, queue, files, prompt="b1", checkpoint="random-sd15-b")  # resolved by closest match
    queue_click(env, queue, files, prompt="b2")  # no checkpoint: runs on what is loaded
    loads_before = len(env.model_loads)
    run_all(wexec)
    assert env.model_loads[loads_before:] == ["random-sd15-b.safetensors"]
    assert [g.checkpoint for g in env.generations] == ["random-sd15-b.safetensors"] * 2
    assert "random-sd15-b" in shared.opts.sd_model_checkpoint


def test_a_title_with_a_stale_hash_still_resolves(env, queue, files, wexec):
    task = queue_click(env, queue, files, prompt="h", checkpoint="random-sd15-b.safetensors [0123456789]")
    run_all(wexec)
    assert queue.get(task.id).status is TaskStatus.DONE
    assert env.generations[-1].checkpoint == "random-sd15-b.safetensors"


def test_a_missing_checkpoint_fails_the_task_by_name_and_the_queue_goes_on(env, queue, files, wexec):
    bad = queue_click(env, queue, files, prompt="x", checkpoint="no-such-model.safetensors")
    good = queue_click(env, queue, files, prompt="y")
    run_all(wexec)
    failed = queue.get(bad.id)
    assert failed.status is TaskStatus.FAILED and "no-such-model.safetensors" in failed.error
    assert queue.get(good.id).status is TaskStatus.DONE


def test_override_checkpoint_is_a_permanent_switch_not_a_restore(env, queue, files, wexec):
    new, _ = captured(env, files, prompt="o", width=64, height=64, steps=2)
    new.params["override_settings"] = {"sd_model_checkpoint": "random-sd15-b.safetensors"}
    queue.enqueue(new)
    queue_click(env, queue, files, prompt="plain")
    loads_before = len(env.model_loads)
    run_all(wexec)
    assert [g.checkpoint for g in env.generations] == ["random-sd15-b.safetensors"] * 2
    assert env.model_loads[loads_before:] == ["random-sd15-b.safetensors"]


def test_current_checkpoint_names_the_selected_model(env, wrunner):
    assert wrunner.current_checkpoint() == "random-sd15-a.safetensors"


def test_forge_never_relies_on_reload_model_weights(forge_webui, queue, files):
    from modules import sd_models

    from task_scheduler.webui.runner import InProcessRunner

    def refuse(*args, **kwargs):
        raise AssertionError("reload_model_weights is a no-op on Forge")

    sd_models.reload_model_weights = refuse
    forge_webui.add_script(load_params_script())
    executor = Executor(queue, InProcessRunner(files))
    try:
        task = queue_click(forge_webui, queue, files, prompt="f", checkpoint="random-sd15-b.safetensors")
        run_all(executor)
    finally:
        executor.close()
    assert queue.get(task.id).status is TaskStatus.DONE
    assert forge_webui.generations[-1].checkpoint == "random-sd15-b.safetensors"


def test_a1111_checkpoint_switch_does_not_deadlock_on_queue_lock(a1111_webui, queue, files):
    from task_scheduler.webui.runner import InProcessRunner

    a1111_webui.add_script(load_params_script())
    executor = Executor(queue, InProcessRunner(files))
    try:
        task = queue_click(a1111_webui, queue, files, prompt="switch", checkpoint="random-sd15-b.safetensors")
        executor.start()
        assert wait_until(lambda: queue.get(task.id).is_finished, timeout=10)
    finally:
        executor.close()
    assert queue.get(task.id).status is TaskStatus.DONE
    assert a1111_webui.model_loads[-1] == "random-sd15-b.safetensors"


def test_without_the_params_script_extras_are_reported_not_silently_lost(webui, queue, files):
    from task_scheduler.webui.runner import InProcessRunner

    executor = Executor(queue, InProcessRunner(files))
    try:
        new, _ = captured(webui, files, prompt="no script", width=64, height=64, steps=2)
        new.params["processing"] = {"eta": 0.5}
        task = queue.enqueue(new)
        run_all(executor)
    finally:
        executor.close()
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE
    assert any("Task Scheduler script" in w for w in done.warnings)


def test_task_request_has_the_username(env):
    from task_scheduler.webui.runner import TaskRequest

    assert TaskRequest("bob").username == "bob"
    assert FakeRequest("bob").username == TaskRequest("bob").username


def add_vae(env, name="test-vae.safetensors") -> str:
    from modules import sd_vae

    path = env.root / "models" / "VAE" / name
    path.write_bytes(b"fake vae")
    sd_vae.refresh_vae_list()
    if env.is_forge:
        from modules_forge import main_entry

        main_entry.refresh_models()
    return str(path)


def test_a_vae_named_by_the_task_is_switched_to_and_kept(env, queue, files, wexec):
    from modules import shared

    path = add_vae(env)
    new, _ = captured(env, files, prompt="vae", width=64, height=64, steps=2)
    new.params["override_settings"] = {"sd_vae": "test-vae.safetensors"}
    task = queue.enqueue(new)
    run_all(wexec)
    assert queue.get(task.id).status is TaskStatus.DONE, queue.get(task.id).error
    if env.is_forge:
        assert shared.opts.forge_additional_modules == [path]
    else:
        assert shared.opts.data["sd_vae"] == "test-vae.safetensors"


def test_forge_modules_captured_with_the_task_are_applied(forge_webui, queue, files):
    from modules import shared

    from task_scheduler.webui.runner import InProcessRunner

    forge_webui.add_script(load_params_script())
    path = add_vae(forge_webui)
    executor = Executor(queue, InProcessRunner(files))
    try:
        new, _ = captured(forge_webui, files, prompt="m", width=64, height=64, steps=2)
        new.params["override_settings"] = {"forge_additional_modules": [path]}
        first = queue.enqueue(new)
        new2, _ = captured(forge_webui, files, prompt="none", width=64, height=64, steps=2)
        new2.params["override_settings"] = {"forge_additional_modules": []}
        run_all(executor)
        assert shared.opts.forge_additional_modules == [path]
        second = queue.enqueue(new2)
        run_all(executor)
    finally:
        executor.close()
    assert queue.get(first.id).status is TaskStatus.DONE and queue.get(second.id).status is TaskStatus.DONE
    assert shared.opts.forge_additional_modules == []


@pytest.fixture
def neo(neo_webui, queue, files):
    """Forge Neo with the params script, and an executor over the in-process runner."""
    from task_scheduler.webui.runner import InProcessRunner

    neo_webui.add_script(load_params_script())
    executor = Executor(queue, InProcessRunner(files))
    yield neo_webui, executor
    executor.close()


def test_neo_task_runs_under_the_preset_it_was_queued_with(neo, queue, files):
    from modules import shared

    env, executor = neo
    new, _ = captured(env, files, prompt="xl", checkpoint="random-sd15-b.safetensors")
    new.params["override_settings"] = {"forge_preset": "xl", "forge_unet_storage_dtype": "float8-e4m3fn"}
    task = queue.enqueue(new)
    plain = queue_click(env, queue, files, prompt="no preset stored")  # the HTTP API stores none
    run_all(executor)
    assert queue.get(task.id).status is TaskStatus.DONE, queue.get(task.id).error
    assert queue.get(plain.id).status is TaskStatus.DONE, queue.get(plain.id).error
    assert shared.opts.forge_preset == "xl"  # restored when the task ran, kept for the next one
    assert shared.opts.forge_checkpoint_xl == "random-sd15-b.safetensors"  # as Neo's dropdown records it
    assert shared.opts.forge_checkpoint_sd is None
    assert shared.opts.forge_unet_storage_dtype_xl == "float8-e4m3fn"
    assert env.model_loads == ["random-sd15-b.safetensors"]  # the dtype came with the first load


def test_neo_keys_are_dropped_where_the_webui_has_no_presets(env, queue, files, wexec):
    """A Neo task moved to Forge or A1111 (an export, an API body) runs; the keys change nothing."""
    from modules import shared

    before = dict(shared.opts.data)
    new, _ = captured(env, files, prompt="from neo", width=64, height=64, steps=2)
    new.params["override_settings"] = {"forge_preset": "xl", "forge_unet_storage_dtype": "float8-e4m3fn"}
    task = queue.enqueue(new)
    run_all(wexec)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE, done.error
    if env.is_neo:
        assert (shared.opts.forge_preset, shared.opts.forge_unet_storage_dtype) == ("xl", "float8-e4m3fn")
    else:
        for key in ("forge_preset", "forge_unet_storage_dtype"):
            assert shared.opts.data.get(key) == before.get(key)


def test_neo_results_keep_their_infotexts_and_a_video_models_video(neo, queue, files):
    env, executor = neo
    still = queue_click(env, queue, files, prompt="still", seed=11)
    run_all(executor)
    env.set_video_output(True)  # a Wan model: the batch size is the video's length in frames
    moving = queue_click(env, queue, files, prompt="moving", seed=12, batch_size=5)
    run_all(executor)
    done = queue.get(still.id)
    assert done.status is TaskStatus.DONE, done.error
    assert len(done.result.images) == 1 and Path(done.result.images[0]).is_file()
    assert done.result.infotexts[0].startswith("still") and "Version: neo-2.26" in done.result.infotexts[0]
    assert done.result.seeds == [11] and "video_path" not in done.result.info
    video = queue.get(moving.id).result
    assert video.infotexts[0].startswith("moving") and video.seeds[0] == 12
    assert video.images == []  # Neo saves a video's frames only with "video_save_frames"
    assert video.info["video_path"].endswith(".mp4") and Path(video.info["video_path"]).is_file()


def test_a_missing_vae_fails_the_task_by_name(env, queue, files, wexec):
    new, _ = captured(env, files, prompt="vae", width=64, height=64, steps=2)
    new.params["override_settings"] = {"sd_vae": "no-such-vae.safetensors"}
    task = queue.enqueue(new)
    after = queue_click(env, queue, files, prompt="after")
    run_all(wexec)
    failed = queue.get(task.id)
    assert failed.status is TaskStatus.FAILED and "no-such-vae.safetensors" in failed.error
    assert queue.get(after.id).status is TaskStatus.DONE


def test_seeds_are_those_of_the_images_when_a_script_makes_several(env, queue, files, wexec):
    task = queue_click(
        env,
        queue,
        files,
        prompt="",
        seed=9,
        selected_script="Prompts from file or textbox",
        script_args_by_title={"Prompts from file or textbox": [True, False, "start", "one\ntwo"]},
    )
    run_all(wexec)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE
    assert done.result.seeds == [9, 10]
    assert len(done.result.images) == 2


def test_seed_of_an_infotext():
    from task_scheduler.webui.runner import _seed_of

    assert _seed_of("a cat\nNegative prompt: x\nSteps: 2, Sampler: Euler a, Seed: 123, Size: 64x64") == 123
    assert _seed_of("Seed: 7, Steps: 2") == 7
    assert _seed_of("no seed here") is None


def test_pause_now_keeps_the_images_made_and_resume_makes_only_the_rest(env, queue, files, wexec, wrunner):
    """The WebUI's "stop generating" ends the task after the image in progress; it waits in line."""
    from modules import script_callbacks

    script_callbacks.on_image_saved(wrunner.image_saved)  # as the extension registers it
    env.set_step_delay(0.01)
    task = queue_click(env, queue, files, prompt="pausing", steps=4, n_iter=5, seed=1000)
    wexec.start()

    def made() -> int:
        current = queue.get(task.id)
        return len(current.result.seeds) if current.result else 0

    assert wait_until(lambda: made() >= 2)  # kept in the store as the images are saved
    queue.pause_now()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.PENDING)
    parked = queue.get(task.id)
    kept = len(parked.result.seeds)
    assert 2 <= kept < 5 and parked.result.seeds == list(range(1000, 1000 + kept))
    assert queue.paused and queue.position_of(task.id) == 1

    queue.resume()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.DONE)
    done = queue.get(task.id)
    assert done.result.seeds == [1000, 1001, 1002, 1003, 1004]
    assert env.generations[-1].seeds == list(range(1000 + kept, 1005))  # only what was missing
    images = [p for p in done.result.images if "grid" not in Path(p).name]
    assert len(set(images)) == 5 and all(Path(p).is_file() for p in images)


def test_a_paused_and_resumed_task_saves_one_grid_over_all_its_images(env, queue, files, wexec, wrunner):
    """The grid the WebUI saves over a paused run's images is deleted; the resumed run makes the
    grid over all five, pixel for pixel the grid of the same task run without a pause."""
    from modules import script_callbacks
    from PIL import Image

    script_callbacks.on_image_saved(wrunner.image_saved)
    env.set_step_delay(0.01)
    task = queue_click(env, queue, files, prompt="one grid", steps=4, n_iter=5, seed=2000)
    wexec.start()
    assert wait_until(lambda: (queue.get(task.id).result or TaskResult()).seeds[:2] == [2000, 2001])
    queue.pause_now()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.PENDING)
    parked = queue.get(task.id)
    assert parked.result.grids() == [] and len(parked.result.images) == len(parked.result.seeds)
    queue.resume()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.DONE)
    done = queue.get(task.id).result
    (grid,) = done.grids()
    assert done.images[-1] == grid and len(done.images) == 6 and done.seeds == list(range(2000, 2005))
    grids_folder = Path(grid).parent
    assert sorted(p.name for p in grids_folder.iterdir()) == [Path(grid).name]  # the paused run's is gone
    assert done.infotexts[-1] == done.infotexts[0] and "Seed: 2000," in done.infotexts[-1]

    again = queue_click(env, queue, files, prompt="one grid", steps=4, n_iter=5, seed=2000)
    assert wait_until(lambda: queue.get(again.id).status is TaskStatus.DONE)
    (whole,) = queue.get(again.id).result.grids()
    with Image.open(grid) as resumed, Image.open(whole) as uninterrupted:
        assert resumed.size == uninterrupted.size == (3 * 64, 2 * 64)
        assert resumed.tobytes() == uninterrupted.tobytes()


def test_a_resumed_task_that_asks_for_no_grid_gets_none(env, queue, files, wexec, wrunner):
    from modules import script_callbacks

    script_callbacks.on_image_saved(wrunner.image_saved)
    env.set_step_delay(0.01)
    task = queue_click(env, queue, files, prompt="no grid", steps=4, n_iter=4, seed=1)
    queue.edit(task.id, params={"processing": {"do_not_save_grid": True}})
    wexec.start()
    assert wait_until(lambda: len((queue.get(task.id).result or TaskResult()).seeds) >= 1)
    queue.pause_now()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.PENDING)
    queue.resume()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.DONE)
    done = queue.get(task.id).result
    assert done.grids() == [] and done.seeds == [1, 2, 3, 4] and len(done.images) == 4

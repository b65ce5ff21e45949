"""Upscale follow-ups run: ``extras`` tasks through the WebUI's own Extras path, in both flavours of
the double, and through ``/sdapi/v1/extra-single-image`` on a remote WebUI (the standalone server).
"""

from __future__ import annotations

import base64
import io
import threading
from pathlib import Path

import pytest
from fake_webui import FakeWebUI
from PIL import Image

from task_scheduler.executor import Executor, ExecutorSettings
from task_scheduler.followups import parse_followup, queue_followups
from task_scheduler.jobs import Jobs, JobStatus
from task_scheduler.runner import ProgressUpdate
from task_scheduler.standalone.remote_body import build_request
from task_scheduler.standalone.remote_runner import RemoteRunner
from task_scheduler.task import Task, TaskStatus


@pytest.fixture
def jobs(queue) -> Jobs:
    return Jobs(queue)


@pytest.fixture
def wrunner(webui, files, queue):
    from modules import script_callbacks

    from task_scheduler.webui.runner import InProcessRunner

    runner = InProcessRunner(files, stop_reason=queue.stop_request)
    script_callbacks.on_image_saved(runner.image_saved)  # as the extension registers it
    return runner


@pytest.fixture
def wexec(queue, wrunner):
    ex = Executor(queue, wrunner, ExecutorSettings())
    yield ex
    ex.close()


def run_all(executor) -> None:
    while executor.run_one():
        pass


def finished_job(jobs, files, wexec, sizes=((64, 48),)):
    """A done txt2img job (queued like ``POST /queue/txt2img``), one image per size."""
    from task_scheduler.http_api.payloads import prepare_task
    from task_scheduler.http_api.schemas import Txt2ImgRequest
    from task_scheduler.http_api.services import ApiSettings

    news = [
        prepare_task(
            "txt2img", Txt2ImgRequest(prompt="a cat", steps=2, seed=5 + i, width=w, height=h), ApiSettings()
        ).store_files(files)
        for i, (w, h) in enumerate(sizes)
    ]
    job, _ = jobs.create(news, name="cats")
    run_all(wexec)
    assert jobs.get(job.id).status is JobStatus.DONE
    return job


def upscale(jobs, files, job, **spec):
    _, created = queue_followups(jobs, files, job.id, parse_followup({"action": "upscale", **spec}))
    return created


def extras_dir(webui) -> Path:
    return webui.root / "outputs" / "extras-images"


# -- in the WebUI (double, both flavours) -----------------------------------------------------------


def test_upscale_follow_up_saves_images_twice_the_size_in_the_extras_folder(webui, jobs, files, queue, wexec):
    job = finished_job(jobs, files, wexec, sizes=((64, 48), (40, 64)))
    created = upscale(jobs, files, job, scale=2, upscaler="Lanczos")
    run_all(wexec)
    follow = jobs.get(created[0].job_id)
    assert follow.status is JobStatus.DONE and follow.images == 2
    sizes = []
    for task in created:
        done = queue.get(task.id)
        assert done.status is TaskStatus.DONE, done.error
        assert done.warnings == []
        (path,) = done.result.images
        assert Path(path).parent == extras_dir(webui)  # saved where the Extras tab saves
        with Image.open(path) as image:
            sizes.append(image.size)
            section = "postprocessing" if webui.is_forge else "extras"
            assert "Postprocess upscaler: Lanczos" in image.info[section]
        assert done.result.infotexts == ["Postprocess upscale by: 2.0, Postprocess upscaler: Lanczos"]
    assert sizes == [(128, 96), (80, 128)]


def test_a_model_upscaler_is_resized_down_to_the_factor_in_multiples_of_8(webui, jobs, files, queue, wexec):
    job = finished_job(jobs, files, wexec, sizes=((60, 44),))
    (task,) = upscale(jobs, files, job, scale=1.5, upscaler="R-ESRGAN 4x+")
    run_all(wexec)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE, done.error
    with Image.open(done.result.images[0]) as image:
        assert image.size == (88, 64)  # 90x66 rounded down to multiples of 8, as the WebUI does
    assert "Postprocess upscaler: R-ESRGAN 4x+" in done.result.infotexts[0]


def test_a_missing_upscaler_fails_the_task_naming_it(webui, jobs, files, queue, wexec):
    job = finished_job(jobs, files, wexec)
    (task,) = upscale(jobs, files, job, upscaler="4x-UltraSharp")
    (other,) = upscale(jobs, files, job, upscaler="Nearest")
    run_all(wexec)
    failed = queue.get(task.id)
    assert failed.status is TaskStatus.FAILED
    assert "'4x-UltraSharp' is not installed" in failed.error and "Lanczos" in failed.error
    assert queue.get(other.id).status is TaskStatus.DONE  # the queue goes on
    assert len(list(extras_dir(webui).glob("*.png"))) == 1


def test_the_upscale_runs_under_the_webui_job_lock_with_its_progress_id(webui, jobs, files, queue, wexec):
    from modules import call_queue, progress, script_callbacks

    seen = []

    def on_saved(params):
        seen.append(
            {
                "current_task": progress.current_task,
                "locked": call_queue.queue_lock.locked(),
                "thread": threading.current_thread().name,
                "p": params.p,
            }
        )

    script_callbacks.on_image_saved(on_saved)
    job = finished_job(jobs, files, wexec)
    seen.clear()
    (task,) = upscale(jobs, files, job, upscaler="Lanczos")
    run_all(wexec)
    assert queue.get(task.id).status is TaskStatus.DONE
    # the WebUI's progress bar knows it; a Generate click waits; like Forge's own Extras route,
    # it runs in the calling thread, not on Forge's main thread
    assert seen == [{"current_task": f"task({task.id})", "locked": True, "thread": "MainThread", "p": None}]
    assert progress.current_task is None and not call_queue.queue_lock.locked()


def test_extras_fields_pass_through_and_unknown_ones_are_reported(webui, jobs, files, queue, wexec):
    job = finished_job(jobs, files, wexec)
    (task,) = upscale(
        jobs,
        files,
        job,
        upscaler="Lanczos",
        params={"resize_mode": 1, "upscaling_resize_w": 100, "upscaling_resize_h": 30, "sharpen": 2},
    )
    run_all(wexec)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE, done.error
    with Image.open(done.result.images[0]) as image:
        assert image.size == (100, 30)  # "Scale to" with "Crop to fit"
    assert done.warnings == ["extras field 'sharpen' is unknown to this WebUI's run_extras; ignored"]
    assert done.result.infotexts == [
        "Postprocess upscale to: 100x30, Postprocess crop to: 100x30, Postprocess upscaler: Lanczos"
    ]


def test_the_double_run_extras_matches_the_webui_signature(webui):
    import inspect

    from modules import postprocessing

    names = list(inspect.signature(postprocessing.run_extras).parameters)
    assert names[:7] == [
        "extras_mode",
        "resize_mode",
        "image",
        "image_folder",
        "input_dir",
        "output_dir",
        "show_extras_results",
    ]
    assert names[-3:] == ["upscale_first", "save_output", "max_side_length"]


# -- on a remote WebUI (standalone server) -----------------------------------------------------------


@pytest.fixture
def fake():
    webui = FakeWebUI().start()
    yield webui
    webui.stop()


@pytest.fixture
def remote(fake, files, tmp_path):
    runner = RemoteRunner(fake.url, files, tmp_path / "results", poll_s=0.02)
    yield runner
    runner.close()


def extras_task(files, upscaler="Lanczos", size=(24, 16), **params) -> Task:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    ref = files.put(buffer.getvalue(), "png")
    base = {
        "image": {"$image": ref, "mode": "RGB", "size": list(size)},
        "resize_mode": 0,
        "upscaling_resize": 2.0,
        "upscaler_1": upscaler,
        "upscaler_2": "None",
        "extras_upscaler_2_visibility": 0.0,
        "gfpgan_visibility": 0,
        "codeformer_visibility": 0,
        "codeformer_weight": 0,
        "upscaling_crop": True,
        "upscale_first": False,
    }
    return Task(id="x1", kind="extras", params={**base, **params})


def test_the_remote_body_is_the_extra_single_image_request(files):
    task = extras_task(files, max_side_length=512)
    request = build_request(task, files)
    assert request.endpoint == "/sdapi/v1/extra-single-image" and request.checkpoint is None
    body = request.body
    with Image.open(io.BytesIO(base64.b64decode(body["image"]))) as sent:
        assert sent.size == (24, 16)
    assert body["upscaler_1"] == "Lanczos" and body["upscaling_resize"] == 2.0 and body["resize_mode"] == 0
    assert "max_side_length" not in body  # not a field of the API's request
    assert request.warnings == [
        "extras field 'max_side_length' is not a field of /sdapi/v1/extra-single-image; ignored"
    ]


def test_a_remote_upscale_is_saved_in_the_server_results(fake, remote, files, tmp_path):
    updates: list[ProgressUpdate] = []
    outcome = remote.run(extras_task(files), updates.append)
    (path,) = outcome.result.images
    assert Path(path).is_relative_to(tmp_path / "results")
    with Image.open(path) as image:
        assert image.size == (48, 32)
    assert outcome.result.infotexts == ["Postprocess upscale by: 2, Postprocess upscaler: Lanczos"]
    assert outcome.result.info["backend"] == fake.url
    assert [c[1] for c in fake.calls if c[0] == "POST"] == ["/sdapi/v1/extra-single-image"]  # no model switch


def test_a_remote_upscaler_the_webui_lacks_fails_naming_it(fake, remote, files):
    from task_scheduler.errors import InvalidTaskData

    with pytest.raises(InvalidTaskData) as info:
        remote.run(extras_task(files, upscaler="4x-UltraSharp"), lambda update: None)
    assert "'4x-UltraSharp' is not on" in str(info.value) and "Lanczos" in str(info.value)
    assert fake.upscales == []


def test_a_webui_assertion_is_reported_with_its_message(fake, remote, files, monkeypatch):
    from task_scheduler.standalone.remote_runner import RemoteError

    # an upscaler listed by /upscalers and gone when the call runs: the WebUI's own error says which
    monkeypatch.setattr(remote, "_check_upscalers", lambda body: None)
    task = extras_task(files, upscaler="Vanishing")
    with pytest.raises(RemoteError) as info:
        remote.run(task, lambda update: None)
    assert "AssertionError: could not find upscaler named Vanishing" in str(info.value)

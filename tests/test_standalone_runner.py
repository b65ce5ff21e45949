"""The remote runner: stored task -> WebUI API body, and one task run against a fake WebUI."""

from __future__ import annotations

import base64
import io
import threading

import pytest
from fake_webui import FakeWebUI, pixel_for
from PIL import Image

from task_scheduler.errors import InvalidTaskData, OutOfMemory, RunnerUnavailable
from task_scheduler.runner import Runner
from task_scheduler.standalone.remote_body import build_request
from task_scheduler.standalone.remote_runner import RemoteError, RemoteRunner
from task_scheduler.task import Task
from task_scheduler.values import ValueCodec


@pytest.fixture
def fake():
    webui = FakeWebUI().start()
    yield webui
    webui.stop()


@pytest.fixture
def runner(fake, files, tmp_path):
    remote = RemoteRunner(fake.url, files, tmp_path / "results", poll_s=0.02)
    yield remote
    remote.close()


def task(kind="txt2img", checkpoint=None, script_args=None, script_name=None, **params) -> Task:
    base = {"prompt": "a cat", "seed": 7, "steps": 2, "width": 8, "height": 8}
    base.update(params)
    return Task(
        id="t" + str(abs(hash(repr(sorted(base.items(), key=str)))) % 10**8),
        kind=kind,
        params=base,
        checkpoint=checkpoint,
        script_args=script_args or {},
        script_name=script_name,
    )


def png(colour=(10, 20, 30), size=(4, 4), mode="RGB") -> Image.Image:
    return Image.new(mode, size, colour)


def decode(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


# -- translation ---------------------------------------------------------------------------------


def test_stored_names_become_api_names_with_processing_overrides_and_scripts(files):
    t = task(
        prompt_styles=["s1"],
        processing={"eta": 0.5, "tiling": True},
        override_settings={"CLIP_stop_at_last_layers": 2},
        script_args={"ADetailer": [True, {"ad_model": "face"}], "X/Y/Z plot": [1, "2"]},
        script_name="x/y/z plot",
    )
    request = build_request(t, files)
    body = request.body
    assert request.endpoint == "/sdapi/v1/txt2img"
    assert body["styles"] == ["s1"] and "prompt_styles" not in body
    assert body["eta"] == 0.5 and body["tiling"] is True and "processing" not in body
    assert body["override_settings"] == {"CLIP_stop_at_last_layers": 2}
    assert body["alwayson_scripts"] == {"ADetailer": {"args": [True, {"ad_model": "face"}]}}
    assert body["script_name"] == "X/Y/Z plot" and body["script_args"] == [1, "2"]
    assert body["send_images"] is True and body["save_images"] is False
    assert (body["prompt"], body["seed"], body["steps"]) == ("a cat", 7, 2)


def test_a_checkpoint_in_override_settings_is_switched_not_overridden(files):
    request = build_request(task(override_settings={"sd_model_checkpoint": "model-b", "sd_vae": "x"}), files)
    assert request.checkpoint == "model-b"
    assert request.body["override_settings"] == {"sd_vae": "x"}


def test_tagged_values_become_what_the_webui_api_accepts(files):
    import enum
    from dataclasses import dataclass

    class Mode(enum.Enum):
        BALANCED = "Balanced"

    @dataclass
    class Unit:
        enabled: bool
        image: object
        mode: Mode
        weights: tuple

    refs: list[str] = []
    codec = ValueCodec(files)
    unit = codec.encode(Unit(True, png((1, 2, 3)), Mode.BALANCED, (0.5, 1.0)), "ControlNet", refs)
    t = task(
        script_args={"ControlNet": [unit]}, processing={"firstpass_image": codec.encode(png(), "p", refs)}
    )
    body = build_request(t, files).body
    sent = body["alwayson_scripts"]["ControlNet"]["args"][0]
    assert sent["enabled"] is True and sent["mode"] == "Balanced" and sent["weights"] == [0.5, 1.0]
    assert decode(sent["image"]).getpixel((0, 0)) == (1, 2, 3)
    assert decode(body["firstpass_image"]).size == (4, 4)


def test_ui_captured_switches_are_applied_and_ui_only_controls_dropped(files):
    t = task(
        seed_enable_extras=False,
        subseed=123,
        subseed_strength=0.7,
        enable_refiner=False,
        refiner_checkpoint="r.safetensors",
        refiner_switch_at=0.8,
        hr_sampler_name="Use same sampler",
        hr_checkpoint_name="Use same checkpoint",
        hr_scheduler="Karras",
        override_settings_texts=["Clip skip: 2"],
    )
    request = build_request(t, files)
    body = request.body
    assert body["subseed"] == -1 and body["subseed_strength"] == 0
    assert "refiner_checkpoint" not in body and "refiner_switch_at" not in body
    assert "hr_sampler_name" not in body and "hr_checkpoint_name" not in body
    assert body["hr_scheduler"] == "Karras"
    for name in ("seed_enable_extras", "enable_refiner", "override_settings_texts"):
        assert name not in body
    assert any("override_settings_texts" in w for w in request.warnings)


def test_img2img_inputs_by_mode(files):
    codec = ValueCodec(files)
    refs: list[str] = []
    init = codec.encode(png((9, 9, 9), (16, 8)), "init", refs)
    mask = codec.encode(png(255, (16, 8), "L"), "mask", refs)
    plain = build_request(task("img2img", mode=0, init_img=init, selected_scale_tab=1, scale_by=2.0), files)
    assert plain.endpoint == "/sdapi/v1/img2img"
    assert decode(plain.body["init_images"][0]).getpixel((0, 0)) == (9, 9, 9)
    assert "mask" not in plain.body and "init_img" not in plain.body and "mode" not in plain.body
    assert (plain.body["width"], plain.body["height"]) == (32, 16)  # "Resize by" 2x of 16x8
    inpaint = build_request(task("img2img", mode=4, init_img_inpaint=init, init_mask_inpaint=mask), files)
    assert decode(inpaint.body["mask"]).mode == "L"
    with pytest.raises(InvalidTaskData, match="batch"):
        build_request(task("img2img", mode=5), files)
    with pytest.raises(InvalidTaskData, match="init image"):
        build_request(task("img2img", mode=0), files)


def test_scripts_the_webui_lacks_are_left_out_with_a_warning(files):
    t = task(script_args={"Extra options": [], "Gone": [1]})
    request = build_request(t, files, scripts={"extra options"})
    assert list(request.body["alwayson_scripts"]) == ["Extra options"]
    assert any("'Gone'" in w for w in request.warnings)
    with pytest.raises(InvalidTaskData, match="not installed"):
        build_request(task(script_name="Gone"), files, scripts={"extra options"})


# -- running -------------------------------------------------------------------------------------


def test_remote_runner_is_a_runner(runner):
    assert isinstance(runner, Runner)


def test_run_switches_the_checkpoint_then_saves_the_webuis_images_as_sent(fake, runner):
    updates = []
    run = runner.run(task(checkpoint="model-b", batch_size=2), updates.append)
    assert not run.interrupted and run.warnings == []
    options = [c for c in fake.calls if c[1] == "/sdapi/v1/options"]
    assert options[-1][0] == "POST" and options[-1][2]["sd_model_checkpoint"].startswith(
        "model-b.safetensors ["
    )
    result = run.result
    assert result.seeds == [7, 8] and len(result.images) == 2
    with Image.open(result.images[1]) as image:
        assert image.getpixel((0, 0)) == pixel_for(8, "model-b.safetensors")
        assert image.info["parameters"] == result.infotexts[1]  # the WebUI's bytes, infotext chunk included
    assert "Seed: 8" in result.infotexts[1]
    assert result.info["backend"] == fake.url and "infotexts" not in result.info
    assert runner.current_checkpoint() == "model-b"


@pytest.mark.parametrize(
    "spelling",
    ["model-b", "MODEL-B.safetensors", "model-b.safetensors [deadbeef]", "/models/model-b.safetensors"],
)
def test_checkpoint_spellings_resolve_like_the_webui(runner, spelling):
    runner.refresh()
    assert runner.resolve_checkpoint(spelling).model_name == "model-b"


def test_an_unknown_checkpoint_fails_the_task_naming_what_the_webui_has(fake, runner):
    with pytest.raises(InvalidTaskData, match="model-a.safetensors"):
        runner.run(task(checkpoint="nope"), lambda u: None)
    assert not fake.generations


def test_webui_errors_fail_the_task_with_its_message(fake, runner):
    fake.fail_next = (422, "Sampler not found")
    with pytest.raises(RemoteError, match="422.*Sampler not found"):
        runner.run(task(), lambda u: None)
    fake.fail_next = (500, "CUDA out of memory. Tried to allocate 2 GiB")
    with pytest.raises(OutOfMemory):
        runner.run(task(), lambda u: None)


def test_progress_is_polled_and_interrupt_reaches_the_webui(fake, runner):
    fake.hold()
    updates = []
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("run", runner.run(task(), updates.append)))
    thread.start()
    assert fake.busy.wait(5)
    assert _eventually(lambda: any(u.fraction == 0.5 for u in updates))
    runner.interrupt()
    thread.join(5)
    assert fake.interrupted.is_set()
    assert outcome["run"].interrupted and len(outcome["run"].result.images) == 1


def test_skip_goes_to_the_webui_while_running(fake, runner):
    fake.hold()
    thread = threading.Thread(target=lambda: runner.run(task(), lambda u: None))
    thread.start()
    assert fake.busy.wait(5)
    assert _eventually(lambda: runner._running)
    runner.skip()
    assert fake.skipped.is_set()
    fake.release()
    thread.join(5)


def test_a_webui_killed_mid_call_makes_the_runner_unavailable(fake, runner):
    fake.hold()
    errors = []

    def run():
        try:
            runner.run(task(), lambda u: None)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert fake.busy.wait(5)
    fake.kill()
    thread.join(5)
    assert isinstance(errors[0], RunnerUnavailable)
    with pytest.raises(RunnerUnavailable):
        runner.refresh()


def test_abandon_gives_up_on_a_call_that_never_returns(fake, runner):
    fake.hold()
    errors = []
    thread = threading.Thread(target=lambda: _capture(errors, lambda: runner.run(task(), lambda u: None)))
    thread.start()
    assert fake.busy.wait(5)
    runner.abandon("health check: no answer")
    thread.join(5)
    assert isinstance(errors[0], RunnerUnavailable) and "no answer" in str(errors[0])
    fake.release()


def _capture(errors, action):
    try:
        action()
    except Exception as exc:
        errors.append(exc)


def _eventually(predicate, timeout=5.0):
    event = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return True
        event.wait(0.01)
    return predicate()


def test_the_idle_queue_unloads_a_remote_model_and_the_next_task_reloads_it_first(fake, runner):
    runner.run(task(seed=1), lambda update: None)
    assert runner.unload_model() is True
    assert fake.in_ram and runner.unload_model() is False  # once
    result = runner.run(task(seed=2), lambda update: None)
    assert result.result.seeds == [2] and not fake.in_ram


def test_a_remote_a1111_fails_to_generate_after_its_unload_without_a_reload(fake, runner):
    runner.run(task(seed=1), lambda update: None)
    fake.in_ram = True  # unloaded behind the queue's back (the WebUI's own Settings button)
    with pytest.raises(RemoteError, match="same device"):
        runner.run(task(seed=3), lambda update: None)

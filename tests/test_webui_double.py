"""The WebUI test double behaves like the real Forge / A1111 where the extension depends on it.

Each test runs against both flavours (``webui`` fixture) unless it is about one flavour's quirk.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
import threading
import time

import pytest
import webui_double
from PIL import Image
from webui_double import fixtures as _fixtures
from webui_double.extensions import (
    ADetailerLike,
    ImageInputScript,
    OpaqueStateScript,
    OpaqueThing,
    SelectableEcho,
)

# The fixtures, bound explicitly so this file does not depend on tests/conftest.py.
webui = _fixtures.webui
forge_webui = _fixtures.forge_webui
a1111_webui = _fixtures.a1111_webui

TIMEOUT = 10


def run_in_thread(fn, *args, **kwargs):
    """Start ``fn`` in a daemon thread; returns (thread, box) where box holds 'result' or 'error'."""
    box: dict = {}

    def target():
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            box["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def wait_for(predicate, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.002)
    return False


def txt2img(env, request=None, **named):
    """Run txt2img as a queued task would: begin/end state around the entry function."""
    from modules import shared

    args = env.generate_args("txt2img", **named)
    shared.state.begin(job=args[0])
    try:
        return webui_double.forge_outputs(env.call("txt2img", args, request=request))
    finally:
        shared.state.end()


# -- installation -----------------------------------------------------------------------------------


def test_install_sets_flavour_paths_and_main_thread(webui):
    from modules import paths, shared

    assert webui.root.is_dir()
    assert paths.models_path.startswith(str(webui.root))
    assert shared.opts.outdir_txt2img_samples.startswith(str(webui.root))
    if webui.is_forge:
        assert webui.main_thread.name == "shim-main-thread"
        assert webui.main_thread.daemon and webui.main_thread.is_alive()
        assert importlib.util.find_spec("modules_forge") is not None
    else:
        assert webui.main_thread is None
        assert importlib.util.find_spec("modules_forge") is None
        with pytest.raises(ImportError):
            import modules_forge  # noqa: F401


def test_uninstall_removes_modules_paths_and_stops_loop(tmp_path):
    env = webui_double.install("forge", tmp_path)
    loop = env.main_thread
    env.uninstall()
    assert not any(
        name == "modules" or name.startswith(("modules.", "modules_forge")) for name in sys.modules
    )
    assert str(webui_double.HERE) not in sys.path
    loop.join(TIMEOUT)
    assert not loop.is_alive()
    with pytest.raises(ImportError):
        import modules.shared  # noqa: F401


def test_every_install_starts_from_fresh_globals(tmp_path):
    with webui_double.installed("a1111", tmp_path / "one"):
        from modules import progress, script_callbacks, shared

        script_callbacks.on_app_started(lambda demo, app: None)
        progress.add_task_to_queue("task(x)")
        shared.state.interrupt()
        shared.opts.samples_save = False
    with webui_double.installed("forge", tmp_path / "two"):
        from modules import progress, script_callbacks, shared

        assert script_callbacks.callback_map["callbacks_app_started"] == []
        assert progress.pending_tasks == {}
        assert shared.state.interrupted is False
        assert shared.opts.samples_save is True


def test_installing_again_replaces_the_previous_env(tmp_path):
    first = webui_double.install("forge", tmp_path / "a")
    second = webui_double.install("a1111", tmp_path / "b")
    try:
        assert not first.installed
        assert webui_double.current() is second
        assert importlib.util.find_spec("modules_forge") is None
    finally:
        second.uninstall()


# -- signatures and the Generate argument layout ---------------------------------------------------


def test_txt2img_named_parameter_counts_match_the_webuis(webui):
    import modules.img2img
    import modules.txt2img

    expected = {"forge": 25, "a1111": 21, "neo": 25}[webui.flavour]
    params = list(inspect.signature(modules.txt2img.txt2img_create_processing).parameters)
    assert params[:2] == ["id_task", "request"]
    assert params[-2:] == ["args", "force_enable_hr"]
    assert len(params) - 4 == expected == len(webui.named_parameters("txt2img"))
    assert ("distilled_cfg_scale" in params) is (webui.is_forge)
    assert ("hr_additional_modules" in params) is (webui.is_forge)

    img2img_params = webui.named_parameters("img2img")
    assert (
        img2img_params[0] == "mode"
        and len(img2img_params) == {"forge": 39, "a1111": 36, "neo": 39}[webui.flavour]
    )
    if webui.is_forge:
        assert list(inspect.signature(modules.img2img.img2img).parameters)[2:-1] == img2img_params
    assert ("sketch_fg" in img2img_params) is (webui.is_forge)
    assert ("inpaint_color_sketch_orig" in img2img_params) is (not webui.is_forge)
    assert hasattr(modules.txt2img, "txt2img_function") is (webui.is_forge)
    assert hasattr(modules.img2img, "img2img_function") is (webui.is_forge)


def test_processing_dataclass_has_exactly_the_flavours_fields(webui):
    from modules import processing

    p = processing.StableDiffusionProcessingTxt2Img(prompt="x", width=64)
    assert p.styles == [] and p.override_settings == {} and p.extra_generation_params == {}
    fields = processing._shim_field_names(processing.StableDiffusionProcessingTxt2Img)
    assert ("distilled_cfg_scale" in fields) is (webui.is_forge)
    assert ("hr_cfg" in fields) is (webui.is_forge)
    with pytest.raises(TypeError):
        processing.StableDiffusionProcessingTxt2Img(not_a_field=1)
    if not webui.is_forge:
        with pytest.raises(TypeError):
            processing.StableDiffusionProcessingTxt2Img(distilled_cfg_scale=3.5)


def test_generate_args_layout_matches_the_probe(webui):
    args = webui.generate_args("txt2img", prompt="a probe cat", width=64, height=64, steps=2, seed=12345)
    n_named = len(webui.named_parameters("txt2img"))
    script_args = args[1 + n_named :]
    assert args[0].startswith("task(") and args[0].endswith(")")
    assert args[1] == "a probe cat"
    assert script_args[0] == 0
    default_sampler = {"forge": "Euler a", "a1111": "DPM++ 2M", "neo": "Euler a"}[webui.flavour]
    assert script_args[1:4] == [2, default_sampler, "Automatic"]
    assert script_args[7:13] == [12345, False, -1, 0, 0, 0]
    runner = webui.runner("txt2img")
    assert (runner.script("Sampler").args_from, runner.script("Sampler").args_to) == (1, 4)
    assert (runner.script("Seed").args_from, runner.script("Seed").args_to) == (7, 13)
    assert len(args) == 1 + n_named + len(runner.inputs)
    override = args[n_named]
    assert override == (None if webui.is_forge else [])


def test_forge_ships_three_controlnet_units_right_after_seed(forge_webui):
    from lib_controlnet.external_code import ControlNetUnit, ResizeMode

    script = forge_webui.script("txt2img", "ControlNet")
    assert (script.args_from, script.args_to) == (13, 16)
    assert script.api_info.name == "controlnet" and script.api_info.is_alwayson
    assert len(script.api_info.args) == 3
    units = forge_webui.generate_args("txt2img")[forge_webui.script_args_slice("txt2img", "ControlNet")]
    assert all(isinstance(u, ControlNetUnit) and not u.enabled for u in units)
    rebuilt = ControlNetUnit.from_dict({"enabled": True, "resize_mode": "Just Resize", "unknown": 1})
    assert rebuilt.enabled and rebuilt.resize_mode is ResizeMode.RESIZE


def test_a1111_has_no_controlnet_builtin(a1111_webui):
    assert a1111_webui.runner("txt2img").script("ControlNet") is None
    with pytest.raises(ImportError):
        import lib_controlnet  # noqa: F401


def test_generate_args_rejects_unknown_names(webui):
    with pytest.raises(TypeError):
        webui.generate_args("txt2img", distilled_cfg_scale=1.0, not_a_param=1)
    with pytest.raises(KeyError):
        webui.generate_args("txt2img", selected_script="No such script")


# -- building the processing object -----------------------------------------------------------------


def test_create_processing_needs_request_username(webui):
    import modules.txt2img

    args = webui.generate_args("txt2img", prompt="p")
    with pytest.raises(AttributeError):
        modules.txt2img.txt2img_create_processing(args[0], None, *args[1:])
    p = modules.txt2img.txt2img_create_processing(args[0], webui_double.FakeRequest("alice"), *args[1:])
    assert p.user == "alice"


def test_script_args_setter_runs_always_on_setup(webui):
    import modules.txt2img

    args = webui.generate_args(
        "txt2img", prompt="p", steps=7, sampler_name="Euler", scheduler="Karras", seed=99
    )
    p = modules.txt2img.txt2img_create_processing(args[0], webui_double.FakeRequest(), *args[1:])
    assert isinstance(p.script_args, tuple)
    assert (p.steps, p.sampler_name, p.scheduler, p.seed) == (7, "Euler", "Karras", 99)
    assert p.outpath_samples == webui_double.current().root.joinpath("outputs", "txt2img-images").as_posix()
    assert webui.received("txt2img", "Sampler") == [(7, "Euler", "Karras")]


def test_api_mode_skips_ui_only_setup(webui):
    from modules import processing, scripts

    p = processing.StableDiffusionProcessingTxt2Img(prompt="p", steps=33)
    p.is_api = True
    p.scripts = scripts.scripts_txt2img
    p.script_args = tuple(
        webui.generate_args("txt2img", steps=5)[1 + len(webui.named_parameters("txt2img")) :]
    )
    assert p.steps == 33


# -- main thread (Forge) and in-line (A1111) execution ----------------------------------------------


def test_run_and_wait_result_runs_fifo_on_the_loop_thread(forge_webui):
    from modules_forge import main_thread

    seen = []

    def work(i):
        seen.append((i, threading.current_thread().name))
        time.sleep(0.005)
        return i * 10

    threads = [run_in_thread(main_thread.run_and_wait_result, work, i) for i in range(5)]
    for thread, _ in threads:
        thread.join(TIMEOUT)
    assert sorted(box["result"] for _, box in threads) == [0, 10, 20, 30, 40]
    assert {name for _, name in seen} == {"shim-main-thread"}
    assert main_thread.run_and_wait_result(lambda: threading.current_thread().name) == "shim-main-thread"


def test_run_and_wait_result_swallows_exceptions(forge_webui, capsys):
    from modules_forge import main_thread

    def boom():
        raise ValueError("boom")

    assert main_thread.run_and_wait_result(boom) is None
    assert isinstance(main_thread.last_exception, ValueError)
    assert "ValueError: boom" in capsys.readouterr().err
    assert main_thread.run_and_wait_result(lambda: 1) == 1
    assert main_thread.last_exception is None


def test_txt2img_failure_is_none_on_forge_and_raises_on_a1111(webui):
    from modules import shared

    args = webui.generate_args("txt2img", selected_script=999)
    shared.state.begin()
    try:
        if webui.is_forge:
            from modules_forge import main_thread

            assert webui.call("txt2img", args) is None
            if webui.is_neo:  # Neo keeps the message, Forge the exception
                assert main_thread.last_exception.startswith("IndexError: ")
            else:
                assert isinstance(main_thread.last_exception, IndexError)
        else:
            with pytest.raises(IndexError):
                webui.call("txt2img", args)
    finally:
        shared.state.end()


def test_txt2img_runs_on_the_right_thread(webui):
    txt2img(webui, prompt="where", width=8, height=8, steps=1)
    expected = "shim-main-thread" if webui.is_forge else threading.current_thread().name
    assert webui.generations[-1].thread_name == expected


def test_neo_switches_take_the_ui_preset_and_remember_the_choice_per_preset(neo_webui):
    from modules import shared
    from modules_forge import main_entry

    with pytest.raises(TypeError, match="preset"):
        main_entry.checkpoint_change("random-sd15-b.safetensors", save=False)  # Forge's call
    assert shared.opts.forge_preset == "sd"
    assert main_entry.checkpoint_change("random-sd15-b.safetensors", "xl", save=False) is True
    assert shared.opts.sd_model_checkpoint == "random-sd15-b.safetensors"
    assert shared.opts.forge_checkpoint_xl == "random-sd15-b.safetensors"
    assert shared.opts.forge_checkpoint_sd is None
    assert main_entry.checkpoint_change("random-sd15-a.safetensors", None, save=False) is True
    assert shared.opts.forge_checkpoint_xl == "random-sd15-b.safetensors"  # None: no preset touched
    assert main_entry.dtype_change("float8-e4m3fn", "xl", save=False) is True
    assert shared.opts.forge_unet_storage_dtype_xl == "float8-e4m3fn"
    txt2img(neo_webui, width=8, height=8, steps=1)
    assert neo_webui.model_loads == ["random-sd15-a.safetensors"]
    main_entry.dtype_change("Automatic", None, save=False)
    txt2img(neo_webui, width=8, height=8, steps=1)
    assert neo_webui.model_loads == ["random-sd15-a.safetensors"] * 2  # the storage dtype is a reload


def test_neo_returns_gallery_and_video_updates_before_the_generation_info(neo_webui):
    from modules import shared

    args = neo_webui.generate_args("txt2img", prompt="neo", width=8, height=8, steps=1)
    frames = neo_webui.generate_args("txt2img", prompt="neo", width=8, height=8, steps=1, batch_size=5)
    shared.state.begin()
    try:
        gallery, video, js, info_html, _ = neo_webui.call("txt2img", args)
        neo_webui.set_video_output(True)  # a Wan model: 5 images in a batch are a 5-frame video
        gallery2, video2, js2, _, _ = neo_webui.call("txt2img", frames)
    finally:
        shared.state.end()
    assert gallery["__type__"] == "update" and gallery["visible"] is True
    assert [image.size for image in gallery["value"]] == [(8, 8)]
    assert video == {"__type__": "update", "value": None, "visible": False}
    assert json.loads(js)["infotexts"][0].endswith("Version: neo-2.26") and "neo" in info_html
    assert gallery2 == {"__type__": "update", "value": None, "visible": False}
    assert video2["visible"] is True and video2["value"].endswith(".mp4")
    assert json.loads(js2)["infotexts"][0].startswith("neo")


def test_neo_with_a_wan_model_counts_the_batch_size_as_frames(neo_webui):
    """Neo's ``process_images_inner`` with a Wan model: batch size N is a video of
    ((N - 1) // 4) * 4 + 1 frames from the first seed, so 4 images in one batch are one image."""
    from modules import processing, shared

    neo_webui.set_video_output(True)
    p = processing.StableDiffusionProcessingTxt2Img(
        prompt=["one", "two", "three", "four"],
        seed=[11, 12, 13, 14],
        batch_size=4,
        n_iter=1,
        width=8,
        height=8,
        steps=1,
        sampler_name="Euler",
        do_not_save_samples=True,
    )
    shared.state.begin()
    try:
        res = processing.process_images(p)
    finally:
        shared.state.end()
    assert len(res.images) == 1 and res.video_path is None
    assert len(res.infotexts) == 1 and res.infotexts[0].startswith("one") and "Seed: 11" in res.infotexts[0]
    args = neo_webui.generate_args("txt2img", prompt="frames", width=8, height=8, steps=1, batch_size=8)
    shared.state.begin()
    try:
        gallery, video, js, _, _ = neo_webui.call("txt2img", args)
    finally:
        shared.state.end()
    assert video["visible"] is True and video["value"].endswith(".mp4") and gallery["value"] is None
    assert len(json.loads(js)["all_seeds"]) == 5  # 8 -> a video of 5 frames


def test_injected_failure_surfaces_through_each_path(webui):
    from modules import shared

    webui.fail_at_step(1, RuntimeError("CUDA out of memory"), once=True)
    if webui.is_forge:
        from modules_forge import main_thread

        assert txt2img(webui, width=8, height=8, steps=3) is None
        assert str(main_thread.last_exception) == ("OOM" if webui.is_neo else "CUDA out of memory")
    else:
        with pytest.raises(RuntimeError, match="CUDA out of memory"):
            txt2img(webui, width=8, height=8, steps=3)
    assert shared.state.sampling_step == 0  # failed at step index 1, before it was recorded
    assert txt2img(webui, width=8, height=8, steps=3) is not None  # once=True cleared itself


# -- shared.state and interrupting ------------------------------------------------------------------


def test_state_begin_end_and_flags(webui):
    from modules import shared

    state = shared.state
    state.interrupt()
    state.begin(job="task(a)")
    assert (state.interrupted, state.job_count, state.job_no, state.job) == (False, -1, 0, "task(a)")
    state.interrupt()
    state.skip()
    state.stop_generating()
    state.end()
    assert (state.job, state.job_count) == ("", 0)
    assert state.interrupted and state.skipped and state.stopping_generation
    assert set(state.dict()) >= {"interrupted", "job_count", "sampling_step", "sampling_steps", "job_no"}


def test_interrupt_before_begin_is_lost(webui):
    from modules import shared

    shared.state.interrupt()
    images = txt2img(webui, n_iter=3, width=8, height=8, steps=2)[0]
    assert len(images) == 1 + 3  # grid + three images: begin() cleared the interrupt


def at_step(batch: int, step: int, action) -> None:
    """Run ``action()`` inside the fake sampler when it reaches ``step`` of batch ``batch``."""
    from modules import script_callbacks, shared

    def callback(params):
        if shared.state.job_no == batch and params.sampling_step == step:
            action()

    script_callbacks.on_cfg_denoiser(callback)


def saved(images):
    return [im for im in images if getattr(im, "already_saved_as", None)]


def test_interrupt_mid_batch_returns_fewer_images_and_keeps_the_cut_one_unsaved(webui):
    from modules import shared

    at_step(1, 1, shared.state.interrupt)
    res = webui.click_generate("txt2img", n_iter=5, width=8, height=8, steps=4)
    images, js, _, _ = webui_double.forge_outputs(res)
    samples = images[1:]  # grid first
    assert len(samples) == 2 and json.loads(js)["index_of_first_image"] == 1
    assert len(saved(samples)) == 1  # batch 1 was cut short: returned, not saved
    assert webui.generations[-1].interrupted
    assert shared.state.interrupted is False  # the gradio wrapper resets it afterwards


def test_skip_abandons_only_the_current_batch(webui):
    from modules import shared

    at_step(1, 1, shared.state.skip)
    images = webui_double.forge_outputs(
        webui.click_generate("txt2img", n_iter=3, width=8, height=8, steps=4)
    )[0]
    assert len(images) == 1 + 3
    assert len(saved(images[1:])) == 2


def test_stop_generating_finishes_the_current_batch(webui):
    from modules import shared

    at_step(1, 1, shared.state.stop_generating)
    images = webui_double.forge_outputs(
        webui.click_generate("txt2img", n_iter=5, width=8, height=8, steps=4)
    )[0]
    assert len(images) == 1 + 2
    assert len(saved(images)) == 3


def test_interrupt_from_another_thread(webui):
    from modules import shared

    webui.set_step_delay(0.005)
    thread, box = run_in_thread(webui.click_generate, "txt2img", n_iter=50, width=8, height=8, steps=4)
    assert wait_for(lambda: shared.state.job_no >= 1)
    shared.state.interrupt()
    thread.join(TIMEOUT)
    assert 1 < len(webui_double.forge_outputs(box["result"])[0]) < 1 + 50


# -- process_images results --------------------------------------------------------------------------


def test_images_are_deterministic_and_seeds_resolved(webui):
    first = txt2img(webui, prompt="cat", width=16, height=24, steps=1, seed=5)[0][0]
    again = txt2img(webui, prompt="cat", width=16, height=24, steps=1, seed=5)[0][0]
    other = txt2img(webui, prompt="dog", width=16, height=24, steps=1, seed=5)[0][0]
    assert isinstance(first, Image.Image) and first.size == (16, 24)
    assert first.mode == ("RGBA" if webui.is_forge else "RGB")
    assert first.tobytes() == again.tobytes() != other.tobytes()

    res = txt2img(webui, prompt="cat", width=8, height=8, steps=1, seed=-1)
    js = json.loads(res[1])
    assert isinstance(js["seed"], int) and js["seed"] != -1
    assert js["all_seeds"] == [js["seed"]]


def test_infotext_format_and_checkpoint_label(webui):
    from modules import infotext_utils, shared

    res = txt2img(webui, prompt="a cat", negative_prompt="ugly", width=64, height=32, steps=2, seed=12345)
    js = json.loads(res[1])
    info = js["infotexts"][0]
    assert info.startswith("a cat\nNegative prompt: ugly\nSteps: 2, Sampler: ")
    assert "Seed: 12345, Size: 64x32, Model hash: " in info and ", Model: random-sd15-a, Version: " in info
    params = infotext_utils.parse_generation_parameters(info)
    assert (params["Prompt"], params["Steps"], params["Size-1"], params["Size-2"]) == (
        "a cat",
        "2",
        "64",
        "32",
    )
    label = {"forge": "Model", "a1111": "Model hash", "neo": "Model"}[webui.flavour]
    assert shared.opts.data_labels["sd_model_checkpoint"].infotext == label
    assert infotext_utils.create_override_settings_dict([f"{label}: random-sd15-b", "Clip skip: 2"]) == {
        "sd_model_checkpoint": "random-sd15-b",
        "CLIP_stop_at_last_layers": 2,
    }


def test_processed_shape_per_flavour(webui):
    from modules import processing

    p = processing.StableDiffusionProcessingTxt2Img(prompt="x")
    processed = processing.Processed(p, [], seed=3, info="info")
    assert hasattr(processed, "extra_images") is (webui.is_forge)
    assert ("extra_images_list" in inspect.signature(processing.Processed).parameters) is (webui.is_forge)
    js = json.loads(processed.js())
    assert js["seed"] == 3 and js["version"] == processed.version and "sd_model_name" in js


def test_hires_fix_upscales_and_doubles_the_job_count(webui):
    from modules import script_callbacks, shared

    job_counts = []
    script_callbacks.on_before_image_saved(lambda params: job_counts.append(shared.state.job_count))
    res = txt2img(webui, width=16, height=8, steps=1, enable_hr=True, hr_scale=2, hr_second_pass_steps=3)
    image = res[0][0]
    info = json.loads(res[1])["infotexts"][0]
    assert image.size == (32, 16)
    assert "Size: 16x8" in info and "Hires upscale: 2" in info and "Hires steps: 3" in info
    assert "Denoising strength: 0.7" in info
    assert job_counts == [2]


def test_batch_makes_a_grid_first_and_saves_everything(webui):
    from modules import images, shared

    images_out, js, _, _ = txt2img(webui, prompt="grid", batch_size=2, width=8, height=8, steps=1, seed=10)
    info = json.loads(js)
    assert info["index_of_first_image"] == 1 and len(images_out) == 3
    assert images_out[0].size == (16, 8)
    grid_path = images_out[0].already_saved_as
    assert grid_path.startswith(shared.opts.outdir_txt2img_grids)
    for image, infotext in zip(images_out[1:], info["infotexts"][1:], strict=True):
        path = image.already_saved_as
        assert path.startswith(shared.opts.outdir_txt2img_samples)
        assert path.endswith(f"-{infotext.split('Seed: ')[1].split(',')[0]}.png")
        with Image.open(path) as saved_image:
            geninfo, _ = images.read_info_from_image(saved_image)
        assert geninfo == infotext
    assert [p.name for p in sorted(webui.root.joinpath("outputs", "txt2img-images").iterdir())] == [
        "00000-10.png",
        "00001-11.png",
    ]


def test_saving_follows_options_and_fires_callbacks(webui):
    from modules import script_callbacks, shared

    saved = []
    script_callbacks.on_image_saved(lambda params: saved.append(params.filename))
    shared.opts.grid_save = False
    txt2img(webui, width=8, height=8, steps=1)
    assert len(saved) == 1
    shared.opts.samples_save = False
    images = txt2img(webui, width=8, height=8, steps=1)[0]
    assert len(saved) == 1 and getattr(images[0], "already_saved_as", None) is None


def test_override_settings_are_applied_and_restored(webui):
    from modules import script_callbacks, shared

    seen = []
    script_callbacks.on_before_image_saved(lambda params: seen.append(shared.opts.CLIP_stop_at_last_layers))
    res = txt2img(webui, width=8, height=8, steps=1, override_settings_texts=["Clip skip: 2"])
    assert seen == [2]
    assert "Clip skip: 2" in json.loads(res[1])["infotexts"][0]
    assert shared.opts.CLIP_stop_at_last_layers == 1


# -- checkpoints and model loading ------------------------------------------------------------------


def test_checkpoint_titles_gain_a_short_hash_on_load(webui):
    from modules import sd_models, shared

    b = sd_models.checkpoint_aliases["random-sd15-b.safetensors"]
    assert b.title == "random-sd15-b.safetensors"
    assert shared.list_checkpoint_tiles()[1] == "random-sd15-b.safetensors"
    txt2img(webui, width=8, height=8, steps=1, override_settings_texts=[])
    if webui.is_forge:
        from modules_forge import main_entry

        preset = {"preset": None} if webui.is_neo else {}
        assert main_entry.checkpoint_change("random-sd15-b.safetensors", save=False, **preset)
    else:
        shared.opts.set("sd_model_checkpoint", "random-sd15-b.safetensors")
    txt2img(webui, width=8, height=8, steps=1)
    assert b.title == f"random-sd15-b.safetensors [{b.shorthash}]" and len(b.shorthash) == 10
    assert list(sd_models.checkpoints_list)[1] == b.title
    assert sd_models.checkpoint_aliases["random-sd15-b.safetensors"] is b  # old title still resolves
    tiles = sd_models.checkpoint_tiles()
    assert tiles[1] == ("random-sd15-b.safetensors" if webui.is_forge else b.title)


def test_closest_checkpoint_match(webui):
    from modules import sd_models

    a = sd_models.checkpoint_aliases["random-sd15-a.safetensors"]
    a.calculate_shorthash()
    assert sd_models.get_closet_checkpoint_match("random-sd15-a") is a  # name_for_extra alias
    assert sd_models.get_closet_checkpoint_match(a.hash) is a
    assert sd_models.get_closet_checkpoint_match(a.sha256) is a
    assert sd_models.get_closet_checkpoint_match("sd15-a") is a  # substring of a title
    assert sd_models.get_closet_checkpoint_match("random-sd15-a.safetensors [0123456789]") is a  # stale hash
    assert sd_models.get_closet_checkpoint_match("nope") is None
    assert sd_models.get_closet_checkpoint_match("") is None


def test_forge_loads_lazily_and_only_on_change(forge_webui):
    from modules import sd_models, shared
    from modules_forge import main_entry

    assert forge_webui.model_loads == []
    assert not hasattr(shared.sd_model, "sd_checkpoint_info")
    assert sd_models.reload_model_weights() is None  # a no-op in Forge
    assert forge_webui.model_loads == []
    for name in ("a", "a", "b", "b"):
        main_entry.checkpoint_change(f"random-sd15-{name}.safetensors", save=False)
        txt2img(forge_webui, width=8, height=8, steps=1)
    assert forge_webui.model_loads == ["random-sd15-a.safetensors", "random-sd15-b.safetensors"]
    assert shared.opts.sd_model_checkpoint == "random-sd15-b.safetensors"
    assert main_entry.checkpoint_change("random-sd15-b.safetensors") is False
    params = sd_models.model_data.forge_loading_parameters
    assert params["checkpoint_info"].name == "random-sd15-b.safetensors"


def test_forge_checkpoint_override_is_restored_and_thrashes(forge_webui):
    from modules import shared

    txt2img(
        forge_webui, width=8, height=8, steps=1, override_settings_texts=["Model: random-sd15-b.safetensors"]
    )
    assert shared.opts.sd_model_checkpoint == "random-sd15-a.safetensors"
    txt2img(forge_webui, width=8, height=8, steps=1)
    # b is loaded for the overridden run; the restored selection reloads a at the next plain run
    assert forge_webui.model_loads == ["random-sd15-b.safetensors", "random-sd15-a.safetensors"]


def test_a1111_loads_at_start_and_synchronously(a1111_webui):
    from modules import sd_models, shared

    assert a1111_webui.model_loads == ["random-sd15-a.safetensors"]
    a = shared.sd_model.sd_checkpoint_info
    assert shared.opts.sd_model_checkpoint == a.title
    b = sd_models.checkpoint_aliases["random-sd15-b.safetensors"]
    sd_models.reload_model_weights(info=b)
    assert a1111_webui.model_loads[-1] == "random-sd15-b.safetensors"
    assert shared.sd_model.sd_checkpoint_info is b
    assert shared.opts.sd_model_checkpoint == b.title  # loading records the title in opts
    assert sd_models.reload_model_weights() is shared.sd_model  # already loaded: no load
    assert len(a1111_webui.model_loads) == 2


def test_a1111_start_up_load_holds_the_lock_and_a_concurrent_load_fails(tmp_path):
    """As in real A1111 1.10.1: the start-up thread loads under model_data.lock; a second load
    started meanwhile (reload_model_weights) fails, and shared.sd_model waits for the first."""
    with webui_double.installed("a1111", tmp_path, hold_start_load=True) as env:
        from modules import sd_models, shared

        assert sd_models.model_data.sd_model is None and sd_models.model_data.lock.locked()
        b = sd_models.checkpoint_aliases["random-sd15-b.safetensors"]
        with pytest.raises(RuntimeError, match="Cannot copy out of meta tensor"):
            sd_models.reload_model_weights(info=b)
        thread, box = run_in_thread(lambda: shared.sd_model)
        for _ in range(TIMEOUT * 100):
            if env.model_lock_waiters:
                break
            time.sleep(0.01)
        assert env.model_lock_waiters == 1 and thread.is_alive()
        env.finish_start_load()
        thread.join(TIMEOUT)
        assert box["result"].sd_checkpoint_info.name == "random-sd15-a.safetensors"
        assert env.model_loads == ["random-sd15-a.safetensors"]


def test_a1111_checkpoint_override_loads_now_and_reloads_later(a1111_webui):
    from modules import shared

    before = shared.opts.sd_model_checkpoint
    txt2img(a1111_webui, width=8, height=8, steps=1, override_settings_texts=["Model hash: random-sd15-b"])
    assert shared.opts.sd_model_checkpoint == before
    assert shared.sd_model.sd_checkpoint_info.name == "random-sd15-b.safetensors"  # weights stay
    txt2img(a1111_webui, width=8, height=8, steps=1)
    assert a1111_webui.model_loads == [
        "random-sd15-a.safetensors",
        "random-sd15-b.safetensors",
        "random-sd15-a.safetensors",
    ]


def test_unknown_checkpoint_override_is_dropped(webui):
    from modules import shared

    before = list(webui.model_loads)
    res = txt2img(
        webui,
        width=8,
        height=8,
        steps=1,
        override_settings_texts=["Model: nonexistent" if webui.is_forge else "Model hash: nonexistent"],
    )
    assert json.loads(res[1])["sd_model_name"] == "random-sd15-a"
    assert "nonexistent" not in str(shared.opts.sd_model_checkpoint)
    assert webui.model_loads[len(before) :] in ([], ["random-sd15-a.safetensors"])


def test_a1111_checkpoint_option_change_takes_the_queue_lock(a1111_webui):
    from modules import call_queue, shared

    call_queue.queue_lock.acquire()
    thread, box = run_in_thread(shared.opts.set, "sd_model_checkpoint", "random-sd15-b.safetensors")
    time.sleep(0.05)
    assert thread.is_alive()  # onchange → wrap_queued_call waits for the lock
    call_queue.queue_lock.release()
    thread.join(TIMEOUT)
    assert box["result"] is True
    assert a1111_webui.model_loads[-1] == "random-sd15-b.safetensors"


# -- selectable scripts -------------------------------------------------------------------------------


def test_xyz_plot_runs_process_images_per_value(webui):

    res = txt2img(
        webui,
        prompt="xyz",
        width=8,
        height=8,
        steps=1,
        seed=1,
        selected_script="X/Y/Z plot",
        script_args_by_title={"X/Y/Z plot": [2, "1, 2, 3"]},
    )
    images, js = res[0], json.loads(res[1])
    assert len(images) == 1 and images[0].size == (24, 8)  # only the grid, as the real script
    assert len(webui.generations) == 3
    assert [g.seeds for g in webui.generations] == [[1], [1], [1]]
    assert js["index_of_first_image"] == 1
    assert len(list(webui.root.joinpath("outputs", "txt2img-images").iterdir())) == 3
    assert webui.script("txt2img", "X/Y/Z plot").received[0][0] == "run"


def test_xyz_checkpoint_axis_switches_models(webui):
    txt2img(
        webui,
        width=8,
        height=8,
        steps=1,
        selected_script="X/Y/Z plot",
        script_args_by_title={"X/Y/Z plot": [6, "random-sd15-a, random-sd15-b"]},
    )
    assert [g.checkpoint for g in webui.generations] == [
        "random-sd15-a.safetensors",
        "random-sd15-b.safetensors",
    ]


def test_prompts_from_file_runs_each_line(webui):
    res = txt2img(
        webui,
        width=8,
        height=8,
        steps=1,
        selected_script="Prompts from file or textbox",
        script_args_by_title={
            "Prompts from file or textbox": [False, False, "start", "a cat\n--prompt dog --steps 2"]
        },
    )
    js = json.loads(res[1])
    assert js["all_prompts"] == ["a cat", "dog"]
    assert [g.prompt for g in webui.generations] == ["a cat", "dog"]


def test_no_selected_script_means_process_images(webui):
    from modules import processing, scripts

    p = processing.StableDiffusionProcessingTxt2Img()
    assert scripts.scripts_txt2img.run(p, 0) is None
    assert scripts.scripts_txt2img.run(p, None) is None


# -- extension scripts ---------------------------------------------------------------------------------


def test_added_scripts_shift_the_layout_and_receive_their_values(webui):
    before = webui.generate_args("txt2img")
    webui.add_script(ADetailerLike)
    webui.add_script(OpaqueStateScript, tabs=("txt2img",))
    webui.add_script(ImageInputScript)
    after = webui.generate_args("txt2img")
    assert len(after) == len(before) + 4 + 2 + 3
    assert webui.runner("img2img").script("Opaque State") is None

    ad_args = [True, False, {"ad_model": "hand_yolov8n.pt"}, {"ad_model": "None"}]
    image = Image.new("RGB", (4, 4), "red")
    res = txt2img(
        webui,
        width=8,
        height=8,
        steps=1,
        script_args_by_title={"ADetailer": ad_args, "Image Input": [True, image, "ref"]},
    )
    assert webui.received("txt2img", "ADetailer", "process") == [tuple(ad_args)]
    assert webui.script("txt2img", "ADetailer").args_for("postprocess_image") == [tuple(ad_args)]
    assert isinstance(webui.received("txt2img", "Opaque State")[0][1], OpaqueThing)
    assert webui.script("txt2img", "Image Input").args_for("process")[0][1] is image
    info = json.loads(res[1])["infotexts"][0]
    assert "ADetailer model: hand_yolov8n.pt" in info and "Reference image hash: " in info

    webui.remove_script("Opaque State")
    assert len(webui.generate_args("txt2img")) == len(after) - 2
    with pytest.raises(KeyError):
        webui.remove_script("Opaque State")


def test_added_selectable_script_is_indexed_after_the_builtins(webui):
    webui.add_script(SelectableEcho)
    runner = webui.runner("txt2img")
    assert runner.titles[-1] == "Echo"
    args = webui.generate_args("txt2img", selected_script="echo", script_args_by_title={"Echo": ["hi"]})
    assert args[webui.ui["txt2img"].script_args_offset] == len(runner.titles)
    txt2img(webui, width=8, height=8, steps=1, selected_script="Echo", script_args_by_title={"Echo": ["hi"]})
    assert webui.script("txt2img", "Echo").received == [("run", ("hi",))]
    assert len(webui.generations) == 1  # run() returned None → process_images


def test_forge_controlnet_units_reach_the_script(forge_webui):
    from lib_controlnet.external_code import ControlNetUnit

    unit = ControlNetUnit(enabled=True, module="canny", model="control_canny", weight=0.5)
    res = txt2img(
        forge_webui,
        width=8,
        height=8,
        steps=1,
        script_args_by_title={"ControlNet": [unit, {"enabled": False}, ControlNetUnit()]},
    )
    received = forge_webui.received("txt2img", "ControlNet", "process")[0]
    assert received[0] is unit and received[1] == {"enabled": False}
    assert "ControlNet 0: " in json.loads(res[1])["infotexts"][0]


# -- img2img --------------------------------------------------------------------------------------------


def test_img2img_uses_the_flavours_canvas_format(webui):
    from modules import shared

    init = Image.new("RGB", (16, 16), "blue")
    mask_fg = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    mask_fg.paste((255, 255, 255, 255), (0, 0, 8, 8))
    if webui.is_forge:
        named = {"mode": 2, "init_img_with_mask": init, "init_img_with_mask_fg": mask_fg}
    else:
        named = {"mode": 2, "init_img_with_mask": {"image": init, "mask": mask_fg}}
    args = webui.generate_args("img2img", prompt="inpaint", width=16, height=16, steps=1, **named)
    shared.state.begin()
    try:
        images, js, _, _ = webui_double.forge_outputs(webui.call("img2img", args))
    finally:
        shared.state.end()
    info = json.loads(js)
    assert images[0].size == (16, 16)
    assert "Mask blur: 4" in info["infotexts"][0] and "Denoising strength: 0.75" in info["infotexts"][0]
    assert images[0].already_saved_as.startswith(shared.opts.outdir_img2img_samples)


# -- queue_lock, call_queue and progress --------------------------------------------------------------------


def test_queue_lock_is_fifo_and_not_reentrant(webui):
    from modules import call_queue, fifo_lock

    lock = call_queue.queue_lock
    assert isinstance(lock, fifo_lock.FIFOLock)
    order = []
    with lock:
        assert lock.acquire(blocking=False) is False  # the holder cannot take it again
        threads = []
        for i in range(4):
            thread, _ = run_in_thread(lambda i=i: (lock.acquire(), order.append(i), lock.release()))
            threads.append(thread)
            assert wait_for(lambda n=i + 1: len(lock._pending_threads) == n)
    for thread in threads:
        thread.join(TIMEOUT)
    assert order == [0, 1, 2, 3]


def test_click_generate_does_the_gradio_bookkeeping(webui):
    from modules import progress, shared

    res = webui.click_generate("txt2img", width=8, height=8, steps=1, id_task="task(click)")
    assert len(res) == (5 if webui.is_neo else 4) and "Time taken" in res[-1]
    assert progress.current_task is None and "task(click)" in progress.finished_tasks
    assert progress.recorded_results[-1][0] == "task(click)"
    assert (shared.state.job, shared.state.job_count, shared.state.interrupted) == ("", 0, False)


def test_click_generate_turns_errors_into_html(webui):
    res = webui.click_generate("txt2img", selected_script=999)
    assert res[0] is None and "IndexError" in res[-1]


def test_progress_reports_queued_active_completed(webui):
    pytest.importorskip("pydantic")
    from modules import call_queue, progress

    def ask(task_id):
        return progress.progressapi(progress.ProgressRequest(id_task=task_id))

    progress.add_task_to_queue("task(other)")
    progress.add_task_to_queue("task(mine)")
    r = ask("task(mine)")
    assert (r.queued, r.active, r.completed, r.textinfo) == (True, False, False, "In queue: 2/2")

    call_queue.queue_lock.acquire()  # hold the GPU so the click waits in the queue
    gate = threading.Event()
    at_step(0, 1, lambda: gate.wait(TIMEOUT))  # then hold the run at batch 0, step 1
    thread, box = run_in_thread(
        webui.click_generate, "txt2img", width=8, height=8, steps=4, n_iter=2, id_task="task(mine)"
    )
    assert wait_for(lambda: len(call_queue.queue_lock._pending_threads) == 1)
    assert ask("task(mine)").queued
    call_queue.queue_lock.release()
    assert wait_for(lambda: ask("task(mine)").active)
    assert wait_for(lambda: ask("task(mine)").progress == pytest.approx(1 / 2 * 1 / 4))
    gate.set()
    thread.join(TIMEOUT)
    r = ask("task(mine)")
    assert (r.queued, r.active, r.completed) == (False, False, True)
    assert "result" in box


def test_progress_routes_on_a_fastapi_app(webui):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from modules import progress

    app = FastAPI()
    progress.setup_progress_api(app)
    progress.add_task_to_queue("task(x)")
    client = TestClient(app)
    assert client.get("/internal/pending-tasks").json() == {"size": 1, "tasks": ["task(x)"]}
    body = client.post("/internal/progress", json={"id_task": "task(x)"}).json()
    assert body["queued"] is True and body["active"] is False and body["textinfo"] == "In queue: 1/1"
    assert progress.create_task_id("txt2img").startswith("task(txt2img-")


# -- callbacks ---------------------------------------------------------------------------------------------


def test_callbacks_report_errors_and_keep_going(webui, capsys):
    from modules import script_callbacks

    calls = []

    def broken(*args):
        raise RuntimeError("broken callback")

    script_callbacks.on_app_started(broken)
    script_callbacks.on_app_started(lambda demo, app: calls.append("second"))
    script_callbacks.app_started_callback(None, "app")
    assert calls == ["second"]
    assert "broken callback" in capsys.readouterr().err

    script_callbacks.on_script_unloaded(lambda: calls.append("u1"))
    script_callbacks.on_script_unloaded(lambda: calls.append("u2"))
    script_callbacks.script_unloaded_callback()
    assert calls[-2:] == ["u2", "u1"]
    script_callbacks.on_before_ui(lambda: calls.append("b1"))
    script_callbacks.on_before_ui(lambda: calls.append("b2"))
    script_callbacks.before_ui_callback()
    assert calls[-2:] == ["b2", "b1"]

    script_callbacks.on_ui_tabs(lambda: None)
    script_callbacks.on_ui_tabs(lambda: [("blocks", "Task Queue", "task_queue")])
    assert script_callbacks.ui_tabs_callback() == [("blocks", "Task Queue", "task_queue")]
    names = [c.name for c in script_callbacks.callback_map["callbacks_app_started"]]
    assert names == ["base/test_webui_double.py/app_started", "base/test_webui_double.py/app_started-1"]


def test_ui_build_fires_after_component_for_generate(webui):
    from modules import script_callbacks

    seen = []

    def after(component, **kwargs):
        assert "tooltip" not in kwargs
        if kwargs.get("elem_id") in ("txt2img_generate", "img2img_generate"):
            seen.append((kwargs["elem_id"], kwargs["value"], component.elem_id))

    script_callbacks.on_after_component(after)
    app = webui.simulate_startup(app="the app")
    assert app == "the app"
    assert seen == [
        ("txt2img_generate", "Generate", "txt2img_generate"),
        ("img2img_generate", "Generate", "img2img_generate"),
    ]


def test_simulated_reload_disposes_and_restarts(webui):
    from modules import script_callbacks

    events = []

    def register():
        script_callbacks.on_app_started(lambda demo, app: events.append("started"))
        script_callbacks.on_before_reload(lambda: events.append("before_reload"))
        script_callbacks.on_script_unloaded(lambda: events.append("unloaded"))

    register()
    webui.simulate_startup(app="first")
    webui.simulate_reload(reload_scripts=register, app="second")
    assert events == ["started", "before_reload", "unloaded", "started"]
    assert len(script_callbacks.callback_map["callbacks_app_started"]) == 1


# -- options, infotext helpers, API models ------------------------------------------------------------------


def test_options_behave_like_the_webui(webui, tmp_path):
    from modules import shared

    opts = shared.opts
    opts.add_option(
        "task_queue_enabled", shared.OptionInfo(True, "Enable queue").info("hint").needs_reload_ui()
    )
    assert opts.task_queue_enabled is True
    changes = []
    opts.onchange("task_queue_enabled", lambda: changes.append(opts.task_queue_enabled), call=False)
    assert opts.set("task_queue_enabled", False) is True and changes == [False]
    assert opts.set("task_queue_enabled", False) is False
    with pytest.raises(AttributeError):
        _ = opts.no_such_option
    opts.save(tmp_path / "config.json")
    assert json.loads((tmp_path / "config.json").read_text())["task_queue_enabled"] is False
    assert opts.cast_value("CLIP_stop_at_last_layers", "2") == 2


def test_paste_helpers(webui):
    from modules import infotext_utils

    assert sys.modules["modules.generation_parameters_copypaste"] is infotext_utils
    assert infotext_utils.quote("a, b") == '"a, b"' and infotext_utils.unquote('"a, b"') == "a, b"
    res = txt2img(webui, prompt="paste me", width=24, height=16, steps=3, seed=42)
    pasted = infotext_utils._shim_paste("txt2img", json.loads(res[1])["infotexts"][0])
    by_id = {component.elem_id: value for component, value in pasted.items()}
    assert by_id["txt2img_prompt"] == "paste me"
    assert (by_id["txt2img_width"], by_id["txt2img_height"]) == (24, 16)
    assert by_id["txt2img_steps"] == 3 and by_id["txt2img_seed"] == 42


def test_api_models_follow_the_processing_fields(webui):
    pytest.importorskip("pydantic")
    from modules.api import models

    req = models.StableDiffusionTxt2ImgProcessingAPI(prompt="x", steps="12", alwayson_scripts={"a": {}})
    assert req.steps == 12 and req.save_images is False and req.send_images is True
    fields = set(
        getattr(models.StableDiffusionTxt2ImgProcessingAPI, "model_fields", None)
        or models.StableDiffusionTxt2ImgProcessingAPI.__fields__
    )
    assert {"prompt", "sampler_name", "override_settings", "script_args", "force_task_id"} <= fields
    assert "sd_model" not in fields and "outpath_samples" not in fields
    assert ("distilled_cfg_scale" in fields) is (webui.is_forge)
    img = models.StableDiffusionImg2ImgProcessingAPI(init_images=["abc"], denoising_strength=0.5)
    assert img.init_images == ["abc"] and img.include_init_images is False


# -- the /sdapi/v1 Api object -----------------------------------------------------------------------------


@pytest.fixture
def api(webui):
    pytest.importorskip("fastapi")
    from fastapi import FastAPI
    from modules import call_queue
    from modules.api.api import Api

    return Api(FastAPI(), call_queue.queue_lock)


def test_api_txt2img_runs_under_the_lock_with_bookkeeping(webui, api):
    import base64
    import io

    from modules import progress
    from modules.api import models

    req = models.StableDiffusionTxt2ImgProcessingAPI(
        prompt="api cat", steps=2, width=8, height=8, seed=7, force_task_id="task(api)"
    )
    res = api.text2imgapi(req)
    info = json.loads(res.info)
    assert info["all_seeds"] == [7] and info["steps"] == 2 and info["sampler_name"] == "Euler"
    image = Image.open(io.BytesIO(base64.b64decode(res.images[0])))
    assert image.size == (8, 8) and image.info["parameters"] == info["infotexts"][0]
    assert "task(api)" in progress.finished_tasks
    assert not webui.root.joinpath("outputs", "txt2img-images").exists()  # save_images=False
    assert webui.generations[-1].thread_name == threading.current_thread().name  # not the main thread


def test_api_script_args_and_alwayson_scripts(webui, api):
    from fastapi import HTTPException
    from modules.api import models

    webui.add_script(ADetailerLike)
    api.default_script_arg_txt2img = api.init_default_script_args(webui.runner("txt2img"))
    req = models.StableDiffusionTxt2ImgProcessingAPI(
        steps=1,
        width=8,
        height=8,
        script_name="x/y/z plot",
        script_args=[2, "1, 2", 0, "", True, False, False],  # the API needs the whole slice
        alwayson_scripts={"ADetailer": {"args": [True, False, {"ad_model": "x"}]}},
    )
    api.text2imgapi(req)
    assert len(webui.generations) == 2
    assert webui.received("txt2img", "ADetailer", "process")[0][:3] == (True, False, {"ad_model": "x"})
    with pytest.raises(HTTPException) as excinfo:
        api.text2imgapi(models.StableDiffusionTxt2ImgProcessingAPI(script_name="nope"))
    assert excinfo.value.status_code == 422


def test_api_deadlocks_if_called_holding_the_queue_lock(webui, api):
    from modules import call_queue
    from modules.api import models

    req = models.StableDiffusionTxt2ImgProcessingAPI(steps=1, width=8, height=8)
    call_queue.queue_lock.acquire()
    try:
        thread, box = run_in_thread(api.text2imgapi, req)
        thread.join(0.2)
        assert thread.is_alive()  # waiting for the lock, as the WebUI's would
    finally:
        call_queue.queue_lock.release()
    thread.join(TIMEOUT)
    assert "result" in box


def test_api_routes_and_main_thread_submission(webui, api):
    from fastapi.testclient import TestClient

    client = TestClient(api.app)
    res = client.post("/sdapi/v1/txt2img", json={"prompt": "http", "steps": 1, "width": 8, "height": 8})
    assert res.status_code == 200 and len(res.json()["images"]) == 1
    models_list = client.get("/sdapi/v1/sd-models").json()
    assert [m["model_name"] for m in models_list] == ["random-sd15-a", "random-sd15-b"]
    assert "x/y/z plot" in client.get("/sdapi/v1/scripts").json()["txt2img"]
    if webui.is_forge:
        from modules.api import models
        from modules_forge import main_thread

        req = models.StableDiffusionTxt2ImgProcessingAPI(steps=1, width=8, height=8)
        assert main_thread.run_and_wait_result(api.text2imgapi, req) is not None
        assert webui.generations[-1].thread_name == "shim-main-thread"


def test_api_img2img_decodes_init_images(webui, api):
    import base64
    import io

    from modules.api import models

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buf, format="PNG")
    encoded = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    res = api.img2imgapi(
        models.StableDiffusionImg2ImgProcessingAPI(init_images=[encoded], steps=1, width=8, height=8)
    )
    assert len(res.images) == 1 and res.parameters["init_images"] is None
    assert "Denoising strength: 0.75" in json.loads(res.info)["infotexts"][0]

"""The Queue button's capture, in the WebUI test double (both flavours).

Round trip: Generate's positional values -> capture (named, encoded, files) -> the stored task ->
decode + ``ArgumentLayout.build`` -> the same positional values (images pixel-equal, same types),
for txt2img and every img2img mode, with extension scripts of every kind installed.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import webui_double
from PIL import Image
from webui_double.extensions import ADetailerLike, ImageInputScript, OpaqueStateScript, SelectableEcho
from webui_double.script_base import AlwaysVisible, Script

from task_scheduler.task_queue import TaskQueue
from task_scheduler.values import StoredUpload, ValueCodec

# -- an A1111-style ControlNet: a dataclass unit with numpy images and enums ----------------------


class UnitMode(enum.Enum):
    BALANCED = "Balanced"
    PROMPT = "My prompt is more important"


@dataclasses.dataclass
class FakeUnit:
    enabled: bool = False
    module: str = "none"
    weight: float = 1.0
    image: dict | None = None  # {"image": ndarray, "mask": ndarray} as sd-webui-controlnet sends
    control_mode: UnitMode = UnitMode.BALANCED

    @classmethod
    def from_dict(cls, d: dict) -> FakeUnit:
        return cls(**{k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}})


class UnitScript(Script):
    """Always-on; one State per unit (sd-webui-controlnet's layout)."""

    def title(self):
        return "ControlNet-like"

    def show(self, is_img2img):
        return AlwaysVisible

    def ui(self, is_img2img):
        from webui_double.components import State

        return [State(FakeUnit()), State(FakeUnit())]


# -- helpers ---------------------------------------------------------------------------------------


def image(mode: str = "RGB", size=(64, 48), seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = len(mode) if mode not in ("L", "1", "P") else 1
    data = rng.integers(0, 256, size=(size[1], size[0], channels), dtype=np.uint8)
    if channels == 1:
        data = data[:, :, 0]
    return Image.fromarray(data, mode if mode != "1" else "L")


def ndarray(seed: int = 2, shape=(32, 32, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def assert_same(original: Any, rebuilt: Any, where: str = "value") -> None:
    """Equal values of the same types; images pixel-equal; uploads by their bytes and name."""
    if isinstance(original, Image.Image):
        assert isinstance(rebuilt, Image.Image), f"{where}: {type(rebuilt)} is not an image"
        assert (rebuilt.mode, rebuilt.size) == (original.mode, original.size), where
        assert rebuilt.tobytes() == original.tobytes(), f"{where}: pixels differ"
    elif isinstance(original, np.ndarray):
        assert type(rebuilt) is np.ndarray, where
        assert rebuilt.dtype == original.dtype and rebuilt.shape == original.shape, where
        assert np.array_equal(rebuilt, original), f"{where}: array differs"
    elif dataclasses.is_dataclass(original) and not isinstance(original, type):
        assert type(rebuilt) is type(original), f"{where}: {type(rebuilt)} != {type(original)}"
        for f in dataclasses.fields(original):
            assert_same(getattr(original, f.name), getattr(rebuilt, f.name), f"{where}.{f.name}")
    elif isinstance(original, Upload):
        assert isinstance(rebuilt, StoredUpload), where
        assert Path(rebuilt.name).read_bytes() == Path(original.name).read_bytes(), where
        assert rebuilt.orig_name == original.orig_name, where
    elif isinstance(original, (list, tuple)):
        assert type(rebuilt) is type(original), f"{where}: {type(rebuilt)} != {type(original)}"
        assert len(rebuilt) == len(original), f"{where}: length"
        for i, (a, b) in enumerate(zip(original, rebuilt, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(original, dict):
        assert type(rebuilt) is dict and rebuilt.keys() == original.keys(), where
        for key in original:
            assert_same(original[key], rebuilt[key], f"{where}.{key}")
    else:
        assert type(rebuilt) is type(original), f"{where}: {type(rebuilt)} != {type(original)}"
        assert rebuilt == original, f"{where}: {rebuilt!r} != {original!r}"


class Upload:
    """A gradio 3 upload: a temp file wrapper exposing ``.name`` (path) and ``.orig_name``."""

    def __init__(self, path: Path, orig_name: str) -> None:
        self.name = str(path)
        self.orig_name = orig_name

    def read(self) -> bytes:
        return Path(self.name).read_bytes()


def capturer(env, tab: str, queue: TaskQueue, files, **kw):
    from task_scheduler.webui import capture
    from task_scheduler.webui.capture_tasks import Capturer

    layout = capture.build_layout(tab, env.ui[tab].inputs)
    return Capturer(tab, layout, queue, files, capture.WebUIState(), **kw)


def queue_and_rebuild(env, tab: str, queue: TaskQueue, files, args: list, **options) -> tuple[Any, list]:
    """Queue ``args`` (Generate's list), then decode the stored task and lay it out again."""
    from task_scheduler.webui.capture_tasks import QueueOptions

    cap = capturer(env, tab, queue, files)
    outcome = cap.enqueue(args[1:], user="ann", options=QueueOptions(**options))
    assert outcome.ok, outcome.message
    task = queue.get(outcome.task_ids[0])
    stored = json.loads(json.dumps({"params": task.params, "script_args": task.script_args}))
    codec = ValueCodec(files)
    built = cap.layout.build(
        codec.decode(stored["params"]), codec.decode(stored["script_args"]), task.script_name
    )
    assert built.warnings == []
    return task, built.values


def with_extensions(env) -> None:
    env.add_script(ADetailerLike)
    env.add_script(ImageInputScript)
    env.add_script(SelectableEcho)
    env.add_script(UnitScript)


def unit_values(env) -> dict:
    """Script args for the ControlNet-like units: numpy image pairs and enums."""
    return {
        "ControlNet-like": [
            FakeUnit(
                True, "canny", 0.6, {"image": ndarray(3), "mask": ndarray(4, (32, 32))}, UnitMode.PROMPT
            ),
            FakeUnit(),
        ]
    }


def extension_values(env) -> dict:
    adetailer = dict(env.script("txt2img", "ADetailer").controls[2].value)
    adetailer.update(ad_prompt="a detailed face", ad_confidence=0.55)
    by_title = {
        "ADetailer": [True, False, adetailer, {"ad_model": "None"}],
        "Image Input": [True, image("RGBA", (40, 30), 7), "ref"],
        **unit_values(env),
    }
    if env.is_forge:
        from lib_controlnet.external_code import ControlMode, ControlNetUnit, ResizeMode

        by_title["ControlNet"] = [
            ControlNetUnit(
                enabled=True,
                module="canny",
                model="control_canny",
                image=ndarray(5, (24, 24, 3)),
                mask_image=ndarray(6, (24, 24, 4)),
                resize_mode=ResizeMode.OUTER_FIT,
                control_mode=ControlMode.CONTROL,
                weight=0.75,
            )
        ]
    return by_title


@pytest.fixture
def q(queue: TaskQueue) -> TaskQueue:
    """The queue over a real SQLite store in tmp_path (conftest)."""
    return queue


# -- txt2img -----------------------------------------------------------------------------------------


def test_txt2img_round_trip_with_every_kind_of_extension(webui, q, files):
    with_extensions(webui)
    args = webui.generate_args(
        "txt2img",
        prompt="a cat",
        negative_prompt="blurry",
        prompt_styles=["style a"],
        seed=1234,
        steps=2,
        width=64,
        height=64,
        cfg_scale=6.5,
        override_settings_texts=["Clip skip: 2"],
        script_args_by_title=extension_values(webui),
    )
    task, rebuilt = queue_and_rebuild(webui, "txt2img", q, files, args)
    assert_same(args[1:], rebuilt, "txt2img")
    assert task.params["seed"] == 1234 and task.params["steps"] == 2
    assert task.params["width"] == 64 and task.params["prompt"] == "a cat"
    assert task.params["override_settings_texts"] == ["Clip skip: 2"]
    assert task.kind == "txt2img" and task.source == "ui" and task.user == "ann"
    assert task.checkpoint == "random-sd15-a.safetensors"
    assert set(task.script_args) >= {"ADetailer", "Image Input", "ControlNet-like"}
    assert task.script_name is None
    assert len(q.files_of(task.id)) >= 3  # the reference image and the unit's two arrays


def test_hires_fix_is_captured_whatever_the_accordion_shows(webui, q, files):
    args = webui.generate_args(
        "txt2img", enable_hr=True, hr_scale=1.5, hr_upscaler="Latent (nearest)", hr_second_pass_steps=3
    )
    task, rebuilt = queue_and_rebuild(webui, "txt2img", q, files, args)
    assert_same(args[1:], rebuilt)
    assert task.params["enable_hr"] is True and task.params["hr_scale"] == 1.5


def test_seed_minus_one_stays_minus_one(webui, q, files):
    task, _ = queue_and_rebuild(webui, "txt2img", q, files, webui.generate_args("txt2img", seed=-1))
    assert task.params["seed"] == -1


def test_selected_script_is_stored_by_title_with_its_args(webui, q, files):
    webui.add_script(SelectableEcho)
    args = webui.generate_args("txt2img", selected_script="Echo", script_args_by_title={"Echo": ["hello"]})
    task, rebuilt = queue_and_rebuild(webui, "txt2img", q, files, args)
    assert task.script_name == "Echo" and task.script_args["Echo"] == ["hello"]
    assert_same(args[1:], rebuilt)


def test_xyz_plot_is_captured_as_the_selected_script(webui, q, files):
    args = webui.generate_args(
        "txt2img",
        selected_script="X/Y/Z plot",
        script_args_by_title={"X/Y/Z plot": [webui.script("txt2img", "X/Y/Z plot").controls[0].value]},
    )
    task, rebuilt = queue_and_rebuild(webui, "txt2img", q, files, args)
    assert task.script_name == "X/Y/Z plot"
    assert_same(args[1:], rebuilt)


def test_rebuilt_arguments_run_through_the_webui(webui, q, files):
    with_extensions(webui)
    args = webui.generate_args(
        "txt2img", prompt="a cat", seed=7, steps=2, script_args_by_title=extension_values(webui)
    )
    task, rebuilt = queue_and_rebuild(webui, "txt2img", q, files, args)
    direct = webui_double.forge_outputs(webui.call("txt2img", args))
    queued = webui_double.forge_outputs(webui.call("txt2img", [args[0], *rebuilt]))
    assert queued[0][0].tobytes() == direct[0][0].tobytes()
    assert json.loads(queued[1])["infotexts"] == json.loads(direct[1])["infotexts"]


# -- img2img, every mode, both canvas shapes ------------------------------------------------------------


def img2img_modes(env, tmp_path: Path) -> dict[str, dict]:
    """Named values per mode, shaped as the flavour's UI sends them."""
    uploads_dir = tmp_path / "uploads"
    uploads_dir.mkdir(exist_ok=True)
    paths = []
    for i in range(2):
        path = uploads_dir / f"up{i}.png"
        image("RGB", (20, 20), 30 + i).save(path)
        paths.append(path)
    if env.is_forge:
        uploads = [_named_string(p) for p in paths]
        modes = {
            "img2img": {"init_img": image("RGBA", seed=10)},
            "sketch": {"sketch": image("RGBA", seed=11), "sketch_fg": image("RGBA", seed=12)},
            "inpaint": {
                "init_img_with_mask": image("RGBA", seed=13),
                "init_img_with_mask_fg": image("RGBA", seed=14),
            },
            "inpaint sketch": {
                "inpaint_color_sketch": image("RGBA", seed=15),
                "inpaint_color_sketch_fg": image("RGBA", seed=16),
            },
        }
    else:
        uploads = [Upload(p, f"original-{i}.png") for i, p in enumerate(paths)]
        modes = {
            "img2img": {"init_img": image("RGB", seed=10)},
            "sketch": {"sketch": image("RGB", seed=11)},
            "inpaint": {
                "init_img_with_mask": {"image": image("RGBA", seed=13), "mask": image("RGBA", seed=14)}
            },
            "inpaint sketch": {
                "inpaint_color_sketch": image("RGB", seed=15),
                "inpaint_color_sketch_orig": image("RGB", seed=16),
            },
        }
    modes["inpaint upload"] = {
        "init_img_inpaint": image("RGB", seed=17),
        "init_mask_inpaint": image("L", seed=18),
    }
    modes["batch from folder"] = {
        "img2img_batch_source_type": "from dir",
        "img2img_batch_input_dir": str(tmp_path / "in"),
        "img2img_batch_output_dir": str(tmp_path / "out"),
        "img2img_batch_inpaint_mask_dir": "",
    }
    modes["batch upload"] = {"img2img_batch_source_type": "upload", "img2img_batch_upload": uploads}
    mode_numbers = {
        "img2img": 0,
        "sketch": 1,
        "inpaint": 2,
        "inpaint sketch": 3,
        "inpaint upload": 4,
        "batch from folder": 5,
        "batch upload": 5,
    }
    return {name: {"mode": mode_numbers[name], **values} for name, values in modes.items()}


def _named_string(path: Path):
    """gradio 4's upload: a str subclass (the path) with ``.name``."""

    class NamedString(str):
        def __init__(self, *args):
            super().__init__()
            self.name = str(self)

    value = NamedString(str(path))
    value.orig_name = path.name
    return value


MODES = (
    "img2img",
    "sketch",
    "inpaint",
    "inpaint sketch",
    "inpaint upload",
    "batch from folder",
    "batch upload",
)


@pytest.mark.parametrize("mode", MODES)
def test_img2img_round_trip_in_every_mode(webui, q, files, tmp_path, mode):
    with_extensions(webui)
    named = img2img_modes(webui, tmp_path)[mode]
    args = webui.generate_args(
        "img2img",
        prompt="a dog",
        seed=99,
        steps=2,
        denoising_strength=0.45,
        mask_blur=6,
        inpainting_fill=1,
        script_args_by_title=extension_values(webui),
        **named,
    )
    task, rebuilt = queue_and_rebuild(webui, "img2img", q, files, args)
    if mode == "batch upload" and webui.is_forge:  # a gradio 4 upload comes back as a stored file
        index = webui.named_parameters("img2img").index("img2img_batch_upload")
        for original, stored in zip(args[1 + index], rebuilt[index], strict=True):
            assert Path(stored.name).read_bytes() == Path(original.name).read_bytes()
            assert stored.orig_name == original.orig_name
        rebuilt[index] = args[1 + index]
    assert_same(args[1:], rebuilt, f"img2img {mode}")
    assert task.kind == "img2img" and task.params["mode"] == named["mode"]


def test_img2img_rebuilt_inpaint_runs_like_the_original(webui, q, files, tmp_path):
    named = img2img_modes(webui, tmp_path)["inpaint"]
    args = webui.generate_args("img2img", prompt="a dog", seed=5, steps=2, **named)
    _, rebuilt = queue_and_rebuild(webui, "img2img", q, files, args)
    direct = webui_double.forge_outputs(webui.call("img2img", args))
    queued = webui_double.forge_outputs(webui.call("img2img", [args[0], *rebuilt]))
    assert queued[0][0].tobytes() == direct[0][0].tobytes()


def test_ui_defaults_are_what_an_untouched_page_sends(webui, q, files):
    """The "Override settings" multiselect is left at None: A1111's page sends [] and A1111 iterates
    it, so a task that leaves it out (a follow-up, an API task) must get [] there, not None."""
    for tab in ("txt2img", "img2img"):
        layout = capturer(webui, tab, q, files).layout
        sent = webui.generate_args(tab)[1 : 1 + len(layout.named)]
        assert layout.named_defaults == dict(zip(layout.named, sent, strict=True)), tab
    layout = capturer(webui, "img2img", q, files).layout
    sparse = {"prompt": "further", "mode": 0, "init_img": image("RGB", seed=21), "denoising_strength": 0.4}
    built = layout.build(sparse, {}, None)
    images, *_ = webui_double.forge_outputs(webui.call("img2img", ["task(sparse)", *built.values]))
    assert len(images) == 1


def test_uploads_are_copied_into_the_file_store(webui, q, files, tmp_path):
    named = img2img_modes(webui, tmp_path)["batch upload"]
    args = webui.generate_args("img2img", **named)
    task, _ = queue_and_rebuild(webui, "img2img", q, files, args)
    stored = task.params["img2img_batch_upload"]
    assert [s["$file"].endswith(".png") for s in stored] == [True, True]
    for upload in named["img2img_batch_upload"]:
        Path(upload.name).unlink()  # gradio's temp files vanish; the task keeps its copies
    decoded = ValueCodec(files).decode(stored)
    assert all(Path(d.name).is_file() for d in decoded)


# -- refusals -------------------------------------------------------------------------------------------


def test_a_value_that_cannot_be_stored_refuses_the_click_and_names_script_and_type(webui, q, files):
    webui.add_script(ImageInputScript)
    webui.add_script(OpaqueStateScript)
    args = webui.generate_args(
        "txt2img", script_args_by_title={"Image Input": [True, image("RGB", seed=3), "x"]}
    )
    from task_scheduler.webui.capture_tasks import QueueOptions

    outcome = capturer(webui, "txt2img", q, files).enqueue(args[1:], user=None, options=QueueOptions())
    assert not outcome.ok
    assert "script 'Opaque State'" in outcome.message
    assert "OpaqueThing" in outcome.message and "object" in outcome.message
    assert "str(" not in outcome.message
    assert q.pending() == []
    assert not [p for p in Path(files.root).rglob("*") if p.is_file()]  # the image was never written


def test_an_unknown_object_in_a_named_parameter_is_refused_too(webui, q, files):
    from task_scheduler.webui.capture_tasks import QueueOptions

    args = webui.generate_args("txt2img", prompt=object())
    outcome = capturer(webui, "txt2img", q, files).enqueue(args[1:], user=None, options=QueueOptions())
    assert not outcome.ok and "parameter 'prompt'" in outcome.message and "object" in outcome.message
    assert q.pending() == []


# -- what the click stores besides the values -------------------------------------------------------------


def test_checkpoint_and_models_current_at_click_time_are_stored(webui, q, files):
    from modules import shared

    shared.opts.data["sd_model_checkpoint"] = "random-sd15-b.safetensors"
    if webui.is_forge:
        shared.opts.data["forge_additional_modules"] = ["/models/VAE/vae.safetensors"]
    else:
        shared.opts.data["sd_vae"] = "vae.safetensors"
    if webui.is_neo:  # Neo: the UI preset and the storage dtype beside the checkpoint
        shared.opts.data["forge_preset"] = "xl"
        shared.opts.data["forge_unet_storage_dtype"] = "float8-e4m3fn"
    task, _ = queue_and_rebuild(webui, "txt2img", q, files, webui.generate_args("txt2img"))
    assert task.checkpoint == "random-sd15-b.safetensors"
    expected = {
        "forge": {"forge_additional_modules": ["/models/VAE/vae.safetensors"]},
        "a1111": {"sd_vae": "vae.safetensors"},
        "neo": {
            "forge_additional_modules": ["/models/VAE/vae.safetensors"],
            "forge_preset": "xl",
            "forge_unet_storage_dtype": "float8-e4m3fn",
        },
    }[webui.flavour]
    assert task.params["override_settings"] == expected


def test_picked_checkpoint_wins_over_the_current_one(webui, q, files):
    task, _ = queue_and_rebuild(
        webui, "txt2img", q, files, webui.generate_args("txt2img"), checkpoint="random-sd15-b.safetensors"
    )
    assert task.checkpoint == "random-sd15-b.safetensors"


def test_all_checkpoints_makes_one_task_per_checkpoint(webui, q, files):
    from task_scheduler.webui.capture_tasks import QueueOptions

    outcome = capturer(webui, "txt2img", q, files).enqueue(
        webui.generate_args("txt2img", prompt="sweep")[1:], user=None, options=QueueOptions(checkpoints="all")
    )
    assert outcome.ok, outcome.message
    assert sorted(t.checkpoint for t in q.pending()) == [
        "random-sd15-a.safetensors",
        "random-sd15-b.safetensors",
    ]
    assert outcome.message == "Queued 2 tasks 'sweep' — 1st to 2nd in line"


def test_checkpoints_of_one_folder(tmp_path, queue, files):
    names = ("top.safetensors", "sdxl/x1.safetensors", "sdxl/x2.safetensors", "sd15/y.safetensors")
    with webui_double.installed(webui_double.A1111, tmp_path / "webui", checkpoints=names) as env:
        from task_scheduler.webui.capture_tasks import QueueOptions

        cap = capturer(env, "txt2img", queue, files)
        assert cap.folders() == ["", "sd15", "sdxl"]
        outcome = cap.enqueue(
            env.generate_args("txt2img")[1:], user=None, options=QueueOptions(checkpoints="folder:sdxl")
        )
        assert outcome.ok, outcome.message
        assert [t.checkpoint for t in queue.pending()] == ["sdxl/x1.safetensors", "sdxl/x2.safetensors"]
        missing = cap.enqueue(
            env.generate_args("txt2img")[1:], user=None, options=QueueOptions(checkpoints="folder:nope")
        )
        assert not missing.ok and "'nope'" in missing.message


def test_n_times_with_new_random_seeds(webui, q, files):
    from task_scheduler.webui.capture_tasks import QueueOptions

    seeds = iter([11, 22, 33])
    cap = capturer(webui, "txt2img", q, files, seed_source=lambda: next(seeds))
    outcome = cap.enqueue(
        webui.generate_args("txt2img", seed=1234)[1:], user=None, options=QueueOptions.parse('{"repeat": 3}')
    )
    assert outcome.ok
    assert [t.params["seed"] for t in q.pending()] == [11, 22, 33]
    assert [t.batching for t in q.pending()] == ["repeat"] * 3  # auto-batching may run them together
    single = cap.enqueue(webui.generate_args("txt2img")[1:], user=None, options=QueueOptions())
    assert single.ok and q.pending()[-1].batching is None


def test_queue_to_start_at_a_time_waits_until_then(webui, q, files, clock):
    from datetime import datetime

    from task_scheduler.webui.capture_tasks import QueueOptions

    clock.now = datetime(2026, 6, 3, 12, 0).timestamp()
    at = datetime(2026, 6, 4, 1, 0).timestamp()
    cap = capturer(webui, "txt2img", q, files)
    outcome = cap.enqueue(
        webui.generate_args("txt2img", prompt="night")[1:],
        user=None,
        options=QueueOptions.parse(json.dumps({"not_before": at})),
    )
    assert outcome.message == "Queued 'night' — 1st in line, starts Thu 01:00"
    assert q.pending()[0].not_before == at
    assert q.claim_next() is None
    clock.now = at
    assert q.claim_next().prompt == "night"


def test_queue_at_the_top_and_the_place_in_line(webui, q, files):
    from task_scheduler.webui.capture_tasks import QueueOptions

    cap = capturer(webui, "txt2img", q, files)
    args = webui.generate_args("txt2img", prompt="first")[1:]
    assert cap.enqueue(args, user=None, options=QueueOptions()).message == "Queued 'first' — 1st in line"
    cap.enqueue(args, user=None, options=QueueOptions())
    third = cap.enqueue(webui.generate_args("txt2img", prompt="third")[1:], user=None, options=QueueOptions())
    assert third.message == "Queued 'third' — 3rd in line"
    top = cap.enqueue(
        webui.generate_args("txt2img", prompt="urgent")[1:],
        user=None,
        options=QueueOptions.parse('{"at": "top"}'),
    )
    assert top.message == "Queued 'urgent' — 1st in line"
    assert q.pending()[0].prompt == "urgent"


def test_queue_as_sweep_makes_one_job_over_the_captured_values(webui, q, files):
    from task_scheduler.jobs import Jobs
    from task_scheduler.webui.capture_tasks import QueueOptions

    with_extensions(webui)
    args = webui.generate_args(
        "txt2img", prompt="a cat", steps=7, script_args_by_title=extension_values(webui)
    )
    sweep = {
        "name": "lora test",
        "axes": [{"type": "prompt", "values": "a cat\na dog"}, {"type": "seed", "values": "1-3"}],
    }
    outcome = capturer(webui, "txt2img", q, files).enqueue(
        args[1:], user="ann", options=QueueOptions.parse(json.dumps({"sweep": sweep}))
    )
    assert outcome.ok, outcome.message
    assert outcome.message == "Queued job 'lora test' — 6 tasks"
    job = Jobs(q).get(outcome.job_id)
    assert job.name == "lora test" and job.user == "ann"
    tasks = q.pending()
    assert [(t.params["prompt"], t.params["seed"]) for t in tasks] == [
        (p, s) for p in ("a cat", "a dog") for s in (1, 2, 3)
    ]
    assert {t.job_id for t in tasks} == {outcome.job_id}
    assert {t.params["steps"] for t in tasks} == {7}
    # every task keeps the extensions' values (and their image files) of the click
    assert all(t.script_args == tasks[0].script_args for t in tasks)
    assert set(tasks[0].script_args) >= {"ADetailer", "Image Input", "ControlNet-like"}
    assert q.files_of(tasks[-1].id) == q.files_of(tasks[0].id) != []


def test_save_as_keeps_the_captured_values_as_a_saved_task_and_queues_nothing(webui, q, files):
    from task_scheduler.saved_tasks import SavedTasks
    from task_scheduler.webui.capture_tasks import QueueOptions

    with_extensions(webui)
    args = webui.generate_args(
        "txt2img", prompt="a cat", steps=7, seed=99, script_args_by_title=extension_values(webui)
    )
    options = QueueOptions.parse(json.dumps({"save_as": "  cat, 7 steps "}))
    outcome = capturer(webui, "txt2img", q, files).enqueue(args[1:], user="ann", options=options)
    assert outcome.ok and outcome.message == "Saved 'cat, 7 steps'" and outcome.task_ids == []
    assert q.pending() == []
    saved_tasks = SavedTasks(q)
    [saved], total = saved_tasks.list()
    assert total == 1 and (saved.kind, saved.source, saved.user) == ("txt2img", "ui", "ann")
    assert (saved.params["prompt"], saved.params["steps"], saved.params["seed"]) == ("a cat", 7, 99)
    assert set(saved.script_args) >= {"ADetailer", "Image Input", "ControlNet-like"}
    assert saved.files and all(files.exists(ref) for ref in saved.files)
    # queued again later, it is what the click would have queued
    [task] = saved_tasks.queue_copies(saved.id)
    queued = capturer(webui, "txt2img", q, files).enqueue(args[1:], user="ann", options=QueueOptions())
    same = q.get(queued.task_ids[0])
    assert (task.params, task.script_args, task.checkpoint) == (
        same.params,
        same.script_args,
        same.checkpoint,
    )

    unnamed = QueueOptions.parse(json.dumps({"save_as": "   "}))
    refused = capturer(webui, "txt2img", q, files).enqueue(args[1:], user=None, options=unnamed)
    assert not refused.ok and refused.message.startswith("Not saved: ") and saved_tasks.count() == 1


def test_a_bad_sweep_axis_refuses_the_click_and_writes_nothing(webui, q, files):
    from task_scheduler.webui.capture_tasks import QueueOptions

    with_extensions(webui)
    args = webui.generate_args("txt2img", script_args_by_title=extension_values(webui))
    before = sorted(p.name for p in files.root.rglob("*") if p.is_file())
    options = QueueOptions.parse(json.dumps({"sweep": {"axes": [{"type": "steps", "values": "0"}]}}))
    outcome = capturer(webui, "txt2img", q, files).enqueue(args[1:], user=None, options=options)
    assert not outcome.ok
    assert (
        outcome.message.startswith("Not queued: ") and "steps must be between 1 and 10000" in outcome.message
    )
    assert q.pending() == []
    assert sorted(p.name for p in files.root.rglob("*") if p.is_file()) == before


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        ({}, {}),
        ("task(abc)", {}),
        ("{not json", {}),
        ('{"at": "top"}', {"at": "top"}),
        ('{"at": "middle"}', {}),
        ('{"checkpoints": "all"}', {"checkpoints": "all"}),
        ('{"checkpoints": "folder:a/b"}', {"checkpoints": "folder:a/b"}),
        ('{"checkpoints": "rm -rf"}', {}),
        ('{"repeat": 1000}', {"repeat": 100, "new_seeds": True}),
        ('{"repeat": true}', {}),
        ('{"save_as": " mine "}', {"save_as": "mine"}),
        ('{"save_as": 5}', {}),
        ('{"not_before": 1800000000}', {"not_before": 1800000000.0}),
        ('{"not_before": "01:00"}', {}),
        ('{"not_before": 1e999}', {}),
    ],
)
def test_options_from_the_page_are_parsed_defensively(raw, expected):
    from task_scheduler.webui.capture_tasks import QueueOptions

    defaults = dataclasses.asdict(QueueOptions())
    parsed = dataclasses.asdict(QueueOptions.parse(raw))
    assert {k: v for k, v in parsed.items() if defaults[k] != v} == expected


def test_ordinals():
    from task_scheduler.webui.capture_tasks import ordinal

    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th"
    ]  # fmt: skip


def test_a_prompt_with_markup_is_text_in_the_message(webui, q, files):
    from task_scheduler.webui.capture_tasks import QueueOptions

    cap = capturer(webui, "txt2img", q, files)
    outcome = cap.enqueue(
        webui.generate_args("txt2img", prompt="<img src=x onerror=alert(1)>")[1:],
        user=None,
        options=QueueOptions(),
    )
    assert "<img src=x onerror=al" in outcome.message  # shown with textContent by the page


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"prompt": "x" * 200_000}, "prompt"),
        ({"steps": 10**9}, "steps"),
        ({"seed": 10**30}, "seed"),
    ],
)
def test_the_queue_button_passes_the_same_entry_gate(webui, q, files, values, named):
    """The click is refused with the field named, like an API body, and leaves no file behind."""
    from task_scheduler.webui.capture_tasks import QueueOptions

    webui.add_script(ImageInputScript)
    args = webui.generate_args(
        "txt2img", script_args_by_title={"Image Input": [True, image("RGB", seed=5), "x"]}, **values
    )
    outcome = capturer(webui, "txt2img", q, files).enqueue(args[1:], user=None, options=QueueOptions())
    assert not outcome.ok and named in outcome.message, outcome.message
    assert q.pending() == []
    assert not [p for p in Path(files.root).rglob("*") if p.is_file()]

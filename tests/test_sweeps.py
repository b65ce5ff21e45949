"""Sweeps: axes parsed, counted and expanded from one base task."""

from __future__ import annotations

import random

import pytest
from helpers import make_task

from task_scheduler.errors import InvalidTaskData
from task_scheduler.jobs import Jobs
from task_scheduler.sweeps import (
    Choices,
    count_tasks,
    expand,
    parse_axes,
    parse_numbers,
    queue_sweep,
    set_lora_weight,
    sweep_origin,
)
from task_scheduler.task import NewTask

CHECKPOINTS = [
    "sd15/random-sd15-a.safetensors [0123456789]",
    "sd15/random-sd15-b.safetensors [abcdef0123]",
    "sdxl/base.safetensors [fedcba9876]",
]

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def base(prompt: str = "a cat, <lora:style:1>", **params) -> NewTask:
    task = make_task(prompt, params={"negative_prompt": "blurry cat", "seed": -1, **params})
    task.checkpoint = "sd15/random-sd15-a.safetensors"
    task.files = ["a" * 64 + ".png"]
    return task


def build(raw, *, mode="cartesian", task=None, **kw):
    axes = parse_axes(raw, choices=kw.pop("choices", None), rng=random.Random(7), **kw)
    return axes, expand(task or base(), axes, mode=mode, name="sweep")


# -- counts and combination -------------------------------------------------------------------


def test_cartesian_count_and_order_first_axis_slowest():
    axes, tasks = build(
        [
            {"type": "prompt", "values": "a dog\na bird\n\n"},
            {"type": "seed", "values": "1-3"},
        ]
    )
    assert count_tasks(axes) == len(tasks) == 6
    got = [(t.new.params["prompt"], t.new.params["seed"]) for t in tasks]
    assert got == [("a dog", 1), ("a dog", 2), ("a dog", 3), ("a bird", 1), ("a bird", 2), ("a bird", 3)]
    assert tasks[0].labels == ["prompt: a dog", "seed: 1"]
    assert tasks[0].new.name == "sweep [prompt: a dog · seed: 1]"


def test_no_axes_is_the_base_alone():
    axes, tasks = build([])
    assert (
        count_tasks(axes) == 1
        and len(tasks) == 1
        and tasks[0].new.params["prompt"] == "a cat, <lora:style:1>"
    )


def test_zip_pairs_values_and_needs_equal_lengths():
    axes, tasks = build(
        [{"type": "prompt", "values": ["x", "y"]}, {"type": "seed", "values": [10, 20]}], mode="zip"
    )
    assert [(t.new.params["prompt"], t.new.params["seed"]) for t in tasks] == [("x", 10), ("y", 20)]
    axes = parse_axes([{"type": "prompt", "values": ["x", "y"]}, {"type": "seed", "values": [1, 2, 3]}])
    with pytest.raises(InvalidTaskData) as info:
        count_tasks(axes, "zip")
    assert "same number of values" in info.value.message and "prompt has 2, seed has 3" in info.value.message


def test_groups_zip_some_axes_and_cross_the_rest():
    axes, tasks = build(
        [
            {"type": "prompt", "values": ["x", "y"], "group": "pair"},
            {"type": "cfg_scale", "values": "5, 7, 9"},
            {"type": "seed", "values": [1, 2], "group": "pair"},
        ]
    )
    assert count_tasks(axes) == 6
    assert {(t.new.params["prompt"], t.new.params["seed"]) for t in tasks} == {("x", 1), ("y", 2)}


def test_the_checkpoint_axis_varies_slowest_so_each_model_loads_once():
    axes, tasks = build(
        [
            {"type": "prompt", "values": ["p1", "p2"]},
            {"type": "seed", "values": [1, 2, 3]},
            {"type": "checkpoint", "values": ["random-sd15-a", "random-sd15-b"]},
        ]
    )
    assert len(tasks) == 12
    checkpoints = [t.new.checkpoint for t in tasks]
    assert checkpoints == ["random-sd15-a"] * 6 + ["random-sd15-b"] * 6
    assert all(t.new.files == ["a" * 64 + ".png"] for t in tasks)


def test_the_base_is_not_changed_and_tasks_do_not_share_params():
    task = base()
    axes = parse_axes([{"type": "seed", "values": [1, 2]}])
    tasks = expand(task, axes)
    tasks[0].new.params["prompt"] = "changed"
    assert task.params["prompt"] == "a cat, <lora:style:1>" and tasks[1].new.params["prompt"] != "changed"
    assert task.params["seed"] == -1


# -- the cap ----------------------------------------------------------------------------------------


def test_the_cap_names_the_count():
    axes = parse_axes([{"type": "seed", "values": "1-40"}, {"type": "steps", "values": "1-30"}])
    assert count_tasks(axes) == 1200
    with pytest.raises(InvalidTaskData) as info:
        expand(base(), axes)
    assert "1,200 tasks" in info.value.message and "1,000" in info.value.message


def test_a_huge_range_is_refused_before_it_is_built():
    with pytest.raises(InvalidTaskData) as info:
        parse_axes([{"type": "seed", "values": "1-100000000"}])
    assert "100,000,000 tasks" in info.value.message
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "seed", "random": 5000}])
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "seed", "values": "1-20"}], cap=10)


# -- each axis ------------------------------------------------------------------------------------


def test_seeds_as_list_range_and_random():
    assert parse_axes([{"type": "seed", "values": [5, "7", "10-12"]}])[0].values == [5, 7, 10, 11, 12]
    assert parse_axes([{"type": "seed", "values": "-1, 3"}])[0].values == [-1, 3]
    one = parse_axes([{"type": "seed", "random": 4}], rng=random.Random(1))[0].values
    two = parse_axes([{"type": "seed", "random": 4}], rng=random.Random(1))[0].values
    assert one == two and len(set(one)) == 4 and all(0 <= s < 2**32 for s in one)
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "seed", "values": "1.5"}])
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "seed", "random": 0}])


def test_number_forms_like_xyz_plot():
    assert parse_numbers("4-8 (+2)", "v") == [4, 6, 8]
    assert parse_numbers("10-4 (-3)", "v") == [10, 7, 4]
    assert parse_numbers("0.3-0.6 [4]", "v") == [0.3, 0.4, 0.5, 0.6]
    assert parse_numbers("0.3, 0.45, 0.6", "v") == [0.3, 0.45, 0.6]
    assert parse_numbers([1, 2.5], "v") == [1, 2.5]
    for bad in ("5-1 (+1)", "abc", "1-5 (0)", [True]):
        with pytest.raises(InvalidTaskData):
            parse_numbers(bad, "v")


def test_cfg_steps_sampler_scheduler_denoise():
    axes, tasks = build(
        [
            {"type": "cfg", "values": "5, 7.5"},
            {"type": "steps", "values": [10]},
            {"type": "sampler", "values": "euler a"},
            {"type": "scheduler", "values": ["karras"]},
            {"type": "denoising_strength", "values": "0.2"},
        ],
        choices=Choices(samplers=["Euler a", "DPM++ 2M"], schedulers=["Automatic", "Karras"]),
    )
    params = tasks[1].new.params
    assert (params["cfg_scale"], params["steps"], params["sampler_name"], params["scheduler"]) == (
        7.5,
        10,
        "Euler a",
        "Karras",
    )
    assert params["denoising_strength"] == 0.2
    with pytest.raises(InvalidTaskData) as info:
        parse_axes([{"type": "sampler_name", "values": ["Nope"]}], choices=Choices(samplers=["Euler"]))
    assert info.value.field == "axes.0.values"
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "denoising_strength", "values": [1.5]}])
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "steps", "values": [0]}])


def test_sizes_and_hires_fix():
    axes, tasks = build(
        [{"type": "size", "values": "512x768, 768 x 512"}, {"type": "hires_fix", "values": "on, off"}]
    )
    assert [(t.new.params["width"], t.new.params["height"], t.new.params["enable_hr"]) for t in tasks] == [
        (512, 768, True),
        (512, 768, False),
        (768, 512, True),
        (768, 512, False),
    ]
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "size", "values": "512"}])
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "enable_hr", "values": "maybe"}])
    img2img = make_task(kind="img2img")
    with pytest.raises(InvalidTaskData):
        expand(img2img, parse_axes([{"type": "enable_hr", "values": [True]}]))


def test_checkpoints_by_list_or_folder():
    choices = Choices(checkpoints=CHECKPOINTS)
    axes = parse_axes([{"type": "checkpoint", "folder": "sd15"}], choices=choices)
    assert axes[0].values == CHECKPOINTS[:2]
    axes = parse_axes(
        [{"type": "checkpoint", "values": ["random-sd15-b", "sdxl/base.safetensors"]}], choices=choices
    )
    assert axes[0].values == [CHECKPOINTS[1], CHECKPOINTS[2]]
    with pytest.raises(InvalidTaskData) as info:
        parse_axes([{"type": "checkpoint", "folder": "flux/"}], choices=choices)
    assert info.value.field == "axes.0.folder"
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "checkpoint", "values": ["missing"]}], choices=choices)
    with pytest.raises(InvalidTaskData):  # a folder needs the list of names
        parse_axes([{"type": "checkpoint", "folder": "sd15"}])
    assert parse_axes([{"type": "checkpoint", "values": "anything"}])[0].values == ["anything"]


def test_prompt_search_replace_like_xyz():
    axes, tasks = build([{"type": "prompt_sr", "values": "cat, dog, fox"}])
    assert [t.new.params["prompt"] for t in tasks] == [
        "a cat, <lora:style:1>",
        "a dog, <lora:style:1>",
        "a fox, <lora:style:1>",
    ]
    assert tasks[1].new.params["negative_prompt"] == "blurry dog"
    with pytest.raises(InvalidTaskData) as info:
        build([{"type": "prompt_sr", "values": "horse, dog"}])
    assert "'horse' is not in the prompt" in info.value.message
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "prompt_sr", "values": ["cat"]}])


def test_prompt_list_with_a_template_and_search_replace_after_it():
    axes, tasks = build(
        [
            {"type": "prompt", "values": ["a red cat", "a blue cat"]},
            {"type": "prompt_sr", "values": ["cat", "owl"]},
        ],
        task=base("{prompt}, masterpiece"),
    )
    assert [t.new.params["prompt"] for t in tasks] == [
        "a red cat, masterpiece",
        "a red owl, masterpiece",
        "a blue cat, masterpiece",
        "a blue owl, masterpiece",
    ]


def test_lora_weight_rewrite():
    assert set_lora_weight("a <lora:style:1> b", "style", 0.4) == "a <lora:style:0.4> b"
    assert set_lora_weight("<lora:style:0.8:0.5>", "style", 1) == "<lora:style:1:0.5>"
    assert set_lora_weight("<lora:style:te=0.8:unet=0.3>", "style", 0.6) == "<lora:style:te=0.6:unet=0.3>"
    assert set_lora_weight("<lora:style>", "style", 0.7) == "<lora:style:0.7>"
    assert set_lora_weight("<lora:other:1> x", "style", 0.5) == "<lora:other:1> x <lora:style:0.5>"
    assert (
        set_lora_weight("<LYCO:style:1>, <lora:style:1>", "style", 0.5)
        == "<LYCO:style:0.5>, <lora:style:0.5>"
    )
    assert set_lora_weight("", "style", 1.0) == "<lora:style:1.0>"
    axes, tasks = build([{"type": "lora", "name": "style", "values": "0.2-1 [3]"}])
    assert [t.new.params["prompt"] for t in tasks] == [
        "a cat, <lora:style:0.2>",
        "a cat, <lora:style:0.6>",
        "a cat, <lora:style:1.0>",
    ]
    assert tasks[0].labels == ["style: 0.2"]
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "lora", "values": [1]}])
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "lora", "name": "<lora:x:1>", "values": [1]}])


def test_lora_axis_also_rewrites_a_hires_prompt_that_has_it():
    axes, tasks = build(
        [{"type": "lora", "name": "style", "values": [0.5]}], task=base(hr_prompt="hi <lora:style:1>")
    )
    assert tasks[0].new.params["hr_prompt"] == "hi <lora:style:0.5>"


def test_any_named_param_with_types_kept():
    axes, tasks = build(
        [
            {"type": "param", "name": "width", "values": "64, 128"},
            {"type": "param", "name": "override_settings.CLIP_stop_at_last_layers", "values": [1, 2]},
            {"type": "param", "name": "hr_upscaler", "values": "Latent, ESRGAN_4x"},
        ]
    )
    assert tasks[0].new.params["width"] == 64 and isinstance(tasks[0].new.params["width"], int)
    assert len(tasks) == 8
    assert tasks[3].new.params["override_settings"] == {"CLIP_stop_at_last_layers": 2}
    assert tasks[3].new.params["hr_upscaler"] == "ESRGAN_4x" and tasks[3].new.params["width"] == 64
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "param", "name": "foo.bar", "values": [1]}])
    with pytest.raises(InvalidTaskData):
        parse_axes([{"type": "param", "values": [1]}])
    image = make_task(kind="img2img", params={"init_img": {"$image": "x", "mode": "RGB", "size": [1, 1]}})
    with pytest.raises(InvalidTaskData):
        expand(image, parse_axes([{"type": "param", "name": "init_img", "values": [1]}]))


def test_bad_axis_objects_name_the_field():
    cases = [
        ("not a list", "axes"),
        ([1], "axes.0"),
        ([{"type": "colour", "values": [1]}], "axes.0.type"),
        ([{"type": "seed", "values": [1], "extra": 1}], "axes.0.extra"),
        ([{"type": "seed", "values": []}], "axes.0.values"),
        ([{"type": "seed", "values": [1]}, {"type": "seed", "values": [2]}], "axes.1.type"),
        ([{"type": "prompt", "values": 5}], "axes.0.values"),
    ]
    for raw, field in cases:
        with pytest.raises(InvalidTaskData) as info:
            parse_axes(raw)
        assert info.value.field == field, raw
    with pytest.raises(InvalidTaskData) as info:
        count_tasks(parse_axes([{"type": "seed", "values": [1]}]), "spiral")
    assert info.value.field == "mode"


def test_a_long_task_name_is_cut():
    axes, tasks = build([{"type": "prompt", "values": ["x" * 300]}])
    assert len(tasks[0].new.name) <= 200


def test_a_sweep_becomes_one_job(queue):
    jobs = Jobs(queue)
    axes = parse_axes([{"type": "seed", "values": "1-3"}, {"type": "cfg_scale", "values": [5, 7]}])
    built = expand(base(), axes, name="cfg test")
    job, tasks = jobs.create([t.new for t in built], name="cfg test", origin=sweep_origin(axes, "cartesian"))
    assert len(tasks) == 6 and job.counts["pending"] == 6
    assert job.origin["axes"][0] == {"type": "seed", "values": [1, 2, 3]}
    assert queue.files_of(tasks[0].id) == ["a" * 64 + ".png"]


def test_queue_sweep_for_a_captured_base(queue):
    jobs = Jobs(queue)
    job, tasks = queue_sweep(jobs, base(), [{"type": "seed", "values": [1, 2]}], name="captured", at="top")
    assert job.name == "captured" and job.origin["base"] == "txt2img" and len(tasks) == 2
    assert tasks[0].pinned
    with pytest.raises(InvalidTaskData):
        queue_sweep(jobs, base(), [{"type": "seed", "values": "1-20"}], cap=5)
    assert jobs.list().total == 1

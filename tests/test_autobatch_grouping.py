"""Auto-batching, the pure rules: which tasks may join one batch, and which actually do."""

from __future__ import annotations

import itertools

import pytest

from task_scheduler.batching import BatchPolicy, batch_key, combined, resolved_seeds, select_group
from task_scheduler.task import Task, TaskResult

_ids = itertools.count(1)


def task(prompt: str = "a cat", *, job: str | None = "job1", pinned: bool = False, **changes) -> Task:
    params = {
        "prompt": prompt,
        "negative_prompt": "blurry",
        "seed": 1,
        "subseed": -1,
        "steps": 4,
        "width": 128,
        "height": 128,
        "sampler_name": "Euler a",
        "scheduler": "Automatic",
        "cfg_scale": 7.0,
        "batch_size": 1,
        "n_iter": 1,
        "enable_hr": False,
        "hr_scale": 2.0,
        "prompt_styles": [],
        "override_settings": {"sd_vae": "Automatic"},
    }
    params.update(changes.pop("params", {}))
    fields = {"kind": "txt2img", "checkpoint": "model.safetensors", "job_id": job, "pinned": pinned}
    fields.update(changes)
    number = next(_ids)
    return Task(id=f"t{number}", params=params, position=float(number), **fields)


# Every difference that must keep two tasks apart, as (field, change).
APART = [
    ("kind", {"kind": "img2img"}),
    ("checkpoint", {"checkpoint": "other.safetensors"}),
    ("VAE", {"params": {"override_settings": {"sd_vae": "other.vae.pt"}}}),
    (
        "text encoders",
        {"params": {"override_settings": {"forge_additional_modules": ["clip_l.safetensors"]}}},
    ),
    ("width", {"params": {"width": 256}}),
    ("height", {"params": {"height": 256}}),
    ("sampler", {"params": {"sampler_name": "DPM++ 2M"}}),
    ("scheduler", {"params": {"scheduler": "Karras"}}),
    ("steps", {"params": {"steps": 5}}),
    ("CFG", {"params": {"cfg_scale": 5.0}}),
    ("hires on", {"params": {"enable_hr": True}}),
    ("hires scale", {"params": {"hr_scale": 1.5}}),
    ("denoising", {"params": {"denoising_strength": 0.5}}),
    ("styles", {"params": {"prompt_styles": ["cinematic"]}}),
    ("variation strength", {"params": {"subseed_strength": 0.3}}),
    ("processing extra", {"params": {"processing": {"tiling": True}}}),
    ("extension value", {"script_args": {"ADetailer": [True, "face_yolov8n.pt"]}}),
    ("user", {"user": "bob"}),
    ("worker pin", {"worker_pin": "gpu1"}),
]


@pytest.mark.parametrize("what, change", APART, ids=[name for name, _ in APART])
def test_every_field_that_differs_keeps_tasks_apart(what, change):
    assert batch_key(task()) is not None
    assert batch_key(task(**change)) != batch_key(task()), what


@pytest.mark.parametrize(
    "change",
    [
        {"params": {"prompt": "a dog"}},
        {"params": {"negative_prompt": "ugly"}},
        {"params": {"seed": 99}},
        {"params": {"subseed": 7}},
        {"name": "another name"},
        {"job_id": None},
    ],
)
def test_prompt_negative_prompt_seed_and_subseed_may_differ(change):
    assert batch_key(task(**change)) == batch_key(task())


@pytest.mark.parametrize(
    "change",
    [
        {"params": {"batch_size": 2}},
        {"params": {"n_iter": 3}},
        {"script_name": "X/Y/Z plot"},
        {"batching": "exact"},
        {"kind": "extras"},
        {"params": {"seed": "123"}},
        {"result": TaskResult(images=["made.png"], seeds=[1])},
    ],
    ids=["batch size", "batch count", "selected script", "exact", "extras", "seed as text", "resumed"],
)
def test_tasks_that_never_join_a_batch(change):
    assert batch_key(task(**change)) is None


def test_img2img_joins_only_with_the_same_init_image():
    image = {"init_img": {"$file": "ref-a.png"}}
    same = [task(kind="img2img", params={**image, "prompt": p}) for p in ("a", "b")]
    other = task(kind="img2img", params={"init_img": {"$file": "ref-b.png"}})
    assert batch_key(same[0]) == batch_key(same[1]) != batch_key(other)


def limit4(t: Task) -> int:
    return BatchPolicy(for_jobs=4, for_clicks=0).limit(t)


def ids(tasks):
    return [t.id for t in tasks]


def test_adjacent_compatible_tasks_join_up_to_the_limit():
    queue = [task(f"p{i}") for i in range(6)]
    assert ids(select_group(queue[0], queue[1:], limit4)) == ids(queue[:4])


def test_an_incompatible_task_between_ends_the_run_of_loose_tasks():
    head, same, other, after = (
        task(job=None),
        task(job=None),
        task(job=None, params={"steps": 9}),
        task(job=None),
    )
    policy = BatchPolicy(for_jobs=4, for_clicks=4)
    assert ids(select_group(head, [same, other, after], policy.limit)) == [head.id, same.id]


def test_tasks_of_one_job_join_across_an_unplaced_task_in_between():
    a1, other, a2 = task("a1", job="J"), task("x", job=None, params={"steps": 9}), task("a2", job="J")
    assert ids(select_group(a1, [other, a2], limit4)) == [a1.id, a2.id]


def test_a_task_placed_explicitly_is_never_jumped():
    a1, placed, a2 = (
        task("a1", job="J"),
        task("mine", job=None, pinned=True, params={"steps": 9}),
        task("a2", job="J"),
    )
    assert ids(select_group(a1, [placed, a2], limit4)) == [a1.id]


def test_single_clicks_are_not_batched_by_default_seed_repeats_and_jobs_are():
    clicks = [task(job=None) for _ in range(3)]
    repeats = [task(job=None, batching="repeat") for _ in range(3)]
    assert ids(select_group(clicks[0], clicks[1:], limit4)) == [clicks[0].id]
    assert ids(select_group(repeats[0], repeats[1:], limit4)) == ids(repeats)


def test_an_exact_task_runs_alone_and_ends_a_run():
    a, exact, b = task("a"), task("e", batching="exact"), task("b")
    assert ids(select_group(a, [exact, b], limit4)) == [a.id, b.id]  # same job: b may still join
    assert ids(select_group(exact, [a, b], limit4)) == [exact.id]
    loose = BatchPolicy(for_jobs=4, for_clicks=4).limit
    a, exact, b = task("a", job=None), task("e", job=None, batching="exact"), task("b", job=None)
    assert ids(select_group(a, [exact, b], loose)) == [a.id]


def test_checkpoint_aware_order_lets_a_task_of_another_model_wait_behind():
    a1, b1, a2 = task("a1", job=None), task("b1", job=None, checkpoint="b.safetensors"), task("a2", job=None)
    loose = BatchPolicy(for_jobs=4, for_clicks=4).limit
    assert ids(select_group(a1, [b1, a2], loose)) == [a1.id, a2.id]
    assert ids(select_group(a1, [b1, a2], loose, checkpoint_aware=False)) == [a1.id]


@pytest.mark.parametrize("setting, size", [(0, 1), (1, 1), (2, 2), (4, 4), (8, 8)])
def test_the_setting_caps_the_batch(setting, size):
    queue = [task(f"p{i}") for i in range(10)]
    policy = BatchPolicy(for_jobs=setting)
    assert len(select_group(queue[0], queue[1:], policy.limit)) == size


def test_out_of_memory_halves_the_batch_for_that_model_and_size_only():
    policy = BatchPolicy(for_jobs=8)
    queue = [task(f"p{i}") for i in range(8)]
    assert policy.out_of_memory(queue) == 4
    assert policy.limit(queue[0]) == 4
    assert policy.limit(task(params={"width": 64})) == 8
    assert policy.limit(task(checkpoint="other.safetensors")) == 8
    policy.out_of_memory(queue[:4])
    assert policy.limit(queue[0]) == 2


def test_a_seed_the_seed_field_sent_as_a_whole_float_joins_as_its_int():
    assert batch_key(task(params={"seed": 7.0})) == batch_key(task(params={"seed": 7}))
    assert batch_key(task(params={"seed": 7.5})) is None
    assert resolved_seeds([task(params={"seed": 7.0})])[0].params["seed"] == 7


def test_combined_lists_each_tasks_prompt_and_seed_in_order_and_asks_for_no_grid():
    tasks = [task("a", params={"seed": 5}), task("b", params={"seed": -1, "negative_prompt": "n2"})]
    one = combined(resolved_seeds(tasks))
    params = one.params
    assert params["prompt"] == ["a", "b"] and params["negative_prompt"] == ["blurry", "n2"]
    assert params["seed"][0] == 5 and isinstance(params["seed"][1], int) and params["seed"][1] >= 0
    assert params["batch_size"] == 2 and params["n_iter"] == 1
    assert params["processing"]["do_not_save_grid"] is True
    assert one.id == tasks[0].id and tasks[1].params["seed"] == -1  # the stored tasks are untouched

"""Follow-ups: a job's kept images taken to img2img or an upscaler as a new job."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from helpers import make_task
from PIL import Image

from task_scheduler.errors import InvalidTaskData
from task_scheduler.followups import build_followups, parse_followup, parse_infotext, queue_followups
from task_scheduler.jobs import Jobs
from task_scheduler.runner import RunResult
from task_scheduler.task import Task, TaskResult, TaskStatus

INFOTEXT = (
    "a cat, <lora:style:0.6>, masterpiece\n"
    "second line\n"
    "Negative prompt: blurry, ugly\n"
    "Steps: 24, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 1234, "
    'Size: 64x48, Model hash: abc123, Model: random-sd15-b, Clip skip: 2, Lora hashes: "style: 0f0f", '
    "Version: f2.0"
)

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def test_parse_infotext_like_the_webui():
    info = parse_infotext(INFOTEXT)
    assert info.prompt == "a cat, <lora:style:0.6>, masterpiece\nsecond line"
    assert info.negative_prompt == "blurry, ugly"
    assert info.params["Steps"] == "24" and info.get_int("Seed") == 1234
    assert info.params["Sampler"] == "DPM++ 2M" and info.params["Schedule type"] == "Karras"
    assert info.get_float("CFG scale") == 6.5 and info.params["Model"] == "random-sd15-b"
    assert info.params["Lora hashes"] == "style: 0f0f"


def test_parse_infotext_edge_cases():
    assert parse_infotext(None).prompt == "" and parse_infotext("").params == {}
    only_prompt = parse_infotext("just a prompt, with: colons")
    assert only_prompt.prompt == "just a prompt, with: colons" and only_prompt.params == {}
    no_negative = parse_infotext("p\nSteps: 2, Seed: 5, Size: 8x8")
    assert (no_negative.prompt, no_negative.negative_prompt, no_negative.get_int("Seed")) == ("p", "", 5)
    multi_negative = parse_infotext("p\nNegative prompt: a\nb\nSteps: 2, Seed: 5, Size: 8x8")
    assert multi_negative.negative_prompt == "a\nb"
    assert parse_infotext('p\nSteps: 2, Seed: 5, Xy: "a, \\"b\\""').params["Xy"] == 'a, "b"'


def png(path: Path, size=(64, 48), color=(200, 10, 10)) -> str:
    Image.new("RGB", size, color).save(path)
    return str(path)


@pytest.fixture
def jobs(queue) -> Jobs:
    return Jobs(queue)


@pytest.fixture
def sweep_job(jobs, executor, runner, tmp_path):
    """A finished txt2img job of 3 tasks with 2 images each, made by a runner writing real PNGs."""
    out = tmp_path / "outputs" / "txt2img-images"
    out.mkdir(parents=True)

    def behaviour(task: Task) -> RunResult:
        paths, infotexts = [], []
        for index in range(2):
            seed = 1000 * (len(paths) + 1) + task.params["seed"]
            paths.append(png(out / f"{task.id[:6]}-{index}.png", color=(index * 50, 100, 100)))
            infotexts.append(
                f"{task.params['prompt']}\nNegative prompt: bad\nSteps: 20, Sampler: Euler a, "
                f"CFG scale: 7, Seed: {seed}, Size: 64x48, Model: random-sd15-a"
            )
        return RunResult(TaskResult(images=paths, infotexts=infotexts, seeds=[]))

    runner.behaviour = behaviour
    made = [
        make_task(
            f"prompt {i}",
            params={
                "seed": i,
                "prompt_styles": ["Style"],
                "enable_hr": True,
                "hr_scale": 2,
                "cfg_scale": 7,
                "override_settings": {"sd_vae": "ae.safetensors"},
                "processing": {"eta": 0.5, "firstphase_width": 10},
            },
            checkpoint="random-sd15-a" if i < 2 else None,
            script_args={"ADetailer": [True]},
        )
        for i in range(3)
    ]
    job, tasks = jobs.create(made, name="lora test")
    while executor.run_one():
        pass
    return job, tasks


def test_img2img_each_kept_image_at_three_strengths(jobs, files, queue, sweep_job):
    job, tasks = sweep_job
    images = jobs.images(job.id)
    jobs.mark(job.id, [images[1].key, images[4].key], "discarded")
    spec = parse_followup({"action": "img2img", "denoising_strength": "0.3, 0.45, 0.6"})
    follow, created = queue_followups(jobs, files, job.id, spec)
    assert len(created) == 4 * 3
    assert follow.source_job_id == job.id and follow.name == "lora test → img2img"
    assert follow.origin["type"] == "followup" and follow.origin["source_job"] == job.id
    kept = [i for i in images if i.key not in (images[1].key, images[4].key)]
    assert follow.origin["images"] == [{"task_id": i.task_id, "index": i.index} for i in kept]
    assert follow.origin["overrides"]["denoising_strength"] == [0.3, 0.45, 0.6]

    first = created[0]
    assert first.kind == "img2img" and first.job_id == follow.id
    p = first.params
    assert [t.params["denoising_strength"] for t in created[:3]] == [0.3, 0.45, 0.6]
    assert p["prompt"] == "prompt 0" and p["negative_prompt"] == "bad"  # from the infotext
    assert p["seed"] == 1000 and p["steps"] == 20 and p["sampler_name"] == "Euler a"
    assert (p["width"], p["height"], p["mode"], p["n_iter"], p["batch_size"]) == (64, 48, 0, 1, 1)
    assert p["override_settings"] == {"sd_vae": "ae.safetensors"} and p["processing"] == {"eta": 0.5}
    for dropped in ("enable_hr", "hr_scale", "prompt_styles"):
        assert dropped not in p  # txt2img-only, or already in the infotext's prompt
    assert first.script_args == {} and first.checkpoint == "random-sd15-a"
    # the third source task had no checkpoint: the infotext's model is used
    assert created[-1].checkpoint == "random-sd15-a"

    # the init image is the kept image itself, stored in the file store and owned by the task
    tag = p["init_img"]
    assert tag["size"] == [64, 48] and queue.files_of(first.id) == [tag["$image"]]
    stored = Image.open(io.BytesIO(files.read(tag["$image"])))
    source = Image.open(kept[0].path)
    assert stored.size == source.size and list(stored.getdata()) == list(source.convert("RGB").getdata())
    assert jobs.get(follow.id).counts["pending"] == 12


def test_follow_up_of_a_selection_with_size_and_step_overrides(jobs, files, sweep_job):
    job, _ = sweep_job
    images = jobs.images(job.id)
    spec = parse_followup({"denoising_strength": 0.4, "scale": "x1.5", "steps": 30, "cfg_scale": 5})
    news, chosen = build_followups(jobs, files, job.id, spec, images=[images[2].key, images[5].key])
    assert [c.key for c in chosen] == [images[2].key, images[5].key]
    assert [(n.params["width"], n.params["height"]) for n in news] == [(96, 72), (96, 72)]
    assert news[0].params["steps"] == 30 and news[0].params["cfg_scale"] == 5
    assert news[1].params["seed"] == 2002  # image 1 of task 2: its own seed
    spec = parse_followup({"scale": 2, "width": 200})
    news, _ = build_followups(jobs, files, job.id, spec, images=[images[0].key])
    assert (news[0].params["width"], news[0].params["height"]) == (200, 96)
    assert news[0].params["denoising_strength"] == 0.5  # the default


def test_upscale_follow_up_makes_extras_tasks(jobs, files, sweep_job):
    job, _ = sweep_job
    spec = parse_followup({"action": "upscale", "scale": 2, "upscaler": "R-ESRGAN 4x+"})
    follow, created = queue_followups(jobs, files, job.id, spec, name="bigger")
    assert len(created) == 6 and follow.name == "bigger"
    task = created[0]
    assert task.kind == "extras"
    assert task.params["upscaler_1"] == "R-ESRGAN 4x+" and task.params["upscaling_resize"] == 2
    assert task.params["image"]["$image"] in task.params["image"]["$image"]
    assert follow.origin["action"] == "upscale"


def test_grids_and_missing_files_are_left_out(jobs, files, queue, tmp_path):
    grid_dir = tmp_path / "txt2img-grids"
    grid_dir.mkdir()
    grid = png(grid_dir / "grid.png")
    one = png(tmp_path / "one.png")
    gone = str(tmp_path / "gone.png")
    job, tasks = jobs.create([make_task()], name="j")
    claimed = queue.claim_next()
    queue.finish(
        claimed.id,
        TaskStatus.DONE,
        result=TaskResult(images=[grid, one, gone], infotexts=["g", "p\nSteps: 2, Seed: 9, Size: 8x8", "x"]),
    )
    news, chosen = build_followups(jobs, files, job.id, parse_followup({}))
    assert [c.path for c in chosen] == [one] and news[0].params["seed"] == 9
    with pytest.raises(InvalidTaskData) as info:
        build_followups(jobs, files, job.id, parse_followup({}), images=[(tasks[0].id, 2)])
    assert info.value.field == "images.0" and "no longer on disk" in info.value.message


def test_nothing_to_follow_up_when_everything_is_discarded(jobs, files, sweep_job):
    job, _ = sweep_job
    jobs.mark(job.id, [i.key for i in jobs.images(job.id)], "discarded")
    with pytest.raises(InvalidTaskData) as info:
        queue_followups(jobs, files, job.id, parse_followup({}))
    assert info.value.field == "images"


def test_follow_up_cap(jobs, files, sweep_job):
    job, _ = sweep_job
    with pytest.raises(InvalidTaskData) as info:
        build_followups(jobs, files, job.id, parse_followup({"denoising_strength": "0.1-0.5 [5]"}), cap=20)
    assert "30 tasks" in info.value.message


def test_a_refused_follow_up_leaves_no_files(jobs, files, sweep_job, monkeypatch):
    job, _ = sweep_job
    before = set(files.root.rglob("*.png")) if files.root.exists() else set()
    monkeypatch.setattr(jobs.queue, "enqueue_many", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no")))
    with pytest.raises(RuntimeError):
        queue_followups(jobs, files, job.id, parse_followup({}))
    after = set(files.root.rglob("*.png")) if files.root.exists() else set()
    assert after == before


def test_follow_up_overrides_are_checked():
    bad = [
        ({"action": "sketch"}, "action"),
        ({"denoising_strength": "2"}, "denoising_strength"),
        ({"scale": "huge"}, "scale"),
        ({"scale": 100}, "scale"),
        ({"steps": 0}, "steps"),
        ({"width": "64"}, "width"),
        ({"cfg_scale": "7"}, "cfg_scale"),
        ({"sampler_name": ""}, "sampler_name"),
        ({"params": []}, "params"),
        ({"upscaler_2_visibility": 3}, "upscaler_2_visibility"),
    ]
    for raw, field in bad:
        with pytest.raises(InvalidTaskData) as info:
            parse_followup(raw)
        assert info.value.field == field, raw


def test_a_follow_up_of_a_follow_up_works_from_img2img_results(
    jobs, files, executor, runner, sweep_job, tmp_path
):
    job, _ = sweep_job
    follow, created = queue_followups(
        jobs, files, job.id, parse_followup({}), images=[jobs.images(job.id)[0].key]
    )
    while executor.run_one():
        pass
    assert jobs.get(follow.id).status.value == "done"
    again, tasks = queue_followups(jobs, files, follow.id, parse_followup({"denoising_strength": [0.2]}))
    assert again.source_job_id == follow.id and len(tasks) == 2
    assert tasks[0].params["denoising_strength"] == 0.2

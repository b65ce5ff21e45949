"""The checker through every HTTP entry: both APIs, seed 003's routes, sweeps, follow-ups, import, edits."""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import pytest
from check_catalog import CASES, CATALOG, CHECKPOINTS
from test_http_helpers import (  # noqa: F401 - fixtures
    API,
    AS,
    client,
    data_url,
    finish_all,
    image_runner,
    outputs,
    png_bytes,
    services,
    settings,
)

from task_scheduler.catalog import Catalog
from task_scheduler.checker import PROBLEM_KINDS, CheckSettings, TaskChecker
from task_scheduler.task import TaskStatus

SEED = "/task-scheduler"
JOBS = f"{API}/jobs"
GOOD = {"prompt": "a cat <lora:style:1>", "steps": 2, "width": 64, "height": 64, "checkpoint": "v1-5-pruned"}
TYPO_LORA = {**GOOD, "prompt": "a cat <lora:detail_tweeker:0.8>"}
#: one API body per kind of problem (the API's names: ``styles``, ``vae``, ``alwayson_scripts``)
API_CASES = {
    "checkpoint": {"checkpoint": "v1-5-prunned"},
    "vae": {"vae": "vae-ft-mse.safetensor"},
    "text_encoder": {"override_settings": {"forge_additional_modules": ["clip_g.safetensors"]}},
    "sampler": {"sampler_name": "Eulr a"},
    "scheduler": {"scheduler": "karas"},
    "upscaler": {"enable_hr": True, "hr_upscaler": "R-ESRGAN 4x"},
    "script": {"script_name": "X/Y/Z plots", "script_args": []},
    "size": {"width": 502},
    "denoising_strength": {"denoising_strength": 1.5},
    "style": {"styles": ["cinematc"]},
    "extension_script": {"alwayson_scripts": {"ADetailer": {"args": [True]}}},
    "network": {"prompt": "a cat <lora:detail_tweeker:0.8>"},
    "network_kind": {"prompt": "a cat <lyco:style:1>"},
    "embedding": {"negative_prompt": "easynegatve"},
}

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


@pytest.fixture
def check_settings() -> CheckSettings:
    return CheckSettings()


@pytest.fixture(autouse=True)
def checked(queue, runner, check_settings):
    runner.catalog_value = CATALOG
    queue.checker = TaskChecker(runner.catalog, lambda: check_settings)
    return queue


def test_every_kind_of_problem_has_an_api_body():
    assert set(API_CASES) == set(PROBLEM_KINDS)


@pytest.mark.parametrize("kind", sorted(PROBLEM_KINDS))
def test_our_api_refuses_errors_with_422_and_answers_warnings(client, queue, kind):
    response = client.post(f"{API}/queue/txt2img", json={**GOOD, **API_CASES[kind]})
    field = CASES[kind].field
    if PROBLEM_KINDS[kind] == "error":
        assert response.status_code == 422, response.text
        (item,) = response.json()["detail"]
        assert ".".join(item["loc"]) == field and item["severity"] == "error"
        assert item["suggestion"] == CASES[kind].suggestion and item["value"] == CASES[kind].value
        assert queue.count(TaskStatus.PENDING) == 0
    else:
        assert response.status_code == 201, response.text
        (warning,) = response.json()["warnings"]
        assert warning.startswith(f"{field}: ")
        strict = client.post(f"{API}/queue/txt2img", json={**GOOD, **API_CASES[kind], "strict": True})
        assert strict.status_code == 422 and strict.json()["detail"][0]["severity"] == "error"
        assert queue.count(TaskStatus.PENDING) == 1


def test_every_error_of_a_batch_at_once_with_the_bodies_it_touches(client, queue):
    bodies = [GOOD, {**GOOD, "sampler_name": "Eulr"}, {**GOOD, "sampler_name": "Eulr", "width": 70}]
    response = client.post(f"{API}/queue/txt2img/batch", json=bodies)
    assert response.status_code == 422
    detail = {item["loc"][0]: item for item in response.json()["detail"]}
    assert detail["sampler_name"]["tasks"] == 2 and detail["sampler_name"]["indexes"] == [1, 2]
    assert detail["width"]["indexes"] == [2]
    assert queue.count(TaskStatus.PENDING) == 0


def test_img2img_is_checked_too(client, queue):
    body = {**GOOD, "init_images": [data_url(png_bytes())], "denoising_strength": 2}
    response = client.post(f"{API}/queue/img2img", json=body)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["denoising_strength"]
    assert queue.count(TaskStatus.PENDING) == 0


def test_agent_scheduler_keeps_its_shapes(client, queue):
    good = client.post(f"{AS}/queue/txt2img", json=GOOD)
    warned = client.post(f"{AS}/queue/txt2img", json=TYPO_LORA)
    assert good.status_code == warned.status_code == 200
    assert set(good.json()) == set(warned.json()) == {"task_id"}
    bad = client.post(
        f"{AS}/queue/txt2img", json={**GOOD, "checkpoint": "v1-5-prunned", "sampler_name": "Eulr"}
    )
    assert bad.status_code == 422
    body = bad.json()
    assert body["success"] is False
    assert "no checkpoint 'v1-5-prunned'" in body["message"] and "no sampler 'Eulr'" in body["message"]
    assert all(set(item) == {"loc", "msg", "type"} for item in body["detail"])
    task_id = good.json()["task_id"]
    put = client.put(f"{AS}/task/{task_id}", json={"checkpoint": "sd_xl_bsae"})
    assert put.status_code == 422 and put.json()["success"] is False
    assert "did you mean 'sd_xl_base_1.0.safetensors [31e35c80fc]'?" in put.json()["message"]
    assert queue.get(task_id).checkpoint == "v1-5-pruned"
    assert queue.count(TaskStatus.PENDING) == 2


def test_seed_routes_refuse_with_their_error_shape(client, queue):
    bad = client.post(f"{SEED}/queue/txt2img", json={"prompt": "x", "sampler_name": "Eulr"})
    assert bad.status_code == 422
    assert (
        bad.json()["success"] is False and "no sampler 'Eulr'; did you mean 'Euler'?" in bad.json()["error"]
    )
    assert queue.count(TaskStatus.PENDING) == 0
    warned = client.post(f"{SEED}/queue/txt2img", json={"prompt": "a cat <lora:detail_tweeker:1>"})
    assert warned.status_code == 200
    assert queue.get(warned.json()["task_id"]).warnings


def test_patch_of_a_pending_task(client, queue):
    task_id = client.post(f"{API}/queue/txt2img", json=GOOD).json()["id"]
    bad = client.patch(f"{API}/tasks/{task_id}", json={"params": {"sampler_name": "Eulr"}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["suggestion"] == "Euler"
    warned = client.patch(f"{API}/tasks/{task_id}", json={"params": {"prompt": "<lora:detail_tweeker:1>"}})
    assert warned.status_code == 200 and len(warned.json()["warnings"]) == 1
    strict = client.patch(
        f"{API}/tasks/{task_id}", json={"params": {"prompt": "<lora:stlye:1>"}, "strict": True}
    )
    assert strict.status_code == 422
    assert queue.get(task_id).params["prompt"] == "<lora:detail_tweeker:1>"


def test_import_checks_every_task(client, queue, runner):
    client.post(f"{API}/queue/txt2img", json=GOOD)
    exported = client.get(f"{API}/export").json()
    runner.catalog_value = Catalog(checkpoints=("v1-5-pruned-emaonly.safetensors",))
    response = client.post(f"{API}/import", json={"tasks": exported + exported})
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["loc"] == ["checkpoint"] and item["tasks"] == 2
    assert item["suggestion"] == "v1-5-pruned-emaonly.safetensors"
    assert queue.count(TaskStatus.PENDING) == 1


def test_a_sweep_shows_its_problems_per_axis_value_before_queueing(client, queue):
    axes = [
        {"type": "checkpoint", "values": ["v1-5-pruned", "sd_xl_bsae_1.0", "cetus"]},
        {"type": "seed", "values": "1-4"},
        {"type": "lora", "name": "detail_tweeker", "values": "0.5, 1"},
    ]
    dry = client.post(JOBS, json={"base": GOOD, "axes": axes, "dry_run": True})
    assert dry.status_code == 200, dry.text
    problems = {(p["field"], p["value"]): p for p in dry.json()["problems"]}
    bad_model = problems[("checkpoint", "sd_xl_bsae_1.0")]
    assert bad_model["severity"] == "error" and bad_model["tasks"] == 8 and bad_model["axis"] == "checkpoint"
    assert bad_model["suggestion"] == CHECKPOINTS[1]
    lora = problems[("prompt", "detail_tweeker")]
    assert lora["severity"] == "warning" and lora["tasks"] == 24 and lora["axis"] == "lora detail_tweeker"
    refused = client.post(JOBS, json={"base": GOOD, "axes": axes})
    assert refused.status_code == 422
    assert [(d["loc"], d["tasks"]) for d in refused.json()["detail"]] == [(["checkpoint"], 8)]
    assert queue.count(TaskStatus.PENDING) == 0 and client.get(JOBS).json()["jobs"] == []
    axes[0]["values"][1] = "sd_xl_base_1.0"
    queued = client.post(JOBS, json={"base": GOOD, "axes": axes})
    assert queued.status_code == 201 and queue.count(TaskStatus.PENDING) == 24
    assert all(len(queue.get(i).warnings) == 1 for i in queued.json()["task_ids"])
    strict = client.post(JOBS, json={"base": GOOD, "axes": axes, "strict": True})
    assert strict.status_code == 422 and queue.count(TaskStatus.PENDING) == 24


def test_follow_ups_are_checked(client, queue, executor, image_runner):
    job = client.post(JOBS, json={"base": GOOD, "axes": [{"type": "seed", "values": "1-2"}]}).json()
    finish_all(executor)
    url = f"{JOBS}/{job['id']}/follow-ups"
    dry = client.post(url, json={"action": "upscale", "upscaler": "R-ESRGAN 4x", "dry_run": True})
    assert dry.status_code == 200
    (problem,) = dry.json()["problems"]
    assert problem["field"] == "upscaler_1" and problem["suggestion"] == "R-ESRGAN 4x+"
    assert problem["tasks"] == dry.json()["count"]
    refused = client.post(url, json={"action": "upscale", "upscaler": "R-ESRGAN 4x"})
    assert refused.status_code == 422 and queue.count(TaskStatus.PENDING) == 0
    bad_model = client.post(url, json={"denoising_strength": 0.4, "checkpoint": "cetsu"})
    assert bad_model.status_code == 422 and bad_model.json()["detail"][0]["suggestion"] == CHECKPOINTS[2]
    assert queue.count(TaskStatus.PENDING) == 0

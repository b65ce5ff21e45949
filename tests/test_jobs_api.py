"""/task-scheduler/v1/jobs on both stacks: sweeps, dry runs, actions, marks, zip, follow-ups."""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import base64
import io
import zipfile

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from test_http_helpers import (  # noqa: F401 - fixtures
    API,
    client,
    data_url,
    finish_all,
    image_runner,
    make_app,
    outputs,
    png_bytes,
    queue_txt2img,
    services,
    settings,
)

from task_scheduler.task import TaskStatus

JOBS = f"{API}/jobs"
BASE = {"prompt": "a cat, <lora:style:1>", "steps": 2, "width": 64, "height": 64, "seed": -1}

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def sweep(client, axes, **body):
    body.setdefault("base", BASE)
    response = client.post(JOBS, json={"axes": axes, **body})
    assert response.status_code == 201, response.text
    return response.json()


def detail_loc(response) -> list:
    return response.json()["detail"][0]["loc"]


# -- create ----------------------------------------------------------------------------------------


def test_sweep_2_checkpoints_x_2_prompts_x_3_seeds(client, queue):
    job = sweep(
        client,
        [
            {"type": "prompt", "values": "a cat\na dog"},
            {"type": "seed", "values": "1-3"},
            {"type": "checkpoint", "values": ["v1-5-pruned", "sd_xl_base_1.0"]},
        ],
        name="grid",
    )
    assert job["name"] == "grid" and job["status"] == "pending" and job["counts"]["pending"] == 12
    assert (
        len(job["task_ids"]) == 12 and job["origin"]["type"] == "sweep" and job["origin"]["base"] == "txt2img"
    )
    tasks = [queue.get(i) for i in job["task_ids"]]
    assert [t.checkpoint for t in tasks] == ["v1-5-pruned.safetensors [6ce0161689]"] * 6 + [
        "sd_xl_base_1.0.safetensors [31e35c80fc]"
    ] * 6
    assert {(t.params["prompt"], t.params["seed"]) for t in tasks[:6]} == {
        (p, s) for p in ("a cat", "a dog") for s in (1, 2, 3)
    }
    assert all(t.job_id == job["id"] and t.params["steps"] == 2 for t in tasks)
    assert tasks[0].name == "grid [model: v1-5-pruned.safetensors [6ce0161689] · prompt: a cat · seed: 1]"


def test_dry_run_counts_and_previews_without_queueing(client, queue):
    response = client.post(
        JOBS,
        json={
            "base": BASE,
            "axes": [
                {"type": "lora", "name": "style", "values": "0.2, 0.6, 1"},
                {"type": "seed", "values": "1-4"},
            ],
            "dry_run": True,
            "preview": 2,
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["count"] == 12 and data["max_tasks"] == 1000 and data["over_limit"] is False
    assert [p["params"]["prompt"] for p in data["preview"]] == ["a cat, <lora:style:0.2>"] * 2
    assert data["preview"][1]["labels"] == ["style: 0.2", "seed: 2"]
    assert queue.count(TaskStatus.PENDING) == 0
    assert client.get(JOBS).json()["total"] == 0


def test_over_the_cap_dry_run_says_so_and_create_is_refused(client, services, queue):
    services.settings.max_sweep_tasks = 10  # the host's setting, when it has one
    axes = [{"type": "seed", "values": "1-4"}, {"type": "cfg_scale", "values": "3-7"}]
    dry = client.post(JOBS, json={"base": BASE, "axes": axes, "dry_run": True}).json()
    assert dry["count"] == 20 and dry["over_limit"] is True and dry["max_tasks"] == 10
    refused = client.post(JOBS, json={"base": BASE, "axes": axes})
    assert refused.status_code == 422
    assert "20 tasks" in refused.json()["detail"][0]["msg"] and "10" in refused.json()["detail"][0]["msg"]
    assert queue.count(TaskStatus.PENDING) == 0


def test_default_cap_is_1000(client):
    refused = client.post(JOBS, json={"base": BASE, "axes": [{"type": "seed", "values": "1-1001"}]})
    assert refused.status_code == 422 and "1,001 tasks" in refused.json()["detail"][0]["msg"]


def test_bad_bodies_are_422_naming_the_field(client, queue):
    cases = [
        ({"base": {"steps": "many"}}, ["base", "steps"]),
        ({"base": {"nope": 1}}, ["base", "nope"]),
        ({}, ["base"]),
        ({"base": BASE, "from_task": "x"}, ["base"]),
        ({"base": BASE, "axes": [{"type": "seed"}]}, ["axes", "0", "values"]),
        ({"base": BASE, "axes": [{"type": "zoom", "values": [1]}]}, ["axes", "0", "type"]),
        ({"base": BASE, "mode": "spiral"}, ["body", "mode"]),
        ({"base": BASE, "unknown": 1}, ["body", "unknown"]),
        ({"kind": "img2img", "base": {"prompt": "x"}}, ["base", "init_images"]),
    ]
    for body, loc in cases:
        response = client.post(JOBS, json=body)
        assert response.status_code == 422, (body, response.text)
        assert detail_loc(response)[: len(loc)] == loc, (body, response.json())
    zipped = client.post(
        JOBS,
        json={
            "base": BASE,
            "mode": "zip",
            "axes": [{"type": "seed", "values": [1, 2]}, {"type": "steps", "values": [1, 2, 3]}],
        },
    )
    assert zipped.status_code == 422 and "same number of values" in zipped.json()["detail"][0]["msg"]
    assert queue.count(TaskStatus.PENDING) == 0


def test_checkpoint_folder_and_sampler_names_come_from_the_webui(client, queue):
    job = sweep(client, [{"type": "sampler", "values": "euler a, DPM++ 2M"}])
    assert [queue.get(i).params["sampler_name"] for i in job["task_ids"]] == ["Euler a", "DPM++ 2M"]
    bad = client.post(JOBS, json={"base": BASE, "axes": [{"type": "sampler", "values": "Heun"}]})
    assert bad.status_code == 422
    missing = client.post(JOBS, json={"base": BASE, "axes": [{"type": "checkpoint", "folder": "flux"}]})
    assert missing.status_code == 422 and detail_loc(missing) == ["axes", "0", "folder"]


def test_img2img_base_stores_its_init_image_once_for_every_task(client, queue, files):
    body = {"prompt": "x", "init_images": [data_url(png_bytes())], "denoising_strength": 0.5}
    job = sweep(client, [{"type": "denoising_strength", "values": "0.3, 0.6"}], kind="img2img", base=body)
    tasks = [queue.get(i) for i in job["task_ids"]]
    refs = {t.params["init_img"]["$image"] for t in tasks}
    assert len(refs) == 1 and files.exists(refs.pop())
    assert [t.params["denoising_strength"] for t in tasks] == [0.3, 0.6]
    assert queue.files_of(tasks[1].id) == [tasks[1].params["init_img"]["$image"]]


def test_a_refused_img2img_sweep_writes_no_file(client, files):
    body = {"prompt": "x", "init_images": [data_url(png_bytes())]}
    bad = client.post(
        JOBS, json={"kind": "img2img", "base": body, "axes": [{"type": "prompt_sr", "values": "horse, dog"}]}
    )
    assert bad.status_code == 422
    assert not files.root.exists() or not list(files.root.rglob("*.png"))


def test_sweep_from_a_finished_task_keeps_its_seed(client, executor, image_runner, queue):
    original = queue_txt2img(client, prompt="liked", seed=-1, checkpoint="v1-5-pruned")
    finish_all(executor)
    job = sweep(client, [{"type": "cfg_scale", "values": "4, 8"}], base=None, from_task=original["id"])
    tasks = [queue.get(i) for i in job["task_ids"]]
    assert [t.params["seed"] for t in tasks] == [0, 0]  # the seed the image was made with
    assert tasks[0].checkpoint == "v1-5-pruned" and job["source_task_id"] == original["id"]
    fresh = sweep(
        client, [{"type": "steps", "values": [3]}], base=None, from_task=original["id"], keep_seed=False
    )
    assert queue.get(fresh["task_ids"][0]).params["seed"] == -1
    assert client.post(JOBS, json={"from_task": "missing", "axes": []}).status_code == 404


# -- reading ------------------------------------------------------------------------------------------


def test_get_list_and_tasks(client):
    first = sweep(client, [{"type": "seed", "values": [1, 2]}], name="first")
    second = sweep(client, [{"type": "seed", "values": [1]}], name="second")
    listed = client.get(JOBS, params={"limit": 1}).json()
    assert listed["total"] == 2 and [j["name"] for j in listed["jobs"]] == ["second"]
    assert client.get(JOBS, params={"limit": 1, "offset": 1}).json()["jobs"][0]["id"] == first["id"]
    got = client.get(f"{JOBS}/{first['id']}").json()
    assert got["counts"]["total"] == 2 and got["progress"] == 0 and got["created_at"].endswith("Z")
    tasks = client.get(f"{JOBS}/{first['id']}/tasks").json()
    assert tasks["total"] == 2 and [t["id"] for t in tasks["tasks"]] == first["task_ids"]
    assert client.get(f"{JOBS}/nope").status_code == 404
    assert client.get(f"{JOBS}/nope").json()["detail"] == "no job with id 'nope'"
    assert second["id"] != first["id"]


# -- actions ------------------------------------------------------------------------------------------


def test_pause_resume_move_and_cancel(client, queue, executor, runner):
    loose = queue_txt2img(client, prompt="loose")
    job = sweep(client, [{"type": "seed", "values": [1, 2, 3]}])
    paused = client.post(f"{JOBS}/{job['id']}/pause").json()
    assert paused["held"] is True
    assert finish_all(executor) == 1 and runner.ran == [loose["id"]]
    assert client.post(f"{JOBS}/{job['id']}/resume").json()["held"] is False
    other = queue_txt2img(client, prompt="other")
    moved = client.post(f"{JOBS}/{job['id']}/move-to-top")
    assert moved.status_code == 200
    assert [t.id for t in queue.pending()] == [*job["task_ids"], other["id"]]
    executor.run_one()
    cancelled = client.post(f"{JOBS}/{job['id']}/cancel").json()
    assert cancelled["counts"]["cancelled"] == 2 and cancelled["status"] == "cancelled"
    assert cancelled["stopping"] == []
    assert client.post(f"{JOBS}/{job['id']}/move-to-top").status_code == 409
    assert client.post(f"{JOBS}/nope/pause").status_code == 404


def test_cancel_stops_the_running_task_through_the_webui_without_an_executor(client, services, queue):
    job = sweep(client, [{"type": "seed", "values": [1, 2]}])
    running = queue.claim_next()
    response = client.post(f"{JOBS}/{job['id']}/cancel").json()
    assert response["stopping"] == [running.id] and response["status"] == "running"
    assert services.webui.interrupts == 1
    assert client.delete(f"{JOBS}/{job['id']}").status_code == 409


def test_requeue_failed(client, queue, executor, runner):
    job = sweep(client, [{"type": "prompt", "values": ["ok", "bad"]}])

    def behaviour(task):
        if task.prompt == "bad":
            raise RuntimeError("boom")

    runner.behaviour = behaviour
    finish_all(executor)
    assert client.get(f"{JOBS}/{job['id']}").json()["status"] == "done_with_failures"
    response = client.post(f"{JOBS}/{job['id']}/requeue-failed")
    assert response.status_code == 201 and len(response.json()["task_ids"]) == 1
    assert response.json()["status"] == "running" and response.json()["superseded"] == 1
    assert queue.get(response.json()["task_ids"][0]).params["prompt"] == "bad"


# -- images ------------------------------------------------------------------------------------------


@pytest.fixture
def done_job(client, executor, image_runner):
    job = sweep(client, [{"type": "seed", "values": [1, 2, 3]}], name="pics")
    finish_all(executor)
    return client.get(f"{JOBS}/{job['id']}").json()


def refs(images):
    return [{"task_id": i["task_id"], "index": i["index"]} for i in images]


def test_images_marks_and_delete_discarded(client, done_job, outputs):
    bystander = outputs / "someone-elses.png"
    bystander.write_bytes(png_bytes())
    images = client.get(f"{JOBS}/{done_job['id']}/images").json()["images"]
    assert len(images) == 6 and done_job["images"] == 6 and done_job["status"] == "done"
    assert images[0]["url"] == f"{API}/tasks/{images[0]['task_id']}/results/0"
    assert client.get(images[0]["thumbnail_url"]).status_code == 200
    marked = client.post(
        f"{JOBS}/{done_job['id']}/images/mark", json={"images": refs(images[:2]), "mark": "discarded"}
    ).json()
    assert marked["job"]["discarded"] == 2 and [i["mark"] for i in marked["images"]] == ["discarded"] * 2
    client.post(f"{JOBS}/{done_job['id']}/images/mark", json={"images": refs(images[2:3]), "mark": "kept"})
    deleted = client.post(f"{JOBS}/{done_job['id']}/images/delete-discarded").json()
    assert deleted["deleted"] == 2 and sorted(deleted["files"]) == sorted(i["name"] for i in images[:2])
    left = {p.name for p in outputs.iterdir()}
    assert left == {i["name"] for i in images[2:]} | {bystander.name}
    after = client.get(f"{JOBS}/{done_job['id']}/images").json()["images"]
    assert [i["exists"] for i in after] == [False, False, True, True, True, True]
    assert [i["mark"] for i in after][:3] == ["discarded", "discarded", "kept"]
    cleared = client.post(
        f"{JOBS}/{done_job['id']}/images/mark", json={"images": refs(images[2:3]), "mark": None}
    ).json()
    assert cleared["job"]["kept"] == 0
    bad = client.post(
        f"{JOBS}/{done_job['id']}/images/mark",
        json={"images": [{"task_id": "x", "index": 0}], "mark": "kept"},
    )
    assert bad.status_code == 422 and detail_loc(bad) == ["images", "0"]
    assert client.post(f"{JOBS}/{done_job['id']}/images/mark", json={"images": []}).status_code == 422


def test_zip_streams_the_images_not_discarded(client, done_job):
    images = client.get(f"{JOBS}/{done_job['id']}/images").json()["images"]
    client.post(
        f"{JOBS}/{done_job['id']}/images/mark", json={"images": refs(images[:1]), "mark": "discarded"}
    )
    response = client.get(f"{JOBS}/{done_job['id']}/images.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted(i["name"] for i in images[1:])
    assert archive.testzip() is None
    assert archive.read(images[1]["name"]) == client.get(images[1]["url"]).content
    everything = client.get(f"{JOBS}/{done_job['id']}/images.zip", params={"include_discarded": True})
    assert len(zipfile.ZipFile(io.BytesIO(everything.content)).namelist()) == 6
    assert client.get(f"{JOBS}/nope/images.zip").status_code == 404


def test_stream_zip_handles_big_files_in_chunks(tmp_path):
    from task_scheduler.http_api.jobs import stream_zip

    big = tmp_path / "big.png"
    big.write_bytes(bytes(range(256)) * 5000)
    chunks = list(stream_zip([(big, "big.png"), (tmp_path / "gone.png", "gone.png")], chunk=4096))
    assert len(chunks) > 10
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.namelist() == ["big.png"] and archive.read("big.png") == big.read_bytes()


def test_delete_with_and_without_images(client, done_job, outputs, executor, image_runner, queue):
    other = sweep(client, [{"type": "seed", "values": [9]}], name="other")
    finish_all(executor)
    mine = client.get(f"{JOBS}/{done_job['id']}/images").json()["images"]
    kept = client.get(f"{JOBS}/{other['id']}/images").json()["images"]
    response = client.delete(f"{JOBS}/{done_job['id']}", params={"delete_images": True})
    assert response.json() == {"id": done_job["id"], "deleted_tasks": 3, "deleted_images": 6}
    names = {p.name for p in outputs.iterdir()}
    assert not names & {i["name"] for i in mine} and {i["name"] for i in kept} <= names
    assert client.get(f"{JOBS}/{done_job['id']}").status_code == 404
    plain = client.delete(f"{JOBS}/{other['id']}").json()
    assert plain["deleted_images"] == 0 and {i["name"] for i in kept} <= {p.name for p in outputs.iterdir()}


# -- follow-ups ---------------------------------------------------------------------------------------


def test_follow_up_img2img_each_kept_image_at_denoise_04(client, done_job, queue, files):
    images = client.get(f"{JOBS}/{done_job['id']}/images").json()["images"]
    client.post(
        f"{JOBS}/{done_job['id']}/images/mark", json={"images": refs(images[:2]), "mark": "discarded"}
    )
    dry = client.post(
        f"{JOBS}/{done_job['id']}/follow-ups", json={"denoising_strength": 0.4, "dry_run": True}
    )
    assert dry.status_code == 200 and dry.json()["count"] == 4
    response = client.post(f"{JOBS}/{done_job['id']}/follow-ups", json={"denoising_strength": 0.4})
    assert response.status_code == 201, response.text
    follow = response.json()
    assert follow["source_job_id"] == done_job["id"] and follow["counts"]["pending"] == 4
    assert follow["origin"]["images"] == refs(images[2:])
    tasks = [queue.get(i) for i in follow["task_ids"]]
    for task, image in zip(tasks, images[2:], strict=True):
        assert task.kind == "img2img" and task.params["denoising_strength"] == 0.4
        init = Image.open(io.BytesIO(files.read(task.params["init_img"]["$image"])))
        source = Image.open(io.BytesIO(client.get(image["url"]).content))
        assert list(init.convert("RGB").getdata()) == list(source.convert("RGB").getdata())
        assert task.params["seed"] == image["seed"]  # "Seed: <index>" in the fake infotext


def test_follow_up_several_strengths_and_upscale(client, done_job):
    images = client.get(f"{JOBS}/{done_job['id']}/images").json()["images"]
    three = client.post(
        f"{JOBS}/{done_job['id']}/follow-ups",
        json={
            "images": refs(images[:1]),
            "denoising_strength": "0.3, 0.45, 0.6",
            "scale": 2,
            "name": "bigger",
        },
    ).json()
    assert three["name"] == "bigger" and three["counts"]["total"] == 3
    up = client.post(f"{JOBS}/{done_job['id']}/follow-ups", json={"action": "upscale", "upscaler": "Lanczos"})
    assert (
        up.status_code == 201
        and up.json()["counts"]["total"] == 6
        and up.json()["origin"]["action"] == "upscale"
    )
    bad = client.post(f"{JOBS}/{done_job['id']}/follow-ups", json={"denoising_strength": "lots"})
    assert bad.status_code == 422 and detail_loc(bad) == ["denoising_strength"]
    assert client.post(f"{JOBS}/nope/follow-ups", json={}).status_code == 404


def test_job_routes_are_guarded_by_the_api_auth(services):
    services.auth = ["alice:s3cret"]
    client = TestClient(make_app(services))
    assert client.get(JOBS).status_code == 401
    assert client.post(JOBS, json={"base": BASE}).status_code == 401
    token = base64.b64encode(b"alice:s3cret").decode()
    assert client.get(JOBS, headers={"Authorization": f"Basic {token}"}).status_code == 200


def test_openapi_lists_the_job_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("", "/{job_id}", "/{job_id}/images.zip", "/{job_id}/follow-ups", "/{job_id}/images/mark"):
        assert f"{JOBS}{path}" in paths

"""/task-scheduler/v1 over a real store: every route, its stored shape and its errors."""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import io
import threading
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from test_http_helpers import (  # noqa: F401 - fixtures
    API,
    b64,
    client,
    data_url,
    finish_all,
    image_runner,
    outputs,
    png_bytes,
    queue_txt2img,
    services,
    settings,
)

from task_scheduler.runner import RunResult
from task_scheduler.task import TaskResult, TaskStatus
from task_scheduler.task_queue import Progress

# -- queueing ----------------------------------------------------------------------------------

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def test_queue_txt2img_stores_the_documented_shape(client, queue):
    body = {
        "prompt": "a cat",
        "negative_prompt": "blurry",
        "styles": ["Photo"],
        "steps": 12,
        "sampler_name": "DPM++ 2M",
        "scheduler": "Karras",
        "seed": 42,
        "subseed": 7,
        "subseed_strength": 0.3,
        "n_iter": 2,
        "batch_size": 3,
        "cfg_scale": 5.5,
        "width": 640,
        "height": 768,
        "enable_hr": True,
        "hr_scale": 1.5,
        "restore_faces": True,
        "eta": 0.5,
        "override_settings": {"CLIP_stop_at_last_layers": 2},
        "vae": "ae.safetensors",
        "alwayson_scripts": {"ADetailer": {"args": [True, {"ad_model": "face_yolov8n.pt"}]}},
        "script_name": "X/Y/Z plot",
        "script_args": [1, "10,20", 0],
        "checkpoint": "sd_xl_base_1.0",
        "name": "cats",
        "priority": 3,
        "callback_url": "http://hooks.example.com:9/done",
        "send_images": True,
        "save_images": False,
    }
    created = client.post(f"{API}/queue/txt2img", json=body)
    assert created.status_code == 201, created.text
    task = queue.get(created.json()["id"])
    assert task.kind == "txt2img" and task.source == "api"
    assert task.params["prompt_styles"] == ["Photo"] and "styles" not in task.params
    for name in ("steps", "sampler_name", "scheduler", "seed", "subseed", "n_iter", "batch_size", "width"):
        assert task.params[name] == body[name]
    assert task.params["override_settings"] == {"CLIP_stop_at_last_layers": 2, "sd_vae": "ae.safetensors"}
    assert task.params["processing"] == {"restore_faces": True, "eta": 0.5}
    assert task.params["enable_hr"] is True and task.params["hr_scale"] == 1.5
    assert "send_images" not in task.params and "save_images" not in task.params
    assert task.script_args == {
        "ADetailer": [True, {"ad_model": "face_yolov8n.pt"}],
        "X/Y/Z plot": [1, "10,20", 0],
    }
    assert task.script_name == "X/Y/Z plot"
    assert (task.checkpoint, task.name, task.priority) == ("sd_xl_base_1.0", "cats", 3)
    assert task.callback_url == "http://hooks.example.com:9/done"


def test_fields_left_out_take_the_webui_api_defaults(client, queue):
    task = queue.get(queue_txt2img(client, sampler_index="Euler a")["id"])
    assert task.params["steps"] == 50 and task.params["cfg_scale"] == 7.0
    assert (task.params["width"], task.params["height"]) == (512, 512)
    assert task.params["sampler_name"] == "Euler a"  # sampler_index is the old name
    assert task.params["seed"] == -1


def test_queue_at_the_top(client, queue):
    first = queue_txt2img(client, prompt="first")
    top = queue_txt2img(client, prompt="urgent", position="top")
    assert [t.id for t in queue.pending()] == [top["id"], first["id"]]
    assert client.get(f"{API}/tasks/{top['id']}").json()["position"] == 1


def test_batch_is_all_or_nothing(client, queue):
    ok = client.post(f"{API}/queue/txt2img/batch", json=[{"prompt": "a"}, {"prompt": "b"}])
    assert ok.status_code == 201
    assert [t["params"]["prompt"] for t in ok.json()["tasks"]] == ["a", "b"]
    bad = client.post(f"{API}/queue/txt2img/batch", json=[{"prompt": "c"}, {"prompt": "d", "steps": "many"}])
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][-2:] == [1, "steps"]
    bad = client.post(f"{API}/queue/txt2img/batch", json=[{"prompt": "c"}, {"script_args": [1]}])
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["1", "script_args"]
    mixed = client.post(f"{API}/queue/txt2img/batch", json=[{"position": "top"}, {"position": "bottom"}])
    assert mixed.status_code == 422
    assert client.post(f"{API}/queue/txt2img/batch", json=[]).status_code == 422
    assert queue.count(TaskStatus.PENDING) == 2


def test_batch_size_limit(client, services):
    services.settings.max_tasks_per_call = 2
    response = client.post(f"{API}/queue/txt2img/batch", json=[{}, {}, {}])
    assert response.status_code == 422


def test_img2img_stores_the_init_image_as_a_png_file(client, queue, files):
    jpeg = io.BytesIO()
    Image.new("RGB", (20, 10), "blue").save(jpeg, format="JPEG")
    created = client.post(
        f"{API}/queue/img2img",
        json={"prompt": "a dog", "init_images": [b64(jpeg.getvalue())], "denoising_strength": 0.4},
    )
    assert created.status_code == 201, created.text
    task = queue.get(created.json()["id"])
    tag = task.params["init_img"]
    assert task.params["mode"] == 0 and task.params["denoising_strength"] == 0.4
    assert tag["mode"] == "RGB" and tag["size"] == [20, 10]
    assert queue.files_of(task.id) == [tag["$image"]]
    with Image.open(files.path(tag["$image"])) as stored:
        assert stored.format == "PNG" and stored.size == (20, 10)


def test_img2img_with_a_mask_is_inpaint_upload(client, queue):
    created = client.post(
        f"{API}/queue/img2img",
        json={
            "init_images": [data_url(png_bytes((16, 16), (1, 2, 3, 255), "RGBA"))],
            "mask": data_url(png_bytes((16, 16), 255, "L")),
            "inpainting_fill": 1,
            "mask_blur_x": 2,
        },
    )
    assert created.status_code == 201, created.text
    task = queue.get(created.json()["id"])
    assert task.params["mode"] == 4 and "init_img" not in task.params
    assert task.params["init_img_inpaint"]["mode"] == "RGBA"
    assert task.params["init_mask_inpaint"]["mode"] == "L"
    assert task.params["processing"] == {"mask_blur_x": 2}
    refs = {task.params["init_img_inpaint"]["$image"], task.params["init_mask_inpaint"]["$image"]}
    assert set(queue.files_of(task.id)) == refs


def test_same_image_in_many_tasks_is_stored_once(client, queue, files):
    image = b64(png_bytes())
    client.post(f"{API}/queue/img2img/batch", json=[{"init_images": [image]}, {"init_images": [image]}])
    refs = {queue.files_of(t.id)[0] for t in queue.pending()}
    assert len(refs) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not base64 at all!", "base64"),
        (b64(b"just some text, no image"), "Pillow"),
        ("data:image/png,rawdata", "base64-encoded"),
        ("/etc/passwd", "paths"),
        ("../../secret/image.png", "paths"),
        ("http://127.0.0.1:1/cat.png", "remote URLs"),
        ("", "base64"),
    ],
)
def test_bad_init_images_are_refused(client, queue, value, message):
    response = client.post(f"{API}/queue/img2img", json={"init_images": [value]})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["init_images", "0"]
    assert message in detail["msg"]
    assert queue.count(TaskStatus.PENDING) == 0


def test_oversized_images_are_refused(client, settings):
    settings.max_image_bytes = 200
    big = client.post(f"{API}/queue/img2img", json={"init_images": [b64(png_bytes((300, 300), "white") * 3)]})
    assert big.status_code == 422 and "larger than" in big.json()["detail"][0]["msg"]
    settings.max_image_bytes = 10_000_000
    settings.max_image_pixels = 100
    wide = client.post(f"{API}/queue/img2img", json={"init_images": [b64(png_bytes((20, 20)))]})
    assert wide.status_code == 422 and "pixels" in wide.json()["detail"][0]["msg"]


def test_img2img_needs_exactly_one_init_image(client):
    assert client.post(f"{API}/queue/img2img", json={"prompt": "x"}).status_code == 422
    two = client.post(f"{API}/queue/img2img", json={"init_images": [b64(png_bytes())] * 2})
    assert two.status_code == 422 and two.json()["detail"][0]["loc"] == ["init_images"]


def test_server_paths_only_with_the_setting(client, settings, tmp_path):
    path = tmp_path / "input.png"
    path.write_bytes(png_bytes())
    assert client.post(f"{API}/queue/img2img", json={"init_images": [str(path)]}).status_code == 422
    settings.allow_local_paths = True
    assert client.post(f"{API}/queue/img2img", json={"init_images": [str(path)]}).status_code == 201


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"steps": "many"}, ["body", "steps"]),
        ({"width": 0}, ["body", "width"]),
        ({"styles": "Photo"}, ["body", "styles"]),
        ({"override_settings": [1, 2]}, ["body", "override_settings"]),
        ({"sampler": "Euler"}, ["body", "sampler"]),
        (
            {"alwayson_scripts": {"ADetailer": {"arguments": []}}},
            ["body", "alwayson_scripts", "ADetailer", "arguments"],
        ),
        ({"position": "middle"}, ["body", "position"]),
        ({"callback_url": "ftp://example.invalid/x"}, ["callback_url"]),
        ({"infotext": "a cat\nSteps: 20"}, ["infotext"]),
        ({"vae": "a", "override_settings": {"sd_vae": "b"}}, ["vae"]),
        ({"script_name": "X/Y/Z plot", "alwayson_scripts": {"x/y/z plot": {"args": []}}}, ["script_name"]),
    ],
)
def test_bad_bodies_get_422_naming_the_field(client, body, loc):
    response = client.post(f"{API}/queue/txt2img", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


def test_not_json_and_wrong_top_level_type(client):
    assert (
        client.post(
            f"{API}/queue/txt2img", content=b"{nope", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    assert client.post(f"{API}/queue/txt2img", json=[{"prompt": "x"}]).status_code == 422
    assert client.post(f"{API}/queue/txt2img/batch", json={"prompt": "x"}).status_code == 422


def test_unknown_sampler_and_checkpoint_are_accepted_then_fail_when_run(client, queue, executor, runner):
    def strict(task):
        if task.params["sampler_name"] not in ("Euler", "Euler a"):
            raise ValueError(f"sampler not found: {task.params['sampler_name']}")
        if task.checkpoint not in (None, "v1-5"):
            raise ValueError(f"checkpoint not found: {task.checkpoint}")
        return RunResult(TaskResult())

    runner.behaviour = strict
    sampler = queue_txt2img(client, sampler_name="Nonexistent Sampler")
    checkpoint = queue_txt2img(client, checkpoint="missing-model")
    finish_all(executor)
    first = client.get(f"{API}/tasks/{sampler['id']}").json()
    second = client.get(f"{API}/tasks/{checkpoint['id']}").json()
    assert first["status"] == "failed" and "Nonexistent Sampler" in first["error"]
    assert second["status"] == "failed" and "missing-model" in second["error"]


# -- reading -----------------------------------------------------------------------------------


def test_get_task_and_unknown_ids(client):
    created = queue_txt2img(client)
    task = client.get(f"{API}/tasks/{created['id']}").json()
    assert task["status"] == "pending" and task["position"] == 1
    assert task["created_at"].endswith("Z") and "T" in task["created_at"]
    for path in ("/tasks/nope", "/tasks/nope/results", "/tasks/nope/results.zip", "/tasks/nope/results/0"):
        response = client.get(API + path)
        assert response.status_code == 404, path
        assert "nope" in response.json()["detail"]
    for path in ("/tasks/nope/bookmark", "/tasks/nope/run-now", "/tasks/nope/requeue"):
        assert client.post(API + path).status_code == 404
    assert client.delete(f"{API}/tasks/nope").status_code == 404
    assert client.patch(f"{API}/tasks/nope", json={"name": "x"}).status_code == 404


def test_queue_lists_running_with_progress_and_pending_in_order(client, queue):
    a, b, c = (queue_txt2img(client, prompt=p)["id"] for p in "abc")
    running = queue.claim_next()
    assert running.id == a
    queue.set_progress(Progress(a, 0.25, "step 5/20", 3.0))
    client.post(f"{API}/queue/pause")
    body = client.get(f"{API}/queue").json()
    assert [t["id"] for t in body["running"]] == [a]
    assert body["running"][0]["progress"]["fraction"] == 0.25
    assert body["running"][0]["progress"]["text"] == "step 5/20"
    assert [(t["id"], t["position"]) for t in body["pending"]] == [(b, 1), (c, 2)]
    assert body["paused"] is True and body["total_pending"] == 2
    assert body["revision"] == queue.revision
    assert client.get(f"{API}/queue", params={"limit": 1, "offset": 1}).json()["pending"][0]["id"] == c


def test_history_filters_search_paging_and_total(client, queue, executor, runner):
    runner.behaviour = lambda task: (
        (_ for _ in ()).throw(RuntimeError("boom")) if "bad" in task.prompt else None
    )
    for prompt in ("red fox", "blue fox", "bad fox", "green owl"):
        queue_txt2img(client, prompt=prompt)
    finish_all(executor)
    everything = client.get(f"{API}/history").json()
    assert everything["total"] == 4 and len(everything["tasks"]) == 4
    assert everything["tasks"][0]["params"]["prompt"] == "green owl"  # newest first
    failed = client.get(f"{API}/history", params={"status": "failed"}).json()
    assert failed["total"] == 1 and failed["tasks"][0]["error"] == "RuntimeError: boom"
    foxes = client.get(f"{API}/history", params={"search": "FOX", "limit": 2, "offset": 1}).json()
    assert foxes["total"] == 3 and len(foxes["tasks"]) == 2 and foxes["offset"] == 1
    done_and_failed = client.get(f"{API}/history", params={"status": "done,failed"}).json()
    assert done_and_failed["total"] == 4
    owl = everything["tasks"][0]["id"]
    client.post(f"{API}/tasks/{owl}/bookmark")
    marked = client.get(f"{API}/history", params={"bookmarked": True}).json()
    assert [t["id"] for t in marked["tasks"]] == [owl] and marked["total"] == 1
    assert client.get(f"{API}/history", params={"status": "pending"}).status_code == 422
    assert client.get(f"{API}/history", params={"status": "nonsense"}).status_code == 422
    assert client.get(f"{API}/history", params={"limit": 0}).status_code == 422
    assert client.get(f"{API}/history", params={"search": "%_\\"}).json()["total"] == 0


# -- editing and ordering ------------------------------------------------------------------------


def test_patch_merges_params_script_args_name_and_checkpoint(client, queue):
    created = queue_txt2img(
        client, prompt="a cat", checkpoint="v1-5", alwayson_scripts={"ADetailer": {"args": [True]}}
    )
    response = client.patch(
        f"{API}/tasks/{created['id']}",
        json={
            "name": "renamed",
            "params": {"steps": "30", "prompt_styles": ["Photo"], "negative_prompt": None},
            "script_args": {"ControlNet": [{"enabled": False}], "ADetailer": None},
        },
    )
    assert response.status_code == 200, response.text
    task = queue.get(created["id"])
    assert task.name == "renamed" and task.params["steps"] == 30
    assert task.params["prompt_styles"] == ["Photo"] and "negative_prompt" not in task.params
    assert task.params["prompt"] == "a cat" and task.checkpoint == "v1-5"
    assert task.script_args == {"ControlNet": [{"enabled": False}]}
    client.patch(f"{API}/tasks/{created['id']}", json={"checkpoint": None})
    assert queue.get(created["id"]).checkpoint is None


def test_patch_refuses_bad_values_foreign_files_and_non_pending_tasks(client, queue):
    created = queue_txt2img(client)
    bad = client.patch(f"{API}/tasks/{created['id']}", json={"params": {"steps": "lots"}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["params", "steps"]
    foreign = {"$image": "a" * 64 + ".png", "mode": "RGB", "size": [1, 1]}
    bad = client.patch(f"{API}/tasks/{created['id']}", json={"params": {"init_img": foreign}})
    assert bad.status_code == 422 and "does not have" in bad.json()["detail"][0]["msg"]
    bad = client.patch(f"{API}/tasks/{created['id']}", json={"params": {"processing": 3}})
    assert bad.status_code == 422
    assert client.patch(f"{API}/tasks/{created['id']}", json={"kind": "img2img"}).status_code == 422
    queue.claim_next()
    conflict = client.patch(f"{API}/tasks/{created['id']}", json={"name": "late"})
    assert conflict.status_code == 409 and "running" in conflict.json()["detail"]


def test_move_top_bottom_before_after(client, queue):
    a, b, c = (queue_txt2img(client, prompt=p)["id"] for p in "abc")

    def order():
        return [t.id for t in queue.pending()]

    assert client.post(f"{API}/tasks/{c}/move", json={"to": "top"}).json()["position"] == 1
    assert order() == [c, a, b]
    client.post(f"{API}/tasks/{c}/move", json={"to": "bottom"})
    assert order() == [a, b, c]
    client.post(f"{API}/tasks/{c}/move", json={"before": a})
    assert order() == [c, a, b]
    client.post(f"{API}/tasks/{c}/move", json={"after": a})
    assert order() == [a, c, b]
    assert client.post(f"{API}/tasks/{a}/move", json={"to": "top", "before": b}).status_code == 422
    assert client.post(f"{API}/tasks/{a}/move", json={}).status_code == 422
    assert client.post(f"{API}/tasks/{a}/move", json={"before": a}).status_code == 422
    assert client.post(f"{API}/tasks/{a}/move", json={"before": "ghost"}).status_code == 404
    queue.claim_next()
    assert client.post(f"{API}/tasks/{a}/move", json={"to": "bottom"}).status_code == 409


def test_run_now_on_a_paused_queue_runs_exactly_that_task(client, queue, executor, runner):
    a, b = (queue_txt2img(client, prompt=p)["id"] for p in "ab")
    client.post(f"{API}/queue/pause")
    assert client.post(f"{API}/tasks/{b}/run-now").json()["position"] == 1
    finish_all(executor)
    assert runner.ran == [b]
    assert queue.get(a).status is TaskStatus.PENDING


def test_requeue_returns_the_new_task_and_requeue_failed(client, queue, executor, runner):
    runner.behaviour = lambda task: (_ for _ in ()).throw(RuntimeError("nope"))
    created = queue_txt2img(client, name="original")
    assert client.post(f"{API}/tasks/{created['id']}/requeue").status_code == 409  # still pending
    finish_all(executor)
    copy = client.post(f"{API}/tasks/{created['id']}/requeue", json={"position": "top"})
    assert copy.status_code == 201
    assert copy.json()["id"] != created["id"] and copy.json()["requeued_from"] == created["id"]
    assert copy.json()["status"] == "pending"
    copies = client.post(f"{API}/tasks/requeue-failed").json()["tasks"]
    assert [t["requeued_from"] for t in copies] == [created["id"]]


def test_bookmark_unbookmark_rename(client):
    created = queue_txt2img(client)
    assert client.post(f"{API}/tasks/{created['id']}/bookmark").json()["bookmarked"] is True
    assert client.post(f"{API}/tasks/{created['id']}/unbookmark").json()["bookmarked"] is False
    renamed = client.post(f"{API}/tasks/{created['id']}/rename", json={"name": "portraits"})
    assert renamed.json()["name"] == "portraits"
    assert client.post(f"{API}/tasks/{created['id']}/rename", json={"name": "x" * 201}).status_code == 422
    assert client.post(f"{API}/tasks/{created['id']}/rename", json={}).status_code == 422


def test_delete_pending_and_stop_running(client, queue, executor, runner):
    pending = queue_txt2img(client)
    assert client.delete(f"{API}/tasks/{pending['id']}").json()["status"] == "deleted"
    assert client.get(f"{API}/tasks/{pending['id']}").status_code == 404

    started, release = threading.Event(), threading.Event()

    def hold(task):
        started.set()
        release.wait(5)
        return None

    runner.behaviour = hold
    running = queue_txt2img(client)
    worker = threading.Thread(target=executor.run_one)
    worker.start()
    assert started.wait(5)
    assert client.delete(f"{API}/tasks/{running['id']}").json()["status"] == "stopping"
    assert runner.interrupted.is_set()
    release.set()
    worker.join(5)
    assert client.get(f"{API}/tasks/{running['id']}").json()["status"] == "cancelled"


def test_pause_resume_clear_queue_and_history(client, queue, executor):
    assert client.post(f"{API}/queue/pause").json()["paused"] is True
    queue_txt2img(client)
    assert finish_all(executor) == 0
    assert client.post(f"{API}/queue/resume").json()["paused"] is False
    assert finish_all(executor) == 1
    keep = client.get(f"{API}/history").json()["tasks"][0]["id"]
    client.post(f"{API}/tasks/{keep}/bookmark")
    queue_txt2img(client)
    finish_all(executor)
    queue_txt2img(client)
    client.post(f"{API}/queue/pause")
    assert client.post(f"{API}/queue/clear").json() == {"deleted": 1}
    assert client.post(f"{API}/history/clear").json() == {"deleted": 1}
    assert [t["id"] for t in client.get(f"{API}/history").json()["tasks"]] == [keep]
    assert client.post(f"{API}/history/clear", params={"keep_bookmarked": False}).json() == {"deleted": 1}


# -- results -----------------------------------------------------------------------------------


def test_results_as_json_zip_and_single_images(client, queue, executor, image_runner):
    created = queue_txt2img(client, prompt="a cat")
    assert client.get(f"{API}/tasks/{created['id']}/results").status_code == 409
    finish_all(executor)
    body = client.get(f"{API}/tasks/{created['id']}/results").json()
    assert body["status"] == "done" and len(body["images"]) == 2
    first = body["images"][0]
    assert first["image"].startswith("data:image/png;base64,")
    assert first["infotext"].startswith("a cat\nSteps: 2")
    archive = client.get(f"{API}/tasks/{created['id']}/results.zip")
    assert archive.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert names == [first["name"], body["images"][1]["name"]]
    image = client.get(f"{API}/tasks/{created['id']}/results/1")
    assert image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (32, 24)
    thumb = client.get(f"{API}/tasks/{created['id']}/results/0", params={"thumbnail": 16})
    assert thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 16
    assert client.get(f"{API}/tasks/{created['id']}/results/2").status_code == 404
    assert client.get(f"{API}/tasks/{created['id']}/results/-1").status_code == 404
    assert client.get(f"{API}/tasks/{created['id']}/results/0", params={"thumbnail": 1}).status_code == 422


def test_results_are_served_only_from_the_tasks_own_files(client, queue, executor, image_runner, tmp_path):
    created = queue_txt2img(client)
    finish_all(executor)
    for name in ("..%2F..%2Fetc%2Fpasswd", "../../etc/passwd", "%2Fetc%2Fpasswd", "0.png", "1e3"):
        response = client.get(f"{API}/tasks/{created['id']}/results/{name}")
        assert response.status_code in (404, 422), name
        assert b"root:" not in response.content
    task = queue.get(created["id"])
    Path(task.result.images[0]).unlink()
    body = client.get(f"{API}/tasks/{created['id']}/results").json()
    assert body["images"][0]["image"] is None and body["images"][1]["image"]
    assert client.get(f"{API}/tasks/{created['id']}/results/0").status_code == 404
    names = zipfile.ZipFile(
        io.BytesIO(client.get(f"{API}/tasks/{created['id']}/results.zip").content)
    ).namelist()
    assert names == [Path(task.result.images[1]).name]


def test_a_failed_task_has_no_result_images(client, executor, runner):
    runner.behaviour = lambda task: (_ for _ in ()).throw(RuntimeError("no"))
    created = queue_txt2img(client)
    finish_all(executor)
    assert client.get(f"{API}/tasks/{created['id']}/results").json()["images"] == []
    assert client.get(f"{API}/tasks/{created['id']}/results/0").status_code == 404


# -- long-poll, WebUI facts, export / import, store errors, docs --------------------------------


def test_wait_answers_on_change_or_timeout(client, queue):
    queue_txt2img(client)
    revision = queue.revision
    assert client.get(f"{API}/wait", params={"revision": revision - 1, "timeout": 5}).json() == {
        "revision": revision,
        "changed": True,
    }
    started = time.monotonic()
    idle = client.get(f"{API}/wait", params={"revision": revision, "timeout": 0.05}).json()
    assert idle == {"revision": revision, "changed": False} and time.monotonic() - started < 2
    timer = threading.Timer(0.1, queue.pause)
    timer.start()
    woken = client.get(f"{API}/wait", params={"revision": revision, "timeout": 5}).json()
    timer.join()
    assert woken["changed"] is True and woken["revision"] > revision
    assert client.get(f"{API}/wait").status_code == 422
    assert client.get(f"{API}/wait", params={"revision": 0, "timeout": -1}).status_code == 422


def test_samplers_and_checkpoints_come_from_the_webui(client):
    assert "Euler a" in client.get(f"{API}/samplers").json()
    assert len(client.get(f"{API}/checkpoints").json()) == 2


def test_without_a_webui_the_lists_are_empty(queue, files):
    from fastapi.testclient import TestClient
    from test_http_helpers import make_app

    from task_scheduler.http_api import ApiServices

    bare = TestClient(make_app(ApiServices(queue=queue, files=files)))
    assert bare.get(f"{API}/samplers").json() == []
    assert bare.get("/agent-scheduler/v1/sd-models").json() == []


def test_export_and_import_round_trip_with_files(client, queue):
    client.post(
        f"{API}/queue/img2img", json={"prompt": "dog", "init_images": [b64(png_bytes())], "name": "d"}
    )
    queue_txt2img(client, prompt="cat", alwayson_scripts={"ADetailer": {"args": [True]}})
    exported = client.get(f"{API}/export").json()
    assert [t["params"]["prompt"] for t in exported] == ["dog", "cat"]
    assert len(exported[0]["files"]) == 1
    client.post(f"{API}/queue/clear")
    imported = client.post(f"{API}/import", json={"tasks": exported})
    assert imported.status_code == 201, imported.text
    tasks = queue.pending()
    assert [t.params["prompt"] for t in tasks] == ["dog", "cat"]
    assert queue.files_of(tasks[0].id) == [tasks[0].params["init_img"]["$image"]]
    assert tasks[1].script_args == {"ADetailer": [True]}
    missing = dict(exported[0], files={})
    response = client.post(f"{API}/import", json={"tasks": [exported[1], missing]})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][:2] == ["tasks", "1"]
    assert len(queue.pending()) == 2


def test_store_unavailable_is_503(client, store):
    store.close()
    response = client.get(f"{API}/queue")
    assert response.status_code == 503 and "unavailable" in response.json()["detail"]


def test_openapi_documents_the_routes_with_examples(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/task-scheduler/v1/queue/txt2img",
        "/task-scheduler/v1/tasks/{task_id}/results/{index}",
        "/task-scheduler/v1/wait",
        "/agent-scheduler/v1/task/{id}/results",
    ):
        assert path in paths
    component = schema["components"]["schemas"]["Txt2ImgRequest"]
    assert component.get("example") or component.get("examples")
    assert "checkpoint" in component["properties"] and "alwayson_scripts" in component["properties"]


def test_huge_offsets_are_refused_not_crashing(client):
    huge = 10**40
    for path in ("/task-scheduler/v1/queue", "/task-scheduler/v1/history", "/agent-scheduler/v1/queue"):
        assert client.get(path, params={"offset": huge}).status_code == 422, path
    assert client.get("/agent-scheduler/v1/history", params={"offset": huge}).status_code == 422

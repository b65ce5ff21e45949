"""``/task-scheduler/``: the API of seed 003's extension, as one of its clients uses it.

The first test is written only from the seed's API section (``setup_api``: queue, cancel, start,
stop) and that extension's README and request model (``QueueTaskRequest``: prompt,
negative_prompt, steps, cfg_scale, width, height, batch_size, n_iter, seed, sampler_name,
scheduler, extra_params; ``{"success": ...}`` answers; statuses pending / running / completed /
failed / cancelled / stopped). The others pin what the seed got wrong: every field honoured when
the task runs, real status codes, limits and auth like every other route.
"""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import json
import threading

from fastapi.testclient import TestClient
from test_http_helpers import (  # noqa: F401 - fixtures
    client,
    data_url,
    finish_all,
    image_runner,
    outputs,
    png_bytes,
    services,
    settings,
)

from task_scheduler.http_api.seed_compat import SEED_STATUS
from task_scheduler.task import TaskStatus

SEED = "/task-scheduler"

EVERY_FIELD = {
    "prompt": "a lighthouse at dusk",
    "negative_prompt": "blurry",
    "steps": 7,
    "cfg_scale": 4.5,
    "width": 320,
    "height": 192,
    "batch_size": 2,
    "n_iter": 3,
    "seed": 1234,
    "sampler_name": "Euler a",
    "scheduler": "Karras",
    "extra_params": {"enable_hr": True, "hr_scale": 1.5, "hr_upscaler": "Latent", "denoising_strength": 0.4},
}


def queue_seed(client, kind="txt2img", **body) -> str:
    response = client.post(f"{SEED}/queue/{kind}", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["success"] is True and answer["message"].startswith("Task queued: ")
    return answer["task_id"]


def test_a_seed_client_queues_inspects_and_steers_the_queue(client, executor, image_runner, queue):
    assert client.post(f"{SEED}/pause").json() == {
        "success": True,
        "is_paused": True,
        "message": "Queue paused",
    }
    task_id = queue_seed(client, **EVERY_FIELD)

    listed = client.get(f"{SEED}/queue").json()
    assert listed["success"] is True
    [entry] = listed["tasks"]
    assert entry["id"] == task_id and entry["task_type"] == "txt2img" and entry["status"] == "pending"
    assert entry["name"] == "txt2img: a lighthouse at dusk"
    assert (entry["sampler_name"], entry["scheduler"], entry["width"], entry["height"]) == (
        "Euler a",
        "Karras",
        320,
        192,
    )
    assert (entry["batch_size"], entry["n_iter"], entry["enable_hr"]) == (2, 3, True)

    detail = client.get(f"{SEED}/queue/{task_id}").json()
    assert detail["success"] is True
    params = json.loads(detail["task"]["params"])  # the seed stores params as JSON text
    for name, value in EVERY_FIELD.items():
        if name != "extra_params":
            assert params[name] == value, name
    for name, value in EVERY_FIELD["extra_params"].items():
        assert params[name] == value, name

    status = client.get(f"{SEED}/status").json()
    assert status["success"] is True and status["is_paused"] is True and status["is_running"] is False
    assert status["button_states"] == {"start": True, "stop": False, "pause": False, "clear": False}
    assert status["queue_stats"]["pending"] == 1 and status["queue_stats"]["total"] == 1

    # run just this task on the paused queue
    assert client.post(f"{SEED}/queue/{task_id}/run").json()["success"] is True
    assert finish_all(executor) == 1
    done = client.get(f"{SEED}/queue/{task_id}").json()["task"]
    assert done["status"] == "completed"
    assert len(json.loads(done["result_images"])) == 2 and done["result_info"].startswith(
        EVERY_FIELD["prompt"]
    )

    # cancel a pending one, retry it, and clear the finished ones
    other = queue_seed(client, prompt="second")
    assert client.post(f"{SEED}/queue/{other}/cancel").json() == {
        "success": True,
        "message": "Task cancelled",
    }
    assert client.get(f"{SEED}/queue/{other}").json()["task"]["status"] == "cancelled"
    retried = client.post(f"{SEED}/queue/{other}/retry").json()
    assert retried["success"] is True and retried["task_id"] != other
    assert queue.get(retried["task_id"]).status is TaskStatus.PENDING

    started = client.post(f"{SEED}/start").json()
    assert started == {"success": True, "started": True, "message": "Queue started"}
    assert client.post(f"{SEED}/start").json()["started"] is False
    assert finish_all(executor) == 1
    cleared = client.post(f"{SEED}/clear").json()
    assert cleared == {"success": True, "cleared": 3, "message": "Cleared 3 tasks"}
    assert client.get(f"{SEED}/queue").json()["tasks"] == []


def test_every_status_has_the_seed_word_its_clients_know():
    assert {status: SEED_STATUS[status] for status in TaskStatus} == {
        TaskStatus.PENDING: "pending",
        TaskStatus.RUNNING: "running",
        TaskStatus.DONE: "completed",
        TaskStatus.FAILED: "failed",
        TaskStatus.CANCELLED: "cancelled",
        TaskStatus.INTERRUPTED: "stopped",
    }


def test_left_out_fields_get_the_seed_defaults_not_the_webui_defaults(client, queue):
    task = queue.get(queue_seed(client, prompt="defaults"))
    assert {k: task.params[k] for k in ("steps", "cfg_scale", "width", "height", "seed", "sampler_name")} == {
        "steps": 20,
        "cfg_scale": 7.0,
        "width": 512,
        "height": 512,
        "seed": -1,
        "sampler_name": "Euler",
    }
    img = queue.get(
        queue_seed(
            client, kind="img2img", prompt="i2i", extra_params={"init_images": [data_url(png_bytes())]}
        )
    )
    assert img.kind == "img2img" and img.params["denoising_strength"] == 0.75


def test_bad_bodies_are_refused_with_the_seed_error_shape_and_nothing_is_queued(client, queue):
    unknown = client.post(f"{SEED}/queue/txt2img", json={"prompt": "x", "extra_params": {"stepz": 3}})
    assert unknown.status_code == 422
    assert unknown.json()["success"] is False and "extra_params.stepz" in unknown.json()["error"]
    too_many = client.post(f"{SEED}/queue/txt2img", json={"steps": 10**9})
    assert too_many.status_code == 422 and too_many.json()["success"] is False
    in_extra = client.post(f"{SEED}/queue/txt2img", json={"extra_params": {"width": 10**7}})
    assert in_extra.status_code == 422 and "extra_params.width" in in_extra.json()["error"]
    assert queue.count(TaskStatus.PENDING) == 0


def test_refusals_have_real_status_codes(client, queue, executor, runner):
    missing = client.get(f"{SEED}/queue/nope")
    assert missing.status_code == 404 and missing.json()["success"] is False
    assert client.delete(f"{SEED}/queue/nope").status_code == 404
    assert client.post(f"{SEED}/queue/nope/retry").status_code == 404

    gate = threading.Event()
    runner.behaviour = lambda task: gate.wait(10) and None
    running = queue_seed(client, prompt="long")
    waiting = queue_seed(client, prompt="next")
    worker = threading.Thread(target=executor.run_one)
    worker.start()
    try:
        for _ in range(500):
            if queue.get(running).status is TaskStatus.RUNNING:
                break
            threading.Event().wait(0.01)
        busy = client.post(f"{SEED}/queue/{waiting}/run")
        assert busy.status_code == 400
        assert busy.json()["error"] == "Another task is already running"
        not_pending = client.post(f"{SEED}/queue/{running}/cancel")
        assert (
            not_pending.status_code == 400 and not_pending.json()["error"] == "Task not found or not pending"
        )
        assert client.post(f"{SEED}/queue/{waiting}/retry").status_code == 400  # not finished yet

        stopped = client.post(f"{SEED}/stop").json()
        assert stopped == {"success": True, "message": "Queue stopped"}
    finally:
        gate.set()
        worker.join(10)
    assert queue.get(running).status is TaskStatus.INTERRUPTED
    assert client.get(f"{SEED}/queue/{running}").json()["task"]["status"] == "stopped"
    assert queue.paused and queue.get(waiting).status is TaskStatus.PENDING


def test_seed_routes_need_the_same_auth(services):
    from test_http_helpers import make_app

    services.auth = ["alice:s3cret"]
    client = TestClient(make_app(services))
    anonymous = client.get(f"{SEED}/queue")
    assert anonymous.status_code == 401 and anonymous.json()["success"] is False
    assert client.get(f"{SEED}/queue", auth=("alice", "s3cret")).status_code == 200


def test_every_documented_field_reaches_the_webui(webui, tmp_path, monkeypatch):
    """The seed's own extension ran such a task with 20 steps, DPM++ 2M and a random seed."""
    from test_extension import load_script, wait_until

    from task_scheduler import config
    from task_scheduler.webui import extension

    monkeypatch.setenv(config.ENV_DB_PATH, str(tmp_path / "db" / "queue.sqlite3"))
    load_script("task_scheduler")
    webui.add_script(load_script("task_scheduler_params").TaskSchedulerParams)
    try:
        client = TestClient(webui.simulate_startup())
        body = {
            "prompt": "seed api",
            "negative_prompt": "ugly",
            "steps": 3,
            "cfg_scale": 5.5,
            "width": 64,
            "height": 48,
            "batch_size": 2,
            "n_iter": 2,
            "seed": 4321,
            "sampler_name": "Euler a",
            "scheduler": "Karras",
        }
        task_id = queue_seed(client, **body)
        queue = extension.state().queue
        assert wait_until(lambda: queue.get(task_id).is_finished, timeout=20)
        task = queue.get(task_id)
        assert task.status is TaskStatus.DONE, task.error
        assert task.result.seeds == [4321, 4322, 4323, 4324]
        infotext = task.result.infotexts[0]
        assert infotext.startswith("seed api\nNegative prompt: ugly\n")
        for fragment in (
            "Steps: 3",
            "Sampler: Euler a",
            "Schedule type: Karras",
            "CFG scale: 5.5",
            "Size: 64x48",
        ):
            assert fragment in infotext
    finally:
        extension.shutdown()


def test_bookmarks_round_trip_and_reach_our_saved_tasks(client, queue):
    from task_scheduler.task import NewTask

    none_yet = client.post(f"{SEED}/bookmarks", params={"name": "nothing"})
    assert none_yet.status_code == 400
    assert none_yet.json()["error"] == "No valid intercept data available. Use the Queue button first."

    task_id = queue_seed(client, prompt="from the api", steps=9)
    made = client.post(f"{SEED}/bookmarks/from-task/{task_id}").json()
    assert (
        made["success"] is True
        and made["message"] == "Bookmark 'Bookmark from txt2img: from the api' created"
    )
    clicked = queue.enqueue(NewTask(kind="txt2img", params={"prompt": "clicked", "steps": 3}, source="ui"))
    saved = client.post(f"{SEED}/bookmarks", params={"name": "my click"}).json()
    assert saved == {"success": True, "bookmark_id": saved["bookmark_id"], "message": "my click saved!"}

    assert client.get(f"{SEED}/bookmarks/count").json() == {"success": True, "count": 2}
    listed = client.get(f"{SEED}/bookmarks").json()
    assert listed["success"] is True and listed["count"] == 2
    assert [b["name"] for b in listed["bookmarks"]] == ["my click", "Bookmark from txt2img: from the api"]
    assert listed["bookmarks"][0]["params"]["prompt"] == clicked.prompt  # params parsed, as the seed did
    one = client.get(f"{SEED}/bookmarks/{saved['bookmark_id']}").json()["bookmark"]
    assert (one["task_type"], one["params"]["steps"], one["script_args"]) == ("txt2img", 3, {})

    renamed = client.put(f"{SEED}/bookmarks/{saved['bookmark_id']}", params={"name": "renamed"})
    assert renamed.json() == {"success": True, "message": "Bookmark updated"}
    ours = client.get("/task-scheduler/v1/saved").json()
    assert sorted(s["name"] for s in ours["saved"]) == ["Bookmark from txt2img: from the api", "renamed"]
    assert client.delete(f"{SEED}/bookmarks/{saved['bookmark_id']}").json()["success"] is True
    gone = client.delete(f"{SEED}/bookmarks/{saved['bookmark_id']}")
    assert gone.status_code == 404 and gone.json()["success"] is False
    assert client.get(f"{SEED}/bookmarks/count").json()["count"] == 1

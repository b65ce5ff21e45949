"""/agent-scheduler/v1 as an Agent Scheduler client sees it.

The first test is written only from Agent Scheduler's documented API (its README and route
list): queue txt2img and get ``{"task_id"}``, poll ``/task/{id}``, fetch ``/results`` as JSON
and as a zip, pause / resume, and a ``callback_url`` receiver on loopback that gets the
multipart post. The others pin each compat route's shape and the bugs we deliberately fixed.
"""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import base64
import io
import json
import time
import zipfile

import pytest
from test_http_helpers import (  # noqa: F401 - fixtures
    API,
    AS,
    Receiver,
    b64,
    client,
    finish_all,
    image_runner,
    outputs,
    png_bytes,
    services,
    settings,
)

from task_scheduler.http_api import CallbackSender
from task_scheduler.task import TaskStatus

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def test_agent_scheduler_client_workflow(client, executor, image_runner, queue, services):
    services.settings.allow_private_callbacks = True  # the receiver below listens on 127.0.0.1
    sender = CallbackSender(queue, backoff_s=0.05, settings=services.settings).start()
    executor.start()
    try:
        with Receiver() as receiver:
            # pause first, so the task waits until the client resumes the queue
            paused = client.post(f"{AS}/queue/pause")
            assert paused.status_code == 200 and paused.json()["success"] is True
            queued = client.post(
                f"{AS}/queue/txt2img",
                json={
                    "prompt": "1girl",
                    "negative_prompt": "easynegative",
                    "steps": 20,
                    "sampler_name": "Euler a",
                    "callback_url": receiver.url,
                },
            )
            assert queued.status_code == 200
            task_id = queued.json()["task_id"]
            status = client.get(f"{AS}/queue").json()
            assert status["paused"] is True
            assert [t["id"] for t in status["pending_tasks"]] == [task_id]
            assert client.get(f"{AS}/task/{task_id}").json()["data"]["status"] == "pending"

            assert client.post(f"{AS}/queue/resume").json()["success"] is True
            deadline = time.monotonic() + 10
            while True:
                task = client.get(f"{AS}/task/{task_id}").json()
                assert task["success"] is True
                if task["data"]["status"] in ("done", "failed", "interrupted"):
                    break
                assert time.monotonic() < deadline, "task did not finish"
                time.sleep(0.02)
            assert task["data"]["status"] == "done"

            results = client.get(f"{AS}/task/{task_id}/results").json()
            assert results["success"] is True and len(results["data"]) == 2
            for item in results["data"]:
                assert item["image"].startswith("data:image/png;base64,")
                assert item["infotext"].startswith("1girl")
                base64.b64decode(item["image"].split(",", 1)[1])
            archive = client.get(f"{AS}/task/{task_id}/results", params={"zip": "true"})
            assert archive.headers["content-type"] == "application/zip"
            assert f"results-{task_id}.zip" in archive.headers["content-disposition"]
            assert len(zipfile.ZipFile(io.BytesIO(archive.content)).namelist()) == 2

            assert receiver.event.wait(10), "no callback arrived"
            post = receiver.posts[0]
            assert post["fields"] == {"task_id": task_id, "status": "done"}
            assert [f[1] for f in post["files"]] == ["image/png", "image/png"]
            assert post["files"][0][2].startswith(b"\x89PNG")
    finally:
        executor.stop()
        sender.close()


# -- every compat route ------------------------------------------------------------------------


def _queue(client, **body):
    body.setdefault("prompt", "a cat")
    response = client.post(f"{AS}/queue/txt2img", json=body)
    assert response.status_code == 200, response.text
    return response.json()["task_id"]


def test_task_model_shape_and_iso_timestamps_everywhere(client, queue):
    task_id = _queue(client, checkpoint="v1-5", styles=["Photo"], callback_url="http://hooks.example.com:9/x")
    data = client.get(f"{AS}/task/{task_id}").json()["data"]
    assert set(data) >= {
        "id",
        "api_task_id",
        "api_task_callback",
        "name",
        "type",
        "status",
        "params",
        "priority",
        "position",
        "result",
        "bookmarked",
        "created_at",
        "updated_at",
    }
    assert data["type"] == "txt2img" and data["position"] == 0
    assert data["params"]["styles"] == ["Photo"] and data["params"]["checkpoint"] == "v1-5"
    assert data["api_task_callback"] == "http://hooks.example.com:9/x"
    listed = client.get(f"{AS}/queue").json()["pending_tasks"][0]
    history_free = client.get(f"{AS}/history").json()
    assert history_free == {"tasks": [], "total": 0}
    for value in (data["created_at"], listed["created_at"], listed["updated_at"]):
        assert isinstance(value, str) and value.endswith("Z")


def test_img2img_queue(client, queue):
    response = client.post(f"{AS}/queue/img2img", json={"prompt": "x", "init_images": [b64(png_bytes())]})
    assert response.status_code == 200
    assert queue.get(response.json()["task_id"]).kind == "img2img"
    bad = client.post(f"{AS}/queue/img2img", json={"init_images": ["https://example.invalid/x.png"]})
    assert bad.status_code == 422
    assert bad.json()["success"] is False and "remote URLs" in bad.json()["message"]


def test_queue_lists_the_running_task_first(client, queue):
    a, b, c = (_queue(client, prompt=p) for p in "abc")
    queue.claim_next()
    body = client.get(f"{AS}/queue").json()
    assert body["current_task_id"] == a and body["total_pending_tasks"] == 3
    assert [(t["id"], t["status"], t["position"]) for t in body["pending_tasks"]] == [
        (a, "running", 0),
        (b, "pending", 1),
        (c, "pending", 2),
    ]
    page = client.get(f"{AS}/queue", params={"limit": 1, "offset": 2}).json()["pending_tasks"]
    assert [(t["id"], t["position"]) for t in page] == [(c, 2)]
    assert client.get(f"{AS}/task/{c}/position").json() == {
        "success": True,
        "data": {"status": "pending", "position": 2},
    }


def test_history_statuses_and_total(client, executor, runner):
    runner.behaviour = lambda task: (
        (_ for _ in ()).throw(RuntimeError("bad")) if task.prompt == "bad" else None
    )
    done, failed = _queue(client, prompt="good"), _queue(client, prompt="bad")
    finish_all(executor)
    client.post(f"{AS}/task/{done}/bookmark")
    everything = client.get(f"{AS}/history", params={"status": "all"}).json()
    assert everything["total"] == 2
    failures = client.get(f"{AS}/history", params={"status": "failed"}).json()
    assert [t["id"] for t in failures["tasks"]] == [failed] and failures["total"] == 1
    assert failures["tasks"][0]["result"] == "RuntimeError: bad"
    marked = client.get(f"{AS}/history", params={"status": "bookmarked"}).json()
    assert [t["id"] for t in marked["tasks"]] == [done] and marked["total"] == 1  # AS counted all
    assert client.get(f"{AS}/history", params={"status": "weird"}).status_code == 422


def test_put_applies_params_without_a_checkpoint(client, queue):
    task_id = _queue(client, steps=20)
    response = client.put(
        f"{AS}/task/{task_id}",
        json={"name": "edited", "params": {"steps": 35, "prompt": "a dog", "styles": ["x"]}},
    )
    assert response.json() == {"success": True, "message": "Task updated."}
    task = queue.get(task_id)
    assert task.name == "edited" and task.params["steps"] == 35 and task.params["prompt"] == "a dog"
    assert task.params["prompt_styles"] == ["x"]
    client.put(f"{AS}/task/{task_id}", json={"checkpoint": "sd_xl", "params": {"eta": 0.2, "vae": "ae"}})
    task = queue.get(task_id)
    assert task.checkpoint == "sd_xl" and task.params["processing"] == {"eta": 0.2}
    assert task.params["override_settings"] == {"sd_vae": "ae"}
    bad = client.put(f"{AS}/task/{task_id}", json={"params": {"steps": "x"}})
    assert bad.status_code == 422 and bad.json()["success"] is False
    assert client.put(f"{AS}/task/{task_id}", json={"params": {"nonsense": 1}}).status_code == 422
    assert client.put(f"{AS}/task/{task_id}", json={"params": {"init_images": []}}).status_code == 422
    queue.claim_next()
    assert client.put(f"{AS}/task/{task_id}", json={"name": "late"}).status_code == 409


def test_run_requeue_delete_move_bookmark_rename(client, queue, executor, runner):
    a, b, c = (_queue(client, prompt=p) for p in "abc")
    assert client.post(f"{AS}/task/{c}/move/top").json()["success"] is True
    assert [t.id for t in queue.pending()] == [c, a, b]
    client.post(f"{AS}/task/{c}/move/{b}")  # dragged down over b: lands after it
    assert [t.id for t in queue.pending()] == [a, b, c]
    client.post(f"{AS}/task/{c}/move/{a}")  # dragged up over a: lands before it
    assert [t.id for t in queue.pending()] == [c, a, b]
    client.post(f"{AS}/task/{c}/move/bottom")
    assert [t.id for t in queue.pending()] == [a, b, c]
    client.post(f"{AS}/queue/pause")
    assert client.post(f"{AS}/task/{b}/run").json()["message"] == "Task is executing"
    finish_all(executor)
    assert runner.ran == [b]
    requeued = client.post(f"{AS}/task/{b}/requeue").json()
    assert requeued["success"] is True and queue.get(requeued["task_id"]).requeued_from == b
    assert client.post(f"{AS}/task/{b}/bookmark").json()["message"] == "Task bookmarked"
    assert queue.get(b).bookmarked is True
    assert client.post(f"{AS}/task/{b}/unbookmark").json()["message"] == "Task unbookmarked"
    assert client.post(f"{AS}/task/{b}/rename", params={"name": "kept"}).json()["success"] is True
    assert queue.get(b).name == "kept"
    assert client.post(f"{AS}/task/{b}/rename").status_code == 422
    assert client.delete(f"{AS}/task/{a}").json() == {"success": True, "message": "Task deleted"}
    assert client.post(f"{AS}/task/{b}/run").status_code == 409  # finished: cannot run


def test_deprecated_aliases_still_work(client, queue):
    a, b = _queue(client, prompt="a"), _queue(client, prompt="b")
    assert client.post(f"{AS}/move/{b}/top").json()["success"] is True
    assert client.post(f"{AS}/bookmark/{a}").json()["success"] is True
    assert client.post(f"{AS}/unbookmark/{a}").json()["success"] is True
    assert client.post(f"{AS}/rename/{a}", params={"name": "n"}).json()["success"] is True
    assert client.post(f"{AS}/pause").json()["message"] == "Queue paused."
    assert client.post(f"{AS}/resume").json()["message"] == "Queue resumed."
    assert client.post(f"{AS}/delete/{a}").json()["message"] == "Task deleted"
    assert client.post(f"{AS}/run/{b}").json()["success"] is True
    assert client.get(f"{AS}/results/{b}").status_code == 409


def test_requeue_failed_clear_queue_and_history(client, queue, executor, runner):
    runner.behaviour = lambda task: (_ for _ in ()).throw(RuntimeError("x"))
    failed = _queue(client)
    finish_all(executor)
    runner.behaviour = None
    response = client.post(f"{AS}/task/requeue-failed").json()
    assert response["message"] == "Requeued 1 failed tasks"
    client.post(f"{AS}/queue/pause")
    assert client.post(f"{AS}/queue/clear").json()["message"] == "Queue cleared."
    assert queue.count(TaskStatus.PENDING) == 0
    client.post(f"{AS}/task/{failed}/bookmark")
    _queue(client)
    client.post(f"{AS}/queue/resume")
    finish_all(executor)
    assert client.post(f"{AS}/history/clear").json()["success"] is True
    assert [t["id"] for t in client.get(f"{AS}/history").json()["tasks"]] == [failed]


def test_errors_are_real_status_codes_with_success_false(client, queue):
    missing = client.get(f"{AS}/task/nope")
    assert missing.status_code == 404
    assert missing.json()["success"] is False and "nope" in missing.json()["message"]
    for method, path in (
        ("post", "/task/nope/bookmark"),
        ("post", "/task/nope/unbookmark"),
        ("post", "/task/nope/requeue"),
        ("post", "/task/nope/run"),
        ("delete", "/task/nope"),
        ("get", "/task/nope/position"),
        ("get", "/task/nope/results"),
    ):
        assert getattr(client, method)(AS + path).status_code == 404, path
    pending = _queue(client)
    early = client.get(f"{AS}/task/{pending}/results")
    assert early.status_code == 409 and early.json()["success"] is False
    unknown = client.post(f"{AS}/queue/txt2img", json={"prompt": "x", "not_a_field": 1})
    assert unknown.status_code == 422 and "not_a_field" in unknown.json()["message"]


def test_export_is_json_and_import_never_unpickles(client, queue):
    _queue(client, prompt="exported", alwayson_scripts={"ADetailer": {"args": [True]}})
    exported = client.get(f"{AS}/export").json()
    assert exported[0]["params"]["prompt"] == "exported"
    client.post(f"{AS}/queue/clear")
    ours = client.post(f"{AS}/import", json={"content": json.dumps(exported)})
    assert ours.json()["success"] is True
    assert queue.pending()[0].script_args == {"ADetailer": [True]}

    # an Agent Scheduler export: named params as JSON text, script_params as a pickle blob
    blob = base64.b64encode(b"\x80\x04\x95 pickled data that must never be loaded").decode()
    as_item = {
        "id": "f8c9d2e0-0000-4000-8000-000000000000",
        "api_task_id": None,
        "api_task_callback": None,
        "name": "from AS",
        "type": "txt2img",
        "params": json.dumps(
            {"args": {"prompt": "imported", "steps": 9, "sampler_name": "Euler"}, "checkpoint": "v1-5"}
        ),
        "script_params": blob,
        "priority": 1700000000000,
        "status": "done",
        "result": json.dumps({"images": ["/etc/passwd"], "infotexts": ["x"]}),
        "bookmarked": True,
        "created_at": 1700000000,
        "updated_at": 1700000000,
    }
    response = client.post(f"{AS}/import", json={"content": json.dumps([as_item])})
    assert response.status_code == 200 and response.json()["success"] is True
    task = queue.get(response.json()["task_ids"][0])
    assert task.status is TaskStatus.PENDING and task.result is None and not task.bookmarked
    assert (task.params["prompt"], task.params["steps"], task.checkpoint, task.name) == (
        "imported",
        9,
        "v1-5",
        "from AS",
    )
    assert task.script_args == {}
    for content in ("not json", json.dumps({"a": 1}), json.dumps([{"type": "video"}])):
        bad = client.post(f"{AS}/import", json={"content": content})
        assert bad.status_code == 422 and bad.json()["success"] is False
    assert client.post(f"{AS}/import", json={"tasks": []}).status_code == 422


@pytest.mark.parametrize("zip_flag", ["false", "true"])
def test_results_of_interrupted_tasks_with_images(client, queue, executor, image_runner, zip_flag):
    task_id = _queue(client)
    image_runner.interrupted.set()
    original = image_runner.behaviour

    def interrupted_run(task):
        result = original(task)
        image_runner.interrupted.set()
        return result

    image_runner.behaviour = interrupted_run
    finish_all(executor)
    assert client.get(f"{AS}/task/{task_id}").json()["data"]["status"] == "interrupted"
    assert client.get(f"{AS}/task/{task_id}/results", params={"zip": zip_flag}).status_code == 200

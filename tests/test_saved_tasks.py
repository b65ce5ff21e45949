"""Saved tasks: named templates that are queued again, in the core and through /task-scheduler/v1/saved."""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import pytest
from test_http_helpers import (  # noqa: F401 - fixtures
    API,
    client,
    data_url,
    finish_all,
    image_runner,
    outputs,
    png_bytes,
    services,
    settings,
)

from task_scheduler.errors import InvalidTaskData, TaskNotFound
from task_scheduler.saved_tasks import SavedTasks
from task_scheduler.task import NewTask, TaskStatus

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


@pytest.fixture
def saved(queue, files) -> SavedTasks:
    return SavedTasks(queue)


def img2img_task(files, prompt="a cat on a mat") -> NewTask:
    ref = files.put(png_bytes(), "png")
    return NewTask(
        kind="img2img",
        params={"prompt": prompt, "seed": 77, "init_images": [{"$file": ref}], "steps": 4},
        script_args={"ADetailer": [True, {"ad_model": "face_yolov8n.pt"}]},
        checkpoint="v1-5-pruned",
        files=[ref],
    )


def test_a_saved_task_is_queued_again_with_its_seed_or_new_seeds(saved, queue, files):
    template = saved.save(img2img_task(files), "cat, soft light")
    assert queue.count(TaskStatus.PENDING) == 0  # saving queues nothing
    [same] = saved.queue_copies(template.id)
    assert same.params == template.params and same.script_args == template.script_args
    assert (same.kind, same.checkpoint, same.name) == ("img2img", "v1-5-pruned", "cat, soft light")
    assert queue.files_of(same.id) == template.files

    draws = iter([5, 6, 7])
    fresh = saved.queue_copies(template.id, times=3, new_seeds=True, rng=lambda: next(draws))
    assert [t.params["seed"] for t in fresh] == [5, 6, 7]
    assert [t.batching for t in fresh] == ["repeat"] * 3 and same.batching is None
    assert saved.get(template.id).params["seed"] == 77  # the template keeps its own
    with pytest.raises(InvalidTaskData, match="times"):
        saved.queue_copies(template.id, times=0)


def test_deleting_the_task_it_was_saved_from_keeps_its_image(saved, queue, files):
    task = queue.enqueue(img2img_task(files))
    template = saved.save_task(task.id)
    assert template.name == "a cat on a mat"  # no name: its prompt
    [ref] = template.files
    queue.delete(task.id)
    assert files.exists(ref)
    [copy] = saved.queue_copies(template.id)
    assert files.read(ref) == png_bytes()
    queue.delete(copy.id)
    assert files.exists(ref)
    saved.delete(template.id)
    assert not files.exists(ref)  # the last user is gone
    with pytest.raises(TaskNotFound, match="saved task"):
        saved.get(template.id)


def test_edit_merges_and_refuses_what_a_task_refuses(saved, files):
    template = saved.save(img2img_task(files), "one")
    edited = saved.edit(template.id, name="two", checkpoint="", params={"steps": 9, "seed": None})
    assert edited.name == "two" and edited.checkpoint is None
    assert edited.params["steps"] == 9 and "seed" not in edited.params
    assert saved.get(template.id).params == edited.params
    with pytest.raises(InvalidTaskData, match="name"):
        saved.edit(template.id, name=" ")
    with pytest.raises(InvalidTaskData, match="params"):
        saved.edit(template.id, params={"cfg_scale": float("nan")})
    assert saved.get(template.id).name == "two"


def test_listing_is_newest_first_with_a_total(saved, files, clock):
    names = []
    for index in range(3):
        clock.advance(1)
        names.append(saved.save(NewTask(kind="txt2img", params={"prompt": str(index)}), f"t{index}").name)
    items, total = saved.list(limit=2)
    assert total == 3 == saved.count() and [s.name for s in items] == ["t2", "t1"]
    assert [s.name for s in saved.list(limit=2, offset=2)[0]] == ["t0"]


# -- /task-scheduler/v1/saved -------------------------------------------------------------------


def test_save_an_api_body_edit_it_and_queue_it(client, queue, files):
    body = {"prompt": "a fox", "seed": 3, "steps": 5, "init_images": [data_url(png_bytes())]}
    created = client.post(f"{API}/saved/img2img", params={"name": "fox"}, json=body)
    assert created.status_code == 201, created.text
    saved_id = created.json()["id"]
    assert created.json()["params"]["prompt"] == "a fox" and queue.count(TaskStatus.PENDING) == 0

    patched = client.patch(f"{API}/saved/{saved_id}", json={"params": {"steps": 8}, "name": "fox 2"})
    assert patched.status_code == 200 and patched.json()["params"]["steps"] == 8
    bad = client.patch(f"{API}/saved/{saved_id}", json={"params": {"steps": 10**9}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["params", "steps"]

    queued = client.post(f"{API}/saved/{saved_id}/queue", json={"times": 2, "new_seeds": True})
    assert queued.status_code == 201
    tasks = queued.json()["tasks"]
    assert [t["name"] for t in tasks] == ["fox 2", "fox 2"] and all(t["params"]["steps"] == 8 for t in tasks)
    assert tasks[0]["params"]["seed"] != 3 or tasks[1]["params"]["seed"] != 3

    listed = client.get(f"{API}/saved").json()
    assert listed["total"] == 1 and listed["saved"][0]["name"] == "fox 2"
    assert client.delete(f"{API}/saved/{saved_id}").json() == {"id": saved_id, "status": "deleted"}
    assert client.get(f"{API}/saved/{saved_id}").status_code == 404
    assert client.post(f"{API}/saved/{saved_id}/queue").status_code == 404


def test_bad_saves_are_refused_and_nothing_is_kept(client, services):
    assert client.post(f"{API}/saved/txt2img", json={"prompt": "x"}).status_code == 422  # no name
    assert client.post(f"{API}/saved/txt2img", params={"name": "x"}, json={"steps": 0}).status_code == 422
    assert client.post(f"{API}/saved/from-task/nope").status_code == 404
    assert client.get(f"{API}/saved").json()["total"] == 0


def test_a_finished_task_saved_and_used_as_a_sweep_base(client, executor, image_runner, queue):
    task_id = client.post(f"{API}/queue/txt2img", json={"prompt": "lamp", "seed": 11}).json()["id"]
    finish_all(executor)
    saved = client.post(f"{API}/saved/from-task/{task_id}", json={"name": "lamp"}).json()
    assert saved["params"]["seed"] == 11 and saved["name"] == "lamp"
    job = client.post(
        f"{API}/jobs", json={"from_saved": saved["id"], "axes": [{"type": "seed", "values": [1, 2, 3]}]}
    )
    assert job.status_code == 201, job.text
    pending = queue.pending()
    assert [t.params["seed"] for t in pending] == [1, 2, 3] and {t.prompt for t in pending} == {"lamp"}
    both = client.post(f"{API}/jobs", json={"from_saved": saved["id"], "from_task": task_id, "axes": []})
    assert both.status_code == 422


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("params", "{not json"),
        ("created_at", "yesterday"),
        ("updated_at", float("inf")),
        ("checkpoint", b"\x00\xff"),
        ("name", b"\x00\xff"),
    ],
    ids=["not-json", "text-time", "endless-time", "blob-checkpoint", "blob-name"],
)
def test_a_damaged_row_is_listed_as_damaged_refused_to_queue_and_can_be_deleted(
    client, saved, files, store_engine, column, value
):
    if store_engine != "sqlite" and column != "params":
        pytest.skip("PostgreSQL's typed columns refuse such a value")
    good = saved.save(NewTask(kind="txt2img", params={"prompt": "fine"}), "fine")
    bad = saved.save(NewTask(kind="txt2img", params={"prompt": "soon broken"}), "broken")
    with saved.store.write() as conn:  # SQLite keeps any value in any column (a hand edit)
        conn.execute(f"UPDATE saved_task SET {column} = ? WHERE id = ?", (value, bad.id))
    listed = client.get(f"{API}/saved")
    assert listed.status_code == 200
    shown = {s["id"]: s for s in listed.json()["saved"]}
    assert shown[good.id]["damaged"] is None and shown[bad.id]["damaged"].startswith("damaged: ")
    refused = client.post(f"{API}/saved/{bad.id}/queue")
    assert refused.status_code == 422 and "delete it" in refused.json()["detail"][0]["msg"]
    assert client.delete(f"{API}/saved/{bad.id}").status_code == 200
    assert [s["id"] for s in client.get(f"{API}/saved").json()["saved"]] == [good.id]

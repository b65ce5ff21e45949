"""A listing never fails because of one row: a row that cannot be shown is listed as damaged.

The rows are written straight into SQLite, as an old bug, a hand edit or a damaged page would
leave them; every listing keeps answering 200 and names the row with its id and the reason, the
row can be deleted, and the executor fails it with the reason instead of running it.
"""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import json

import pytest
from test_http_helpers import (  # noqa: F401 - fixtures
    API,
    AS,
    client,
    finish_all,
    queue_txt2img,
    services,
    settings,
)


def nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


DAMAGE = {
    "not-json": ("params", "{not json"),
    "list-params": ("params", "[1, 2]"),
    "deep": ("params", json.dumps({"override_settings": nested(300)})),
    "huge-int": ("script_args", '{"ADetailer": [' + "9" * 40 + "]}"),
    "bad-status": ("status", "exploded"),
    "bad-result": ("result", "{broken"),
    "bad-warnings": ("warnings", "{broken"),
    "bad-not-before": ("not_before", "tomorrow"),
    "bad-repeat": ("repeat_times", "often"),
    "bad-created": ("created_at", "yesterday"),
    "endless-created": ("created_at", float("inf")),
    "year-30000": ("updated_at", 10.0**12),
    "bad-priority": ("priority", "high"),
    "bad-position": ("position", "first"),
    "bad-attempts": ("attempts", 1.5),
    "blob-worker": ("worker_id", b"\x00\xff"),
}


def damage(queue, task_id: str, column: str, value: object) -> None:
    with queue.store.write() as conn:
        conn.execute(f"UPDATE task SET {column} = ? WHERE id = ?", (value, task_id))


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_listings_show_a_damaged_row_and_it_can_be_deleted(client, queue, case):
    healthy = queue_txt2img(client, prompt="healthy")
    broken = queue_txt2img(client, prompt="broken")
    column, value = DAMAGE[case]
    damage(queue, broken["id"], column, value)

    listing = client.get(f"{API}/queue")
    assert listing.status_code == 200, listing.text[:300]
    shown = {t["id"]: t for t in listing.json()["pending"] + listing.json()["running"]}
    if case != "bad-status":  # a row whose status is unknown is in no status' listing
        assert shown[broken["id"]]["damaged"] and shown[healthy["id"]]["damaged"] is None
        assert shown[healthy["id"]]["params"]["prompt"] == "healthy"
    for path in (f"{AS}/queue", f"{API}/history", f"{AS}/history", f"{API}/export", f"{API}/jobs"):
        assert client.get(path).status_code == 200, path
    one = client.get(f"{API}/tasks/{broken['id']}")
    assert one.status_code == 200 and one.json()["id"] == broken["id"]
    assert broken["id"] in one.json()["damaged"] or "cannot" in one.json()["damaged"]
    assert client.get(f"{AS}/task/{broken['id']}").status_code == 200
    assert [t["id"] for t in client.get(f"{API}/export").json()] == [healthy["id"]]
    later = queue_txt2img(client, prompt="queued beside it")  # the row stops nobody queueing

    assert client.delete(f"{API}/tasks/{broken['id']}").status_code == 200
    assert client.get(f"{API}/tasks/{broken['id']}").status_code == 404
    assert [t["id"] for t in client.get(f"{API}/queue").json()["pending"]] == [healthy["id"], later["id"]]


def test_a_finished_damaged_row_is_listed_in_the_history(client, queue, executor):
    done = queue_txt2img(client)
    finish_all(executor)
    damage(queue, done["id"], "warnings", "{oops")
    history = client.get(f"{API}/history")
    assert history.status_code == 200
    (task,) = history.json()["tasks"]
    assert task["id"] == done["id"] and "cannot be read" in task["damaged"]
    assert client.get(f"{AS}/history").json()["tasks"][0]["damaged"] == task["damaged"]


def test_the_executor_fails_a_damaged_row_and_runs_the_next(client, queue, executor, runner):
    broken = queue_txt2img(client, prompt="broken")
    healthy = queue_txt2img(client, prompt="healthy")
    damage(queue, broken["id"], "params", "{not json")
    finish_all(executor)
    assert runner.ran == [healthy["id"]]
    assert queue.get(healthy["id"]).status.value == "done"
    failed = client.get(f"{API}/tasks/{broken['id']}").json()
    assert failed["status"] == "failed" and "cannot be read" in failed["error"]


JOB_DAMAGE = {
    "text-created": ("created_at", "yesterday"),
    "endless-updated": ("updated_at", float("inf")),
    "blob-name": ("name", b"\x00\xff"),
    "broken-origin": ("origin", "{not json"),
    "text-start-time": ("not_before", "soon"),
    "text-repeat": ("repeat_round", "again"),
}


@pytest.mark.parametrize("case", sorted(JOB_DAMAGE))
def test_a_damaged_job_row_is_listed_as_damaged_and_can_be_deleted(client, queue, case):
    sweep = {"base": {"prompt": "swept", "steps": 2}, "axes": [{"type": "seed", "values": [1, 2]}]}
    made = client.post(f"{API}/jobs", json=sweep)
    assert made.status_code == 201, made.text[:300]
    job_id = made.json()["id"]
    healthy = client.post(f"{API}/jobs", json=sweep).json()["id"]
    column, value = JOB_DAMAGE[case]
    with queue.store.write() as conn:
        conn.execute(f"UPDATE job SET {column} = ? WHERE id = ?", (value, job_id))

    listing = client.get(f"{API}/jobs")
    assert listing.status_code == 200, listing.text[:300]
    shown = {j["id"]: j for j in listing.json()["jobs"]}
    assert shown[job_id]["damaged"] and shown[healthy]["damaged"] is None
    one = client.get(f"{API}/jobs/{job_id}")
    assert one.status_code == 200 and one.json()["damaged"] == shown[job_id]["damaged"]
    for path in (f"{API}/queue", f"{AS}/queue", f"{API}/history", f"{API}/export"):
        assert client.get(path).status_code == 200, path
    queue_txt2img(client, prompt="queued beside it")

    assert client.delete(f"{API}/jobs/{job_id}").status_code == 200
    assert client.get(f"{API}/jobs/{job_id}").status_code == 404
    assert [j["id"] for j in client.get(f"{API}/jobs").json()["jobs"]] == [healthy]


@pytest.mark.parametrize("table", ["task", "job"])
def test_a_start_time_that_is_not_a_time_never_fails_the_queue(client, queue, table):
    """The queue's header names what waits for its start time: a text there (SQLite sorts text
    after every number, so it looks like the farthest start time) is passed over."""
    sweep = {"base": {"prompt": "later", "steps": 2}, "axes": [{"type": "seed", "values": [1]}]}
    made = client.post(f"{API}/jobs", json=sweep).json()
    with queue.store.write() as conn:
        if table == "job":
            conn.execute("UPDATE job SET not_before = ? WHERE id = ?", ("soon", made["id"]))
        else:
            conn.execute("UPDATE task SET not_before = ? WHERE id = ?", ("soon", made["task_ids"][0]))
    for path in (f"{API}/queue", f"{AS}/queue", "/task-scheduler/status", f"{API}/jobs"):
        assert client.get(path).status_code == 200, path
    queue_txt2img(client, prompt="queued beside it")


@pytest.mark.parametrize(
    ("column", "value"),
    [("heartbeat_at", "now"), ("lease_s", "long"), ("started_at", "yesterday"), ("stopped_at", "then")],
)
def test_a_worker_row_whose_times_are_not_times_is_listed_offline_and_can_be_forgotten(
    client, queue, column, value
):
    from task_scheduler.workers import WorkerIdentity

    sound = queue.workers.register(WorkerIdentity.local("sound", kind="webui"))
    odd = queue.workers.register(WorkerIdentity.local("odd", kind="webui"))
    with queue.store.write() as conn:
        conn.execute(f"UPDATE worker SET {column} = ? WHERE id = ?", (value, odd.id))
    listing = client.get(f"{API}/workers")
    assert listing.status_code == 200, listing.text[:300]
    states = {w["id"]: w["state"] for w in listing.json()["workers"]}
    assert states[odd.id] == "offline" and states[sound.id] == "idle"
    assert client.delete(f"{API}/workers/{odd.id}").status_code == 200
    assert [w["id"] for w in client.get(f"{API}/workers").json()["workers"]] == [sound.id]

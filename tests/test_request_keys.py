"""Idempotency keys: a client that sends a request again (it lost the answer) queues once.

Runs on both store engines; the last test sends one key from several processes at once.
"""

# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from conftest import ENGINES
from test_http_helpers import API, client, services, settings  # noqa: F401 - fixtures

from task_scheduler.request_keys import KEEP_SECONDS, MAX_KEY_LENGTH
from task_scheduler.task import TaskStatus

STORE_ENGINES = ENGINES
ROOT = Path(__file__).resolve().parents[1]
BODY = {"prompt": "a lighthouse", "steps": 2, "width": 64, "height": 64}


def post(client, path: str, body, key: str | None = "retry-1"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(f"{API}{path}", json=body, headers=headers)


def test_a_request_sent_again_with_its_key_queues_once_and_says_so(client, queue):
    first = post(client, "/queue/txt2img", BODY)
    again = post(client, "/queue/txt2img", BODY)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    assert [t.id for t in queue.pending()] == [first.json()["id"]]
    # without a key, or with another one, the same body queues again
    assert post(client, "/queue/txt2img", BODY, key=None).status_code == 201
    assert post(client, "/queue/txt2img", BODY, key="retry-2").status_code == 201
    assert queue.count(TaskStatus.PENDING) == 3


def test_the_answer_again_shows_the_task_as_it_is_now(client, queue):
    first = post(client, "/queue/txt2img/batch", [BODY, {**BODY, "seed": 7}]).json()["tasks"]
    queue.delete(first[0]["id"])
    again = post(client, "/queue/txt2img/batch", [BODY, {**BODY, "seed": 7}])
    assert again.status_code == 201
    assert [t["id"] for t in again.json()["tasks"]] == [first[1]["id"]]
    queue.delete(first[1]["id"])
    gone = post(client, "/queue/txt2img/batch", [BODY, {**BODY, "seed": 7}])
    assert gone.status_code == 409 and "deleted" in gone.json()["detail"]
    assert queue.count(TaskStatus.PENDING) == 0


def test_a_key_used_for_another_request_is_refused_and_queues_nothing(client, queue):
    first = post(client, "/queue/txt2img", BODY).json()
    for path, body in [
        ("/queue/txt2img", {**BODY, "prompt": "a different lighthouse"}),
        ("/queue/txt2img/batch", [BODY]),
        ("/queue/img2img", BODY),
    ]:
        refused = post(client, path, body)
        assert refused.status_code == 422, path
        assert refused.json()["detail"][0]["loc"][-1] == "Idempotency-Key"
        assert "another request" in refused.json()["detail"][0]["msg"]
    assert [t.id for t in queue.pending()] == [first["id"]]


def test_a_malformed_key_is_refused(client, queue):
    for key in ["", "x" * (MAX_KEY_LENGTH + 1), "é-not-ascii"]:
        answer = client.post(
            f"{API}/queue/txt2img", json=BODY, headers=[("Idempotency-Key", key.encode("utf-8"))]
        )
        assert answer.status_code == 422, key
    assert queue.count(TaskStatus.PENDING) == 0
    assert post(client, "/queue/txt2img", BODY, key="x" * MAX_KEY_LENGTH).status_code == 201


def test_a_key_is_forgotten_after_a_day(client, queue, clock):
    first = post(client, "/queue/txt2img", BODY).json()
    clock.advance(KEEP_SECONDS - 60)
    assert post(client, "/queue/txt2img", BODY).json()["id"] == first["id"]
    clock.advance(120)
    later = post(client, "/queue/txt2img", BODY)
    assert later.status_code == 201 and later.json()["id"] != first["id"]
    assert "idempotent-replayed" not in later.headers
    assert queue.count(TaskStatus.PENDING) == 2


def test_a_job_sent_again_with_its_key_is_queued_once(client, queue):
    body = {"base": BODY, "axes": [{"type": "seed", "values": [1, 2, 3]}]}
    first = post(client, "/jobs", body)
    again = post(client, "/jobs", body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["task_ids"] == first.json()["task_ids"]
    assert again.headers["idempotent-replayed"] == "true"
    assert queue.count(TaskStatus.PENDING) == 3
    # a dry run with the key neither uses nor records it
    dry = post(client, "/jobs", {**body, "dry_run": True})
    assert dry.status_code == 200 and dry.json()["count"] == 3
    other = post(client, "/jobs", {**body, "name": "another"})
    assert other.status_code == 422 and queue.count(TaskStatus.PENDING) == 3


def test_the_api_docs_name_the_header_on_every_route_that_queues(client):
    schema = client.get("/openapi.json").json()
    with_key = sorted(
        path
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
    )
    queue_routes = sorted(
        path
        for path in schema["paths"]
        if path.startswith(f"{API}/queue/") and "post" in schema["paths"][path] and "2img" in path
    )
    assert with_key == sorted([*queue_routes, f"{API}/jobs"]) and len(queue_routes) == 4


RACE = """
import json, sys, time
from task_scheduler.store import Store
from task_scheduler.task import NewTask
from task_scheduler.task_queue import TaskQueue
from task_scheduler.request_keys import Answered, RequestKey, once

location, start_at = sys.argv[1], float(sys.argv[2])
queue = TaskQueue(Store(location))
key = RequestKey.of("same-key", {"body": "same"})
item = NewTask(kind="txt2img", params={"prompt": "a race"})
while time.time() < start_at:
    time.sleep(0.001)
outcome = once(queue.answered, key, lambda: queue.enqueue_many([item], request_key=key))
ids = outcome.task_ids if isinstance(outcome, Answered) else [t.id for t in outcome]
print(json.dumps({"ids": ids, "replayed": isinstance(outcome, Answered)}))
"""


def test_one_key_sent_by_several_processes_at_once_queues_once(store, store_location, queue):
    queue.pending()  # the schema exists before the processes start
    start_at = time.time() + 3.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, str(store_location), str(start_at)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    answers = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        answers.append(json.loads(out))
    assert len({tuple(a["ids"]) for a in answers}) == 1 and len(answers[0]["ids"]) == 1
    assert sorted(a["replayed"] for a in answers) == [False, True, True, True]
    assert [t.id for t in queue.pending()] == answers[0]["ids"]


def test_a_damaged_key_record_is_refused_with_a_message_not_a_500(client, queue, store):
    post(client, "/queue/txt2img", BODY)
    with store.write() as conn:
        conn.execute("UPDATE request_key SET task_ids = ?", ("not json",))
    answer = post(client, "/queue/txt2img", BODY)
    assert answer.status_code == 422 and "cannot be read back" in answer.json()["detail"][0]["msg"]
    assert post(client, "/queue/txt2img", BODY, key="retry-2").status_code == 201

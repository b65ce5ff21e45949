"""Auto-batching through the HTTP API: the "exact" flag, and which tasks ran together."""

# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments
from __future__ import annotations

from test_http_helpers import API, client, services, settings  # noqa: F401 - fixtures

from task_scheduler.batching import BatchPolicy
from task_scheduler.executor import Executor, ExecutorSettings
from task_scheduler.runner import InMemoryRunner
from task_scheduler.task import TaskResult, TaskStatus

BASE = {"prompt": "a cat", "steps": 2, "width": 64, "height": 64}


def run_all(queue) -> InMemoryRunner:
    runner = InMemoryRunner()
    executor = Executor(queue, runner, ExecutorSettings())
    while executor.run_one():
        pass
    executor.close()
    return runner


def test_the_task_view_shows_which_tasks_ran_together(client, queue):
    job = client.post(
        f"{API}/jobs", json={"base": BASE, "axes": [{"type": "seed", "values": [1, 2, 3]}]}
    ).json()
    alone = client.post(f"{API}/queue/txt2img", json=BASE).json()
    assert alone["batch_id"] is None and alone["batching"] is None
    run_all(queue)
    views = [client.get(f"{API}/tasks/{task_id}").json() for task_id in job["task_ids"]]
    assert len({v["batch_id"] for v in views}) == 1 and views[0]["batch_id"] is not None
    for view in views:
        assert sorted(view["ran_with"]) == sorted(set(job["task_ids"]) - {view["id"]})
    single = client.get(f"{API}/tasks/{alone['id']}").json()
    assert single["batch_id"] is None and single.get("ran_with") is None
    listed = client.get(f"{API}/history").json()["tasks"]
    assert {t["batch_id"] for t in listed if t["id"] in job["task_ids"]} == {views[0]["batch_id"]}


def test_an_exact_job_and_exact_tasks_run_one_by_one(client, queue):
    job = client.post(
        f"{API}/jobs",
        json={"base": BASE, "axes": [{"type": "seed", "values": [1, 2]}], "exact": True},
    ).json()
    exact = client.post(f"{API}/queue/txt2img", json={**BASE, "exact": True}).json()
    assert exact["batching"] == "exact" and "exact" not in exact["params"]
    assert {client.get(f"{API}/tasks/{t}").json()["batching"] for t in job["task_ids"]} == {"exact"}
    runner = run_all(queue)
    assert runner.batches == [] and len(runner.ran) == 3


def test_patch_makes_a_pending_task_exact_and_back(client, queue):
    job = client.post(
        f"{API}/jobs", json={"base": BASE, "axes": [{"type": "seed", "values": [1, 2, 3]}]}
    ).json()
    first, second, third = job["task_ids"]
    patched = client.patch(f"{API}/tasks/{second}", json={"exact": True})
    assert patched.status_code == 200 and patched.json()["batching"] == "exact"
    assert client.patch(f"{API}/tasks/{third}", json={"exact": False}).json()["batching"] is None
    runner = run_all(queue)
    assert runner.batches == [[first, third]] and runner.ran == [first, third, second]


def test_lists_give_the_whole_batch_size_while_only_part_of_it_is_recorded(client, queue):
    """A batch's outcomes are written one task at a time: a listing read between them holds two
    finished and two running tasks, yet each is one of a batch of four (the tab's "batch of 4")."""
    job = client.post(
        f"{API}/jobs", json={"base": BASE, "axes": [{"type": "seed", "values": [1, 2, 3, 4]}]}
    ).json()
    group = queue.claim_group(batching=BatchPolicy())
    assert [t.id for t in group] == job["task_ids"]
    for task in group[:2]:
        queue.finish(task.id, TaskStatus.DONE, result=TaskResult(images=[]))
    running = client.get(f"{API}/queue").json()["running"]
    history = client.get(f"{API}/history").json()["tasks"]
    assert [t["id"] for t in history] and len(running) == 2 and len(history) == 2
    assert [t["batch_size"] for t in running + history] == [4, 4, 4, 4]
    alone = client.post(f"{API}/queue/txt2img", json=BASE).json()
    run_all(queue)
    listed = {t["id"]: t for t in client.get(f"{API}/history").json()["tasks"]}
    assert listed[alone["id"]]["batch_size"] is None

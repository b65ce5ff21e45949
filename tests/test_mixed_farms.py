"""Mixed farms: a task captured by one WebUI's Queue button holds that WebUI's argument names, so
only workers of the same WebUI family take it; a task in the API's schema runs anywhere. Every
copy of such a task (requeue, saved task, a job's retry, a sweep from it, export / import) keeps
the family. Runs on SQLite and on a real PostgreSQL (conftest.py).
"""

# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments
from __future__ import annotations

import pytest
from test_http_helpers import API, client, services, settings  # noqa: F401 - fixtures

from task_scheduler.errors import InvalidTaskData
from task_scheduler.jobs import Jobs
from task_scheduler.saved_tasks import SavedTasks
from task_scheduler.task import WEBUI_FAMILIES, NewTask, TaskStatus
from task_scheduler.workers import WorkerIdentity

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def webui_worker(queue, name: str, family: str | None) -> WorkerIdentity:
    """A registered worker that says which WebUI it runs (None: a simulated / standalone one)."""
    identity = WorkerIdentity.local(name, kind="webui", info={"webui": family} if family else {})
    return queue.workers.register(identity)


def captured(family: str | None, prompt: str = "p", **kw) -> NewTask:
    return NewTask("txt2img", {"prompt": prompt}, source="ui" if family else "api", needs_webui=family, **kw)


def claimed_ids(queue, worker: WorkerIdentity | None) -> list[str]:
    """Every task this worker would take, one claim after another."""
    taken = []
    while (task := queue.claim_next(worker=worker)) is not None:
        taken.append(task.id)
    return taken


def test_a_capture_goes_only_to_a_worker_of_its_family(queue):
    forge, a1111 = webui_worker(queue, "forge-box", "forge"), webui_worker(queue, "a1111-box", "a1111")
    neo, plain = webui_worker(queue, "neo-box", "neo"), webui_worker(queue, "sim", None)
    ids = {family: queue.enqueue(captured(family, family)).id for family in WEBUI_FAMILIES}
    api = queue.enqueue(captured(None, "api")).id
    assert claimed_ids(queue, plain) == [api]  # no family: only what runs anywhere
    assert claimed_ids(queue, a1111) == [ids["a1111"]]
    assert claimed_ids(queue, forge) == [ids["forge"]]  # never Neo's: its signature differs
    assert claimed_ids(queue, neo) == [ids["neo"]]
    assert {queue.get(i).worker_id for i in ids.values()} == {forge.id, a1111.id, neo.id}


def test_a_worker_passes_over_another_familys_head_and_takes_what_it_may(queue):
    a1111 = webui_worker(queue, "a1111-box", "a1111")
    first = queue.enqueue(captured("forge", "first in line")).id
    second = queue.enqueue(captured(None, "second")).id
    assert claimed_ids(queue, a1111) == [second]
    assert queue.get(first).status is TaskStatus.PENDING
    assert queue.position_of(first) == 1  # still first: it waits for a Forge worker


def test_a_claim_without_a_worker_is_not_filtered(queue):
    task = queue.enqueue(captured("neo"))
    assert claimed_ids(queue, None) == [task.id]


def test_run_now_on_a_paused_queue_waits_for_a_worker_of_its_family(queue):
    a1111, forge = webui_worker(queue, "a1111-box", "a1111"), webui_worker(queue, "forge-box", "forge")
    queue.enqueue(captured(None, "api"))
    wanted = queue.enqueue(captured("forge", "run me")).id
    queue.pause()
    queue.run_next(wanted)
    assert queue.claim_next(worker=a1111) is None  # not its task, and the queue is paused
    assert queue.claim_next(worker=forge).id == wanted
    assert queue.claim_next(worker=forge) is None  # only that one ran


def test_an_unknown_family_is_refused_at_entry(queue):
    with pytest.raises(InvalidTaskData) as refused:
        queue.enqueue(captured("comfy"))
    assert refused.value.field == "needs_webui"
    assert queue.pending() == []


def test_copies_keep_the_family(queue, files):
    forge = webui_worker(queue, "forge-box", "forge")
    jobs = Jobs(queue)
    job, (original,) = jobs.create([captured("forge", "in a job")], name="j")
    ran = queue.claim_next(worker=forge)
    assert ran.id == original.id
    queue.finish(ran.id, TaskStatus.FAILED, error="boom", worker=forge)
    (retried,) = jobs.requeue_failed(job.id)
    again = queue.requeue(original.id)
    saved = SavedTasks(queue).save_task(original.id, "kept")
    (from_saved,) = SavedTasks(queue).queue_copies(saved.id)
    assert SavedTasks(queue).get(saved.id).needs_webui == "forge"
    assert [queue.get(t.id).needs_webui for t in (again, retried, from_saved)] == ["forge"] * 3


def test_the_api_shows_the_family_and_export_import_and_sweeps_keep_it(client, queue):
    task = queue.enqueue(captured("a1111", "a cat"))
    api_task = client.post(f"{API}/queue/txt2img", json={"prompt": "a dog"}).json()
    shown = {t["id"]: t["needs_webui"] for t in client.get(f"{API}/queue").json()["pending"]}
    assert shown == {task.id: "a1111", api_task["id"]: None}
    exported = client.get(f"{API}/export").json()
    assert [t["needs_webui"] for t in exported] == ["a1111", None]
    client.post(f"{API}/queue/clear")
    assert client.post(f"{API}/import", json={"tasks": exported}).status_code == 201
    assert [t.needs_webui for t in queue.pending()] == ["a1111", None]
    bad = dict(exported[0], needs_webui="comfy")
    assert client.post(f"{API}/import", json={"tasks": [bad]}).status_code == 422
    job = client.post(
        f"{API}/jobs", json={"from_task": queue.pending()[0].id, "axes": [{"type": "seed", "values": "1, 2"}]}
    )
    assert job.status_code == 201, job.text
    assert [queue.get(i).needs_webui for i in job.json()["task_ids"]] == ["a1111", "a1111"]

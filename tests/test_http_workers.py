"""/task-scheduler/v1/workers and worker pins over HTTP, against a real store."""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

from urllib.parse import quote

from test_http_helpers import API, client, services, settings  # noqa: F401 - fixtures

from task_scheduler.executor import Executor
from task_scheduler.standalone.backends import worker_for
from task_scheduler.task import TaskStatus
from task_scheduler.workers import WorkerIdentity


def register(queue, name: str, checkpoint: str | None = None) -> WorkerIdentity:
    return queue.workers.register(WorkerIdentity.local(name, kind="webui"), checkpoint=checkpoint)


def test_workers_lists_every_worker_with_its_state_and_checkpoint(client, queue):
    register(queue, "gpu0", "model-a.safetensors")
    register(queue, "gpu1")
    answer = client.get(f"{API}/workers")
    assert answer.status_code == 200
    shown = {w["id"]: w for w in answer.json()["workers"]}
    assert set(shown) == {"gpu0", "gpu1"}
    assert shown["gpu0"]["state"] == "idle" and shown["gpu0"]["checkpoint"] == "model-a.safetensors"
    assert shown["gpu0"]["paused"] is False and shown["gpu0"]["kind"] == "webui"


def test_pausing_a_worker_keeps_it_from_claiming_and_resuming_lets_it(client, queue):
    me = register(queue, "gpu0")
    paused = client.post(f"{API}/workers/gpu0/pause")
    assert paused.status_code == 200 and paused.json()["worker"]["paused"] is True
    created = client.post(f"{API}/queue/txt2img", json={"prompt": "p"})
    assert created.status_code == 201
    assert queue.claim_next(worker=me) is None
    assert client.post(f"{API}/workers/gpu0/resume").json()["worker"]["paused"] is False
    assert queue.claim_next(worker=me).id == created.json()["id"]


def test_pause_now_asks_the_workers_running_task_to_stop_after_its_image(client, queue):
    me = register(queue, "gpu0")
    created = client.post(f"{API}/queue/txt2img", json={"prompt": "p"})
    running = queue.claim_next(worker=me)
    answer = client.post(f"{API}/workers/gpu0/pause", params={"now": "true"})
    assert answer.status_code == 200 and answer.json()["stopping"] == [created.json()["id"]]
    assert queue.stop_request(running.id) == "paused"
    assert queue.paused is False  # only the worker, not the queue


def test_a_remote_worker_named_by_its_url_can_be_paused_resumed_and_forgotten(client, queue):
    """The standalone server names each backend's worker by the WebUI's URL (slashes and all);
    seen on the real server: ``POST /workers/http://127.0.0.1:7860/pause`` did not reach the
    route and went through to the WebUI."""
    url = "http://127.0.0.1:7860"
    me = queue.workers.register(worker_for(url))
    for path in (url, quote(url, safe="")):
        paused = client.post(f"{API}/workers/{path}/pause")
        assert paused.status_code == 200, paused.text
        assert paused.json()["worker"]["id"] == url and paused.json()["worker"]["paused"] is True
        client.post(f"{API}/queue/txt2img", json={"prompt": "p"})
        assert queue.claim_next(worker=me) is None
        resumed = client.post(f"{API}/workers/{path}/resume")
        assert resumed.status_code == 200 and resumed.json()["worker"]["paused"] is False
    queue.workers.stopped(me)
    assert client.delete(f"{API}/workers/{url}").json() == {"forgotten": 1}
    assert client.get(f"{API}/workers").json()["workers"] == []


def test_an_unknown_worker_is_404_for_every_worker_route(client):
    for method, path in (("post", "pause"), ("post", "resume")):
        answer = getattr(client, method)(f"{API}/workers/nobody/{path}")
        assert answer.status_code == 404 and "nobody" in answer.json()["detail"]


def test_a_task_can_be_pinned_to_a_known_worker_only(client, queue):
    register(queue, "gpu1")
    refused = client.post(f"{API}/queue/txt2img", json={"prompt": "p", "worker": "gpu9"})
    assert refused.status_code == 422 and "gpu9" in refused.text and "gpu1" in refused.text
    assert queue.pending() == []
    pinned = client.post(f"{API}/queue/txt2img", json={"prompt": "p", "worker": "gpu1"})
    assert pinned.status_code == 201 and pinned.json()["worker_pin"] == "gpu1"
    other = register(queue, "gpu0")
    assert queue.claim_next(worker=other) is None  # gpu0 may not run gpu1's task
    freed = client.patch(f"{API}/tasks/{pinned.json()['id']}", json={"worker": ""})
    assert freed.status_code == 200 and freed.json()["worker_pin"] is None
    assert queue.claim_next(worker=other).id == pinned.json()["id"]


def test_a_task_says_which_worker_ran_it(client, queue, runner):
    executor = Executor(queue, runner, worker=WorkerIdentity.local("here"))
    created = client.post(f"{API}/queue/txt2img", json={"prompt": "p"}).json()
    assert executor.run_one()
    shown = client.get(f"{API}/tasks/{created['id']}").json()
    assert shown["status"] == TaskStatus.DONE.value and shown["worker"] == "here"
    executor.close()


def test_a_task_pinned_here_runs_here_though_an_idle_worker_has_its_model(queue):
    from task_scheduler.task import NewTask

    here = register(queue, "here", "model-b.safetensors")
    register(queue, "there", "model-a.safetensors")  # idle, with the task's model loaded
    free = queue.enqueue(NewTask("txt2img", {"prompt": "any"}, checkpoint="model-a.safetensors"))
    pinned = queue.enqueue(
        NewTask("txt2img", {"prompt": "mine"}, checkpoint="model-a.safetensors", worker_pin="here")
    )
    claimed = queue.claim_next(worker=here, prefer_checkpoint="model-b.safetensors")
    assert claimed.id == pinned.id  # the free one is left to "there"; the pinned one is ours
    assert queue.get(free.id).status is TaskStatus.PENDING


def test_a_job_is_pinned_to_a_worker_through_its_base(client, queue):
    register(queue, "gpu1")
    base = {"prompt": "a cat", "steps": 2, "worker": "gpu1"}
    job = client.post(f"{API}/jobs", json={"base": base, "axes": [{"type": "seed", "values": "1-3"}]})
    assert job.status_code == 201, job.text
    assert [queue.get(i).worker_pin for i in job.json()["task_ids"]] == ["gpu1"] * 3
    refused = client.post(f"{API}/jobs", json={"base": {**base, "worker": "gpu7"}, "axes": []})
    assert refused.status_code == 422 and "gpu7" in refused.text


def test_workers_names_the_worker_of_the_answering_process(queue, files, settings, runner):
    """The tab shows the live preview only for a task running in its own WebUI: it needs to know
    which worker that is. Without an executor (a bare API), or with a remote one, there is none."""
    from fastapi.testclient import TestClient
    from test_http_helpers import make_app

    from task_scheduler.http_api import ApiServices

    register(queue, "elsewhere")
    executor = Executor(queue, runner, worker=WorkerIdentity.local("here"))
    executor.register()
    # the standalone server's executors drive remote WebUIs: no task of theirs runs in its process
    remote = Executor(queue, runner, worker=WorkerIdentity.local("http://gpu1:7860", kind="remote"))
    remote.register()
    for answering, local in (
        (ApiServices(queue=queue, files=files, settings=settings, executor=executor), "here"),
        (ApiServices(queue=queue, files=files, settings=settings, executor=remote), None),
        (ApiServices(queue=queue, files=files, settings=settings), None),
    ):
        with TestClient(make_app(answering)) as bare:
            answer = bare.get(f"{API}/workers").json()
        assert answer["local"] == local
        assert {w["id"] for w in answer["workers"]} == {"elsewhere", "here", "http://gpu1:7860"}
    executor.close()
    remote.close()


def test_a_task_whose_worker_died_shows_the_crash_it_survived(client, queue, clock):
    gone = register(queue, "gone")
    created = client.post(f"{API}/queue/txt2img", json={"prompt": "p"}).json()
    queue.claim_next(worker=gone)
    clock.advance(gone.lease_s + 1)  # its heartbeat stopped: the lease lapses
    assert [t.id for t in queue.recover(lapsed_only=True)] == [created["id"]]
    shown = client.get(f"{API}/tasks/{created['id']}").json()
    assert (shown["status"], shown["crashes"], shown["attempts"]) == ("pending", 1, 1)


def test_a_result_image_made_on_another_machine_is_fetched_from_that_webui(client, queue, tmp_path):
    """Results stay where each WebUI saved them; another WebUI of the queue sends the request on."""
    from task_scheduler.task import TaskResult

    desk = queue.workers.register(
        WorkerIdentity("desk", "desk", "webui", "desk", info={"url": "http://desk.lan:7860"})
    )
    created = client.post(f"{API}/queue/txt2img", json={"prompt": "made on the desk"}).json()
    queue.claim_next(worker=desk)
    elsewhere = "/home/desk/outputs/00001.png"  # a path on the other machine, not on this one
    queue.finish(created["id"], TaskStatus.DONE, result=TaskResult(images=[elsewhere]), worker=desk)
    answer = client.get(f"{API}/tasks/{created['id']}/results/0?thumbnail=64", follow_redirects=False)
    assert answer.status_code == 307
    target = f"http://desk.lan:7860{API}/tasks/{created['id']}/results/0?thumbnail=64"
    assert answer.headers["location"] == target


def test_a_missing_result_of_this_webui_or_an_unknown_one_stays_404(client, queue):
    from task_scheduler.task import TaskResult

    me = register(queue, "gpu0")  # no URL published
    created = client.post(f"{API}/queue/txt2img", json={"prompt": "p"}).json()
    queue.claim_next(worker=me)
    queue.finish(created["id"], TaskStatus.DONE, result=TaskResult(images=["/gone.png"]), worker=me)
    answer = client.get(f"{API}/tasks/{created['id']}/results/0", follow_redirects=False)
    assert answer.status_code == 404 and "no longer on disk" in answer.text

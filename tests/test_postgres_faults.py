"""Faults of a queue on PostgreSQL, with real worker processes and a real server that is stopped.

Every test here has a server of its own (the module's, not the session's: these tests stop it).
Workers are processes (bench/sim_worker.py); this process queues through the store and through
the HTTP API, as another WebUI and a script would. What a user must never see: a task that was
answered as queued and is gone, a task that ran twice, a worker that needs a restart after the
server came back, a password in a message. Timings (the kill-to-requeue delay, throughput) are
bench/pg_store.py's, not asserted here.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from helpers import postgres_server
from test_http_helpers import API, FakeWebUI, make_app
from test_worker_processes import Workers, statuses, task, wait_until

from task_scheduler.errors import StoreUnavailable
from task_scheduler.files import FileStore
from task_scheduler.http_api import ApiServices, ApiSettings
from task_scheduler.store import Store
from task_scheduler.task import TaskStatus
from task_scheduler.task_queue import TaskQueue
from task_scheduler.workers import WorkerIdentity

#: in every URL here; the server trusts loopback and ignores it, so only a leak would show it
PASSWORD = "pw-n0t-for-logs"
_schemas = itertools.count(1)


@pytest.fixture(scope="module")
def cluster():
    """A server of this module's own: its tests stop it."""
    yield from postgres_server()


@pytest.fixture
def url(cluster) -> str:
    """A fresh queue (schema) on the module's server, with a password in the URL."""
    return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{cluster.port}/postgres?schema=f{os.getpid()}_{next(_schemas)}"


@pytest.fixture
def queue(url):
    q = TaskQueue(Store(url, busy_timeout_s=2))
    yield q
    q.store.close()


@pytest.fixture
def workers(url, tmp_path):
    w = Workers(url, tmp_path / "runs.txt", stderr=tmp_path / "workers.log")
    yield w
    w.stop_all()


def run_counts(workers: Workers) -> Counter:
    return Counter(run[0] for run in workers.runs())


def test_eight_workers_run_a_thousand_tasks_each_exactly_once(queue, workers):
    names = [workers.start(f"w{n}", task_s=0.0) for n in range(8)]
    ids = [t.id for t in queue.enqueue_many([task(f"t{n}") for n in range(1000)])]
    wait_until(lambda: queue.count(TaskStatus.DONE) == 1000, timeout=300, what="1000 tasks done")
    assert run_counts(workers) == Counter(dict.fromkeys(ids, 1))  # none twice, none lost
    assert statuses(queue, ids) == {TaskStatus.DONE: 1000}
    ran_on = Counter(queue.get(i).worker_id for i in ids)
    assert set(ran_on) <= set(names) and len(ran_on) >= 4  # shared, not one worker doing it all


def test_a_killed_workers_task_is_finished_by_another(queue, workers):
    first, second = workers.start("first", lease=2.0), workers.start("second", lease=2.0)
    queue.pause_worker(second)  # so that the first one takes the task
    [job] = queue.enqueue_many([task("three seconds' work, killed early", seconds=3.0)])
    wait_until(lambda: queue.get(job.id).status is TaskStatus.RUNNING, what="the task to start")
    # killed once it runs, not between its claim and its start (a loaded machine can stall there)
    wait_until(lambda: [run[1] for run in workers.runs()] == [first], what="the first worker's run to begin")
    workers.kill(first)
    queue.resume_worker(second)
    wait_until(lambda: queue.get(job.id).status is TaskStatus.DONE, what="the task to be finished elsewhere")
    done = queue.get(job.id)
    assert done.worker_id == second and done.crashes == 1 and done.attempts == 2
    assert [run[1] for run in workers.runs()] == [first, second]


def test_the_server_stopped_mid_burst_loses_and_repeats_nothing_and_the_workers_carry_on(
    cluster, queue, workers, tmp_path, caplog
):
    """``pg_ctl -m immediate`` (a crash, as clients see it) while tasks are queued from this
    process and through the HTTP API, and four workers run them; then the server starts again."""
    for n in range(4):
        workers.start(f"w{n}", lease=2.0, task_s=0.02)
    procs = dict(workers.procs)
    services = ApiServices(
        queue=queue,
        files=FileStore(tmp_path / "files"),
        webui=FakeWebUI(),
        settings=ApiSettings(max_wait_s=1.0),
    )
    answered: list[str] = []  # enqueues that returned a task, or answered 201
    refusals: Counter = Counter()
    bodies: list[str] = []
    stop = threading.Event()
    with TestClient(make_app(services)) as client:

        def burst(via: str) -> None:
            for n in itertools.count():
                if stop.is_set():
                    return
                if via == "api":
                    response = client.post(f"{API}/queue/txt2img", json={"prompt": f"api {n}"})
                    if response.status_code == 201:
                        answered.append(response.json()["id"])
                    else:
                        refusals[response.status_code] += 1
                        bodies.append(response.text)
                else:
                    try:
                        answered.append(queue.enqueue(task(f"direct {n}")).id)
                    except StoreUnavailable as exc:
                        refusals["raised"] += 1
                        bodies.append(str(exc))
                time.sleep(0.005)

        threads = [threading.Thread(target=burst, args=(via,)) for via in ("api", "direct")]
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: len(answered) >= 100, what="the burst to get going")
            cluster.stop("immediate")
            wait_until(lambda: refusals[503] >= 3 and refusals["raised"] >= 3, what="enqueues to be refused")
            down = client.get(f"{API}/queue")
            waiting = client.get(f"{API}/wait", params={"revision": queue.revision, "timeout": 1})
            time.sleep(2.0)  # the workers' heartbeats and claims meet the outage too
            before_restart = len(answered)
            cluster.start()
            wait_until(
                lambda: len(answered) >= before_restart + 100, what="the burst to go on after the restart"
            )
            waits_again = client.get(f"{API}/wait", params={"revision": queue.revision + 1000, "timeout": 1})
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)

    # while the server was down: 503, naming the store (without the password), not an empty queue
    assert down.status_code == 503
    detail = down.json()["detail"]
    assert "unreachable" in detail and f"127.0.0.1:{cluster.port}" in detail and PASSWORD not in detail
    # a page waiting for changes (the tab's long-poll) hears of it too, and waits again after
    waited = waiting.json()["detail"]
    assert waiting.status_code == 503 and "unreachable" in waited and PASSWORD not in waited
    assert waits_again.status_code == 200
    assert set(refusals) == {503, "raised"}  # refused as unavailable, never a 500
    # every answered task runs, once; the same worker processes do it (nobody restarted them)
    wait_until(
        lambda: statuses(queue, answered)[TaskStatus.DONE] == len(answered),
        timeout=120,
        what=f"all {len(answered)} answered tasks done",
    )
    counts = run_counts(workers)
    assert {i: counts[i] for i in answered} == dict.fromkeys(answered, 1)
    assert max(counts.values()) == 1  # an enqueue whose answer was lost may be there too, once
    assert all(proc.poll() is None for proc in procs.values()) and workers.procs == procs
    assert {w.state for w in queue.workers.list()} <= {"idle", "running"}
    # no secret in anything anyone saw
    logs = (tmp_path / "workers.log").read_text(errors="replace")
    assert "unreachable" in logs  # the workers did meet the outage
    for text in (*bodies, logs, caplog.text):
        assert PASSWORD not in text


def test_a_claim_the_worker_never_heard_of_is_not_held_for_ever(queue, workers):
    """The server went away while a claim committed: the task is the worker's in the store, but
    the worker never got the answer. Its heartbeat must not renew that lease for ever: the task
    lapses, goes back once and runs elsewhere. (Made here by claiming in the worker's name.)"""
    busy = workers.start("busy", lease=1.0)
    [long] = queue.enqueue_many([task("long", seconds=600)])
    wait_until(lambda: queue.get(long.id).worker_id == busy, what="the busy worker to run the long task")
    try:
        [lost] = queue.enqueue_many([task("claimed, answer lost")])
        claimed = queue.claim_next(worker=WorkerIdentity.local(busy, lease_s=1.0))
        assert claimed is not None and claimed.id == lost.id
        other = workers.start("other", lease=1.0)
        wait_until(
            lambda: queue.get(lost.id).status is TaskStatus.DONE, timeout=30, what="the lost claim to run"
        )
        assert queue.get(lost.id).worker_id == other and queue.get(lost.id).crashes == 1
        still = queue.get(long.id)  # the task the busy worker does run keeps its lease
        assert still.status is TaskStatus.RUNNING and still.worker_id == busy and still.crashes == 0
        assert run_counts(workers)[lost.id] == 1
    finally:
        queue.request_stop(long.id, "interrupted")

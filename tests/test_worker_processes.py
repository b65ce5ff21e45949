"""Several worker processes on one store (a SQLite file, a PostgreSQL server): the store is the
only thing they share.

Each worker is a real process (bench/sim_worker.py: an executor with a simulated runner); this
test process queues, steers and reads, as a second WebUI's tab would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from task_scheduler.jobs import Jobs
from task_scheduler.store import Store
from task_scheduler.task import NewTask, TaskStatus
from task_scheduler.task_queue import TaskQueue
from task_scheduler.workers import WorkerIdentity

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import sim_worker  # noqa: E402 - the worker process, shared with bench/workers.py


class Workers:
    """Start, kill and stop worker processes; read their run logs."""

    def __init__(self, db: Path | str, log: Path, *, stderr: Path | None = None) -> None:
        """``stderr``: one file for every worker's log (else they write to the test's)."""
        self.db, self.log, self.stderr = db, log, stderr
        self.procs: dict[str, subprocess.Popen] = {}

    def start(
        self,
        name: str,
        *,
        lease: float = 2.0,
        task_s: float = 0.01,
        load_s: float = 0.0,
        webui: str | None = None,
    ) -> str:
        worker_id, proc = sim_worker.spawn(
            self.db,
            name,
            self.log,
            lease=lease,
            task_s=task_s,
            load_s=load_s,
            webui=webui,
            stderr=self.stderr,
        )
        self.procs[worker_id] = proc
        return worker_id

    def kill(self, worker_id: str) -> None:
        proc = self.procs.pop(worker_id)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()

    def runs(self) -> list[tuple[str, str, str]]:
        if not self.log.exists():
            return []
        return [tuple(line.split()) for line in self.log.read_text().splitlines() if line.strip()]


#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


@pytest.fixture
def db(store_location):
    return store_location


@pytest.fixture
def queue(db):
    q = TaskQueue(Store(db))
    yield q
    q.store.close()


@pytest.fixture
def workers(db, tmp_path):
    w = Workers(db, tmp_path / "runs.txt")
    yield w
    w.stop_all()


def task(prompt: str = "p", **params) -> NewTask:
    return NewTask(kind="txt2img", params={"prompt": prompt, **params})


def wait_until(predicate, timeout: float = 120.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def statuses(queue: TaskQueue, ids: list[str]) -> Counter:
    return Counter(queue.get(i).status for i in ids)


def test_four_workers_run_500_tasks_each_exactly_once(queue, workers):
    names = [workers.start(f"w{n}") for n in range(4)]
    ids = [t.id for t in queue.enqueue_many([task(f"t{n}") for n in range(500)])]
    wait_until(lambda: statuses(queue, ids)[TaskStatus.DONE] == 500, what="500 tasks done")
    runs = workers.runs()
    assert Counter(r[0] for r in runs) == Counter(dict.fromkeys(ids, 1))  # none twice, none lost
    assert all(queue.get(i).attempts == 1 for i in ids)
    assert {queue.get(i).worker_id for i in ids} <= set(names)
    assert len({r[1] for r in runs}) >= 2  # shared, not one worker doing it all


def test_four_workers_share_a_job_in_batches_each_task_once_each_batch_on_one_worker(queue, workers):
    """Auto-batching across processes: a batch is claimed in one transaction under one lease."""
    names = [workers.start(f"w{n}") for n in range(4)]
    _, created = Jobs(queue).create([task(f"t{n}") for n in range(200)], name="sweep")
    ids = [t.id for t in created]
    wait_until(lambda: statuses(queue, ids)[TaskStatus.DONE] == 200, what="200 tasks done")
    assert Counter(r[0] for r in workers.runs()) == Counter(dict.fromkeys(ids, 1))
    done = [queue.get(i) for i in ids]
    assert {t.attempts for t in done} == {1}
    by_batch: dict[str, set[str]] = {}
    for t in done:
        if t.batch_id is not None:
            by_batch.setdefault(t.batch_id, set()).add(t.worker_id)
    assert all(len(holders) == 1 for holders in by_batch.values())  # never split between workers
    assert len(by_batch) >= 40  # mostly batches of up to 4, the default for jobs
    assert {t.worker_id for t in done} <= set(names)


def test_a_killed_workers_task_is_finished_by_another_after_its_lease(queue, workers):
    first = workers.start("first", lease=2.0)
    [long] = queue.enqueue_many([task("long", seconds=600)])
    wait_until(lambda: queue.get(long.id).status is TaskStatus.RUNNING, what="the task to start")
    assert queue.get(long.id).worker_id == first
    second = workers.start("second", lease=2.0)
    workers.kill(first)
    # the second worker notices the lapsed lease and puts the task back once; it runs again there
    wait_until(lambda: queue.get(long.id).worker_id == second, what="the task to move to the second worker")
    again = queue.get(long.id)
    assert again.status is TaskStatus.RUNNING and again.crashes == 1 and again.attempts == 2
    queue.request_stop(long.id, "interrupted")
    wait_until(lambda: queue.get(long.id).status is TaskStatus.INTERRUPTED, what="the stop")
    assert [r[1] for r in workers.runs() if r[0] == long.id] == [first, second]


def test_a_stop_request_from_this_process_interrupts_a_task_in_another(queue, workers):
    workers.start("runner")
    [long] = queue.enqueue_many([task("long", seconds=600)])
    wait_until(lambda: queue.get(long.id).status is TaskStatus.RUNNING, what="the task to start")
    wait_until(lambda: queue.progress(long.id) is not None, what="progress written by the other process")
    assert queue.delete(long.id) == "stopping"
    wait_until(lambda: queue.get(long.id).status is TaskStatus.CANCELLED, what="the task to be cancelled")


def test_a_restarted_worker_recovers_its_own_task_at_once_and_never_takes_a_live_lease(queue, workers):
    a = workers.start("a", lease=600.0)
    [held_by_a] = queue.enqueue_many([task("a's", seconds=600)])
    wait_until(lambda: queue.get(held_by_a.id).status is TaskStatus.RUNNING, what="a's task to start")
    b = workers.start("b", lease=600.0)
    [held_by_b] = queue.enqueue_many([task("b's", seconds=600)])
    wait_until(lambda: queue.get(held_by_b.id).worker_id == b, what="b's task to start")
    workers.kill(b)
    assert workers.start("b", lease=600.0) == b  # the same name: the same worker
    # its own task came back at once (not after the 600 s lease) and runs again there
    wait_until(lambda: queue.get(held_by_b.id).crashes == 1, what="b's own task to be recovered")
    wait_until(lambda: queue.get(held_by_b.id).status is TaskStatus.RUNNING, what="b's task to run again")
    assert queue.get(held_by_b.id).worker_id == b
    untouched = queue.get(held_by_a.id)
    assert untouched.status is TaskStatus.RUNNING and untouched.worker_id == a and untouched.crashes == 0
    assert [r[0] for r in workers.runs()].count(held_by_a.id) == 1
    for long in (held_by_a, held_by_b):  # else each worker finishes its 600 s task before it stops
        queue.request_stop(long.id, "interrupted")


def test_a_second_live_process_with_the_same_name_gets_a_name_of_its_own(workers):
    first = workers.start("gpu")
    second = workers.start("gpu")
    assert first == "gpu" and second == "gpu#2"


def test_a_task_queued_here_wakes_an_idle_worker_in_another_process(queue, workers):
    worker = workers.start("idle", lease=600.0)  # its heartbeat (every 150 s) would not find the task
    wait_until(lambda: any(w.id == worker and w.state == "idle" for w in queue.workers.list()), what="idle")
    time.sleep(0.5)  # it is asleep now: no busy loop would have found the task without a wake
    [woken] = queue.enqueue_many([task("wake")])
    wait_until(lambda: queue.get(woken.id).status is TaskStatus.DONE, what="the task to run")
    assert queue.get(woken.id).worker_id == worker


def test_a_paused_worker_takes_nothing_while_the_others_go_on(queue, workers):
    busy, resting = workers.start("busy"), workers.start("resting")
    queue.pause_worker(resting)
    ids = [t.id for t in queue.enqueue_many([task(f"t{n}") for n in range(20)])]
    wait_until(lambda: statuses(queue, ids)[TaskStatus.DONE] == 20, what="20 tasks done")
    assert {queue.get(i).worker_id for i in ids} == {busy}
    assert {w.id: w.paused for w in queue.workers.list()} == {busy: False, resting: True}


def test_a_task_pinned_to_a_worker_runs_only_there(queue, workers):
    one, two = workers.start("one"), workers.start("two")
    pinned = [t.id for t in queue.enqueue_many([NewTask("txt2img", {"prompt": "p"}, worker_pin=two)] * 10)]
    wait_until(lambda: statuses(queue, pinned)[TaskStatus.DONE] == 10, what="10 pinned tasks done")
    assert {queue.get(i).worker_id for i in pinned} == {two}
    assert one != two


def test_captured_tasks_run_only_on_workers_of_their_webui_and_api_tasks_anywhere(queue, workers):
    forge, a1111 = workers.start("forge-box", webui="forge"), workers.start("a1111-box", webui="a1111")
    queue.pause()
    families = ["forge", "a1111", None] * 10
    items = [
        NewTask("txt2img", {"prompt": f"t{n}", "seconds": 0.02}, needs_webui=f)
        for n, f in enumerate(families)
    ]
    ids = [t.id for t in queue.enqueue_many(items)]
    queue.resume()
    wait_until(lambda: statuses(queue, ids)[TaskStatus.DONE] == 30, what="30 tasks done")
    ran_on = {family: set() for family in ("forge", "a1111", None)}
    for task_id, family in zip(ids, families, strict=True):
        ran_on[family].add(queue.get(task_id).worker_id)
    assert ran_on["forge"] == {forge} and ran_on["a1111"] == {a1111}
    assert ran_on[None] <= {forge, a1111}
    assert sorted(Counter(run[0] for run in workers.runs()).values()) == [1] * 30  # each ran once


def test_a_capture_waits_while_no_worker_of_its_webui_is_there(queue, workers):
    workers.start("a1111-box", webui="a1111")
    waiting = queue.enqueue(NewTask("txt2img", {"prompt": "forge's"}, needs_webui="forge"))
    after = queue.enqueue(NewTask("txt2img", {"prompt": "anyone's"}))
    wait_until(lambda: queue.get(after.id).status is TaskStatus.DONE, what="the API task done")
    assert queue.get(waiting.id).status is TaskStatus.PENDING
    forge = workers.start("forge-box", webui="forge")
    wait_until(lambda: queue.get(waiting.id).status is TaskStatus.DONE, what="the capture done")
    assert queue.get(waiting.id).worker_id == forge


def test_two_workers_load_each_checkpoint_about_once_each(queue, workers):
    a, b = workers.start("a", load_s=0.2), workers.start("b", load_s=0.2)
    mixed = [task(f"t{n}", seconds=0.05) for n in range(24)]
    for n, item in enumerate(mixed):
        item.checkpoint = ["A.safetensors", "B.safetensors", "C.safetensors"][n % 3]
    ids = [t.id for t in queue.enqueue_many(mixed)]
    wait_until(lambda: statuses(queue, ids)[TaskStatus.DONE] == 24, what="24 tasks done")
    loads: Counter = Counter()
    last: dict[str, str] = {}
    for _task, worker, checkpoint in workers.runs():
        if last.get(worker) != checkpoint:
            loads[worker] += 1
            last[worker] = checkpoint
    # 3 checkpoints, 2 workers: at most one load of each per worker, never one per switch
    assert sum(loads.values()) <= 6, loads
    assert set(loads) <= {a, b}


def test_a_worker_that_stops_cleanly_says_so(queue, workers):
    name = workers.start("leaving")
    workers.stop_all()
    [view] = [w for w in queue.workers.list() if w.id == name]
    assert view.state == "stopped" and not view.live


def test_identity_names_carry_through_the_claim(queue):
    me = WorkerIdentity.local("here", lease_s=30)
    queue.workers.register(me)
    queue.enqueue(task("x"))
    claimed = queue.claim_next(worker=me)
    assert claimed.worker_id == "here" and claimed.lease_expires_at == pytest.approx(time.time() + 30, abs=5)

"""Leases in one process, with the store's clock in the test's hand: renewal, lapse, take-over."""

from __future__ import annotations

import threading

from task_scheduler.executor import Executor
from task_scheduler.runner import InMemoryRunner
from task_scheduler.task import NewTask, TaskStatus
from task_scheduler.workers import WorkerIdentity

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def worker(name: str, lease_s: float = 60.0) -> WorkerIdentity:
    return WorkerIdentity.local(name, lease_s=lease_s)


def blocking_runner() -> tuple[InMemoryRunner, threading.Event]:
    release = threading.Event()
    runner = InMemoryRunner(lambda task: release.wait(30) and None)
    return runner, release


def test_a_heartbeat_keeps_a_long_run_from_lapsing(queue, clock):
    runner, release = blocking_runner()
    mine = Executor(queue, runner, worker=worker("slow", lease_s=60))
    mine.register()
    task = queue.enqueue(NewTask("txt2img", {"prompt": "ten-minute hires"}))
    thread = threading.Thread(target=mine.run_one)
    thread.start()
    try:
        for _minute in range(10):  # ten minutes of run, a heartbeat every 15 s
            for _beat in range(4):
                clock.advance(15)
                mine.beat()
            assert queue.recover(lapsed_only=True) == []
        assert queue.get(task.id).status is TaskStatus.RUNNING and not runner.interrupted.is_set()
    finally:
        release.set()
        thread.join(10)
    done = queue.get(task.id)
    assert done.status is TaskStatus.DONE and done.crashes == 0 and done.attempts == 1
    mine.close()


def test_a_lapsed_claim_goes_to_another_worker_and_the_late_outcome_is_refused(queue, clock):
    runner, release = blocking_runner()
    stalled = Executor(queue, runner, worker=worker("stalled", lease_s=60))
    stalled.register()
    task = queue.enqueue(NewTask("txt2img", {"prompt": "p"}))
    thread = threading.Thread(target=stalled.run_one)
    thread.start()
    try:
        assert _eventually(lambda: queue.get(task.id).status is TaskStatus.RUNNING)
        clock.advance(61)  # no heartbeat for longer than the lease (a suspended laptop, a hung driver)
        other = Executor(queue, InMemoryRunner(lambda t: release.wait(30) and None), worker=worker("other"))
        other.register()
        other.beat()  # the other worker notices: requeued once, counted as a crash
        requeued = queue.get(task.id)
        assert requeued.status is TaskStatus.PENDING and requeued.crashes == 1
        taker = threading.Thread(target=other.run_one)
        taker.start()
        assert _eventually(lambda: queue.get(task.id).worker_id == "other")
        stalled.beat()  # the stalled worker wakes: its claim is gone, so its run is stopped
        assert runner.interrupted.is_set()
        release.set()
        thread.join(10)
        taker.join(10)
    finally:
        release.set()
    final = queue.get(task.id)
    # the stalled run's outcome (interrupted) never overwrote the run that owns the task now
    assert final.status is TaskStatus.DONE and final.worker_id == "other" and final.attempts == 2
    stalled.close()
    other.close()


def test_a_second_crash_of_a_lapsed_task_leaves_it_interrupted(queue, clock):
    task = queue.enqueue(NewTask("txt2img", {"prompt": "crashes its worker"}))
    for attempt in (1, 2):
        assert queue.claim_next(worker=worker(f"w{attempt}")).id == task.id
        clock.advance(61)
        queue.recover(lapsed_only=True)
    stuck = queue.get(task.id)
    assert stuck.status is TaskStatus.INTERRUPTED and stuck.crashes == 2
    assert "w2" in stuck.error


def _eventually(predicate, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False

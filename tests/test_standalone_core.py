"""What the core offers several executors sharing one queue (the standalone server's backends)."""

from __future__ import annotations

import threading

from helpers import make_task, wait_until

from task_scheduler.errors import RunnerUnavailable
from task_scheduler.executor import Executor
from task_scheduler.runner import InMemoryRunner
from task_scheduler.task import TaskStatus


def test_claim_leaves_tasks_of_skipped_checkpoints_for_another_worker(queue):
    a, b, free = queue.enqueue_many(
        [make_task("a", checkpoint="A.safetensors"), make_task("b", checkpoint="B"), make_task("free")]
    )
    # this worker lacks A (another backend has it): it takes b, then the task without a checkpoint
    skip = ["a.safetensors [0123456789]"]
    assert queue.claim_next(skip_checkpoints=skip).id == b.id
    assert queue.claim_next(skip_checkpoints=skip).id == free.id
    assert queue.claim_next(skip_checkpoints=skip) is None
    assert queue.claim_next().id == a.id


def test_skipped_checkpoints_beat_preference_and_pinning(queue):
    a, b = queue.enqueue_many([make_task("a", checkpoint="A"), make_task("b", checkpoint="B")])
    queue.move(a.id, to="top")
    assert queue.claim_next(prefer_checkpoint="A", skip_checkpoints=["A"]).id == b.id


def test_run_once_on_a_paused_queue_waits_for_a_worker_that_can_run_it(queue):
    a, _b = queue.enqueue_many([make_task("a", checkpoint="A"), make_task("b")])
    queue.pause()
    queue.run_next(a.id)
    assert queue.claim_next(skip_checkpoints=["A"]) is None
    assert queue.claim_next().id == a.id
    assert queue.claim_next() is None


def test_a_worker_leaves_tasks_for_models_only_another_worker_has(queue):
    """Each worker publishes the checkpoints its runner has; the store tells the others."""
    from task_scheduler.workers import WorkerIdentity

    other = Executor(queue, InMemoryRunner(checkpoints=["A", "B"]), worker=WorkerIdentity.local("other"))
    other.start()
    other.stop()  # stopped workers do not count: ask the row, as if it were still alive
    queue.workers.register(other.worker, available=["A", "B"])
    here = Executor(queue, InMemoryRunner(checkpoints=["B"]), worker=WorkerIdentity.local("here"))
    queue.workers.register(here.worker, available=["B"])
    a, b = queue.enqueue_many([make_task("a", checkpoint="A"), make_task("b", checkpoint="B")])
    assert here.run_one() and not here.run_one()
    assert here.runner.ran == [b.id]
    assert queue.get(a.id).status is TaskStatus.PENDING
    queue.workers.stopped(other.worker)  # the only worker with A is gone: A runs here and fails
    assert here.run_one()
    failed = queue.get(a.id)
    assert failed.status is TaskStatus.FAILED and "'A' is not available" in failed.error
    here.close()
    other.close()


def _lost(task):
    raise RunnerUnavailable("http://backend:7860 stopped answering")


def test_a_runner_that_loses_its_webui_gives_the_task_back_instead_of_failing_it(queue):
    runner = InMemoryRunner(_lost)
    executor = Executor(queue, runner)
    a, b = queue.enqueue_many([make_task("a"), make_task("b")])
    assert executor.run_one()
    task = queue.get(a.id)
    assert task.status is TaskStatus.PENDING and task.error is None and task.attempts == 1
    assert [t.id for t in queue.pending()] == [a.id, b.id]  # it keeps its place
    executor.close()


def test_a_lost_runner_still_honours_a_delete_of_the_running_task(queue):
    gate = threading.Event()

    def lost_after_gate(task):
        gate.wait(5)
        _lost(task)

    executor = Executor(queue, InMemoryRunner(lost_after_gate))
    task = queue.enqueue(make_task())
    executor.start()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.RUNNING)
    assert queue.delete(task.id) == "stopping"
    gate.set()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.CANCELLED)
    executor.close()


def test_a_starting_executor_never_takes_another_live_executors_task(queue):
    gate = threading.Event()
    first = Executor(queue, InMemoryRunner(lambda t: gate.wait(5) and None))
    task = queue.enqueue(make_task())
    first.start()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.RUNNING)
    second = Executor(queue, InMemoryRunner())
    second.start()
    assert queue.get(task.id).status is TaskStatus.RUNNING
    gate.set()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.DONE)
    first.close()
    second.close()

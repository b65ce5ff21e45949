"""The executor: outcomes, pause/resume/stop, cancel, crash recovery, and the daemon thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from helpers import make_task, wait_until

import task_scheduler
from task_scheduler import executor as executor_module
from task_scheduler.errors import OutOfMemory
from task_scheduler.executor import Executor, ExecutorSettings
from task_scheduler.runner import InMemoryRunner, RunResult
from task_scheduler.store import Store
from task_scheduler.task import TaskResult, TaskStatus
from task_scheduler.task_queue import TaskQueue

REPO_ROOT = str(Path(task_scheduler.__file__).resolve().parents[1])

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def test_run_one_runs_the_next_task_to_done(queue, runner, executor):
    task = queue.enqueue(make_task("a cat"))
    runner.behaviour = lambda t: RunResult(TaskResult(images=["/out/1.png"], infotexts=["a cat"], seeds=[42]))
    assert executor.run_one() is True
    done = queue.get(task.id)
    assert (
        done.status is TaskStatus.DONE and done.result.images == ["/out/1.png"] and done.result.seeds == [42]
    )
    assert executor.run_one() is False


def test_a_failing_task_records_the_reason_and_the_queue_goes_on(queue, runner, executor):
    bad, good = queue.enqueue_many([make_task("bad"), make_task("good")])

    def behaviour(task):
        if task.prompt == "bad":
            raise ValueError("sampler 'Nope' does not exist")
        return None

    runner.behaviour = behaviour
    executor.run_one()
    executor.run_one()
    failed = queue.get(bad.id)
    assert failed.status is TaskStatus.FAILED
    assert failed.error == "ValueError: sampler 'Nope' does not exist"
    assert queue.get(good.id).status is TaskStatus.DONE


def test_an_interrupted_run_keeps_its_images_and_the_queue_goes_on(queue, runner, executor):
    first, second = queue.enqueue_many([make_task("one"), make_task("two")])
    runner.behaviour = lambda t: RunResult(TaskResult(images=["partial.png"]), interrupted=t.prompt == "one")
    executor.run_one()
    executor.run_one()
    interrupted = queue.get(first.id)
    assert interrupted.status is TaskStatus.INTERRUPTED and interrupted.result.images == ["partial.png"]
    assert queue.get(second.id).status is TaskStatus.DONE


def test_out_of_memory_fails_the_task_and_pauses_the_queue(queue, runner, executor):
    first, second = queue.enqueue_many([make_task("huge"), make_task("next")])

    def behaviour(task):
        raise OutOfMemory("CUDA out of memory. Tried to allocate 2 GiB")

    runner.behaviour = behaviour
    executor.run_one()
    assert queue.get(first.id).status is TaskStatus.FAILED
    assert "Out of memory" in queue.get(first.id).error
    assert queue.paused and executor.run_one() is False
    assert queue.get(second.id).status is TaskStatus.PENDING


def test_out_of_memory_without_pausing_when_the_setting_is_off(queue, runner):
    executor = Executor(queue, runner, ExecutorSettings(pause_on_out_of_memory=False))
    queue.enqueue(make_task())
    runner.behaviour = lambda t: (_ for _ in ()).throw(OutOfMemory("oom"))
    executor.run_one()
    assert not queue.paused
    executor.close()


def test_deleting_the_running_task_interrupts_it_and_records_cancelled(queue, runner, executor):
    release = threading.Event()
    started = threading.Event()

    def behaviour(task):
        started.set()
        runner.interrupted.wait(5)  # a real runner returns early once interrupted
        release.set()
        return RunResult(TaskResult(images=["half.png"]))

    runner.behaviour = behaviour
    task = queue.enqueue(make_task())
    worker = threading.Thread(target=executor.run_one)
    worker.start()
    assert started.wait(5)
    assert queue.delete(task.id) == "stopping"
    worker.join(5)
    assert release.is_set()
    cancelled = queue.get(task.id)
    assert cancelled.status is TaskStatus.CANCELLED and cancelled.result.images == ["half.png"]


def test_a_stop_requested_before_the_run_starts_skips_the_run(queue, runner, executor, monkeypatch):
    task = queue.enqueue(make_task())
    real_claim = queue.claim_group

    def claim_then_user_interrupts(**kw):
        claimed = real_claim(**kw)
        queue.request_stop(claimed[0].id, "interrupted")
        return claimed

    monkeypatch.setattr(queue, "claim_group", claim_then_user_interrupts)
    executor.run_one()
    assert runner.ran == [] and queue.get(task.id).status is TaskStatus.INTERRUPTED


def test_progress_is_reported_while_running(queue, runner, executor):
    seen = []

    def behaviour(task):
        seen.append(queue.progress(task.id))
        return None

    runner.behaviour = behaviour
    task = queue.enqueue(make_task())
    executor.run_one()
    assert seen[0].task_id == task.id and seen[0].text == "started"
    assert queue.progress(task.id) is None  # cleared once finished


def test_checkpoint_aware_order_loads_each_checkpoint_once(queue, runner):
    queue.enqueue_many([make_task(str(i), checkpoint="AB"[i % 2]) for i in range(20)])
    executor = Executor(queue, runner, ExecutorSettings(checkpoint_aware_order=True))
    while executor.run_one():
        pass
    assert runner.checkpoint_loads == ["A", "B"]
    executor.close()


def test_without_checkpoint_aware_order_the_queue_order_is_kept(queue, runner):
    queue.enqueue_many([make_task(str(i), checkpoint="AB"[i % 2]) for i in range(6)])
    executor = Executor(queue, runner, ExecutorSettings(checkpoint_aware_order=False))
    while executor.run_one():
        pass
    assert runner.checkpoint_loads == ["A", "B", "A", "B", "A", "B"]
    executor.close()


def test_retention_runs_when_the_queue_drains(queue, runner, clock):
    old = queue.enqueue(make_task("old"))
    executor = Executor(queue, runner, ExecutorSettings(retention_days=1))
    executor.run_one()
    clock.advance(2 * 86400)
    fresh = queue.enqueue(make_task("fresh"))
    executor.run_one()
    assert [t.id for t in queue.history().tasks] == [fresh.id]
    assert old.id not in {t.id for t in queue.history().tasks}
    executor.close()


# -- the thread ------------------------------------------------------------------------------


def test_thread_runs_work_as_it_arrives_and_stops_cleanly(queue, runner, executor):
    executor.start()
    executor.start()  # idempotent: still one thread
    assert sum(t.name == "task-scheduler-executor" for t in threading.enumerate()) == 1
    tasks = queue.enqueue_many([make_task(str(i)) for i in range(5)])
    assert wait_until(lambda: all(queue.get(t.id).status is TaskStatus.DONE for t in tasks))
    executor.stop()
    executor.stop()
    assert not executor.alive
    late = queue.enqueue(make_task("after stop"))
    assert queue.get(late.id).status is TaskStatus.PENDING


def test_pause_lets_the_current_task_finish_then_waits_until_resume(queue, runner, executor):
    gate = threading.Event()
    runner.behaviour = lambda t: gate.wait(5) and None
    first, second = queue.enqueue_many([make_task("first"), make_task("second")])
    executor.start()
    assert wait_until(lambda: queue.get(first.id).status is TaskStatus.RUNNING)
    queue.pause()
    gate.set()
    assert wait_until(lambda: queue.get(first.id).status is TaskStatus.DONE)
    threading.Event().wait(0.1)
    assert queue.get(second.id).status is TaskStatus.PENDING
    queue.resume()
    assert wait_until(lambda: queue.get(second.id).status is TaskStatus.DONE)


def test_stop_waits_for_the_running_task(queue, runner, executor):
    gate = threading.Event()
    runner.behaviour = lambda t: gate.wait(5) and None
    first, second = queue.enqueue_many([make_task("first"), make_task("second")])
    executor.start()
    assert wait_until(lambda: queue.get(first.id).status is TaskStatus.RUNNING)
    threading.Timer(0.1, gate.set).start()
    executor.stop(timeout=5)
    assert queue.get(first.id).status is TaskStatus.DONE
    assert queue.get(second.id).status is TaskStatus.PENDING


def test_the_thread_survives_an_error_outside_the_task(queue, executor, monkeypatch):
    real_finish = queue.finish
    calls = []

    def finish_fails_once(*args, **kw):
        calls.append(args[0])
        if len(calls) == 1:
            raise RuntimeError("disk hiccup")
        return real_finish(*args, **kw)

    monkeypatch.setattr(queue, "finish", finish_fails_once)
    monkeypatch.setattr(executor_module, "_RETRY_AFTER_ERROR_S", 0.01)
    first = queue.enqueue(make_task("first"))
    executor.start()
    second = queue.enqueue(make_task("second"))
    assert wait_until(lambda: queue.get(second.id).status is TaskStatus.DONE)
    assert executor.alive
    # what the user sees: the first task's run is recorded (not left "running"), and it ran once
    recorded = queue.get(first.id)
    assert (recorded.status, recorded.attempts, recorded.error) == (TaskStatus.DONE, 1, None)
    assert calls == [first.id, first.id, second.id]


def test_an_outcome_the_store_keeps_refusing_is_recorded_as_failed_with_the_reason(
    queue, runner, executor, monkeypatch
):
    real_finish = queue.finish

    def refuses_done(task_id, status, **kw):
        if status is TaskStatus.DONE and kw["result"].images:
            raise ValueError("Out of range float values are not JSON compliant")
        return real_finish(task_id, status, **kw)

    monkeypatch.setattr(queue, "finish", refuses_done)
    monkeypatch.setattr(executor_module, "_RETRY_AFTER_ERROR_S", 0.01)
    bad, good = queue.enqueue_many([make_task("bad"), make_task("good")])
    runner.behaviour = lambda t: RunResult(TaskResult(images=["/out/1.png"])) if t.prompt == "bad" else None
    executor.start()
    assert wait_until(lambda: queue.get(good.id).status is TaskStatus.DONE)
    failed = queue.get(bad.id)
    assert failed.status is TaskStatus.FAILED
    assert failed.error == (
        "The outcome (done) could not be recorded: "
        "ValueError: Out of range float values are not JSON compliant"
    )


def test_an_error_before_a_task_runs_is_retried_without_waiting_for_a_new_event(queue, executor, monkeypatch):
    # the executor claims through claim_group (a task, or an auto-batch of them)
    real_claim = queue.claim_group
    calls = []

    def claim_fails_once(**kw):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk hiccup")
        return real_claim(**kw)

    task = queue.enqueue(make_task("waiting"))
    monkeypatch.setattr(queue, "claim_group", claim_fails_once)
    monkeypatch.setattr(executor_module, "_RETRY_AFTER_ERROR_S", 0.01)
    executor.start()  # no enqueue, resume or other event follows
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.DONE)
    assert len(calls) >= 2  # the failed claim, then the retry that ran it


# -- crash recovery --------------------------------------------------------------------------


def _crash_with_running_task(store_location, prompt="crashy"):
    """A separate process claims a task and dies mid-run (os._exit: no cleanup at all)."""
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {REPO_ROOT!r})
        from task_scheduler.store import Store
        from task_scheduler.task_queue import TaskQueue
        q = TaskQueue(Store({str(store_location)!r}))
        q.claim_next()
        os._exit(9)
        """
    )
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == 9


def test_a_task_running_at_a_crash_is_interrupted_then_requeued_once(queue, runner, store_location):
    task = queue.enqueue(make_task("crashy"))
    _crash_with_running_task(store_location)
    assert queue.get(task.id).status is TaskStatus.RUNNING
    executor = Executor(queue, runner)
    executor.start()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.DONE)
    done = queue.get(task.id)
    assert done.crashes == 1 and done.attempts == 2
    executor.close()


def test_a_task_running_at_a_second_crash_is_never_requeued_again(queue, runner, store_location):
    task = queue.enqueue(make_task("crashy"))
    other = queue.enqueue(make_task("innocent"))
    _crash_with_running_task(store_location)
    queue.recover_after_crash()  # first restart: requeued (it keeps its place at the front)
    assert queue.get(task.id).status is TaskStatus.PENDING
    _crash_with_running_task(store_location)  # it crashes the WebUI again
    executor = Executor(queue, runner)
    executor.start()
    assert wait_until(lambda: queue.get(other.id).status is TaskStatus.DONE)
    stuck = queue.get(task.id)
    assert stuck.status is TaskStatus.INTERRUPTED and stuck.crashes == 2
    assert "stopped while this task was running" in stuck.error
    executor.close()


def test_automatic_requeue_can_be_turned_off(queue, runner, store_location):
    task = queue.enqueue(make_task())
    _crash_with_running_task(store_location)
    executor = Executor(queue, runner, ExecutorSettings(requeue_interrupted=False))
    executor.start()
    executor.stop()
    assert queue.get(task.id).status is TaskStatus.INTERRUPTED
    executor.close()


def test_recovery_happens_once_per_executor_not_on_every_start(queue, runner):
    executor = Executor(queue, runner)
    executor.start()
    executor.stop()
    gate = threading.Event()
    runner.behaviour = lambda t: gate.wait(5) and None
    task = queue.enqueue(make_task())
    executor.start()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.RUNNING)
    executor.start()  # a second start while running must not "recover" the live task
    assert queue.get(task.id).status is TaskStatus.RUNNING
    gate.set()
    assert wait_until(lambda: queue.get(task.id).status is TaskStatus.DONE)
    executor.close()


def test_requeue_running_gives_the_task_back_in_place(queue):
    a, b = queue.enqueue_many([make_task("a"), make_task("b")])
    queue.claim_next()
    queue.requeue_running(a.id, "backend went away")
    assert [t.id for t in queue.pending()] == [a.id, b.id]


def test_reopening_with_a_fresh_store_keeps_everything(queue, store_location, clock):
    ids = [t.id for t in queue.enqueue_many([make_task(str(i)) for i in range(3)])]
    queue.store.close()
    assert [t.id for t in TaskQueue(Store(store_location, clock=clock)).pending()] == ids


def test_in_memory_runner_is_a_runner():
    from task_scheduler.runner import Runner

    assert isinstance(InMemoryRunner(), Runner)

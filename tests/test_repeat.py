"""Repeating tasks and jobs, and giving the GPU back when the queue idles, run by an executor with a
simulated WebUI runner and a clock the tests control; a restart in the middle of each."""

from __future__ import annotations

from pathlib import Path

import pytest

from task_scheduler.executor import Executor, ExecutorSettings
from task_scheduler.jobs import Jobs
from task_scheduler.runner import InMemoryRunner, Simulated
from task_scheduler.store import Store
from task_scheduler.task import NewTask, TaskStatus
from task_scheduler.task_queue import TaskQueue

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def task(prompt: str = "p", seed: int = -1, **values) -> NewTask:
    return NewTask(kind="txt2img", params={"prompt": prompt, "seed": seed, "steps": 1}, **values)


@pytest.fixture
def sim(tmp_path: Path) -> InMemoryRunner:
    return InMemoryRunner(simulate=Simulated(tmp_path / "out"))


def run_all(executor: Executor, limit: int = 50) -> int:
    ran = 0
    while executor.run_one():
        ran += 1
        assert ran < limit, "the repetition did not end"
    return ran


def done_rounds(queue: TaskQueue) -> list[tuple[int, list[int]]]:
    finished = sorted(queue.history(limit=100).tasks, key=lambda t: t.repeat_round)
    return [(t.repeat_round, t.result.seeds) for t in finished]


def test_a_task_repeated_three_times_runs_three_rounds_each_with_new_seeds(queue, sim):
    queue.enqueue(task(repeat_times=3))
    assert run_all(Executor(queue, sim)) == 3
    rounds = done_rounds(queue)
    assert [r for r, _ in rounds] == [1, 2, 3]
    assert len({tuple(seeds) for _, seeds in rounds}) == 3
    assert queue.pending() == []


def test_kept_seeds_make_every_round_with_the_first_rounds_seeds(queue, sim):
    queue.enqueue(task(repeat_times=3, repeat_keep_seeds=True))
    run_all(Executor(queue, sim))
    rounds = done_rounds(queue)
    assert len(rounds) == 3 and len({tuple(seeds) for _, seeds in rounds}) == 1


def test_the_next_round_goes_to_the_end_of_the_queue(queue, sim):
    repeating = queue.enqueue(task("r", repeat_times=2))
    other = queue.enqueue(task("other"))
    executor = Executor(queue, sim)
    executor.run_one()
    assert [t.prompt for t in queue.pending()] == ["other", "r"]
    assert queue.pending()[1].repeat_round == 2
    assert queue.pending()[1].repeat_series == repeating.id
    assert other.id in {t.id for t in queue.pending()}


def test_until_stopped_repeats_until_the_user_stops_it_and_keeps_what_ran(queue, sim):
    first = queue.enqueue(task(repeat_times=0))
    executor = Executor(queue, sim)
    for _ in range(4):
        assert executor.run_one()
    pending = queue.pending()
    assert [t.repeat_round for t in pending] == [5]
    queue.stop_repeating(first.id)
    assert run_all(executor) == 1  # the round already queued still runs
    assert queue.pending() == []
    assert len(queue.history(limit=100).tasks) == 5


def test_a_failed_round_ends_the_repetition(queue):
    def fail(task):
        raise RuntimeError("boom")

    queue.enqueue(task(repeat_times=0))
    assert run_all(Executor(queue, InMemoryRunner(fail))) == 1
    assert queue.pending() == []


def test_a_repetition_survives_a_restart_in_the_middle(store_location, files, clock, sim):
    first = Store(store_location, clock=clock)
    queue = TaskQueue(first, files)
    queue.enqueue(task(repeat_times=3))
    Executor(queue, sim).run_one()
    first.close()
    again = TaskQueue(Store(store_location, clock=clock), files)
    assert run_all(Executor(again, sim)) == 2
    assert [r for r, _ in done_rounds(again)] == [1, 2, 3]
    again.store.close()


def test_a_repeating_job_queues_its_next_round_when_its_round_ends(queue, sim):
    jobs = Jobs(queue)
    job, _ = jobs.create([task("a"), task("b")], name="lora test", repeat=(2, False))
    executor = Executor(queue, sim, ExecutorSettings(auto_batch=0))  # one task at a time: see rounds end
    executor.run_one()
    assert [t.prompt for t in queue.pending()] == ["b"]  # the round is not over yet
    executor.run_one()
    assert [(t.prompt, t.repeat_round) for t in queue.pending()] == [("a", 2), ("b", 2)]
    assert jobs.get(job.id).repeat_round == 2
    run_all(executor)
    assert jobs.get(job.id).counts["done"] == 4
    assert queue.pending() == []


def test_a_repeating_job_s_round_runs_as_one_batch_and_the_next_round_follows_it(queue, sim):
    jobs = Jobs(queue)
    job, first = jobs.create([task("a", seed=5), task("b", seed=6)], name="seeds", repeat=(2, False))
    executor = Executor(queue, sim)  # auto-batching as set by default: jobs in batches of up to 4
    executor.run_one()
    assert sim.batches == [[t.id for t in first]]
    second = queue.pending()
    assert [(t.prompt, t.repeat_round) for t in second] == [("a", 2), ("b", 2)]
    assert [t.params["seed"] for t in second] != [5, 6]  # each round with new seeds
    executor.run_one()
    assert sim.batches[-1] == [t.id for t in second]
    assert jobs.get(job.id).counts["done"] == 4 and queue.pending() == []


def test_stopping_a_jobs_repetition_leaves_its_tasks(queue, sim):
    jobs = Jobs(queue)
    job, _ = jobs.create([task("a")], repeat=(0, True))
    executor = Executor(queue, sim)
    executor.run_one()
    executor.run_one()
    jobs.stop_repeating(job.id)
    run_all(executor)
    assert jobs.get(job.id).counts["done"] == 3
    assert jobs.get(job.id).repeat_stopped is True


# -- giving the GPU back -------------------------------------------------------------------------------


def test_the_model_is_unloaded_after_the_delay_and_the_next_task_loads_it_again(queue, clock, sim):
    queue.set_schedule(unload_after_s=120)
    executor = Executor(queue, sim)
    queue.enqueue(task())
    executor.run_one()
    assert executor.run_one() is False
    clock.advance(60)
    assert executor.idle_step() == pytest.approx(60, abs=0.1)
    assert sim.unloads == 0
    clock.advance(60)
    executor.idle_step()
    assert (sim.unloads, sim.model_loaded) == (1, False)
    assert queue.unloaded_workers() == {executor.worker.id: pytest.approx(clock.now, abs=0.1)}
    loads = len(sim.checkpoint_loads)
    queue.enqueue(task())
    executor.run_one()
    assert sim.model_loaded and len(sim.checkpoint_loads) == loads + 1
    assert queue.unloaded_workers() == {}


def test_without_a_delay_set_or_before_any_run_the_model_stays(queue, clock, sim):
    executor = Executor(queue, sim)
    clock.advance(3600)
    executor.idle_step()  # nothing ran: a user's own generations are not ours to unload
    queue.set_schedule(unload_after_s=10)
    clock.advance(3600)
    executor.idle_step()
    assert sim.unloads == 0


def test_leaving_the_window_gives_the_gpu_back_after_the_delay(queue, clock, sim):
    queue.set_schedule(windows="Daily 00:00-12:00", timezone="UTC", unload_after_s=30)
    clock.now = 1_800_000_000.0 - (1_800_000_000.0 % 86400) + 11.99 * 3600  # 11:59:24 UTC
    queue.enqueue(task())
    queue.enqueue(task())
    executor = Executor(queue, sim)
    executor.run_one()
    clock.advance(120)  # past noon: the window closed
    assert executor.run_one() is False
    clock.advance(30)
    executor.idle_step()
    assert sim.unloads == 1 and len(queue.pending()) == 1


def test_the_unloaded_mark_survives_a_restart(store_location, files, clock, sim):
    first = Store(store_location, clock=clock)
    queue = TaskQueue(first, files)
    queue.set_schedule(unload_after_s=5)
    queue.enqueue(task())
    executor = Executor(queue, sim)
    executor.run_one()
    clock.advance(10)
    executor.idle_step()
    worker = executor.worker.id
    first.close()
    again = TaskQueue(Store(store_location, clock=clock), files)
    assert worker in again.unloaded_workers()
    assert again.get(again.history().tasks[0].id).status is TaskStatus.DONE
    again.store.close()

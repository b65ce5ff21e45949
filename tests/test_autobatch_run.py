"""Auto-batching in the queue and the executor: the claim, the split-back, failures and stops.

The claim is part of the store contract: it runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ENGINES
from helpers import make_task, wait_until

from task_scheduler.batching import BatchPolicy
from task_scheduler.executor import Executor, ExecutorSettings
from task_scheduler.jobs import Jobs
from task_scheduler.runner import InMemoryRunner, ProgressUpdate, RunResult, Simulated
from task_scheduler.task import TaskResult, TaskStatus
from task_scheduler.task_queue import TaskQueue
from task_scheduler.workers import WorkerIdentity

STORE_ENGINES = ENGINES


def sweep(queue: TaskQueue, prompts=("a", "b", "c"), seeds=(1, 2, 3, 4), **kw):
    """A job of prompts × seeds, as a sweep queues it."""
    items = [make_task(p, params={"seed": s}, **kw) for p in prompts for s in seeds]
    return Jobs(queue).create(items, name="sweep")[1]


@pytest.fixture
def simulated(tmp_path: Path) -> InMemoryRunner:
    return InMemoryRunner(simulate=Simulated(tmp_path / "outputs"))


@pytest.fixture
def batching(queue: TaskQueue, simulated: InMemoryRunner) -> Iterator[Executor]:
    ex = Executor(queue, simulated, ExecutorSettings())  # the defaults: 4 for jobs, off for clicks
    yield ex
    ex.close()


def run_all(executor: Executor) -> int:
    runs = 0
    while executor.run_one():
        runs += 1
    return runs


def test_a_claim_takes_the_group_at_once_under_one_lease_and_one_batch_id(queue):
    tasks = sweep(queue)
    worker = WorkerIdentity.local("gpu0")
    queue.workers.register(worker, checkpoint=None)
    group = queue.claim_group(worker=worker, batching=BatchPolicy())
    assert [t.id for t in group] == [t.id for t in tasks[:4]]
    stored = [queue.get(t.id) for t in group]
    assert {t.status for t in stored} == {TaskStatus.RUNNING}
    assert {t.worker_id for t in stored} == {"gpu0"}
    assert len({t.batch_id for t in stored}) == 1 and stored[0].batch_id is not None
    assert len({t.lease_expires_at for t in stored} - {None}) >= 1 and None not in {
        t.lease_expires_at for t in stored
    }
    assert {t.attempts for t in stored} == {1}
    assert [t.id for t in queue.pending()] == [t.id for t in tasks[4:]]
    other = queue.claim_group(worker=WorkerIdentity.local("gpu1"), batching=BatchPolicy())
    assert [t.id for t in other] == [t.id for t in tasks[4:8]]  # the next group, none twice


def test_a_claim_at_the_same_moment_takes_the_next_task_not_one_behind_the_others_candidates(
    queue, store_engine, store_location, monkeypatch
):
    """PostgreSQL: while one worker's claim picks its batch, another worker claims. It gets the
    next task in order, and the first claim's batch leaves that one out. (Locking every candidate
    made the second claim skip all ten: it found nothing to run.)"""
    if store_engine != "postgresql":
        pytest.skip("SQLite runs one claim at a time")
    from task_scheduler import claiming
    from task_scheduler import task_queue as task_queue_module
    from task_scheduler.store import Store

    tasks = sweep(queue, prompts=("a",), seeds=range(1, 11))
    first, second = WorkerIdentity.local("gpu0"), WorkerIdentity.local("gpu1")
    other = TaskQueue(Store(store_location))
    for worker in (first, second):
        queue.workers.register(worker, checkpoint=None)
    choosing, picked, chosen = threading.Event(), threading.Event(), threading.Event()
    real_select, real_pick = task_queue_module.select_group, claiming.pick

    def select_slowly(*args, **kwargs):  # the first claim: holds its transaction open
        group = real_select(*args, **kwargs)
        choosing.set()
        chosen.wait(10)
        return group

    def pick_and_tell(conn, prefer, skip, worker_id, *args, **kwargs):  # the second claim's pick
        found = real_pick(conn, prefer, skip, worker_id, *args, **kwargs)
        if worker_id == second.id:
            picked.set()
        return found

    monkeypatch.setattr(task_queue_module, "select_group", select_slowly)
    monkeypatch.setattr(claiming, "pick", pick_and_tell)
    claimed: dict[str, list] = {}
    claims = [
        threading.Thread(
            target=lambda: claimed.setdefault(
                "first", queue.claim_group(worker=first, batching=BatchPolicy())
            )
        ),
        threading.Thread(target=lambda: claimed.setdefault("second", other.claim_group(worker=second))),
    ]
    claims[0].start()
    try:
        assert choosing.wait(10)
        claims[1].start()  # alone, while the first claim's batch is being chosen
        assert picked.wait(10)
    finally:
        chosen.set()
        for claim in claims:
            claim.join(10)
        other.store.close()
    ids = [t.id for t in tasks]
    assert [t.id for t in claimed["second"]] == [ids[1]]
    assert [t.id for t in claimed["first"]] == [ids[0], ids[2], ids[3]]  # chosen 0-3, 1 was taken
    assert {queue.get(i).status for i in ids[:4]} == {TaskStatus.RUNNING}
    assert [t.id for t in queue.pending()] == ids[4:]


def test_a_single_claim_leaves_no_batch_id(queue):
    queue.enqueue(make_task("alone"))
    (claimed,) = queue.claim_group(batching=BatchPolicy())
    assert queue.get(claimed.id).batch_id is None


def test_a_job_of_twelve_runs_as_three_batches_each_task_with_its_own_image_seed_and_infotext(
    queue, batching, simulated
):
    tasks = sweep(queue)
    assert run_all(batching) == 3
    assert simulated.batches == [[t.id for t in tasks[i : i + 4]] for i in (0, 4, 8)]
    done = [queue.get(t.id) for t in tasks]
    assert {t.status for t in done} == {TaskStatus.DONE}
    for stored in done:
        seed = stored.params["seed"]
        assert stored.result.seeds == [seed]
        assert len(stored.result.images) == 1 and Path(stored.result.images[0]).name.endswith(f"-{seed}.png")
        assert stored.result.infotexts[0].startswith(stored.params["prompt"] + "\n")
        assert f"Seed: {seed}," in stored.result.infotexts[0]
    batch_ids = [t.batch_id for t in done]
    assert len(set(batch_ids)) == 3 and batch_ids[:4] == [batch_ids[0]] * 4


def test_batched_results_equal_one_by_one_results(queue, tmp_path):
    alone_runner = InMemoryRunner(simulate=Simulated(tmp_path / "alone"))
    alone = Executor(queue, alone_runner, ExecutorSettings(auto_batch=0))
    first = sweep(queue, prompts=("a", "b"), seeds=(7, 8))
    run_all(alone)
    alone.close()
    together_runner = InMemoryRunner(simulate=Simulated(tmp_path / "together"))
    together = Executor(queue, together_runner, ExecutorSettings(auto_batch=4))
    second = sweep(queue, prompts=("a", "b"), seeds=(7, 8))
    run_all(together)
    together.close()
    assert alone_runner.batches == [] and len(together_runner.batches) == 1
    for one, other in zip(first, second, strict=True):
        a, b = queue.get(one.id).result, queue.get(other.id).result
        assert (a.seeds, a.infotexts) == (b.seeds, b.infotexts)
        assert Path(a.images[0]).read_bytes() == Path(b.images[0]).read_bytes()


def test_a_random_seed_is_drawn_for_each_task_of_a_batch(queue, batching):
    tasks = sweep(queue, prompts=("a",), seeds=(-1, -1, -1))
    run_all(batching)
    seeds = [queue.get(t.id).result.seeds[0] for t in tasks]
    assert all(seed >= 0 for seed in seeds) and len(set(seeds)) == 3


def test_single_clicks_run_one_by_one_and_seed_repeats_together(queue, batching, simulated):
    clicks = queue.enqueue_many([make_task("click", params={"seed": s}) for s in (1, 2)])
    repeats = queue.enqueue_many(
        [make_task("again", params={"seed": s}, batching="repeat") for s in (3, 4, 5)]
    )
    assert run_all(batching) == 3
    assert simulated.batches == [[t.id for t in repeats]]
    assert simulated.ran == [clicks[0].id, clicks[1].id, *(t.id for t in repeats)]


def test_the_setting_for_clicks_batches_them_too(queue, simulated):
    executor = Executor(queue, simulated, ExecutorSettings(auto_batch_clicks=2))
    clicks = queue.enqueue_many([make_task("click", params={"seed": s}) for s in (1, 2, 3)])
    run_all(executor)
    executor.close()
    assert simulated.batches == [[clicks[0].id, clicks[1].id]]


def test_the_run_order_never_passes_a_task_placed_explicitly(queue, batching, simulated):
    tasks = sweep(queue, prompts=("a",), seeds=(1, 2, 3, 4))
    mine = queue.enqueue(make_task("mine", params={"steps": 9}))
    queue.move(mine.id, before=tasks[2].id)
    run_all(batching)
    assert simulated.ran == [tasks[0].id, tasks[1].id, mine.id, tasks[2].id, tasks[3].id]
    assert simulated.batches == [[tasks[0].id, tasks[1].id], [tasks[2].id, tasks[3].id]]


def test_an_exact_job_runs_one_by_one(queue, batching, simulated):
    items = [make_task("a", params={"seed": s}, batching="exact") for s in (1, 2, 3)]
    Jobs(queue).create(items, name="exact")
    assert run_all(batching) == 3 and simulated.batches == []


def test_out_of_memory_runs_the_same_tasks_one_by_one_and_remembers_a_smaller_batch(queue, tmp_path):
    runner = InMemoryRunner(simulate=Simulated(tmp_path / "out"), max_batch=2)
    executor = Executor(queue, runner, ExecutorSettings(auto_batch=4))
    tasks = sweep(queue, prompts=("a", "b"), seeds=(1, 2, 3, 4))
    assert executor.run_one()
    first = [queue.get(t.id) for t in tasks[:4]]
    assert {t.status for t in first} == {TaskStatus.DONE} and [t.result.seeds for t in first] == [
        [1],
        [2],
        [3],
        [4],
    ]
    assert runner.batches == [] and not queue.paused  # one by one; no pause: nothing failed
    run_all(executor)
    executor.close()
    assert runner.batches == [[t.id for t in tasks[4:6]], [t.id for t in tasks[6:8]]]
    assert {queue.get(t.id).status for t in tasks} == {TaskStatus.DONE}


def test_one_bad_task_in_a_batch_fails_only_itself(queue, tmp_path):
    def behaviour(task):
        if task.prompt == "bad":
            raise ValueError("the prompt cannot be parsed")
        return RunResult(TaskResult(images=[], infotexts=[task.prompt], seeds=[task.params["seed"]]))

    def batch(tasks):
        if any(t.prompt == "bad" for t in tasks):
            raise ValueError("the prompt cannot be parsed")
        return None

    runner = InMemoryRunner(behaviour, batch_behaviour=batch)
    executor = Executor(queue, runner, ExecutorSettings())
    tasks = sweep(queue, prompts=("good", "bad", "fine"), seeds=(1,))
    run_all(executor)
    executor.close()
    statuses = [queue.get(t.id).status for t in tasks]
    assert statuses == [TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.DONE]
    assert queue.get(tasks[1].id).error == "ValueError: the prompt cannot be parsed"
    assert queue.get(tasks[2].id).result.infotexts == ["fine"]


@pytest.mark.parametrize("how", ["delete", "interrupt"])
def test_stopping_one_task_of_a_running_batch_puts_the_others_back_first(queue, how):
    started = threading.Event()

    def batch(tasks):
        started.set()
        while not runner.interrupted.wait(0.05):  # the WebUI's progress, as it reports it
            runner.report(ProgressUpdate(0.5, "step 2/4"))
        return [RunResult(TaskResult()) for _ in tasks]

    runner = InMemoryRunner(batch_behaviour=batch)
    executor = Executor(queue, runner, ExecutorSettings())
    tasks = sweep(queue, prompts=("a",), seeds=(1, 2, 3, 4))
    later = queue.enqueue(make_task("later"))
    thread = threading.Thread(target=executor.run_one)
    thread.start()
    assert started.wait(10)
    # progress on every task of the batch
    assert wait_until(lambda: all(getattr(queue.progress(t.id), "fraction", 0) == 0.5 for t in tasks))
    if how == "delete":
        assert queue.delete(tasks[1].id) == "stopping"
    else:
        queue.request_stop(tasks[1].id, "interrupted")
    thread.join(10)
    assert not thread.is_alive()
    stopped = queue.get(tasks[1].id)
    assert stopped.status is (TaskStatus.CANCELLED if how == "delete" else TaskStatus.INTERRUPTED)
    back = [queue.get(t.id) for t in (tasks[0], tasks[2], tasks[3])]
    assert {t.status for t in back} == {TaskStatus.PENDING} and {t.crashes for t in back} == {0}
    assert [t.id for t in queue.pending()] == [tasks[0].id, tasks[2].id, tasks[3].id, later.id]
    runner.batch_behaviour = None
    run_all(executor)
    executor.close()
    assert runner.batches[-1] == [tasks[0].id, tasks[2].id, tasks[3].id]


def test_a_task_stopped_between_claim_and_start_is_left_out_of_the_batch(queue, simulated, monkeypatch):
    executor = Executor(queue, simulated, ExecutorSettings())
    tasks = sweep(queue, prompts=("a",), seeds=(1, 2, 3))
    real_claim = queue.claim_group

    def claim_then_user_deletes(**kw):
        claimed = real_claim(**kw)
        queue.delete(claimed[1].id)
        return claimed

    monkeypatch.setattr(queue, "claim_group", claim_then_user_deletes)
    executor.run_one()
    executor.close()
    assert queue.get(tasks[1].id).status is TaskStatus.CANCELLED
    assert simulated.batches == [[tasks[0].id, tasks[2].id]]


def test_a_runner_without_batches_runs_everything_one_by_one(queue):
    class OneAtATime:
        def __init__(self):
            self.inner = InMemoryRunner()

        def run(self, task, progress):
            return self.inner.run(task, progress)

        def interrupt(self):
            self.inner.interrupt()

        def current_checkpoint(self):
            return None

    runner = OneAtATime()
    executor = Executor(queue, runner, ExecutorSettings())
    tasks = sweep(queue, prompts=("a",), seeds=(1, 2, 3))
    assert run_all(executor) == 3
    executor.close()
    assert runner.inner.ran == [t.id for t in tasks]


# -- with the queue's other rules: start times, WebUI families, the check at start, leases ------


def test_a_task_not_due_yet_stays_out_of_the_batch(queue, batching, simulated, clock):
    tasks = sweep(queue, prompts=("a",), seeds=(1, 2, 3, 4))
    queue.edit(tasks[2].id, not_before=clock.now + 3600)
    run_all(batching)
    assert simulated.batches == [[tasks[0].id, tasks[1].id, tasks[3].id]]
    assert queue.get(tasks[2].id).status is TaskStatus.PENDING


def test_a_batch_takes_only_tasks_of_its_worker_s_webui_family(queue, simulated):
    worker = WorkerIdentity.local("forge-box", info={"webui": "forge"})
    executor = Executor(queue, simulated, ExecutorSettings(), worker=worker)
    items = [
        make_task("a", params={"seed": s}, needs_webui=family)
        for s, family in ((1, "forge"), (2, "a1111"), (3, None), (4, "forge"))
    ]
    _, tasks = Jobs(queue).create(items, name="mixed")
    run_all(executor)
    executor.close()
    assert simulated.batches == [[tasks[0].id, tasks[2].id, tasks[3].id]]
    assert queue.get(tasks[1].id).status is TaskStatus.PENDING


def test_a_task_refused_by_the_check_at_start_fails_alone_and_the_rest_run_as_a_batch(queue, simulated):
    from dataclasses import replace as changed

    from check_catalog import CATALOG

    from task_scheduler.checker import CheckSettings, TaskChecker

    simulated.catalog_value = changed(CATALOG, loras=("detail_tweaker",), version="before")
    queue.checker = TaskChecker(simulated.catalog, lambda: CheckSettings(at_start="fail"))
    prompts = ("a", "a <lora:detail_tweaker:0.8>", "b", "c")
    _, tasks = Jobs(queue).create([make_task(p, params={"seed": 1}) for p in prompts], name="lora test")
    simulated.catalog_value = changed(CATALOG, loras=(), version="after")  # the LoRA was deleted since
    executor = Executor(queue, simulated, ExecutorSettings())
    run_all(executor)
    executor.close()
    refused = queue.get(tasks[1].id)
    assert refused.status is TaskStatus.FAILED and "detail_tweaker" in refused.error
    assert refused.error.startswith("Not started: ")
    assert simulated.batches == [[tasks[0].id, tasks[2].id, tasks[3].id]]
    assert {queue.get(t.id).status for t in (tasks[0], tasks[2], tasks[3])} == {TaskStatus.DONE}


def test_the_heartbeat_renews_the_lease_of_every_task_of_a_running_batch(queue, clock):
    worker = WorkerIdentity.local("gpu0", lease_s=60)
    beats: list[float] = []

    def batch(tasks):
        clock.advance(45)  # most of the lease went by while the batch ran
        executor.beat()
        beats.append(clock.now)
        return [RunResult(TaskResult()) for _ in tasks]

    runner = InMemoryRunner(batch_behaviour=batch)
    executor = Executor(queue, runner, ExecutorSettings(), worker=worker)
    queue.workers.register(worker, checkpoint=None)
    tasks = sweep(queue, prompts=("a",), seeds=(1, 2, 3))
    real_finish = queue.finish
    leases: dict[str, float | None] = {}

    def finish(task_id, status, **kw):
        leases[task_id] = queue.get(task_id).lease_expires_at
        return real_finish(task_id, status, **kw)

    queue.finish = finish
    executor.run_one()
    executor.close()
    assert runner.batches == [[t.id for t in tasks]]
    assert all(leases[t.id] is not None and leases[t.id] >= beats[0] + 59 for t in tasks), leases


def test_while_a_failed_batch_runs_one_by_one_the_tasks_waiting_their_turn_keep_their_lease(queue, clock):
    """Seen on real A1111: the batch failed, the tasks ran one by one, and the heartbeat renewed
    only the one running, so the others lapsed and this very worker took them back."""
    worker = WorkerIdentity.local("gpu0", lease_s=60)

    def batch(tasks):
        raise RuntimeError("a tensor with NaNs was produced")

    def alone(task):
        clock.advance(45)  # each task alone takes most of a lease
        executor.beat()
        return RunResult(TaskResult(infotexts=[task.prompt]))

    runner = InMemoryRunner(alone, batch_behaviour=batch)
    executor = Executor(queue, runner, ExecutorSettings(), worker=worker)
    queue.workers.register(worker, checkpoint=None)
    tasks = sweep(queue, prompts=("a",), seeds=(1, 2, 3))
    executor.run_one()
    executor.close()
    ended = [queue.get(t.id) for t in tasks]
    assert [(t.status, t.attempts, t.crashes) for t in ended] == [(TaskStatus.DONE, 1, 0)] * 3

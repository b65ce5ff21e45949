"""Several fake WebUIs behind one queue: spreading, checkpoint-aware claiming, losing and regaining one."""

from __future__ import annotations

from dataclasses import replace

import pytest
import standalone_fixtures
from fake_webui import pixel_for
from helpers import make_task
from PIL import Image
from standalone_fixtures import eventually

from task_scheduler.standalone.backends import BackendPool
from task_scheduler.task import TaskStatus

#: a WebUI counts as down after two failed health checks
FAST = replace(standalone_fixtures.FAST, down_after_failures=2)


@pytest.fixture
def make_pool(queue, files, tmp_path):
    pools = []

    def make(*webuis, settings=FAST):
        pool = BackendPool(queue, files, [w.url for w in webuis], tmp_path / "results", settings=settings)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        for fake_release in pool.backends:
            fake_release.runner.abandon("test over")
        pool.stop(timeout=5)


def status(queue, task):
    return queue.get(task.id).status


def backend_of(queue, task):
    return queue.get(task.id).result.info["backend"]


def test_tasks_spread_over_two_backends(queue, fakes, make_pool):
    a, b = fakes
    a.hold()
    b.hold()
    first, second, *rest = queue.enqueue_many([make_task(str(i), checkpoint="shared") for i in range(6)])
    pool = make_pool(a, b)
    pool.start()
    assert a.busy.wait(5) and b.busy.wait(5)  # both WebUIs generate at once
    assert {status(queue, first), status(queue, second)} == {TaskStatus.RUNNING}
    a.release()
    b.release()
    tasks = [first, second, *rest]
    assert eventually(lambda: all(status(queue, t) is TaskStatus.DONE for t in tasks))
    used = {backend_of(queue, t) for t in tasks}
    assert used == {a.url, b.url}
    assert len(a.generations) + len(b.generations) == 6


def test_a_task_goes_to_the_backend_that_has_its_checkpoint(queue, fakes, make_pool):
    a, b = fakes
    only_b = queue.enqueue_many([make_task(str(i), checkpoint="model-b") for i in range(3)])
    anywhere = queue.enqueue(make_task("free"))
    pool = make_pool(a, b)
    pool.start()
    assert eventually(lambda: all(status(queue, t) is TaskStatus.DONE for t in [*only_b, anywhere]))
    assert all(backend_of(queue, t) == b.url for t in only_b)
    assert all(g["checkpoint"] != "model-b.safetensors" for g in a.generations)
    with Image.open(queue.get(only_b[0].id).result.images[0]) as image:
        seed = queue.get(only_b[0].id).result.seeds[0]
        assert image.getpixel((0, 0)) == pixel_for(seed, "model-b.safetensors")


def test_a_checkpoint_no_backend_has_fails_with_the_models_there_are(queue, fakes, make_pool):
    a, b = fakes
    task = queue.enqueue(make_task(checkpoint="missing-model"))
    make_pool(a, b).start()
    assert eventually(lambda: status(queue, task) is TaskStatus.FAILED)
    error = queue.get(task.id).error
    assert "missing-model" in error and "shared.safetensors" in error


def test_each_backend_keeps_its_own_model_loaded_order(queue, fakes, make_pool):
    a, _b = fakes
    queue.enqueue_many(
        [make_task(f"{m}{i}", checkpoint=f"{m}.safetensors") for i in range(2) for m in ("model-a", "shared")]
    )
    make_pool(a).start()
    assert eventually(lambda: len(a.generations) == 4)
    assert [g["checkpoint"] for g in a.generations] == ["model-a.safetensors"] * 2 + [
        "shared.safetensors"
    ] * 2


def test_a_backend_killed_mid_task_requeues_it_to_the_other_and_rejoins_later(queue, fakes, make_pool):
    a, b = fakes
    a.hold()
    b.hold()
    task = queue.enqueue(make_task("survivor", checkpoint="shared"))
    pool = make_pool(a, b)
    pool.start()
    assert eventually(lambda: a.busy.is_set() or b.busy.is_set())
    victim, other = (a, b) if a.busy.is_set() else (b, a)
    other.release()
    victim.kill()
    assert eventually(lambda: status(queue, task) is TaskStatus.DONE)
    finished = queue.get(task.id)
    assert backend_of(queue, task) == other.url and finished.attempts == 2 and finished.crashes == 0
    down = next(s for s in pool.status() if s["url"] == victim.url)
    assert down["up"] is False and down["error"]

    victim.release()
    victim.restart()  # same port: the health check sees it answer again
    assert eventually(lambda: next(s for s in pool.status() if s["url"] == victim.url)["up"])
    own = "model-a" if victim is a else "model-b"
    later = queue.enqueue_many([make_task(str(i), checkpoint=own) for i in range(2)])
    assert eventually(lambda: all(status(queue, t) is TaskStatus.DONE for t in later))
    assert {backend_of(queue, t) for t in later} == {victim.url}


def test_a_busy_backend_that_stops_answering_health_checks_is_given_up_on(queue, fakes, make_pool):
    a, b = fakes
    a.hold()
    b.hold()
    task = queue.enqueue(make_task("stuck", checkpoint="shared"))
    pool = make_pool(a, b)
    pool.start()
    assert eventually(lambda: a.busy.is_set() or b.busy.is_set())
    victim, other = (a, b) if a.busy.is_set() else (b, a)
    other.release()
    victim.unhealthy = True  # its generation call never returns, its health checks fail
    assert eventually(lambda: status(queue, task) is TaskStatus.DONE)
    assert backend_of(queue, task) == other.url
    victim.unhealthy = False
    assert eventually(lambda: all(s["up"] for s in pool.status()))
    victim.release()


def test_a_task_left_running_by_a_crash_is_recovered_once_at_start(queue, fakes, make_pool):
    a, _b = fakes
    task = queue.enqueue(make_task())
    queue.claim_next()  # the previous server died while it ran
    make_pool(a).start()
    assert eventually(lambda: status(queue, task) is TaskStatus.DONE)
    assert queue.get(task.id).crashes == 1


def test_stopping_the_server_gives_the_running_task_back(queue, fakes, make_pool):
    a, _b = fakes
    a.hold()
    task = queue.enqueue(make_task())
    pool = make_pool(a)
    pool.start()
    assert a.busy.wait(5)
    pool.stop(timeout=5)
    assert status(queue, task) is TaskStatus.PENDING and queue.get(task.id).crashes == 0
    assert a.interrupted.is_set()


def test_a_backend_down_at_start_joins_when_it_answers(queue, fakes, make_pool):
    a, b = fakes
    b.kill()
    pool = make_pool(a, b)
    pool.start()
    assert [s["up"] for s in pool.status()] == [True, False]
    b.restart()
    assert eventually(lambda: all(s["up"] for s in pool.status()))
    task = queue.enqueue(make_task(checkpoint="model-b"))
    assert eventually(lambda: status(queue, task) is TaskStatus.DONE)


def test_each_backends_worker_shows_the_model_its_webui_has_loaded_before_any_task(queue, fakes, make_pool):
    """Seen on the real server in front of two Forges: ``GET /workers`` listed both remote
    workers with checkpoint null (and checkpoint-aware order had no model to prefer) until a task
    naming a checkpoint had switched it."""
    a, b = fakes
    b.selected = "shared.safetensors"
    make_pool(a, b).start()
    shown = lambda: {w.id: w.checkpoint for w in queue.workers.list()}  # noqa: E731
    assert eventually(lambda: shown() == {a.url: "model-a.safetensors", b.url: "shared.safetensors"}), shown()

"""Jobs in the core: created with their tasks in one transaction, status derived, whole-job actions."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from helpers import make_task

from task_scheduler.errors import InvalidTaskData, TaskNotFound
from task_scheduler.executor import Executor
from task_scheduler.jobs import JobConflict, JobNotFound, Jobs, JobStatus, derive_status, image_infotext
from task_scheduler.migrations import SCHEMA_VERSION, migrate
from task_scheduler.runner import InMemoryRunner, RunResult
from task_scheduler.task import Task, TaskResult, TaskStatus
from task_scheduler.task_queue import TaskQueue

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


@pytest.fixture
def jobs(queue: TaskQueue) -> Jobs:
    return Jobs(queue)


def writes_images(outputs: Path, count: int = 2):
    """Runner behaviour: write ``count`` PNG-named files per task and return them with infotexts."""

    def behaviour(task: Task) -> RunResult:
        paths = []
        for index in range(count):
            path = outputs / f"{task.id[:8]}-{index}.png"
            path.write_bytes(b"png " + task.id.encode())
            paths.append(str(path))
        infotexts = [f"{task.prompt}\nSteps: 2, Seed: {100 + i}, Size: 64x64" for i in range(count)]
        return RunResult(TaskResult(images=paths, infotexts=infotexts, seeds=[100, 101][:count]))

    return behaviour


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    folder = tmp_path / "outputs"
    folder.mkdir()
    return folder


def run_all(executor: Executor) -> int:
    ran = 0
    while executor.run_one():
        ran += 1
    return ran


# -- schema and creation --------------------------------------------------------------------------


def test_migration_3_adds_the_job_tables_and_keeps_tasks(db_path):
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, isolation_level=None)
    migrate(conn, target=2)
    conn.execute(
        "INSERT INTO task (id, kind, status, params, created_at, updated_at, job_id) "
        "VALUES ('t1', 'txt2img', 'pending', '{}', 1, 1, 'legacy')"
    )
    assert migrate(conn) == SCHEMA_VERSION >= 3
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"job", "job_image"} <= tables
    assert conn.execute("SELECT job_id FROM task").fetchone()[0] == "legacy"
    conn.close()


def test_create_queues_the_job_and_its_tasks_together(jobs, queue):
    job, tasks = jobs.create([make_task("a"), make_task("b")], name="lora test", origin={"type": "sweep"})
    assert job.name == "lora test" and job.origin == {"type": "sweep"}
    assert [t.job_id for t in tasks] == [job.id, job.id]
    assert [t.id for t in queue.pending()] == [t.id for t in tasks]
    assert job.status is JobStatus.PENDING and job.counts["pending"] == 2 and job.counts["total"] == 2
    assert jobs.get(job.id).id == job.id


def test_create_is_all_or_nothing(jobs, queue, store):
    bad = make_task("b")
    bad.params = {"x": float("nan")}
    with pytest.raises(InvalidTaskData):
        jobs.create([make_task("a"), bad], name="broken")
    with store.read() as conn:
        assert conn.execute("SELECT count(*) FROM job").fetchone()[0] == 0
    assert queue.pending() == []
    with pytest.raises(InvalidTaskData):
        jobs.create([], name="empty")
    with pytest.raises(InvalidTaskData):
        jobs.create([make_task()], name="x" * 201)


def test_a_failing_insert_rolls_back_the_job_row(jobs, store, monkeypatch):
    def boom(conn, task):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "insert", boom)
    with pytest.raises(RuntimeError):
        jobs.create([make_task()], name="x")
    with store.read() as conn:
        assert conn.execute("SELECT count(*) FROM job").fetchone()[0] == 0


def test_get_unknown_job_is_not_found(jobs):
    with pytest.raises(JobNotFound) as info:
        jobs.get("nope")
    assert isinstance(info.value, TaskNotFound) and "no job" in str(info.value)


def test_list_newest_first_with_paging(jobs):
    made = [jobs.create([make_task()], name=f"job {i}")[0] for i in range(5)]
    page = jobs.list(limit=2, offset=1)
    assert page.total == 5 and [j.name for j in page.jobs] == ["job 3", "job 2"]
    assert page.jobs[0].counts["total"] == 1
    assert jobs.list().jobs[0].id == made[-1].id
    with pytest.raises(InvalidTaskData):
        jobs.list(limit=0)


# -- status ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "cancelled", "expected"),
    [
        ({}, False, JobStatus.EMPTY),
        ({"pending": 3}, False, JobStatus.PENDING),
        ({"pending": 2, "done": 1}, False, JobStatus.RUNNING),
        ({"running": 1, "pending": 2}, False, JobStatus.RUNNING),
        ({"done": 3}, False, JobStatus.DONE),
        ({"done": 2, "failed": 1}, False, JobStatus.DONE_WITH_FAILURES),
        ({"done": 2, "interrupted": 1}, False, JobStatus.DONE_WITH_FAILURES),
        ({"cancelled": 3}, False, JobStatus.CANCELLED),
        ({"done": 1, "cancelled": 2}, True, JobStatus.CANCELLED),
        ({"done": 2, "cancelled": 1}, False, JobStatus.DONE),  # one task cancelled by hand
        ({"running": 1, "cancelled": 2}, True, JobStatus.RUNNING),  # still stopping
    ],
)
def test_status_derivation(counts, cancelled, expected):
    assert derive_status(counts, cancelled=cancelled) is expected


def test_status_follows_the_tasks(jobs, queue, executor, runner, outputs):
    runner.behaviour = writes_images(outputs)
    job, tasks = jobs.create([make_task("a"), make_task("b"), make_task("c")], name="j")
    executor.run_one()
    job = jobs.get(job.id)
    assert (
        job.status is JobStatus.RUNNING and job.counts["done"] == 1 and job.progress == pytest.approx(1 / 3)
    )
    runner.behaviour = lambda task: (_ for _ in ()).throw(RuntimeError("bad"))
    run_all(executor)
    job = jobs.get(job.id)
    assert job.status is JobStatus.DONE_WITH_FAILURES
    assert (job.counts["done"], job.counts["failed"], job.images) == (1, 2, 2)


# -- hold / release -----------------------------------------------------------------------------


def test_a_held_job_is_passed_over_and_runs_after_release(jobs, queue, executor, runner):
    held, held_tasks = jobs.create([make_task("h1"), make_task("h2")], name="held")
    other = queue.enqueue(make_task("other"))
    jobs.hold(held.id)
    assert jobs.get(held.id).held
    assert run_all(executor) == 1 and runner.ran == [other.id]
    assert queue.count(TaskStatus.PENDING) == 2  # still queued, just not started
    events = []
    queue.subscribe(lambda event, task: events.append(event))
    jobs.release(held.id)
    assert "job_resumed" in events
    assert run_all(executor) == 2 and runner.ran[1:] == [t.id for t in held_tasks]


def test_release_wakes_an_idle_executor(jobs, queue, runner):
    executor = Executor(queue, runner)
    job, tasks = jobs.create([make_task("h")], name="held")
    jobs.hold(job.id)
    executor.start()
    try:
        jobs.release(job.id)
        for _ in range(200):
            if queue.get(tasks[0].id).status is TaskStatus.DONE:
                break
            time.sleep(0.01)
        assert queue.get(tasks[0].id).status is TaskStatus.DONE
    finally:
        executor.close()


def test_held_tasks_do_not_win_checkpoint_preference(jobs, queue):
    first = queue.enqueue(make_task("first", checkpoint="a"))
    job, _ = jobs.create([make_task("held b", checkpoint="b")], name="j")
    jobs.hold(job.id)
    claimed = queue.claim_next(prefer_checkpoint="b")
    assert claimed is not None and claimed.id == first.id
    assert queue.claim_next(prefer_checkpoint="b") is None


def test_run_now_of_a_held_task_on_a_paused_queue_still_runs_it(jobs, queue):
    job, tasks = jobs.create([make_task("h")], name="j")
    jobs.hold(job.id)
    queue.pause()
    queue.run_next(tasks[0].id)
    claimed = queue.claim_next()
    assert claimed is not None and claimed.id == tasks[0].id


# -- move, cancel, requeue -----------------------------------------------------------------------


def test_move_to_top_keeps_the_jobs_order_and_pins_it(jobs, queue):
    before = [queue.enqueue(make_task(f"q{i}")) for i in range(3)]
    job, tasks = jobs.create([make_task("j1"), make_task("j2")], name="j")
    after = queue.enqueue(make_task("later"))
    jobs.move_to_top(job.id)
    assert [t.id for t in queue.pending()] == [*(t.id for t in tasks), *(t.id for t in before), after.id]
    assert all(queue.get(t.id).pinned for t in tasks)


def test_move_to_top_overtakes_higher_priorities(jobs, queue):
    urgent = queue.enqueue(make_task("urgent", priority=5))
    job, tasks = jobs.create([make_task("j1")], name="j")
    jobs.move_to_top(job.id)
    assert [t.id for t in queue.pending()] == [tasks[0].id, urgent.id]


def test_move_to_top_of_a_finished_job_is_a_conflict(jobs, executor):
    job, _ = jobs.create([make_task()], name="j")
    run_all(executor)
    with pytest.raises(JobConflict):
        jobs.move_to_top(job.id)


def test_cancel_cancels_pending_and_stops_the_running_task(jobs, queue):
    job, tasks = jobs.create([make_task("a"), make_task("b"), make_task("c")], name="j")
    running = queue.claim_next()
    assert running is not None and running.id == tasks[0].id
    job, stopping = jobs.cancel(job.id)
    assert stopping == [running.id] and queue.stop_request(running.id) == "cancelled"
    assert [queue.get(t.id).status for t in tasks[1:]] == [TaskStatus.CANCELLED] * 2
    assert job.status is JobStatus.RUNNING
    queue.finish(running.id, TaskStatus.CANCELLED)
    assert jobs.get(job.id).status is JobStatus.CANCELLED


def test_cancel_through_the_executor_interrupts_the_runner(jobs, queue):
    started, release = threading.Event(), threading.Event()

    def block(task: Task) -> RunResult:
        started.set()
        release.wait(5)
        return RunResult()

    runner = InMemoryRunner(block)
    executor = Executor(queue, runner)
    job, tasks = jobs.create([make_task("a"), make_task("b")], name="j")
    executor.start()
    try:
        assert started.wait(5)
        jobs.cancel(job.id)
        assert runner.interrupted.is_set()
        release.set()
    finally:
        executor.close()
    assert [queue.get(t.id).status for t in tasks] == [TaskStatus.CANCELLED, TaskStatus.CANCELLED]
    assert jobs.get(job.id).status is JobStatus.CANCELLED


def test_requeue_failed_copies_failures_into_the_job_and_they_stop_counting(jobs, queue, executor, runner):
    job, tasks = jobs.create([make_task("ok"), make_task("bad")], name="j")
    runner.behaviour = lambda task: (_ for _ in ()).throw(RuntimeError("x")) if task.prompt == "bad" else None
    run_all(executor)
    assert jobs.get(job.id).status is JobStatus.DONE_WITH_FAILURES
    copies = jobs.requeue_failed(job.id)
    assert len(copies) == 1 and copies[0].requeued_from == tasks[1].id and copies[0].job_id == job.id
    job_now = jobs.get(job.id)
    assert job_now.status is JobStatus.RUNNING and job_now.superseded == 1 and job_now.counts["total"] == 2
    runner.behaviour = None
    run_all(executor)
    assert jobs.get(job.id).status is JobStatus.DONE
    assert jobs.requeue_failed(job.id) == []


def test_requeue_failed_leaves_other_jobs_alone(jobs, queue, executor, runner):
    runner.behaviour = lambda task: (_ for _ in ()).throw(RuntimeError("x"))
    mine, _ = jobs.create([make_task("a")], name="mine")
    jobs.create([make_task("b")], name="other")
    queue.enqueue(make_task("loose"))
    run_all(executor)
    assert len(jobs.requeue_failed(mine.id)) == 1
    assert queue.count(TaskStatus.PENDING) == 1


# -- images, marks, deletion ----------------------------------------------------------------------


@pytest.fixture
def finished_job(jobs, executor, runner, outputs):
    runner.behaviour = writes_images(outputs)
    job, tasks = jobs.create([make_task("a"), make_task("b"), make_task("c")], name="three")
    run_all(executor)
    return jobs.get(job.id), tasks


def test_images_lists_every_result_with_infotext_and_seed(jobs, finished_job):
    job, tasks = finished_job
    images = jobs.images(job.id)
    assert len(images) == 6 == job.images
    assert [(i.task_id, i.index) for i in images[:2]] == [(tasks[0].id, 0), (tasks[0].id, 1)]
    assert images[1].infotext.startswith("a\nSteps: 2, Seed: 101") and images[1].seed == 101
    assert all(i.exists and i.mark is None and not i.grid for i in images)


def test_infotext_skips_a_grid_infotext_listed_first():
    task = Task(
        id="t",
        kind="txt2img",
        params={},
        result=TaskResult(
            images=["/o/1.png", "/o/2.png"],
            infotexts=["grid", "one", "two"],
            info={"index_of_first_image": 1},
        ),
    )
    assert image_infotext(task, 0) == "one" and image_infotext(task, 1) == "two"


def test_marks_and_delete_discarded_touch_only_discarded_files(jobs, finished_job, outputs, tmp_path):
    job, tasks = finished_job
    bystander = outputs / "not-in-the-job.png"
    bystander.write_bytes(b"keep me")
    other_job, _ = jobs.create([make_task("other")], name="other")
    images = jobs.images(job.id)
    jobs.mark(job.id, [images[0].key, images[3].key], "discarded")
    jobs.mark(job.id, [images[1].key], "kept")
    counted = jobs.get(job.id)
    assert (counted.kept, counted.discarded) == (1, 2)
    assert [i.mark for i in jobs.images(job.id)] == ["discarded", "kept", None, "discarded", None, None]
    removed = jobs.delete_discarded(job.id)
    assert sorted(removed) == sorted([images[0].path, images[3].path])
    left = {p.name for p in outputs.iterdir()}
    assert left == {Path(i.path).name for i in images if i.key not in (images[0].key, images[3].key)} | {
        bystander.name
    }
    after = jobs.images(job.id)
    assert not after[0].exists and after[1].exists
    assert jobs.delete_discarded(job.id) == []  # already gone
    jobs.mark(job.id, [images[0].key], None)
    assert jobs.images(job.id)[0].mark is None
    assert jobs.get(other_job.id).discarded == 0


def test_marking_an_image_of_another_job_is_refused(jobs, finished_job):
    job, _ = finished_job
    other, other_tasks = jobs.create([make_task()], name="other")
    with pytest.raises(InvalidTaskData) as info:
        jobs.mark(job.id, [(other_tasks[0].id, 0)], "kept")
    assert info.value.field == "images.0"
    with pytest.raises(InvalidTaskData):
        jobs.mark(job.id, [jobs.images(job.id)[0].key], "maybe")


def test_a_discard_mark_on_a_path_outside_the_job_deletes_nothing(jobs, finished_job, store, outputs):
    job, _ = finished_job
    outsider = outputs / "outsider.png"
    outsider.write_bytes(b"x")
    with store.write() as conn:  # a forged mark row must still not reach a foreign file
        conn.execute(
            "INSERT INTO job_image (job_id, path, task_id, idx, mark, updated_at) "
            "VALUES (?, ?, 't', 0, 'discarded', 0)",
            (job.id, str(outsider)),
        )
    assert jobs.delete_discarded(job.id) == []
    assert outsider.exists()


def test_zip_entries_skip_discarded_and_missing_and_dedupe_names(jobs, finished_job):
    job, _ = finished_job
    images = jobs.images(job.id)
    jobs.mark(job.id, [images[0].key], "discarded")
    Path(images[1].path).unlink()
    entries = list(jobs.zip_entries(job.id))
    assert [name for _, name in entries] == [Path(i.path).name for i in images[2:]]
    assert len(list(jobs.zip_entries(job.id, include_discarded=True))) == 5
    archive = Path(images[2].path).parent / "out.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path, name in entries:
            z.write(path, name)
    assert len(zipfile.ZipFile(archive).namelist()) == 4


def test_delete_keeps_images_unless_asked(jobs, finished_job, queue):
    job, tasks = finished_job
    paths = [i.path for i in jobs.images(job.id)]
    outcome = jobs.delete(job.id)
    assert outcome == {"id": job.id, "deleted_tasks": 3, "deleted_images": 0}
    assert all(Path(p).exists() for p in paths)
    with pytest.raises(TaskNotFound):
        queue.get(tasks[0].id)
    with pytest.raises(JobNotFound):
        jobs.get(job.id)


def test_delete_with_images_removes_only_the_jobs_own_results(
    jobs, finished_job, executor, runner, outputs, queue
):
    job, _ = finished_job
    other, _ = jobs.create([make_task("other")], name="other")
    loose = queue.enqueue(make_task("loose"))
    run_all(executor)
    mine = [i.path for i in jobs.images(job.id)]
    keep = [i.path for i in jobs.images(other.id)] + list(queue.get(loose.id).result.images)
    outcome = jobs.delete(job.id, delete_images=True)
    assert outcome["deleted_images"] == 6
    assert not any(Path(p).exists() for p in mine)
    assert all(Path(p).exists() for p in keep)


def test_delete_removes_input_files_nobody_uses(jobs, queue, files):
    ref = files.put(b"init image", "png")
    shared = files.put(b"shared", "png")
    job, _ = jobs.create([make_task(files=[ref, shared])], name="j")
    queue.enqueue(make_task(files=[shared]))
    jobs.delete(job.id)
    assert not files.exists(ref) and files.exists(shared)


def test_delete_is_refused_while_a_task_runs(jobs, queue):
    job, _ = jobs.create([make_task()], name="j")
    queue.claim_next()
    with pytest.raises(JobConflict) as info:
        jobs.delete(job.id)
    assert "cancel" in str(info.value)


def test_the_job_modules_import_nothing_from_the_webui_gradio_or_fastapi():
    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        "import task_scheduler.jobs, task_scheduler.sweeps, task_scheduler.followups\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = {m.split(".")[0] for m in json.loads(out)}
    assert not loaded & {"modules", "modules_forge", "gradio", "fastapi", "starlette", "pydantic", "PIL"}

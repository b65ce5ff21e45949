"""What the PostgreSQL store adds to the contract: URLs without secrets, one queue per schema,
migrations applied once by many starting workers, wake-ups through NOTIFY, lost connections.

Runs on a real server started by the tests (conftest ``postgres``); the rest of the store
contract (queue, jobs, leases, saved tasks, worker processes) runs on both engines.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from helpers import make_task

import task_scheduler
from task_scheduler.blobs import StoreBlobs
from task_scheduler.db_location import InvalidLocation, parse_location
from task_scheduler.errors import StoreUnavailable
from task_scheduler.files import FileStore, StoreHolds
from task_scheduler.migrations import SCHEMA_VERSION
from task_scheduler.store import Store
from task_scheduler.task import TaskStatus
from task_scheduler.task_queue import TaskQueue

REPO_ROOT = str(Path(task_scheduler.__file__).resolve().parents[1])


def test_a_url_names_the_server_without_its_password():
    location = parse_location("postgresql://render:s3cr3t@db.example:5433/queue?sslmode=require&schema=farm")
    assert location.is_postgres and location.schema == "farm"
    assert "s3cr3t" not in location.display and "s3cr3t" not in repr(location)
    assert location.display == "postgresql://render:***@db.example:5433/queue?sslmode=require&schema=farm"
    assert "schema" not in location.conninfo  # our parameter, not libpq's
    assert parse_location("/data/q.sqlite3").kind == "sqlite"


@pytest.mark.parametrize("schema", ["1abc", "a-b", "x" * 64, "a;drop"])
def test_a_schema_that_is_not_a_plain_name_is_refused(schema):
    with pytest.raises(InvalidLocation, match="not a plain name"):
        parse_location(f"postgresql://u@h/db?schema={schema}")


def test_an_unreachable_server_is_reported_without_the_password(postgres):
    url = f"postgresql://someone:hunter2@127.0.0.1:{postgres.port + 1}/nowhere"
    with pytest.raises(StoreUnavailable) as caught:
        Store(url, busy_timeout_s=2)
    assert "hunter2" not in str(caught.value)
    assert "unreachable" in str(caught.value) and "someone:***@127.0.0.1" in str(caught.value)


def test_two_schemas_in_one_database_are_two_queues(postgres):
    a = TaskQueue(Store(postgres.url(schema="queue_a")))
    b = TaskQueue(Store(postgres.url(schema="queue_b")))
    try:
        a.enqueue(make_task("only in a"))
        assert [t.params["prompt"] for t in a.pending()] == ["only in a"]
        assert b.pending() == []
    finally:
        a.store.close()
        b.store.close()


def test_eight_processes_starting_at_once_migrate_once(postgres):
    """Eight workers of a new queue start together, on several fresh schemas in a row.

    Every process has imported before a common start moment, so they connect (and create the
    schema) together; several rounds make a lost race likely enough to be seen.
    """
    urls = [postgres.url(schema=f"race_{n}") for n in range(6)]
    start_at = time.time() + 3
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {REPO_ROOT!r})
        from task_scheduler.store import Store
        for n, url in enumerate({urls!r}):
            time.sleep(max(0.0, {start_at!r} + n - time.time()))
            Store(url).close()
        print("ok")
        """
    )
    pipe = subprocess.PIPE
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=pipe, stderr=pipe, text=True)
        for _ in range(8)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in outputs]
    for url in urls:
        store = Store(url)
        with store.read() as conn:
            versions = [r[0] for r in conn.execute("SELECT version FROM schema_migration ORDER BY version")]
        store.close()
        assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_a_change_in_another_process_wakes_a_waiter(postgres, tmp_path):
    url = postgres.url(schema="wake")
    queue = TaskQueue(Store(url))
    since = queue.store.revision
    woke = threading.Event()
    unwatch = queue.store.watch(woke.set)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {REPO_ROOT!r})
        from task_scheduler.store import Store
        from task_scheduler.task_queue import TaskQueue
        from task_scheduler.task import NewTask
        TaskQueue(Store({url!r})).enqueue(NewTask(kind="txt2img", params={{"prompt": "elsewhere"}}))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert queue.store.wait_for_revision(since, timeout=30) > since
    assert woke.wait(30)
    unwatch()
    assert [t.params["prompt"] for t in queue.pending()] == ["elsewhere"]
    queue.store.close()


def test_a_dropped_connection_fails_one_call_and_the_next_reconnects(postgres):
    url = postgres.url(schema="dropped")
    queue = TaskQueue(Store(url))
    task = queue.enqueue(make_task("kept"))
    killer = Store(url)
    with killer.read() as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'task-scheduler' AND pid <> pg_backend_pid()"
        )
    killer.close()
    with pytest.raises(StoreUnavailable, match="unreachable"):
        queue.get(task.id)  # the broken connection shows as the store being out of reach
    assert queue.get(task.id).status is TaskStatus.PENDING  # and the next call reconnects
    claimed = queue.claim_next()
    assert claimed is not None and claimed.id == task.id
    queue.store.close()


def test_the_column_named_user_is_the_tasks_own_not_the_login(postgres):
    queue = TaskQueue(Store(postgres.url(schema="users")))
    task = queue.enqueue(make_task("mine", user="alice"))
    assert queue.get(task.id).user == "alice"  # unquoted, PostgreSQL would read its login name
    queue.store.close()


def two_machines(url: str, tmp_path: Path) -> list[tuple[TaskQueue, FileStore]]:
    """The cellar's and the desk's queue on one database, each with its own file cache."""
    machines = []
    for name in ("cellar", "desk"):
        store = Store(url)
        files = FileStore(tmp_path / name, holds=StoreHolds(store), blobs=StoreBlobs(store))
        machines.append((TaskQueue(store, files), files))
    return machines


def test_an_input_file_put_on_one_machine_is_read_on_another(postgres, tmp_path):
    machines = two_machines(postgres.url(schema="files"), tmp_path)
    (queue_a, files_a), (queue_b, files_b) = machines
    image = bytes(range(256)) * 40
    ref = files_a.put(image)
    task = queue_a.enqueue(make_task("img2img here", files=[ref]))
    assert not (tmp_path / "desk").exists()  # nothing was copied by hand
    assert files_b.read(ref) == image
    assert files_b.path(ref).read_bytes() == image  # the WebUI gets a real file on the other machine
    queue_b.delete(task.id)  # deleted from the other machine: the file goes for everyone
    assert not files_a.exists(ref) and not files_b.exists(ref)
    for queue, _ in machines:
        queue.store.close()


def test_a_machines_cached_copy_of_a_file_deleted_elsewhere_is_pruned(postgres, tmp_path):
    """The desk read the cellar's image once; the cellar deleted its task: the desk's copy goes
    when the desk's worker prunes its cache after a task, and a file still used stays."""
    from task_scheduler.executor import Executor, ExecutorSettings
    from task_scheduler.runner import InMemoryRunner

    machines = two_machines(postgres.url(schema="cache"), tmp_path)
    (queue_a, files_a), (queue_b, files_b) = machines
    gone_ref, kept_ref = files_a.put(b"a" * 500), files_a.put(b"b" * 500)
    gone_task = queue_a.enqueue(make_task("deleted on the cellar", files=[gone_ref]))
    queue_a.enqueue(make_task("still queued", files=[kept_ref]))
    gone_copy, kept_copy = files_b.path(gone_ref), files_b.path(kept_ref)  # the desk reads both
    queue_a.delete(gone_task.id)
    assert gone_copy.is_file() and not files_b.exists(gone_ref)  # the stale copy the desk keeps

    executor = Executor(queue_b, InMemoryRunner(), ExecutorSettings())
    assert executor.run_one()  # the desk runs the remaining task, then prunes
    executor.close()
    assert not gone_copy.exists() and kept_copy.is_file()
    assert files_b.prune_cache() == []  # nothing more to prune
    kept_copy.unlink()  # a copy still needed and gone comes back from the database
    assert files_b.read(kept_ref) == b"b" * 500
    for queue, _ in machines:
        queue.store.close()


def test_the_headers_figures_are_the_same_on_both_engines(postgres, tmp_path):
    """Work units are read from each task's JSON by SQL (JSON1 on SQLite, functions on PostgreSQL),
    a damaged row counting with the defaults on both."""
    from task_scheduler.http_api.stats import queue_stats

    figures = []
    for location in (tmp_path / "q.sqlite3", postgres.url(schema="stats")):
        clock = iter(range(1_000, 10_000, 10))
        store = Store(location, clock=lambda c=clock: float(next(c)))
        queue = TaskQueue(store)
        done = queue.enqueue(make_task("done", params={"steps": 10, "enable_hr": True, "hr_scale": 2}))
        queue.enqueue(make_task("waits", params={"steps": 40, "n_iter": 2, "width": 512, "height": 512}))
        hires = queue.enqueue(make_task("hires", params={"enable_hr": True, "hr_scale": 1.5}))
        assert queue.claim_next().id == done.id
        queue.finish(done.id, TaskStatus.DONE)
        with store.write() as conn:  # a row written outside this code: its params are not JSON
            conn.execute("UPDATE task SET params = 'not json' WHERE id = ?", (hires.id,))
        figures.append(queue_stats(queue, {}))
        store.close()
    assert figures[0] == figures[1]
    assert figures[0]["total"] == 3 and figures[0]["eta_s"] is not None

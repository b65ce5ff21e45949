"""The SQLite store: connection policy, migrations, concurrency, and damaged or locked files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from helpers import make_task

import task_scheduler
from task_scheduler.db_sqlite import statements
from task_scheduler.errors import StoreUnavailable
from task_scheduler.migrations import MIGRATIONS, SCHEMA_VERSION, migrate, script_for
from task_scheduler.store import Store
from task_scheduler.task import TaskStatus
from task_scheduler.task_queue import TaskQueue

REPO_ROOT = str(Path(task_scheduler.__file__).resolve().parents[1])


def test_new_database_uses_wal_busy_timeout_and_latest_schema(store, db_path):
    with store.read() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def _open_at_version(path, version):
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, target=version)
    return conn


@pytest.mark.parametrize("start", range(SCHEMA_VERSION))
def test_migrates_from_every_earlier_version_and_keeps_tasks(tmp_path, start):
    path = tmp_path / "q.sqlite3"
    conn = _open_at_version(path, start)
    if start >= 1:  # a task written by that older version
        conn.execute(
            "INSERT INTO task (id, kind, name, status, params, created_at, updated_at, checkpoint) "
            "VALUES ('old', 'txt2img', 'old task', 'pending', '{\"prompt\": \"Old Cat\"}', 1.0, 1.0, "
            "'A [abc12345]')"
        )
    if start >= 2:  # what the code of version 2 and later writes beside every row
        conn.execute("UPDATE task SET search_text = 'old task old cat a [abc12345]', checkpoint_key = 'a'")
    conn.close()
    queue = TaskQueue(Store(path))
    with queue.store.read() as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    if start >= 1:
        task = queue.get("old")
        assert task.params == {"prompt": "Old Cat"} and task.status is TaskStatus.PENDING
        assert task.crashes == 0 and task.warnings == []
        assert queue.claim_next(prefer_checkpoint="a").id == "old"
        queue.finish("old", TaskStatus.DONE)
        assert queue.history(search="old cat").total == 1
    queue.enqueue(make_task("new"))
    queue.store.close()


def test_migration_runs_atomically(tmp_path, monkeypatch):
    path = tmp_path / "q.sqlite3"
    _open_at_version(path, 1).close()
    broken = list(MIGRATIONS)
    broken[1] = (broken[1][0], script_for(broken[1][1], "sqlite") + "\nTHIS IS NOT SQL;")
    monkeypatch.setattr("task_scheduler.migrations.MIGRATIONS", broken)
    with pytest.raises(StoreUnavailable):
        Store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    columns = {r[1] for r in conn.execute("PRAGMA table_info(task)")}
    assert "crashes" not in columns  # nothing of the failed step stuck
    conn.close()


def test_a_database_from_a_newer_version_is_refused_untouched(tmp_path):
    path = tmp_path / "q.sqlite3"
    _open_at_version(path, SCHEMA_VERSION).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this extension"):
        Store(path)


def test_statement_splitter_keeps_statements_whole():
    assert statements("CREATE TABLE a (x TEXT DEFAULT ';');\nSELECT 1;") == [
        "CREATE TABLE a (x TEXT DEFAULT ';');",
        "SELECT 1;",
    ]


def test_sixteen_threads_enqueue_eight_thousand_tasks_without_errors(queue):
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def writer(n):
        barrier.wait()
        for i in range(500):
            try:
                queue.enqueue(make_task(f"{n}-{i}"))
            except BaseException as exc:  # noqa: BLE001 - we count every failure
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert queue.count(TaskStatus.PENDING) == 8000
    assert len({t.id for t in queue.pending()}) == 8000


def test_a_second_process_writing_meanwhile_waits_instead_of_failing(queue, db_path):
    script = textwrap.dedent(
        f"""
        import sys; sys.path.insert(0, {REPO_ROOT!r})
        from task_scheduler.store import Store
        from task_scheduler.task_queue import TaskQueue
        from task_scheduler.task import NewTask
        q = TaskQueue(Store({str(db_path)!r}))
        for i in range(200):
            q.enqueue(NewTask(kind="txt2img", params={{"prompt": f"other {{i}}"}}))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=str(db_path.parent))
    for i in range(200):
        queue.enqueue(make_task(f"mine {i}"))
    assert proc.wait(timeout=60) == 0
    assert queue.count(TaskStatus.PENDING) == 400


def test_a_locked_database_gives_a_clear_error_and_loses_nothing(queue, db_path, clock):
    queue.enqueue(make_task("safe"))
    queue.store.close()
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked by another process"):
            TaskQueue(Store(db_path, busy_timeout_s=0.2, clock=clock)).enqueue(make_task("blocked"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    reopened = TaskQueue(Store(db_path, clock=clock))
    assert [t.params["prompt"] for t in reopened.pending()] == ["safe"]


def test_a_corrupt_database_is_reported_and_left_untouched(tmp_path):
    path = tmp_path / "q.sqlite3"
    path.write_bytes(b"this is not a database, but the user's data might be" * 200)
    before = path.read_bytes()
    with pytest.raises(StoreUnavailable, match="unreadable"):
        Store(path)
    assert path.read_bytes() == before


def _damage_one_page(path: Path) -> None:
    """Overwrite one page in the middle of the file (not the header page) with noise."""
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    page = pages // 2
    data[(page - 1) * page_size : page * page_size] = bytes((i * 37 + 11) % 256 for i in range(page_size))
    path.write_bytes(bytes(data))


def test_a_database_with_one_damaged_page_is_refused_before_anything_writes_to_it(tmp_path):
    path = tmp_path / "q.sqlite3"
    store = Store(path)
    TaskQueue(store).enqueue_many([make_task("x" * 200) for _ in range(300)])
    store.close()
    _damage_one_page(path)
    with sqlite3.connect(path) as conn:  # it still opens and answers simple reads
        assert conn.execute("SELECT count(*) FROM meta").fetchone()[0] >= 2
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreUnavailable) as refused:
        Store(path)
    assert str(path) in str(refused.value) and "left untouched" in str(refused.value)
    assert path.read_bytes() == before


def test_a_write_that_changes_nothing_leaves_the_revision_and_its_waiters_alone(queue):
    queue.enqueue(make_task("a"))
    queue.claim_next()
    revision = queue.revision
    assert queue.claim_next() is None  # the executor's idle wake: nothing to claim
    assert queue.revision == revision
    queue.pause()
    assert queue.claim_next() is None
    assert queue.revision == revision + 1  # pausing changed something; the empty claim did not
    assert queue.wait_for_change(revision + 1, timeout=0.05) == revision + 1


def test_updates_touch_only_the_named_fields(queue):
    """A stale copy of the task can never be written back over newer fields."""
    task = queue.enqueue(make_task("original"))
    stale = queue.get(task.id)
    queue.edit(task.id, params={"prompt": "edited"})
    queue.rename(stale.id, "renamed from a stale copy")
    fresh = queue.get(task.id)
    assert fresh.params["prompt"] == "edited" and fresh.name == "renamed from a stale copy"


def test_update_fields_refuses_the_status_column(store, queue):
    task = queue.enqueue(make_task())
    with pytest.raises(ValueError, match="status"), store.write() as conn:
        store.update_fields(conn, task.id, {"status": "done"})


def test_closed_store_raises_store_unavailable(store):
    store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        store.get_meta("revision")


def test_status_counts_kept_by_triggers_match_the_rows(queue, store):
    tasks = queue.enqueue_many([make_task(str(i)) for i in range(6)])
    queue.claim_next()
    queue.finish(tasks[0].id, TaskStatus.DONE)
    queue.claim_next()
    queue.finish(tasks[1].id, TaskStatus.FAILED)
    queue.cancel(tasks[2].id)
    queue.delete(tasks[3].id)
    queue.clear_history()
    with store.read() as conn:
        actual = dict(conn.execute("SELECT status, count(*) FROM task GROUP BY status").fetchall())
    for status in TaskStatus:
        assert queue.count(status) == actual.get(status.value, 0)
    assert queue.history().total == sum(
        actual.get(s.value, 0) for s in TaskStatus if s is not TaskStatus.PENDING
    )

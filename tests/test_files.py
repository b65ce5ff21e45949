"""Input files beside the database: content-addressed, never outside their folder."""

from __future__ import annotations

import pytest

from task_scheduler.config import ENV_DB_PATH, files_dir_for, resolve_db_location
from task_scheduler.db_location import InvalidLocation
from task_scheduler.errors import InvalidTaskData


def test_put_is_content_addressed_and_idempotent(files):
    ref = files.put(b"png bytes", "PNG")
    assert ref.endswith(".png") and files.put(b"png bytes", "png") == ref
    assert files.read(ref) == b"png bytes"
    assert files.path(ref).parent.parent == files.root


@pytest.mark.parametrize("ref", ["../../etc/passwd", "/etc/passwd", "a" * 64 + ".png/../x", "x.png", ""])
def test_anything_but_a_reference_is_refused(files, ref):
    with pytest.raises(InvalidTaskData):
        files.path(ref)


def test_bad_extension_is_refused(files):
    with pytest.raises(InvalidTaskData):
        files.put(b"x", "../png")


def test_db_path_precedence(tmp_path):
    ext = tmp_path / "ext"
    assert resolve_db_location(ext, environ={}) == (ext / "task_scheduler.sqlite3").resolve()
    assert resolve_db_location(ext, setting_value=str(tmp_path / "s.db"), environ={}) == tmp_path / "s.db"
    env = {ENV_DB_PATH: str(tmp_path / "e.db")}
    assert resolve_db_location(ext, setting_value=str(tmp_path / "s.db"), environ=env) == tmp_path / "e.db"
    assert resolve_db_location(ext, cli_value=str(tmp_path / "c.db"), environ=env) == tmp_path / "c.db"
    assert files_dir_for(tmp_path / "c.db") == tmp_path / "task_scheduler_files"


def test_a_postgresql_url_is_kept_as_written_and_never_with_a_password_in_settings(tmp_path):
    ext = tmp_path / "ext"
    url = "postgresql://render@db.lan/queue?schema=studio"
    assert resolve_db_location(ext, setting_value=url, environ={}) == url
    with_password = "postgresql://render:s3cr3t@db.lan/queue"
    assert resolve_db_location(ext, environ={ENV_DB_PATH: with_password}) == with_password
    with pytest.raises(InvalidLocation) as refused:
        resolve_db_location(ext, setting_value=with_password, environ={})
    assert "s3cr3t" not in str(refused.value) and "PGPASSWORD" in str(refused.value)


PUT_IN_ANOTHER_PROCESS = """
import sys
sys.path.insert(0, {root!r})
from task_scheduler.files import FileStore, StoreHolds
from task_scheduler.store import Store
store = Store({db!r})
print(FileStore({folder!r}, holds=StoreHolds(store)).put(b"the same image"))
"""


def test_a_put_in_another_process_keeps_the_file_its_task_will_use(tmp_path):
    """WebUI B uploads an image whose last task WebUI A is deleting: the file stays for B's task."""
    import subprocess
    import sys
    from pathlib import Path

    from task_scheduler.files import FileStore, StoreHolds
    from task_scheduler.store import Store
    from task_scheduler.task import NewTask
    from task_scheduler.task_queue import TaskQueue

    db, folder = tmp_path / "q.sqlite3", tmp_path / "files"
    store = Store(db)
    files = FileStore(folder, holds=StoreHolds(store))
    queue = TaskQueue(store, files)
    ref = files.put(b"the same image")
    old = queue.enqueue(NewTask("img2img", {"prompt": "old"}, files=[ref]))
    root = str(Path(__file__).resolve().parents[1])
    script = PUT_IN_ANOTHER_PROCESS.format(root=root, db=str(db), folder=str(folder))
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert other.stdout.strip() == ref  # B's task is not queued yet: only its put holds the file
    queue.delete(old.id)
    assert files.exists(ref)
    files.release([ref])  # B's task was refused after all: the hold goes, and the file with the next delete
    queue.delete_unused_files([ref])
    assert not files.exists(ref)
    store.close()


def test_a_worker_is_reached_by_its_server_name_else_its_host_when_listening_else_loopback():
    from task_scheduler.config import worker_url

    assert worker_url("box", 7860, server_name=None, listen=False, tls=False) == "http://127.0.0.1:7860"
    assert worker_url("box", 7861, server_name=None, listen=True, tls=False) == "http://box:7861"
    assert worker_url("box", 7860, server_name="gpu.lan", listen=True, tls=True) == "https://gpu.lan:7860"

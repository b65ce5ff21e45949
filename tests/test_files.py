"""Input files beside the database: content-addressed, never outside their folder."""

from __future__ import annotations

import pytest

from task_scheduler.config import ENV_DB_PATH, files_dir_for, resolve_db_path
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
    assert resolve_db_path(ext, environ={}) == (ext / "task_scheduler.sqlite3").resolve()
    assert resolve_db_path(ext, setting_value=str(tmp_path / "s.db"), environ={}) == tmp_path / "s.db"
    env = {ENV_DB_PATH: str(tmp_path / "e.db")}
    assert resolve_db_path(ext, setting_value=str(tmp_path / "s.db"), environ=env) == tmp_path / "e.db"
    assert resolve_db_path(ext, cli_value=str(tmp_path / "c.db"), environ=env) == tmp_path / "c.db"
    assert files_dir_for(tmp_path / "c.db") == tmp_path / "task_scheduler_files"

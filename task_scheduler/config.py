"""Where the queue lives on disk.

Two WebUI installs must never share a queue by accident (AS#152), so the default is inside the
extension's own folder, and every override names a path explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DB_PATH = "TASK_SCHEDULER_DB"
ENV_WORKER_NAME = "TASK_SCHEDULER_WORKER"
CLI_FLAG = "--task-scheduler-db"
DB_FILENAME = "task_scheduler.sqlite3"
FILES_DIRNAME = "task_scheduler_files"


def resolve_db_path(
    extension_dir: str | Path,
    *,
    cli_value: str | None = None,
    setting_value: str | None = None,
    environ: dict[str, str] | None = None,
) -> Path:
    """Command-line flag, then environment variable, then the Settings page, then the default."""
    env = os.environ if environ is None else environ
    for candidate in (cli_value, env.get(ENV_DB_PATH), setting_value):
        if candidate and str(candidate).strip():
            return Path(str(candidate).strip()).expanduser().resolve()
    return (Path(extension_dir) / DB_FILENAME).resolve()


def files_dir_for(db_path: str | Path) -> Path:
    """Input files sit in a folder beside the database, so moving the DB moves its files."""
    return Path(db_path).parent / FILES_DIRNAME


def worker_name(
    host: str, port: int | None, *, cli_value: str | None = None, environ: dict[str, str] | None = None
) -> str:
    """This WebUI's name among the workers of a shared queue: flag, environment, or host:port.

    It is also the worker's id, so it must stay the same across restarts (a restarted WebUI
    recovers its own tasks at once) and differ between two WebUIs on one database.
    """
    env = os.environ if environ is None else environ
    for candidate in (cli_value, env.get(ENV_WORKER_NAME)):
        if candidate and str(candidate).strip():
            return str(candidate).strip()[:200]
    return f"{host}:{port or 7860}"

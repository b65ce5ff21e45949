"""Where the queue lives on disk.

Two WebUI installs must never share a queue by accident (AS#152), so the default is inside the
extension's own folder, and every override names a path explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DB_PATH = "TASK_SCHEDULER_DB"
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

"""Where the queue lives: a SQLite file on this machine, or a PostgreSQL server shared by many.

Two WebUI installs must never share a queue by accident (AS#152), so the default is inside the
extension's own folder, and every override names a path or a ``postgresql://`` URL explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from .db_location import InvalidLocation, is_postgres_url

ENV_DB_PATH = "TASK_SCHEDULER_DB"
ENV_FILES_DIR = "TASK_SCHEDULER_FILES"
ENV_WORKER_NAME = "TASK_SCHEDULER_WORKER"
CLI_FLAG = "--task-scheduler-db"
DB_FILENAME = "task_scheduler.sqlite3"
FILES_DIRNAME = "task_scheduler_files"
#: on a PostgreSQL queue, this machine's copy of the input files the database holds
FILES_CACHE_DIRNAME = "task_scheduler_files_cache"


def resolve_db_location(
    extension_dir: str | Path,
    *,
    cli_value: str | None = None,
    setting_value: str | None = None,
    environ: dict[str, str] | None = None,
) -> str | Path:
    """Command-line flag, then environment variable, then the Settings page, then the default.

    A ``postgresql://`` URL comes back as written; a path, resolved. The Settings page shows
    its values to anyone who opens it (and ``/sdapi/v1/options`` to any API client), so a URL
    given there must not carry a password: libpq's ``PGPASSWORD`` or ``~/.pgpass`` do.
    """
    env = os.environ if environ is None else environ
    for candidate, where in ((cli_value, "flag"), (env.get(ENV_DB_PATH), "env"), (setting_value, "setting")):
        text = str(candidate or "").strip()
        if not text:
            continue
        if is_postgres_url(text):
            if where == "setting" and _has_password(text):
                raise InvalidLocation(
                    "the Settings page would show the password in the PostgreSQL URL to everyone; "
                    "remove it there and put it in PGPASSWORD or ~/.pgpass (or give the URL with "
                    f"{CLI_FLAG} or {ENV_DB_PATH})"
                )
            return text
        return Path(text).expanduser().resolve()
    return (Path(extension_dir) / DB_FILENAME).resolve()


def _has_password(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return bool(parts.password) or "password=" in parts.query.lower()
    except ValueError:
        return False


def files_dir_for(db_path: str | Path) -> Path:
    """Input files sit in a folder beside the database, so moving the DB moves its files."""
    return Path(db_path).parent / FILES_DIRNAME


def shared_files_dir(cli_value: str | None = None, environ: dict[str, str] | None = None) -> Path | None:
    """A folder every worker mounts, named by the user, for a PostgreSQL queue's input files."""
    env = os.environ if environ is None else environ
    for candidate in (cli_value, env.get(ENV_FILES_DIR)):
        if candidate and str(candidate).strip():
            return Path(str(candidate).strip()).expanduser().resolve()
    return None


def worker_url(host: str, port: int, *, server_name: str | None, listen: bool, tls: bool) -> str:
    """Where other machines reach this WebUI (for the result images it keeps): its
    ``--server-name``, else its host name when it listens on the network (``--listen``), else
    loopback (reachable from this machine only, where its files are anyway)."""
    address = server_name or (host if listen else "127.0.0.1")
    return f"{'https' if tls else 'http'}://{address}:{port}"


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

"""Run by the WebUI at start (its extension installer). Installs nothing for a SQLite queue.

Task Scheduler uses only what Forge, Forge Neo and AUTOMATIC1111 already ship (sqlite3 from the
standard library, and the WebUI's own fastapi, pydantic, gradio and Pillow); installing
packages into the WebUI's environment would risk breaking the WebUI itself. The one exception
is a queue shared through PostgreSQL: then psycopg 3 is needed, and installed here, with the
WebUI's own helpers, only when a ``postgresql://`` URL is configured.

The installer runs in a process of its own, without the WebUI's arguments, so the URL is
looked for where the user can have put it: ``TASK_SCHEDULER_DB``, ``COMMANDLINE_ARGS``, the
command line of the WebUI that started this installer, and the WebUI's Settings (config.json).
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

PSYCOPG = "psycopg[binary]>=3.1,<4"
FLAG = "--task-scheduler-db"
SETTING = "task_scheduler_db_path"


def _flag_value(args: list[str]) -> str | None:
    for index, arg in enumerate(args):
        if arg == FLAG and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(FLAG + "="):
            return arg.split("=", 1)[1]
    return None


def _parent_args() -> list[str]:
    """The WebUI's command line: it runs this file through a shell, so look two levels up."""
    args: list[str] = []
    pid = os.getppid()
    for _ in range(2):
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):  # not Linux, or not allowed: the rest still counts
            break
        args += [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    return args


def _setting(args: list[str]) -> str | None:
    data_dir = args[args.index("--data-dir") + 1] if "--data-dir" in args[:-1] else "."
    try:
        return json.loads((Path(data_dir) / "config.json").read_text(encoding="utf-8")).get(SETTING)
    except (OSError, ValueError, AttributeError):
        return None


def configured_location(environ: dict[str, str] | None = None, parent_args: list[str] | None = None) -> str:
    """The queue location the WebUI will use, as far as an installer can tell ('' when none)."""
    env = os.environ if environ is None else environ
    parent = _parent_args() if parent_args is None else parent_args
    for candidate in (
        _flag_value(parent),
        env.get("TASK_SCHEDULER_DB"),
        _flag_value(shlex.split(env.get("COMMANDLINE_ARGS", ""))),
        _setting(parent),
    ):
        if candidate and str(candidate).strip():
            return str(candidate).strip()
    return ""


def wants_postgres(location: str) -> bool:
    return location.lower().startswith(("postgresql://", "postgres://"))


def main() -> None:
    if not wants_postgres(configured_location()):
        return
    import launch  # the WebUI's installer helpers (A1111, Forge and Neo all have them)

    if not launch.is_installed("psycopg"):
        launch.run_pip(f'install "{PSYCOPG}"', "psycopg for Task Scheduler's PostgreSQL queue")


if __name__ == "__main__":
    main()

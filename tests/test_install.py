"""install.py: nothing for a SQLite queue; psycopg, through the WebUI's helpers, for PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
URL = "postgresql://render@db.lan/queue"


def run_installer(tmp_path: Path, env: dict[str, str], *args: str, installed: bool = False) -> list[str]:
    """Run install.py as the WebUI does (a child process) with a stand-in ``launch`` module that
    records what it was asked to install."""
    fake = tmp_path / "fake"
    fake.mkdir(exist_ok=True)
    log = tmp_path / "pip.log"
    (fake / "launch.py").write_text(
        textwrap.dedent(
            f"""
            def is_installed(name):
                return {installed!r}
            def run_pip(command, desc=None):
                open({str(log)!r}, "a").write(command + "\\n")
            """
        )
    )
    # the WebUI (a python with our flag on its command line) starts the installer through a shell
    installer = f"{sys.executable} {ROOT / 'install.py'}"
    webui = f"import subprocess; subprocess.run({installer!r}, shell=True, check=True)"
    full_env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(fake), **env}
    subprocess.run([sys.executable, "-c", webui, *args], env=full_env, check=True, cwd=tmp_path, timeout=60)
    return log.read_text().splitlines() if log.exists() else []


def test_a_sqlite_queue_installs_nothing(tmp_path):
    assert run_installer(tmp_path, {}) == []
    assert run_installer(tmp_path, {"TASK_SCHEDULER_DB": str(tmp_path / "q.sqlite3")}) == []


@pytest.mark.parametrize(
    "how",
    ["environment", "commandline_args", "webui_flag", "settings"],
)
def test_a_postgresql_url_installs_psycopg_once(tmp_path, how):
    env: dict[str, str] = {}
    args: tuple[str, ...] = ()
    if how == "environment":
        env["TASK_SCHEDULER_DB"] = URL
    elif how == "commandline_args":
        env["COMMANDLINE_ARGS"] = f"--api --task-scheduler-db {URL}"
    elif how == "webui_flag":
        args = ("--task-scheduler-db", URL)
    else:
        (tmp_path / "config.json").write_text(f'{{"task_scheduler_db_path": "{URL}"}}')
    assert run_installer(tmp_path, env, *args) == ['install "psycopg[binary]>=3.1,<4"']
    (tmp_path / "pip.log").unlink()
    assert run_installer(tmp_path, env, *args, installed=True) == []  # already there: nothing

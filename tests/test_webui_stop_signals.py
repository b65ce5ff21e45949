"""A WebUI stopped with Ctrl+C (or SIGTERM) says so in the shared queue's worker list.

The WebUI ends a Ctrl+C with ``os._exit(0)`` (its own handler), and SIGTERM ends the process at
once: no clean-up callback runs. Seen on real Forge: after Ctrl+C its worker row stayed "idle"
(with its checkpoint, so the other workers left tasks for that model to it) until the heartbeat
aged past the lease. Each WebUI here is a real process (``webui_double/webui_process.py``).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from task_scheduler.store import Store
from task_scheduler.task_queue import TaskQueue

PROCESS = Path(__file__).resolve().parent / "webui_double" / "webui_process.py"


#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def start_webui(tmp_path: Path, name: str, db: Path | str) -> subprocess.Popen:
    import webui_double

    proc = subprocess.Popen(
        [
            sys.executable,
            str(PROCESS),
            "--flavour",
            webui_double.stack_flavour(),
            "--root",
            str(tmp_path / name),
            "--db",
            str(db),
            "--worker",
            name,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # the WebUI's own start-up lines come first
        if line.startswith("READY"):
            return proc
    raise AssertionError(f"the WebUI process ended before it was ready ({proc.wait()})")


@pytest.mark.parametrize(
    ("sig", "exit_code"), [(signal.SIGINT, 0), (signal.SIGTERM, -signal.SIGTERM)], ids=["ctrl-c", "sigterm"]
)
def test_a_webui_ended_by_a_signal_is_listed_as_stopped_not_idle(tmp_path, store_location, sig, exit_code):
    proc = start_webui(tmp_path, "gpu1", store_location)
    try:
        store = Store(store_location)
        queue = TaskQueue(store)
        assert [(w.id, w.state) for w in queue.workers.list()] == [("gpu1", "idle")]
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == exit_code
        (worker,) = queue.workers.list()
        assert (worker.id, worker.state, worker.live) == ("gpu1", "stopped", False)
        store.close()
    finally:
        if proc.poll() is None:
            proc.kill()

"""The core must stay free of the WebUI, gradio and fastapi, so it can be tested and reused alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import task_scheduler

REPO_ROOT = Path(task_scheduler.__file__).resolve().parents[1]
CORE_MODULES = [
    "task_scheduler",
    "task_scheduler.task",
    "task_scheduler.errors",
    "task_scheduler.migrations",
    "task_scheduler.store",
    "task_scheduler.files",
    "task_scheduler.config",
    "task_scheduler.task_queue",
    "task_scheduler.runner",
    "task_scheduler.executor",
    "task_scheduler.values",
]


def test_core_imports_nothing_from_the_webui_gradio_or_fastapi():
    code = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(REPO_ROOT)!r})\n"
        f"for name in {CORE_MODULES!r}: __import__(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    banned = {
        m for m in loaded if m.split(".")[0] in {"modules", "modules_forge", "gradio", "fastapi", "starlette"}
    }
    assert banned == set()
    assert "pickle" not in {m for m in loaded if m.startswith("task_scheduler")}

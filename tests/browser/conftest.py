"""Fixtures for the browser tests: the demo app in a subprocess, headless Debian Chromium.

The demo (``tests/demo_app.py``) runs the WebUI double of this stack's flavour (the stack
``tests/run`` names in ``$TASK_SCHEDULER_STACK``: forge, a1111 or neo; else gradio 4: Forge,
gradio 3: A1111). Chromium is Debian's ``/usr/bin/chromium`` driven by the playwright package;
``playwright install`` is never needed. Screenshots go to ``tests/artifacts/`` (gitignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
API = "/task-scheduler/v1"


def flavour() -> str:
    import webui_double

    return webui_double.stack_flavour()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DemoServer:
    def __init__(self, root: Path, *extra: str) -> None:
        self.port = free_port()
        self.root = root
        self.log = root / "demo.log"
        root.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            str(ROOT / "tests" / "demo_app.py"),
            "--flavour",
            flavour(),
            "--port",
            str(self.port),
            "--root",
            str(root),
            *extra,
        ]
        self._log_file = open(self.log, "w")  # noqa: SIM115 - the server writes to it until stop()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._log_file, text=True, cwd=str(ROOT)
        )
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 120
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("DEMO_URL "):
                return line.split()[1]
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError("the demo app did not start:\n" + self.log.read_text()[-4000:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log_file.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); CI installs it")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (tests/requirements-*.txt)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def demo(browser, tmp_path_factory) -> Iterator[DemoServer]:
    server = DemoServer(tmp_path_factory.mktemp("demo"), "--paused", "--step-delay", "0.02")
    yield server
    server.stop()


@pytest.fixture
def api(demo) -> Iterator[httpx.Client]:
    """A client of the demo's API, and a clean queue for each test (paused, nothing in it)."""
    with httpx.Client(base_url=demo.url + API, timeout=30) as client:
        client.post("/queue/pause")
        client.post("/queue/clear")
        client.post("/history/clear", params={"keep_bookmarked": "false"})
        yield client
        client.post("/queue/pause")


@pytest.fixture
def page(browser, demo, api, request) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        if dialog.type == "confirm":
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", on_dialog)
    page.errors = errors
    page.dialogs = dialogs
    page.goto(demo.url)
    page.wait_for_selector("#txt2img_prompt textarea", timeout=30000)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{flavour()}-{request.node.name}.png"), full_page=True)
    context.close()

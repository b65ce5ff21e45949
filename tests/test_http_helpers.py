"""Fixtures and helpers shared by the tests/test_http_*.py modules (this module has no tests).

``client`` is a TestClient over a bare FastAPI app with both routers on the core fixtures;
``finish`` drives tasks to an outcome with the core Executor and an InMemoryRunner whose results
are real PNG files in tmp_path; ``Receiver`` is a loopback HTTP server that records callbacks.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from task_scheduler.executor import Executor
from task_scheduler.files import FileStore
from task_scheduler.http_api import ApiServices, ApiSettings, include_routers
from task_scheduler.runner import InMemoryRunner, RunResult
from task_scheduler.task import Task, TaskResult
from task_scheduler.task_queue import TaskQueue

API = "/task-scheduler/v1"
AS = "/agent-scheduler/v1"


def png_bytes(size: tuple[int, int] = (8, 6), color: Any = "red", mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{b64(data)}"


class FakeWebUI:
    def __init__(self) -> None:
        self.interrupts = 0

    def samplers(self) -> list[str]:
        return ["Euler", "Euler a", "DPM++ 2M"]

    def checkpoints(self) -> list[str]:
        return ["v1-5-pruned.safetensors [6ce0161689]", "sd_xl_base_1.0.safetensors [31e35c80fc]"]

    def interrupt(self) -> None:
        self.interrupts += 1

    def skip(self) -> None:
        return None

    def progress(self, task_id: str) -> dict[str, Any] | None:
        return None


def make_app(services: ApiServices) -> FastAPI:
    """The routers on an app that answers like the WebUI's (gradio's ``App``: ORJSON responses)."""
    from gradio.routes import ORJSONResponse

    app = FastAPI(default_response_class=ORJSONResponse)
    include_routers(app, services)
    return app


@pytest.fixture
def settings() -> ApiSettings:
    return ApiSettings(max_wait_s=5.0)


@pytest.fixture
def services(queue: TaskQueue, files: FileStore, settings: ApiSettings) -> ApiServices:
    return ApiServices(queue=queue, files=files, webui=FakeWebUI(), settings=settings)


@pytest.fixture
def client(services: ApiServices) -> Iterator[TestClient]:
    with TestClient(make_app(services)) as test_client:
        yield test_client


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    folder = tmp_path / "outputs"
    folder.mkdir()
    return folder


def image_results(outputs: Path, count: int = 2):
    """A runner behaviour whose run writes ``count`` PNGs and returns them as the result."""

    def behaviour(task: Task) -> RunResult:
        paths = []
        for index in range(count):
            path = outputs / f"{task.id[:8]}-{index:05d}.png"
            path.write_bytes(png_bytes((32, 24), (10 * index, 100, 200)))
            paths.append(str(path))
        return RunResult(
            TaskResult(
                images=paths,
                infotexts=[f"{task.prompt}\nSteps: 2, Seed: {index}" for index in range(count)],
                seeds=list(range(count)),
                info={"prompt": task.prompt},
            )
        )

    return behaviour


def finish_all(executor: Executor) -> int:
    """Run pending tasks to an outcome in this thread; return how many ran."""
    ran = 0
    while executor.run_one():
        ran += 1
    return ran


@pytest.fixture
def image_runner(runner: InMemoryRunner, outputs: Path) -> InMemoryRunner:
    runner.behaviour = image_results(outputs)
    return runner


def queue_txt2img(client: TestClient, **body: Any) -> dict[str, Any]:
    body.setdefault("prompt", "a cat")
    response = client.post(f"{API}/queue/txt2img", json=body)
    assert response.status_code == 201, response.text
    return response.json()


# -- a loopback callback receiver --------------------------------------------------------------


class Receiver:
    """Records each POST as ``{"fields": {...}, "files": [(name, content_type, bytes)]}``."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.posts: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self.event = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.posts.append(parse_multipart(self.headers.get("Content-Type", ""), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.event.set()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/task_completed"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    assert content_type.startswith("multipart/form-data"), content_type
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str] = {}
    files: list[tuple[str, str, bytes]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename:
            assert name == "files"
            files.append((filename, part.get_content_type(), payload))
        else:
            fields[name] = payload.decode("utf-8")
    return {"fields": fields, "files": files}

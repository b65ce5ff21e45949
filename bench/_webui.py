"""HTTP helpers for the benchmarks that drive a running WebUI with the extension installed.

Standard library only (urllib), so a bench runs with any Python, inside or outside a venv.
"""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.error
import urllib.request
from typing import Any

QUEUE = "/task-scheduler/v1"


class WebUI:
    def __init__(self, url: str, timeout: float = 600.0, auth: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json"}
        if auth:
            token = base64.b64encode(auth.encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"

    def request(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=self.headers)
        with urllib.request.urlopen(req, timeout=timeout or self.timeout) as response:
            raw = response.read()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body if body is not None else {}, **kw)

    def reachable(self) -> str | None:
        """None when the WebUI and the extension answer, else why not."""
        try:
            self.get("/sdapi/v1/sd-models", timeout=10)
        except (urllib.error.URLError, OSError) as exc:
            return f"no WebUI API at {self.url} ({exc}); start it with --api"
        try:
            self.get(QUEUE + "/queue", timeout=10)
        except (urllib.error.URLError, OSError) as exc:
            return f"the Task Scheduler extension does not answer at {self.url}{QUEUE} ({exc})"
        return None

    # -- the queue ----------------------------------------------------------------------------

    def enqueue(self, tasks: list[dict[str, Any]]) -> list[str]:
        answer = self.request("POST", QUEUE + "/queue/txt2img/batch", tasks)
        return [item["id"] for item in answer["tasks"]]

    def task(self, task_id: str) -> dict[str, Any]:
        return self.get(f"{QUEUE}/tasks/{task_id}")

    def wait_finished(self, ids: list[str], timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        pending = set(ids)
        tasks: dict[str, dict[str, Any]] = {}
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} tasks did not finish in {timeout:.0f} s")
            for task_id in list(pending):
                task = self.task(task_id)
                if task["status"] not in ("pending", "running"):
                    tasks[task_id] = task
                    pending.discard(task_id)
            if pending:
                time.sleep(0.5)
        return [tasks[i] for i in ids]

    def stats(self) -> dict[str, Any]:
        return self.get(QUEUE + "/webui/stats")

    def result_image_rgb(self, task_id: str, index: int = 0) -> bytes:
        raw = self.get(f"{QUEUE}/tasks/{task_id}/results/{index}")
        return rgb_of(raw)

    def direct_txt2img(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.post("/sdapi/v1/txt2img", params)


def rgb_of(data: bytes | str) -> bytes:
    from PIL import Image

    if isinstance(data, str):
        data = base64.b64decode(data.split(",", 1)[-1])
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()

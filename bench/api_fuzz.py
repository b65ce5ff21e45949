"""Fuzz both HTTP routers with schemathesis against their own OpenAPI schema, on loopback.

Serves a FastAPI app with ``/task-scheduler/v1`` and ``/agent-scheduler/v1`` (a real store in a
temporary folder, an executor with an in-memory runner that writes PNG results) with uvicorn on
127.0.0.1, then sends about ``--cases`` generated requests, half valid by the schema and half
not, spread over every operation. Any 5xx answer is a bug; the run fails if there is one.

schemathesis is not a project dependency; install it into a throwaway environment::

    python3 -m venv /tmp/fuzz && /tmp/fuzz/bin/pip install -r tests/requirements-forge.txt \
        "schemathesis==3.39.16" "hypothesis==6.122.3"

(hypothesis is pinned because hypothesis-jsonschema 0.23 breaks with newer releases; use
tests/requirements-a1111.txt instead to fuzz A1111's stack, fastapi 0.94 / pydantic 1.)
    PYTHONPATH=. /tmp/fuzz/bin/python bench/api_fuzz.py --json
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import logging
import math
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from PIL import Image  # noqa: E402

from task_scheduler.executor import Executor, ExecutorSettings  # noqa: E402
from task_scheduler.files import FileStore  # noqa: E402
from task_scheduler.http_api import ApiServices, ApiSettings, make_compat_router, make_router  # noqa: E402
from task_scheduler.runner import InMemoryRunner, RunResult  # noqa: E402
from task_scheduler.store import Store  # noqa: E402
from task_scheduler.task import NewTask, TaskResult  # noqa: E402
from task_scheduler.task_queue import TaskQueue  # noqa: E402


def build_app(root: Path) -> tuple[FastAPI, TaskQueue, Executor]:
    store = Store(root / "queue" / "task_scheduler.sqlite3")
    files = FileStore(root / "queue" / "task_scheduler_files")
    queue = TaskQueue(store, files)
    outputs = root / "outputs"
    outputs.mkdir()

    def behaviour(task):
        path = outputs / f"{task.id}.png"
        buffer = io.BytesIO()
        Image.new("RGB", (16, 16), "green").save(buffer, format="PNG")
        path.write_bytes(buffer.getvalue())
        return RunResult(TaskResult(images=[str(path)], infotexts=[task.prompt], seeds=[1]))

    executor = Executor(queue, InMemoryRunner(behaviour), ExecutorSettings())
    services = ApiServices(
        queue=queue,
        files=files,
        executor=executor,
        settings=ApiSettings(max_wait_s=0.05, max_image_bytes=2_000_000),
    )
    # something to find: a few pending and finished tasks
    queue.enqueue_many([NewTask(kind="txt2img", params={"prompt": f"seed task {i}"}) for i in range(3)])
    while executor.run_one():
        pass
    queue.enqueue_many([NewTask(kind="txt2img", params={"prompt": "waiting"})])
    app = FastAPI()
    app.include_router(make_router(services))
    app.include_router(make_compat_router(services))
    return app, queue, executor


def serve(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def _typed_input(operation) -> bool:
    raw = operation.definition.resolved
    return "requestBody" in raw or any(p.get("in") == "query" for p in raw.get("parameters", []))


#: raised when no case of a kind exists (e.g. no invalid request for an operation without parameters)
SKIPS = ("SkipTest", "Skipped")


def fuzz(base_url: str, cases: int, seed: int) -> dict:
    import hypothesis
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings

    schemathesis.experimental.OPEN_API_3_1.enable()  # fastapi 0.104 writes OpenAPI 3.1
    schema = schemathesis.from_uri(f"{base_url}/openapi.json", base_url=base_url)
    operations = [result.ok() for result in schema.get_all_operations()]
    positive, negative = (
        schemathesis.DataGenerationMethod.positive,
        schemathesis.DataGenerationMethod.negative,
    )
    # invalid requests exist only where a body or a query parameter has a type to violate
    runs = [(op, positive) for op in operations] + [(op, negative) for op in operations if _typed_input(op)]
    statuses: collections.Counter[int] = collections.Counter()
    server_errors: list[dict] = []
    transport_errors: list[str] = []
    skipped: list[str] = []
    sent = 0

    # duplicate examples are not sent twice, so top up in further rounds (new seeds) to the budget
    for round_ in range(4):
        if sent >= cases:
            break
        per_run = max(1, math.ceil((cases - sent) / len(runs)))
        for operation, method in runs:

            @settings(
                max_examples=per_run,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
                verbosity=hypothesis.Verbosity.quiet,
            )
            @hypothesis.seed(seed + round_)
            @given(case=operation.as_strategy(data_generation_method=method))
            def run(case):
                nonlocal sent
                sent += 1
                try:
                    response = case.call(base_url=base_url, timeout=30)
                except Exception as exc:  # a dropped connection is as bad as a 500
                    transport_errors.append(f"{case.method} {case.formatted_path}: {type(exc).__name__}")
                    return
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    server_errors.append(
                        {
                            "method": case.method,
                            "path": case.formatted_path,
                            "status": response.status_code,
                            "body": response.text[:300],
                            "reproduce": case.as_curl_command(),
                        }
                    )

            try:
                run()
            except BaseException as exc:  # schemathesis skips with its own SkipTest class
                if not isinstance(exc, hypothesis.errors.Unsatisfiable) and type(exc).__name__ not in SKIPS:
                    raise
                if round_ == 0:
                    skipped.append(f"{operation.verbose_name} ({method.name})")

    by_class = collections.Counter(f"{code // 100}xx" for code in statuses.elements())
    return {
        "cases": sent,
        "operations": len(operations),
        "status_2xx": by_class.get("2xx", 0),
        "status_4xx": by_class.get("4xx", 0),
        "server_errors": len(server_errors),
        "transport_errors": len(transport_errors),
        "by_status": {str(code): count for code, count in sorted(statuses.items())},
        "skipped": len(skipped),
        "seed": seed,
        "examples": server_errors[:5] + [{"transport": t} for t in transport_errors[:5]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="about how many requests to send")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    with tempfile.TemporaryDirectory() as folder:
        app, queue, executor = build_app(Path(folder))
        executor.start()
        server, thread, base_url = serve(app)
        started = time.monotonic()
        try:
            figures = fuzz(base_url, args.cases, args.seed)
        finally:
            server.should_exit = True
            thread.join(10)
            executor.stop()
            queue.store.close()
        figures["seconds"] = round(time.monotonic() - started, 1)

    print(
        f"{figures['cases']} cases over {figures['operations']} operations in {figures['seconds']} s: "
        f"{figures['status_2xx']} 2xx, {figures['status_4xx']} 4xx, "
        f"{figures['server_errors']} 5xx, {figures['transport_errors']} transport errors"
    )
    for example in figures["examples"]:
        print("  ", example)
    if args.json:
        print(json.dumps(figures))
    return 1 if figures["server_errors"] or figures["transport_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""Fuzz every route of both routers, in-process and on the standalone server, with and without auth.

Targets (``--target``):

* ``inprocess``: both routers on an app that answers like the WebUI's (gradio's ORJSON response
  class, as ``tests/webui_double`` builds it), over a real store in a temporary folder and an
  executor with an in-memory runner that writes PNG results;
* ``standalone``: the standalone server (``task_scheduler.standalone``) in front of the fake WebUI
  of ``tests/fake_webui.py``, its tasks really run through that WebUI's HTTP API;
* ``all`` (default): both, each without and with ``--api-auth`` (credentials sent on every case).

Each target is served with uvicorn on 127.0.0.1 and gets about ``--cases`` schemathesis cases
(half valid by the OpenAPI schema, half not) spread over every operation, with path ids that
name real tasks and jobs half of the time (so ``PATCH``, ``PUT``, follow-ups and job actions do
real work), plus the hostile bodies of issue 11 (deep nesting, 10**30, NaN, huge texts and lists,
``$path`` tags, private callback URLs, PNG bombs, 400-digit axis values, 64-bit offsets). After
every accepted request, ``GET /queue`` and ``GET /history`` of both prefixes must answer 200.
Any 5xx, transport error or listing failure fails the run.

schemathesis is not a project dependency; install it into a venv of its own that sees a stack's
packages (nothing of the stack is replaced)::

    python3 -m venv .venvs/fuzz-forge
    echo "$PWD/.venvs/forge/lib/python3.11/site-packages" \
        > .venvs/fuzz-forge/lib/python3.11/site-packages/_stack.pth
    .venvs/fuzz-forge/bin/pip install "schemathesis==3.39.16" "hypothesis==6.122.3"
    .venvs/fuzz-forge/bin/python bench/api_fuzz.py --json

(hypothesis is pinned because hypothesis-jsonschema 0.23 breaks with newer releases; the same
with ``a1111`` fuzzes A1111's stack, fastapi 0.94 / pydantic 1.)
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import io
import json
import logging
import math
import random
import socket
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from PIL import Image  # noqa: E402

from task_scheduler.executor import Executor, ExecutorSettings  # noqa: E402
from task_scheduler.files import FileStore  # noqa: E402
from task_scheduler.http_api import ApiServices, ApiSettings, include_routers  # noqa: E402
from task_scheduler.runner import InMemoryRunner, RunResult  # noqa: E402
from task_scheduler.store import Store  # noqa: E402
from task_scheduler.task import TaskResult  # noqa: E402
from task_scheduler.task_queue import TaskQueue  # noqa: E402

API = "/task-scheduler/v1"
AS = "/agent-scheduler/v1"
SEED = "/task-scheduler"  # seed 003's routes, unversioned
USER, PASSWORD = "fuzz", "pa:ss"
LISTINGS = (f"{API}/queue", f"{API}/history", f"{AS}/queue", f"{AS}/history", f"{SEED}/queue", f"{API}/saved")
#: raised when no case of a kind exists (e.g. no invalid request for an operation without parameters)
SKIPS = ("SkipTest", "Skipped")


def _seed_body(body: dict[str, Any]) -> dict[str, Any]:
    """A queue body in seed 003's shape: the prompt, and everything else in ``extra_params``."""
    extra = {k: v for k, v in body.items() if k != "prompt"}
    return {"prompt": body.get("prompt", ""), "extra_params": extra}


def _is_queue_route(path: str) -> bool:
    """A route of one of the queue's APIs (not the standalone server's docs, schema or assets)."""
    own = ("/task-scheduler/docs", "/task-scheduler/openapi.json", "/task-scheduler/assets")
    return path.startswith((API, AS)) or (path.startswith(SEED + "/") and not path.startswith(own))


# -- targets --------------------------------------------------------------------------------------


def png(size: tuple[int, int] = (16, 16), color: str = "green") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def webui_like_app() -> FastAPI:
    """The app the WebUI mounts the routers on: gradio's ``App`` answers with ORJSON."""
    from gradio.routes import ORJSONResponse

    return FastAPI(default_response_class=ORJSONResponse)


@contextlib.contextmanager
def inprocess_target(root: Path, auth: bool) -> Iterator[str]:
    store = Store(root / "queue" / "task_scheduler.sqlite3")
    files = FileStore(root / "queue" / "task_scheduler_files")
    queue = TaskQueue(store, files)
    outputs = root / "outputs"
    outputs.mkdir()

    def behaviour(task):
        path = outputs / f"{task.id}.png"
        path.write_bytes(png())
        return RunResult(TaskResult(images=[str(path)], infotexts=[f"{task.prompt}\nSteps: 2"], seeds=[1]))

    executor = Executor(queue, InMemoryRunner(behaviour), ExecutorSettings())
    services = ApiServices(
        queue=queue,
        files=files,
        executor=executor,
        settings=ApiSettings(max_wait_s=0.05, max_image_bytes=2_000_000),
        auth=[f"{USER}:{PASSWORD}"] if auth else None,
    )
    app = webui_like_app()
    include_routers(app, services)
    executor.start()
    server, thread, url = serve(app)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
        executor.stop()
        store.close()


@contextlib.contextmanager
def standalone_target(root: Path, auth: bool) -> Iterator[str]:
    from fake_webui import FakeWebUI

    from task_scheduler.standalone.backends import PoolSettings
    from task_scheduler.standalone.server import ServerConfig, Standalone

    webui = FakeWebUI(("model-a.safetensors", "model-b.safetensors")).start()
    standalone = Standalone(
        ServerConfig(
            webuis=[webui.url],
            db_path=root / "standalone" / "q.sqlite3",
            api_auth=[f"{USER}:{PASSWORD}"] if auth else None,
            pool=PoolSettings(health_interval_s=0.2, poll_s=0.05, timeout_s=5.0),
        )
    )
    standalone.services.settings.max_wait_s = 0.05
    server, thread, url = serve(standalone.app)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(15)
        webui.stop()


def serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


# -- state to aim at --------------------------------------------------------------------------------


class World:
    """Real ids on the server: path parameters name them half of the time."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.tasks: list[str] = []
        self.jobs: list[str] = []

    def seed(self) -> None:
        c = self.client
        for i in range(3):
            c.post(f"{API}/queue/txt2img", json={"prompt": f"seed {i}", "steps": 2, "width": 8, "height": 8})
        job = c.post(
            f"{API}/jobs",
            json={
                "base": {"prompt": "job", "steps": 2, "width": 8, "height": 8},
                "axes": [{"type": "seed", "values": [1, 2]}],
            },
        )
        job.raise_for_status()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (
                c.get(f"{API}/queue").json()["total_pending"] == 0
                and not c.get(f"{API}/queue").json()["running"]
            ):
                break
            time.sleep(0.1)
        c.post(f"{API}/queue/pause")
        for i in range(3):
            c.post(
                f"{API}/queue/txt2img", json={"prompt": f"waiting {i}", "steps": 2, "width": 8, "height": 8}
            )
        c.post(f"{API}/queue/resume")
        self.refresh()

    def refresh(self) -> None:
        c = self.client
        queue = c.get(f"{API}/queue").json()
        history = c.get(f"{API}/history", params={"limit": 20}).json()
        jobs = c.get(f"{API}/jobs", params={"limit": 20}).json()
        self.tasks = [t["id"] for t in queue["pending"] + queue["running"] + history["tasks"]]
        self.jobs = [j["id"] for j in jobs["jobs"]]

    def aim(self, case: Any, rng: random.Random) -> Any:
        params = dict(case.path_parameters or {})
        for name in list(params):
            if rng.random() < 0.5:
                continue
            if name == "job_id" and self.jobs:
                params[name] = rng.choice(self.jobs)
            elif name in ("task_id", "id", "over_id") and self.tasks:
                params[name] = rng.choice(self.tasks)
            elif name == "index":
                params[name] = 0
        case.path_parameters = params
        return case


# -- hostile bodies (issue 11) ---------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def _bomb(width: int, height: int) -> bytes:
    data = bytearray(png((1, 1)))
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


def hostile(world: World) -> list[tuple[str, str, Any]]:
    """``(method, path, json or raw text)`` requests no gate may let break the queue."""
    task = world.tasks[0] if world.tasks else "missing"
    job = world.jobs[0] if world.jobs else "missing"
    deep = _nested(300)
    ref = "a" * 64 + ".png"
    url = "data:image/png;base64,"
    bomb_item = {
        "kind": "img2img",
        "params": {"prompt": "x", "mode": 0, "init_img": {"$image": ref, "mode": "RGB", "size": [8, 8]}},
        "files": {ref: url + base64.b64encode(_bomb(20000, 20000)).decode()},
    }
    cases: list[tuple[str, str, Any]] = []
    for prefix in (API, AS, SEED):
        shaped = _seed_body if prefix == SEED else dict
        for body in (
            {"prompt": "x", "override_settings": {"d": deep}},
            {"prompt": "x", "alwayson_scripts": {"CN": {"args": [deep]}}},
            {"prompt": "x", "seed": 10**30},
            {"prompt": "x", "override_settings": {"big": 10**30}},
            {"prompt": "x" * 1_000_000},
            {"prompt": "x", "styles": ["s"] * 200_000},
            {"prompt": "x", "alwayson_scripts": {"CN": {"args": [{"$path": "/etc/passwd"}]}}},
            {
                "prompt": "x",
                "alwayson_scripts": {"CN": {"args": [{"$dataclass": "pathlib:PurePath", "fields": {}}]}},
            },
            {"prompt": "x", "callback_url": "http://127.0.0.1:7860/sdapi/v1/interrupt"},
            {"prompt": "x", "callback_url": "http://169.254.169.254/latest/meta-data/"},
            {"prompt": "x", "callback_url": "http://[::1]:9/x"},
        ):
            cases.append(("POST", f"{prefix}/queue/txt2img", shaped(body)))
        cases.append(
            (
                "POST",
                f"{prefix}/queue/img2img",
                shaped({"init_images": [url + base64.b64encode(_bomb(20000, 20000)).decode()]}),
            )
        )
        cases.append(
            (
                "POST",
                f"{prefix}/queue/img2img",
                shaped({"init_images": [url + base64.b64encode(b"not an image").decode()]}),
            )
        )
    cases += [
        (
            "POST",
            f"{API}/queue/txt2img/batch",
            [{"prompt": "ok"}, {"prompt": "x", "override_settings": {"d": deep}}],
        ),
        ("PATCH", f"{API}/tasks/{task}", {"params": {"override_settings": {"d": deep}}}),
        ("PATCH", f"{API}/tasks/{task}", {"params": {"steps": 10**9}}),
        ("PATCH", f"{API}/tasks/{task}", {"script_args": {"CN": [{"$path": "/etc/passwd"}]}}),
        ("PUT", f"{AS}/task/{task}", {"params": {"override_settings": {"d": deep}}}),
        ("PUT", f"{AS}/task/{task}", {"params": {"seed": 10**30}}),
        (
            "POST",
            f"{API}/import",
            {"tasks": [{"kind": "txt2img", "params": {"prompt": "x", "steps": 10**9}}]},
        ),
        (
            "POST",
            f"{API}/import",
            {"tasks": [{"kind": "txt2img", "params": {"prompt": "x", "width": 10**6}}]},
        ),
        ("POST", f"{API}/import", {"tasks": [bomb_item]}),
        (
            "POST",
            f"{API}/import",
            {
                "tasks": [
                    {"kind": "txt2img", "params": {"prompt": "x"}, "script_args": {"CN": [{"$path": "/etc"}]}}
                ]
            },
        ),
        ("POST", f"{AS}/import", {"content": json.dumps([bomb_item])}),
        (
            "POST",
            f"{AS}/import",
            {"content": json.dumps([{"kind": "txt2img", "params": {"prompt": "x", "steps": 10**9}}])},
        ),
        (
            "POST",
            f"{API}/jobs",
            {"base": {"prompt": "x"}, "axes": [{"type": "steps", "values": ["9" * 400]}]},
        ),
        (
            "POST",
            f"{API}/jobs",
            {"base": {"prompt": "x"}, "axes": [{"type": "cfg_scale", "values": ["9" * 400]}]},
        ),
        (
            "POST",
            f"{API}/jobs",
            {"base": {"prompt": "x"}, "axes": [{"type": "size", "values": "9" * 5000 + "x5"}]},
        ),
        (
            "POST",
            f"{API}/jobs",
            {"base": {"prompt": "x"}, "axes": [{"type": "param", "name": "steps", "values": ["10" * 5]}]},
        ),
        (
            "POST",
            f"{API}/jobs",
            '{"base": {"prompt": "x", "cfg_scale": NaN}, "axes": [{"type": "seed", "values": [1]}], '
            '"dry_run": true}',
        ),
        (
            "POST",
            f"{API}/jobs",
            '{"base": {"prompt": "x"}, "axes": [{"type": "param", "name": "cfg_scale", "values": [NaN]}], '
            '"dry_run": true}',
        ),
        (
            "POST",
            f"{API}/jobs/{job}/follow-ups",
            '{"action": "img2img", "params": {"cfg_scale": NaN}, "dry_run": true}',
        ),
        ("POST", f"{API}/jobs/{job}/follow-ups", {"action": "img2img", "params": {"steps": 10**9}}),
        ("POST", f"{API}/jobs/{job}/follow-ups", {"action": "img2img", "params": {"x": {"$path": "/etc"}}}),
        ("GET", f"{API}/jobs?offset=9223372036854775808", None),
        ("GET", f"{API}/history?offset=9223372036854775808", None),
        ("GET", f"{API}/queue?offset=9223372036854775808", None),
    ]
    return cases


# -- the run ----------------------------------------------------------------------------------------


class Tally:
    def __init__(self) -> None:
        self.statuses: collections.Counter[int] = collections.Counter()
        self.server_errors: list[dict[str, Any]] = []
        self.transport_errors: list[str] = []
        self.listing_failures: list[dict[str, Any]] = []
        self.sent = 0

    def record(self, method: str, path: str, status: int, body: str, reproduce: str = "") -> None:
        self.sent += 1
        self.statuses[status] += 1
        if status >= 500:
            self.server_errors.append(
                {
                    "method": method,
                    "path": path[:200],
                    "status": status,
                    "body": body[:300],
                    "reproduce": reproduce[:500],
                }
            )

    def check_listings(self, client: httpx.Client, after: str) -> None:
        for path in LISTINGS:
            try:
                response = client.get(path)
            except httpx.HTTPError as exc:
                self.listing_failures.append({"after": after, "path": path, "error": type(exc).__name__})
                continue
            if response.status_code != 200:
                self.listing_failures.append(
                    {
                        "after": after[:200],
                        "path": path,
                        "status": response.status_code,
                        "body": response.text[:200],
                    }
                )


def _query_only(operation: Any) -> bool:
    raw = operation.definition.resolved
    return "requestBody" not in raw and any(p.get("in") == "query" for p in raw.get("parameters", []))


#: what an invalid body may hold instead of a field's value
MUTANTS: list[Any] = [
    None,
    True,
    -1,
    0,
    2**63,
    10**30,
    -(10**30),
    1e308,
    "",
    "x" * 5000,
    [],
    ["x"] * 20_000,
    {},
    {"$path": "/etc/passwd"},
    {"$dataclass": "pathlib:PurePath", "fields": {}},
    "http://127.0.0.1:7860/",
]


def mutate(body: Any, rng: random.Random) -> list[Any]:
    """Invalid variants of a valid body: one field (or the body) replaced by a hostile value."""
    variants: list[Any] = []
    for _ in range(2):
        mutant = rng.choice([*MUTANTS, _nested(rng.choice((70, 300)))])
        if isinstance(body, dict) and body:
            key = rng.choice(sorted(body))
            variants.append({**body, key: mutant})
        elif isinstance(body, list) and body:
            variants.append([mutant, *body[1:]])
        else:
            variants.append(mutant)
    return variants


def fuzz(base_url: str, cases: int, seed: int, auth: bool, verbose: bool = False) -> dict[str, Any]:
    import hypothesis
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings

    credentials = (USER, PASSWORD) if auth else None
    headers = (
        {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()} if auth else {}
    )
    client = httpx.Client(base_url=base_url, auth=credentials, timeout=60)
    world = World(client)
    world.seed()
    tally = Tally()
    rng = random.Random(seed)

    def send(method: str, path: str, body: Any) -> None:
        try:
            if isinstance(body, str):
                response = client.request(
                    method, path, content=body, headers={"content-type": "application/json"}
                )
            else:
                response = client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            tally.transport_errors.append(f"{method} {path[:80]}: {type(exc).__name__}")
            return
        tally.record(method, path, response.status_code, response.text, json.dumps(body)[:300])
        if response.status_code < 400:
            tally.check_listings(client, f"{method} {path}")

    # the issue's hostile requests first
    for method, path, body in hostile(world):
        send(method, path, body)
    hostile_sent = tally.sent

    schemathesis.experimental.OPEN_API_3_1.enable()  # fastapi 0.104 writes OpenAPI 3.1
    spec = client.get("/task-scheduler/openapi.json")  # the standalone server's (behind auth)
    if spec.status_code != 200 or "json" not in spec.headers.get("content-type", ""):
        spec = client.get("/openapi.json")  # the app's own, in-process
    raw_schema = spec.json()
    raw_schema["paths"] = {p: v for p, v in raw_schema["paths"].items() if _is_queue_route(p)}
    schema = schemathesis.from_dict(raw_schema, base_url=base_url)
    operations = [result.ok() for result in schema.get_all_operations()]
    positive, negative = (
        schemathesis.DataGenerationMethod.positive,
        schemathesis.DataGenerationMethod.negative,
    )
    # schemathesis' invalid bodies take minutes each for pydantic 2's nullable schemas, so invalid
    # bodies are made here (mutate()), and schemathesis makes invalid query strings only
    runs = [(op, positive) for op in operations] + [(op, negative) for op in operations if _query_only(op)]
    skipped: list[str] = []
    budget = max(0, cases - hostile_sent)
    generated = 0

    for round_ in range(4):
        if generated >= budget:
            break
        per_run = max(1, math.ceil((budget - generated) / len(runs)))
        for operation, method in runs:
            world.refresh()

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
            def run(case: Any) -> None:
                nonlocal generated
                generated += 1
                world.aim(case, rng)
                try:
                    response = case.call(base_url=base_url, timeout=60, headers=headers)
                except Exception as exc:  # a dropped connection is as bad as a 500
                    tally.transport_errors.append(
                        f"{case.method} {case.formatted_path}: {type(exc).__name__}"
                    )
                    return
                tally.record(
                    case.method,
                    case.formatted_path,
                    response.status_code,
                    response.text,
                    case.as_curl_command(),
                )
                if response.status_code < 400:
                    tally.check_listings(client, f"{case.method} {case.formatted_path}")
                if method is positive and case.body is not None and not isinstance(case.body, (str, bytes)):  # noqa: B023 - run() is called in this iteration
                    for variant in mutate(case.body, rng):
                        generated += 1
                        send(case.method, case.formatted_path, variant)

            began = time.monotonic()
            try:
                run()
            except BaseException as exc:  # schemathesis skips with its own SkipTest class
                if not isinstance(exc, hypothesis.errors.Unsatisfiable) and type(exc).__name__ not in SKIPS:
                    raise
                if round_ == 0:
                    skipped.append(f"{operation.verbose_name} ({method.name})")
            if verbose:
                print(
                    f"  {operation.verbose_name} ({method.name}): {time.monotonic() - began:.1f} s",
                    file=sys.stderr,
                )

    # with auth, a request without credentials must be refused everywhere (exactly 401)
    unauthenticated_not_401 = 0
    if auth:
        anonymous = httpx.Client(base_url=base_url, timeout=30)
        for operation in operations:
            path = operation.path
            for name in ("task_id", "job_id", "id", "over_id"):
                path = path.replace("{" + name + "}", "missing")
            path = path.replace("{index}", "0")
            if anonymous.request(operation.method.upper(), path).status_code != 401:
                unauthenticated_not_401 += 1
        anonymous.close()
    client.close()

    by_class = collections.Counter(f"{code // 100}xx" for code in tally.statuses.elements())
    return {
        "cases": tally.sent,
        "hostile_cases": hostile_sent,
        "operations": len(operations),
        "status_2xx": by_class.get("2xx", 0),
        "status_4xx": by_class.get("4xx", 0),
        "5xx": len(tally.server_errors),
        "transport_errors": len(tally.transport_errors),
        "listing_failures": len(tally.listing_failures),
        "unauthenticated_not_401": unauthenticated_not_401,
        "by_status": {str(code): count for code, count in sorted(tally.statuses.items())},
        "skipped": len(skipped),
        "examples": tally.server_errors[:5]
        + [{"transport": t} for t in tally.transport_errors[:5]]
        + tally.listing_failures[:5],
    }


TARGETS: dict[str, Callable[[Path, bool], Any]] = {
    "inprocess": inprocess_target,
    "standalone": standalone_target,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=[*TARGETS, "all"], default="all")
    parser.add_argument(
        "--auth", choices=["off", "on", "both"], default="both", help="--api-auth on the target"
    )
    parser.add_argument("--cases", type=int, default=1000, help="about how many requests to send per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    parser.add_argument("--verbose", action="store_true", help="time each operation (on stderr)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    targets = list(TARGETS) if args.target == "all" else [args.target]
    auths = {"off": [False], "on": [True], "both": [False, True]}[args.auth]
    results = []
    for name in targets:
        for auth in auths:
            with tempfile.TemporaryDirectory() as folder, TARGETS[name](Path(folder), auth) as url:
                started = time.monotonic()
                figures = fuzz(url, args.cases, args.seed, auth, args.verbose)
                figures.update(target=name, api_auth=auth, seconds=round(time.monotonic() - started, 1))
            results.append(figures)
            print(
                f"{name} (api-auth {'on' if auth else 'off'}): {figures['cases']} cases "
                f"({figures['hostile_cases']} hostile) over {figures['operations']} operations in "
                f"{figures['seconds']} s: {figures['status_2xx']} 2xx, {figures['status_4xx']} 4xx, "
                f"{figures['5xx']} 5xx, {figures['transport_errors']} transport errors, "
                f"{figures['listing_failures']} listing failures"
                + (f", {figures['unauthenticated_not_401']} open without credentials" if auth else "")
            )
            for example in figures["examples"]:
                print("  ", example)
    total = {
        "cases": sum(r["cases"] for r in results),
        "5xx": sum(r["5xx"] for r in results),
        "transport_errors": sum(r["transport_errors"] for r in results),
        "listing_failures": sum(r["listing_failures"] for r in results),
        "unauthenticated_not_401": sum(r["unauthenticated_not_401"] for r in results),
        "seed": args.seed,
        "targets": [{k: v for k, v in r.items() if k != "examples"} for r in results],
    }
    if args.json:
        print(json.dumps(total))
    failed = (
        total["5xx"]
        or total["transport_errors"]
        or total["listing_failures"]
        or total["unauthenticated_not_401"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

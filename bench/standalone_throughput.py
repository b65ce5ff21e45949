"""Standalone server vs calling the WebUI directly: the same txt2img tasks, timed both ways.

Runs N generations as plain ``POST /sdapi/v1/txt2img`` calls one after another, then queues the
same N (same seeds) on ``python -m task_scheduler serve --webui URL`` started for the run, and
waits until the queue has finished them. ``standalone_vs_direct_ratio`` is direct time divided by
standalone time (1.0 = the queue costs nothing; below 1 = slower). ``images_equal`` says whether
every queued result has the same RGB pixels as the direct call with the same seed.

Needs a WebUI started with ``--api``: ``--webui-url http://127.0.0.1:7860`` (or the environment
variable TASK_SCHEDULER_WEBUI_URL); without one it skips itself.
"""

from __future__ import annotations

import base64
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import parser, report

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def payload(args, seed: int) -> dict:
    return {
        "prompt": "a lighthouse on a cliff, standalone benchmark",
        "negative_prompt": "blurry",
        "seed": seed,
        "steps": args.steps,
        "width": args.size,
        "height": args.size,
        "sampler_name": "Euler",
        "cfg_scale": 7,
    }


def rgb(blob: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(blob)) as image:
        return image.convert("RGB").tobytes()


def run_direct(client, args, seeds: list[int]) -> tuple[float, dict[int, bytes]]:
    images = {}
    start = time.perf_counter()
    for seed in seeds:
        response = client.post("/sdapi/v1/txt2img", json=payload(args, seed), timeout=None)
        response.raise_for_status()
        images[seed] = base64.b64decode(response.json()["images"][0])
    elapsed = time.perf_counter() - start
    return elapsed, {seed: rgb(blob) for seed, blob in images.items()}


def run_standalone(server, args, seeds: list[int], checkpoint: str | None) -> tuple[float, dict[int, bytes]]:
    api = "/task-scheduler/v1"
    bodies = [dict(payload(args, seed), checkpoint=checkpoint) for seed in seeds]
    revision = server.get(f"{api}/queue").json()["revision"]
    start = time.perf_counter()
    response = server.post(f"{api}/queue/txt2img/batch", json=bodies)
    response.raise_for_status()
    ids = [task["id"] for task in response.json()["tasks"]]
    while True:
        revision = server.get(f"{api}/wait", params={"revision": revision, "timeout": 60}).json()["revision"]
        state = server.get(f"{api}/queue", params={"limit": 1}).json()
        if not state["running"] and state["total_pending"] == 0:
            break
    elapsed = time.perf_counter() - start
    images = {}
    for seed, task_id in zip(seeds, ids, strict=True):
        task = server.get(f"{api}/tasks/{task_id}").json()
        if task["status"] != "done":
            raise RuntimeError(f"task {task_id} ended {task['status']}: {task.get('error')}")
        images[seed] = rgb(server.get(f"{api}/tasks/{task_id}/results/0").content)
    return elapsed, images


def start_server(url: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "task_scheduler", "serve", "--webui", url, "--port", str(port)]
    command += ["--db", str(workdir / "bench.sqlite3"), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=REPO)
    return process, f"http://127.0.0.1:{port}"


def wait_ready(client, process, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the standalone server exited with {process.returncode}")
        try:
            if all(b["up"] for b in client.get("/task-scheduler/v1/backends").json()):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the standalone server did not become ready")


def main() -> None:
    p = parser(__doc__)
    p.add_argument(
        "--webui-url", default=os.environ.get("TASK_SCHEDULER_WEBUI_URL"), help="a WebUI with --api"
    )
    p.add_argument("--tasks", type=int, default=10, help="generations per side (default 10)")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--checkpoint", help="checkpoint for both sides (default: the one the WebUI has chosen)")
    p.add_argument("--rounds", type=int, default=1, help="alternate direct/standalone this many times")
    args = p.parse_args()
    if not args.webui_url:
        report({"skipped": True, "reason": "no --webui-url (or TASK_SCHEDULER_WEBUI_URL) given"}, args.json)
        return

    import httpx

    url = args.webui_url.rstrip("/")
    seeds = [1000 + i for i in range(args.tasks)]
    with httpx.Client(base_url=url, timeout=60) as webui, tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or webui.get("/sdapi/v1/options").json().get("sd_model_checkpoint")
        if checkpoint:
            webui.post("/sdapi/v1/options", json={"sd_model_checkpoint": checkpoint}, timeout=None)
        webui.post("/sdapi/v1/txt2img", json=payload(args, 1), timeout=None).raise_for_status()  # warm-up
        process, server_url = start_server(url, Path(tmp))
        try:
            with httpx.Client(base_url=server_url, timeout=120) as server:
                wait_ready(server, process)
                direct_rounds: list[float] = []
                standalone_rounds: list[float] = []
                equal = True
                for _round in range(args.rounds):
                    d_s, direct_images = run_direct(webui, args, seeds)
                    s_s, queued_images = run_standalone(server, args, seeds, checkpoint)
                    direct_rounds.append(round(d_s, 3))
                    standalone_rounds.append(round(s_s, 3))
                    equal = equal and all(queued_images[s] == direct_images[s] for s in seeds)
        finally:
            process.terminate()
            process.wait(30)
    n = args.tasks * args.rounds
    direct_s, standalone_s = sum(direct_rounds), sum(standalone_rounds)
    report(
        {
            "webui_url": url,
            "checkpoint": checkpoint,
            "tasks": n,
            "steps": args.steps,
            "size": args.size,
            "direct_s": round(direct_s, 3),
            "standalone_s": round(standalone_s, 3),
            "direct_s_per_task": round(direct_s / n, 3),
            "standalone_s_per_task": round(standalone_s / n, 3),
            "direct_s_rounds": direct_rounds,
            "standalone_s_rounds": standalone_rounds,
            "overhead_ms_per_task": round((standalone_s - direct_s) / n * 1000, 1),
            "images_equal": equal,
            "standalone_vs_direct_ratio": round(direct_s / standalone_s, 4),
        },
        args.json,
    )


if __name__ == "__main__":
    main()

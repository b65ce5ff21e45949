"""Model loads for a queue that alternates two checkpoints, in a running WebUI with the extension.

20 tiny tasks (a, b, a, b, ...) are queued at once and run with checkpoint-aware order on (the
setting is turned on for the run and restored after). Figures:

* ``model_loads``: model loads the WebUI reported (``on_model_loaded``) while the queue ran;
* ``log_loading_model_lines``: "Loading Model" lines Forge wrote meanwhile (with ``--log``);
* ``run_order``: the checkpoints in the order the tasks ran.

``--compare-fifo`` repeats the run with the setting off (each task then loads its model).
Without ``--webui-url`` (or when nothing answers there) it prints why and exits 0: skipped.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parser, report  # noqa: E402
from _webui import WebUI  # noqa: E402

SETTING = "task_scheduler_checkpoint_aware_order"


def log_size(path: str | None) -> int:
    if not path or not Path(path).is_file():
        return 0
    return Path(path).stat().st_size


def log_count(path: str | None, since: int, needle: str = "Loading Model") -> int | None:
    if not path or not Path(path).is_file():
        return None
    with open(path, "rb") as handle:
        handle.seek(since)
        return handle.read().decode("utf-8", "replace").count(needle)


def run_round(webui: WebUI, checkpoints: list[str], args, aware: bool) -> dict:
    webui.post("/sdapi/v1/options", {SETTING: aware})
    webui.post("/task-scheduler/v1/queue/pause")
    tasks = [
        {
            "prompt": f"checkpoint bench {i}",
            "seed": 2000 + i,
            "steps": args.steps,
            "width": args.size,
            "height": args.size,
            "sampler_name": "Euler a",
            "checkpoint": checkpoints[i % 2],
        }
        for i in range(args.tasks)
    ]
    ids = webui.enqueue(tasks)
    loads_before = webui.stats()["model_loads"]
    log_before = log_size(args.log)
    start = time.perf_counter()
    webui.post("/task-scheduler/v1/queue/resume")
    finished = webui.wait_finished(ids, args.timeout)
    elapsed = time.perf_counter() - start
    stats = webui.stats()
    timings = {t["id"]: t for t in stats["timings"]}
    by_id = dict(zip(ids, tasks, strict=True))
    order = sorted((i for i in ids if i in timings), key=lambda i: timings[i]["started_at"])
    return {
        "checkpoint_aware_order": aware,
        "tasks": len(ids),
        "model_loads": stats["model_loads"] - loads_before,
        "log_loading_model_lines": log_count(args.log, log_before),
        "failed": sum(1 for t in finished if t["status"] != "done"),
        "seconds": round(elapsed, 2),
        "run_order": "".join("ab"[checkpoints.index(by_id[i]["checkpoint"])] for i in order),
    }


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--webui-url", default=None, help="e.g. http://127.0.0.1:7860")
    p.add_argument("--tasks", type=int, default=20)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--checkpoints", nargs=2, default=None, help="two checkpoint names (default: first two)")
    p.add_argument("--log", default=None, help="the WebUI's console log, e.g. /tmp/forge.log")
    p.add_argument("--compare-fifo", action="store_true", help="also run with the setting off")
    p.add_argument("--auth", default=None, help="user:password for --api-auth")
    p.add_argument("--timeout", type=float, default=3600.0)
    args = p.parse_args()

    if not args.webui_url:
        report({"skipped": True, "reason": "no --webui-url given"}, args.json)
        return
    webui = WebUI(args.webui_url, auth=args.auth)
    why = webui.reachable()
    if why:
        report({"skipped": True, "reason": why}, args.json)
        return
    # names as the Queue button stores them (the title without its " [hash]")
    models = webui.get("/sdapi/v1/sd-models")[:2]
    checkpoints = args.checkpoints or [re.sub(r"\s*\[[0-9a-fA-F]+\]$", "", m["title"]) for m in models]
    if len(checkpoints) < 2:
        report({"skipped": True, "reason": "the WebUI has fewer than two checkpoints"}, args.json)
        return

    before = webui.get("/sdapi/v1/options").get(SETTING, True)
    try:
        figures = run_round(webui, checkpoints, args, aware=True)
        if args.compare_fifo:
            fifo = run_round(webui, checkpoints, args, aware=False)
            figures.update({f"fifo_{key}": value for key, value in fifo.items() if key != "tasks"})
    finally:
        webui.post("/sdapi/v1/options", {SETTING: before})
        webui.post("/task-scheduler/v1/queue/resume")
    figures["checkpoints"] = checkpoints
    report(figures, args.json)


if __name__ == "__main__":
    main()

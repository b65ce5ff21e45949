"""Queue throughput against direct API calls, in a running WebUI with the extension installed.

N tiny tasks (default 30, 64x64, 2 steps) run twice in one session: back to back through the
WebUI's own ``POST /sdapi/v1/txt2img`` (saving images, like Generate), and queued at once
through ``/task-scheduler/v1`` and run by the extension's executor. The two run in alternating
blocks (``--rounds``, default 3: direct, queue, queue, direct, direct, queue), so a machine that
slows down or speeds up during the run does not favour either side. Figures:

* ``queue_vs_direct_ratio``: queue throughput / direct throughput (1.0 = no overhead);
* ``idle_gap_ms_median`` / ``_max``: from one task's end to the next one's start, from the
  queue's own timestamps (``/task-scheduler/v1/webui/stats``);
* ``same_image_rgb``: the first queued image has the same RGB bytes as the direct one with the
  same parameters and seed.

Without ``--webui-url`` (or when nothing answers there) it prints why and exits 0: skipped.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parser, report  # noqa: E402
from _webui import WebUI, rgb_of  # noqa: E402


def task_params(i: int, args) -> dict:
    return {
        "prompt": f"throughput bench {i}",
        "negative_prompt": "",
        "seed": 1000 + i,
        "steps": args.steps,
        "width": args.size,
        "height": args.size,
        "cfg_scale": 7,
        "sampler_name": "Euler a",
        "scheduler": "Automatic",
        "batch_size": 1,
        "n_iter": 1,
    }


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--webui-url", default=None, help="e.g. http://127.0.0.1:7860")
    p.add_argument("--tasks", type=int, default=30)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3, help="alternate direct/queue blocks to even out drift")
    p.add_argument("--auth", default=None, help="user:password for --api-auth")
    p.add_argument("--timeout", type=float, default=1800.0)
    args = p.parse_args()

    if not args.webui_url:
        report({"skipped": True, "reason": "no --webui-url given"}, args.json)
        return
    webui = WebUI(args.webui_url, auth=args.auth)
    why = webui.reachable()
    if why:
        report({"skipped": True, "reason": why}, args.json)
        return

    n = args.tasks
    queue_state = webui.get("/task-scheduler/v1/queue")
    if queue_state.get("paused"):
        webui.post("/task-scheduler/v1/queue/resume")

    # warm-up: load the model and touch both paths once
    warm = task_params(-1, args)
    webui.direct_txt2img({**warm, "save_images": True})
    webui.wait_finished(webui.enqueue([warm]), args.timeout)

    direct_s = queue_s = 0.0
    direct_first = None
    ids: list[str] = []
    runs: list[dict] = []
    gaps: list[float] = []
    failed: list[dict] = []
    rounds = max(1, min(args.rounds, n))
    for r in range(rounds):
        chunk = [i for i in range(n) if i % rounds == r]
        blocks = ("direct", "queue") if r % 2 == 0 else ("queue", "direct")
        for block in blocks:
            if block == "direct":
                start = time.perf_counter()
                for i in chunk:
                    answer = webui.direct_txt2img({**task_params(i, args), "save_images": True})
                    if i == 0:
                        direct_first = answer["images"][0]
                direct_s += time.perf_counter() - start
                continue
            webui.post("/task-scheduler/v1/queue/pause")
            chunk_ids = webui.enqueue([task_params(i, args) for i in chunk])
            ids += chunk_ids
            resumed = time.time()
            webui.post("/task-scheduler/v1/queue/resume")
            tasks = webui.wait_finished(chunk_ids, args.timeout)
            failed += [t for t in tasks if t["status"] != "done"]
            timings = {t["id"]: t for t in webui.stats()["timings"]}
            chunk_runs = [timings[i] for i in chunk_ids if i in timings]
            chunk_runs.sort(key=lambda t: t["started_at"])
            queue_s += max(t["finished_at"] for t in chunk_runs) - resumed
            gaps += [
                (b["started_at"] - a["finished_at"]) * 1000
                for a, b in zip(chunk_runs, chunk_runs[1:], strict=False)
            ]
            runs += chunk_runs

    same = None
    if direct_first is not None and not failed:
        same = rgb_of(direct_first) == webui.result_image_rgb(ids[0], 0)

    figures = {
        "tasks": n,
        "rounds": rounds,
        "size": args.size,
        "steps": args.steps,
        "direct_s": round(direct_s, 3),
        "queue_s": round(queue_s, 3),
        "direct_tasks_per_s": round(n / direct_s, 4),
        "queue_tasks_per_s": round(n / queue_s, 4),
        "queue_vs_direct_ratio": round(direct_s / queue_s, 4),
        "idle_gap_ms_median": round(statistics.median(gaps), 2) if gaps else None,
        "idle_gap_ms_max": round(max(gaps), 2) if gaps else None,
        "failed": len(failed),
        "same_image_rgb": same,
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()

"""Auto-batching against one by one, in a running WebUI with the extension installed (``--api``).

A 12-task job (3 prompts × 4 seeds, 128×128, 4 steps by default) is queued as a sweep twice per
round: once as it is (auto-batched, batches of ``--batch``, the setting set through
``/sdapi/v1/options``) and once with ``"exact": true`` (one by one), in alternating order
(batched, one by one, one by one, batched, ...) in the same WebUI process, so drift of a shared
machine favours neither. Figures:

* ``autobatch_speedup``: the one-by-one jobs' time ÷ the batched jobs' time, each from its first
  task's start to its last task's end (the queue's own timestamps);
* ``pixel_mean_abs_diff`` (0–255, over RGB) and ``_max``: batched vs one-by-one image of the same
  prompt and seed: float rounding only (batched matrix products sum in another order);
* ``infotexts_match``: every batched task's infotext equals its one-by-one twin's, apart from what
  batching must change (nothing, in A1111, Forge and Neo: their infotexts name no batch);
* ``batch_sizes``: how many tasks ran in each WebUI batch of the batched jobs.

Without ``--webui-url`` (or when nothing answers there) it prints why and exits 0: skipped.
The queue should be otherwise empty: other tasks would run inside the timings.
"""

from __future__ import annotations

import io
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parser, report  # noqa: E402
from _webui import QUEUE, WebUI  # noqa: E402

PROMPTS = ("a lighthouse on a cliff at dusk", "a bowl of ripe oranges", "a red fox in fresh snow")
SEEDS = (101, 102, 103, 104)
#: infotext keys batching would have to change (none in the WebUIs tested; A1111 before 1.6 wrote these)
CHANGED_BY_BATCHING = ("Batch size", "Batch pos")


def moment(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def without_batch_keys(infotext: str) -> str:
    lines = infotext.split("\n")
    params = [item for item in lines[-1].split(", ") if item.split(": ", 1)[0] not in CHANGED_BY_BATCHING]
    return "\n".join([*lines[:-1], ", ".join(params)])


def run_job(webui: WebUI, args: Any, exact: bool, timeout: float) -> tuple[float, list[dict[str, Any]]]:
    body = {
        "name": f"autobatch bench ({'one by one' if exact else 'batched'})",
        "base": {
            "prompt": PROMPTS[0],
            "negative_prompt": args.negative_prompt,
            "steps": args.steps,
            "width": args.size,
            "height": args.size,
            "cfg_scale": 7,
            "sampler_name": "Euler a",
            "scheduler": "Automatic",
        },
        "axes": [{"type": "prompt", "values": list(PROMPTS)}, {"type": "seed", "values": list(SEEDS)}],
        "exact": exact,
    }
    job = webui.post(QUEUE + "/jobs", body)
    tasks = webui.wait_finished(job["task_ids"], timeout)
    bad = [t for t in tasks if t["status"] != "done"]
    if bad:
        raise RuntimeError(f"{len(bad)} tasks did not end done: {bad[0]['status']}: {bad[0].get('error')}")
    took = max(moment(t["finished_at"]) for t in tasks) - min(moment(t["started_at"]) for t in tasks)
    return took, tasks


def rgb(webui: WebUI, task_id: str):
    import numpy as np
    from PIL import Image

    raw = webui.get(f"{QUEUE}/tasks/{task_id}/results/0")
    with Image.open(io.BytesIO(raw)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--webui-url", default=None, help="e.g. http://127.0.0.1:7860")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument(
        "--negative-prompt",
        default="blurry",
        help="'' on A1111 with a random-weight checkpoint: its UNet makes NaNs with this one, Generate too",
    )
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=4, choices=(2, 4, 8), help="the auto-batch setting to use")
    p.add_argument("--rounds", type=int, default=2, help="rounds of (batched, one by one), alternating")
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
    before = webui.get("/sdapi/v1/options").get("task_scheduler_auto_batch")
    webui.post("/sdapi/v1/options", {"task_scheduler_auto_batch": str(args.batch)})
    times: dict[bool, list[float]] = {False: [], True: []}
    last: dict[bool, list[dict[str, Any]]] = {}
    started = time.monotonic()
    try:
        order = []
        for round_no in range(args.rounds):
            order += [False, True] if round_no % 2 == 0 else [True, False]
        for exact in order:
            took, tasks = run_job(webui, args, exact, args.timeout)
            times[exact].append(took)
            last[exact] = tasks
            print(f"{'one by one' if exact else 'batched':10} {took:7.1f} s", file=sys.stderr)
    finally:
        if before is not None:
            webui.post("/sdapi/v1/options", {"task_scheduler_auto_batch": before})
    batched, alone = last[False], last[True]
    sizes = Counter(Counter(t["batch_id"] for t in batched).values())
    diffs, maxima, matches = [], [], []
    first_difference = None
    for one, other in zip(batched, alone, strict=True):
        assert one["params"]["prompt"] == other["params"]["prompt"]
        assert one["params"]["seed"] == other["params"]["seed"]
        a, b = rgb(webui, one["id"]), rgb(webui, other["id"])
        delta = abs(a - b)
        diffs.append(float(delta.mean()))
        maxima.append(int(delta.max()))
        same = [without_batch_keys(t) for t in one["result"]["infotexts"]] == [
            without_batch_keys(t) for t in other["result"]["infotexts"]
        ]
        matches.append(same)
        if not same and first_difference is None:
            first_difference = [one["result"]["infotexts"], other["result"]["infotexts"]]
    figures = {
        "tasks_per_job": len(batched),
        "steps": args.steps,
        "size": f"{args.size}x{args.size}",
        "batch_setting": args.batch,
        "batch_sizes": {str(size): count for size, count in sorted(sizes.items())},
        "batched_s": [round(t, 2) for t in times[False]],
        "one_by_one_s": [round(t, 2) for t in times[True]],
        "autobatch_speedup": round(sum(times[True]) / sum(times[False]), 3),
        "pixel_mean_abs_diff": round(sum(diffs) / len(diffs), 4),
        "pixel_max_abs_diff": max(maxima),
        "infotexts_match": all(matches),
        "wall_s": round(time.monotonic() - started, 1),
    }
    if first_difference is not None:
        figures["first_infotext_difference"] = first_difference
    report(figures, args.json)


if __name__ == "__main__":
    main()

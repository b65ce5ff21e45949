"""A mixed farm on one PostgreSQL: real Forge and real AUTOMATIC1111 as workers of one queue
(opt-in, slow; this script installs and starts nothing).

Start a PostgreSQL (``python bench/pg_cluster.py`` prints a URL) and both WebUIs with
``--task-scheduler-db <that URL>`` and their own ``--task-scheduler-worker`` names, then:

    python bench/real_pg_farm.py --forge http://127.0.0.1:7862 --a1111 http://127.0.0.1:7861 --json

Phases (``--phases``, default all):

``workers``  both WebUIs list both workers as live, each with its WebUI family (``info.webui``).
``sweep``    a job of ``--tasks`` tiny tasks (2 checkpoints x seeds) queued through A1111's
             ``/jobs`` while the queue is paused: both WebUIs' ``GET /queue`` list the same
             pending ids in the same order; resumed, the tasks run on both workers, each once
             (``attempts``), one image each, no image file twice.
``img2img``  a noise image uploaded with an img2img task through Forge's API while Forge's worker
             is paused, so A1111 takes it: the stored init image (the export's bytes) is
             pixel-equal to what was sent, the task is done on A1111 and its image is served.
``button``   Forge's Queue button (headless Chromium) queues one task while Forge's worker is
             paused, then an API task is queued: A1111 runs the API task and never the captured
             one (``needs_webui`` = forge); both Task Queue tabs are photographed showing the same
             queue; Forge resumed runs it.

Figures are printed, never asserted; ``--json`` prints them as one JSON object.
"""

from __future__ import annotations

import base64
import io
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parser, report  # noqa: E402
from _webui import QUEUE, WebUI  # noqa: E402
from real_two_workers import CHROMIUM, queue_with_button, tiny, worker_id_for  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def pending_ids(api: WebUI) -> list[str]:
    return [t["id"] for t in api.get(QUEUE + "/queue?limit=1000")["pending"]]


def set_worker_paused(api: WebUI, worker: str, paused: bool) -> None:
    api.post(f"{QUEUE}/workers/{worker}/{'pause' if paused else 'resume'}")


def noise_png(seed: int, size: int = 64) -> bytes:
    from PIL import Image

    rng = random.Random(seed)
    image = Image.frombytes("RGB", (size, size), bytes(rng.randrange(256) for _ in range(size * size * 3)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pixels(data: bytes) -> tuple[tuple[int, int], bytes]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
        return rgb.size, rgb.tobytes()


# -- phases -------------------------------------------------------------------------------------


def phase_workers(forge: WebUI, a1111: WebUI, wf: str, wa: str) -> dict[str, Any]:
    figures: dict[str, Any] = {"worker_forge": wf, "worker_a1111": wa}
    for label, api in (("forge", forge), ("a1111", a1111)):
        listed = api.get(QUEUE + "/workers")["workers"]
        figures[f"workers_seen_by_{label}"] = {
            w["id"]: {"state": w["state"], "webui": (w.get("info") or {}).get("webui")}
            for w in listed
            if w["id"] in (wf, wa)
        }
    return figures


def phase_sweep(forge: WebUI, a1111: WebUI, args: Any, wf: str, wa: str) -> dict[str, Any]:
    checkpoints = [m["title"] for m in a1111.get("/sdapi/v1/sd-models")][:2]
    seeds = list(range(3000, 3000 + args.tasks // max(1, len(checkpoints))))
    a1111.post(QUEUE + "/queue/pause")
    try:
        job = a1111.post(
            QUEUE + "/jobs",
            {
                "name": "farm sweep",
                "base": tiny("farm sweep", -1),
                "axes": [
                    {"type": "checkpoint", "values": ", ".join(checkpoints)},
                    {"type": "seed", "values": ", ".join(map(str, seeds))},
                ],
            },
        )
        ids = job["task_ids"]
        seen_forge, seen_a1111 = pending_ids(forge), pending_ids(a1111)
    finally:
        a1111.post(QUEUE + "/queue/resume")
    started = time.monotonic()
    tasks = a1111.wait_finished(ids, args.timeout)
    by_worker: dict[str, int] = {}
    images: list[str] = []
    for task in tasks:
        by_worker[task["worker"]] = by_worker.get(task["worker"], 0) + 1
        images.extend((task.get("result") or {}).get("images") or [])
    served = 0
    for task in tasks[:2] + tasks[-2:]:  # each WebUI serves an image the other one made
        for api in (forge, a1111):
            if api.request("GET", f"{QUEUE}/tasks/{task['id']}/results/0"):
                served += 1
    return {
        "sweep_tasks": len(ids),
        "sweep_same_queue_on_both": seen_forge == seen_a1111 and set(ids) <= set(seen_forge),
        "sweep_pending_seen": [len(seen_forge), len(seen_a1111)],
        "sweep_statuses": sorted({t["status"] for t in tasks}),
        "sweep_by_worker": by_worker,
        "sweep_on_both": by_worker.get(wf, 0) > 0 and by_worker.get(wa, 0) > 0,
        "sweep_attempts": sorted({t["attempts"] for t in tasks}),
        "sweep_ran_twice": sum(1 for t in tasks if t["attempts"] != 1),
        "sweep_images": len(images),
        "sweep_distinct_images": len(set(images)),
        "sweep_images_served_cross": f"{served}/8",
        "sweep_wall_s": round(time.monotonic() - started, 1),
    }


def phase_img2img(forge: WebUI, a1111: WebUI, args: Any, wf: str, wa: str) -> dict[str, Any]:
    sent = noise_png(args.seed)
    set_worker_paused(forge, wf, True)  # Forge receives the upload; A1111 must take and run it
    try:
        answer = forge.post(
            QUEUE + "/queue/img2img",
            {
                "prompt": "farm img2img",
                "init_images": [base64.b64encode(sent).decode()],
                "denoising_strength": 0.5,
                "width": 64,
                "height": 64,
                "steps": 2,
                "seed": 77,
            },
        )
        task_id = answer["id"]
        (task,) = a1111.wait_finished([task_id], args.timeout)
    finally:
        set_worker_paused(forge, wf, False)
    stored = (
        task["params"]["init_img"]["$image"] if isinstance(task["params"].get("init_img"), dict) else None
    )
    kept = stored_file(a1111, args, stored) if stored else None
    result = a1111.request("GET", f"{QUEUE}/tasks/{task_id}/results/0")
    return {
        "img2img_status": task["status"],
        "img2img_worker": task["worker"],
        "img2img_on_a1111": task["worker"] == wa,
        "img2img_stored_ref": stored,
        "img2img_stored_pixel_equal": kept is not None and pixels(kept) == pixels(sent),
        "img2img_stored_byte_equal": kept == sent,
        "img2img_result_bytes": len(result) if isinstance(result, (bytes, bytearray)) else None,
        "img2img_result_size": list(pixels(result)[0]) if isinstance(result, (bytes, bytearray)) else None,
    }


def stored_file(api: WebUI, args: Any, ref: str) -> bytes | None:
    """The init image as the store holds it: its row in PostgreSQL's ``file_blob`` (``--db``)."""
    if not args.db:
        return None
    import psycopg

    with psycopg.connect(args.db) as conn:
        row = conn.execute("SELECT data FROM file_blob WHERE ref = %s", (ref,)).fetchone()
    return bytes(row[0]) if row else None


def tab_screenshot(url: str, name: str) -> tuple[str, list[str], list[str]]:
    """The Task Queue tab photographed: the file, the waiting rows' titles, their "waits for" notes."""
    from playwright.sync_api import sync_playwright

    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"real-pg-farm-{name}.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, timeout=300_000)
        page.locator("#tabs > .tab-nav button").filter(has_text="Task Queue").first.click(timeout=300_000)
        page.wait_for_selector("#task-scheduler-tab[data-ready='1']", state="attached", timeout=60_000)
        page.wait_for_selector(".tsq-pending-row", timeout=60_000)
        time.sleep(1.0)
        page.locator("#task-scheduler-tab").screenshot(path=str(path))
        titles = page.locator(".tsq-pending-row .tsq-name").all_inner_texts()
        notes = page.locator(".tsq-pending-row .tsq-waits").all_inner_texts()
        browser.close()
    return str(path), titles, notes


def phase_button(forge: WebUI, a1111: WebUI, args: Any, wf: str, wa: str) -> dict[str, Any]:
    set_worker_paused(forge, wf, True)
    try:
        (captured,) = queue_with_button(forge.url, 1, f"farm button {int(time.time())}")
        (api_id,) = a1111.enqueue([tiny("farm api after the button", 4242)])
        (api_task,) = a1111.wait_finished([api_id], args.timeout)
        waiting = a1111.task(captured)
        same_queue = pending_ids(forge) == pending_ids(a1111)
        tabs = {
            "forge": tab_screenshot(forge.url, "forge-tab"),
            "a1111": tab_screenshot(a1111.url, "a1111-tab"),
        }
        still = a1111.task(captured)
    finally:
        set_worker_paused(forge, wf, False)
    (done,) = forge.wait_finished([captured], args.timeout)
    return {
        "button_needs_webui": waiting["needs_webui"],
        "button_status_while_forge_paused": still["status"],
        "button_api_task_ran_on": api_task["worker"],
        "button_same_queue_on_both": same_queue,
        "button_final_status": done["status"],
        "button_ran_on": done["worker"],
        "button_ran_on_forge": done["worker"] == wf,
        "button_attempts": done["attempts"],
        "button_tabs_waiting_rows": {k: v[1] for k, v in tabs.items()},
        "button_tabs_notes": {k: v[2] for k, v in tabs.items()},
        "button_screenshots": [v[0] for v in tabs.values()],
    }


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--forge", default="http://127.0.0.1:7862")
    p.add_argument("--a1111", default="http://127.0.0.1:7861")
    p.add_argument("--db", default=None, help="the PostgreSQL URL, read for the stored init image")
    p.add_argument("--tasks", type=int, default=12)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--phases", default="workers,sweep,img2img,button")
    p.add_argument("--timeout", type=float, default=1800.0)
    args = p.parse_args()
    forge, a1111 = WebUI(args.forge), WebUI(args.a1111)
    for api in (forge, a1111):
        reason = api.reachable()
        if reason:
            print(reason, file=sys.stderr)
            return 2
    wf, wa = worker_id_for(forge, args.forge), worker_id_for(forge, args.a1111)
    if not wf or not wa:
        print(f"both WebUIs must be workers of one queue (found {wf!r}, {wa!r})", file=sys.stderr)
        return 2
    phases = {
        "workers": lambda: phase_workers(forge, a1111, wf, wa),
        "sweep": lambda: phase_sweep(forge, a1111, args, wf, wa),
        "img2img": lambda: phase_img2img(forge, a1111, args, wf, wa),
        "button": lambda: phase_button(forge, a1111, args, wf, wa),
    }
    figures: dict[str, Any] = {}
    for name in args.phases.split(","):
        try:
            figures.update(phases[name.strip()]())
        except Exception as exc:  # one failing phase is a figure too; the others still run
            figures[f"{name}_error"] = f"{type(exc).__name__}: {exc}"
    report(figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

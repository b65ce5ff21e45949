"""Scheduling in time against a running WebUI with the extension: run windows, not-before, unload.

Three phases, each reported as figures (never asserted):

1. **A window ending soon**: the run windows become ``Daily <an hour ago>-<now + --window-min>``
   (the WebUI machine's clock). Two tasks are queued to start ``--lead-s`` seconds before the
   window ends; the first runs past the end (``--long-steps`` steps), the second must wait.
   Figures: how late past its start time the first one started (``not_before_late_s``), how far
   past the window's end it finished (``finished_past_window_end_s``), whether the second was
   still pending ``--hold-check-s`` after that (``second_waited``), and what ``GET /queue`` said
   (``header_text``, ``next_start``). With ``--shot``, a screenshot of the Task Queue tab's
   header at that moment (headless Chromium).
2. **Not before, one minute ahead**: a task with ``not_before`` = now + ``--ahead-s``; how late
   it started (``not_before_late_s_2``).
3. **Give the GPU back**: the windows are cleared and the unload delay set (``--unload-after-s``);
   the resident memory of the WebUI process (``--pid``, /proc) is sampled after a task, once the
   queue reports the model unloaded, and after the same task ran again; the two tasks' images are
   compared pixel by pixel (``same_image``; ``image_distinct_colours`` shows the image is not a
   blank one, which a random-weight model makes for some seeds and sizes).

    python bench/schedule_real.py --webui-url http://127.0.0.1:7860 --pid 12345 --json
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parser, report  # noqa: E402
from _webui import QUEUE, WebUI  # noqa: E402


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def task_body(prompt: str, *, steps: int, size: int, seed: int, not_before: float | None = None) -> dict:
    body = {
        "prompt": prompt,
        "seed": seed,
        "steps": steps,
        "width": size,
        "height": size,
        "sampler_name": "Euler a",
        "cfg_scale": 7,
        "name": prompt,
    }
    if not_before is not None:
        body["not_before"] = not_before
    return body


def iso_to_epoch(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def wait(predicate, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out waiting for {what}")


def screenshot(url: str, path: Path) -> str:
    from playwright.sync_api import sync_playwright

    path.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url, timeout=120_000)
        page.locator(".tab-nav button", has_text="Task Queue").first.click()
        page.wait_for_selector("#task-scheduler-tab[data-ready='1']", state="attached", timeout=60_000)
        page.wait_for_selector(".tsq-schedule", timeout=30_000)
        header = page.locator(".tsq-header-row").first
        header.screenshot(path=str(path))
        page.screenshot(path=str(path.with_name(path.stem + "-tab.png")))
        text = header.inner_text()
        browser.close()
    return text


def phase_window(ui: WebUI, args, figures: dict) -> None:
    now = datetime.now()
    end = (now + timedelta(minutes=args.window_min)).replace(second=0, microsecond=0)
    if (end - now).total_seconds() < args.lead_s + 30:
        end += timedelta(minutes=1)
    start = end - timedelta(hours=1)
    windows = f"Daily {start:%H:%M}-{end:%H:%M}"
    ui.request("PUT", QUEUE + "/schedule", {"windows": windows, "timezone": "", "unload_after_s": None})
    ui.post(QUEUE + "/queue/resume")
    starts_at = end.timestamp() - args.lead_s
    first, second = ui.enqueue(
        [
            task_body("window long", steps=args.long_steps, size=args.size, seed=11, not_before=starts_at),
            task_body("window next", steps=2, size=args.size, seed=12, not_before=starts_at),
        ]
    )
    figures["windows"] = windows
    done = ui.wait_finished([first], timeout=args.window_min * 60 + 900)[0]
    started = iso_to_epoch(done["started_at"])
    finished = iso_to_epoch(done["finished_at"])
    figures["not_before_late_s"] = round(started - starts_at, 3)
    figures["finished_past_window_end_s"] = round(finished - end.timestamp(), 1)
    figures["first_status"] = done["status"]
    time.sleep(args.hold_check_s)
    figures["second_waited"] = ui.task(second)["status"] == "pending"
    state = ui.get(QUEUE + "/queue")["schedule"]
    figures["header_text"] = state["text"]
    figures["next_start"] = state["next_start"]
    if args.shot:
        figures["screenshot_header_text"] = screenshot(ui.url, Path(args.shot))
    figures["second_id"] = second


def phase_not_before(ui: WebUI, args, figures: dict) -> None:
    ui.request("PUT", QUEUE + "/schedule", {"windows": ""})
    held = figures.pop("second_id", None)
    if held is not None:  # the held task runs once the window opens
        ui.wait_finished([held], timeout=600)
    at = time.time() + args.ahead_s
    (task_id,) = ui.enqueue([task_body("not before", steps=2, size=args.size, seed=13, not_before=at)])
    done = ui.wait_finished([task_id], timeout=args.ahead_s + 600)[0]
    figures["not_before_late_s_2"] = round(iso_to_epoch(done["started_at"]) - at, 3)


def phase_unload(ui: WebUI, args, figures: dict) -> None:
    ui.request("PUT", QUEUE + "/schedule", {"windows": "", "unload_after_s": args.unload_after_s})
    body = task_body(args.prompt, steps=args.steps, size=args.size, seed=args.seed)
    (first,) = ui.enqueue([body])
    done = ui.wait_finished([first], timeout=900)[0]
    idle_since = iso_to_epoch(done["finished_at"])
    figures["rss_mb_model_loaded"] = rss_mb(args.pid)
    wait(
        lambda: ui.get(QUEUE + "/queue")["schedule"]["model_unloaded"],
        args.unload_after_s + 120,
        "the unload",
    )
    figures["unloaded_after_idle_s"] = round(time.time() - idle_since, 1)
    samples = []
    for _ in range(max(1, int(args.settle_s / 0.5))):  # memory is returned over a few seconds
        samples.append(rss_mb(args.pid) or 0.0)
        time.sleep(0.5)
    figures["rss_mb_model_unloaded"] = samples[-1]
    figures["rss_mb_model_unloaded_min"] = min(samples)
    figures["header_text_unloaded"] = ui.get(QUEUE + "/queue")["schedule"]["text"]
    (again,) = ui.enqueue([body])
    redone = ui.wait_finished([again], timeout=900)[0]
    figures["rss_mb_after_next_task"] = rss_mb(args.pid)
    figures["second_run_status"] = redone["status"]
    pixels = ui.result_image_rgb(first)
    figures["same_image"] = pixels == ui.result_image_rgb(again)
    figures["image_distinct_colours"] = len({pixels[i : i + 3] for i in range(0, len(pixels), 3)})
    figures["model_unloaded_after_next_task"] = ui.get(QUEUE + "/queue")["schedule"]["model_unloaded"]
    ui.request("PUT", QUEUE + "/schedule", {"unload_after_s": None})


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--webui-url", default=None, help="e.g. http://127.0.0.1:7860")
    p.add_argument("--pid", type=int, default=None, help="the WebUI's process id, for its resident memory")
    p.add_argument(
        "--window-min", type=int, default=2, help="the window ends about this many minutes from now"
    )
    p.add_argument(
        "--lead-s", type=float, default=20.0, help="the tasks start this long before the window ends"
    )
    p.add_argument("--long-steps", type=int, default=40, help="steps of the task that runs past the end")
    p.add_argument("--hold-check-s", type=float, default=10.0)
    p.add_argument("--ahead-s", type=float, default=60.0)
    p.add_argument("--unload-after-s", type=float, default=20.0)
    p.add_argument("--settle-s", type=float, default=10.0, help="RSS sampled this long after the unload")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--seed", type=int, default=5, help="of the unload phase's two tasks")
    p.add_argument("--prompt", default="tiny", help="of the unload phase's tasks")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--shot", default=None, help="PNG path for a screenshot of the tab's header")
    p.add_argument("--phases", default="window,not_before,unload")
    args = p.parse_args()
    if not args.webui_url:
        report({"skipped": True, "reason": "no --webui-url given"}, args.json)
        return
    ui = WebUI(args.webui_url)
    why = ui.reachable()
    if why:
        report({"skipped": True, "reason": why}, args.json)
        return
    figures: dict = {}
    phases = args.phases.split(",")
    if "window" in phases:
        phase_window(ui, args, figures)
    if "not_before" in phases:
        phase_not_before(ui, args, figures)
    if "unload" in phases:
        if args.pid is None:
            figures["unload"] = "skipped: no --pid"
        else:
            phase_unload(ui, args, figures)
    figures.pop("second_id", None)
    report(figures, args.json)


if __name__ == "__main__":
    main()

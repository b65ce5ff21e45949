"""Auto-batching seen from the page of a running WebUI (headless Chromium; it starts no WebUI).

"Queue 4 times with new random seeds" from txt2img's Queue menu → the four tasks run as one WebUI
batch (one ``batch_id``), each with its own image, seed and infotext, the Task Queue tab marks
them "batch of 4", and *Load into txt2img* of the third puts its own seed into txt2img.
Screenshots go to ``--shots``. Prints the figures (JSON last with ``--json``).

    python bench/real_autobatch_tab.py --webui-url http://127.0.0.1:7864 --shots /tmp/shots --json
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parser, report  # noqa: E402
from _webui import QUEUE, WebUI  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def set_field(page, elem_id: str, value) -> None:
    box = page.locator(f"#{elem_id} textarea, #{elem_id} input[type=number]").first
    box.fill(str(value))
    box.press("Tab")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--webui-url", default=None)
    p.add_argument("--shots", default="shots-batch")
    p.add_argument("--timeout", type=float, default=900.0)
    args = p.parse_args()
    if not args.webui_url:
        report({"skipped": True, "reason": "no --webui-url given"}, args.json)
        return
    webui = WebUI(args.webui_url)
    why = webui.reachable()
    if why:
        report({"skipped": True, "reason": why}, args.json)
        return
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    figures: dict = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(args.webui_url, timeout=180_000)
        page.wait_for_selector("#task_scheduler_txt2img_queue .task-scheduler-caret", timeout=180_000)
        page.evaluate(
            "window.__q = []; addEventListener('task-scheduler:queued', (e) => window.__q.push(e.detail))"
        )
        webui.post(QUEUE + "/queue/pause")  # the four are queued in one transaction anyway
        page.locator("#txt2img_prompt textarea").fill("a lighthouse on a cliff, batch check")
        for elem_id, value in (("txt2img_width", 128), ("txt2img_height", 128), ("txt2img_steps", 4)):
            set_field(page, elem_id, value)
        page.locator("#task_scheduler_txt2img_queue .task-scheduler-caret").click()
        menu = page.locator("#task_scheduler_txt2img_menu")
        menu.wait_for()
        menu.locator("input.task-scheduler-repeat").fill("4")
        page.screenshot(path=str(shots / "1-queue-menu-4-times.png"))
        menu.locator(".task-scheduler-repeat-go").click()
        page.wait_for_function("window.__q.length >= 1", timeout=60_000)
        answer = page.evaluate("window.__q[0]")
        ids = answer["task_ids"]
        figures["queued"] = answer["message"]
        page.locator("#tabs > .tab-nav button").filter(has_text="Task Queue").first.click()
        webui.post(QUEUE + "/queue/resume")
        started = time.monotonic()
        page.wait_for_function("document.querySelectorAll('.tsq-current').length >= 4", timeout=120_000)
        deadline = time.monotonic() + 60
        progress: list[str] = []
        while time.monotonic() < deadline:  # every card shows its progress (the first one: the WebUI's)
            progress = [
                page.locator(f".tsq-current[data-id='{task_id}'] .tsq-progress-host").inner_text()
                for task_id in ids
            ]
            if all(re.search(r"([1-9]\d*)%", text) for text in progress):  # under way on every card
                break
            page.wait_for_timeout(500)
        figures["running_cards"] = page.locator(".tsq-current").count()
        figures["running_progress"] = progress
        page.screenshot(path=str(shots / "2-running-batch-progress-on-every-card.png"))
        tasks = webui.wait_finished(ids, args.timeout)
        figures["run_s"] = round(time.monotonic() - started, 1)
        figures["statuses"] = [t["status"] for t in tasks]
        figures["batching"] = [t["batching"] for t in tasks]
        figures["one_batch"] = len({t["batch_id"] for t in tasks}) == 1 and tasks[0]["batch_id"] is not None
        seeds = [t["result"]["seeds"] for t in tasks]
        figures["seeds"] = seeds
        figures["own_seed_each"] = all(s == [t["params"]["seed"]] for s, t in zip(seeds, tasks, strict=True))
        figures["images_each"] = [len(t["result"]["images"]) for t in tasks]
        figures["image_names"] = [t["result"]["images"] for t in tasks]
        figures["infotext_seed_each"] = all(
            f"Seed: {t['params']['seed']}," in t["result"]["infotexts"][0] for t in tasks
        )
        figures["ran_with_third"] = len(webui.task(ids[2]).get("ran_with") or [])

        page.wait_for_selector(f".tsq-history-row[data-id='{ids[0]}']", timeout=60_000)
        page.wait_for_timeout(1500)  # thumbnails
        page.screenshot(path=str(shots / "3-task-queue-history-batch-of-4.png"))
        marks = [
            page.locator(f".tsq-history-row[data-id='{task_id}'] .tsq-batch").inner_text() for task_id in ids
        ]
        figures["tab_marks"] = marks
        page.locator(f".tsq-history-row[data-id='{ids[2]}'] .tsq-open").click()
        page.wait_for_selector(".tsq-details .tsq-infotext", timeout=30_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(shots / "4-details-of-the-third.png"))
        figures["details_infotext_third"] = page.locator(".tsq-details .tsq-infotext").inner_text()
        page.locator(".tsq-details .tsq-load-txt2img").click()
        want = str(tasks[2]["params"]["seed"])
        seed_box = page.locator("#txt2img_seed input[type=number]").first
        deadline = time.monotonic() + 90  # the WebUI's paste runs its own round trip
        while seed_box.input_value() != want and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        figures["txt2img_tab_shown"] = page.locator("#tab_txt2img").is_visible()
        if not figures["txt2img_tab_shown"]:
            page.locator("#tabs > .tab-nav button").filter(has_text="Txt2img").first.click()
            page.wait_for_timeout(500)
        figures["loaded_seed"] = seed_box.input_value()
        figures["third_seed"] = tasks[2]["params"]["seed"]
        figures["load_restores_own_seed"] = figures["loaded_seed"] == want
        figures["loaded_prompt"] = page.locator("#txt2img_prompt textarea").input_value()
        page.screenshot(path=str(shots / "5-loaded-into-txt2img.png"))
        figures["page_errors"] = errors
        browser.close()
    report(figures, args.json)


if __name__ == "__main__":
    main()

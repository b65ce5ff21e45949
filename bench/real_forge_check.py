"""The check in a real WebUI, in headless Chromium: a misspelled LoRA, the strict setting, a sweep.

    python bench/real_forge_check.py --webui-url http://127.0.0.1:7860 --lora detail_tweaker_v2 \
        --shots /tmp/shots --json

Needs a running WebUI (Forge, Neo or A1111, started with ``--api``) with the extension
installed and a LoRA file named ``--lora`` in its LoRA folder (any small safetensors file with
LoRA-shaped keys is listed); it installs nothing. The queue is paused during the run and
restored after; the tasks it queues are deleted again, and the strict setting is put back.

1. The txt2img prompt names the LoRA with one letter wrong; Queue → the toast shows the warning
   and the closest name, and the task is queued with that warning.
2. Setting "strict" on (``/sdapi/v1/options``); Queue → nothing is queued and the toast says why.
3. "Queue as sweep…" over three checkpoint names, one misspelled (and two seeds) → the form
   shows the misspelled one with the tasks it touches before anything is queued, and its Queue
   button is held back.

Screenshots of each step go to ``--shots``. Without ``--webui-url`` it skips itself.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parser, report  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PREFIX = "/task-scheduler/v1"
STRICT = "task_scheduler_check_strict"


def call(base: str, path: str, method: str = "GET", body: object = None) -> object:
    data = json.dumps(body).encode() if body is not None else (b"" if method in ("POST", "DELETE") else None)
    request = urllib.request.Request(base + path, method=method, data=data)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def new_pending(url: str, before: set) -> list:
    return [t for t in call(url, PREFIX + "/queue?limit=1000")["pending"] if t["id"] not in before]


def misspelled(name: str) -> str:
    """The name with one letter changed (a vowel near the middle)."""
    for index in range(len(name) // 2, len(name)):
        if name[index] in "aeiou":
            return name[:index] + ("e" if name[index] != "e" else "a") + name[index + 1 :]
    return name[:-1] + ("x" if name[-1] != "x" else "y")


def run(url: str, lora: str, shots: Path, chromium: str) -> dict:
    from playwright.sync_api import sync_playwright

    shots.mkdir(parents=True, exist_ok=True)
    call(url, "/sdapi/v1/refresh-loras", "POST")
    loras = [item["name"] for item in call(url, "/sdapi/v1/loras")]
    if lora not in loras:
        raise SystemExit(f"the WebUI does not list the LoRA {lora!r} (it lists {loras[:10]})")
    checkpoints = [c["model_name"] for c in call(url, "/sdapi/v1/sd-models")][:2]
    if len(checkpoints) < 2:
        raise SystemExit("the sweep step needs two checkpoints")
    wrong = misspelled(lora)
    was_paused = bool(call(url, PREFIX + "/queue")["paused"])
    call(url, PREFIX + "/queue/pause", "POST")
    before = {t["id"] for t in call(url, PREFIX + "/queue?limit=1000")["pending"]}
    strict_was = bool(call(url, "/sdapi/v1/options").get(STRICT, False))
    figures: dict = {"lora": lora, "typed": wrong}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, timeout=180_000)
            page.wait_for_function("window.taskSchedulerQueue !== undefined", timeout=180_000)
            button = page.locator("#task_scheduler_txt2img_queue")
            button.wait_for(state="visible", timeout=60_000)
            page.locator("#txt2img_prompt textarea").fill(f"a cat, <lora:{wrong}:0.8>")

            # 1. the warning and the suggestion
            button.click()
            toast = page.locator(".task-scheduler-toast-warning").last
            toast.wait_for(timeout=60_000)
            figures["warning_toast"] = toast.inner_text()
            page.screenshot(path=str(shots / "1-queue-toast-warning.png"))
            queued = new_pending(url, before)
            figures["queued_warnings"] = [t["warnings"] for t in queued]
            page.locator(".task-scheduler-toast").evaluate_all("(items) => items.forEach((i) => i.remove())")
            # the Task Queue tab marks the task; its details list the warning
            page.locator("#tabs > .tab-nav button").filter(has_text="Task Queue").first.click()
            row = page.locator(f".tsq-pending-row[data-id='{queued[0]['id']}']")
            row.locator(".tsq-warned").wait_for(timeout=60_000)
            row.get_by_role("button", name="Details").click()
            page.locator(".tsq-warnings li").first.wait_for(timeout=60_000)
            figures["details_warnings"] = page.locator(".tsq-warnings li").all_inner_texts()
            page.screenshot(path=str(shots / "1b-tab-marked-details.png"), full_page=True)
            page.locator("#tabs > .tab-nav button").filter(has_text="Txt2img").first.click()

            # 2. strict: nothing queued, the toast says why
            call(url, "/sdapi/v1/options", "POST", {STRICT: True})
            button.click()
            refused = page.locator(".task-scheduler-toast-error").last
            refused.wait_for(timeout=60_000)
            figures["strict_toast"] = refused.inner_text()
            page.screenshot(path=str(shots / "2-strict-nothing-queued.png"))
            after = new_pending(url, before)
            figures["strict_queued_nothing"] = len(after) == len(queued)
            call(url, "/sdapi/v1/options", "POST", {STRICT: strict_was})
            page.locator(".task-scheduler-toast").evaluate_all("(items) => items.forEach((i) => i.remove())")

            # 3. the sweep form shows the misspelled checkpoint before queueing
            page.locator("#txt2img_prompt textarea").fill("a castle at night")
            page.locator("#task_scheduler_txt2img_queue .task-scheduler-caret").click()
            page.locator(".task-scheduler-menu .task-scheduler-sweep").click()
            dialog = page.locator(".tsj-dialog")
            names = [checkpoints[0], misspelled(checkpoints[1]), checkpoints[1]]
            dialog.locator(".tsj-axis-type").first.select_option("checkpoint")
            dialog.locator(".tsj-axis-values").first.fill(", ".join(names))
            dialog.locator(".tsj-add-axis").click()
            dialog.locator(".tsj-axis-type").nth(1).select_option("seed")
            dialog.locator(".tsj-axis-values").nth(1).fill("1-2")
            problem = dialog.locator(".tsj-problem-error").first
            problem.wait_for(timeout=60_000)
            figures["sweep_checkpoints"] = names
            figures["sweep_problem"] = problem.inner_text()
            figures["sweep_queue_disabled"] = dialog.locator(".tsj-queue-sweep").is_disabled()
            dialog.screenshot(path=str(shots / "3-sweep-form-problem.png"))
            page.screenshot(path=str(shots / "3-sweep-page.png"))
            after_sweep = new_pending(url, before)
            figures["sweep_queued_nothing"] = len(after_sweep) == len(queued)
            browser.close()
    finally:
        call(url, "/sdapi/v1/options", "POST", {STRICT: strict_was})
        for task in call(url, PREFIX + "/queue?limit=1000")["pending"]:
            if task["id"] not in before:
                call(url, PREFIX + f"/tasks/{task['id']}", "DELETE")
        if not was_paused:
            call(url, PREFIX + "/queue/resume", "POST")
    return figures


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--webui-url", default=None)
    p.add_argument("--lora", default="detail_tweaker_v2", help="a LoRA the WebUI lists")
    p.add_argument("--shots", default="shots-check", help="folder for the screenshots")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    if not args.webui_url:
        print("skipped: no --webui-url given")
        if args.json:
            print(json.dumps({"skipped": "no --webui-url"}))
        return
    report(run(args.webui_url.rstrip("/"), args.lora, Path(args.shots), args.chromium), args.json)


if __name__ == "__main__":
    main()

"""Click the Queue button 10 times in headless Chromium and time click -> task stored.

    python bench/queue_click.py --webui-url http://127.0.0.1:7860 --json

Needs a running WebUI with the extension installed, Python ``playwright`` and a Chromium
(``--chromium``, default /usr/bin/chromium; ``playwright install`` is never run). Without
``--webui-url`` it skips itself. The queue is paused during the run (so no generation competes
for the machine) and restored afterwards; the bench's tasks are deleted again.

Figures: ``click_to_stored_ms_*`` from the click (browser clock) to the commit of the task
(``stored_at`` in the click's answer, server clock: browser and WebUI must share one clock);
``click_to_toast_ms_*`` from the click to the confirmation toast; ``server_ms_*`` the handler's
own time. Target: median click -> stored <= 150 ms.
"""

from __future__ import annotations

import json
import statistics
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parser, report  # noqa: E402

TARGET_MS = 150
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PREFIX = "/task-scheduler/v1"


def api(base: str, path: str, method: str = "GET") -> object:
    data = b"" if method in ("POST", "DELETE") else None
    request = urllib.request.Request(base + PREFIX + path, method=method, data=data)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def run(url: str, clicks: int, tab: str, chromium: str) -> dict:
    from playwright.sync_api import sync_playwright

    was_paused = bool(api(url, "/queue")["paused"])
    api(url, "/queue/pause", "POST")
    results: list[dict] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, timeout=180_000)
            button = page.locator(f"#task_scheduler_{tab}_queue")
            button.wait_for(state="attached", timeout=180_000)
            page.wait_for_function("window.taskSchedulerQueue !== undefined", timeout=60_000)
            if tab == "img2img":
                page.locator("#tabs > .tab-nav button").filter(has_text="img2img").first.click()
            button.wait_for(state="visible", timeout=30_000)
            page.locator(f"#{tab}_prompt textarea").fill("bench: queue click")
            page.evaluate(
                """() => { window.__bench = [];
                window.addEventListener('task-scheduler:queued', (e) => window.__bench.push(
                    {...e.detail, shown_at: performance.timeOrigin + performance.now()})); }"""
            )
            button.click()  # warm-up: first click pays for lazy imports and connections
            page.wait_for_function("window.__bench.length === 1", timeout=30_000)
            warm = page.evaluate("window.__bench[0]")
            for i in range(clicks):
                clicked_at = page.evaluate(
                    f"""() => {{ const at = performance.timeOrigin + performance.now();
                    document.querySelector('#task_scheduler_{tab}_queue').click(); return at; }}"""
                )
                page.wait_for_function(f"window.__bench.length === {i + 2}", timeout=30_000)
                detail = page.evaluate(f"window.__bench[{i + 1}]")
                detail["clicked_at"] = clicked_at
                results.append(detail)
                page.wait_for_timeout(100)
            browser.close()
    finally:
        for detail in [*results, warm if "warm" in locals() else None]:
            for task_id in (detail or {}).get("task_ids", []):
                try:
                    api(url, f"/tasks/{task_id}", "DELETE")
                except Exception:
                    pass
        if not was_paused:
            api(url, "/queue/resume", "POST")

    failed = [r["message"] for r in results if not r.get("ok")]
    if failed:
        raise SystemExit(f"Queue clicks failed: {failed[:3]}")
    stored, toast, server = [], [], []
    for detail in results:
        stored.append(detail["stored_at"] * 1000 - detail["clicked_at"])
        toast.append(detail["shown_at"] - detail["clicked_at"])
        server.append(detail.get("server_ms") or 0.0)
    return {
        "clicks": len(results),
        "click_to_stored_ms_median": round(statistics.median(stored), 1),
        "click_to_stored_ms_max": round(max(stored), 1),
        "click_to_toast_ms_median": round(statistics.median(toast), 1),
        "server_ms_median": round(statistics.median(server), 1),
        "target_ms": TARGET_MS,
        "within_target": statistics.median(stored) <= TARGET_MS,
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--webui-url", default=None, help="a running WebUI with the extension installed")
    p.add_argument("--clicks", type=int, default=10)
    p.add_argument("--tab", choices=("txt2img", "img2img"), default="txt2img")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    if not args.webui_url:
        print("skipped: no --webui-url given")
        if args.json:
            print(json.dumps({"skipped": "no --webui-url"}))
        return
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("skipped: Python playwright is not installed")
        if args.json:
            print(json.dumps({"skipped": "playwright not installed"}))
        return
    report(run(args.webui_url.rstrip("/"), args.clicks, args.tab, args.chromium), args.json)


if __name__ == "__main__":
    main()

"""The Task Queue tab with 10 000 tasks in history, in headless Chromium (the demo app).

* ``first_paint_ms``: from the tab's module starting (its container appears) to the frame after
  the one that shows the header, the waiting list and the first history page, filled. Median of
  ``--loads`` fresh page loads with the tab shown first.
* ``page_switch_ms``: from a click on "Older »" to the frame after the next history page is on
  screen. Median of ``--switches`` clicks through the pages.

Both need to stay under 300 ms: the tab never loads more than one page of history (50 rows).

    python bench/ui_history.py [--tasks 10000] [--pending 20] [--json]

Needs /usr/bin/chromium and the playwright package (tests/requirements-*.txt).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import parser, report

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser.conftest import CHROMIUM, CHROMIUM_ARGS, DemoServer, flavour  # noqa: E402

SWITCH_JS = """
async () => {
    const first = () => document.querySelector('.tsq-history-row');
    const before = first() && first().dataset.id;
    const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
    const started = performance.now();
    document.querySelector('.tsq-next').click();
    while (!first() || first().dataset.id === before) await new Promise((r) => setTimeout(r, 1));
    await frame();
    await frame();
    return performance.now() - started;
}
"""


def main() -> None:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=10_000, help="finished tasks in the history")
    p.add_argument("--pending", type=int, default=20, help="tasks waiting in a paused queue")
    p.add_argument("--loads", type=int, default=7)
    p.add_argument("--switches", type=int, default=10)
    args = p.parse_args()

    import httpx
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        server = DemoServer(Path(tmp), "--paused", "--history", str(args.tasks), "--tab", "task_queue")
        try:
            with httpx.Client(base_url=server.url + "/task-scheduler/v1", timeout=60) as api:
                news = [{"prompt": f"waiting cat {i}", "steps": 20} for i in range(args.pending)]
                if news:
                    api.post("/queue/txt2img/batch", json=news).raise_for_status()
                total = api.get("/history", params={"limit": 1}).json()["total"]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                firsts, since_navigation = [], []
                for _ in range(args.loads):
                    page.goto(server.url)
                    page.wait_for_function(
                        "() => { const a = window.taskQueue && [...window.taskQueue.apps.values()][0];"
                        " return a && a.timings.firstFrame; }",
                        timeout=60000,
                    )
                    timings = page.evaluate(
                        "() => { const a = [...window.taskQueue.apps.values()][0];"
                        " return [a.timings.firstFrame, a.timings.mountedAt]; }"
                    )
                    firsts.append(timings[0])
                    since_navigation.append(timings[0] + timings[1])
                rows = page.locator(".tsq-history-row").count()
                switches = []
                for _ in range(args.switches):
                    switches.append(page.evaluate(SWITCH_JS))
                    time.sleep(0.05)
                browser.close()
        finally:
            server.stop()

    report(
        {
            "stack": flavour(),
            "history_tasks": total,
            "pending_tasks": args.pending,
            "history_rows_drawn": rows,
            "first_paint_ms": round(statistics.median(firsts), 1),
            "first_paint_max_ms": round(max(firsts), 1),
            "since_navigation_ms": round(statistics.median(since_navigation), 1),
            "page_switch_ms": round(statistics.median(switches), 1),
            "page_switch_max_ms": round(max(switches), 1),
        },
        args.json,
    )


if __name__ == "__main__":
    main()

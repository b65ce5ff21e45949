"""Two WebUIs, one queue: the workers check against two real, running WebUIs (opt-in, slow).

Start the two WebUIs yourself (this script installs and starts nothing), either

* both with the same ``--task-scheduler-db FILE`` (two workers of one queue; queue and steer
  through ``--a``), or
* each with its own database, behind ``python -m task_scheduler serve --webui A --webui B``
  (``--via`` the server's URL; queue and steer through the server, whose workers are the two
  WebUIs as remote workers).

Phases (``--phases``, default all):

``workers``  both WebUIs are listed as live workers by ``GET /task-scheduler/v1/workers``.
``spread``   ``--tasks`` tiny tasks (64x64, 2 steps) queued through ``--a``'s API, or its Queue
             button with ``--button`` (headless Chromium + playwright), run on both workers, none
             twice: per-worker counts, every task's ``attempts``.
``stop``     two longer tasks; the one that runs on B is seen running there through the
             steering API (A or the server), deleted there, and must end ``cancelled`` on B.
``tab``      A paused as a worker, one longer task runs on B: A's Task Queue tab (headless
             Chromium) is read and photographed at 5 s and once B reported progress, then its
             Interrupt button is pressed; the task must end ``interrupted`` on B.
``kill``     two longer tasks; while one runs on B, ``kill -9 --b-pid``; A must finish it. The
             seconds from the kill until it runs on A, and until it is done; ``attempts``, and
             ``crashes`` when ``--db`` names the shared database (read-only).

Figures are printed, never asserted; ``--json`` prints them as one JSON object. Timings on a
loaded, CPU-only machine say little about speed; the counts and statuses are the check.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parser, report  # noqa: E402
from _webui import QUEUE, WebUI  # noqa: E402

FINISHED = ("done", "failed", "interrupted", "cancelled")
CHROMIUM = "/usr/bin/chromium"


def port_of(url: str) -> int:
    return urllib.parse.urlsplit(url).port or 80


def worker_id_for(steer: WebUI, url: str) -> str | None:
    """The worker row that is the WebUI at ``url``: a remote worker named by its URL, or an
    in-process one whose ``info.port`` is the URL's port."""
    for worker in steer.get(QUEUE + "/workers")["workers"]:
        info = worker.get("info") or {}
        if worker["kind"] == "remote" and info.get("url", worker["id"]).rstrip("/") == url.rstrip("/"):
            return worker["id"]
        if worker["kind"] == "webui" and info.get("port") == port_of(url):
            return worker["id"]
    return None


def tiny(prompt: str, seed: int, steps: int = 2, size: int = 64) -> dict[str, Any]:
    return {"prompt": prompt, "seed": seed, "width": size, "height": size, "steps": steps}


def wait_until(what: str, check: Any, timeout: float, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def finished(steer: WebUI, ids: list[str], timeout: float) -> list[dict[str, Any]]:
    return steer.wait_finished(ids, timeout)


def crashes_of(db: str | None, task_id: str) -> int | None:
    if not db:
        return None
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        row = conn.execute("SELECT crashes FROM task WHERE id = ?", (task_id,)).fetchone()
    return None if row is None else int(row[0] or 0)


# -- phases -------------------------------------------------------------------------------------


def phase_workers(steer: WebUI, a: str, b: str, others: list[WebUI]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for label, api in [("steer", steer), *[(f"via_{port_of(o.url)}", o) for o in others]]:
        workers = api.get(QUEUE + "/workers")["workers"]
        figures[f"workers_seen_{label}"] = {
            w["id"]: {"state": w["state"], "checkpoint": w["checkpoint"], "kind": w["kind"]} for w in workers
        }
    figures["worker_a"] = worker_id_for(steer, a)
    figures["worker_b"] = worker_id_for(steer, b)
    return figures


def queue_with_button(url: str, count: int, prefix: str) -> list[str]:
    """Press A's Queue button ``count`` times (a distinct prompt each), as a user would."""
    from playwright.sync_api import sync_playwright

    ids: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url, timeout=300_000)
        page.wait_for_selector("#task_scheduler_txt2img_queue .task-scheduler-caret", timeout=300_000)
        page.evaluate(
            "window.__q = []; addEventListener('task-scheduler:queued', (e) => window.__q.push(e.detail))"
        )
        for elem_id, value in (("width", 64), ("height", 64), ("steps", 2), ("seed", 1000)):
            box = page.locator(f"#txt2img_{elem_id} input[type=number]").first
            box.fill(str(value))
            box.press("Tab")
        for index in range(count):
            prompt = page.locator("#txt2img_prompt textarea").first
            prompt.fill(f"{prefix} {index}")
            prompt.press("Tab")
            page.locator("#task_scheduler_txt2img_queue").click()
            page.wait_for_function(f"window.__q.length > {index}", timeout=120_000)
            answer = page.evaluate(f"window.__q[{index}]")
            if not answer.get("ok"):
                raise RuntimeError(f"Queue button: {answer.get('message')}")
            ids.extend(answer.get("task_ids") or [])
        Path(__file__).resolve().parent.joinpath("results").mkdir(exist_ok=True)
        page.screenshot(path=str(Path(__file__).resolve().parent / "results" / "real-two-workers-queued.png"))
        browser.close()
    return ids


def phase_spread(steer: WebUI, args: Any, wa: str, wb: str) -> dict[str, Any]:
    started = time.monotonic()
    prefix = f"two workers {int(time.time())}"
    if args.button:
        ids = queue_with_button(args.a, args.tasks, prefix)
    else:
        ids = steer.enqueue([tiny(f"{prefix} {i}", 1000 + i) for i in range(args.tasks)])
    tasks = finished(steer, ids, args.timeout)
    by_worker: dict[str, int] = {}
    for task in tasks:
        by_worker[task["worker"]] = by_worker.get(task["worker"], 0) + 1
    return {
        "spread_queued_with": "queue button" if args.button else "api",
        "spread_tasks": len(ids),
        "spread_statuses": sorted({t["status"] for t in tasks}),
        "spread_by_worker": by_worker,
        "spread_on_both": by_worker.get(wa, 0) > 0 and by_worker.get(wb, 0) > 0,
        "spread_attempts": sorted(t["attempts"] for t in tasks),
        "spread_ran_twice": sum(1 for t in tasks if t["attempts"] != 1),
        "spread_crashes": sum(crashes_of(args.db, t["id"]) or 0 for t in tasks) if args.db else None,
        "spread_wall_s": round(time.monotonic() - started, 1),
    }


def running_on(steer: WebUI, worker: str, ids: list[str]) -> dict[str, Any] | None:
    for task in steer.get(QUEUE + "/queue")["running"]:
        if task["id"] in ids and task["worker"] == worker:
            return task
    return None


def phase_stop(steer: WebUI, args: Any, wa: str, wb: str) -> dict[str, Any]:
    ids = steer.enqueue([tiny(f"stop across workers {i}", 2000 + i, steps=args.long_steps) for i in range(2)])
    seen = wait_until("a task running on B", lambda: running_on(steer, wb, ids), args.timeout)
    # let it report progress first: the stop must reach a generation in progress, not a claim
    with_progress = None
    try:
        with_progress = wait_until(
            "progress of B's task",
            lambda: (t := steer.task(seen["id"]))["progress"] and t,
            args.timeout / 2,
        )
    except TimeoutError:
        pass
    asked = time.monotonic()
    answer = steer.request("DELETE", f"{QUEUE}/tasks/{seen['id']}")
    end = wait_until(
        "the stopped task's end",
        lambda: (t := steer.task(seen["id"]))["status"] in FINISHED and t,
        args.timeout,
    )
    stopped_s = round(time.monotonic() - asked, 1)
    others = finished(steer, [i for i in ids if i != seen["id"]], args.timeout)
    return {
        "stop_seen_running_on": seen["worker"],
        "stop_progress_seen": (with_progress or {}).get("progress"),
        "stop_delete_answer": answer.get("status") if isinstance(answer, dict) else answer,
        "stop_final_status": end["status"],
        "stop_final_worker": end["worker"],
        "stop_seconds_to_end": stopped_s,
        "stop_other_task": [(t["worker"], t["status"]) for t in others],
    }


def phase_kill(steer: WebUI, args: Any, wa: str, wb: str) -> dict[str, Any]:
    if not args.b_pid:
        return {"kill": "skipped: no --b-pid"}
    ids = steer.enqueue([tiny(f"kill a worker {i}", 3000 + i, steps=args.long_steps) for i in range(2)])
    seen = wait_until("a task running on B", lambda: running_on(steer, wb, ids), args.timeout)
    try:
        wait_until("progress of B's task", lambda: steer.task(seen["id"])["progress"], args.timeout / 2)
    except TimeoutError:
        pass
    os.kill(args.b_pid, signal.SIGKILL)
    killed = time.monotonic()
    state: dict[str, Any] = {}

    def moved() -> bool:
        task = steer.task(seen["id"])
        if "requeued_s" not in state and task["status"] == "pending":
            state["requeued_s"] = round(time.monotonic() - killed, 1)
        if task["status"] == "running" and task["worker"] == wa:
            state["running_on_a_s"] = round(time.monotonic() - killed, 1)
            return True
        return task["status"] in FINISHED

    wait_until("B's task taken over", moved, args.lease_timeout)
    end = finished(steer, [seen["id"]], args.timeout)[0]
    done_s = round(time.monotonic() - killed, 1)
    workers = {w["id"]: w["state"] for w in steer.get(QUEUE + "/workers")["workers"]}
    return {
        "kill_task_status": end["status"],
        "kill_task_worker": end["worker"],
        "kill_task_attempts": end["attempts"],
        "kill_task_crashes": crashes_of(args.db, seen["id"]),
        "kill_requeued_s": state.get("requeued_s"),
        "kill_to_running_on_a_s": state.get("running_on_a_s"),
        "kill_to_done_s": done_s,
        "kill_other_task": [
            (t["worker"], t["status"], t["attempts"])
            for t in finished(steer, ids, args.timeout)
            if t["id"] != seen["id"]
        ],
        "kill_workers_after": workers,
    }


def phase_tab(steer: WebUI, args: Any, wa: str, wb: str) -> dict[str, Any]:
    """A's Task Queue tab while B runs a task (A paused as a worker so that only B runs): what
    the tab shows of it, then its Interrupt button."""
    from playwright.sync_api import sync_playwright

    shots = Path(__file__).resolve().parent / "results"
    shots.mkdir(exist_ok=True)
    steer.post(f"{QUEUE}/workers/{wa}/pause")
    figures: dict[str, Any] = {}
    try:
        ids = steer.enqueue([tiny("seen from the other tab", 4000, steps=args.long_steps)])
        wait_until("the task running on B", lambda: running_on(steer, wb, ids), args.timeout)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(args.a, timeout=300_000)
            page.wait_for_selector("#task_scheduler_txt2img_queue", timeout=300_000)
            page.locator("#tabs > .tab-nav button").filter(has_text="Task Queue").first.click()
            page.wait_for_selector(".tsq-current .tsq-interrupt", timeout=60_000)
            read = (
                "() => { const c = document.querySelector('.tsq-current');"
                " const p = c.querySelector('.tsq-progress');"
                " return {title: (c.querySelector('.tsq-title') || {}).textContent,"
                " text: c.innerText, progress_hidden: p ? p.hidden : null,"
                " progress_text: (c.querySelector('.tsq-progress-text') || {}).textContent}; }"
            )
            page.wait_for_timeout(5_000)
            figures["tab_after_5s"] = page.evaluate(read)
            page.screenshot(path=str(shots / "real-two-workers-tab-5s.png"), full_page=True)
            # then once B has reported progress into the database (the tab polls it from there)
            wait_until("progress of B's task", lambda: steer.task(ids[0])["progress"], args.timeout)
            page.wait_for_timeout(2_000)
            figures["tab_with_progress"] = page.evaluate(read)
            figures["tab_with_progress"]["api_progress"] = steer.task(ids[0])["progress"]
            page.screenshot(path=str(shots / "real-two-workers-tab-progress.png"), full_page=True)
            asked = time.monotonic()
            page.locator(".tsq-current .tsq-interrupt").click()
            end = wait_until(
                "the interrupted task's end",
                lambda: (t := steer.task(ids[0]))["status"] in FINISHED and t,
                args.timeout,
            )
            figures.update(
                tab_interrupt_status=end["status"],
                tab_interrupt_worker=end["worker"],
                tab_interrupt_seconds=round(time.monotonic() - asked, 1),
            )
            browser.close()
    finally:
        steer.post(f"{QUEUE}/workers/{wa}/resume")
    return figures


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--a", default="http://127.0.0.1:7860", help="WebUI A (queue button, steering API)")
    p.add_argument("--b", default="http://127.0.0.1:7862", help="WebUI B (its task is stopped, B is killed)")
    p.add_argument("--via", default=None, help="the standalone server in front of A and B (steer through it)")
    p.add_argument("--b-pid", type=int, default=None, help="pid of B's WebUI process, for the kill phase")
    p.add_argument("--db", default=None, help="the shared database, read-only, for each task's crash count")
    p.add_argument("--tasks", type=int, default=10)
    p.add_argument("--long-steps", type=int, default=12, help="steps of the stop and kill phases' tasks")
    p.add_argument("--button", action="store_true", help="queue the spread with A's Queue button")
    p.add_argument("--phases", default="workers,spread,stop,tab,kill")
    p.add_argument("--timeout", type=float, default=1800.0)
    p.add_argument(
        "--lease-timeout", type=float, default=600.0, help="longest wait for the takeover after a kill"
    )
    args = p.parse_args()
    steer = WebUI(args.via or args.a)
    for api in (steer, WebUI(args.a), WebUI(args.b)):
        problem = api.reachable()
        if problem:
            print(problem, file=sys.stderr)
            return 2
    phases = args.phases.split(",")
    figures: dict[str, Any] = {"mode": "standalone server" if args.via else "one database file"}
    figures.update(phase_workers(steer, args.a, args.b, [] if args.via else [WebUI(args.b)]))
    wa, wb = figures["worker_a"], figures["worker_b"]
    if not wa or not wb:
        print(f"A or B is not a worker of this queue: {figures}", file=sys.stderr)
        report(figures, args.json)
        return 1
    for name, phase in (
        ("spread", phase_spread),
        ("stop", phase_stop),
        ("tab", phase_tab),
        ("kill", phase_kill),
    ):
        if name == "tab" and args.via and name in phases:
            figures["tab"] = "skipped: A's tab shows A's own queue, not the server's"
        elif name in phases:
            try:
                figures.update(phase(steer, args, wa, wb))
            except Exception as exc:  # a phase that fails is reported; the next one still runs
                figures[f"{name}_error"] = f"{type(exc).__name__}: {exc}"
    report(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Queue button's page side in headless Chromium, over a gradio demo of the WebUI double.

Runs on both stacks (gradio 4.40 and 3.41) when Python ``playwright`` and /usr/bin/chromium are
present (``playwright install`` is never run), otherwise skips. The demo is the one of
``test_capture_gradio``; the WebUI would load ``javascript/task_scheduler.js`` and ``style.css``
itself, here the test adds them to the page.
"""

from __future__ import annotations

import socket
import threading
import types
from pathlib import Path

import pytest

pytest.importorskip("playwright")
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():  # pragma: no cover
    pytest.skip("no /usr/bin/chromium", allow_module_level=True)

import webui_double  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from test_capture_gradio import build_demo, fresh_capture  # noqa: E402, F401

from task_scheduler.saved_tasks import SavedTasks  # noqa: E402
from task_scheduler.webui import capture  # noqa: E402

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# What the WebUI's script.js provides and the Queue button's script uses when present.
WEBUI_SHIMS = """
window.gradioApp = () => {
    const app = document.querySelector('gradio-app');
    return app ? (app.shadowRoot || app) : document;
};
window.get_uiCurrentTabContent = () => ({id: 'tab_txt2img'});
"""
RECORD_ANSWERS = (
    "window.__q = []; addEventListener('task-scheduler:queued', (e) => window.__q.push(e.detail))"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_on_demo(env, queue, files, steps) -> None:
    """Serve the demo, open it in Chromium with the page script and style, and run ``steps(page)``.

    The browser lives in a thread of its own: playwright's sync API refuses to start in a thread
    where another session (e.g. a session-scoped browser fixture of other tests) is running.
    """
    demo, _ = build_demo(env, unit_handlers=False)
    capture.bind(demo, types.SimpleNamespace(queue=queue, files=files))
    port = free_port()
    demo.queue()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    failure: list[BaseException] = []

    def drive() -> None:
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                page = browser.new_page(viewport={"width": 1300, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.add_init_script(WEBUI_SHIMS)
                page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
                page.wait_for_selector("#task_scheduler_txt2img_queue", timeout=60_000)
                page.add_script_tag(path=str(ROOT / "javascript" / "task_scheduler.js"))
                page.add_style_tag(path=str(ROOT / "style.css"))
                page.wait_for_selector("#task_scheduler_txt2img_queue .task-scheduler-caret", timeout=10_000)
                page.evaluate(RECORD_ANSWERS)
                steps(page)
                assert errors == []
                browser.close()
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    try:
        thread = threading.Thread(target=drive, name="capture-browser")
        thread.start()
        thread.join(timeout=300)
        assert not thread.is_alive(), "the browser steps did not finish"
        if failure:
            raise failure[0]
    finally:
        demo.close()


def answers(page, count: int) -> list[dict]:
    page.wait_for_function(f"window.__q.length >= {count}", timeout=20_000)
    return page.evaluate("window.__q")


def test_queue_button_menu_shortcut_and_toast(webui, queue, files):
    def steps(page):
        prompt = page.locator("#txt2img_prompt textarea")
        prompt.fill("<img src=x onerror=alert(1)> a cat")

        page.locator("#task_scheduler_txt2img_queue").click()
        first = answers(page, 1)[0]
        assert first["ok"], first
        toast = page.locator(".task-scheduler-toast").last
        assert toast.text_content() == "Queued '<img src=x onerror=alert(1)> a cat' — 1st in line"
        assert page.locator("#task-scheduler-toasts img").count() == 0  # text, never markup
        assert queue.pending()[0].prompt == "<img src=x onerror=alert(1)> a cat"
        assert page.locator(".progressDiv, .generating").count() == 0

        # the caret's menu: N times with new random seeds
        page.locator("#task_scheduler_txt2img_queue .task-scheduler-caret").click()
        menu = page.locator("#task_scheduler_txt2img_menu")
        menu.wait_for()
        menu.locator("input.task-scheduler-repeat").fill("3")
        menu.locator(".task-scheduler-repeat-go").click()
        second = answers(page, 2)[1]
        assert second["ok"] and len(second["task_ids"]) == 3, second
        seeds = [queue.get(i).params["seed"] for i in second["task_ids"]]
        assert len(set(seeds)) == 3 and -1 not in seeds
        assert page.locator("#task_scheduler_txt2img_menu").count() == 0  # closed after choosing

        # right-click: queue at the top
        prompt.fill("urgent")
        page.locator("#task_scheduler_txt2img_queue").click(button="right")
        page.locator(".task-scheduler-menu-item", has_text="Queue at the top").click()
        assert answers(page, 3)[2]["message"] == "Queued 'urgent' — 1st in line"
        assert queue.pending()[0].prompt == "urgent"

        # the keyboard shortcut (default Ctrl+E) queues the current tab
        prompt.fill("from the keyboard")
        prompt.press("Control+e")
        assert answers(page, 4)[3]["message"] == "Queued 'from the keyboard' — 6th in line"

        # all checkpoints, from the menu
        page.locator("#task_scheduler_txt2img_queue").click(button="right")
        page.locator(".task-scheduler-menu-item", has_text="all checkpoints").click()
        fifth = answers(page, 5)[4]
        assert sorted(queue.get(i).checkpoint for i in fifth["task_ids"]) == [
            "random-sd15-a.safetensors",
            "random-sd15-b.safetensors",
        ]

        # save as…: a name is needed (the menu stays open without one), then nothing is queued
        pending_before = len(queue.pending())
        prompt.fill("keep me")
        page.locator("#task_scheduler_txt2img_queue").click(button="right")
        menu = page.locator("#task_scheduler_txt2img_menu")
        menu.locator(".task-scheduler-save-go").click()
        assert menu.is_visible()
        menu.locator("input.task-scheduler-save-name").fill("kept for later")
        menu.locator("input.task-scheduler-save-name").press("Enter")
        assert answers(page, 6)[5]["message"] == "Saved 'kept for later'"
        assert page.locator(".task-scheduler-toast").last.text_content() == "Saved 'kept for later'"
        [saved], _total = SavedTasks(queue).list()
        assert saved.name == "kept for later" and saved.params["prompt"] == "keep me"
        assert len(queue.pending()) == pending_before

    run_on_demo(webui, queue, files, steps)


def test_a_refused_click_shows_an_error_toast(webui, queue, files):
    from webui_double.extensions import OpaqueStateScript

    webui.add_script(OpaqueStateScript)

    def steps(page):
        page.locator("#task_scheduler_img2img_queue").click()
        answer = answers(page, 1)[0]
        assert not answer["ok"] and "Opaque State" in answer["message"]
        toast = page.locator(".task-scheduler-toast-error")
        toast.wait_for()
        assert "script 'Opaque State'" in toast.text_content()
        assert queue.pending() == []

    run_on_demo(webui, queue, files, steps)


def test_the_folder_submenu_queues_that_folders_checkpoints(tmp_path, queue, files):
    names = ("top.safetensors", "sdxl/x1.safetensors", "sdxl/x2.safetensors", "sd15/y.safetensors")
    flavour = webui_double.stack_flavour()

    def steps(page):
        page.locator("#task_scheduler_txt2img_queue").click(button="right")
        folders = page.locator(".task-scheduler-folder")
        assert folders.all_text_contents() == ["sd15", "sdxl"]
        folders.filter(has_text="sdxl").click()
        answer = answers(page, 1)[0]
        assert answer["ok"], answer
        assert [queue.get(i).checkpoint for i in answer["task_ids"]] == [
            "sdxl/x1.safetensors",
            "sdxl/x2.safetensors",
        ]

    with webui_double.installed(flavour, tmp_path / "webui", checkpoints=names) as env:
        run_on_demo(env, queue, files, steps)

"""The Task Queue tab in headless Chromium, against the demo app on this stack's gradio.

Tasks are queued with the real Queue button (the extension's capture code bound to the demo's
Generate inputs) and run by a real executor through the WebUI double.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from .conftest import flavour

pytestmark = pytest.mark.browser

MARKUP = "<img src=x onerror=\"window.__xss = 1; alert('xss')\">"


# -- helpers ------------------------------------------------------------------------------------


def open_tab(page: Any, label: str) -> None:
    page.locator(".tab-nav button", has_text=re.compile(r"^\s*" + re.escape(label) + r"\s*$")).first.click()


def queue_with_button(page: Any, prompt: str) -> None:
    open_tab(page, "txt2img")
    page.fill("#txt2img_prompt textarea", prompt)
    before = page.locator(".task-scheduler-toast").count()
    page.locator("#task_scheduler_txt2img_queue").first.click()
    page.wait_for_function(
        "n => document.querySelectorAll('.task-scheduler-toast').length > n", arg=before, timeout=15000
    )
    toast = page.locator(".task-scheduler-toast").last.inner_text()
    assert toast.startswith("Queued"), toast


def open_queue(page: Any) -> None:
    open_tab(page, "Task Queue")
    page.wait_for_selector("#task-scheduler-tab[data-ready='1']", state="attached", timeout=15000)


def pending_prompts(page: Any) -> list[str]:
    return page.locator(".tsq-pending-row .tsq-prompt").all_inner_texts()


def wait_for(predicate: Any, timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def history(api: Any, **params: Any) -> list[dict]:
    return api.get("/history", params={"limit": 100, **params}).json()["tasks"]


def wait_done(api: Any, count: int, timeout: float = 30.0) -> list[dict]:
    return wait_for(
        lambda: (lambda tasks: tasks if len(tasks) >= count else None)(history(api)),
        timeout,
        f"{count} finished tasks",
    )


def row(page: Any, prompt: str, kind: str = "pending") -> Any:
    return page.locator(f".tsq-{kind}-row", has=page.locator(".tsq-prompt", has_text=prompt)).first


def queue_three(page: Any) -> list[str]:
    prompts = ["first cat", "second cat", "third cat"]
    for prompt in prompts:
        queue_with_button(page, prompt)
    open_queue(page)
    page.wait_for_function("() => document.querySelectorAll('.tsq-pending-row').length === 3", timeout=15000)
    return prompts


# -- the flows ----------------------------------------------------------------------------------


def test_queue_three_tasks_with_the_queue_button_and_see_them_listed(page, api):
    prompts = queue_three(page)
    assert pending_prompts(page) == prompts
    assert page.locator(".tsq-pending-row .tsq-kind").first.inner_text() == "txt2img"
    facts = page.locator(".tsq-pending-row .tsq-facts").first.inner_text()
    assert "20 steps" in facts and "×" in facts and "1 image" in facts
    assert "3 waiting" in page.locator(".tsq-status").inner_text()
    assert "Paused" in page.locator(".tsq-status").inner_text()
    stored = api.get("/queue").json()["pending"]
    assert [t["params"]["prompt"] for t in stored] == prompts
    assert not page.errors


def test_reorder_by_drag_and_drop_and_see_them_run_in_the_new_order(page, api):
    queue_three(page)
    handle = row(page, "third cat").locator(".tsq-handle")
    target = row(page, "first cat").bounding_box()
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 9):
        y = box["y"] + (target["y"] + 3 - box["y"]) * step / 8
        page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.up()
    wait_for(lambda: pending_prompts(page) == ["third cat", "first cat", "second cat"], what="the new order")
    wait_for(
        lambda: (
            [t["params"]["prompt"] for t in api.get("/queue").json()["pending"]]
            == ["third cat", "first cat", "second cat"]
        ),
        what="the stored order",
    )
    page.locator(".tsq-pause").click()  # resume
    done = wait_done(api, 3)
    ran = sorted(done, key=lambda t: t["started_at"])
    assert [t["params"]["prompt"] for t in ran] == ["third cat", "first cat", "second cat"]
    assert all(t["status"] == "done" for t in ran)
    wait_for(lambda: page.locator(".tsq-history-row").count() == 3, what="three rows in the history")


def test_reorder_with_the_keyboard(page, api):
    queue_three(page)
    row(page, "first cat").locator(".tsq-handle").focus()
    page.keyboard.press("ArrowDown")
    wait_for(lambda: pending_prompts(page) == ["second cat", "first cat", "third cat"], what="moved down")
    # focus stays on the moved task's handle (given back once its row is redrawn)
    wait_for(
        lambda: page.evaluate(
            "() => { const el = document.activeElement, row = el && el.closest('.tsq-pending-row');"
            " return !!row && row.innerText.includes('first cat'); }"
        ),
        what="the focus back on the moved task",
    )
    page.keyboard.press("End")
    wait_for(
        lambda: pending_prompts(page) == ["second cat", "third cat", "first cat"], what="moved to the end"
    )
    wait_for(
        lambda: (
            [t["params"]["prompt"] for t in api.get("/queue").json()["pending"]]
            == ["second cat", "third cat", "first cat"]
        ),
        what="the stored order",
    )


def test_an_answer_older_than_the_one_shown_never_puts_the_old_order_back(page, api):
    """On a loaded machine two refreshes overlap; the older answer arriving last used to redraw
    the old order (and took the focus from a moved row's handle, so the next key did nothing)."""
    queue_three(page)
    held: list[Any] = []

    def hold_the_first(route: Any) -> None:
        if held:
            route.continue_()
        else:  # answered now (the order after the first move), delivered only later
            held.append((route, route.fetch()))

    page.route(re.compile(r".*/task-scheduler/v1/queue\?.*"), hold_the_first)
    api.post(f"/tasks/{pending_ids(api)[0]}/move", json={"to": "bottom"})  # its refresh is held
    # (route handlers run only while playwright waits: wait_for_timeout, not time.sleep)
    wait_for(lambda: page.wait_for_timeout(100) or held, what="the first move's refresh to ask")
    row(page, "second cat").locator(".tsq-handle").focus()
    page.keyboard.press("End")  # a newer move; its own refresh passes
    newest = ["third cat", "first cat", "second cat"]
    wait_for(lambda: pending_prompts(page) == newest, what="the newest order")
    page.evaluate(
        "() => { window.__orders = []; const list = document.querySelector('.tsq-pending-list');"
        " new MutationObserver(() => window.__orders.push([...list.querySelectorAll('.tsq-prompt')]"
        ".map((e) => e.innerText))).observe(list, {childList: true, subtree: true}); }"
    )
    route, answer = held[0]
    route.fulfill(response=answer)  # the older answer arrives last
    page.wait_for_timeout(1500)
    seen = page.evaluate("() => window.__orders")
    assert ["second cat", "third cat", "first cat"] not in seen
    assert pending_prompts(page) == newest


def pending_ids(api: Any) -> list[str]:
    return [t["id"] for t in api.get("/queue").json()["pending"]]


def test_pause_and_resume(page, api):
    open_queue(page)
    api.post("/queue/resume")
    wait_for(lambda: page.locator(".tsq-pause").inner_text() == "Pause", what="the Pause button")
    page.locator(".tsq-pause").click()
    wait_for(lambda: api.get("/queue").json()["paused"], what="paused")
    wait_for(lambda: page.locator(".tsq-status .tsq-paused").count() == 1, what="the Paused badge")
    assert page.locator(".tsq-pause").inner_text() == "Resume"
    page.locator(".tsq-pause").click()
    wait_for(lambda: not api.get("/queue").json()["paused"], what="resumed")
    wait_for(lambda: page.locator(".tsq-status .tsq-paused").count() == 0, what="no Paused badge")


def test_edit_a_prompt_with_inline_validation(page, api):
    queue_three(page)
    second = row(page, "second cat")
    second.locator(".tsq-edit-btn").click()
    form = page.locator("form.tsq-edit")
    form.locator(".tsq-field-prompt textarea").fill("an edited dog")
    form.locator(".tsq-field-steps input").fill("0")
    form.locator(".tsq-save").click()
    assert form.locator(".tsq-field-steps .tsq-field-error").inner_text() == "Between 1 and 10000."
    assert form.locator(".tsq-field-steps input").get_attribute("aria-invalid") == "true"
    form.locator(".tsq-field-steps input").fill("7")
    form.locator(".tsq-field-name input").fill("renamed")
    form.locator(".tsq-save").click()
    wait_for(lambda: page.locator("form.tsq-edit").count() == 0, what="the form to close")
    wait_for(lambda: "an edited dog" in pending_prompts(page), what="the edited prompt")
    task = api.get("/queue").json()["pending"][1]
    assert task["params"]["prompt"] == "an edited dog" and task["params"]["steps"] == 7
    assert task["name"] == "renamed"
    assert "7 steps" in row(page, "an edited dog").inner_text()


def test_edit_offers_forges_distilled_cfg_only_for_tasks_that_carry_it(page, api):
    queue_three(page)
    task = api.get("/queue").json()["pending"][1]
    carried = "distilled_cfg_scale" in task["params"]
    assert carried is (flavour() in ("forge", "neo"))  # A1111's txt2img has no such parameter
    row(page, "second cat").locator(".tsq-edit-btn").click()
    form = page.locator("form.tsq-edit")
    form.locator(".tsq-field-prompt textarea").wait_for()
    assert form.locator(".tsq-field-distilled_cfg_scale").count() == (1 if carried else 0)
    assert form.locator(".tsq-field-hr_distilled_cfg").count() == (1 if carried else 0)
    if not carried:
        return
    field = form.locator(".tsq-field-distilled_cfg_scale input")
    assert float(field.input_value()) == task["params"]["distilled_cfg_scale"]
    field.fill("-1")
    form.locator(".tsq-save").click()
    error = form.locator(".tsq-field-distilled_cfg_scale .tsq-field-error")
    assert error.inner_text() == "Between 0 and 100."
    field.fill("2.5")
    form.locator(".tsq-field-hr_cfg input").fill("4")
    form.locator(".tsq-save").click()
    wait_for(lambda: page.locator("form.tsq-edit").count() == 0, what="the form to close")
    edited = api.get(f"/tasks/{task['id']}").json()["params"]
    assert (edited["distilled_cfg_scale"], edited["hr_cfg"]) == (2.5, 4)


def test_run_now_runs_exactly_that_task_on_a_paused_queue(page, api):
    queue_three(page)
    row(page, "third cat").locator(".tsq-run-now").click()
    done = wait_done(api, 1)
    assert done[0]["params"]["prompt"] == "third cat"
    wait_for(lambda: pending_prompts(page) == ["first cat", "second cat"], what="two left waiting")
    queue = api.get("/queue").json()
    assert queue["paused"] and queue["total_pending"] == 2


def test_delete_and_bulk_delete(page, api):
    queue_three(page)
    row(page, "second cat").locator(".tsq-delete").click()
    wait_for(lambda: pending_prompts(page) == ["first cat", "third cat"], what="the row to go")
    for prompt in ("first cat", "third cat"):
        row(page, prompt).locator(".tsq-select").check()
    assert page.locator(".tsq-pending .tsq-bulk-count").inner_text() == "2 selected"
    page.locator(".tsq-pending .tsq-bulk-delete").click()
    wait_for(lambda: page.locator(".tsq-pending-row").count() == 0, what="an empty queue")
    assert api.get("/queue").json()["total_pending"] == 0
    assert any(d.startswith("confirm") for d in page.dialogs)


def test_search_and_filter_the_history(page, api):
    for prompt in ("a red fox", "a blue whale", "a red panda"):
        api.post("/queue/txt2img", json={"prompt": prompt, "steps": 2, "width": 64, "height": 64})
    api.post("/queue/resume")
    wait_done(api, 3)
    open_queue(page)
    wait_for(lambda: page.locator(".tsq-history-row").count() == 3, what="three finished tasks")
    page.fill(".tsq-search", "red")
    wait_for(lambda: page.locator(".tsq-history-row").count() == 2, what="two matches")
    assert sorted(page.locator(".tsq-history-row .tsq-prompt").all_inner_texts()) == [
        "a red fox",
        "a red panda",
    ]
    assert page.locator(".tsq-history .tsq-count").inner_text() == "(2)"
    page.select_option(".tsq-status-filter", "failed")
    wait_for(lambda: page.locator(".tsq-history-row").count() == 0, what="no failed task")
    assert page.locator(".tsq-pager").inner_text() == "Nothing matches."
    page.select_option(".tsq-status-filter", "")
    page.fill(".tsq-search", "")
    wait_for(lambda: page.locator(".tsq-history-row").count() == 3, what="all three again")


def test_details_show_params_and_the_gallery(page, api):
    created = api.post(
        "/queue/txt2img",
        json={"prompt": "a gallery cat", "steps": 3, "width": 64, "height": 48, "batch_size": 2, "seed": 5},
    ).json()
    api.post("/queue/resume")
    wait_done(api, 1)
    open_queue(page)
    row(page, "a gallery cat", "history").locator(".tsq-open").click()
    details = page.locator(".tsq-details")
    details.wait_for()
    thumbs = details.locator(".tsq-gallery img")
    assert thumbs.count() in (2, 3)  # two images, and the grid where the WebUI saves one
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tsq-gallery img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    params = details.locator("table.tsq-params").inner_text()
    assert "a gallery cat" in params and "batch_size" in params
    assert "Seed: 5" in details.locator(".tsq-infotext").inner_text()
    assert details.locator(".tsq-zip").get_attribute("href").endswith(f"/tasks/{created['id']}/results.zip")
    thumbs.nth(1).click()  # the second image (made first, then the grid, if any)
    assert "Seed: 6" in details.locator(".tsq-infotext").inner_text()
    details.locator(".tsq-full").click()
    page.wait_for_function(
        "() => { const i = document.querySelector('.tsq-lightbox img');"
        " return i && i.complete && i.naturalWidth === 64; }"
    )
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    wait_for(lambda: page.locator(".tsq-details").count() == 0, what="the details to close")


def test_load_into_txt2img_fills_the_fields(page, api):
    api.post(
        "/queue/txt2img",
        json={
            "prompt": "a loaded cat",
            "negative_prompt": "dogs",
            "steps": 9,
            "width": 128,
            "height": 192,
            "seed": 77,
        },
    )
    open_queue(page)
    row(page, "a loaded cat").locator(".tsq-open").click()
    page.locator(".tsq-load-txt2img").click()
    wait_for(
        lambda: page.input_value("#txt2img_prompt textarea") == "a loaded cat", what="the prompt to be filled"
    )
    assert page.input_value("#txt2img_neg_prompt textarea") == "dogs"
    assert page.input_value("#txt2img_steps input[type=number]") == "9"
    assert page.input_value("#txt2img_width input[type=number]") == "128"
    assert page.input_value("#txt2img_height input[type=number]") == "192"
    assert page.input_value("#txt2img_seed input") == "77"
    # switched to the txt2img tab (the switch is the page's own, after the fields are set)
    wait_for(lambda: page.locator("#txt2img_prompt textarea").is_visible(), what="the txt2img tab")


def test_markup_in_a_prompt_is_shown_as_text_and_runs_nothing(page, api):
    queue_with_button(page, MARKUP)
    open_queue(page)
    shown = row(page, "onerror").locator(".tsq-prompt")
    assert shown.inner_text() == MARKUP
    api.post("/queue/resume")
    wait_done(api, 1)
    wait_for(lambda: page.locator(".tsq-history-row").count() == 1, what="the finished row")
    row(page, "onerror", "history").locator(".tsq-open").click()
    assert MARKUP in page.locator(".tsq-details .tsq-infotext").inner_text()
    assert page.locator("#task-scheduler-tab img[src='x']").count() == 0
    time.sleep(0.5)
    assert page.evaluate("() => window.__xss") is None
    assert not [d for d in page.dialogs if d.startswith("alert")]
    assert not page.errors


def test_interrupt_the_running_task(page, api):
    api.post("/queue/txt2img", json={"prompt": "a long cat", "steps": 400, "width": 64, "height": 64})
    open_queue(page)
    api.post("/queue/resume")
    page.locator(".tsq-current .tsq-interrupt").wait_for(timeout=15000)
    assert "Running 1 of 1" in page.locator(".tsq-status").inner_text()
    wait_for(lambda: "%" in page.locator(".tsq-progress-text").inner_text(), what="progress")
    page.locator(".tsq-current .tsq-interrupt").click()
    done = wait_done(api, 1)
    assert done[0]["status"] == "interrupted"
    wait_for(lambda: page.locator(".tsq-history-row[data-status=interrupted]").count() == 1, what="the row")


def test_pause_now_keeps_the_images_made_and_resume_makes_the_rest(page, api):
    task = api.post(
        "/queue/txt2img",
        json={"prompt": "a paused cat", "steps": 40, "width": 64, "height": 64, "seed": 60, "n_iter": 4},
    ).json()
    open_queue(page)
    assert page.locator(".tsq-pause-now").is_hidden()  # nothing runs yet
    api.post("/queue/resume")
    page.locator(".tsq-pause-now").wait_for(timeout=15000)
    wait_for(lambda: "%" in page.locator(".tsq-progress-text").inner_text(), what="progress")
    page.locator(".tsq-pause-now").click()
    parked = wait_for(
        lambda: (t := api.get(f"/tasks/{task['id']}").json())["status"] == "pending" and t,
        what="the task to wait",
    )
    kept = parked["result"]["seeds"]
    assert 1 <= len(kept) < 4 and kept == list(range(60, 60 + len(kept)))
    assert api.get("/queue").json()["paused"] is True
    wait_for(lambda: page.locator(".tsq-pause-now").is_hidden(), what="Pause now to go with the running task")
    page.locator(".tsq-pause").click()  # Resume
    done = wait_done(api, 1)
    assert done[0]["status"] == "done" and done[0]["result"]["seeds"] == [60, 61, 62, 63]


def test_the_tab_in_the_dark_theme(page, api, demo):
    for prompt in ("a dark cat", "a night owl"):
        api.post("/queue/txt2img", json={"prompt": prompt, "steps": 2, "width": 64, "height": 64})
    page.goto(demo.url + "/?__theme=dark")
    open_queue(page)
    wait_for(lambda: page.locator(".tsq-pending-row").count() == 2, what="two rows")
    colours = page.evaluate(
        "() => { const s = getComputedStyle(document.querySelector('.tsq-section'));"
        " return [s.backgroundColor, s.color]; }"
    )
    assert colours[0] != "rgb(255, 255, 255)", colours

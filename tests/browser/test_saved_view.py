"""Saved tasks in headless Chromium: "Save as…" from the Queue menu, then the tab's Saved section."""

from __future__ import annotations

from typing import Any

import pytest

from browser.conftest import ARTIFACTS, flavour
from browser.test_task_queue_tab import open_queue, open_tab, wait_for

pytestmark = pytest.mark.browser


def saved_list(api: Any) -> list[dict]:
    return api.get("/saved").json()["saved"]


def test_save_from_the_menu_edit_queue_load_and_delete(page, api):
    open_tab(page, "txt2img")
    page.fill("#txt2img_prompt textarea", "a fox at dusk")
    page.locator("#task_scheduler_txt2img_queue").first.click(button="right")
    menu = page.locator("#task_scheduler_txt2img_menu")
    menu.locator("input.task-scheduler-save-name").fill("fox, dusk")
    menu.locator(".task-scheduler-save-go").click()
    wait_for(
        lambda: page.locator(".task-scheduler-toast", has_text="Saved 'fox, dusk'").count(), what="toast"
    )
    [saved] = saved_list(api)
    assert saved["name"] == "fox, dusk" and saved["params"]["prompt"] == "a fox at dusk"
    assert api.get("/queue").json()["total_pending"] == 0  # saving queued nothing

    open_queue(page)
    page.locator(".tsq-saved summary").click()
    row = page.locator(".tsq-saved-row", has_text="fox, dusk")
    row.wait_for()
    assert row.locator(".tsq-saved-prompt").inner_text() == "a fox at dusk"

    # edit: a bad value is named inline and changes nothing; a good one is kept
    row.locator(".tsq-saved-edit").click()
    page.fill(".tsq-saved-field-steps", "0")
    page.locator(".tsq-saved-save").click()
    notice = page.locator(".tsq-saved-notice.tsq-saved-error")
    wait_for(lambda: "steps" in notice.inner_text(), what="the inline error naming steps")
    page.fill(".tsq-saved-field-steps", "12")
    page.locator(".tsq-saved-save").click()
    wait_for(lambda: saved_list(api)[0]["params"]["steps"] == 12, what="the edit to be saved")
    # the row is redrawn once the form closes; typing before that would type into a row on its way out
    wait_for(lambda: page.locator(".tsq-saved-editor").count() == 0, what="the edit form to close")
    wait_for(
        lambda: page.locator(".tsq-saved-notice", has_text="Saved 'fox, dusk'").count(), what="the notice"
    )

    # queue it three times with new seeds
    times = page.locator(".tsq-saved-row", has_text="fox, dusk").locator(".tsq-saved-times")
    times.fill("3")
    wait_for(lambda: times.input_value() == "3", what="the count to stay 3 across redraws")
    page.locator(".tsq-saved-row", has_text="fox, dusk").locator(".tsq-saved-queue").click()
    wait_for(lambda: page.locator(".tsq-pending-row").count() == 3, what="three pending rows")
    pending = api.get("/queue").json()["pending"]
    assert {t["params"]["steps"] for t in pending} == {12} and {t["name"] for t in pending} == {"fox, dusk"}
    assert len({t["params"]["seed"] for t in pending}) == 3
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{flavour()}-saved-section.png"), full_page=True)

    # load it into txt2img through the WebUI's paste mechanism
    open_tab(page, "txt2img")
    page.fill("#txt2img_prompt textarea", "something else")
    open_queue(page)
    page.locator(".tsq-saved-row", has_text="fox, dusk").locator(".tsq-saved-load").click()
    wait_for(
        lambda: page.input_value("#txt2img_prompt textarea") == "a fox at dusk", what="the prompt loaded"
    )
    assert page.input_value("#txt2img_steps input[type=number]") == "12"
    # the page switches to txt2img after filling the fields: opening the queue before that switch
    # would be undone by it
    wait_for(lambda: page.locator("#txt2img_prompt textarea").is_visible(), what="the switch to txt2img")

    # rename, then delete (the confirm dialog is accepted)
    open_queue(page)
    row = page.locator(".tsq-saved-row", has_text="fox, dusk")
    row.locator(".tsq-saved-rename").click()
    page.fill(".tsq-saved-rename-input", "fox, dusk, 12 steps")
    page.press(".tsq-saved-rename-input", "Enter")
    wait_for(lambda: saved_list(api)[0]["name"] == "fox, dusk, 12 steps", what="the rename")
    page.locator(".tsq-saved-row", has_text="12 steps").locator(".tsq-saved-delete").click()
    wait_for(lambda: saved_list(api) == [], what="the delete")
    wait_for(lambda: page.locator(".tsq-saved-row").count() == 0, what="the row to go")
    assert page.errors == []

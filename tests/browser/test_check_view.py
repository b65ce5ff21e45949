"""The check in headless Chromium, against the demo app (its WebUI lists one LoRA,
``detail_tweaker_v2``): the Queue toast lists a warning with the closest name, the Task Queue tab
marks the warned task and its details list the warning, and the sweep form shows a misspelled
checkpoint, with the tasks it touches, before anything is queued."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser

WARNING = "prompt: no LoRA 'detail_tweeker'; did you mean 'detail_tweaker_v2'?"


def test_the_toast_the_tab_and_the_details_show_a_warning(page: Any, api: Any):
    page.fill("#txt2img_prompt textarea", "a cat <lora:detail_tweeker:0.8>")
    page.locator("#task_scheduler_txt2img_queue").click()
    toast = page.locator(".task-scheduler-toast-warning").last
    toast.wait_for(timeout=15000)
    text = toast.inner_text()
    assert text.startswith("Queued 'a cat <lora:detail_tweeker:0.8>'") and f"⚠ {WARNING}" in text, text
    (task,) = api.get("/queue").json()["pending"]
    assert task["warnings"] == [WARNING]

    page.locator(".tab-nav button", has_text=re.compile(r"^\s*Task Queue\s*$")).first.click()
    page.wait_for_selector("#task-scheduler-tab[data-ready='1']", state="attached", timeout=15000)
    mark = page.locator(f".tsq-pending-row[data-id='{task['id']}'] .tsq-warned")
    mark.wait_for(timeout=15000)
    assert mark.inner_text() == "⚠ 1" and WARNING in mark.get_attribute("title")
    page.locator(f".tsq-pending-row[data-id='{task['id']}']").get_by_role("button", name="Details").click()
    listed = page.locator(".tsq-warnings li").first
    listed.wait_for(timeout=15000)
    assert listed.inner_text() == WARNING


def test_the_sweep_form_shows_a_misspelled_checkpoint_before_queueing(page: Any, api: Any):
    page.fill("#txt2img_prompt textarea", "a castle")
    page.locator("#task_scheduler_txt2img_queue .task-scheduler-caret").click()
    page.locator(".task-scheduler-menu .task-scheduler-sweep").click()
    dialog = page.locator(".tsj-dialog")
    dialog.locator(".tsj-axis-type").first.select_option("checkpoint")
    dialog.locator(".tsj-axis-values").first.fill("random-sd15-a, random-sd15-bb, random-sd15-b")
    dialog.locator(".tsj-add-axis").click()
    dialog.locator(".tsj-axis-type").nth(1).select_option("seed")
    dialog.locator(".tsj-axis-values").nth(1).fill("1-2")
    problem = dialog.locator(".tsj-problem-error").first
    problem.wait_for(timeout=15000)
    text = problem.inner_text()
    assert "checkpoint: no checkpoint 'random-sd15-bb'; did you mean" in text and text.endswith("2 tasks"), (
        text
    )
    assert dialog.locator(".tsj-queue-sweep").is_disabled()
    assert "Fix this error" in dialog.locator(".tsj-error").inner_text()
    assert api.get("/queue").json()["total_pending"] == 0

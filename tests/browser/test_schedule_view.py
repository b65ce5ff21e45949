"""Scheduling in time as the user sees it, in headless Chromium: the tab's header says the queue
holds outside its run windows and until when, and the Queue button's "Queue to start at…" queues
a task that waits for its time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from task_scheduler.http_api.views import iso

from .test_task_queue_tab import open_queue, open_tab, row, wait_for

pytestmark = pytest.mark.browser

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@pytest.fixture
def schedule(api) -> Any:
    yield api
    api.put("/schedule", json={"windows": "", "timezone": ""})


def test_the_header_says_the_queue_holds_until_its_window_opens(page, schedule):
    other_day = DAYS[(datetime.now().weekday() + 3) % 7]
    schedule.put("/schedule", json={"windows": f"{other_day} 10:00-11:00"})
    schedule.post("/queue/txt2img", json={"prompt": "night cat", "steps": 2, "width": 64, "height": 64})
    schedule.post("/queue/resume")
    open_queue(page)
    text = wait_for(
        lambda: (lambda t: t if "Holding until" in t else None)(page.locator(".tsq-status").inner_text()),
        what="the holding notice",
    )
    assert f"Holding until {other_day} 10:00" in text
    assert "left" not in text  # no time left is promised for tasks the queue holds
    assert schedule.get("/queue").json()["pending"][0]["status"] == "pending"
    assert not page.errors


def test_queue_to_start_at_makes_a_task_that_waits_for_its_time(page, schedule):
    open_tab(page, "txt2img")
    page.fill("#txt2img_prompt textarea", "later cat")
    page.locator("#task_scheduler_txt2img_queue .task-scheduler-caret").click()
    hour = (datetime.now().hour + 2) % 24
    page.locator(".task-scheduler-menu .task-scheduler-start-at").fill(f"{hour:02d}:30")
    page.locator(".task-scheduler-menu .task-scheduler-start-go").click()
    toast = wait_for(
        lambda: (lambda t: t[-1] if t and "starts" in t[-1] else None)(
            page.locator(".task-scheduler-toast").all_inner_texts()
        ),
        what="the toast",
    )
    assert f"{hour:02d}:30" in toast
    (task,) = schedule.get("/queue").json()["pending"]
    assert task["not_before"] is not None
    schedule.post("/queue/resume")
    open_queue(page)
    wait_for(lambda: "starts" in row(page, "later cat").inner_text(), what="the start time on the row")
    assert "Next: task" not in page.locator(".tsq-status").inner_text()  # unnamed: "a task"
    assert "Next: a task at" in page.locator(".tsq-status").inner_text()
    assert schedule.get(f"/tasks/{task['id']}").json()["status"] == "pending"
    assert not page.errors


def test_the_edit_form_sets_a_start_time_and_a_repetition(page, schedule):
    task_id = schedule.post("/queue/txt2img", json={"prompt": "edited cat", "steps": 2}).json()["id"]
    open_queue(page)
    editing = row(page, "edited cat")
    wait_for(lambda: editing.count() == 1, what="the row")
    editing.locator(".tsq-edit-btn").click()
    page.locator(".tsq-field-not_before input").fill("2030-01-02T03:04")
    page.locator(".tsq-field-repeat input").fill("3")
    page.locator(".tsq-field-keep_seeds input").check()
    page.locator(".tsq-save").click()
    stored = wait_for(
        lambda: (lambda t: t if t["repeat"] else None)(schedule.get(f"/tasks/{task_id}").json()),
        what="the edit",
    )
    assert stored["repeat"] == {
        "times": 3,
        "until_stopped": False,
        "round": 1,
        "keep_seeds": True,
        "stopped": False,
    }
    assert stored["not_before"] == iso(datetime(2030, 1, 2, 3, 4).timestamp())  # this machine's clock
    wait_for(lambda: "round 1 of 3" in row(page, "edited cat").inner_text(), what="the round on the row")
    bad = row(page, "edited cat")
    bad.locator(".tsq-edit-btn").click()
    page.locator(".tsq-field-repeat input").fill("-2")
    page.locator(".tsq-save").click()
    assert "0 to 10000 rounds" in page.locator(".tsq-field-repeat .tsq-field-error").inner_text()
    assert not page.errors

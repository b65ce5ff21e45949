"""Auto-batching in headless Chromium over the double: "Queue 4 times with new seeds" runs as one
batch, the tab marks the four, and "Load into txt2img" of the third restores its own seed."""

from __future__ import annotations

import pytest

from browser.test_task_queue_tab import open_queue, open_tab, wait_for

pytestmark = pytest.mark.browser


def test_four_new_seeds_run_as_one_batch_each_with_its_own_seed_in_the_tab(page, api):
    open_tab(page, "txt2img")
    page.fill("#txt2img_prompt textarea", "a lighthouse, four seeds")
    page.locator("#task_scheduler_txt2img_queue .task-scheduler-caret").first.click()
    menu = page.locator("#task_scheduler_txt2img_menu")
    menu.wait_for()
    menu.locator("input.task-scheduler-repeat").fill("4")
    menu.locator(".task-scheduler-repeat-go").click()
    pending = wait_for(lambda: api.get("/queue").json()["pending"], what="the four queued tasks")
    ids = [task["id"] for task in pending]
    assert len(ids) == 4
    api.post("/queue/resume")
    tasks = wait_for(
        lambda: (
            (t := [api.get(f"/tasks/{i}").json() for i in ids])
            and all(x["status"] == "done" for x in t)
            and t
        ),
        what="the four to finish",
    )
    assert len({t["batch_id"] for t in tasks}) == 1 and tasks[0]["batch_id"]
    seeds = [t["params"]["seed"] for t in tasks]
    assert len(set(seeds)) == 4 and [t["result"]["seeds"] for t in tasks] == [[s] for s in seeds]

    open_queue(page)
    for task_id in ids:
        mark = page.locator(f".tsq-history-row[data-id='{task_id}'] .tsq-batch")
        wait_for(lambda m=mark: m.count(), what="the batch mark")
        assert mark.inner_text() == "batch of 4"
    page.locator(f".tsq-history-row[data-id='{ids[2]}'] .tsq-open").click()
    infotext = page.locator(".tsq-details .tsq-infotext")
    infotext.wait_for()
    assert f"Seed: {seeds[2]}," in infotext.inner_text()
    assert "3 other tasks" in page.locator(".tsq-details .tsq-meta").inner_text()
    page.locator(".tsq-details .tsq-load-txt2img").click()
    seed_box = page.locator("#txt2img_seed input").first
    wait_for(lambda: seed_box.input_value() == str(seeds[2]), what="the third task's seed in txt2img")
    assert page.errors == []


def test_every_task_of_a_running_batch_shows_its_progress(page, api):
    job = api.post(
        "/jobs",
        json={
            "base": {"prompt": "a slow fox", "steps": 400, "width": 64, "height": 64},
            "axes": [{"type": "seed", "values": [1, 2, 3, 4]}],
        },
    ).json()
    open_queue(page)
    api.post("/queue/resume")
    wait_for(lambda: page.locator(".tsq-current").count() == 4, what="four running cards")
    for task_id in job["task_ids"]:
        card = page.locator(f".tsq-current[data-id='{task_id}']")
        assert card.locator(".tsq-batch").inner_text() == "batch of 4"
        wait_for(
            lambda c=card: "%" in c.locator(".tsq-progress-host").inner_text(), what=f"progress of {task_id}"
        )
    api.post("/queue/pause")
    api.delete(f"/tasks/{job['task_ids'][0]}")  # interrupts the batch; the others wait again
    wait_for(lambda: len(api.get("/queue").json()["pending"]) == 3, what="the three back in the queue")
    assert page.errors == []

"""Jobs in headless Chromium, against the demo app: the Queue button's "Queue as sweep…" and the
Jobs section of the Task Queue tab (javascript/task_queue_jobs.mjs).

A 2 × 3 sweep is made from the Queue menu on txt2img (the captured values are its base), run by
the demo's real executor through the WebUI double, two of its images are discarded in the Jobs
view's image grid, and "img2img each kept image at denoise 0.4" queues a follow-up job of 4 tasks
whose init images are the kept images.
"""

from __future__ import annotations

import base64
import io
import re
import time
from typing import Any

import pytest
from PIL import Image

pytestmark = pytest.mark.browser


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def open_jobs_section(page: Any) -> Any:
    page.locator(".tab-nav button", has_text=re.compile(r"^\s*Task Queue\s*$")).first.click()
    page.wait_for_selector("#task-scheduler-tab[data-ready='1']", state="attached", timeout=15000)
    page.locator(".tsq-jobs > summary").click()
    view = page.locator(".tsq-jobs-host")
    page.wait_for_selector(".tsq-jobs-host[data-ready='1']", state="attached", timeout=15000)
    return view


def sweep_from_queue_menu(page: Any) -> Any:
    page.fill("#txt2img_prompt textarea", "a <b>cat</b>")
    page.fill("#txt2img_steps input[type=number]", "3")
    page.locator("#task_scheduler_txt2img_queue .task-scheduler-caret").click()
    page.locator(".task-scheduler-menu .task-scheduler-sweep").click()
    return page.locator(".tsj-dialog")


def pixels(data: bytes) -> list:
    return list(Image.open(io.BytesIO(data)).convert("RGB").getdata())


def test_sweep_discard_two_and_follow_up_the_kept_four(page, api, demo):
    # "Queue as sweep…" on txt2img: 2 prompts x 3 seeds over what Generate would send
    dialog = sweep_from_queue_menu(page)
    dialog.locator(".tsj-sweep-name").fill("browser sweep")
    dialog.locator(".tsj-axis-values").first.fill("a <i>cat</i>\na dog")
    dialog.locator(".tsj-add-axis").click()
    dialog.locator(".tsj-axis-type").nth(1).select_option("seed")
    dialog.locator(".tsj-axis-values").nth(1).fill("1-3")
    page.wait_for_function(
        "() => document.querySelector('.tsj-count').textContent === '6 tasks'", timeout=15000
    )
    assert dialog.locator(".tsj-preview li").count() == 3
    dialog.locator(".tsj-queue-sweep").click()
    page.wait_for_selector(".tsj-dialog", state="detached", timeout=15000)
    toast = page.locator(".task-scheduler-toast").last.inner_text()
    assert toast == "Queued job 'browser sweep' — 6 tasks", toast

    jobs = api.get("/jobs").json()["jobs"]
    assert len(jobs) >= 1 and jobs[0]["name"] == "browser sweep" and jobs[0]["counts"]["total"] == 6
    job_id = jobs[0]["id"]
    swept = api.get(f"/jobs/{job_id}/tasks").json()["tasks"]
    assert [(t["params"]["prompt"], t["params"]["seed"], t["params"]["steps"]) for t in swept] == [
        (prompt, seed, 3) for prompt in ("a <i>cat</i>", "a dog") for seed in (1, 2, 3)
    ]
    assert {t["source"] for t in swept} == {"ui"}

    view = open_jobs_section(page)
    row = view.locator(f".tsj-job[data-job-id='{job_id}']")
    wait_for(lambda: row.count() == 1, 15, "the job in the Jobs section")
    row.locator(".tsj-name").click()
    assert row.locator(".tsj-status").inner_text() == "pending"
    assert page.evaluate("() => document.querySelectorAll('.tsq-jobs-host b, .tsq-jobs-host i').length") == 0

    # run it and watch the view follow (the queue long-poll, no reload)
    api.post("/queue/resume")
    wait_for(lambda: api.get(f"/jobs/{job_id}").json()["status"] == "done", 60, "the sweep to finish")
    wait_for(lambda: row.get_attribute("data-status") == "done", 20, "the view to show it done")
    api.post("/queue/pause")

    # the job is open (clicked above): discard two of its images
    assert "tsj-open" in row.get_attribute("class")
    cells = view.locator(".tsj-cell")
    wait_for(lambda: cells.count() == 6, 20, "six images in the grid")
    cells.nth(0).locator(".tsj-discard").click()
    wait_for(lambda: view.locator(".tsj-cell[data-mark='discarded']").count() == 1, 10, "one discarded")
    view.locator(".tsj-cell").nth(3).locator(".tsj-discard").click()
    wait_for(lambda: view.locator(".tsj-cell[data-mark='discarded']").count() == 2, 10, "two discarded")
    images = api.get(f"/jobs/{job_id}/images").json()["images"]
    assert [i["mark"] for i in images] == ["discarded", None, None, "discarded", None, None]

    # img2img each kept image at denoise 0.4
    view.locator(".tsj-fu-denoise").fill("0.4")
    view.locator(".tsj-fu-dry").click()
    wait_for(lambda: view.locator(".tsj-fu-count").inner_text() == "4 tasks", 10, "the follow-up count")
    view.locator(".tsj-fu-go").click()
    follow = wait_for(
        lambda: next((j for j in api.get("/jobs").json()["jobs"] if j["source_job_id"] == job_id), None),
        15,
        "the follow-up job",
    )
    assert follow["counts"]["total"] == 4 and follow["origin"]["action"] == "img2img"
    wait_for(
        lambda: view.locator(f".tsj-job.tsj-open[data-job-id='{follow['id']}']").count() == 1, 10, "it opens"
    )

    kept = [i for i in images if i["mark"] != "discarded"]
    exported = {t["id"]: t for t in api.get("/export").json()}
    tasks = api.get(f"/jobs/{follow['id']}/tasks").json()["tasks"]
    assert len(tasks) == 4
    for task, image in zip(tasks, kept, strict=True):
        assert task["kind"] == "img2img" and task["params"]["denoising_strength"] == 0.4
        ref = task["params"]["init_img"]["$image"]
        init = base64.b64decode(exported[task["id"]]["files"][ref].split(",", 1)[1])
        result = api.get(image["url"].removeprefix("/task-scheduler/v1")).content
        assert pixels(init) == pixels(result)
    assert not page.errors

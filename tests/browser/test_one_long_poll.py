"""One long-poll per page: the Task Queue tab, with its Jobs and Saved sections open, never has
more than one ``/wait`` request in flight, and that one request still brings every section up to
date: a job and a saved task made through the API show up without a reload, a section closed
during a change catches up when reopened, and a change landing while the sections load is not
lost.

Each section that opened a long-poll of its own would hold a server connection and a worker
thread per open page, and would answer the same change twice.
"""

from __future__ import annotations

from typing import Any

import pytest

from browser.conftest import API
from browser.test_jobs_view import open_jobs_section
from browser.test_task_queue_tab import wait_for

pytestmark = pytest.mark.browser

WAIT_ROUTE = API + "/wait?"


@pytest.fixture(autouse=True)
def no_saved_tasks(api: Any) -> None:
    """The demo serves every test of the module: start each without saved tasks."""
    for saved in api.get("/saved", params={"limit": 1000}).json()["saved"]:
        api.delete(f"/saved/{saved['id']}")


class WaitCounter:
    """Counts the page's ``/wait`` requests: started, and in flight now and at most."""

    def __init__(self, page: Any) -> None:
        self.in_flight: set[Any] = set()
        self.started = 0
        self.most = 0
        page.on("request", self._start)
        page.on("requestfinished", self._end)
        page.on("requestfailed", self._end)

    @staticmethod
    def _is_wait(request: Any) -> bool:
        return WAIT_ROUTE in request.url

    def _start(self, request: Any) -> None:
        if self._is_wait(request):
            self.started += 1
            self.in_flight.add(request)
            self.most = max(self.most, len(self.in_flight))

    def _end(self, request: Any) -> None:
        self.in_flight.discard(request)


def test_jobs_and_saved_sections_share_the_tabs_one_long_poll(page, api):
    counter = WaitCounter(page)
    jobs = open_jobs_section(page)
    page.locator(".tsq-saved > summary").click()
    page.wait_for_selector(".tsq-saved-host .tsq-empty", timeout=15000)

    # a saved task (no queue change), then a sweep job (a queue change): both sections follow
    saved = api.post("/saved/txt2img", params={"name": "one poll"}, json={"prompt": "a heron"})
    assert saved.status_code == 201, saved.text
    created = api.post(
        "/jobs", json={"base": {"prompt": "a heron"}, "axes": [{"type": "seed", "values": "1-2"}]}
    )
    assert created.status_code in (200, 201), created.text
    job_id = created.json()["id"]
    wait_for(lambda: jobs.locator(f".tsj-job[data-job-id='{job_id}']").count() == 1, what="the job in Jobs")
    wait_for(lambda: page.locator(".tsq-saved-row", has_text="one poll").count() == 1, what="the saved row")
    wait_for(lambda: page.locator(".tsq-pending-row").count() == 2, what="the two pending rows")

    # the long-poll is open again after answering the change
    answered = counter.started
    api.post("/queue/resume")
    api.post("/queue/pause")
    # playwright delivers the request events while the page is being driven: poll through the page
    wait_for(
        lambda: page.wait_for_timeout(100) or (counter.started > answered and counter.in_flight),
        what="the long-poll to reopen",
    )
    page.wait_for_timeout(500)  # room for a second poller to show itself; no assertion on time
    assert counter.most == 1, f"{counter.most} /wait requests were in flight at once"
    assert len(counter.in_flight) == 1
    assert not page.errors


def test_a_section_closed_during_a_change_shows_it_when_reopened(page, api):
    """Closed, Jobs and Saved are not refreshed by the long-poll; opened again, they catch up."""
    jobs = open_jobs_section(page)
    page.locator(".tsq-saved > summary").click()
    page.wait_for_selector(".tsq-saved-host .tsq-empty", timeout=15000)
    page.locator(".tsq-jobs > summary").click()
    page.locator(".tsq-saved > summary").click()
    wait_for(lambda: page.locator(".tsq-jobs[open], .tsq-saved[open]").count() == 0, what="both closed")

    created = api.post(
        "/jobs", json={"base": {"prompt": "an owl"}, "axes": [{"type": "seed", "values": "1-2"}]}
    )
    job_id = created.json()["id"]
    wait_for(lambda: page.locator(".tsq-pending-row").count() == 2, what="the queue to show the change")
    # a saved task changes no queue revision: no long-poll answers it
    assert api.post("/saved/txt2img", params={"name": "owl"}, json={"prompt": "an owl"}).status_code == 201

    page.locator(".tsq-jobs > summary").click()
    wait_for(lambda: jobs.locator(f".tsj-job[data-job-id='{job_id}']").count() == 1, what="the job")
    page.locator(".tsq-saved > summary").click()
    wait_for(lambda: page.locator(".tsq-saved-row", has_text="owl").count() == 1, what="the saved task")
    assert not page.errors


def test_a_change_landing_while_the_sections_load_is_not_lost(page, api):
    """The sections load side by side with the queue. A job created between the moment the server
    answers the Jobs list and the moment it answers the queue (its revision then already counts
    the job) must still reach the Jobs section: the long-poll waits from the revision it was
    answered with, not from the newer one read beside the sections.

    The reordering is made certain with two routes: the queue's request creates the job before it
    goes on, and the Jobs list gets the answer the server gave before that job existed.
    """
    jobs = open_jobs_section(page)
    page.locator(".tsq-saved > summary").click()
    page.wait_for_selector(".tsq-saved-host .tsq-empty", timeout=15000)
    stale = api.get("/jobs", params={"limit": 20, "offset": 0}).json()
    made: dict[str, Any] = {}

    def queue_route(route: Any) -> None:
        if not made:
            body = {"base": {"prompt": "a crane"}, "axes": [{"type": "seed", "values": "1-2"}]}
            made["job"] = api.post("/jobs", json=body).json()["id"]
        route.continue_()

    def jobs_route(route: Any) -> None:
        if made and not made.get("stale_sent"):
            made["stale_sent"] = True
            route.fulfill(json=stale)
        else:
            route.continue_()

    page.route(lambda url: "/task-scheduler/v1/queue?limit=" in url, queue_route)
    page.route(lambda url: "/task-scheduler/v1/jobs?limit=" in url, jobs_route)
    # a change (a saved task bumps the revision too): the long-poll answers, the tab refreshes
    assert api.post("/saved/txt2img", params={"name": "crane"}, json={"prompt": "a crane"}).status_code == 201
    wait_for(lambda: page.wait_for_timeout(100) or made.get("stale_sent"), what="the stale Jobs answer")
    wait_for(lambda: page.locator(".tsq-pending-row").count() == 2, what="the queue to show the job's tasks")
    wait_for(
        lambda: jobs.locator(f".tsj-job[data-job-id='{made['job']}']").count() == 1, what="the job in Jobs"
    )
    assert not page.errors

"""The Task Queue tab with several workers, in headless Chromium.

The demo app runs one worker ("demo", its executor); this test process registers more in the
demo's own database file, as another WebUI process on the same queue would, and claims tasks as
them. What the tab shows of them is read from the page; what its buttons did, from the API and
from the store as the other process sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from browser.conftest import ARTIFACTS, flavour
from browser.test_task_queue_tab import open_queue, wait_for

pytestmark = pytest.mark.browser


class OtherProcess:
    """The queue as a second worker process sees it: the demo's store, opened here."""

    def __init__(self, root: Any) -> None:
        from task_scheduler.files import FileStore
        from task_scheduler.store import Store
        from task_scheduler.task_queue import TaskQueue

        db = root / "queue" / "task_scheduler.sqlite3"
        self.store = Store(db)
        self.queue = TaskQueue(self.store, FileStore(db.parent / "task_scheduler_files"))
        self.registered: list[Any] = []

    def register(self, name: str, **values: Any) -> Any:
        from task_scheduler.workers import WorkerIdentity

        checkpoint = values.pop("checkpoint", None)
        identity = self.queue.workers.register(
            WorkerIdentity.local(name, kind="webui", **values), checkpoint=checkpoint
        )
        self.registered.append(identity)
        return identity

    def forget_all(self) -> None:
        from task_scheduler.task import TaskStatus

        for task in self.queue.running():
            if task.worker_id in {w.id for w in self.registered}:
                worker = next(w for w in self.registered if w.id == task.worker_id)
                self.queue.finish(task.id, TaskStatus.CANCELLED, worker=worker)
        for identity in self.registered:
            self.queue.workers.stopped(identity)
        self.queue.workers.forget([w.id for w in self.registered])
        self.store.close()


@pytest.fixture
def other(demo, api) -> Iterator[OtherProcess]:
    process = OtherProcess(demo.root)
    yield process
    process.forget_all()


def workers(api: Any) -> dict[str, dict]:
    return {w["id"]: w for w in api.get("/workers").json()["workers"]}


def strip_row(page: Any, name: str) -> Any:
    return page.locator(".tsq-worker", has=page.locator(".tsq-worker-name", has_text=name))


def record_webui_progress(page: Any) -> None:
    """The WebUI's progress bar and live preview (``requestProgress``, absent in the demo), as a
    recorder: which progress ids the tab asked the WebUI for."""
    page.evaluate(
        "() => { window.__progressIds = []; window.requestProgress = (id) => window.__progressIds.push(id); }"
    )


def webui_progress_ids(page: Any) -> list[str]:
    return page.evaluate("() => window.__progressIds")


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{flavour()}-{name}.png"), full_page=True)


def test_one_worker_shows_no_strip_and_several_show_each_with_its_state(page, api, other):
    open_queue(page)
    assert list(workers(api)) == ["demo"]
    # a single-GPU user sees no Workers strip: the toolbar and the running task say it all
    assert page.locator(".tsq-workers").is_hidden()

    other.register("gpu1", checkpoint="sub/model-b.safetensors [0123abcd]")
    gone = other.register("old-gpu")
    other.queue.workers.stopped(gone)
    strip = page.locator(".tsq-workers")
    wait_for(lambda: page.locator(".tsq-worker").count() == 3, what="three workers in the strip")
    assert strip.is_visible()
    demo_row, gpu1, old = strip_row(page, "demo"), strip_row(page, "gpu1"), strip_row(page, "old-gpu")
    assert demo_row.locator(".tsq-worker-state").inner_text() == "idle"
    assert "this WebUI" in demo_row.inner_text()
    assert gpu1.locator(".tsq-worker-state").inner_text() == "idle"
    assert gpu1.locator(".tsq-worker-checkpoint").inner_text() == "model-b.safetensors"
    assert "s ago" in gpu1.locator(".tsq-worker-age").inner_text()
    assert old.locator(".tsq-worker-state").inner_text() == "stopped"
    assert old.locator(".tsq-worker-forget").is_visible() and gpu1.locator(".tsq-worker-forget").count() == 0

    # a worker whose heartbeat stopped turns "offline" with no change of the queue (heartbeats are
    # quiet): the strip's own slow timer notices
    other.register("flaky", lease_s=1.0)
    flaky = strip_row(page, "flaky")
    flaky.wait_for()
    wait_for(
        lambda: flaky.locator(".tsq-worker-state").inner_text() == "offline",
        what="the silent worker to show offline",
    )
    shot(page, "workers-strip")

    old.locator(".tsq-worker-forget").click()
    wait_for(lambda: "old-gpu" not in workers(api), what="the stopped worker to be forgotten")
    wait_for(lambda: strip_row(page, "old-gpu").count() == 0, what="its row to go")
    assert not page.errors


def test_pause_on_one_worker_pauses_only_it_and_tasks_go_to_the_other(page, api, other):
    gpu1 = other.register("gpu1")
    open_queue(page)
    row = strip_row(page, "gpu1")
    row.wait_for()
    row.locator(".tsq-worker-pause").click()
    wait_for(lambda: workers(api)["gpu1"]["paused"], what="gpu1 paused")
    assert workers(api)["demo"]["paused"] is False
    assert api.get("/queue").json()["paused"] is True  # the queue itself: as the fixture left it
    wait_for(lambda: row.locator(".tsq-worker-state").inner_text() == "paused", what="the row to say paused")
    shot(page, "workers-paused")

    record_webui_progress(page)
    api.post("/queue/resume")
    created = api.post("/queue/txt2img", json={"prompt": "a red kite", "steps": 150}).json()
    assert other.queue.claim_next(worker=gpu1) is None  # the paused worker takes nothing
    card = page.locator(".tsq-current", has_text="a red kite")
    card.wait_for()
    assert card.locator(".tsq-where").inner_text() == "running here, on demo"
    wait_for(lambda: api.get(f"/tasks/{created['id']}").json()["status"] == "done", what="the task to run")
    assert api.get(f"/tasks/{created['id']}").json()["worker"] == "demo"
    # a task of this WebUI's own worker gets the WebUI's progress bar and live preview
    assert webui_progress_ids(page) == [f"task({created['id']})"]

    api.post("/queue/pause")
    row.locator(".tsq-worker-resume").click()
    wait_for(lambda: not workers(api)["gpu1"]["paused"], what="gpu1 resumed")
    assert not page.errors


def test_a_task_running_on_another_worker_says_where_and_can_be_stopped_from_here(page, api, other):
    gpu1 = other.register("gpu1", checkpoint="model-b.safetensors [0123abcd]")
    created = api.post("/queue/txt2img", json={"prompt": "a lighthouse in fog", "worker": "gpu1"}).json()
    api.post("/queue/resume")
    task = other.queue.claim_next(worker=gpu1)
    assert task is not None and task.id == created["id"]
    from task_scheduler.task_queue import Progress

    other.queue.set_progress(Progress(task.id, 0.4, "Step 8 of 20"), worker=gpu1)
    record_webui_progress(page)
    open_queue(page)
    card = page.locator(".tsq-current", has_text="a lighthouse in fog")
    card.wait_for()
    assert card.locator(".tsq-where").inner_text() == "running on gpu1"
    # the live preview is gpu1's WebUI's: this WebUI's progress API knows nothing of the task
    assert card.locator(".tsq-preview").is_hidden() and webui_progress_ids(page) == []
    wait_for(lambda: "40%" in card.locator(".tsq-progress").inner_text(), what="the progress gpu1 wrote")
    row = strip_row(page, "gpu1")
    assert row.locator(".tsq-worker-state").inner_text() == "running"
    wait_for(lambda: "40%" in row.locator(".tsq-worker-task").inner_text(), what="gpu1's progress")
    assert "a lighthouse in fog" in row.locator(".tsq-worker-task").inner_text()
    # progress is a quiet write (no change of the queue's revision): the card follows it, and the
    # strip with it
    other.queue.set_progress(Progress(task.id, 0.75, "Step 15 of 20"), worker=gpu1)
    wait_for(lambda: "75%" in card.locator(".tsq-progress").inner_text(), what="the card to follow")
    wait_for(lambda: "75%" in row.locator(".tsq-worker-task").inner_text(), what="the strip to follow")
    shot(page, "workers-running-elsewhere")

    card.locator(".tsq-interrupt").click()
    wait_for(lambda: other.queue.stop_request(task.id) == "interrupted", what="the stop request in gpu1")
    assert not page.errors


def test_an_unnamed_task_is_titled_by_its_prompt_everywhere(page, api):
    created = api.post("/queue/txt2img", json={"prompt": "a quiet harbour at dawn, oil painting"}).json()
    assert created["name"] in (None, "")
    open_queue(page)
    row = page.locator(".tsq-pending-row", has_text="a quiet harbour")
    row.wait_for()
    assert row.locator(".tsq-name").inner_text() == "a quiet harbour at dawn, oil painting"
    assert "(unnamed)" not in page.locator("#task-scheduler-tab").inner_text()
    shot(page, "unnamed-pending")

    api.post("/queue/resume")
    done = page.locator(".tsq-history-row", has_text="a quiet harbour")
    done.wait_for(timeout=30000)
    assert done.locator(".tsq-name").inner_text() == "a quiet harbour at dawn, oil painting"
    assert "(unnamed)" not in page.locator("#task-scheduler-tab").inner_text()
    shot(page, "unnamed-history")


def test_a_capture_of_another_webui_says_it_waits_for_one_until_such_a_worker_is_there(page, api, other):
    from task_scheduler.task import NewTask

    # the demo's worker is of the double's WebUI family: a capture of another one is not its
    family, label = (
        ("a1111", "an AUTOMATIC1111 WebUI") if flavour() == "forge" else ("forge", "a Forge WebUI")
    )
    assert api.get("/workers").json()["workers"][0]["info"]["webui"] == flavour()
    foreign = other.queue.enqueue(
        NewTask("txt2img", {"prompt": "from another WebUI's button"}, source="ui", needs_webui=family)
    )
    other.queue.enqueue(NewTask("txt2img", {"prompt": "from the API"}))
    open_queue(page)
    rows = page.locator(".tsq-pending-row")
    wait_for(lambda: rows.count() == 2, what="two waiting rows")
    waiting = page.locator(f".tsq-pending-row[data-id='{foreign.id}'] .tsq-waits")
    assert waiting.inner_text() == f"waits for {label}"
    assert page.locator(".tsq-waits").count() == 1  # the API task runs anywhere
    assert api.get(f"/tasks/{foreign.id}").json()["needs_webui"] == family
    shot(page, "waits-for-another-webui")

    worker = other.register("other-webui", info={"webui": family})
    wait_for(
        lambda: page.locator(".tsq-waits").count() == 0, what="the note to go once such a worker is there"
    )
    other.queue.workers.set_paused(worker.id, True)
    wait_for(lambda: page.locator(".tsq-waits").count() == 1, what="the note back while it is paused")
    other.queue.workers.set_paused(worker.id, False)
    wait_for(lambda: page.locator(".tsq-waits").count() == 0, what="the note gone when it resumed")
    other.queue.workers.stopped(worker)
    wait_for(lambda: page.locator(".tsq-waits").count() == 1, what="the note back when it stopped")
    assert not page.errors

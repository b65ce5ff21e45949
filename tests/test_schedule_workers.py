"""Two worker processes honour one run window: the window is in the store they share, so neither
starts a task while it is closed (Run now aside), and both start when it opens, woken by the
change, not by a clock of their own."""
# ruff: noqa: F811 - fixtures imported from test_worker_processes are redefined as arguments

from __future__ import annotations

from datetime import datetime

from test_worker_processes import db, queue, statuses, task, wait_until, workers  # noqa: F401

from task_scheduler.task import TaskStatus

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def test_two_worker_processes_hold_outside_one_window_and_run_when_it_opens(queue, workers):
    other_day = DAYS[(datetime.now().weekday() + 3) % 7]
    queue.set_schedule(windows=f"{other_day} 10:00-11:00")  # closed today
    one, two = workers.start("one", lease=600.0), workers.start("two", lease=600.0)
    ids = [t.id for t in queue.enqueue_many([task(f"t{n}") for n in range(10)])]
    urgent = queue.enqueue(task("urgent"))
    queue.run_next(urgent.id)  # Run now: runs in a closed window
    wait_until(lambda: queue.get(urgent.id).status is TaskStatus.DONE, what="the Run now task")
    # the worker that ran it looked for more after it (and both were woken by every change): none ran
    wait_until(
        lambda: all(w.state == "idle" for w in queue.workers.list() if w.id in (one, two)), what="both idle"
    )
    assert statuses(queue, ids) == {TaskStatus.PENDING: 10}
    assert queue.claim_next() is None  # this process holds too
    queue.set_schedule(windows="Daily 00:00-24:00")
    wait_until(
        lambda: statuses(queue, ids)[TaskStatus.DONE] == 10, what="10 tasks done after the window opened"
    )
    assert {queue.get(i).worker_id for i in ids} <= {one, two}

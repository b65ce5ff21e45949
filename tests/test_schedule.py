"""Scheduling in time, on the core with a clock the tests control: run windows (across midnight
and daylight-saving changes), not-before times of tasks and jobs, and a restart in the middle.

Times are Europe/Berlin wall-clock times; 2026-03-29 02:00 CET jumps to 03:00 CEST and
2026-10-25 03:00 CEST falls back to 02:00 CET.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from task_scheduler.errors import InvalidTaskData
from task_scheduler.executor import Executor
from task_scheduler.jobs import Jobs
from task_scheduler.runner import InMemoryRunner
from task_scheduler.store import Store
from task_scheduler.task import NewTask, TaskStatus
from task_scheduler.task_queue import TaskQueue
from task_scheduler.windows import RunWindows, parse

BERLIN = ZoneInfo("Europe/Berlin")

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def at(text: str) -> float:
    """An instant written as Berlin wall time, ``"2026-03-28 23:00"`` (the first one when shown twice)."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=BERLIN).timestamp()


def task(prompt: str = "p", **values) -> NewTask:
    return NewTask(kind="txt2img", params={"prompt": prompt}, **values)


@pytest.fixture
def night(queue: TaskQueue) -> TaskQueue:
    queue.set_schedule(windows="Mon-Fri 23:00-07:30; Sat,Sun 00:00-24:00", timezone="Europe/Berlin")
    return queue


# -- the windows as a person writes them ---------------------------------------------------------


def test_windows_text_is_read_and_written_back_in_one_canonical_form(queue):
    config = queue.set_schedule(windows="mon-fri 23:00-7:30 ;  sat , sun 00:00-24:00")
    assert config.windows == "Mon-Fri 23:00-07:30; Sat-Sun 00:00-24:00"
    assert (
        queue.set_schedule(windows="daily 01:00-02:00, 13:00-14:00").windows
        == "Daily 01:00-02:00, 13:00-14:00"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Mon-Fri 23:00", "must be days then times"),
        ("Funday 01:00-02:00", "'Funday' is not a day"),
        ("Mon 25:00-26:00", "25:00 is not a time of day"),
        ("Mon 10:61-11:00", "10:61 is not a time of day"),
        ("Mon 10:00-10:00", "is empty"),
    ],
)
def test_a_window_that_cannot_be_read_is_refused_naming_the_rule(queue, text, says):
    queue.set_schedule(windows="Daily 22:00-23:00")
    with pytest.raises(InvalidTaskData, match=says):
        queue.set_schedule(windows=text)
    assert queue.schedule_config().windows == "Daily 22:00-23:00"  # nothing changed


def test_an_unknown_time_zone_is_refused(queue):
    with pytest.raises(InvalidTaskData, match="not a known time zone"):
        queue.set_schedule(timezone="Mars/Olympus")


def test_a_window_across_midnight_ends_the_next_morning():
    windows = RunWindows(parse("Fri 23:00-07:30"), BERLIN)
    assert not windows.is_open(at("2026-06-05 22:59"))
    assert windows.is_open(at("2026-06-05 23:00"))
    assert windows.is_open(at("2026-06-06 07:29"))  # Saturday morning
    assert not windows.is_open(at("2026-06-06 07:30"))
    assert windows.next_change(at("2026-06-06 03:00")) == at("2026-06-06 07:30")
    assert windows.next_change(at("2026-06-06 08:00")) == at("2026-06-12 23:00")


def test_the_spring_dst_night_is_an_hour_shorter_and_the_autumn_one_an_hour_longer():
    windows = RunWindows(parse("Sat 23:00-07:30"), BERLIN)
    spring = windows.next_change(at("2026-03-28 23:30")) - at("2026-03-28 23:00")
    autumn = windows.next_change(at("2026-10-24 23:30")) - at("2026-10-24 23:00")
    assert (spring / 3600, autumn / 3600) == (7.5, 9.5)
    assert windows.local(windows.next_change(at("2026-03-28 23:30"))).strftime("%H:%M %Z") == "07:30 CEST"


def test_a_window_opening_at_a_time_the_clock_skips_opens_when_the_clock_jumps():
    windows = RunWindows(parse("Sun 02:30-05:00"), BERLIN)
    opens = windows.next_change(at("2026-03-29 01:00"))
    assert windows.local(opens).strftime("%H:%M %Z") == "03:00 CEST"


def test_a_window_stays_open_through_the_hour_the_autumn_clock_shows_twice():
    windows = RunWindows(parse("Sun 01:30-02:30"), BERLIN)
    first_230 = at("2026-10-25 02:30")  # CEST, the first time
    assert windows.is_open(first_230 - 60) and windows.is_open(first_230 + 60)
    closes = windows.next_change(at("2026-10-25 01:45"))
    assert closes - first_230 == 3600  # 02:30 CET, the second time the clock shows it


# -- the queue holds outside its windows -------------------------------------------------------------


def test_outside_its_windows_the_queue_holds_and_inside_it_runs(night, clock):
    queued = night.enqueue(task())
    clock.now = at("2026-06-03 12:00")  # a Wednesday noon
    assert night.claim_next() is None
    clock.now = at("2026-06-03 23:00")
    assert night.claim_next().id == queued.id


def test_a_task_running_past_the_windows_end_finishes_and_the_next_one_waits(night, clock):
    first, second = night.enqueue(task("a")), night.enqueue(task("b"))
    clock.now = at("2026-06-04 07:29")
    assert night.claim_next().id == first.id
    clock.now = at("2026-06-04 07:45")
    assert night.finish(first.id, TaskStatus.DONE).status is TaskStatus.DONE
    assert night.claim_next() is None
    assert night.get(second.id).status is TaskStatus.PENDING
    clock.now = at("2026-06-04 23:00")
    assert night.claim_next().id == second.id


def test_run_now_runs_a_task_outside_the_window_and_only_that_one(night, clock):
    a, b = night.enqueue(task("a")), night.enqueue(task("b"))
    clock.now = at("2026-06-03 12:00")
    night.run_next(b.id)
    assert night.claim_next().id == b.id
    assert night.claim_next() is None
    assert night.get(a.id).status is TaskStatus.PENDING


def test_a_worker_with_windows_of_its_own_runs_only_when_both_are_open(night, clock):
    from task_scheduler.workers import WorkerIdentity

    night.enqueue(task())
    gpu = WorkerIdentity.local("gpu0")
    night.workers.register(gpu)
    night.set_schedule(worker="gpu0", worker_windows="Sat,Sun 00:00-24:00")
    clock.now = at("2026-06-03 23:30")  # the queue's window is open, not this worker's
    assert night.claim_next(worker=gpu) is None
    clock.now = at("2026-06-06 12:00")  # Saturday: both
    assert night.claim_next(worker=gpu) is not None


# -- not before ------------------------------------------------------------------------------------


def test_a_task_with_a_start_time_waits_for_it_and_the_others_go_first(queue, clock):
    clock.now = at("2026-06-03 12:00")
    later = queue.enqueue(task("later", not_before=at("2026-06-03 13:00")))
    now = queue.enqueue(task("now"))
    assert queue.claim_next().id == now.id
    assert queue.claim_next() is None
    clock.now = at("2026-06-03 13:00")
    assert queue.claim_next().id == later.id


def test_a_job_with_a_start_time_holds_all_its_tasks_until_then(queue, clock):
    clock.now = at("2026-06-03 12:00")
    jobs = Jobs(queue)
    job, tasks = jobs.create([task("a"), task("b")], name="lora test", not_before=at("2026-06-04 01:00"))
    assert job.not_before == at("2026-06-04 01:00")
    assert queue.claim_next() is None
    clock.now = at("2026-06-04 01:00")
    assert queue.claim_next().id == tasks[0].id


def test_an_idle_executor_sleeps_until_the_next_start_time_not_less(queue, clock):
    clock.now = at("2026-06-03 12:00")
    queue.enqueue(task(not_before=at("2026-06-03 12:10")))
    executor = Executor(queue, InMemoryRunner())
    assert executor.run_one() is False
    assert executor.idle_step() == pytest.approx(600, abs=0.1)
    clock.now = at("2026-06-03 12:10")
    assert executor.run_one() is True


def test_an_idle_executor_outside_its_window_sleeps_until_it_opens(night, clock):
    night.enqueue(task())
    clock.now = at("2026-06-03 22:00")
    executor = Executor(night, InMemoryRunner())
    assert executor.run_one() is False
    assert executor.idle_step() == pytest.approx(3600, abs=0.1)


def test_a_start_time_in_a_patch_can_be_moved_and_cleared(queue, clock):
    clock.now = at("2026-06-03 12:00")
    queued = queue.enqueue(task())
    queue.edit(queued.id, not_before=at("2026-06-03 18:00"))
    assert queue.claim_next() is None
    queue.edit(queued.id, not_before=None)
    assert queue.claim_next().id == queued.id


def test_a_start_time_that_is_not_a_time_is_refused(queue):
    with pytest.raises(InvalidTaskData, match="not_before"):
        queue.enqueue(task(not_before=float("nan")))


# -- restart -----------------------------------------------------------------------------------------


def test_windows_and_start_times_survive_a_restart(store_location, files, clock):
    first = Store(store_location, clock=clock)
    queue = TaskQueue(first, files)
    queue.set_schedule(windows="Daily 23:00-07:30", timezone="Europe/Berlin", unload_after_s=120)
    clock.now = at("2026-06-03 12:00")
    queue.enqueue(task(not_before=at("2026-06-04 01:00")))
    first.close()
    again = TaskQueue(Store(store_location, clock=clock), files)
    config = again.schedule_config()
    assert (config.windows, config.timezone, config.unload_after_s) == (
        "Daily 23:00-07:30",
        "Europe/Berlin",
        120.0,
    )
    clock.now = at("2026-06-03 23:30")  # inside the window, before the task's time
    assert again.claim_next() is None
    clock.now = at("2026-06-04 01:00")
    assert again.claim_next() is not None
    again.store.close()

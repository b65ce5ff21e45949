"""The API of scheduling in time: windows, start times and repetitions on queue bodies, PATCH and
jobs; what ``GET /queue`` says the queue is doing; Agent Scheduler's shapes left as they were."""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from test_http_helpers import API, client, services, settings  # noqa: F401 - fixtures

from task_scheduler.executor import Executor
from task_scheduler.runner import InMemoryRunner

BERLIN = ZoneInfo("Europe/Berlin")

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=BERLIN).timestamp()


@pytest.fixture
def night(client, clock):
    answer = client.put(
        f"{API}/schedule",
        json={"windows": "mon-fri 23:00-07:30; sat,sun 00:00-24:00", "timezone": "Europe/Berlin"},
    )
    assert answer.status_code == 200, answer.text
    return client


def test_the_windows_are_stored_in_their_canonical_form_and_read_back(night):
    body = night.get(f"{API}/schedule").json()
    assert body["windows"] == "Mon-Fri 23:00-07:30; Sat-Sun 00:00-24:00"
    assert body["timezone"] == "Europe/Berlin"


def test_windows_that_cannot_be_read_are_a_422_naming_the_rule(night):
    answer = night.put(f"{API}/schedule", json={"windows": "Mon-Fri 23:00"})
    assert answer.status_code == 422
    assert "windows rule 1" in answer.text and "days then times" in answer.text
    assert night.get(f"{API}/schedule").json()["windows"] == "Mon-Fri 23:00-07:30; Sat-Sun 00:00-24:00"


def test_get_queue_says_holding_until_the_window_opens(night, clock):
    clock.now = at("2026-06-03 12:00")
    night.post(f"{API}/queue/txt2img", json={"prompt": "a"})
    state = night.get(f"{API}/queue").json()["schedule"]
    assert (state["state"], state["text"]) == ("holding", "holding until 23:00")
    assert state["next_start"] == "2026-06-03T21:00:00.000Z"
    assert state["window_open"] is False


def test_get_queue_names_the_job_that_starts_next_and_when(client, clock):
    clock.now = at("2026-06-03 12:00")
    client.put(f"{API}/schedule", json={"timezone": "Europe/Berlin"})
    answer = client.post(
        f"{API}/jobs",
        json={
            "name": "lora test",
            "base": {"prompt": "x"},
            "axes": [{"type": "steps", "values": [1, 2]}],
            "not_before": "2026-06-04T01:00:00+02:00",
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["not_before"] == "2026-06-03T23:00:00.000Z"
    state = client.get(f"{API}/queue").json()["schedule"]
    assert (state["state"], state["text"]) == ("waiting", "next: job 'lora test' at 01:00")


def test_a_task_queued_with_a_start_time_and_a_repetition_shows_both(client, clock):
    clock.now = at("2026-06-03 12:00")
    answer = client.post(
        f"{API}/queue/txt2img",
        json={
            "prompt": "a",
            "not_before": at("2026-06-03 13:00"),
            "repeat": {"times": 3, "keep_seeds": True},
        },
    )
    assert answer.status_code == 201, answer.text
    task = answer.json()
    assert task["not_before"] == "2026-06-03T11:00:00.000Z"
    assert task["repeat"] == {
        "times": 3,
        "until_stopped": False,
        "round": 1,
        "keep_seeds": True,
        "stopped": False,
    }
    assert task["round"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "a", "not_before": "tomorrow-ish"}, "not_before"),
        ({"prompt": "a", "repeat": {"times": -1}}, "times"),
        ({"prompt": "a", "repeat": {"times": 10**6}}, "times"),
    ],
)
def test_a_bad_start_time_or_repetition_is_a_422_and_nothing_is_queued(client, body, field):
    answer = client.post(f"{API}/queue/txt2img", json=body)
    assert answer.status_code == 422
    assert field in answer.text
    assert client.get(f"{API}/queue").json()["total_pending"] == 0


def test_patch_sets_and_clears_a_start_time_and_a_repetition(client, clock):
    clock.now = at("2026-06-03 12:00")
    task_id = client.post(f"{API}/queue/txt2img", json={"prompt": "a"}).json()["id"]
    patched = client.patch(
        f"{API}/tasks/{task_id}", json={"not_before": "2026-06-03T18:00:00+02:00", "repeat": {"times": 0}}
    ).json()
    assert patched["not_before"] == "2026-06-03T16:00:00.000Z" and patched["repeat"]["until_stopped"]
    cleared = client.patch(f"{API}/tasks/{task_id}", json={"not_before": None, "repeat": None}).json()
    assert (cleared["not_before"], cleared["repeat"]) == (None, None)


def test_stop_repeating_keeps_the_task_and_stops_the_rounds(client, queue):
    task_id = client.post(f"{API}/queue/txt2img", json={"prompt": "a", "repeat": {"times": 0}}).json()["id"]
    executor = Executor(queue, InMemoryRunner())
    executor.run_one()
    answer = client.post(f"{API}/tasks/{task_id}/stop-repeating")
    assert answer.status_code == 200 and answer.json()["repeat"]["stopped"] is True
    executor.run_one()  # the second round, queued before the stop, runs
    assert executor.run_one() is False
    assert client.get(f"{API}/tasks/{task_id}").json()["status"] == "done"


def test_a_job_can_be_scheduled_and_its_repetition_stopped(client, clock):
    clock.now = at("2026-06-03 12:00")
    job = client.post(
        f"{API}/jobs", json={"base": {"prompt": "x"}, "axes": [{"type": "steps", "values": [1]}]}
    ).json()
    patched = client.patch(
        f"{API}/jobs/{job['id']}", json={"not_before": at("2026-06-04 01:00"), "repeat": {"times": 2}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["repeat"]["times"] == 2
    stopped = client.post(f"{API}/jobs/{job['id']}/stop-repeating").json()
    assert stopped["repeat"]["stopped"] is True


def test_the_unload_delay_is_checked(client):
    answer = client.put(f"{API}/schedule", json={"unload_after_s": -5})
    assert answer.status_code == 422 and "unload_after_s" in answer.text
    assert client.put(f"{API}/schedule", json={"unload_after_s": 300}).json()["unload_after_s"] == 300


def test_agent_schedulers_queue_shape_is_unchanged(night):
    body = night.get("/agent-scheduler/v1/queue").json()
    assert "schedule" not in body
    assert set(body) == {"current_task_id", "pending_tasks", "total_pending_tasks", "paused"}


def test_export_and_import_keep_a_start_time_and_a_repetition(client, clock):
    clock.now = at("2026-06-03 12:00")
    client.post(
        f"{API}/queue/txt2img",
        json={
            "prompt": "a",
            "not_before": at("2026-06-03 18:00"),
            "repeat": {"times": 0, "keep_seeds": True},
        },
    )
    exported = client.get(f"{API}/export").json()
    client.post(f"{API}/queue/clear")
    answer = client.post(f"{API}/import", json={"tasks": exported})
    assert answer.status_code in (200, 201), answer.text
    (task,) = client.get(f"{API}/queue").json()["pending"]
    assert task["not_before"] == "2026-06-03T16:00:00.000Z"
    assert task["repeat"]["until_stopped"] and task["repeat"]["keep_seeds"]

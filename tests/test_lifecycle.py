"""The task lifecycle: every legal move works, every illegal one is refused by the store."""

from __future__ import annotations

import itertools

import pytest
from helpers import make_task

from task_scheduler.errors import InvalidTransition, TaskNotFound
from task_scheduler.task import TRANSITIONS, TaskStatus, allowed_sources

LEGAL = {(src, dst) for src, targets in TRANSITIONS.items() for dst in targets}
ALL_PAIRS = set(itertools.product(TaskStatus, TaskStatus))


def put_in_status(queue, store, status: TaskStatus) -> str:
    """Drive a fresh task into ``status`` through legal moves only."""
    task = queue.enqueue(make_task())
    path = {
        TaskStatus.PENDING: [],
        TaskStatus.RUNNING: [TaskStatus.RUNNING],
        TaskStatus.DONE: [TaskStatus.RUNNING, TaskStatus.DONE],
        TaskStatus.FAILED: [TaskStatus.RUNNING, TaskStatus.FAILED],
        TaskStatus.INTERRUPTED: [TaskStatus.RUNNING, TaskStatus.INTERRUPTED],
        TaskStatus.CANCELLED: [TaskStatus.CANCELLED],
    }[status]
    for step in path:
        with store.write() as conn:
            store.transition(conn, task.id, step)
    assert queue.get(task.id).status is status
    return task.id


def test_the_table_names_the_documented_lifecycle():
    assert {s.value for s in TaskStatus} == {
        "pending",
        "running",
        "done",
        "failed",
        "interrupted",
        "cancelled",
    }
    assert {
        (TaskStatus.PENDING, TaskStatus.RUNNING),
        (TaskStatus.PENDING, TaskStatus.CANCELLED),
        (TaskStatus.RUNNING, TaskStatus.DONE),
        (TaskStatus.RUNNING, TaskStatus.FAILED),
        (TaskStatus.RUNNING, TaskStatus.INTERRUPTED),
        (TaskStatus.RUNNING, TaskStatus.CANCELLED),
        (TaskStatus.INTERRUPTED, TaskStatus.PENDING),
    } == LEGAL
    assert allowed_sources(TaskStatus.PENDING) == {TaskStatus.INTERRUPTED}


@pytest.mark.parametrize(("src", "dst"), sorted(LEGAL, key=str), ids=lambda s: s.value)
def test_legal_transition_is_applied(queue, store, src, dst):
    task_id = put_in_status(queue, store, src)
    with store.write() as conn:
        store.transition(conn, task_id, dst)
    assert queue.get(task_id).status is dst


@pytest.mark.parametrize(("src", "dst"), sorted(ALL_PAIRS - LEGAL, key=str), ids=lambda s: s.value)
def test_illegal_transition_is_refused_and_changes_nothing(queue, store, src, dst):
    task_id = put_in_status(queue, store, src)
    before = queue.get(task_id)
    with pytest.raises(InvalidTransition) as err, store.write() as conn:
        store.transition(conn, task_id, dst)
    assert err.value.current == src.value
    assert src.value in str(err.value)
    after = queue.get(task_id)
    assert after.status is src
    assert after.updated_at == before.updated_at


def test_transition_of_unknown_task_is_not_found(store):
    with pytest.raises(TaskNotFound), store.write() as conn:
        store.transition(conn, "nope", TaskStatus.RUNNING)


def test_a_refused_transition_rolls_back_the_whole_transaction(queue, store):
    first = queue.enqueue(make_task("first"))
    done_id = put_in_status(queue, store, TaskStatus.DONE)
    with pytest.raises(InvalidTransition), store.write() as conn:
        store.transition(conn, first.id, TaskStatus.RUNNING)
        store.transition(conn, done_id, TaskStatus.RUNNING)
    assert queue.get(first.id).status is TaskStatus.PENDING

"""Queue operations as the UI, the HTTP API and the executor see them."""

from __future__ import annotations

import threading

import pytest
from helpers import make_task

from task_scheduler.errors import InvalidTaskData, InvalidTransition, TaskNotFound
from task_scheduler.task import NewTask, TaskResult, TaskStatus

#: the store contract: each test here runs on SQLite and on a real PostgreSQL (conftest.py)
STORE_ENGINES = ("sqlite", "postgresql")


def names(tasks):
    return [t.params["prompt"] for t in tasks]


def finish(queue, task_id, status=TaskStatus.DONE, **kw):
    """Run ``task_id`` to an outcome the way the executor does, whatever else is pending."""
    with queue.store.write() as conn:
        queue.store.transition(conn, task_id, TaskStatus.RUNNING)
    return queue.finish(task_id, status, **kw)


# -- enqueue and order ---------------------------------------------------------------------


def test_enqueue_returns_stored_task_with_defaults(queue):
    task = queue.enqueue(make_task("a cat", name="first", checkpoint="model-a.safetensors", user="ann"))
    stored = queue.get(task.id)
    assert stored.status is TaskStatus.PENDING
    assert len(stored.id) == 32 and int(stored.id, 16) >= 0
    assert stored.params == {"prompt": "a cat", "steps": 2, "width": 64, "height": 64}
    assert (stored.name, stored.checkpoint, stored.user, stored.attempts) == (
        "first",
        "model-a.safetensors",
        "ann",
        0,
    )
    assert stored.created_at == stored.updated_at and stored.started_at is None


def test_pending_runs_in_enqueue_order_and_top_goes_first(queue):
    queue.enqueue_many([make_task("a"), make_task("b")])
    queue.enqueue(make_task("c"))
    queue.enqueue(make_task("urgent"), at="top")
    assert names(queue.pending()) == ["urgent", "a", "b", "c"]
    queue.enqueue_many([make_task("x"), make_task("y")], at="top")
    assert names(queue.pending()) == ["x", "y", "urgent", "a", "b", "c"]


def test_enqueue_many_is_all_or_nothing(queue):
    queue.enqueue(make_task("kept"))
    bad = NewTask(kind="txt2img", params={"prompt": float("nan")})
    with pytest.raises(InvalidTaskData) as err:
        queue.enqueue_many([make_task("new"), bad])
    assert err.value.field == "params.prompt"
    assert names(queue.pending()) == ["kept"]


@pytest.mark.parametrize(
    ("new", "field"),
    [
        (NewTask(kind="Txt 2 img", params={}), "kind"),
        (NewTask(kind="txt2img", params=["prompt"]), "params"),  # type: ignore[arg-type]
        (NewTask(kind="txt2img", params={"image": b"\x89PNG"}), "params.image"),
        (NewTask(kind="txt2img", params={"obj": object()}), "params.obj"),
        (NewTask(kind="txt2img", params={}, script_args=[1, 2]), "script_args"),  # type: ignore[arg-type]
        (NewTask(kind="txt2img", params={}, name="x" * 201), "name"),
        (NewTask(kind="txt2img", params={}, source="cli"), "source"),
        (NewTask(kind="txt2img", params={}, priority="high"), "priority"),  # type: ignore[arg-type]
    ],
)
def test_bad_task_data_is_refused_with_the_field_named(queue, new, field):
    with pytest.raises(InvalidTaskData) as err:
        queue.enqueue(new)
    assert err.value.field == field
    assert queue.pending() == []


def test_priority_orders_before_position(queue):
    queue.enqueue(make_task("low"))
    queue.enqueue(make_task("high", priority=5))
    assert names(queue.pending()) == ["high", "low"]


def test_moves_to_top_bottom_before_and_after(queue):
    a, b, c, d = queue.enqueue_many([make_task(x) for x in "abcd"])
    queue.move(d.id, to="top")
    assert names(queue.pending()) == ["d", "a", "b", "c"]
    queue.move(d.id, to="bottom")
    assert names(queue.pending()) == ["a", "b", "c", "d"]
    queue.move(a.id, after=c.id)
    assert names(queue.pending()) == ["b", "c", "a", "d"]
    queue.move(d.id, before=b.id)
    assert names(queue.pending()) == ["d", "b", "c", "a"]
    queue.move(b.id, after=a.id)
    assert names(queue.pending()) == ["d", "c", "a", "b"]
    assert queue.get(b.id).pinned and not queue.get(c.id).pinned
    assert [queue.position_of(t.id) for t in (d, c, a, b)] == [1, 2, 3, 4]


def test_many_moves_between_the_same_neighbours_never_collide(queue):
    tasks = queue.enqueue_many([make_task(str(i)) for i in range(3)])
    first, last = tasks[0], tasks[2]
    movers = queue.enqueue_many([make_task(f"m{i}") for i in range(60)])
    for mover in movers:  # squeeze every mover in right after `first`: halves the gap each time
        queue.move(mover.id, after=first.id)
    order = names(queue.pending())
    assert order[0] == "0" and order[-1] == "2" and order[-2] == "1"
    assert order[1:61] == [f"m{i}" for i in reversed(range(60))]
    assert queue.position_of(last.id) == 63


def test_move_rejects_finished_self_and_ambiguous(queue):
    a, b = queue.enqueue_many([make_task("a"), make_task("b")])
    finish(queue, a.id)
    with pytest.raises(InvalidTransition):
        queue.move(a.id, to="top")
    with pytest.raises(InvalidTransition):
        queue.move(b.id, before=a.id)
    with pytest.raises(InvalidTaskData):
        queue.move(b.id, before=b.id)
    with pytest.raises(InvalidTaskData):
        queue.move(b.id, to="top", after=a.id)
    with pytest.raises(InvalidTaskData):
        queue.move(b.id, to="middle")  # type: ignore[arg-type]
    with pytest.raises(TaskNotFound):
        queue.move("missing", to="top")


# -- claiming ------------------------------------------------------------------------------


def test_claim_marks_running_and_counts_attempts(queue):
    task = queue.enqueue(make_task())
    claimed = queue.claim_next()
    assert claimed.id == task.id and claimed.status is TaskStatus.RUNNING
    assert claimed.started_at is not None and claimed.attempts == 1
    assert queue.claim_next() is None


def test_claim_under_eight_threads_never_hands_a_task_out_twice(queue):
    queue.enqueue_many([make_task(str(i)) for i in range(400)])
    claimed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        while (task := queue.claim_next()) is not None:
            with lock:
                claimed.append(task.id)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == 400 and len(set(claimed)) == 400
    assert queue.count(TaskStatus.RUNNING) == 400


def test_checkpoint_aware_claim_prefers_the_loaded_model(queue):
    queue.enqueue_many(
        [
            make_task("a1", checkpoint="A.safetensors"),
            make_task("b1", checkpoint="B.safetensors"),
            make_task("a2", checkpoint="A.safetensors"),
            make_task("b2", checkpoint="B.safetensors"),
        ]
    )
    order = []
    loaded = None
    while (task := queue.claim_next(prefer_checkpoint=loaded)) is not None:
        order.append(task.params["prompt"])
        loaded = task.checkpoint
    assert order == ["a1", "a2", "b1", "b2"]


def test_checkpoint_match_ignores_hash_suffix_and_case(queue):
    queue.enqueue_many(
        [make_task("a", checkpoint="A.safetensors"), make_task("b", checkpoint="sub/B.safetensors")]
    )
    assert queue.claim_next(prefer_checkpoint="SUB\\b.safetensors [0123456789]").params["prompt"] == "b"


def test_explicit_order_beats_checkpoint_preference(queue):
    a, b, c = queue.enqueue_many(
        [make_task("a", checkpoint="A"), make_task("b", checkpoint="B"), make_task("c", checkpoint="B")]
    )
    queue.move(a.id, to="top")  # the user said: a first
    assert queue.claim_next(prefer_checkpoint="B").id == a.id
    queue.move(c.id, before=b.id)  # pinned c sits first now; nothing may jump it
    d = queue.enqueue(make_task("d", checkpoint="A"))
    assert queue.claim_next(prefer_checkpoint="A").id == c.id
    assert queue.claim_next(prefer_checkpoint="A").id == d.id  # b is unpinned: d (loaded model) first


def test_paused_queue_claims_nothing_but_run_next(queue):
    a, b = queue.enqueue_many([make_task("a"), make_task("b")])
    queue.pause()
    assert queue.paused and queue.claim_next() is None
    queue.run_next(b.id)
    assert queue.claim_next().id == b.id
    assert queue.claim_next() is None  # only that one task
    queue.resume()
    assert not queue.paused and queue.claim_next().id == a.id


def test_pause_state_survives_reopening(queue, store, store_location, clock):
    from task_scheduler.store import Store
    from task_scheduler.task_queue import TaskQueue

    queue.pause()
    store.close()
    reopened = TaskQueue(Store(store_location, clock=clock))
    assert reopened.paused


# -- finishing, history --------------------------------------------------------------------


def test_finish_records_result_error_and_warnings(queue):
    task = queue.enqueue(make_task())
    queue.claim_next()
    result = TaskResult(images=["/out/1.png"], infotexts=["a cat\nSteps: 2"], seeds=[7])
    done = queue.finish(task.id, TaskStatus.DONE, result=result, warnings=["script X is gone"])
    assert done.status is TaskStatus.DONE and done.finished_at >= done.started_at
    assert done.result == result and done.warnings == ["script X is gone"]
    with pytest.raises(InvalidTransition):
        queue.finish(task.id, TaskStatus.FAILED, error="twice")


def test_history_filters_searches_and_pages_newest_first(queue):
    for i in range(30):
        task = queue.enqueue(
            make_task(f"prompt {i}", name=f"n{i}", checkpoint="modelX" if i % 3 == 0 else "other")
        )
        finish(
            queue,
            task.id,
            TaskStatus.FAILED if i % 5 == 0 else TaskStatus.DONE,
            error="boom" if i % 5 == 0 else None,
        )
    queue.enqueue(make_task("still pending"))
    page = queue.history(limit=10)
    assert page.total == 30 and names(page.tasks) == [f"prompt {i}" for i in range(29, 19, -1)]
    assert names(queue.history(limit=10, offset=25).tasks) == [f"prompt {i}" for i in range(4, -1, -1)]
    failed = queue.history(status=TaskStatus.FAILED)
    assert failed.total == 6 and all(t.status is TaskStatus.FAILED for t in failed.tasks)
    assert queue.history(search="PROMPT 2").total == 11  # 2, 20..29
    assert queue.history(search="modelx").total == 10
    assert queue.history(search="n7").total == 1
    assert queue.history(search="100%").total == 0  # LIKE wildcards are literal
    assert queue.history(status=[TaskStatus.FAILED], search="prompt 1").total == 2  # 10, 15


def test_history_bookmarked_filter(queue):
    ids = []
    for i in range(4):
        task = queue.enqueue(make_task(str(i)))
        finish(queue, task.id)
        ids.append(task.id)
    queue.set_bookmark(ids[1], True)
    page = queue.history(bookmarked=True)
    assert [t.id for t in page.tasks] == [ids[1]] and page.total == 1
    queue.set_bookmark(ids[1], False)
    assert queue.history(bookmarked=True).total == 0


@pytest.mark.parametrize("kw", [{"limit": 0}, {"limit": 501}, {"offset": -1}, {"status": "bogus"}])
def test_history_rejects_bad_paging(queue, kw):
    with pytest.raises(InvalidTaskData):
        queue.history(**kw)


# -- edits ---------------------------------------------------------------------------------


def test_edit_merges_params_and_updates_search(queue):
    task = queue.enqueue(make_task("old prompt", script_args={"ADetailer": [{"ad_model": "face"}]}))
    edited = queue.edit(
        task.id,
        params={"prompt": "new prompt", "steps": 30, "width": None},
        script_args={"ControlNet": [{"enabled": True}]},
        checkpoint="B.safetensors",
        name="renamed",
    )
    assert edited.params == {"prompt": "new prompt", "steps": 30, "height": 64}
    assert edited.script_args == {"ADetailer": [{"ad_model": "face"}], "ControlNet": [{"enabled": True}]}
    assert (edited.checkpoint, edited.name) == ("B.safetensors", "renamed")
    finish(queue, task.id)
    assert queue.history(search="new prompt").total == 1
    assert queue.history(search="old prompt").total == 0


def test_edit_of_running_or_finished_task_is_refused_and_nothing_changes(queue):
    task = queue.enqueue(make_task("keep me"))
    queue.claim_next()
    with pytest.raises(InvalidTransition) as err:
        queue.edit(task.id, params={"prompt": "changed"})
    assert "running" in str(err.value)
    queue.finish(task.id, TaskStatus.DONE)
    with pytest.raises(InvalidTransition):
        queue.edit(task.id, params={"prompt": "changed"})
    assert queue.get(task.id).params["prompt"] == "keep me"


def test_edit_validation_and_custom_validator(queue):
    task = queue.enqueue(make_task())
    with pytest.raises(InvalidTaskData):
        queue.edit(task.id, params={"seed": float("inf")})

    def no_big_images(t):
        if t.params.get("width", 0) > 4096:
            raise InvalidTaskData("width", "at most 4096")

    with pytest.raises(InvalidTaskData) as err:
        queue.edit(task.id, params={"width": 8192}, validate=no_big_images)
    assert err.value.field == "width" and queue.get(task.id).params["width"] == 64


def test_rename_and_bookmark_work_in_any_status(queue):
    task = queue.enqueue(make_task())
    queue.claim_next()
    assert queue.rename(task.id, "night run").name == "night run"
    assert queue.set_bookmark(task.id, True).bookmarked
    with pytest.raises(InvalidTaskData):
        queue.rename(task.id, "x" * 300)
    with pytest.raises(TaskNotFound):
        queue.rename("missing", "x")


def test_a_rename_during_the_run_survives_the_outcome(queue):
    task = queue.enqueue(make_task())
    queue.claim_next()
    queue.rename(task.id, "renamed while running")
    queue.finish(task.id, TaskStatus.DONE, result=TaskResult(images=["x.png"]))
    done = queue.get(task.id)
    assert done.name == "renamed while running" and done.result.images == ["x.png"]


# -- requeue, delete, clear, retention -----------------------------------------------------


def test_requeue_copies_a_finished_task_and_links_it(queue, files):
    ref = files.put(b"init image bytes")
    task = queue.enqueue(make_task("again", files=[ref], callback_url="http://127.0.0.1:9/cb"))
    with pytest.raises(InvalidTransition):
        queue.requeue(task.id)
    finish(queue, task.id, TaskStatus.FAILED, error="boom")
    copy = queue.requeue(task.id)
    assert copy.id != task.id and copy.requeued_from == task.id and copy.status is TaskStatus.PENDING
    assert copy.params == task.params and copy.callback_url == task.callback_url
    assert queue.files_of(copy.id) == [ref]
    assert queue.get(task.id).status is TaskStatus.FAILED


def test_requeue_failed_requeues_each_failure_once(queue):
    for i, status in enumerate([TaskStatus.FAILED, TaskStatus.DONE, TaskStatus.FAILED]):
        finish(queue, queue.enqueue(make_task(str(i))).id, status)
    copies = queue.requeue_failed()
    assert sorted(names(copies)) == ["0", "2"] and names(queue.pending()) == ["0", "2"]


def test_delete_pending_removes_it_and_its_unshared_files(queue, files):
    shared, own = files.put(b"shared"), files.put(b"own")
    a = queue.enqueue(make_task("a", files=[shared, own]))
    b = queue.enqueue(make_task("b", files=[shared]))
    assert queue.delete(a.id) == "deleted"
    with pytest.raises(TaskNotFound):
        queue.get(a.id)
    assert files.exists(shared) and not files.exists(own)
    queue.delete(b.id)
    assert not files.exists(shared)


def test_a_new_task_uploading_the_same_image_while_the_last_user_is_deleted_keeps_its_file(
    queue, files, monkeypatch
):
    """The orphan is unlinked after the delete commits; a put of the same bytes in that window
    found the file still there, skipped writing it, and the new task pointed at a deleted file."""
    image = b"the same init image"
    old = queue.enqueue(make_task("old", files=[files.put(image)]))
    real_delete = files.delete

    def upload_in_the_window(refs, conn=None):
        uploaded.append(files.put(image))  # a request for a new task arrives right now
        return real_delete(refs, conn)

    uploaded: list[str] = []
    monkeypatch.setattr(files, "delete", upload_in_the_window)
    assert queue.delete(old.id) == "deleted"
    new = queue.enqueue(make_task("new", files=uploaded))
    assert files.read(queue.files_of(new.id)[0]) == image
    monkeypatch.undo()
    queue.delete(new.id)  # the last user now: the file goes
    assert not files.exists(uploaded[0])


def test_a_put_whose_task_never_comes_holds_its_file_only_for_a_while(files, clock):
    from task_scheduler.files import HOLD_S, FileStore

    aged = FileStore(files.root, clock=clock)
    ref = aged.put(b"refused upload")  # its task was refused and never queued
    assert aged.delete([ref]) == [] and aged.exists(ref)
    clock.advance(HOLD_S + 1)
    assert aged.delete([ref]) == [ref] and not aged.exists(ref)


def test_delete_running_asks_for_a_stop_instead(queue):
    task = queue.enqueue(make_task())
    queue.claim_next()
    assert queue.delete(task.id) == "stopping"
    assert queue.stop_request(task.id) == "cancelled"
    assert queue.get(task.id).status is TaskStatus.RUNNING


def test_cancel_only_pending(queue):
    a, b = queue.enqueue_many([make_task("a"), make_task("b")])
    assert queue.cancel(a.id).status is TaskStatus.CANCELLED
    queue.claim_next()
    with pytest.raises(InvalidTransition):
        queue.cancel(b.id)


def test_clear_pending_and_clear_history_keep_what_they_should(queue):
    done = queue.enqueue(make_task("done"))
    marked = queue.enqueue(make_task("marked"))
    finish(queue, done.id)
    finish(queue, marked.id)
    queue.set_bookmark(marked.id, True)
    running = queue.enqueue(make_task("running"))
    queue.claim_next()
    queue.enqueue_many([make_task("p1"), make_task("p2")])
    assert queue.clear_pending() == 2 and queue.pending() == []
    assert queue.clear_history() == 1
    assert [t.id for t in queue.history().tasks] == [marked.id]
    assert queue.get(running.id).status is TaskStatus.RUNNING


def test_retention_purges_old_history_but_keeps_bookmarks_and_recent(queue, clock):
    old, old_marked = queue.enqueue(make_task("old")), queue.enqueue(make_task("old marked"))
    finish(queue, old.id)
    finish(queue, old_marked.id)
    queue.set_bookmark(old_marked.id, True)
    clock.advance(8 * 86400)
    recent = queue.enqueue(make_task("recent"))
    finish(queue, recent.id)
    pending = queue.enqueue(make_task("pending"))
    assert queue.purge_older_than(7 * 86400) == 1
    assert {t.id for t in queue.history().tasks} == {old_marked.id, recent.id}
    assert queue.get(pending.id).status is TaskStatus.PENDING


# -- revision ------------------------------------------------------------------------------


def test_every_mutation_bumps_the_revision(queue):
    seen = [queue.revision]
    task = queue.enqueue(make_task())
    seen.append(queue.revision)
    queue.rename(task.id, "x")
    seen.append(queue.revision)
    queue.pause()
    seen.append(queue.revision)
    queue.get(task.id)  # reads do not
    seen.append(queue.revision)
    assert seen[0] < seen[1] < seen[2] < seen[3] == seen[4]


def test_wait_for_change_returns_when_something_changes(queue):
    start = queue.revision
    assert queue.wait_for_change(start, timeout=0.05) == start
    timer = threading.Timer(0.05, lambda: queue.enqueue(make_task()))
    timer.start()
    assert queue.wait_for_change(start, timeout=5) > start
    timer.join()


def test_listeners_hear_changes_and_a_failing_listener_harms_nothing(queue):
    events = []
    queue.subscribe(lambda e, t: 1 / 0)
    unsubscribe = queue.subscribe(lambda e, t: events.append(e))
    task = queue.enqueue(make_task())
    queue.rename(task.id, "x")
    unsubscribe()
    queue.pause()
    assert events == ["enqueued", "renamed"]

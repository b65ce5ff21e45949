"""Tasks queued while the WebUI still loads its start-up model (A1111's start-up thread).

Real A1111 1.10.1 loads the selected checkpoint in a thread of its own at start; the executor
starts at app start too. A task that switched checkpoints with a load of its own ran both loads
at once and failed ("Cannot copy out of meta tensor"). Forge loads nothing at start.
"""

from __future__ import annotations

import pytest
import webui_double
from test_extension import load_script, start, wait_until

from task_scheduler import config
from task_scheduler.task import NewTask, TaskStatus


@pytest.fixture(params=list(webui_double.FLAVOURS), ids=list(webui_double.FLAVOURS))
def loading_env(request, tmp_path, monkeypatch):
    """The double right after start: A1111's start-up load still in progress."""
    from task_scheduler.webui import extension

    monkeypatch.setenv(config.ENV_DB_PATH, str(tmp_path / "db" / "queue.sqlite3"))
    with webui_double.installed(request.param, tmp_path, hold_start_load=True) as env:
        load_script("task_scheduler")
        env.add_script(load_script("task_scheduler_params").TaskSchedulerParams)
        try:
            yield env
        finally:
            env.finish_start_load()
            extension.shutdown()


def task(checkpoint: str | None, prompt: str) -> NewTask:
    params = {"prompt": prompt, "steps": 2, "width": 64, "height": 64}
    return NewTask(kind="txt2img", params=params, checkpoint=checkpoint)


def test_tasks_queued_during_the_start_up_load_wait_for_it_and_all_finish(loading_env):
    from task_scheduler.webui import extension

    start(loading_env)
    ext = extension.state()
    queued = [
        ext.queue.enqueue(task("random-sd15-b.safetensors", "b first")),
        ext.queue.enqueue(task(None, "current")),
        ext.queue.enqueue(task("random-sd15-b.safetensors", "b again")),
    ]
    if not loading_env.is_forge:
        # the first task must wait for the WebUI's own load, not start a second one
        assert wait_until(
            lambda: loading_env.model_lock_waiters > 0 or ext.queue.get(queued[0].id).is_finished,
            timeout=10,
        )
        loading_env.finish_start_load()
    assert wait_until(lambda: all(ext.queue.get(t.id).is_finished for t in queued), timeout=10)
    finals = [(ext.queue.get(t.id).status, ext.queue.get(t.id).error) for t in queued]
    assert finals == [(TaskStatus.DONE, None)] * 3
    expected = ["random-sd15-b.safetensors"]
    if not loading_env.is_forge:
        expected = ["random-sd15-a.safetensors", *expected]  # the start-up load, then the switches
    assert loading_env.model_loads == expected
    assert [g.checkpoint for g in loading_env.generations] == ["random-sd15-b.safetensors"] * 3

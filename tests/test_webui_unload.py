"""Giving the GPU back inside the WebUI (double): the WebUI's own unload after the idle delay, and
the next task loading the model again and making the same image; on every flavour of the stack."""
# ruff: noqa: F811 - fixtures imported from test_webui_runner are redefined as arguments

from __future__ import annotations

import pytest
from test_webui_runner import env, queue_click, rgb, run_all, settings, wexec, wrunner  # noqa: F401

from task_scheduler.task import TaskStatus


def unload_after_idle(queue, clock, wexec, delay: float = 60) -> None:
    queue.set_schedule(unload_after_s=delay)
    assert wexec.run_one() is False
    clock.advance(delay + 1)
    wexec.idle_step()


def model():
    from modules import sd_models

    return sd_models.model_data.sd_model


def test_the_model_is_unloaded_after_the_delay_and_the_next_task_makes_the_same_image(
    env, queue, files, clock, wexec, wrunner
):
    first = queue_click(env, queue, files, prompt="same", seed=77)
    run_all(wexec)
    loads = len(env.model_loads)
    unload_after_idle(queue, clock, wexec)
    assert wrunner.unloads == 1
    assert queue.unloaded_workers().keys() == {wexec.worker.id}
    if env.is_forge:
        from backend import memory_management

        assert memory_management.current_loaded_models == []
        assert getattr(model(), "sd_checkpoint_info", None) is None  # released from RAM
    else:
        assert model().device == "cpu"
    second = queue_click(env, queue, files, prompt="same", seed=77)
    run_all(wexec)
    done = queue.get(second.id)
    assert done.status is TaskStatus.DONE, done.error
    assert rgb(done.result.images[0]) == rgb(queue.get(first.id).result.images[0])
    assert queue.unloaded_workers() == {}
    if env.is_forge:
        assert len(env.model_loads) == loads + 1  # loaded again, as after a start
    else:
        assert model().device == "cuda" and len(env.model_loads) == loads


def test_nothing_is_unloaded_before_the_queue_ran_a_task(env, queue, clock, wexec, wrunner):
    unload_after_idle(queue, clock, wexec)
    assert wrunner.unloads == 0


def test_a1111_fails_a_generation_after_its_unload_unless_the_model_goes_back(
    env, queue, files, clock, wexec, monkeypatch
):
    if env.is_forge:
        pytest.skip("A1111's unload keeps the model in RAM; Forge's loads it again by itself")
    from task_scheduler.webui import unload

    queue_click(env, queue, files, prompt="a")
    run_all(wexec)
    unload_after_idle(queue, clock, wexec)
    monkeypatch.setattr(unload, "reload_from_ram", lambda: None)
    task = queue_click(env, queue, files, prompt="b")
    run_all(wexec)
    failed = queue.get(task.id)
    assert failed.status is TaskStatus.FAILED
    assert "same device" in failed.error

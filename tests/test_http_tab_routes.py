"""The routes the Task Queue tab needs beyond the basics: interrupt / skip of the running task,
bulk actions, the header's run count and ETA, and a task as infotext for "Load into txt2img"."""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import pytest
from test_http_helpers import API, client, queue_txt2img, services, settings  # noqa: F401

from task_scheduler.http_api.infotext import from_params, task_infotext
from task_scheduler.task import Task, TaskResult, TaskStatus
from task_scheduler.task_queue import Progress


def claim(queue) -> Task:
    task = queue.claim_next()
    assert task is not None
    return task


def run_for(queue, clock, seconds: float, status: TaskStatus = TaskStatus.DONE) -> Task:
    task = claim(queue)
    clock.advance(seconds)
    return queue.finish(task.id, status, result=TaskResult(images=[], infotexts=[task.prompt]))


# -- interrupt and skip ---------------------------------------------------------------------------


def test_interrupt_asks_the_running_task_to_stop_as_interrupted(client, queue, executor):
    task_id = queue_txt2img(client)["id"]
    claim(queue)
    response = client.post(f"{API}/tasks/{task_id}/interrupt")
    assert response.status_code == 200, response.text
    assert queue.stop_request(task_id) == "interrupted"


def test_interrupt_without_an_executor_interrupts_the_webui(client, queue, services):
    task_id = queue_txt2img(client)["id"]
    claim(queue)
    assert client.post(f"{API}/tasks/{task_id}/interrupt").status_code == 200
    assert services.webui.interrupts == 1


def test_skip_asks_the_worker_running_the_task_not_this_webui(client, queue, services):
    skips = []
    services.webui.skip = lambda: skips.append(1)
    task_id = queue_txt2img(client)["id"]
    claim(queue)  # claimed by a worker elsewhere: this process's WebUI must not skip its own work
    assert client.post(f"{API}/tasks/{task_id}/skip").status_code == 200
    assert queue.requested(task_id) == "skip" and skips == []


@pytest.mark.parametrize("action", ["interrupt", "skip"])
def test_interrupt_and_skip_refuse_a_task_that_is_not_running(client, queue, action):
    task_id = queue_txt2img(client)["id"]
    response = client.post(f"{API}/tasks/{task_id}/{action}")
    assert response.status_code == 409
    assert "pending" in response.json()["detail"]
    assert client.post(f"{API}/tasks/nope/{action}").status_code == 404


# -- bulk -----------------------------------------------------------------------------------------


def pending_ids(queue) -> list[str]:
    return [t.id for t in queue.pending()]


def test_bulk_top_and_bottom_keep_the_given_order(client, queue):
    a, b, c, d = (queue_txt2img(client, prompt=p)["id"] for p in "abcd")
    response = client.post(f"{API}/tasks/bulk", json={"action": "top", "ids": [c, d]})
    assert response.status_code == 200, response.text
    assert pending_ids(queue) == [c, d, a, b]
    client.post(f"{API}/tasks/bulk", json={"action": "bottom", "ids": [c, a]})
    assert pending_ids(queue) == [d, b, c, a]


def test_bulk_delete_answers_for_each_id_and_one_refusal_stops_nothing(client, queue):
    a, b = (queue_txt2img(client, prompt=p)["id"] for p in "ab")
    response = client.post(f"{API}/tasks/bulk", json={"action": "delete", "ids": [a, "missing", b]})
    body = response.json()
    assert [(r["id"], r["ok"]) for r in body["results"]] == [(a, True), ("missing", False), (b, True)]
    assert "missing" in body["results"][1]["error"]
    assert pending_ids(queue) == []


def test_bulk_requeue_copies_finished_tasks_and_refuses_pending_ones(client, queue, clock):
    done = queue_txt2img(client, prompt="done")["id"]
    run_for(queue, clock, 1)
    waiting = queue_txt2img(client, prompt="waiting")["id"]
    body = client.post(f"{API}/tasks/bulk", json={"action": "requeue", "ids": [done, waiting]}).json()
    first, second = body["results"]
    assert first["ok"] and first["status"] == "pending" and queue.get(first["new_id"]).requeued_from == done
    assert not second["ok"] and "pending" in second["error"]


def test_bulk_bookmark_and_limits(client, queue):
    a = queue_txt2img(client)["id"]
    client.post(f"{API}/tasks/bulk", json={"action": "bookmark", "ids": [a]})
    assert queue.get(a).bookmarked
    client.post(f"{API}/tasks/bulk", json={"action": "unbookmark", "ids": [a]})
    assert not queue.get(a).bookmarked
    assert client.post(f"{API}/tasks/bulk", json={"action": "explode", "ids": [a]}).status_code == 422
    too_many = client.post(f"{API}/tasks/bulk", json={"action": "delete", "ids": ["x"] * 1001})
    assert too_many.status_code == 422


# -- the header's numbers -------------------------------------------------------------------------


def test_stats_count_the_current_run_and_estimate_from_recent_durations(client, queue, clock):
    assert client.get(f"{API}/queue").json()["stats"] == {
        "finished": 0,
        "total": 0,
        "eta_s": None,
        "seconds_per_unit": None,
        "seconds_per_task": None,
    }
    for prompt in "abcd":
        queue_txt2img(client, prompt=prompt, steps=20, width=512, height=512)
    run_for(queue, clock, 10.0)  # 20 units in 10 s: 0.5 s per unit
    running = claim(queue)
    queue.set_progress(Progress(running.id, 0.5, "step 10/20"))
    stats = client.get(f"{API}/queue").json()["stats"]
    assert stats["finished"] == 1 and stats["total"] == 4
    assert stats["seconds_per_unit"] == pytest.approx(0.5, rel=0.01)
    # half of the running task (10 units) and two waiting ones (40 units), at 0.5 s per unit
    assert stats["eta_s"] == pytest.approx(25.0, rel=0.01)


def test_eta_weighs_size_steps_batches_and_hires(client, queue, clock):
    queue_txt2img(client, steps=10, width=512, height=512)
    run_for(queue, clock, 10.0)  # 1 s per unit
    queue_txt2img(client, steps=10, width=1024, height=512, n_iter=2, batch_size=3)  # 10*2*3*2 = 120
    queue_txt2img(client, steps=10, width=512, height=512, enable_hr=True, hr_scale=2)  # 10*(1+4) = 50
    stats = client.get(f"{API}/queue").json()["stats"]
    assert stats["eta_s"] == pytest.approx(170.0, rel=0.01)
    assert stats["finished"] == 0 and stats["total"] == 2  # the done one predates everything waiting


def test_a_fixed_cost_per_task_is_not_scaled_with_the_work():
    from task_scheduler.http_api.stats import pace

    # 2 s per task plus 0.1 s per unit
    overhead, rate = pace([(2 + 0.1 * u, u) for u in (1.0, 4.0, 10.0, 20.0)])
    assert overhead == pytest.approx(2.0) and rate == pytest.approx(0.1)
    assert pace([(3.0, 2.0), (3.0, 2.0)]) == (0.0, 1.5)  # one size only: all per unit
    assert pace([]) == (0.0, 0.0)


def test_an_idle_queue_has_no_eta(client, queue, clock):
    queue_txt2img(client)
    run_for(queue, clock, 3.0)
    stats = client.get(f"{API}/queue").json()["stats"]
    assert stats["eta_s"] is None and stats["total"] == 0
    assert stats["seconds_per_unit"] is not None


# -- infotext -------------------------------------------------------------------------------------


def test_a_pending_task_is_written_as_webui_infotext(client, queue):
    task_id = queue_txt2img(
        client,
        prompt="a cat, on a mat",
        negative_prompt="blurry",
        steps=12,
        sampler_name="DPM++ 2M",
        scheduler="Karras",
        cfg_scale=5.0,
        seed=42,
        width=640,
        height=768,
        checkpoint="v1-5-pruned.safetensors",
        enable_hr=True,
        hr_scale=1.5,
        hr_upscaler="Latent",
        denoising_strength=0.6,
        override_settings={"CLIP_stop_at_last_layers": 2},
    )["id"]
    body = client.get(f"{API}/tasks/{task_id}/infotext").json()
    assert body["source"] == "params"
    lines = body["infotext"].split("\n")
    assert lines[0] == "a cat, on a mat"
    assert lines[1] == "Negative prompt: blurry"
    assert lines[2] == (
        "Steps: 12, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 5, Seed: 42, Size: 640x768, "
        "Model: v1-5-pruned.safetensors, Denoising strength: 0.6, Hires upscale: 1.5, "
        "Hires upscaler: Latent, Clip skip: 2"
    )


def test_values_with_commas_or_colons_are_quoted_like_the_webui():
    task = Task(id="t", kind="txt2img", params={"prompt": "p", "sampler_name": "a, b: c"})
    assert from_params(task).split("\n")[1] == 'Sampler: "a, b: c"'


def test_a_finished_task_gives_its_result_infotext(client, queue, clock):
    task_id = queue_txt2img(client, prompt="cat")["id"]
    task = claim(queue)
    queue.finish(
        task.id, TaskStatus.DONE, result=TaskResult(images=[], infotexts=["cat\nSeed: 1", "cat\nSeed: 2"])
    )
    assert client.get(f"{API}/tasks/{task_id}/infotext?index=1").json() == {
        "task_id": task_id,
        "infotext": "cat\nSeed: 2",
        "source": "result",
    }
    assert task_infotext(queue.get(task_id), 9) == ("cat\nSeed: 1", "result")
    assert client.get(f"{API}/tasks/missing/infotext").status_code == 404

"""The standalone server against a real WebUI started with ``--api`` (opt-in, slow).

Set TASK_SCHEDULER_WEBUI_URL (e.g. http://127.0.0.1:7860) to run it; it needs two checkpoints on
that WebUI and changes which one is selected. Throughput and the 10-image comparison with direct
calls are in ``bench/standalone_throughput.py``.
"""

from __future__ import annotations

import os
import threading

import httpx
import pytest
from fake_webui import serve_app, stop_app

from task_scheduler.standalone.backends import PoolSettings
from task_scheduler.standalone.server import ServerConfig, Standalone

URL = os.environ.get("TASK_SCHEDULER_WEBUI_URL")
API = "/task-scheduler/v1"
pytestmark = pytest.mark.skipif(not URL, reason="set TASK_SCHEDULER_WEBUI_URL to a WebUI started with --api")


def eventually(predicate, timeout=300.0):
    event = threading.Event()
    for _ in range(int(timeout / 0.1)):
        if predicate():
            return True
        event.wait(0.1)
    return predicate()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("real") / "q.sqlite3"
    standalone = Standalone(
        ServerConfig(webuis=[URL], db_path=db, pool=PoolSettings(poll_s=0.5, health_interval_s=2.0))
    )
    selected = httpx.get(URL + "/sdapi/v1/options", timeout=30).json().get("sd_model_checkpoint")
    url, uvicorn_server = serve_app(standalone.app)
    with httpx.Client(base_url=url, timeout=60) as client:
        yield client, standalone
    stop_app(uvicorn_server)
    if selected:  # leave the WebUI on the model it had
        httpx.post(URL + "/sdapi/v1/options", json={"sd_model_checkpoint": selected}, timeout=60)


def body(seed, checkpoint):
    return {
        "prompt": "real webui check",
        "seed": seed,
        "steps": 2,
        "width": 64,
        "height": 64,
        "checkpoint": checkpoint,
    }


def test_webui_routes_pass_through(server):
    client, _standalone = server
    for path in ("/sdapi/v1/samplers", "/sdapi/v1/sd-models", "/internal/ping"):
        direct = httpx.get(URL + path, timeout=30)
        proxied = client.get(path)
        assert (proxied.status_code, proxied.content) == (direct.status_code, direct.content), path


def test_a_passed_through_generation_carries_via_and_a_queued_answer_does_not(server):
    client, _standalone = server
    request = {"prompt": "via check", "seed": 9, "steps": 2, "width": 64, "height": 64}
    direct = httpx.post(URL + "/sdapi/v1/txt2img", json=request, timeout=300)
    proxied = client.post("/sdapi/v1/txt2img", json=request, timeout=300)
    assert proxied.status_code == direct.status_code == 200
    assert proxied.headers.get_list("via") == ["1.1 task-scheduler"] and "via" not in direct.headers
    # the body as the WebUI wrote it: the same images, byte for byte (only the job's timestamp moves)
    assert proxied.json()["images"] == direct.json()["images"]
    assert len(proxied.content) == len(direct.content)
    queued = client.post(f"{API}/queue/txt2img", json=body(9, None))
    assert queued.status_code == 201 and "via" not in queued.headers


def test_checkpoints_switch_through_options_and_load_once_per_run(server):
    client, standalone = server
    models = [c.model_name for c in standalone.pool.backends[0].runner.checkpoints]
    assert len(models) >= 2, "the WebUI needs two checkpoints"
    first, second = models[:2]
    standalone.queue.pause()
    ids = [
        client.post(f"{API}/queue/txt2img", json=body(seed, model)).json()["id"]
        for seed, model in ((1, first), (2, second), (3, first), (4, second))
    ]
    standalone.queue.resume()
    assert eventually(lambda: all(client.get(f"{API}/tasks/{i}").json()["status"] == "done" for i in ids))
    tasks = [client.get(f"{API}/tasks/{i}").json() for i in ids]
    for task, model in zip(tasks, (first, second, first, second), strict=True):
        assert f"Model: {model}" in task["result"]["infotexts"][0]
    started = sorted(tasks, key=lambda t: t["started_at"])
    order = [t["result"]["info"]["checkpoint_title"].split(".")[0] for t in started]
    assert order in ([first, first, second, second], [second, second, first, first])  # one switch
    options = httpx.get(URL + "/sdapi/v1/options", timeout=30).json()
    assert options["sd_model_checkpoint"].startswith(order[-1])


def test_deleting_the_running_task_interrupts_the_webui(server):
    client, standalone = server
    slow = dict(body(5, None), steps=40, width=128, height=128)
    task_id = client.post(f"{API}/queue/txt2img", json=slow).json()["id"]

    def sampling():
        progress = standalone.queue.progress(task_id)
        return progress is not None and progress.fraction > 0

    assert eventually(sampling, 60)
    client.delete(f"{API}/tasks/{task_id}")
    assert eventually(lambda: client.get(f"{API}/tasks/{task_id}").json()["status"] == "cancelled", 120)

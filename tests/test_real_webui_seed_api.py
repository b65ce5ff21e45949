"""Seed 003's API, saved tasks and "Pause now" against a real WebUI with this extension (opt-in, slow).

Set TASK_SCHEDULER_EXTENSION_URL (e.g. http://127.0.0.1:7860) to a Forge, Forge Neo or A1111
started with ``--api`` and this extension installed. It pauses and resumes that WebUI's queue and
leaves it paused and empty of what it queued.
"""

from __future__ import annotations

import base64
import io
import os
import time

import httpx
import pytest

URL = os.environ.get("TASK_SCHEDULER_EXTENSION_URL")
SEED = "/task-scheduler"
API = "/task-scheduler/v1"
pytestmark = pytest.mark.skipif(
    not URL, reason="set TASK_SCHEDULER_EXTENSION_URL to a WebUI with this extension"
)

BODY = {"prompt": "seed api check", "steps": 2, "width": 64, "height": 64, "cfg_scale": 5.0}


@pytest.fixture(scope="module")
def client():
    with httpx.Client(base_url=URL, timeout=120) as c:
        c.post(API + "/queue/pause")
        yield c
        c.post(API + "/queue/pause")


def wait(predicate, timeout=600.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def pixels(png: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB").tobytes()


def test_the_seed_api_from_a_script(client):
    queued = client.post(SEED + "/queue/txt2img", json={**BODY, "seed": 4242, "sampler_name": "Euler a"})
    assert queued.status_code == 200 and queued.json()["success"] is True
    task_id = queued.json()["task_id"]
    status = client.get(SEED + "/status").json()
    assert status["is_paused"] is True and status["queue_stats"]["pending"] >= 1

    bookmark = client.post(SEED + f"/bookmarks/from-task/{task_id}", params={"name": "seed api check"}).json()
    assert bookmark["success"] is True
    assert client.post(SEED + "/pause").json()["is_paused"] is False  # the toggle resumes
    done = wait(
        lambda: (t := client.get(SEED + f"/queue/{task_id}").json()["task"])["status"] == "completed" and t,
        what="the seed task",
    )
    assert "Seed: 4242" in done["result_info"] and "Sampler: Euler a" in done["result_info"]
    assert "Steps: 2" in done["result_info"] and "Size: 64x64" in done["result_info"]

    # queue it again from the bookmark (our saved tasks), with new seeds
    again = client.post(API + f"/saved/{bookmark['bookmark_id']}/queue", json={"times": 2, "new_seeds": True})
    assert again.status_code == 201
    ids = [t["id"] for t in again.json()["tasks"]]
    finished = [
        wait(lambda i=i: client.get(API + f"/tasks/{i}").json()["status"] == "done", what=i) for i in ids
    ]
    assert all(finished)
    assert client.post(SEED + "/pause").json()["is_paused"] is True
    client.delete(SEED + f"/bookmarks/{bookmark['bookmark_id']}")


def test_pause_now_after_the_first_image_and_resume_gives_generates_four(client):
    task = client.post(API + "/queue/txt2img", json={**BODY, "seed": 777, "n_iter": 4}).json()
    client.post(API + "/queue/resume")
    wait(lambda: client.get(API + f"/tasks/{task['id']}").json()["status"] == "running", what="the start")
    # pause as soon as the first image exists
    wait(lambda: _saved_so_far(client, task["id"]) >= 1, what="the first image")
    paused = client.post(API + "/queue/pause", params={"now": "true"}).json()
    assert paused["stopping"] == [task["id"]]
    parked = wait(
        lambda: (t := client.get(API + f"/tasks/{task['id']}").json())["status"] == "pending" and t,
        what="the task to wait in line",
    )
    kept = len(parked["result"]["seeds"])
    assert 1 <= kept < 4 and parked["result"]["seeds"] == list(range(777, 777 + kept))
    client.post(API + "/queue/resume")
    done = wait(
        lambda: (t := client.get(API + f"/tasks/{task['id']}").json())["status"] == "done" and t,
        what="the resumed task",
    )
    client.post(API + "/queue/pause")
    assert done["result"]["seeds"] == [777, 778, 779, 780]
    ours = client.get(API + f"/tasks/{task['id']}/results").json()["images"]
    queued_pixels = [pixels(base64.b64decode(item["image"].split(",", 1)[1])) for item in ours]
    # save_images: the API makes a grid (its do_not_save_grid) as Generate does
    direct = client.post("/sdapi/v1/txt2img", json={**BODY, "seed": 777, "n_iter": 4, "save_images": True})
    direct = direct.json()["images"]
    generate_pixels = [pixels(base64.b64decode(b64)) for b64 in direct]
    generate_grid = [p for p in generate_pixels if len(p) == 128 * 128 * 3]  # 2 x 2, listed first
    generate_pixels = [p for p in generate_pixels if len(p) == 64 * 64 * 3]
    assert [p for p in queued_pixels if len(p) == 64 * 64 * 3] == generate_pixels
    # one grid over all four (not one per run), the grid Generate makes, pixel for pixel
    (grid_name,) = done["result"]["info"]["grids"]
    assert len(ours) == 5 and len(generate_grid) == 1
    (grid,) = [p for p in queued_pixels if len(p) != 64 * 64 * 3]
    if grid_name.endswith(".png"):
        assert grid == generate_grid[0]
    else:  # Neo saves grids as JPEG (its grid_format); the API answers the grid as PNG
        quality = int(client.get("/sdapi/v1/options").json().get("jpeg_quality", 80))
        as_saved = jpeg_pixels(generate_grid[0], (128, 128), quality)
        assert len(grid) == len(as_saved)
        assert sum(abs(a - b) for a, b in zip(grid, as_saved, strict=True)) / len(grid) < 1.0


def jpeg_pixels(rgb: bytes, size: tuple[int, int], quality: int) -> bytes:
    """``rgb`` as it reads back after the WebUI's ``save_image`` wrote it as JPEG."""
    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", size, rgb).save(out, format="JPEG", quality=quality)
    with Image.open(io.BytesIO(out.getvalue())) as image:
        return image.convert("RGB").tobytes()


def _saved_so_far(client, task_id) -> int:
    task = client.get(API + f"/tasks/{task_id}").json()
    return len((task.get("result") or {}).get("seeds") or [])

"""One entry gate for every way a task comes in: nothing one request stores may break a listing.

The app here answers with gradio's ORJSON response class, as the WebUI's app does (``gradio.routes
.App`` sets it as the default): it refuses integers beyond 64 bits and nesting past 255 levels,
which is how one stored value used to make ``GET /queue`` answer 500 for everyone.
"""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import base64
import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from test_http_helpers import (  # noqa: F401 - fixtures
    API,
    AS,
    client,
    data_url,
    finish_all,
    image_runner,
    make_app,
    outputs,
    png_bytes,
    queue_txt2img,
    services,
    settings,
)

from task_scheduler.gate import INT_RANGES, MAX_DEPTH

JOBS = f"{API}/jobs"


#: deeper than Python's recursion limit (1000) lets a recursive walk go, shallower than the JSON
#: parser refuses: it reaches the routes
DEEPER_THAN_RECURSION = 900


def nested(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def listings_answer(client: TestClient) -> None:
    for path in (f"{API}/queue", f"{AS}/queue", f"{API}/history", f"{AS}/history", f"{API}/export"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:300])


def loc(response) -> list:
    return response.json()["detail"][0]["loc"]


def test_the_app_answers_like_the_webui(client):
    """The double first: the WebUI's own response class cannot encode what broke the queue."""
    assert client.app.router.default_response_class.__name__ == "ORJSONResponse"
    from gradio.routes import ORJSONResponse

    with pytest.raises(TypeError):
        ORJSONResponse({"seed": 10**30})
    with pytest.raises(TypeError):
        ORJSONResponse(nested(300))


@pytest.mark.parametrize(
    "body",
    [
        {"override_settings": {"deep": nested(256)}},
        {"alwayson_scripts": {"ControlNet": {"args": [nested(256)]}}},
        {"script_name": "x/y/z plot", "script_args": [nested(256)]},
        {"seed": 10**30},
        {"override_settings": {"big": 10**30}},
        {"alwayson_scripts": {"ADetailer": {"args": [-(10**25)]}}},
        {"prompt": "x" * 10_000_000},
        {"styles": ["s"] * 200_000},
        {"alwayson_scripts": {"ADetailer": {"args": [list(range(200_000))]}}},
        {"override_settings": {"deep": nested(DEEPER_THAN_RECURSION)}},
        {"alwayson_scripts": {"ControlNet": {"args": [nested(DEEPER_THAN_RECURSION)]}}},
        {"script_name": "x/y/z plot", "script_args": [nested(DEEPER_THAN_RECURSION)]},
    ],
    ids=[
        "depth-override",
        "depth-alwayson",
        "depth-script-args",
        "seed-1e30",
        "int-override",
        "int-arg",
        "10MB-prompt",
        "200k-styles",
        "200k-list",
        "depth-900-override",
        "depth-900-alwayson",
        "depth-900-script-args",
    ],
)
@pytest.mark.parametrize("prefix", [API, AS])
def test_queue_routes_refuse_what_would_break_listings(client, queue, prefix, body):
    response = client.post(f"{prefix}/queue/txt2img", json={"prompt": "x", **body})
    assert response.status_code == 422, response.text[:300]
    assert queue.pending() == []
    listings_answer(client)


def test_a_body_nested_deeper_than_python_recurses_is_refused_with_a_key_and_in_every_entry(client, queue):
    """900 levels: the JSON parser takes it, every recursive walk before the gate did not (500).
    With an Idempotency-Key (its fingerprint serialises the body), in edits, imports and sweeps."""
    deep = nested(DEEPER_THAN_RECURSION)
    keyed = {"Idempotency-Key": "deep-1"}
    answers = [
        client.post(
            f"{API}/queue/txt2img", json={"prompt": "x", "override_settings": {"d": deep}}, headers=keyed
        ),
        client.post(
            JOBS, json={"base": {"prompt": "x", "override_settings": {"d": deep}}, "axes": []}, headers=keyed
        ),
        client.post(
            JOBS,
            json={
                "base": {"prompt": "x"},
                "axes": [{"type": "param", "name": "override_settings.d", "values": [deep]}],
            },
        ),
        client.post(f"{API}/import", json=exported({"override_settings": {"d": deep}})),
    ]
    task = queue_txt2img(client)
    answers.append(
        client.patch(f"{API}/tasks/{task['id']}", json={"params": {"override_settings": {"d": deep}}})
    )
    answers.append(client.patch(f"{API}/tasks/{task['id']}", json={"script_args": {"ADetailer": [deep]}}))
    answers.append(client.put(f"{AS}/task/{task['id']}", json={"params": {"override_settings": {"d": deep}}}))
    assert [a.status_code for a in answers] == [422] * len(answers), [a.text[:120] for a in answers]
    assert [t.id for t in queue.pending()] == [task["id"]]
    listings_answer(client)


def test_batch_forms_refuse_all_or_nothing(client, queue):
    response = client.post(
        f"{API}/queue/txt2img/batch",
        json=[{"prompt": "ok"}, {"prompt": "x", "override_settings": {"big": 10**30}}],
    )
    assert response.status_code == 422 and loc(response)[0] == "1"
    assert queue.pending() == []
    img = data_url(png_bytes())
    response = client.post(
        f"{API}/queue/img2img/batch",
        json=[{"init_images": [img]}, {"init_images": [img], "override_settings": {"d": nested(256)}}],
    )
    assert response.status_code == 422 and queue.pending() == []
    listings_answer(client)


def test_a_depth_within_the_limit_is_accepted(client):
    queue_txt2img(client, override_settings={"deep": nested(MAX_DEPTH - 4)})
    listings_answer(client)


def test_edits_refuse_the_same(client, queue):
    task = queue_txt2img(client)
    for body in (
        {"params": {"override_settings": {"deep": nested(256)}}},
        {"params": {"seed": 10**30}},
        {"params": {"steps": 10**9}},
        {"params": {"prompt": "x" * 10_000_000}},
        {"script_args": {"ADetailer": [nested(256)]}},
        {"script_args": {"ADetailer": [10**30]}},
    ):
        response = client.patch(f"{API}/tasks/{task['id']}", json=body)
        assert response.status_code == 422, (body.keys(), response.text[:200])
    for params in (
        {"override_settings": {"deep": nested(256)}},
        {"seed": 10**30},
        {"steps": 10**9},
        {"width": 10**6},
    ):
        response = client.put(f"{AS}/task/{task['id']}", json={"params": params})
        assert response.status_code == 422, (params.keys(), response.text[:200])
    assert queue.get(task["id"]).params["seed"] == -1
    listings_answer(client)


def exported(params: dict, **extra) -> dict:
    return {"tasks": [{"kind": "txt2img", "params": {"prompt": "x", **params}, **extra}]}


@pytest.mark.parametrize(
    "params",
    [
        {"steps": 10**9},
        {"width": 10**6},
        {"height": 0},
        {"batch_size": 5000},
        {"steps": "20"},
        {"cfg_scale": "high"},
        {"seed": 10**30},
        {"override_settings": {"d": nested(256)}},
        {"prompt": "x" * 10_000_000},
        {"prompt_styles": ["s"] * 200_000},
        {"processing": {"hr_resize_x": 10**7}},
    ],
)
@pytest.mark.parametrize("prefix", [API, AS])
def test_import_has_the_queue_routes_ranges(client, queue, prefix, params):
    body = exported(params)
    if prefix == AS:
        import json

        body = {"content": json.dumps(body["tasks"])}
    response = client.post(f"{prefix}/import", json=body)
    assert response.status_code == 422, response.text[:300]
    assert queue.pending() == []
    listings_answer(client)


def test_the_ranges_are_the_queue_routes_own():
    """One table: every ranged integer field of the request models is the gate's, and back."""
    from task_scheduler.http_api import _pydantic as pd
    from task_scheduler.http_api.schemas import Img2ImgRequest, Txt2ImgRequest

    seen = set()
    for model in (Txt2ImgRequest, Img2ImgRequest):
        schema = model.model_json_schema() if pd.PYDANTIC_V2 else model.schema()
        for name, prop in schema["properties"].items():
            options = prop.get("anyOf", [prop])
            bounds = next(((o.get("minimum"), o.get("maximum")) for o in options if "minimum" in o), None)
            if bounds is None or name in ("priority",) or bounds[0] < -(2**62):
                continue
            assert INT_RANGES[name] == bounds, name
            seen.add(name)
    assert seen == set(INT_RANGES)


@pytest.mark.parametrize(
    ("axis", "field"),
    [
        ({"type": "param", "name": "steps", "values": ["1000000000"]}, "steps"),
        ({"type": "param", "name": "width", "values": ["1000000"]}, "width"),
        ({"type": "steps", "values": [10**9]}, "steps"),
        ({"type": "param", "name": "override_settings.x", "values": [10**30]}, None),
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_sweep_axes_have_the_queue_routes_ranges(client, queue, axis, field, dry_run):
    body = {"base": {"prompt": "x", "steps": 2}, "axes": [axis], "dry_run": dry_run}
    response = client.post(JOBS, json=body)
    assert response.status_code == 422, response.text[:300]
    if field:
        assert field in loc(response) or loc(response)[0] == "axes"
    assert queue.pending() == []
    listings_answer(client)


@pytest.fixture
def done_job(client, executor, image_runner):
    response = client.post(
        JOBS, json={"base": {"prompt": "x", "steps": 2}, "axes": [{"type": "seed", "values": [1]}]}
    )
    assert response.status_code == 201, response.text
    finish_all(executor)
    return response.json()


@pytest.mark.parametrize(
    "body",
    [
        {"params": {"steps": 10**9}},
        {"params": {"width": 10**6}},
        {"params": {"override_settings": {"d": nested(256)}}},
        {"params": {"seed": 10**30}},
        {"steps": 10**9},
        {"width": 10**6},
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_follow_ups_have_the_queue_routes_ranges(client, queue, done_job, body, dry_run):
    response = client.post(
        f"{JOBS}/{done_job['id']}/follow-ups", json={"action": "img2img", **body, "dry_run": dry_run}
    )
    assert response.status_code == 422, response.text[:300]
    assert queue.pending() == []
    listings_answer(client)


def png_header_bomb(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height`` pixels."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    import zlib

    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


@pytest.mark.parametrize("content", [png_header_bomb(20000, 20000), b"this is not an image at all"])
@pytest.mark.parametrize("prefix", [API, AS])
def test_import_refuses_what_the_queue_routes_refuse_as_an_image(client, files, queue, prefix, content):
    ref = "a" * 64 + ".png"
    item = {
        "kind": "img2img",
        "params": {"prompt": "x", "mode": 0, "init_img": {"$image": ref, "mode": "RGB", "size": [8, 6]}},
        "files": {ref: "data:image/png;base64," + base64.b64encode(content).decode()},
    }
    queued = client.post(f"{API}/queue/img2img", json={"init_images": [data_url(content)]})
    assert queued.status_code == 422
    body = {"tasks": [item]}
    if prefix == AS:
        import json

        body = {"content": json.dumps([item])}
    response = client.post(f"{prefix}/import", json=body)
    assert response.status_code == 422, response.text[:300]
    assert queue.pending() == []
    assert not files.root.exists() or not any(p.is_file() for p in files.root.rglob("*"))

"""Values from the API are data, never tags: only the Queue button's capture makes ``$path`` & co.

A value such as ``{"$path": "/etc/passwd"}`` in a script argument used to reach the runner's
decoder (``task_scheduler/values.py``), which turns it into a server path (``$dataclass``: any
loaded dataclass with fields of the client's choosing). Every route now either keeps such a value
as the plain dict the client sent (bodies in the WebUI API's shape) or refuses it (bodies in the
stored shape: ``PATCH``, ``/import``, follow-up ``params``).
"""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_http_helpers import (  # noqa: F401 - fixtures
    API,
    AS,
    client,
    data_url,
    finish_all,
    image_runner,
    outputs,
    png_bytes,
    queue_txt2img,
    services,
    settings,
)

from task_scheduler.values import ValueCodec

JOBS = f"{API}/jobs"
HOSTILE = [
    {"$path": "/etc/passwd"},
    {"$file": "0" * 64 + ".png", "name": "x"},
    {"$dataclass": "pathlib:PurePosixPath", "fields": {}},
    {"$enum": "task_scheduler.task:TaskStatus", "value": "done"},
    {"$dict": {"$path": "/etc/passwd"}},
]


def decoded(files, value):
    """What the runner would hand the WebUI for a stored value."""
    return ValueCodec(files).decode(value)


def plain(value) -> bool:
    """Only JSON types all the way down: nothing became an object or a path."""
    if isinstance(value, list):
        return all(plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    return value is None or isinstance(value, (bool, int, float, str))


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("prefix", [API, AS])
def test_queue_routes_keep_tags_as_the_plain_dict_sent(client, queue, files, prefix, value):
    body = {
        "prompt": "x",
        "alwayson_scripts": {"ADetailer": {"args": [value, [value]]}},
        "script_name": "x/y/z plot",
        "script_args": [value],
        "override_settings": {"key": value},
    }
    response = client.post(f"{prefix}/queue/txt2img", json=body)
    assert response.status_code in (200, 201), response.text
    task = queue.pending()[0]
    assert decoded(files, task.script_args) == {"ADetailer": [value, [value]], "x/y/z plot": [value]}
    assert decoded(files, task.params["override_settings"]) == {"key": value}
    assert plain(decoded(files, task.script_args))


@pytest.mark.parametrize("value", [v for v in HOSTILE if "$file" not in v])  # a file cannot be swept
def test_batch_and_sweep_bases_and_axes_keep_them_plain(client, queue, files, value):
    response = client.post(
        f"{API}/queue/img2img/batch",
        json=[{"init_images": [data_url(png_bytes())], "alwayson_scripts": {"CN": {"args": [value]}}}],
    )
    assert response.status_code == 201, response.text
    response = client.post(
        JOBS,
        json={
            "base": {"prompt": "x", "alwayson_scripts": {"CN": {"args": [value]}}},
            "axes": [
                {"type": "param", "name": "override_settings.key", "values": [value, json.dumps(value)]}
            ],
        },
    )
    assert response.status_code == 201, response.text
    for task in queue.pending():
        assert decoded(files, task.script_args) == {"CN": [value]}
    sweep = [t for t in queue.pending() if t.job_id]
    assert [decoded(files, t.params["override_settings"]["key"]) for t in sweep] == [value, json.dumps(value)]


@pytest.mark.parametrize("value", HOSTILE[:4])
def test_agent_scheduler_put_keeps_them_plain(client, queue, files, value):
    task = queue_txt2img(client)
    response = client.put(f"{AS}/task/{task['id']}", json={"params": {"override_settings": {"key": value}}})
    assert response.status_code == 200, response.text
    assert decoded(files, queue.get(task["id"]).params["override_settings"]) == {"key": value}


@pytest.mark.parametrize("value", HOSTILE[:4])
def test_stored_shape_routes_refuse_object_tags(client, queue, value):
    task = queue_txt2img(client)
    for body in ({"params": {"thing": value}}, {"script_args": {"ADetailer": [value]}}):
        response = client.patch(f"{API}/tasks/{task['id']}", json=body)
        assert response.status_code == 422, response.text
    item = {"kind": "txt2img", "params": {"prompt": "x"}, "script_args": {"ADetailer": [value]}}
    assert client.post(f"{API}/import", json={"tasks": [item]}).status_code == 422
    assert client.post(f"{AS}/import", json={"content": json.dumps([item])}).status_code == 422
    assert [t.id for t in queue.pending()] == [task["id"]]


def test_follow_up_params_refuse_object_tags(client, queue, executor, image_runner):
    job = client.post(JOBS, json={"base": {"prompt": "x"}, "axes": [{"type": "seed", "values": [1]}]}).json()
    finish_all(executor)
    for value in HOSTILE[:4]:
        response = client.post(
            f"{JOBS}/{job['id']}/follow-ups", json={"action": "img2img", "params": {"thing": value}}
        )
        assert response.status_code == 422, response.text
    assert queue.pending() == []


def test_a_patch_may_keep_a_captured_value_as_it_is(client, queue, files):
    """A Queue-button task's ControlNet unit ($dataclass) survives a PATCH that sends it back."""
    from task_scheduler.task import NewTask

    unit = {"$dataclass": "pathlib:PurePosixPath", "fields": {}}
    task = queue.enqueue(
        NewTask(kind="txt2img", params={"prompt": "x"}, script_args={"CN": [unit]}, source="ui")
    )
    response = client.patch(f"{API}/tasks/{task.id}", json={"script_args": {"CN": [unit, 1]}})
    assert response.status_code == 200, response.text
    assert queue.get(task.id).script_args == {"CN": [unit, 1]}
    changed = {"$dataclass": "pathlib:PurePosixPath", "fields": {"x": 1}}
    response = client.patch(f"{API}/tasks/{task.id}", json={"script_args": {"CN": [changed]}})
    assert response.status_code == 422


def test_path_tag_from_the_api_never_becomes_a_path(client, queue, files):
    client.post(
        f"{API}/queue/txt2img", json={"alwayson_scripts": {"X": {"args": [{"$path": "/etc/passwd"}]}}}
    )
    (arg,) = decoded(files, queue.pending()[0].script_args)["X"]
    assert not isinstance(arg, Path) and arg == {"$path": "/etc/passwd"}

"""A failed /import leaves no file behind; job ids from another install are not kept."""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import base64
import json

import pytest
from test_http_helpers import (  # noqa: F401 - fixtures
    API,
    AS,
    client,
    png_bytes,
    services,
    settings,
)


def item(ref: str, content: bytes, **extra) -> dict:
    return {
        "kind": "img2img",
        "params": {"prompt": "x", "mode": 0, "init_img": {"$image": ref, "mode": "RGB", "size": [8, 6]}},
        "files": {ref: "data:image/png;base64," + base64.b64encode(content).decode()},
        **extra,
    }


def stored_files(files) -> list:
    return sorted(p.name for p in files.root.rglob("*") if p.is_file()) if files.root.exists() else []


def post_import(client, prefix: str, items: list):
    if prefix == AS:
        return client.post(f"{AS}/import", json={"content": json.dumps(items)})
    return client.post(f"{API}/import", json={"tasks": items})


@pytest.mark.parametrize("prefix", [API, AS])
def test_a_failed_import_leaves_no_file_behind(client, files, queue, prefix):
    good = item("a" * 64 + ".png", png_bytes((8, 6), "red"))
    bad = {**item("b" * 64 + ".png", png_bytes((8, 6), "blue")), "params": {"prompt": "x", "steps": 10**9}}
    response = post_import(client, prefix, [good, bad])
    assert response.status_code == 422
    assert queue.pending() == [] and stored_files(files) == []


@pytest.mark.parametrize("prefix", [API, AS])
def test_a_failed_import_keeps_files_other_tasks_use(client, files, queue, prefix):
    shared = png_bytes((8, 6), "red")
    assert post_import(client, prefix, [item("a" * 64 + ".png", shared)]).status_code in (200, 201)
    before = stored_files(files)
    assert len(before) == 1
    bad = {**item("c" * 64 + ".png", shared), "priority": 5000}
    assert post_import(client, prefix, [item("a" * 64 + ".png", shared), bad]).status_code == 422
    assert stored_files(files) == before and len(queue.pending()) == 1


@pytest.mark.parametrize("prefix", [API, AS])
def test_job_ids_of_another_install_are_dropped(client, queue, prefix):
    job = client.post(
        f"{API}/jobs", json={"base": {"prompt": "x"}, "axes": [{"type": "seed", "values": [1]}]}
    )
    known = job.json()["id"]
    items = [
        {"kind": "txt2img", "params": {"prompt": "elsewhere"}, "job_id": "f" * 32},
        {"kind": "txt2img", "params": {"prompt": "here"}, "job_id": known},
    ]
    assert post_import(client, prefix, items).status_code in (200, 201)
    imported = {t.params["prompt"]: t.job_id for t in queue.pending() if t.params["prompt"] != "x"}
    assert imported == {"elsewhere": None, "here": known}
    assert client.get(f"{API}/jobs/{'f' * 32}").status_code == 404
    assert client.get(f"{API}/jobs").json()["total"] == 1

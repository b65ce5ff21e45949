"""The standalone server keeps what it must: docs and assets behind --api-auth, backend passwords hidden."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest
from fake_webui import FakeWebUI
from standalone_fixtures import API, eventually

SECRET = "s3cret-Pa55"


@pytest.fixture
def fake():
    webui = FakeWebUI(("model-a.safetensors",)).start()
    yield webui
    webui.stop()


def test_docs_schema_and_assets_need_credentials(fake, start_server, tmp_path):
    assets = tmp_path / "assets"
    (assets / "javascript").mkdir(parents=True)
    (assets / "javascript" / "task_scheduler.mjs").write_text("export const ok = 1;\n")
    (assets / "style.css").write_text(".x {}\n")
    url, standalone = start_server([fake], api_auth=["alice:secret"], assets_root=assets)
    paths = [
        "/task-scheduler/docs",
        "/task-scheduler/openapi.json",
        "/task-scheduler/assets/javascript/task_scheduler.mjs",
        "/task-scheduler/assets/style.css",
    ]
    for path in paths:
        refused = httpx.get(url + path)
        assert refused.status_code == 401, path
        assert refused.headers["www-authenticate"].startswith("Basic")
        assert httpx.get(url + path, auth=("alice", "wrong")).status_code == 401, path
        assert httpx.get(url + path, auth=("alice", "secret")).status_code == 200, path
    schema = httpx.get(url + "/task-scheduler/openapi.json", auth=("alice", "secret")).json()
    assert f"{API}/queue/txt2img" in schema["paths"]
    for path in ("/task-scheduler/assets/javascript/nope.mjs",):
        assert httpx.get(url + path, auth=("alice", "secret")).status_code == 404, path
    # every route of the app needs credentials (the pass-through included)
    for route in standalone.app.routes:
        path = getattr(route, "path", "")
        methods = sorted(getattr(route, "methods", None) or ["GET"])
        concrete = path.replace("{path:path}", "x/y").replace("{name}", "task_scheduler.mjs")
        concrete = concrete.replace("{task_id}", "t").replace("{job_id}", "j").replace("{id}", "i")
        concrete = concrete.replace("{index}", "0").replace("{over_id}", "o")
        for method in methods:
            if method == "HEAD":
                continue
            response = httpx.request(method, url + concrete)
            assert response.status_code == 401, (method, path, response.status_code)


def test_backend_credentials_are_never_shown(fake, start_server, caplog):
    caplog.set_level(logging.DEBUG)
    with_password = fake.url.replace("http://", f"http://bob:{SECRET}@")
    url, standalone = start_server([with_password])
    assert eventually(lambda: standalone.pool.backends[0].up)
    response = httpx.post(
        f"{url}{API}/queue/txt2img", json={"prompt": "a fox", "steps": 2, "width": 8, "height": 8}
    )
    assert response.status_code == 201, response.text
    task_id = response.json()["id"]
    assert eventually(lambda: httpx.get(f"{url}{API}/tasks/{task_id}").json()["status"] == "done")
    # the WebUI got the credentials, as HTTP Basic
    expected = "Basic " + base64.b64encode(f"bob:{SECRET}".encode()).decode()
    assert expected in fake.authorizations
    # ... and nobody else sees them
    task = httpx.get(f"{url}{API}/tasks/{task_id}").text
    assert SECRET not in task and "bob:" not in task
    assert "***@127.0.0.1" in httpx.get(f"{url}{API}/tasks/{task_id}").json()["result"]["info"]["backend"]
    backends = httpx.get(f"{url}{API}/backends").text
    assert SECRET not in backends and "***@" in backends
    assert SECRET not in httpx.get(url + "/").text
    # the pass-through still reaches the WebUI with them
    assert httpx.get(url + "/custom/echo").status_code == 418
    fake.kill()
    down = httpx.get(url + "/sdapi/v1/samplers")
    assert down.status_code == 502 and SECRET not in down.text and "***@" in down.text
    assert eventually(lambda: not standalone.pool.backends[0].up)
    assert SECRET not in caplog.text

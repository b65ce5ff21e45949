"""One auth dependency on both routers: open, --api-auth (HTTP Basic), and gradio sessions."""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import base64
import re
from pathlib import Path
from types import SimpleNamespace

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from test_http_helpers import API, AS, FakeWebUI, make_app, services, settings  # noqa: F401 - fixtures

from task_scheduler.files import FileStore
from task_scheduler.http_api import ApiServices, gradio_session_check, parse_credentials
from task_scheduler.http_api.auth import basic_user
from task_scheduler.store import Store
from task_scheduler.task_queue import TaskQueue


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_without_auth_everything_is_open(services):
    client = TestClient(make_app(services))
    assert client.get(f"{API}/queue").status_code == 200
    assert client.get(f"{AS}/samplers").status_code == 200


def operations(app) -> list[tuple[str, str]]:
    """Every (method, concrete path) of the app's routes, ids filled in with ones that do not exist."""
    found = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        path = re.sub(r"\{index\}", "0", route.path)
        path = re.sub(r"\{[^}]+\}", "missing", path)
        found += [(method, path) for method in sorted(route.methods or ())]
    return found


def fresh_services(root: Path, auth: list[str] | None) -> ApiServices:
    queue = TaskQueue(Store(root / "task_scheduler.sqlite3"), FileStore(root / "files"))
    return ApiServices(queue=queue, files=queue.files, webui=FakeWebUI(), auth=auth)


def test_api_auth_guards_every_route_of_the_app(tmp_path):
    """Routes taken from the app itself: anonymous and wrong logins are 401; the right login gets
    exactly what the same call gets from the same app without auth (never 401, never 5xx)."""
    guarded = TestClient(make_app(fresh_services(tmp_path / "guarded", ["alice:s3cret", "bob:pa:ss"])))
    open_ = TestClient(make_app(fresh_services(tmp_path / "open", None)))
    calls = operations(guarded.app)
    assert len(calls) >= 70 and {p.split("/")[1] for _, p in calls} == {"task-scheduler", "agent-scheduler"}
    assert any(p.startswith(f"{API}/jobs") for _, p in calls)
    for method, path in calls:
        anonymous = guarded.request(method, path)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["www-authenticate"].startswith("Basic")
        assert anonymous.json()["detail"] == "Not authenticated"
        assert guarded.request(method, path, headers=basic("alice", "guess")).status_code == 401
        right = guarded.request(method, path, headers=basic("bob", "pa:ss"))
        expected = open_.request(method, path)
        assert right.status_code == expected.status_code, (method, path, right.text[:200])
        assert right.status_code not in (401, 500), (method, path)


def test_malformed_authorization_headers_are_401_not_500(services):
    services.auth = ["alice:s3cret"]
    client = TestClient(make_app(services))
    for header in (
        "Basic",
        "Basic !!!",
        "Bearer abc",
        "Basic " + base64.b64encode(b"nocolon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ):
        assert client.get(f"{API}/queue", headers={"Authorization": header}).status_code == 401


def test_the_user_is_recorded_on_queued_tasks(services, queue):
    services.auth = ["alice:s3cret"]
    client = TestClient(make_app(services))
    created = client.post(f"{API}/queue/txt2img", json={"prompt": "x"}, headers=basic("alice", "s3cret"))
    assert created.status_code == 201
    assert queue.get(created.json()["id"]).user == "alice"


def test_a_gradio_session_cookie_is_accepted_too(services):
    gradio_app = SimpleNamespace(auth={"carol": "pw"}, tokens={"tok-1": "carol"}, cookie_id="abc123")
    services.auth = ["alice:s3cret"]
    services.session_check = gradio_session_check(gradio_app)
    client = TestClient(make_app(services))
    assert client.get(f"{API}/queue").status_code == 401
    client.cookies.set("access-token-unsecure-abc123", "tok-1")
    assert client.get(f"{API}/queue").status_code == 200
    assert client.get(f"{AS}/queue").status_code == 200
    client.cookies.clear()
    client.cookies.set("access-token-unsecure-abc123", "forged")
    assert client.get(f"{API}/queue").status_code == 401


def test_gradio_auth_alone_requires_a_session(services):
    services.session_check = gradio_session_check(SimpleNamespace(auth=[("u", "p")], tokens={"t": "u"}))
    client = TestClient(make_app(services))
    assert client.get(f"{API}/queue").status_code == 401
    client.cookies.set("access-token", "t")  # gradio 3 cookie name
    assert client.get(f"{API}/queue").status_code == 200


def test_gradio_cookie_names():
    app = SimpleNamespace(auth={"u": "p"}, tokens={"a": "u4", "b": "u3"}, cookie_id="cid")
    check = gradio_session_check(app)
    assert check(SimpleNamespace(cookies={"access-token-cid": "a"})) == "u4"
    assert check(SimpleNamespace(cookies={"access-token-unsecure": "b"})) == "u3"
    assert check(SimpleNamespace(cookies={"access-token-other": "a"})) is None
    assert gradio_session_check(SimpleNamespace(auth=None, tokens={})) is None
    assert gradio_session_check(None) is None


def test_a_failing_session_check_is_a_401(services):
    def broken(request):
        raise RuntimeError("gradio changed")

    services.session_check = broken
    assert TestClient(make_app(services)).get(f"{API}/queue").status_code == 401


def test_credential_parsing():
    assert parse_credentials(["a:1,b:2", "c:x:y", "junk", ""]) == {"a": "1", "b": "2", "c": "x:y"}
    creds = {"a": "1"}
    assert basic_user(basic("a", "1")["Authorization"], creds) == "a"
    assert basic_user(basic("a", "2")["Authorization"], creds) is None
    assert basic_user(None, creds) is None
    assert basic_user(basic("a", "1")["Authorization"], {}) is None

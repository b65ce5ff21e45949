"""The standalone server over HTTP: queueing through it, pass-through, bad input, auth, the page, the CLI."""

from __future__ import annotations

import base64
import gzip
import io
import time

import httpx
import pytest
from fake_webui import FakeWebUI, pixel_for, serve_app, stop_app
from PIL import Image
from standalone_fixtures import API, FAST, eventually, two_webuis

from task_scheduler.__main__ import main, parser
from task_scheduler.standalone.server import ServerConfig, Standalone


@pytest.fixture(scope="module")
def shared_fakes():
    with two_webuis() as pair:
        yield pair


@pytest.fixture(scope="module")
def server(shared_fakes, tmp_path_factory):
    """One server for the tests that leave the WebUIs as they found them (building the app is slow
    on FastAPI 0.94)."""
    db = tmp_path_factory.mktemp("server") / "q.sqlite3"
    standalone = Standalone(ServerConfig(webuis=[w.url for w in shared_fakes], db_path=db, pool=FAST))
    url, uvicorn_server = serve_app(standalone.app)
    with httpx.Client(base_url=url, timeout=10) as client:
        yield client, standalone
    stop_app(uvicorn_server)


def wait_done(client, task_id):
    assert eventually(lambda: client.get(f"{API}/tasks/{task_id}").json()["status"] in ("done", "failed"))
    return client.get(f"{API}/tasks/{task_id}").json()


# -- the queue through the server ------------------------------------------------------------------


def test_tasks_queued_through_the_server_run_on_the_webuis_and_results_stay_here(server, shared_fakes):
    client, standalone = server
    body = {"prompt": "a fox", "seed": 42, "steps": 2, "width": 8, "height": 8, "checkpoint": "model-b"}
    response = client.post(f"{API}/queue/txt2img", json=body)
    assert response.status_code == 201, response.text
    task = wait_done(client, response.json()["id"])
    assert task["status"] == "done", task
    image = client.get(f"{API}/tasks/{task['id']}/results/0")
    assert image.status_code == 200
    assert Image.open(io.BytesIO(image.content)).getpixel((0, 0)) == pixel_for(42, "model-b.safetensors")
    assert shared_fakes[1].generations[-1]["body"]["prompt"] == "a fox"


def test_img2img_with_a_mask_reaches_the_webui_as_init_images_and_mask(server, shared_fakes):
    client, _standalone = server

    def b64(image):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return base64.b64encode(buffer.getvalue()).decode()

    body = {
        "prompt": "inpaint",
        "seed": 3,
        "steps": 2,
        "width": 8,
        "height": 8,
        "init_images": [b64(Image.new("RGB", (8, 8), (1, 2, 3)))],
        "mask": b64(Image.new("L", (8, 8), 255)),
        "checkpoint": "model-a",
    }
    response = client.post(f"{API}/queue/img2img", json=body)
    assert response.status_code == 201, response.text
    assert wait_done(client, response.json()["id"])["status"] == "done"
    sent = shared_fakes[0].generations[-1]
    assert sent["kind"] == "img2img"
    init = Image.open(io.BytesIO(base64.b64decode(sent["body"]["init_images"][0])))
    assert init.getpixel((0, 0)) == (1, 2, 3)
    assert Image.open(io.BytesIO(base64.b64decode(sent["body"]["mask"]))).mode == "L"


def test_skip_and_interrupt_of_the_running_task_reach_its_webui(server, shared_fakes):
    client, _standalone = server
    webui = shared_fakes[1]
    webui.hold()
    try:
        body = {"prompt": "long", "steps": 2, "width": 8, "height": 8, "checkpoint": "model-b"}
        task_id = client.post(f"{API}/queue/txt2img", json=body).json()["id"]
        assert webui.busy.wait(5)
        assert client.post(f"{API}/tasks/{task_id}/skip").status_code == 200
        assert webui.skipped.is_set()
        assert client.post(f"{API}/tasks/{task_id}/interrupt").status_code == 200
        assert eventually(lambda: client.get(f"{API}/tasks/{task_id}").json()["status"] == "interrupted")
        assert webui.interrupted.is_set()
    finally:
        webui.release()


def test_backends_route_says_which_webuis_are_up(server, shared_fakes):
    client, _standalone = server
    backends = client.get(f"{API}/backends").json()
    assert [b["url"] for b in backends] == [shared_fakes[0].url, shared_fakes[1].url]
    assert all(b["up"] for b in backends)
    assert "model-b.safetensors [" in " ".join(backends[1]["checkpoints"])
    checkpoints = client.get(f"{API}/checkpoints").json()
    assert len(checkpoints) == 3  # shared is listed once


def test_bad_input_is_refused_with_a_message_and_nothing_queued_is_lost(server, shared_fakes):
    client, standalone = server
    standalone.queue.pause()
    good = [
        client.post(f"{API}/queue/txt2img", json={"prompt": str(i), "steps": 2}).json()["id"]
        for i in range(3)
    ]
    bad_bodies = [
        {"prompt": "x", "steps": "many"},
        {"prompt": "x", "init_images": ["not base64!"]},
    ]
    for bad in bad_bodies:
        response = client.post(f"{API}/queue/txt2img", json=bad)
        assert 400 <= response.status_code < 500 and response.json()["detail"], response.text
    batch = client.post(
        f"{API}/queue/txt2img/batch", json=[{"prompt": "ok"}, {"prompt": "x", "steps": "many"}]
    )
    assert 400 <= batch.status_code < 500
    garbage = client.post(
        f"{API}/queue/txt2img", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert 400 <= garbage.status_code < 500
    img2img = client.post(f"{API}/queue/img2img", json={"prompt": "x"})
    assert img2img.status_code == 422 and "init_images" in img2img.text
    pending = [t["id"] for t in client.get(f"{API}/queue").json()["pending"]]
    assert pending == good
    standalone.queue.resume()
    assert all(wait_done(client, task_id)["status"] == "done" for task_id in good)


# -- pass-through ----------------------------------------------------------------------------------


def test_an_unknown_route_is_passed_through_byte_identically(server, shared_fakes):
    client, _standalone = server
    webui = shared_fakes[0]
    request = {
        "method": "PUT",
        "url": "/custom/echo?x=1&x=2&y=%20z",
        "content": b"\x00raw body\xff",
        "headers": {"x-client": "tester", "content-type": "application/octet-stream"},
    }
    direct = httpx.request(request["method"], webui.url + request["url"], **_body_and_headers(request))
    proxied = client.request(**request)
    assert proxied.status_code == direct.status_code == 418
    assert proxied.content == direct.content
    assert _end_to_end(proxied.headers, "via") == _end_to_end(direct.headers, "via")
    assert proxied.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    echoed = proxied.json()
    assert echoed["method"] == "PUT" and echoed["query"] == {"x": ["1", "2"], "y": [" z"]}
    assert echoed["body"] == "\x00raw body\xff" and echoed["x-client"] == "tester"


def test_passed_through_answers_carry_via_and_the_queues_own_never_do(server, shared_fakes):
    """Seed 000's "I'm not the right one to ask" marker, the HTTP way (RFC 9110 Via)."""
    client, _standalone = server
    proxied = client.get("/custom/echo")
    assert proxied.headers.get_list("via") == ["1.0 cache-in-front-of-the-webui", "1.1 task-scheduler"]
    assert client.get("/custom/via").json() == {"via": ["1.1 task-scheduler"]}  # the WebUI is told too
    webui_api = client.get("/sdapi/v1/sd-models")
    assert webui_api.status_code == 200 and webui_api.headers.get_list("via") == ["1.1 task-scheduler"]
    for own in ("/task-scheduler/v1/queue", "/agent-scheduler/v1/queue", "/task-scheduler/queue"):
        answer = client.get(own)
        assert answer.status_code == 200 and "via" not in answer.headers, own


def test_webui_api_routes_the_queue_does_not_serve_pass_through(server, shared_fakes):
    client, _standalone = server
    assert (
        client.get("/sdapi/v1/sd-models").json()
        == httpx.get(f"{shared_fakes[0].url}/sdapi/v1/sd-models").json()
    )
    missing = client.get("/sdapi/v1/nothing-here")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}


def test_compressed_answers_pass_through_without_being_decoded(server, shared_fakes):
    client, _standalone = server
    raw = b""
    with client.stream("GET", "/custom/gzip", headers={"accept-encoding": "gzip"}) as response:
        assert response.headers["content-encoding"] == "gzip"
        for chunk in response.iter_raw():
            raw += chunk
    assert raw == gzip.compress(b"compressed body " * 50, mtime=0)


def test_streamed_answers_arrive_as_they_are_sent(server, shared_fakes):
    client, _standalone = server
    arrivals = []
    start = time.monotonic()
    with client.stream("GET", "/custom/stream") as response:
        for chunk in response.iter_text():
            arrivals.append((time.monotonic() - start, chunk))
    assert "".join(c for _t, c in arrivals) == "data: 0\n\ndata: 1\n\ndata: 2\n\n"
    assert arrivals[0][0] < 0.3  # the first event came before the WebUI finished (0.6 s)


def test_pass_through_goes_to_a_webui_that_is_up(fakes, start_server):
    a, b = fakes
    url, standalone = start_server([a, b])
    a.kill()
    assert eventually(lambda: not standalone.pool.backends[0].up)
    response = httpx.get(f"{url}/custom/echo")
    assert response.status_code == 418
    assert len([c for c in b.calls if c[1] == "/custom/echo"]) == 1


def test_pass_through_to_no_webui_answers_502(tmp_path, start_server):
    dead = FakeWebUI().start()
    dead.kill()
    url, _standalone = start_server([dead])
    response = httpx.get(f"{url}/sdapi/v1/samplers")
    assert response.status_code == 502 and "does not answer" in response.json()["detail"]
    assert "via" not in response.headers  # the queue's own answer, not the WebUI's


# -- auth, page, command line ---------------------------------------------------------------------


def test_api_auth_protects_queue_page_and_pass_through(fakes, start_server):
    url, _standalone = start_server(list(fakes), api_auth=["alice:secret"])
    for path in (f"{API}/queue", "/", "/custom/echo", "/sdapi/v1/sd-models"):
        refused = httpx.get(url + path)
        assert refused.status_code == 401, path
        assert refused.headers["www-authenticate"].startswith("Basic")
        assert httpx.get(url + path, auth=("alice", "secret")).status_code in (200, 418), path
    assert httpx.get(url + "/", auth=("alice", "wrong")).status_code == 401


def test_the_page_serves_the_tab_module_or_says_it_is_coming(fakes, start_server, tmp_path):
    url, _standalone = start_server(list(fakes), assets_root=tmp_path / "empty")
    page = httpx.get(url + "/")
    assert page.status_code == 200 and "coming" in page.text and "/task-scheduler/docs" in page.text
    assert httpx.get(url + "/task-scheduler/docs").status_code == 200
    assert "/task-scheduler/v1/queue/txt2img" in httpx.get(url + "/task-scheduler/openapi.json").text

    assets = tmp_path / "assets"
    (assets / "javascript").mkdir(parents=True)
    (assets / "javascript" / "task_scheduler.mjs").write_text("export const ok = 1;\n")
    (assets / "javascript" / "queue_button.js").write_text("// Generate's Queue button\n")
    (assets / "style.css").write_text(".task-scheduler { color: red }\n")
    url, _standalone = start_server(list(fakes), assets_root=assets)
    page = httpx.get(url + "/").text
    assert 'src="/task-scheduler/assets/javascript/task_scheduler.mjs"' in page and "gradioApp" in page
    assert "queue_button.js" not in page
    module = httpx.get(url + "/task-scheduler/assets/javascript/task_scheduler.mjs")
    assert module.status_code == 200 and "ok = 1" in module.text
    assert "color: red" in httpx.get(url + "/task-scheduler/assets/style.css").text


def test_command_line(monkeypatch, tmp_path):
    args = parser().parse_args(["serve", "--webui", "http://a:7860", "--webui", "http://b:7860"])
    assert args.webui == ["http://a:7860", "http://b:7860"]
    assert (args.host, args.port, args.api_auth) == ("127.0.0.1", 7870, None)
    assert main(["serve", "--webui", "localhost:7860"]) == 2
    with pytest.raises(SystemExit):
        parser().parse_args(["serve"])  # --webui is required

    served = {}
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    db = tmp_path / "q.sqlite3"
    code = main(
        ["serve", "--webui", "http://127.0.0.1:9", "--db", str(db), "--port", "7999", "--api-auth", "u:p"]
    )
    assert code == 0 and served["port"] == 7999 and served["host"] == "127.0.0.1"
    assert db.exists()


def _body_and_headers(request):
    return {k: v for k, v in request.items() if k in ("content", "headers")}


def _end_to_end(headers, *also_drop):
    drop = {"date", "server", "connection", "keep-alive", "transfer-encoding", *also_drop}
    return [(k, v) for k, v in headers.multi_items() if k not in drop]


# -- one queue on PostgreSQL, served by two servers on two "machines" ------------------------------


def test_two_servers_on_one_postgresql_share_the_queue_and_its_input_images(postgres, start_server, tmp_path):
    a = FakeWebUI(("model-a.safetensors",)).start()
    b = FakeWebUI(("model-b.safetensors",)).start()
    try:
        url = postgres.url(schema="standalone_farm")
        url_a, _ = start_server([a], db_path=url, own_dir=tmp_path / "machine-a")
        url_b, _ = start_server([b], db_path=url, own_dir=tmp_path / "machine-b")
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), (9, 8, 7)).save(buffer, format="PNG")
        body = {
            "prompt": "only machine b has the model",
            "seed": 5,
            "steps": 2,
            "width": 8,
            "height": 8,
            "init_images": [base64.b64encode(buffer.getvalue()).decode()],
            "checkpoint": "model-b",
        }
        with httpx.Client(base_url=url_a, timeout=10) as client_a, httpx.Client(base_url=url_b) as client_b:
            response = client_a.post(f"{API}/queue/img2img", json=body)  # queued on machine a
            assert response.status_code == 201, response.text
            task_id = response.json()["id"]
            assert wait_done(client_b, task_id)["status"] == "done"
            seen_from_a = {t["id"] for t in client_a.get(f"{API}/history").json()["tasks"]}
            assert task_id in seen_from_a  # one queue, whichever server you ask
        sent = b.generations[-1]
        init = Image.open(io.BytesIO(base64.b64decode(sent["body"]["init_images"][0])))
        assert init.getpixel((0, 0)) == (9, 8, 7) and a.generations == []
    finally:
        a.stop()
        b.stop()

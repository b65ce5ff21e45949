"""callback_url delivery: multipart like Agent Scheduler, from its own thread, with retries."""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import threading
import time

import httpx
import pytest
from test_http_helpers import (  # noqa: F401 - fixtures
    API,
    Receiver,
    client,
    finish_all,
    image_runner,
    outputs,
    parse_multipart,
    queue_txt2img,
    services,
)

from task_scheduler.http_api import ApiSettings, CallbackSender

#: these receivers listen on 127.0.0.1: the user's own receiver, allowed by the setting
LOCAL = ApiSettings(max_wait_s=5.0, allow_private_callbacks=True)


@pytest.fixture
def settings() -> ApiSettings:
    return LOCAL


def test_done_task_posts_its_images(client, queue, executor, image_runner):
    with Receiver() as receiver:
        sender = CallbackSender(queue, settings=LOCAL).start()
        try:
            created = queue_txt2img(client, callback_url=receiver.url)
            queue_txt2img(client)  # no callback_url: nothing is sent for it
            finish_all(executor)
            assert sender.wait_idle()
        finally:
            sender.close()
    assert len(receiver.posts) == 1
    post = receiver.posts[0]
    assert post["fields"] == {"task_id": created["id"], "status": "done"}
    names = [name for name, _, _ in post["files"]]
    assert names == client.get(f"{API}/tasks/{created['id']}").json()["result"]["images"]
    assert all(kind == "image/png" and data.startswith(b"\x89PNG") for _, kind, data in post["files"])


def test_failed_task_posts_status_and_error_without_files(client, queue, executor, runner):
    runner.behaviour = lambda task: (_ for _ in ()).throw(RuntimeError("sampler not found: Foo"))
    with Receiver() as receiver:
        sender = CallbackSender(queue, settings=LOCAL).start()
        try:
            created = queue_txt2img(client, callback_url=receiver.url)
            finish_all(executor)
            assert sender.wait_idle()
        finally:
            sender.close()
    assert receiver.posts == [
        {
            "fields": {
                "task_id": created["id"],
                "status": "failed",
                "error": "RuntimeError: sampler not found: Foo",
            },
            "files": [],
        }
    ]


def test_retries_with_exponential_backoff_then_succeeds(client, queue, executor):
    delays: list[float] = []
    with Receiver(statuses=[503, 500]) as receiver:
        sender = CallbackSender(queue, settings=LOCAL, attempts=4, backoff_s=0.5, sleep=delays.append).start()
        try:
            created = queue_txt2img(client, callback_url=receiver.url)
            finish_all(executor)
            assert sender.wait_idle()
        finally:
            sender.close()
    assert len(receiver.posts) == 3 and delays == [0.5, 1.0]
    assert [status for task_id, status in sender.log] == ["503", "500", "200"]
    assert all(task_id == created["id"] for task_id, _ in sender.log)


def test_gives_up_after_the_last_attempt_on_connection_errors(client, queue, executor):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    delays: list[float] = []
    sender = CallbackSender(
        queue,
        settings=LOCAL,
        attempts=3,
        backoff_s=0.1,
        transport=httpx.MockTransport(refuse),
        sleep=delays.append,
    )
    sender.start()
    try:
        queue_txt2img(client, callback_url="http://127.0.0.1:9/never")
        finish_all(executor)
        assert sender.wait_idle()
    finally:
        sender.close()
    assert [status for _, status in sender.log] == ["ConnectError"] * 3
    assert delays == [0.1, 0.2]


def test_a_client_error_is_not_retried(client, queue, executor):
    with Receiver(statuses=[404]) as receiver:
        sender = CallbackSender(queue, settings=LOCAL, sleep=lambda s: None).start()
        try:
            queue_txt2img(client, callback_url=receiver.url)
            finish_all(executor)
            assert sender.wait_idle()
        finally:
            sender.close()
    assert len(receiver.posts) == 1


def test_a_slow_receiver_never_blocks_the_executor(client, queue, executor):
    release = threading.Event()

    def slow(request: httpx.Request) -> httpx.Response:
        release.wait(5)
        return httpx.Response(200)

    sender = CallbackSender(queue, settings=LOCAL, transport=httpx.MockTransport(slow)).start()
    try:
        for _ in range(3):
            queue_txt2img(client, callback_url="http://127.0.0.1:9/slow")
        started = time.monotonic()
        assert finish_all(executor) == 3
        assert time.monotonic() - started < 2
        assert not sender.idle()
        release.set()
        assert sender.wait_idle()
    finally:
        release.set()
        sender.close()
    assert len(sender.log) == 3


def test_close_stops_waiting_retries(client, queue, executor):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sender = CallbackSender(
        queue, settings=LOCAL, attempts=5, backoff_s=30, transport=httpx.MockTransport(refuse)
    ).start()
    queue_txt2img(client, callback_url="http://127.0.0.1:9/never")
    finish_all(executor)
    time.sleep(0.1)
    started = time.monotonic()
    sender.close()
    assert time.monotonic() - started < 5
    sender.close()  # idempotent


def test_parse_multipart_helper_reads_fields_and_files():
    body = (
        b'--b\r\nContent-Disposition: form-data; name="task_id"\r\n\r\nabc\r\n'
        b'--b\r\nContent-Disposition: form-data; name="files"; filename="x.png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x89PNG\r\n--b--\r\n"
    )
    parsed = parse_multipart("multipart/form-data; boundary=b", body)
    assert parsed == {"fields": {"task_id": "abc"}, "files": [("x.png", "image/png", b"\x89PNG")]}

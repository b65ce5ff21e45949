"""callback_url reaches public addresses only, unless the host allows private ones."""
# ruff: noqa: F811 - pytest fixtures imported from test_http_helpers are redefined as arguments

from __future__ import annotations

import json
import socket

import httpx
import pytest
from test_http_helpers import (  # noqa: F401 - fixtures
    API,
    AS,
    Receiver,
    client,
    finish_all,
    queue_txt2img,
    services,
    settings,
)

from task_scheduler.http_api import CallbackSender
from task_scheduler.http_api.callbacks import LOG_SIZE

PRIVATE = [
    "http://127.0.0.1:8080/done",
    "http://127.1/done",
    "http://[::1]:8080/done",
    "http://0.0.0.0:8080/done",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/x",
    "http://192.168.1.1/x",
    "http://172.16.0.1/x",
    "http://[fe80::1]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://localhost:8080/x",
    "https://app.localhost/x",
]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_targets_are_refused_on_every_route(client, queue, url):
    assert client.post(f"{API}/queue/txt2img", json={"callback_url": url}).status_code == 422
    assert client.post(f"{AS}/queue/txt2img", json={"callback_url": url}).status_code == 422
    item = {"kind": "txt2img", "params": {"prompt": "x"}, "callback_url": url}
    assert client.post(f"{API}/import", json={"tasks": [item]}).status_code == 422
    as_item = {"type": "txt2img", "params": {"prompt": "x"}, "api_task_callback": url}
    assert client.post(f"{AS}/import", json={"content": json.dumps([as_item])}).status_code == 422
    assert client.post(f"{API}/jobs", json={"base": {"callback_url": url}, "axes": []}).status_code == 422
    assert queue.pending() == []


def test_a_setting_allows_a_receiver_of_your_own(client, services, queue, executor):
    services.settings.allow_private_callbacks = True
    with Receiver() as receiver:
        sender = CallbackSender(queue, settings=services.settings).start()
        try:
            created = queue_txt2img(client, callback_url=receiver.url)
            finish_all(executor)
            assert sender.wait_idle()
        finally:
            sender.close()
    assert [post["fields"]["task_id"] for post in receiver.posts] == [created["id"]]


def test_the_address_is_checked_again_when_sending(client, services, queue, executor, monkeypatch):
    """A name that resolved elsewhere when queued, but points at this machine now, gets nothing."""
    sent: list[str] = []
    transport = httpx.MockTransport(lambda request: sent.append(str(request.url)) or httpx.Response(200))
    created = queue_txt2img(client, callback_url="http://hooks.example.com/done")

    def resolve(host, port, *args, **kwargs):
        assert host == "hooks.example.com"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    sender = CallbackSender(queue, settings=services.settings, transport=transport).start()
    try:
        finish_all(executor)
        assert sender.wait_idle()
    finally:
        sender.close()
    assert sent == [] and list(sender.log) == [(created["id"], "refused")]

    def public(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(socket, "getaddrinfo", public)
    again = queue_txt2img(client, callback_url="http://hooks.example.com/done")
    sender = CallbackSender(queue, settings=services.settings, transport=transport).start()
    try:
        finish_all(executor)
        assert sender.wait_idle()
    finally:
        sender.close()
    assert sent == ["http://hooks.example.com/done"] and sender.log[-1] == (again["id"], "200")


def test_the_delivery_log_is_bounded(client, services, queue, executor):
    services.settings.allow_private_callbacks = True
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    sender = CallbackSender(queue, settings=services.settings, transport=transport).start()
    try:
        for _ in range(LOG_SIZE + 30):
            queue_txt2img(client, callback_url="http://127.0.0.1:9/done")
        finish_all(executor)
        assert sender.wait_idle()
    finally:
        sender.close()
    assert len(sender.log) == LOG_SIZE

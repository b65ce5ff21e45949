"""The Task Queue tab while the queue's PostgreSQL server is down: it says the store is
unreachable (naming it without the password) and keeps showing the queue as last seen, instead
of an empty queue; once the server is back the notice goes by itself.

The demo app runs on a PostgreSQL server of this module's own (stopped with ``pg_ctl -m
immediate``, a crash as clients see it, then started again).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers import postgres_server

from .conftest import DemoServer
from .test_task_queue_tab import open_queue, pending_prompts, wait_for

pytestmark = pytest.mark.browser

#: in the demo's URL; the server trusts loopback and ignores it, so only a leak would show it
PASSWORD = "pw-n0t-for-pages"


@pytest.fixture(scope="module")
def cluster():
    """A server of this module's own: its tests stop it."""
    yield from postgres_server()


@pytest.fixture(scope="module")
def demo(browser, cluster, tmp_path_factory) -> Iterator[DemoServer]:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{cluster.port}/postgres?schema=tab"
    server = DemoServer(tmp_path_factory.mktemp("demo-pg"), "--paused", "--step-delay", "0.02", "--db", url)
    yield server
    server.stop()


def test_the_tab_says_the_store_is_unreachable_and_keeps_the_queue(page: Any, api: Any, cluster) -> None:
    api.post("/queue/txt2img", json={"prompt": "waits through an outage"})
    open_queue(page)
    wait_for(lambda: pending_prompts(page) == ["waits through an outage"], what="the queued task")
    notice = page.locator(".tsq-notice")
    cluster.stop("immediate")
    try:
        wait_for(
            lambda: notice.is_visible() and "unreachable" in notice.inner_text(),
            timeout=30,
            what="the tab to say the store is unreachable",
        )
        text = notice.inner_text()
        assert f"127.0.0.1:{cluster.port}" in text and PASSWORD not in text
        assert pending_prompts(page) == ["waits through an outage"]  # as last seen, not an empty queue
    finally:
        cluster.start()
    wait_for(lambda: not notice.is_visible(), timeout=30, what="the notice to go once the server is back")
    assert pending_prompts(page) == ["waits through an outage"]
    assert not page.errors

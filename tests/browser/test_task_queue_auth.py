"""The tab under --gradio-auth and --api-auth: it must not be the empty tab of AS#265.

With gradio auth the browser's fetches carry gradio's session cookie (credentials
"same-origin"), which the API accepts; with only --api-auth the browser answers the API's Basic
challenge with the credentials it was given.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .conftest import ARTIFACTS, DemoServer, flavour

pytestmark = pytest.mark.browser

USER, PASSWORD = "alice", "s3cret-pass"


@pytest.fixture(scope="module")
def locked(browser, tmp_path_factory) -> Iterator[DemoServer]:
    credentials = f"{USER}:{PASSWORD}"
    server = DemoServer(
        tmp_path_factory.mktemp("locked"),
        "--paused",
        "--gradio-auth",
        credentials,
        "--api-auth",
        credentials,
        "--tab",
        "task_queue",
    )
    yield server
    server.stop()


def queue_one(server: DemoServer, prompt: str) -> None:
    with httpx.Client(base_url=server.url + "/task-scheduler/v1", auth=(USER, PASSWORD)) as api:
        api.post("/queue/txt2img", json={"prompt": prompt, "steps": 2}).raise_for_status()
        assert httpx.get(server.url + "/task-scheduler/v1/queue").status_code == 401


def test_with_gradio_auth_the_session_cookie_opens_the_api(browser, locked):
    queue_one(locked, "a cat behind a login")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(locked.url)
        page.locator("input[type=text], input:not([type])").first.fill(USER)
        page.locator("input[type=password]").first.fill(PASSWORD)
        page.locator("button", has_text="Login").first.click()
        page.wait_for_selector("#task-scheduler-tab[data-ready='1']", state="attached", timeout=30000)
        page.wait_for_selector(".tsq-pending-row", timeout=15000)
        assert "a cat behind a login" in page.locator(".tsq-pending-row .tsq-prompt").first.inner_text()
        assert page.locator(".tsq-notice").is_hidden()
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"browser-{flavour()}-gradio-auth.png"), full_page=True)
        context.close()


@pytest.fixture(scope="module")
def api_locked(browser, tmp_path_factory) -> Iterator[DemoServer]:
    server = DemoServer(
        tmp_path_factory.mktemp("api-locked"),
        "--paused",
        "--api-auth",
        f"{USER}:{PASSWORD}",
        "--tab",
        "task_queue",
    )
    yield server
    server.stop()


def test_with_only_api_auth_the_browser_answers_the_basic_challenge(browser, api_locked):
    """The API answers 401 with ``WWW-Authenticate: Basic``: a browser asks the user once, then
    sends the credentials with every request of the origin, thumbnails included."""
    queue_one(api_locked, "a cat behind basic auth")
    signed_in = browser.new_context(http_credentials={"username": USER, "password": PASSWORD})
    page = signed_in.new_page()
    try:
        page.goto(api_locked.url)
        page.wait_for_selector(".tsq-pending-row", timeout=30000)
        assert "basic auth" in page.locator(".tsq-pending-row .tsq-prompt").first.inner_text()
        assert page.locator(".tsq-notice").is_hidden()
    finally:
        signed_in.close()

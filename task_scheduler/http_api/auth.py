"""One auth dependency for both routers: HTTP Basic (``--api-auth``) or a gradio login session.

Policy (webui-internals §6.4): open when neither ``--api-auth`` nor gradio auth is configured;
otherwise valid Basic credentials or a valid gradio session cookie; anything else is 401.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import HTTPException, Request

from .services import ApiServices, SessionCheck

log = logging.getLogger(__name__)

USER_STATE_KEY = "task_scheduler_user"


def parse_credentials(entries: Iterable[str] | None) -> dict[str, str]:
    """``["user:pass", "u2:p:with:colons"]`` -> ``{user: password}`` (the first colon splits)."""
    creds: dict[str, str] = {}
    for entry in entries or ():
        for item in str(entry).split(","):
            item = item.strip()
            if not item:
                continue
            user, sep, password = item.partition(":")
            if sep:
                creds[user] = password
    return creds


def basic_user(header: str | None, creds: dict[str, str]) -> str | None:
    """The user named by a valid ``Authorization: Basic`` header, or None."""
    if not header or not creds:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or user not in creds:
        return None
    if secrets.compare_digest(password.encode("utf-8"), creds[user].encode("utf-8")):
        return user
    return None


def make_auth_dependency(services: ApiServices) -> Callable[[Request], None]:
    creds = parse_credentials(services.auth)

    def require_auth(request: Request) -> None:
        """Refuse the request unless it carries API credentials or a login session."""
        if not creds and services.session_check is None:
            return
        user = basic_user(request.headers.get("authorization"), creds)
        if user is None and services.session_check is not None:
            try:
                user = services.session_check(request)
            except Exception:
                log.exception("session check failed")
                user = None
        if user is None:
            raise HTTPException(
                status_code=401,
                detail="Not authenticated",
                headers={"WWW-Authenticate": 'Basic realm="Task Scheduler"'},
            )
        setattr(request.state, USER_STATE_KEY, user)

    return require_auth


def request_user(request: Request) -> str | None:
    return getattr(request.state, USER_STATE_KEY, None)


def gradio_session_check(app: Any) -> SessionCheck | None:
    """A session check over gradio's login cookies, or None when gradio auth is off.

    ``app`` is the gradio ``App`` that ``on_app_started`` receives. gradio 4 names the cookie
    ``access-token-{app.cookie_id}`` (``-unsecure-`` over plain http), gradio 3 ``access-token``
    (``access-token-unsecure``); ``app.tokens`` maps a token to its user name.
    """
    if app is None or getattr(app, "auth", None) is None:
        return None
    cookie_id = getattr(app, "cookie_id", None)
    names = []
    if cookie_id:
        names += [f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"]
    names += ["access-token", "access-token-unsecure"]

    def check(request: Any) -> str | None:
        tokens = getattr(app, "tokens", None) or {}
        for name in names:
            token = request.cookies.get(name)
            if token:
                user = tokens.get(token)
                if user:
                    return str(user)
        return None

    return check

"""Pass-through: every request the queue does not serve goes to a WebUI unchanged.

Method, path (as sent, percent-encoding included), query, headers and body go out; status,
headers and body come back, both directions streamed and neither decoded (a gzip answer stays
gzip), so a client sees what the WebUI sent. Only hop-by-hop headers, which describe one
connection and not the message, are not forwarded (RFC 9110 §7.6.1), and the reason phrase is
the standard one for the status (ASGI carries none). The request goes to the first backend that
is up. WebSocket upgrades are not proxied.

Both directions gain a ``Via`` entry naming the queue (RFC 9110 §7.6.3), after any the message
already had: a client tells a passed-through answer from one the queue made itself (which never
carries ours) without any change to the body or the status.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Callable

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .redact import redact, split_credentials

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
#: the pseudonym this queue adds to ``Via``
VIA_NAME = "task-scheduler"


def via_entry(http_version: str) -> tuple[bytes, bytes]:
    """Our ``Via`` header line for a message received over ``http_version`` ("HTTP/1.1", "1.1")."""
    protocol = http_version.upper().removeprefix("HTTP/") or "1.1"
    return b"via", f"{protocol} {VIA_NAME}".encode("latin-1")


def _forwardable(
    raw: list[tuple[bytes, bytes]], *, drop: frozenset[str] = frozenset()
) -> list[tuple[bytes, bytes]]:
    named_by_connection: set[str] = set()
    for key, value in raw:
        if key.lower() == b"connection":
            named_by_connection |= {v.strip().lower() for v in value.decode("latin-1").split(",")}
    skip = HOP_BY_HOP | drop | named_by_connection
    return [(k, v) for k, v in raw if k.decode("latin-1").lower() not in skip]


class Proxy:
    """``await proxy(request)`` -> the WebUI's response. ``target()`` names the WebUI's base URL."""

    def __init__(self, target: Callable[[], str | None], *, connect_timeout_s: float = 10.0) -> None:
        self.target = target
        # no read timeout: a proxied generation or a streamed progress feed may take long
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(connect_timeout_s, read=None, write=None, pool=None)
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __call__(self, request: Request) -> Response:
        base = self.target()
        if base is None:
            return JSONResponse({"detail": "no WebUI is configured to pass this request to"}, status_code=502)
        plain, credentials = split_credentials(base)
        url = _target_url(plain, request)
        headers = _forwardable(list(request.headers.raw), drop=frozenset({"host"}))
        if credentials is not None:  # the WebUI's own --api-auth, as a header: never in a URL or a log
            token = base64.b64encode(":".join(credentials).encode()).decode("ascii")
            headers = [(k, v) for k, v in headers if k.lower() != b"authorization"]
            headers.append((b"authorization", f"Basic {token}".encode("ascii")))
        headers.append(via_entry(request.scope.get("http_version", "1.1")))
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        outgoing = self.client.build_request(
            request.method, url, headers=headers, content=request.stream() if has_body else None
        )
        try:
            upstream = await self.client.send(outgoing, stream=True)
        except httpx.TransportError as exc:
            shown = redact(base)
            log.warning("pass-through to %s failed: %s", shown, type(exc).__name__)
            return JSONResponse(
                {"detail": f"the WebUI at {shown} does not answer ({type(exc).__name__})"}, status_code=502
            )

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.aiter_raw():
                    yield chunk
            finally:
                await upstream.aclose()

        response = StreamingResponse(body(), status_code=upstream.status_code)
        response.raw_headers = [*_forwardable(list(upstream.headers.raw)), via_entry(upstream.http_version)]
        return response


def _target_url(base: str, request: Request) -> httpx.URL:
    root = httpx.URL(base)
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode("ascii")
    query: bytes = request.scope.get("query_string") or b""
    path = root.raw_path.split(b"?", 1)[0].rstrip(b"/") + raw_path
    return root.copy_with(raw_path=path + (b"?" + query if query else b""))

"""Backend URLs as they may be shown: ``http://user:pass@host`` loses its credentials.

``--webui http://user:pass@host:7860`` is how a WebUI with its own ``--api-auth`` is given; the
password must reach that WebUI and nobody else: not a result's ``info.backend``, ``/backends``,
the page footer, a 502 body or a log line.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``(url without user info, (user, password) or None)``."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


def redact(url: str) -> str:
    """The URL to show: credentials, if any, replaced by ``***``."""
    clean, credentials = split_credentials(url)
    if credentials is None:
        return url
    scheme, rest = clean.split("://", 1)
    return f"{scheme}://***@{rest}"

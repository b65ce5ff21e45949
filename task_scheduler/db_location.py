"""Where a queue's store lives: a SQLite file path, or a PostgreSQL URL.

One setting names either (``--task-scheduler-db``, ``TASK_SCHEDULER_DB``, the Settings field, the
standalone server's ``--db``): a value that starts with ``postgresql://`` or ``postgres://``
is a server, anything else a file. Why parse it here: the URL carries credentials, and every
message, log line and page must show it without them (:attr:`StoreLocation.display`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql", "postgres")
#: our own URL parameter (not libpq's): the schema that holds this queue's tables
SCHEMA_PARAM = "schema"
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class InvalidLocation(ValueError):
    """The configured store location cannot be used; the message never contains a password."""


@dataclass(frozen=True)
class StoreLocation:
    """A parsed store location. ``conninfo`` holds the secret; never log or show it."""

    kind: str  # "sqlite" | "postgresql"
    path: Path | None = None
    conninfo: str = ""
    schema: str = "public"
    display: str = ""

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgresql"

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:  # a repr in a traceback must not leak the password either
        return f"StoreLocation({self.display!r})"


def is_postgres_url(value: str | Path) -> bool:
    text = str(value).strip().lower()
    return any(text.startswith(f"{scheme}://") for scheme in POSTGRES_SCHEMES)


def parse_location(value: str | Path) -> StoreLocation:
    """A path or URL as a :class:`StoreLocation`; a URL with a bad schema name is refused."""
    if not is_postgres_url(value):
        path = Path(str(value)).expanduser()
        return StoreLocation(kind="sqlite", path=path, display=str(path))
    text = str(value).strip()
    try:
        parts = urlsplit(text)
        query = parse_qsl(parts.query, keep_blank_values=True)
        _ = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        raise InvalidLocation(f"the PostgreSQL URL cannot be read: {_without_password(text)}") from exc
    schema = "public"
    kept: list[tuple[str, str]] = []
    for key, item in query:
        if key == SCHEMA_PARAM:
            schema = item
        else:
            kept.append((key, item))
    if not _SCHEMA_NAME.match(schema):
        raise InvalidLocation(
            f"schema {schema[:80]!r} in the PostgreSQL URL is not a plain name "
            "(letters, digits and _, not starting with a digit, at most 63)"
        )
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment))
    display = _without_password(conninfo)
    if schema != "public":
        display += ("&" if "?" in display else "?") + f"{SCHEMA_PARAM}={schema}"
    return StoreLocation(kind="postgresql", conninfo=conninfo, schema=schema, display=display)


def _without_password(url: str) -> str:
    """The URL with any password (in the user part or a ``password=`` parameter) replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://(unreadable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
    query = [
        (key, "***" if key.lower() in ("password", "passfile", "sslpassword") else item)
        for key, item in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"), ""))


def redact(text: str, location: StoreLocation) -> str:
    """``text`` (an error message from the driver) with the location's secrets removed."""
    if not location.is_postgres:
        return text
    out = text.replace(location.conninfo, location.display)
    password = urlsplit(location.conninfo).password
    if password:
        out = out.replace(password, "***")
    return out

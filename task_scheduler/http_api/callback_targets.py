"""Where a ``callback_url`` may point: public addresses only, unless the host allows private ones.

A callback is a POST that the server sends on its own, so without this check any API client could
make it reach what only the server can reach: the WebUI itself on 127.0.0.1, a router's admin page
on 192.168.x.x, or a cloud metadata service on 169.254.169.254. Loopback, link-local, private,
unspecified, multicast and reserved targets are refused when a task is queued (literal addresses
and ``localhost``) and again when the callback is sent (every address the name resolves to then),
unless ``ApiSettings.allow_private_callbacks`` is on: the WebUI's setting "Allow callbacks to
local and private addresses", or the standalone server's ``--allow-private-callbacks``, for a
user's own receiver on the same machine or network.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Union
from urllib.parse import urlsplit

from ..errors import InvalidTaskData

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


class CallbackRefused(Exception):
    """The callback's target resolves to an address callbacks may not reach."""


def refused_why(address: Address) -> str | None:
    """Why callbacks may not reach ``address``, or None for a public one."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    for check, what in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(address, check):
            return f"{address} is a {what} address"
    return None


def _literal(host: str) -> Address | None:
    """The address a literal host means, short IPv4 forms included (``127.1``, ``2130706433``)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-FxX.]+", host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_at_queue_time(url: str, *, allow_private: bool) -> None:
    """Refuse a URL whose host is a literal non-public address or a ``localhost`` name."""
    if allow_private:
        return
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    address = _literal(host)
    why = refused_why(address) if address is not None else None
    if why is None and (host == "localhost" or host.endswith(".localhost")):
        why = f"{host} is this machine"
    if why is not None:
        raise InvalidTaskData(
            "callback_url",
            f"{why}; callbacks go to public addresses unless the server allows private ones",
        )


def check_at_send_time(url: str, *, allow_private: bool) -> None:
    """Resolve the host now and refuse if any address it has is not public."""
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise CallbackRefused(f"{host} does not resolve ({exc})") from None
    for info in infos:
        address = _literal(str(info[4][0]))
        why = refused_why(address) if address is not None else f"{info[4][0]} is not an IP address"
        if why is not None:
            raise CallbackRefused(f"{host}: {why}")

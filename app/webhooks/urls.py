"""Where a webhook may point. Panjereh posts to URLs an administrator gives it, from inside
the network it runs in; by default it refuses addresses that only that network can reach
(loopback, private, link-local: a cloud's metadata service), both when the URL is saved and
when it is sent to (the name may resolve elsewhere by then). `PANJEREH_WEBHOOK_ALLOW_PRIVATE_URLS`
lifts this, for receivers inside the same network; the test environment always lifts it."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Literal
from urllib.parse import urlsplit

from app.refusals import RuleBroken

LOCAL_NAMES = ("localhost", "localhost.localdomain")


# The rules a webhook's URL can break (`UrlRefused.reason`); private_name only at a send (a
# name that resolves to a private address).
UrlRule = Literal[
    "not_http", "has_credentials", "bad_port", "this_machine", "private_address", "private_name"
]


class UrlRefused(RuleBroken):
    """A URL a webhook may not have."""

    def __init__(self, message: str, reason: UrlRule) -> None:
        super().__init__(message, reason, ("url",))


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return not ip.is_global or ip.is_multicast


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL if a webhook may be saved with it, else UrlRefused saying why."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("the URL must start with http:// or https:// and name a host", "not_http")
    if parts.username is not None or parts.password is not None:
        message = "the URL must not carry a user name or password; the signature proves us"
        raise UrlRefused(message, "has_credentials")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:
        raise UrlRefused(f"the URL's port is not valid: {exc}", "bad_port") from exc
    if not allow_private:
        host = parts.hostname.lower().rstrip(".")
        if host in LOCAL_NAMES or host.endswith(".localhost"):
            raise UrlRefused("the URL points at this machine", "this_machine")
        try:
            private = _private(host)
        except ValueError:
            private = False  # a name: checked when it is resolved, at each send
        if private:
            raise UrlRefused("the URL points at a private or loopback address", "private_address")
    return url.strip()


async def check_destination(url: str, *, allow_private: bool) -> None:
    """Before a send: UrlRefused if the host resolves to an address webhooks may not reach."""
    if allow_private:
        return
    check_url(url, allow_private=False)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return  # the send reports that it cannot resolve the name, and is retried
    for info in infos:
        if _private(str(info[4][0])):
            raise UrlRefused(f"{host} resolves to a private or loopback address", "private_name")

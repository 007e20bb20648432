"""HTTP to Twilio over the app's shared httpx client: the SDK's requests (sent to the inbox's
`api_base_url`) and MMS media downloads (only from that host, within the size limit)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5


class TwilioHttp(AsyncHttpClient):  # type: ignore[misc]  # the SDK is untyped
    """The twilio SDK's async transport, on the shared httpx client (one connection pool for
    the process; no aiohttp session to close per connector). Every request goes to `base`:
    Twilio's API by default, a regional proxy or a test server otherwise."""

    def __init__(self, http: httpx.AsyncClient, base: httpx.URL) -> None:
        super().__init__(log, is_async=True)
        self._http = http
        self._base = base
        self.retry_after: float | None = None  # from the last answer, if it asked

    def _at_base(self, uri: str) -> httpx.URL:
        url = httpx.URL(uri)
        return url.copy_with(
            scheme=self._base.scheme,
            host=self._base.host,
            port=self._base.port,
            path=self._base.path.rstrip("/") + url.path,
        )

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK's signature
        allow_redirects: bool = False,
    ) -> Response:
        response = await self._http.request(
            method,
            self._at_base(uri),
            params=params,
            data=data or None,
            headers=headers,
            auth=auth,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            follow_redirects=allow_redirects,
        )
        self.retry_after = _retry_after(response)
        return Response(response.status_code, response.text, response.headers)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


class MediaRefused(Exception):
    """A media file that is not downloaded; the message says why, for the agent."""


def _where(url: httpx.URL) -> str:
    return url.netloc.decode("ascii", "replace")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


async def download(
    http: httpx.AsyncClient,
    url: str,
    *,
    api_base: httpx.URL,
    auth: tuple[str, str],
    limit: int,
) -> bytes:
    """A Twilio media file. Only URLs on the inbox's Twilio API host are fetched (anything
    else in a MediaUrl would make us a proxy into the network: SSRF); the credentials go only
    there. Twilio answers with a redirect to its media store, followed if it is HTTPS or on
    the API host. Streamed, and abandoned as soon as it exceeds `limit` bytes."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise MediaRefused(f"{url[:100]!r} is not a URL") from exc
    if _origin(target) != _origin(api_base):
        raise MediaRefused(f"{_where(target)!r} is not this inbox's Twilio API host")
    for _ in range(MAX_REDIRECTS + 1):
        trusted = _origin(target) == _origin(api_base)
        async with http.stream(
            "GET", target, auth=auth if trusted else None, follow_redirects=False
        ) as response:
            if response.is_redirect:
                try:
                    target = target.join(response.headers.get("location", ""))
                except httpx.InvalidURL as exc:
                    raise MediaRefused("Twilio redirected to an address that is no URL") from exc
                if target.scheme != "https" and _origin(target) != _origin(api_base):
                    raise MediaRefused(f"Twilio redirected to {_where(target)!r} without HTTPS")
                continue
            if response.status_code != 200:
                raise MediaRefused(f"Twilio answered {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise MediaRefused(f"{declared} bytes is over the {limit}-byte limit")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > limit:
                    raise MediaRefused(f"larger than the {limit}-byte limit")
            return bytes(data)
    raise MediaRefused("too many redirects")

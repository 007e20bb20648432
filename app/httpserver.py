"""The HTTP/1.1 protocol `panjereh serve` runs: uvicorn's httptools protocol with the two
limits a server facing the internet needs and uvicorn does not have, so the embedded server is
safe without a proxy in front.

- A request's headers are capped (HEADER_LIMIT bytes, answered 431): httptools keeps a header
  until it is complete, so a 64 MiB header was held in memory whole, per connection. Counted
  twice: the bytes of a head still incomplete (so none is held past the cap), and the parsed
  request line and headers (so a head that arrives in one read is held to the same cap).
- A request's headers must arrive within HEADER_TIMEOUT seconds of their first byte (or of the
  connection): a client trickling a byte at a time held its connection, and a slot, for ever.
  Between requests, uvicorn's keep-alive timeout already closes an idle connection.
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_LIMIT = 64 * 1024
HEADER_TIMEOUT = 10.0


class _HeadTooLarge(Exception):
    """Raised from a parser callback, which makes httptools stop reading the request."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    # Per connection: whether the next bytes are a request's head, how many of them have come,
    # and the timer that closes the connection if the rest does not come in time.
    _awaiting_head = True
    _head_bytes = 0
    _head_timer: asyncio.TimerHandle | None = None
    _boundary_in_chunk = False  # a head or a body ended in the chunk being parsed
    _head_parsed = 0  # bytes of the request line and headers parsed so far
    _head_too_large = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head:
            self._start_head_timer()
        self._boundary_in_chunk = False
        super().data_received(data)
        if self._awaiting_head and not self._boundary_in_chunk and not self.transport.is_closing():
            # Only a chunk wholly inside a head counts: one in which a head or a body ended
            # (the last of a large upload) is not held against the next head; a chunk is at
            # most 256 KiB.
            self._head_bytes += len(data)
            if self._head_bytes > HEADER_LIMIT:
                self._refuse(431, "Request Header Fields Too Large")

    def on_message_begin(self) -> None:
        self._head_parsed = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        self._head_parsed += size
        if self._head_parsed > HEADER_LIMIT:
            self._head_too_large = True
            raise _HeadTooLarge

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers any error in the parser 400; the one raised above is a 431.
        if self._head_too_large:
            self._refuse(431, "Request Header Fields Too Large")
        else:
            super().send_400_response(msg)

    def on_headers_complete(self) -> None:
        self._boundary_in_chunk = True
        self._awaiting_head = False
        self._head_bytes = 0
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        # The next bytes on this connection, if any, are the next request's head.
        self._awaiting_head = True
        self._boundary_in_chunk = True
        super().on_message_complete()

    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEADER_TIMEOUT, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_bytes:
            self._refuse(408, "Request Timeout")
        else:  # nothing was sent (a browser's preconnect, say): nothing to answer
            self.transport.close()

    def _refuse(self, status: int, reason: str) -> None:
        """Answer in the API's error shape, then close: the request was never read whole."""
        self._awaiting_head = False
        self._stop_head_timer()
        code = _CODES[status]
        body = json.dumps({"detail": reason, "code": code}).encode() + b"\n"
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, reason.encode(), len(body), body)
        )
        self.transport.close()


_CODES = {408: "request_timeout", 431: "headers_too_large"}

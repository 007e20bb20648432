"""Builders for the widget's tests: a webchat inbox and a visitor, through the public API."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.support.api import Api

SITE = "https://shop.example"


@dataclass
class Visitor:
    token: str
    origin: str = SITE

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Origin": self.origin}


async def create_webchat_inbox(admin: Api, *origins: str, **config: Any) -> dict[str, Any]:
    values = {"allowed_origins": list(origins or (SITE,))} | config
    response = await admin.post(
        "/api/v1/inboxes", json={"kind": "webchat", "name": "Website", "config": values}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def widget_snippet(server_url: str, chat: dict[str, Any], **data: str) -> str:
    """The line a site pastes: the widget of the web chat inbox `chat`, with `data-*`
    attributes (`callback=` a callback form's public token, `labels=` JSON)."""
    attributes = "".join(f" data-{name}='{value}'" for name, value in data.items())
    return (
        f'<script src="{server_url}/widget.js" data-inbox="{chat["public_token"]}"'
        f"{attributes} async></script>"
    )


async def start_visitor(
    client: httpx.AsyncClient, public_token: str, origin: str = SITE, **body: Any
) -> Visitor:
    response = await client.post(
        f"/api/v1/widget/{public_token}/sessions", json=body, headers={"Origin": origin}
    )
    assert response.status_code == 201, response.text
    assert response.headers["access-control-allow-origin"] == origin
    return Visitor(response.json()["visitor_token"], origin)


async def say(client: httpx.AsyncClient, visitor: Visitor, text: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/widget/messages", json={"body": text}, headers=visitor.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@contextlib.contextmanager
def site_on(port: int, page_html: str) -> Iterator[None]:
    """A customer's site: `page_html` served on this loopback port (another origin)."""
    body = page_html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()

"""What every public endpoint (widget, callback form) shares: the Origin check against the
inbox's `allowed_origins`, the CORS answer that lets a browser on that site call us, and
the client address rate limits are counted by."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Forbidden

PREFLIGHT_MAX_AGE = "600"


def _normalized(origin: str) -> str:
    parts = urlsplit(origin.strip().rstrip("/").lower())
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


def allowed_origin(request: HTTPConnection, allowed: list[str]) -> str | None:
    """The caller's Origin when the inbox allows it; None when the request carries none (a
    site's own server posting its form, a client that is not a browser). 403 for any other
    origin ("*" allows all). Works for HTTP requests and websockets alike."""
    origin = request.headers.get("origin")
    if origin is None:
        return None
    if "*" in allowed or _normalized(origin) in {_normalized(a) for a in allowed}:
        return origin
    raise Forbidden(
        f"requests from {origin} are not allowed for this inbox: add it to allowed_origins",
        code="origin_not_allowed",
    )


def cors(response: Response, origin: str | None, *, methods: str = "GET, POST") -> None:
    """Let the browser page at `origin` read this response (and, for a preflight, send)."""
    if origin is None:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
    response.headers["Access-Control-Allow-Methods"] = methods
    response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
    response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    response.headers["Access-Control-Expose-Headers"] = "Retry-After"


def client_address(request: HTTPConnection) -> str:
    # uvicorn has already applied X-Forwarded-For from the trusted proxies.
    return request.client.host if request.client else "unknown"


# The public endpoints a browser calls from customers' sites.
PUBLIC_PREFIXES = ("/api/v1/widget/", "/api/v1/callbacks/")


class PublicErrorCorsMiddleware:
    """Lets the page read our *error* answers (a 422 next to the field, a 429's Retry-After)
    from the public endpoints. An error handler's response has no CORS headers (they were
    set on the endpoint's response, or validation failed before it ran), so the browser
    would hide it. Errors say nothing about anyone's data; a successful answer stays
    readable only by the origins the endpoint itself allowed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        public = scope["type"] == "http" and any(
            path.startswith(p) and len(path) > len(p) for p in PUBLIC_PREFIXES
        )
        origin = Headers(scope=scope).get("origin") if public else None
        if origin is None:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                headers = MutableHeaders(scope=message)
                if "access-control-allow-origin" not in headers:
                    headers["Access-Control-Allow-Origin"] = origin
                    headers["Access-Control-Expose-Headers"] = "Retry-After"
                    headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

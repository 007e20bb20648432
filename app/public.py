"""What every public endpoint (widget, callback form) shares: the Origin check against the
inbox's `allowed_origins`, the CORS answer that lets a browser on that site call us, and
the client address rate limits are counted by."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request, Response

from app.errors import Forbidden

PREFLIGHT_MAX_AGE = "600"


def _normalized(origin: str) -> str:
    parts = urlsplit(origin.strip().rstrip("/").lower())
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


def allowed_origin(request: Request, allowed: list[str]) -> str | None:
    """The caller's Origin when the inbox allows it; None when the request carries none (a
    site's own server posting its form). 403 for any other origin ("*" allows all)."""
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


def client_address(request: Request) -> str:
    # uvicorn has already applied X-Forwarded-For from the trusted proxies.
    return request.client.host if request.client else "unknown"

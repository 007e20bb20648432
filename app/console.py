"""The agent console: the single-page app built into frontend/dist, served at `/`.

Files that exist in the build are served as they are (hashed assets are cached for a year);
any other page a browser asks for (`Accept: text/html`) falls back to index.html, so the
console's own routes survive a reload. The fallback never answers for the API's prefixes,
and a client that is not after a page (an API client, a script) still gets a JSON 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Scope

from app.errors import NotFound

DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"

# Paths the console never shadows: the API, websockets, provider webhooks, docs, health,
# and the public widget's entry points.
RESERVED = (
    "api",
    "ws",
    "webhooks",
    "docs",
    "redoc",
    "openapi.json",
    "healthz",
    "readyz",
    "metrics",
    "widget.js",
    "demo",
)

# The console runs only its own scripts. Sandboxed e-mail frames inherit this policy and add
# their own, which keeps a customer's remote images (tracking pixels) from loading until the
# agent asks for them: so remote images are allowed here.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' blob: data: https: http:; media-src 'self' blob:; "
    "connect-src 'self' ws: wss:; "
    "frame-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

_MISSING = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Panjereh</title>
<body style="font-family:sans-serif;margin:3rem"><h1>Panjereh</h1>
<p>The agent console is not built. Run <code>make frontend</code> (or <code>make run</code>),
then reload. The API is at <a href="/docs">/docs</a>.</p></body></html>"""

router = APIRouter(include_in_schema=False)

# The icon browsers ask every page of the server for (the demo shop, /docs, the console):
# a window ("panjereh") in the console's accent colour, small enough to keep here.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect x="3" y="3" width="26" height="26" rx="5" fill="#2457c5"/>'
    '<path d="M8 8h7v7H8zm9 0h7v7h-7zM8 17h7v7H8zm9 0h7v7h-7z" fill="#fff"/></svg>'
)


@router.get("/favicon.ico")
async def favicon() -> Response:
    return Response(
        FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


def _reserved(path: str) -> bool:
    head = path.split("/", 1)[0]
    return head in RESERVED


def _index(dist: Path) -> Response:
    index = dist / "index.html"
    headers = {"Cache-Control": "no-cache", "Content-Security-Policy": CONSOLE_CSP}
    if not index.is_file():
        return HTMLResponse(_MISSING, status_code=503, headers=headers)
    return FileResponse(index, media_type="text/html", headers=headers)


def console_file(dist: Path, path: str, *, wants_page: bool = True) -> Response:
    """The built file at `path`, else index.html for a page request (404 for reserved
    prefixes, and for anything else that is not a page request)."""
    if _reserved(path):
        raise NotFound("not found")
    if path and dist.is_dir():
        root = dist.resolve()
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file() and candidate != root:
            immutable = candidate.is_relative_to(root / "assets")
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(candidate, headers={"Cache-Control": cache})
        if path.startswith("assets/"):
            raise NotFound("not found")
    if path and not wants_page:
        raise NotFound("not found")
    return _index(dist)


_OTHER_METHODS = ("DELETE", "OPTIONS", "PATCH", "POST", "PUT")


def _other_methods(request: Request) -> list[str]:
    """The methods the app serves at this path: a GET there (which this catch-all would
    otherwise answer with a 404) is a 405 that names them."""
    allowed = []
    for method in _OTHER_METHODS:
        probe: Scope = {
            "type": "http",
            "method": method,
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "headers": [],
        }
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


@router.get("/{path:path}")
async def console(path: str, request: Request) -> Response:
    if _reserved(path) and (methods := _other_methods(request)):
        raise HTTPException(405, headers={"Allow": ", ".join(methods)})
    return console_file(DIST, path, wants_page="text/html" in request.headers.get("accept", ""))

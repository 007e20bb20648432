"""`GET /widget.js`: the embeddable widget, built from frontend/src/widget into
frontend/dist/widget.js (`npm run build`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import FileResponse

from app.console import DIST
from app.errors import NotFound

router = APIRouter(include_in_schema=False)

WIDGET_JS = DIST / "widget.js"


def _matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (weak or strong, or `*`)."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


@router.get("/widget.js")  # and HEAD, as every GET (app.head)
async def widget_js(request: Request) -> Response:
    if not WIDGET_JS.is_file():
        raise NotFound("the widget is not built: run `make frontend`", code="widget_not_built")
    # Its URL never changes, so no immutable caching: an hour, then revalidated by ETag
    # (a 304 while the ETag still matches). Any site may load it.
    response = FileResponse(
        WIDGET_JS,
        stat_result=WIDGET_JS.stat(),  # its ETag now, to compare with If-None-Match
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=3600",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        },
    )
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and _matches(if_none_match, response.headers["etag"]):
        kept = ("etag", "last-modified", "cache-control", "cross-origin-resource-policy")
        return Response(
            status_code=status.HTTP_304_NOT_MODIFIED,
            headers={name: response.headers[name] for name in kept},
        )
    return response

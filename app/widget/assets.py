"""`GET /widget.js`: the embeddable widget, built from frontend/src/widget into
frontend/dist/widget.js (`npm run build`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.console import DIST
from app.errors import NotFound

router = APIRouter(include_in_schema=False)

WIDGET_JS = DIST / "widget.js"


@router.api_route("/widget.js", methods=["GET", "HEAD"])
async def widget_js() -> FileResponse:
    if not WIDGET_JS.is_file():
        raise NotFound("the widget is not built: run `make frontend`", code="widget_not_built")
    # Its URL never changes, so no immutable caching: an hour, then revalidated by ETag
    # (FileResponse sends ETag and Last-Modified). Any site may load it.
    return FileResponse(
        WIDGET_JS,
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=3600",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        },
    )

"""The JSON every endpoint answers with."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse as _JSONResponse


class JSONResponse(_JSONResponse):
    """JSON ending in a newline: a text answer does, so `curl` leaves the shell's prompt on
    its own line and line-based tools see a complete last line."""

    def render(self, content: Any) -> bytes:
        return super().render(content) + b"\n"

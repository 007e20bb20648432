"""Every JSON answer is a complete line of text, whatever produced it: a route's model, an
error handler, the health check, FastAPI's own validation."""

from __future__ import annotations

from tests.support.api import Api
from tests.support.app import Running


async def test_json_answers_end_with_a_newline(running: Running, admin: Api) -> None:
    answers = [
        await admin.get("/api/v1/auth/me"),  # a model
        await admin.get("/api/v1/inboxes"),  # a list
        await admin.get("/api/v1/no-such-thing"),  # 404 from the router
        await admin.get("/api/v1/conversations/999999"),  # an AppError
        await running.client.post("/api/v1/auth/login", json={}),  # request validation
        await running.client.get("/healthz"),
    ]
    for answer in answers:
        assert answer.headers["content-type"] == "application/json", answer.request.url
        assert answer.content.endswith(b"}\n") or answer.content.endswith(b"]\n"), answer.content
        assert int(answer.headers["content-length"]) == len(answer.content)

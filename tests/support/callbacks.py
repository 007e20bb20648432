"""A callback inbox through the API, and a visitor asking it to be called back."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api
from tests.support.app import Running

SITE = "https://shop.example"


async def create_callback_inbox(
    admin: Api, *, name: str = "Call me back", **config: Any
) -> dict[str, Any]:
    values = {"allowed_origins": [SITE], "timezone": "Asia/Tehran", "default_region": "IR"}
    response = await admin.post(
        "/api/v1/inboxes",
        json={"kind": "callback", "name": name, "config": values | config},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def ask(running: Running, token: str, origin: str | None = SITE, **body: Any) -> Any:
    payload = {"name": "Sara Rahimi", "phone": "0912 123 4567"} | body
    headers = {"Origin": origin} if origin else {}
    return await running.client.post(f"/api/v1/callbacks/{token}", json=payload, headers=headers)

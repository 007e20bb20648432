"""The first-start demo: inboxes and the /demo page in development only."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support.app import make_settings, serve


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    shutil.copyfile(sqlite_template, tmp_path / "panjereh.db")
    return f"sqlite:///{tmp_path / 'panjereh.db'}"


async def test_development_gets_demo_inboxes_once_and_a_demo_page(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        sqlite_url, tmp_path / "data", environment="development", public_url="http://127.0.0.1:8000"
    )
    for _start in range(2):  # a second start creates nothing more
        async with serve(settings) as live:
            page = await live.client.get("/demo")
    assert page.status_code == 200
    tokens = re.findall(r'data-(inbox|callback)="([^"]+)"', page.text)
    assert [kind for kind, _ in tokens] == ["inbox", "callback"]
    assert 'src="http://127.0.0.1:8000/widget.js"' in page.text
    async with serve(settings) as live:
        login = await live.client.post(
            "/api/v1/auth/login",
            json={"email": settings.admin_email, "password": settings.admin_password},
        )
        token = login.json()["access_token"]
        inboxes = await live.client.get(
            "/api/v1/inboxes", headers={"Authorization": f"Bearer {token}"}
        )
        chat = await live.client.get(
            f"/api/v1/widget/{tokens[0][1]}/config", headers={"Origin": "http://localhost:8000"}
        )
        # The demo is an Iranian shop: a number written the local way is read as Iranian,
        # even from a browser in UTC.
        called = await live.client.post(
            f"/api/v1/callbacks/{tokens[1][1]}",
            json={"name": "Demo Visitor", "phone": "0912 123 4567", "timezone": "UTC"},
            headers={"Origin": "http://127.0.0.1:8000"},
        )
    assert called.status_code == 201, called.text
    assert called.json()["phone_e164"] == "+989121234567"
    kinds = sorted(i["kind"] for i in inboxes.json())
    assert kinds == ["callback", "webchat"]
    assert chat.status_code == 200


async def test_no_demo_outside_development(sqlite_url: str, tmp_path: Path) -> None:
    async with serve(make_settings(sqlite_url, tmp_path / "data")) as live:
        assert (await live.client.get("/demo")).status_code == 404

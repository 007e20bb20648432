"""The console's backend: the built SPA at / with a fallback that never shadows the API, the
agent's own settings (PATCH /api/v1/auth/me), trying inbox settings without saving them,
and the committed API schema the console's client is generated from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.console import console_file
from app.errors import NotFound
from tests.support.api import Api, create_agent
from tests.support.app import Running

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>console</title>")
    (tmp_path / "assets" / "app-123.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("no")
    return tmp_path


def test_files_then_the_index_and_never_reserved_paths(dist: Path) -> None:
    asset = console_file(dist, "assets/app-123.js")
    assert "immutable" in asset.headers["cache-control"]
    index = console_file(dist, "")
    assert index.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in index.headers["content-security-policy"]
    # A console route falls back to the index; a missing asset and an escape do not.
    assert Path(getattr(console_file(dist, "c/42"), "path", "")).name == "index.html"
    assert Path(getattr(console_file(dist, "../secret.txt"), "path", "")).name == "index.html"
    # Only for a page request: anything else is a plain 404.
    with pytest.raises(NotFound):
        console_file(dist, "c/42", wants_page=False)
    with pytest.raises(NotFound):
        console_file(dist, "assets/gone.js")
    for reserved in ("api/v1/nope", "ws/agent", "webhooks/x", "healthz", "widget.js", "demo"):
        with pytest.raises(NotFound):
            console_file(dist, reserved)


def test_without_a_build_it_says_how_to_build(tmp_path: Path) -> None:
    response = console_file(tmp_path / "missing", "")
    assert response.status_code == 503
    assert b"make frontend" in bytes(response.body)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_served_routes(running: Running) -> None:
    client = running.client
    unknown = await client.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/json")
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "Panjereh"
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/c/12")).status_code == 404  # not a browser asking for a page
    page = await client.get("/c/12", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.status_code in (200, 503)  # 503 where the console is not built
    assert page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_an_agent_changes_their_own_language(admin: Api) -> None:
    agent = await create_agent(admin, "lang@example.com")
    response = await agent.patch("/api/v1/auth/me", json={"language": "fa"})
    assert response.status_code == 200
    assert response.json()["language"] == "fa"
    assert (await agent.get("/api/v1/auth/me")).json()["language"] == "fa"
    assert (await agent.patch("/api/v1/auth/me", json={"language": "de"})).status_code == 422
    assert (await agent.patch("/api/v1/auth/me", json={"role": "admin"})).status_code == 422


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_trying_inbox_settings(admin: Api) -> None:
    good = await admin.post(
        "/api/v1/inboxes/test",
        json={"kind": "api", "config": {"outbound_url": "https://crm.example.com/hook"}},
    )
    assert good.status_code == 200
    assert good.json()["ok"] is True
    bad = await admin.post(
        "/api/v1/inboxes/test", json={"kind": "api", "config": {"outbound_url": "not a url"}}
    )
    assert bad.status_code == 200
    assert bad.json()["ok"] is False
    assert "outbound_url" in bad.json()["detail"]
    assert (await admin.get("/api/v1/inboxes")).json() == []  # nothing saved
    agent = await create_agent(admin, "not-admin@example.com")
    denied = await agent.post("/api/v1/inboxes/test", json={"kind": "api", "config": {}})
    assert denied.status_code == 403


def test_the_committed_api_schema_is_current() -> None:
    """frontend/src/api/openapi.json is what the console's client is generated from; when the
    API changes, `make openapi` regenerates it (and the TypeScript types)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "openapi.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr

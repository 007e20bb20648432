"""app.channels.CHANNELS is the one record per inbox kind: every kind has one, and every
URL a record names is a route of the app, so a new channel cannot forget either."""

from __future__ import annotations

import httpx
import pytest

from app.channels import CHANNELS, ConnectorDeps
from app.inboxes.models import InboxKind
from app.main import create_app
from connectors.base import WebhookConnector
from tests.support.app import make_settings


@pytest.fixture(scope="module")
def posted_paths(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The paths the app takes a POST at, as its API schema lists them."""
    settings = make_settings("sqlite:///:memory:", tmp_path_factory.mktemp("data"))
    paths = create_app(settings).openapi()["paths"]
    return {path for path, operations in paths.items() if "post" in operations}


def test_every_inbox_kind_has_a_channel_record() -> None:
    missing = sorted(set(InboxKind) - set(CHANNELS))
    assert not missing, f"no record in app.channels.CHANNELS for {missing}"


@pytest.mark.parametrize("kind", list(InboxKind))
def test_every_url_a_channel_names_is_routed(kind: InboxKind, posted_paths: set[str]) -> None:
    channel = CHANNELS[kind]
    named = {hook.path for hook in channel.webhooks}
    if channel.webhook_path is not None:
        named.add(channel.webhook_path)
    assert named <= posted_paths, f"{kind}: no POST route for {sorted(named - posted_paths)}"


@pytest.mark.parametrize("kind", list(InboxKind))
async def test_a_connector_that_takes_webhooks_has_them(kind: InboxKind) -> None:
    channel = CHANNELS[kind]
    if channel.connector is None:
        return
    async with httpx.AsyncClient() as http:
        deps = ConnectorDeps(
            inbox_id=1, http=http, public_url="https://panjereh.example", max_attachment_bytes=1
        )
        # The settings' defaults, unvalidated: enough to see which connector the kind gets.
        connector = channel.connector(channel.config.model_construct(), deps)
        await connector.aclose()
    if isinstance(connector, WebhookConnector):
        assert channel.webhooks, f"{kind}: its connector takes webhooks, its record names none"
        assert channel.webhook_path in {hook.path for hook in channel.webhooks}, (
            f"{kind}: webhook_path is not one of its webhooks"
        )

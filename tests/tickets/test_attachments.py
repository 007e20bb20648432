"""Attachments: stored once by SHA-256 under the data directory, served only to agents who
may see the conversation, and kept as a note when over the size limit."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.inbound.ingest import InboxRef, ingest
from app.settings import Settings
from connectors.base import Address, AddressKind, Attachment, InboundMessage, Party
from tests.support.api import Api, create_agent, create_api_inbox
from tests.support.app import Running, make_settings

LIMIT = 1000
PDF = b"%PDF-1.4 a small invoice " + bytes(range(256))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data", max_attachment_bytes=LIMIT)


async def store_with_attachments(running: Running, inbox_id: int, external_id: str) -> int:
    message = InboundMessage(
        external_id=external_id,
        sender=Party(Address(AddressKind.api, f"{inbox_id}:cust"), name="Cust"),
        sent_at=datetime.now(UTC),
        text="invoice attached",
        html=(
            '<p onclick="steal()">invoice <script>alert(1)</script>'
            '<a href="javascript:x()">here</a></p>'
        ),
        attachments=(
            Attachment("فاکتور.pdf", "application/pdf", PDF),
            Attachment("huge.bin", "application/octet-stream", b"x" * (LIMIT + 1)),
        ),
    )
    async with running.ctx.db.write() as session:
        result = await ingest(
            session, InboxRef(inbox_id, "api"), message, running.ctx.ingest_policy
        )
    return result.conversation_id


async def test_attachments_are_stored_served_and_limited(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    conversation_id = await store_with_attachments(running, inbox.id, "m1")
    await store_with_attachments(running, inbox.id, "m2")  # the same file again

    (message, _again) = (
        await admin.get(f"/api/v1/conversations/{conversation_id}/messages")
    ).json()["items"]
    pdf, huge = message["attachments"]
    assert (pdf["filename"], pdf["size"], pdf["stored"]) == ("فاکتور.pdf", len(PDF), True)
    assert (huge["stored"], huge["url"], huge["size"]) == (False, None, LIMIT + 1)
    assert "limit" in huge["note"]

    download = await admin.get(pdf["url"])
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "attachment" in download.headers["content-disposition"]

    digest = hashlib.sha256(PDF).hexdigest()
    stored = list((running.ctx.settings.attachments_dir).rglob("*"))
    assert [p.name for p in stored if p.is_file()] == [digest[2:]]  # stored once

    assert (await admin.get(f"/api/v1/attachments/{huge['id']}")).status_code == 404
    outsider = await create_agent(admin, "outsider@example.com")
    assert (await outsider.get(pdf["url"])).status_code == 404
    assert (await running.client.get(pdf["url"])).status_code == 401


async def test_html_bodies_are_sanitized_before_storage(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    conversation_id = await store_with_attachments(running, inbox.id, "m1")
    (message,) = (await admin.get(f"/api/v1/conversations/{conversation_id}/messages")).json()[
        "items"
    ]
    html = message["body_html"]
    assert "invoice" in html
    for payload in ("<script", "onclick", "javascript:"):
        assert payload not in html

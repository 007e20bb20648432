"""Files in agents' replies and notes: uploaded to the conversation, named by the message,
sent with it by the delivery worker."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.outbound.worker import DeliveryWorker
from app.settings import Settings
from tests.support.api import Api, create_api_inbox, login, post_incoming
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, Running, make_settings, serve
from tests.support.delivery import drain, message, start_conversation
from tests.support.receiver import Receiver

PDF = b"%PDF-1.4 invoice 1042 \x00\xff" * 100


async def upload(
    admin: Api, conversation_id: int, name: str, data: bytes, kind: str = "application/pdf"
) -> dict[str, object]:
    response = await admin.post(
        f"/api/v1/conversations/{conversation_id}/attachments", files={"file": (name, data, kind)}
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_a_reply_carries_its_files_to_the_channel(
    running: Running, admin: Api, receiver: Receiver, worker: DeliveryWorker
) -> None:
    conversation_id = await start_conversation(running, admin, receiver.url)
    invoice = await upload(admin, conversation_id, "فاکتور-1042.pdf", PDF)
    assert invoice["size"] == len(PDF)
    response = await admin.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": "", "attachment_ids": [invoice["id"]]},  # a file alone is a reply
    )
    assert response.status_code == 201, response.text
    sent = response.json()
    assert [a["filename"] for a in sent["attachments"]] == ["فاکتور-1042.pdf"]

    await drain(worker)

    (request,) = receiver.received
    (attached,) = json.loads(request.body)["message"]["attachments"]
    assert attached["filename"] == "فاکتور-1042.pdf"
    assert attached["content_type"] == "application/pdf"
    assert base64.b64decode(attached["data_base64"]) == PDF
    assert (await message(admin, conversation_id, sent["id"]))["delivery_status"] == "sent"
    download = await admin.get(str(invoice["url"]))
    assert download.content == PDF


async def test_an_upload_joins_only_one_message_of_its_own_conversation(
    running: Running, admin: Api, receiver: Receiver
) -> None:
    first = await start_conversation(running, admin, receiver.url)
    note_file = await upload(admin, first, "notes.txt", b"call after 5", "text/plain")
    note = await admin.post(
        f"/api/v1/conversations/{first}/messages",
        json={"body": "see file", "private": True, "attachment_ids": [note_file["id"]]},
    )
    assert note.status_code == 201, note.text
    assert note.json()["attachments"][0]["filename"] == "notes.txt"
    again = await admin.post(
        f"/api/v1/conversations/{first}/messages",
        json={"body": "again", "attachment_ids": [note_file["id"]]},
    )
    assert again.status_code == 422
    assert again.json()["code"] == "invalid_attachment"
    empty = await admin.post(f"/api/v1/conversations/{first}/messages", json={"body": " "})
    assert empty.status_code == 422


@pytest.fixture
def small_files_settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data", max_attachment_bytes=1000)


@pytest.fixture
async def small_files(small_files_settings: Settings) -> AsyncIterator[Running]:
    async with serve(small_files_settings) as live:
        yield live


async def test_a_file_over_the_limit_is_refused(small_files: Running) -> None:
    admin = await login(small_files.client, ADMIN_EMAIL, ADMIN_PASSWORD)
    inbox = await create_api_inbox(admin)
    stored = await post_incoming(small_files.client, inbox, external_id="x-1")
    conversation_id = stored.json()["conversation_id"]
    ok = await admin.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        files={"file": ("a.bin", b"x" * 1000, "application/octet-stream")},
    )
    assert ok.status_code == 201, ok.text
    over = await admin.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        files={"file": ("b.bin", b"x" * 1001, "application/octet-stream")},
    )
    assert over.status_code == 413
    assert over.json()["code"] == "payload_too_large"

"""The widget's public API from the outside: isolation between visitors, Origin checks,
rate limits, and what happens to agents' replies."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.outbound.worker import DeliveryWorker
from app.widget.assets import WIDGET_JS
from tests.support.api import Api
from tests.support.app import Running
from tests.support.sockets import next_frame, open_socket, ready
from tests.support.widget import SITE, create_webchat_inbox, say, start_visitor

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def ws_url(running: Running, token: str, last_event_id: int = 0) -> str:
    base = running.url.replace("http://", "ws://")
    return f"{base}/ws/widget?token={token}&last_event_id={last_event_id}"


async def test_a_visitor_token_reaches_only_its_own_conversation(
    running: Running, admin: Api
) -> None:
    inbox = await create_webchat_inbox(admin)
    client = running.client
    sara = await start_visitor(client, inbox["public_token"], name="Sara", email="sara@x.example")
    bob = await start_visitor(client, inbox["public_token"], name="Bob")
    # Typing Sara's e-mail proves nothing: Mallory gets a contact of her own.
    mallory = await start_visitor(client, inbox["public_token"], email="SARA@x.example")

    first = await say(client, sara, "my order 1234?")
    await say(client, bob, "hello from bob")
    upload = await client.post(
        "/api/v1/widget/attachments",
        files={"file": ("receipt.png", PNG, "image/png")},
        data={"body": "the receipt"},
        headers=sara.headers,
    )
    assert upload.status_code == 201, upload.text
    (attachment,) = upload.json()["attachments"]
    conversation = first["conversation_id"]
    reply = await admin.post(
        f"/api/v1/conversations/{conversation}/messages", json={"body": "On its way!"}
    )
    note = await admin.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"body": "customer is angry", "private": True},
    )
    assert reply.status_code == note.status_code == 201

    async def texts(visitor_headers: dict[str, str]) -> list[str]:
        r = await client.get("/api/v1/widget/messages", headers=visitor_headers)
        assert r.status_code == 200, r.text
        return [m["body_text"] for m in r.json()["items"]]

    assert await texts(sara.headers) == ["my order 1234?", "the receipt", "On its way!"]
    assert await texts(bob.headers) == ["hello from bob"]
    assert await texts(mallory.headers) == []
    # Agents' internal fields never reach a visitor.
    sara_view = (await client.get("/api/v1/widget/messages", headers=sara.headers)).json()
    assert set(sara_view["items"][2]) == {
        "id", "conversation_id", "direction", "body_text", "body_html", "sender_type",
        "sender_name", "delivery_status", "created_at", "sent_at", "attachments", "survey",
    }  # fmt: skip

    # Paging back: the newest first page, then what is before it; never the note.
    async def page(**params: object) -> tuple[list[str], bool]:
        r = await client.get("/api/v1/widget/messages", params=params, headers=sara.headers)
        assert r.status_code == 200, r.text
        return [m["body_text"] for m in r.json()["items"]], r.json()["has_more"]

    assert await page(limit=2) == (["the receipt", "On its way!"], True)
    assert await page(limit=2, before=sara_view["items"][1]["id"]) == (["my order 1234?"], False)
    assert await page(limit=3) == (["my order 1234?", "the receipt", "On its way!"], False)

    # Guessing ids: another visitor's attachment is a 404, like one that does not exist.
    own = await client.get(f"/api/v1/widget/attachments/{attachment['id']}", headers=sara.headers)
    assert own.status_code == 200
    assert own.content == PNG
    for visitor in (bob, mallory):
        guessed = await client.get(
            f"/api/v1/widget/attachments/{attachment['id']}", headers=visitor.headers
        )
        assert guessed.status_code == 404
    # No token, a wrong one: 401, the same answer.
    for headers in ({"Origin": SITE}, {"Authorization": "Bearer nope", "Origin": SITE}):
        assert (await client.get("/api/v1/widget/messages", headers=headers)).status_code == 401

    # The websocket: replay from 0 gives each only their own public messages; a typing
    # frame naming someone else's conversation goes nowhere.
    async with (
        connect(ws_url(running, sara.token), origin=SITE) as sara_ws,  # type: ignore[arg-type]
        connect(ws_url(running, bob.token), origin=SITE) as bob_ws,  # type: ignore[arg-type]
    ):
        sara_frames = [f for f in await ready(sara_ws) if f["type"] == "message.created"]
        bob_frames = [f for f in await ready(bob_ws) if f["type"] == "message.created"]
        assert [f["data"]["message"]["body_text"] for f in sara_frames] == [
            "my order 1234?",
            "the receipt",
            "On its way!",
        ]
        assert [f["data"]["message"]["body_text"] for f in bob_frames] == ["hello from bob"]
        await bob_ws.send(json.dumps({"type": "typing", "conversation_id": conversation}))
        await admin.post(f"/api/v1/conversations/{conversation}/messages", json={"body": "more"})
        live = await next_frame(sara_ws, lambda f: f["type"] == "message.created")
        assert live["data"]["message"]["body_text"] == "more"
        with pytest.raises(TimeoutError):
            await next_frame(bob_ws, lambda f: f["type"] != "heartbeat", within=0.5)
    guessed = await open_socket(running.url, "/ws/widget", token="guessed-token")
    with pytest.raises(ConnectionClosed) as closed:
        await guessed.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_the_origin_must_be_allowed_over_http_and_websocket(
    running: Running, admin: Api
) -> None:
    inbox = await create_webchat_inbox(admin)
    client, token = running.client, inbox["public_token"]
    evil = "https://evil.example"

    refused = await client.post(
        f"/api/v1/widget/{token}/sessions", json={}, headers={"Origin": evil}
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "origin_not_allowed"
    preflight = await client.options(
        f"/api/v1/widget/{token}/sessions",
        headers={"Origin": evil, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    allowed = await client.options(
        f"/api/v1/widget/{token}/sessions",
        headers={"Origin": SITE, "Access-Control-Request-Method": "POST"},
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SITE
    assert (
        await client.get(f"/api/v1/widget/{token}/config", headers={"Origin": evil})
    ).status_code == 403

    visitor = await start_visitor(client, token)
    stolen = {"Authorization": f"Bearer {visitor.token}", "Origin": evil}
    assert (await client.get("/api/v1/widget/messages", headers=stolen)).status_code == 403
    posted = await client.post("/api/v1/widget/messages", json={"body": "hi"}, headers=stolen)
    assert posted.status_code == 403

    with pytest.raises(ConnectionClosed) as closed:
        async with connect(ws_url(running, visitor.token), origin=evil) as ws:  # type: ignore[arg-type]
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
    async with connect(ws_url(running, visitor.token), origin=SITE) as ws:  # type: ignore[arg-type]
        await ready(ws)


async def test_rate_limits_answer_429_with_retry_after(running: Running, admin: Api) -> None:
    inbox = await create_webchat_inbox(admin)
    client, token = running.client, inbox["public_token"]
    visitor = await start_visitor(client, token)
    statuses = [
        (
            await client.post(
                "/api/v1/widget/messages", json={"body": f"m{i}"}, headers=visitor.headers
            )
        )
        for i in range(31)
    ]
    assert [r.status_code for r in statuses[:30]] == [201] * 30
    limited = statuses[30]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    # The page can read it (the CORS headers are on the error too).
    assert limited.headers["access-control-allow-origin"] == SITE
    sessions = [
        (
            await client.post(f"/api/v1/widget/{token}/sessions", json={}, headers={"Origin": SITE})
        ).status_code
        for _ in range(20)
    ]
    assert sessions[-1] == 429
    assert int(sessions.count(201)) == 19


async def test_replies_to_visitors_are_sent_and_callback_requests_take_notes(
    running: Running, admin: Api
) -> None:
    inbox = await create_webchat_inbox(admin)
    visitor = await start_visitor(running.client, inbox["public_token"])
    conversation = (await say(running.client, visitor, "hi"))["conversation_id"]
    reply = await admin.post(f"/api/v1/conversations/{conversation}/messages", json={"body": "hey"})
    assert reply.json()["delivery_status"] == "queued"
    await DeliveryWorker(running.ctx).run_once()
    messages = (await admin.get(f"/api/v1/conversations/{conversation}/messages")).json()["items"]
    assert messages[-1]["delivery_status"] == "sent"
    assert messages[-1]["error"] is None

    callback_inbox = await admin.post(
        "/api/v1/inboxes",
        json={"kind": "callback", "name": "Calls", "config": {"allowed_origins": [SITE]}},
    )
    asked = await running.client.post(
        f"/api/v1/callbacks/{callback_inbox.json()['public_token']}",
        json={"name": "Reza", "phone": "+989121234567"},
        headers={"Origin": SITE},
    )
    assert asked.status_code == 201, asked.text
    (item,) = (await admin.get("/api/v1/callbacks")).json()["items"]
    refused = await admin.post(
        f"/api/v1/conversations/{item['conversation_id']}/messages", json={"body": "hello?"}
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "reply_not_possible"
    noted = await admin.post(
        f"/api/v1/conversations/{item['conversation_id']}/messages",
        json={"body": "called, no answer", "private": True},
    )
    assert noted.status_code == 201


async def test_config_says_whether_an_agent_is_online(running: Running, admin: Api) -> None:
    inbox = await create_webchat_inbox(admin, welcome_message="سلام!", labels={"title": "Ask"})
    url = f"/api/v1/widget/{inbox['public_token']}/config"
    offline = (await running.client.get(url, headers={"Origin": SITE})).json()
    assert offline == {
        "welcome_message": "سلام!",
        "brand_color": "#2563eb",
        "agent_online": False,
        "labels": {"title": "Ask"},
    }
    agent_ws = await open_socket(running.url, "/ws/agent", token=admin.token)
    try:
        await ready(agent_ws)
        for _ in range(50):
            online = (await running.client.get(url, headers={"Origin": SITE})).json()
            if online["agent_online"]:
                break
            await asyncio.sleep(0.05)
        assert online["agent_online"] is True
    finally:
        await agent_ws.close()


async def test_a_retried_message_is_stored_once_and_only_pictures_and_pdfs_attach(
    running: Running, admin: Api
) -> None:
    inbox = await create_webchat_inbox(admin)
    visitor = await start_visitor(running.client, inbox["public_token"], name="Nina")
    sent = [
        await running.client.post(
            "/api/v1/widget/messages",
            json={"body": "hello", "idempotency_key": "k1"},
            headers=visitor.headers,
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in sent] == [201, 201]
    assert sent[0].json()["id"] == sent[1].json()["id"]
    listed = (await running.client.get("/api/v1/widget/messages", headers=visitor.headers)).json()
    assert [m["body_text"] for m in listed["items"]] == ["hello"]
    assert listed["items"][0]["sender_type"] == "contact"

    script = await running.client.post(
        "/api/v1/widget/attachments",
        files={"file": ("x.html", b"<script>alert(1)</script>", "text/html")},
        headers=visitor.headers,
    )
    assert script.status_code == 422
    assert script.json()["code"] == "unsupported_attachment"
    # The type is what the bytes are, not what the visitor declares.
    for disguised in [
        ("fake.png", b"not a png", "image/png"),
        ("page.pdf", b"<html><script>alert(1)</script>", "application/pdf"),
    ]:
        refused = await running.client.post(
            "/api/v1/widget/attachments", files={"file": disguised}, headers=visitor.headers
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "unsupported_attachment")
    mislabelled = await running.client.post(
        "/api/v1/widget/attachments",
        files={"file": ("photo.jpg", PNG, "image/jpeg")},
        headers=visitor.headers,
    )
    assert mislabelled.status_code == 201
    (kept,) = mislabelled.json()["attachments"]
    assert kept["content_type"] == "image/png"
    empty = await running.client.post(
        "/api/v1/widget/attachments",
        files={"file": ("blank.png", b"", "image/png")},
        headers=visitor.headers,
    )
    assert (empty.status_code, empty.json()["code"]) == (422, "empty_attachment")
    nul = await running.client.post(
        "/api/v1/widget/attachments",
        files={"file": ("dot.png", PNG, "image/png")},
        data={"body": "a\x00b"},
        headers=visitor.headers,
    )
    assert nul.status_code == 422  # as the JSON endpoint answers it
    assert "NUL" in nul.json()["detail"]
    blank = await running.client.post(
        "/api/v1/widget/messages", json={"body": " \n\t "}, headers=visitor.headers
    )
    assert (blank.status_code, blank.json()["detail"]) == (422, "body: must not be blank")
    listed = (await running.client.get("/api/v1/widget/messages", headers=visitor.headers)).json()
    # Nothing refused was stored.
    assert [(m["body_text"], len(m["attachments"])) for m in listed["items"]] == [
        ("hello", 0),
        ("", 1),
    ]
    # Agents see the visitor under the name they gave.
    conversation = await admin.get(f"/api/v1/conversations/{sent[0].json()['conversation_id']}")
    assert conversation.json()["contact"]["name"] == "Nina"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_widget_js_is_revalidated_by_etag(running: Running) -> None:
    assert WIDGET_JS.is_file(), "the widget is not built: run `make frontend`"
    first = await running.client.get("/widget.js")
    assert first.status_code == 200
    assert first.headers["cache-control"] == "public, max-age=3600"
    etag = first.headers["etag"]
    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await running.client.get("/widget.js", headers={"If-None-Match": if_none_match})
        assert again.status_code == 304, if_none_match
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "public, max-age=3600"
    changed = await running.client.get("/widget.js", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200
    assert changed.content == first.content

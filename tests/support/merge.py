"""Merging through the API: a contact's conversations on several channels, merged into one,
and what each holds."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api


async def conversations_in(admin: Api, inbox_id: int) -> list[dict[str, Any]]:
    page = await admin.get("/api/v1/conversations", params={"inbox_id": inbox_id})
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


async def only_conversation_in(admin: Api, inbox_id: int) -> dict[str, Any]:
    (conversation,) = await conversations_in(admin, inbox_id)
    return conversation


async def conversation(admin: Api, conversation_id: int) -> dict[str, Any]:
    r = await admin.get(f"/api/v1/conversations/{conversation_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def messages(admin: Api, conversation_id: int) -> list[dict[str, Any]]:
    r = await admin.get(f"/api/v1/conversations/{conversation_id}/messages", params={"limit": 200})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def said(admin: Api, conversation_id: int) -> list[str]:
    """The texts of the conversation's messages and notes (not its activity lines)."""
    return [
        m["body_text"]
        for m in await messages(admin, conversation_id)
        if m["direction"] != "activity"
    ]


async def same_contact(admin: Api, keep: dict[str, Any], *others: dict[str, Any]) -> None:
    """Make the customer of `others` the contact of `keep` (merging conversations needs one)."""
    for other in others:
        if other["contact"]["id"] != keep["contact"]["id"]:
            r = await admin.post(
                f"/api/v1/contacts/{keep['contact']['id']}/merge",
                json={"other_id": other["contact"]["id"]},
            )
            assert r.status_code == 200, r.text


async def merge(admin: Api, survivor_id: int, *other_ids: int) -> dict[str, Any]:
    r = await admin.post(
        f"/api/v1/conversations/{survivor_id}/merge", json={"conversation_ids": list(other_ids)}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body

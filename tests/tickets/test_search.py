"""Searching conversations and contacts (`q`), through the trigram indexes (a rare string)
and by walking the conversations (a common one): both must find the same."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app import search
from tests.support.api import Api, ApiInbox, create_api_inbox, post_incoming
from tests.support.app import Running


@pytest.fixture(params=["indexed", "walked"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Search through the index, or as if every string were common (no probe result used)."""
    if request.param == "walked":
        monkeypatch.setattr(search, "PROBE_LIMIT", 0)
    return str(request.param)


async def say(
    running: Running, inbox: ApiInbox, sender: str, n: int, text_: str, **extra: object
) -> int:
    stored = await post_incoming(
        running.client, inbox, external_id=f"{sender}-{n}", sender=sender, text=text_, **extra
    )  # type: ignore[arg-type]
    assert stored.status_code == 201, stored.text
    conversation_id: int = stored.json()["conversation_id"]
    return conversation_id


async def found(admin: Api, q: str) -> list[int]:
    response = await admin.get("/api/v1/conversations", params={"q": q})
    assert response.status_code == 200, response.text
    return sorted(item["id"] for item in response.json()["items"])


async def test_text_subject_name_and_address_are_found(
    running: Running, admin: Api, way: str
) -> None:
    shop = await create_api_inbox(admin)
    parcel = await say(running, shop, "p", 1, "Hello")
    await say(running, shop, "p", 2, "my parcel is lost somewhere in Zanzibar")
    bahar = await say(running, shop, "b", 1, "hi", name="Bahar Karimi")
    invoice = await say(running, shop, "i", 1, "see subject", subject="Invoice #7788 is wrong")
    vip = await say(running, shop, "vip-4242", 1, "hello")
    persian = await say(running, shop, "f", 1, "سلام، سفارشم کجاست؟")
    percent = await say(running, shop, "pc", 1, "I want a 100% refund")
    thousand = await say(running, shop, "th", 1, "I paid 1000 dollars")
    under = await say(running, shop, "u", 1, "my user name is a_b")
    german = await say(running, shop, "g", 1, "Die ÜBERWEISUNG kam nicht an", name="Jörg Müller")
    russian = await say(running, shop, "r", 1, "Спасибо за помощь")
    quoted = await say(running, shop, "q", 1, 'he said "ok" twice')

    assert await found(admin, "zanzibar") == [parcel]  # any message, any case
    assert await found(admin, "ZANZ") == [parcel]
    assert await found(admin, "karimi") == [bahar]  # the contact's name
    assert await found(admin, "7788") == [invoice]  # the subject
    assert await found(admin, "vip-4242") == [vip]  # an address
    assert await found(admin, "سفارش") == [persian]
    assert await found(admin, "100%") == [percent]  # % and _ are literal
    assert await found(admin, "100") == sorted([percent, thousand])
    assert await found(admin, "a_b") == [under]
    assert await found(admin, "lo") == sorted([parcel, vip])  # under three letters, too
    assert await found(admin, "überweisung") == [german]  # every script's case
    assert await found(admin, "MÜLLER") == [german]
    assert await found(admin, "ü") == [german]
    assert await found(admin, "СПАСИБО") == [russian]
    assert await found(admin, '"ok"') == [quoted]
    assert await found(admin, "nowhere-to-be-found") == []
    assert (await admin.get("/api/v1/conversations", params={"q": "  "})).status_code == 200


async def test_the_index_follows_renames_merges_and_other_writes(
    running: Running, admin: Api, way: str
) -> None:
    shop = await create_api_inbox(admin)
    first = await say(running, shop, "a", 1, "first question", name="Nasrin Tehrani")
    second = await say(running, shop, "b", 1, "second question", name="Nasrin T.")
    contacts = (await admin.get("/api/v1/contacts", params={"q": "nasrin"})).json()["items"]
    assert len(contacts) == 2
    keep, other = sorted(c["id"] for c in contacts)

    renamed = await admin.patch(f"/api/v1/contacts/{keep}", json={"name": "Nasrin Sadeghi"})
    assert renamed.status_code == 200, renamed.text
    assert await found(admin, "sadeghi") == [first]
    assert await found(admin, "tehrani") == []

    merged = await admin.post(f"/api/v1/contacts/{keep}/merge", json={"other_id": other})
    assert merged.status_code == 200, merged.text
    assert await found(admin, "sadeghi") == sorted([first, second])  # one contact now
    by_name = (await admin.get("/api/v1/contacts", params={"q": "Nasrin"})).json()["items"]
    assert [c["id"] for c in by_name] == [keep]
    assert await found(admin, "question") == sorted([first, second])

    if running.ctx.settings.is_sqlite:
        # The external-content indexes agree with their tables after all of that.
        async with running.ctx.db.read() as session:
            for table in search.SEARCHED:
                index = search.fts_table(table)  # our own name, not input
                check = f"INSERT INTO {index}({index}) VALUES ('integrity-check')"  # noqa: S608
                await session.execute(text(check))

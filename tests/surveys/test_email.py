"""E-mail: the survey is a signed link, valid 14 days, to a public rating page; only the
page's form POST records an answer (mail scanners open links)."""

from __future__ import annotations

import re
from datetime import timedelta

from app.db import utcnow
from app.outbound.worker import DeliveryWorker
from app.surveys.service import link_signer
from tests.support.api import Api
from tests.support.app import Running
from tests.support.channels import email_channel
from tests.support.delivery import drain
from tests.support.surveys import answer_and_resolve, follow, set_policy, surveys
from tests.support.telegram import polling

LINK = re.compile(r"http://testserver\.invalid(/rate/\S+)")


async def test_rating_link_page_and_form(
    running: Running, admin: Api, worker: DeliveryWorker
) -> None:
    async with email_channel(admin, running.url) as channel, polling(running):
        await set_policy(admin, csat_inbox_ids=[channel.inbox_id], cooldown_days=0)
        await follow(running)
        await channel.deliver("Where is my order?", sender="sara")
        listed = await admin.get("/api/v1/conversations", params={"inbox_id": channel.inbox_id})
        (conversation,) = listed.json()["items"]
        await answer_and_resolve(admin, conversation["id"], "It ships today.")
        await follow(running)
        await drain(worker)
        # (The reply and the survey go out in one delivery round, in either order.)
        (mailed,) = [m for m in await channel.received() if "/rate/" in m]

    assert "How would you rate" in mailed
    match = LINK.search(mailed)
    assert match, mailed
    path = match.group(1)
    (survey,) = await surveys(admin, conversation_id=conversation["id"])

    # Opening the link (a scanner, or the customer) records nothing, even with a score in it.
    for url in (path, f"{path}?score=5"):
        page = await running.client.get(url)
        assert page.status_code == 200, page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert 'name="viewport"' in page.text
        assert page.text.count('type="radio" name="score"') == 5
    assert 'value="5" required checked' in page.text
    assert (await surveys(admin, conversation_id=conversation["id"]))[0]["score"] is None

    persian = await running.client.get(f"{path}?lang=fa")
    assert 'dir="rtl"' in persian.text
    assert "۵" in persian.text

    sent = await running.client.post(path, data={"score": "4", "comment": "Very helpful"})
    assert sent.status_code == 200
    assert "Thank you" in sent.text
    (answered,) = await surveys(admin, conversation_id=conversation["id"])
    assert (answered["score"], answered["comment"], answered["channel"]) == (
        4,
        "Very helpful",
        "email",
    )
    again = await running.client.post(path, data={"score": "1"})
    assert "already" in again.text
    assert (await surveys(admin, conversation_id=conversation["id"]))[0]["score"] == 4

    # A forged or an expired link is refused, and records nothing.
    token = path.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    other = token.replace(f"{survey['id']}.", f"{survey['id'] + 1}.", 1)
    signer = link_signer(running.ctx.settings.secret_key)
    expired = signer.sign(str(survey["id"]), expires=utcnow() - timedelta(seconds=1))
    for bad in (forged, other, expired):
        assert (await running.client.get(f"/rate/{bad}")).status_code == 404
        refused = await running.client.post(f"/rate/{bad}", data={"score": "2"})
        assert refused.status_code == 404
        assert "not valid or has expired" in refused.text
    assert (await surveys(admin, conversation_id=conversation["id"]))[0]["score"] == 4


def test_links_last_fourteen_days() -> None:
    signer = link_signer("a secret key long enough for the tests of links")
    now = utcnow()
    token = signer.sign("42", expires=now + timedelta(days=14))
    assert signer.unsign(token, now=now + timedelta(days=13, hours=23)) == "42"
    assert signer.unsign(token, now=now + timedelta(days=14, seconds=1)) is None
    assert link_signer("another key, long enough as well for tests").unsign(token, now=now) is None

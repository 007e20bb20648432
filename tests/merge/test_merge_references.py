"""Merging conversations re-points every foreign key to conversations.id found in the
metadata (but the links that record merges and splits): a new table that refers to
conversations fails here until a row of it is made below, and then is checked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, select

from app.merge.service import LINKS, conversation_references
from app.models import metadata
from app.tickets.models import Conversation
from tests.support.api import Api
from tests.support.app import Running
from tests.support.callbacks import ask, create_callback_inbox
from tests.support.channels import api_channel
from tests.support.fakes.twilio import running_twilio
from tests.support.mail import eventually
from tests.support.merge import merge, only_conversation_in, same_contact
from tests.support.surveys import answer_and_resolve, set_policy, surveys
from tests.support.voice import VoiceInbox, create_voice_inbox
from tests.support.widget import create_webchat_inbox, say, start_visitor


async def rows_of(
    running: Running, column: Column[Any], conversation_id: int
) -> set[tuple[Any, ...]]:
    """The rows whose `column` is `conversation_id`, by their primary key, with `column`
    itself left out (a label row keyed by its conversation is the same row on the survivor)."""
    keys = [k for k in column.table.primary_key.columns if k is not column]
    async with running.ctx.db.read() as session:
        return {
            tuple(r) for r in await session.execute(select(*keys).where(column == conversation_id))
        }


def test_every_reference_to_conversations_is_moved_or_a_link() -> None:
    target = Conversation.__table__.c.id
    every = {
        fk.parent
        for table in metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column is target
    }
    assert every == set(conversation_references()) | LINKS


async def conversation_with_a_row_everywhere_but_calls_and_surveys(
    running: Running, admin: Api
) -> dict[str, Any]:
    """A callback request's conversation, labelled, with a note that carries an upload."""
    callbacks = await create_callback_inbox(admin)
    asked = await ask(running, callbacks["public_token"])
    assert asked.status_code == 201, asked.text
    other = await only_conversation_in(admin, callbacks["id"])
    labelled = await admin.patch(
        f"/api/v1/conversations/{other['id']}", json={"labels": ["vip", "phone"]}
    )
    assert labelled.status_code == 200, labelled.text
    upload = await admin.post(
        f"/api/v1/conversations/{other['id']}/attachments",
        files={"file": ("notes.txt", b"call after 5", "text/plain")},
    )
    assert upload.status_code == 201, upload.text
    note = await admin.post(
        f"/api/v1/conversations/{other['id']}/messages",
        json={"body": "see file", "private": True, "attachment_ids": [upload.json()["id"]]},
    )
    assert note.status_code == 201, note.text
    return other


async def conversation_with_a_call(admin: Api, inbox: VoiceInbox) -> dict[str, Any]:
    await inbox.call()
    return await only_conversation_in(admin, inbox.id)


async def conversation_with_a_survey(running: Running, admin: Api) -> dict[str, Any]:
    """A web chat resolved after an agent's answer: the embedded workers send its CSAT."""
    website = await create_webchat_inbox(admin)
    await set_policy(admin, csat_inbox_ids=[website["id"]], cooldown_days=0)
    said = await say(
        running.client, await start_visitor(running.client, website["public_token"]), "hi"
    )
    await answer_and_resolve(admin, said["conversation_id"])
    sent = await eventually(lambda: surveys(admin))
    assert [s["conversation_id"] for s in sent] == [said["conversation_id"]]
    return await only_conversation_in(admin, website["id"])


async def test_merge_moves_every_row_that_refers_to_a_merged_conversation(
    running: Running, admin: Api
) -> None:
    async with api_channel(admin, running.url) as shop, running_twilio() as twilio:
        await shop.deliver("my order", sender="sara", name="Sara")
        keep = await only_conversation_in(admin, shop.inbox_id)
        phone = VoiceInbox(await create_voice_inbox(admin, twilio), running, twilio)
        # Conversations that between them have a row in every table referring to conversations.
        others = [
            await conversation_with_a_row_everywhere_but_calls_and_surveys(running, admin),
            await conversation_with_a_call(admin, phone),
            await conversation_with_a_survey(running, admin),
        ]
        await same_contact(admin, keep, *others)

        columns = conversation_references()
        covered: set[Column[Any]] = set()
        for other in others:
            before = {column: await rows_of(running, column, other["id"]) for column in columns}
            await merge(admin, keep["id"], other["id"])
            for column, rows in before.items():
                assert rows <= await rows_of(running, column, keep["id"]), f"{column}: rows lost"
            left = {column: await rows_of(running, column, other["id"]) for column in columns}
            # What stays with a merged conversation: its labels (copied, not taken) and the
            # activity line saying where everything went.
            for column, rows in left.items():
                if column.table.name == "conversation_labels":
                    assert rows == before[column]
                elif column.table.name == "messages":
                    assert len(rows) == 1
                    assert not rows & before[column]
                else:
                    assert rows == set(), f"{column} still names the merged conversation"
            covered |= {column for column, rows in before.items() if rows}
        uncovered = set(columns) - covered
        assert not uncovered, (
            f"no row of {sorted(map(str, uncovered))} refers to a merged conversation: "
            "give one here, so that merging is checked on it"
        )

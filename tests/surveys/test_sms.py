"""SMS: "reply 1–5" / "reply 0–10"; only the customer's next message within 24 hours is read
as the answer, in Latin, Persian or Arabic-Indic digits; anything else is a message."""

from __future__ import annotations

import pytest

from app.outbound.worker import DeliveryWorker
from tests.support.api import Api
from tests.support.callbacks import ask, create_callback_inbox
from tests.support.delivery import drain
from tests.support.sms import CUSTOMER, SmsInbox, incoming, messages_of, only_conversation
from tests.support.surveys import age_surveys, answer_and_resolve, follow, set_policy, surveys


async def asked_by_sms(
    inbox: SmsInbox, admin: Api, worker: DeliveryWorker, **policy: object
) -> int:
    """A customer texts, an agent answers and resolves: the survey goes out. Returns the
    conversation."""
    await set_policy(admin, cooldown_days=0, **policy)
    await follow(inbox.running)
    response = await inbox.post(incoming("My parcel is late"))
    assert response.status_code == 200, response.text
    conversation_id: int = (await only_conversation(admin, inbox.id))["id"]
    await answer_and_resolve(admin, conversation_id, "It arrives tomorrow.")
    await follow(inbox.running)
    await drain(worker)
    return conversation_id


def survey_texts(inbox: SmsInbox) -> list[str]:
    """The survey questions texted (the agent's reply may go out after them: one round)."""
    return [m["Body"] for m in inbox.twilio.created if "Reply with a number" in m["Body"]]


def inbound_texts(messages: list[dict[str, object]]) -> list[object]:
    return [m["body_text"] for m in messages if m["direction"] == "inbound"]


@pytest.mark.parametrize("nine", ["9", "۹", "٩", " 9. "])
async def test_nps_answered_by_a_text_in_any_digits_is_not_a_message(
    sms_inbox: SmsInbox, admin: Api, worker: DeliveryWorker, nine: str
) -> None:
    conversation_id = await asked_by_sms(sms_inbox, admin, worker, nps_enabled=True)
    (asked,) = [m for m in sms_inbox.twilio.created if "Reply with" in m["Body"]]
    assert asked["To"] == CUSTOMER
    assert "Reply with a number from 0 to 10." in asked["Body"]

    response = await sms_inbox.post(incoming(nine))
    assert response.status_code == 200, response.text
    (survey,) = await surveys(admin, conversation_id=conversation_id)
    assert (survey["kind"], survey["score"], survey["channel"]) == ("nps", 9, "sms")
    messages = await messages_of(admin, conversation_id)
    assert inbound_texts(messages) == ["My parcel is late"]
    conversation = await only_conversation(admin, sms_inbox.id)
    assert conversation["status"] == "resolved"  # an answer does not reopen it

    # The "why?" follow-up; the next text is the comment, and not a message either.
    await drain(worker)
    assert "main reason" in sms_inbox.twilio.created[-1]["Body"]
    await sms_inbox.post(incoming("You answer fast"))
    (survey,) = await surveys(admin, conversation_id=conversation_id)
    assert survey["comment"] == "You answer fast"
    # After that, texts are messages again.
    await sms_inbox.post(incoming("One more thing"))
    messages = await messages_of(admin, conversation_id)
    assert inbound_texts(messages) == ["My parcel is late", "One more thing"]


async def test_a_repeated_delivery_of_the_answer_stores_nothing(
    sms_inbox: SmsInbox, admin: Api, worker: DeliveryWorker
) -> None:
    conversation_id = await asked_by_sms(sms_inbox, admin, worker, csat_inbox_ids=[sms_inbox.id])
    (asked,) = survey_texts(sms_inbox)
    assert "Reply with a number from 1 to 5." in asked
    answer = incoming("۵")
    for _ in range(2):
        assert (await sms_inbox.post(answer)).status_code == 200
    (survey,) = await surveys(admin, conversation_id=conversation_id)
    assert (survey["kind"], survey["score"]) == ("csat", 5)
    assert inbound_texts(await messages_of(admin, conversation_id)) == ["My parcel is late"]


async def test_an_answer_after_24_hours_is_a_normal_message(
    sms_inbox: SmsInbox, admin: Api, worker: DeliveryWorker
) -> None:
    conversation_id = await asked_by_sms(sms_inbox, admin, worker, nps_enabled=True)
    await age_surveys(sms_inbox.running, hours=25)
    await sms_inbox.post(incoming("9 but late"))
    await sms_inbox.post(incoming("9"))
    (survey,) = await surveys(admin, conversation_id=conversation_id)
    assert survey["score"] is None
    assert inbound_texts(await messages_of(admin, conversation_id)) == [
        "My parcel is late",
        "9 but late",
        "9",
    ]


async def test_only_the_next_message_is_read_and_out_of_range_is_a_message(
    sms_inbox: SmsInbox, admin: Api, worker: DeliveryWorker
) -> None:
    conversation_id = await asked_by_sms(sms_inbox, admin, worker, csat_inbox_ids=[sms_inbox.id])
    await sms_inbox.post(incoming("9"))  # a CSAT is 1–5: this is a message, and closes it
    await sms_inbox.post(incoming("4"))
    (survey,) = await surveys(admin, conversation_id=conversation_id)
    assert survey["score"] is None
    assert inbound_texts(await messages_of(admin, conversation_id)) == [
        "My parcel is late",
        "9",
        "4",
    ]


async def test_a_completed_callback_is_followed_by_an_sms_csat(
    sms_inbox: SmsInbox, admin: Api, worker: DeliveryWorker
) -> None:
    running = sms_inbox.running
    callbacks = await create_callback_inbox(admin)
    await set_policy(admin, callback_sms_inbox_id=sms_inbox.id, cooldown_days=0)
    await follow(running)
    response = await ask(running, callbacks["public_token"], phone=CUSTOMER)
    assert response.status_code == 201, response.text
    callback_id = response.json()["id"]
    path = f"/api/v1/callbacks/{callback_id}"
    # An outcome other than "completed" asks nothing.
    assert (await admin.patch(path, json={"status": "no_answer"})).status_code == 200
    await follow(running)
    await drain(worker)
    assert sms_inbox.twilio.created == []
    done = await admin.patch(path, json={"status": "completed", "outcome_note": "sorted"})
    assert done.status_code == 200, done.text
    await follow(running)
    await drain(worker)
    (asked,) = sms_inbox.twilio.created
    assert asked["To"] == CUSTOMER
    assert "Reply with a number from 1 to 5." in asked["Body"]

    assert (await sms_inbox.post(incoming("۳"))).status_code == 200
    callback = done.json()
    (survey,) = await surveys(admin, conversation_id=callback["conversation_id"])
    assert (survey["kind"], survey["channel"], survey["score"]) == ("csat", "callback", 3)
    assert survey["inbox_id"] == sms_inbox.id
    texting = await only_conversation(admin, sms_inbox.id)
    assert inbound_texts(await messages_of(admin, texting["id"])) == []
    # Completed again (edited): still one survey.
    await admin.patch(path, json={"outcome_note": "sorted, called twice"})
    await follow(running)
    assert len(await surveys(admin, conversation_id=callback["conversation_id"])) == 1

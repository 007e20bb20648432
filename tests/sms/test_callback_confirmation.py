"""A callback request confirmed to the customer by SMS, through the normal delivery path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.outbound.worker import DeliveryWorker
from tests.support.api import Api
from tests.support.app import Running
from tests.support.callbacks import ask, create_callback_inbox
from tests.support.delivery import drain
from tests.support.fakes.twilio import FakeTwilio
from tests.support.sms import OUR_NUMBER, SmsInbox, messages_of, only_conversation


async def test_the_customer_gets_a_confirmation_text(
    running: Running, admin: Api, inbox: SmsInbox, twilio: FakeTwilio, worker: DeliveryWorker
) -> None:
    callbacks = await create_callback_inbox(admin, confirm_by_sms_inbox_id=inbox.id)
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=7, minute=0, microsecond=0)
    response = await ask(
        running,
        callbacks["public_token"],
        phone="+14155552671",
        preferred_from=start.isoformat(),
        preferred_to=(start + timedelta(hours=2)).isoformat(),
        timezone="America/Los_Angeles",
    )
    assert response.status_code == 201, response.text
    await drain(worker)

    (sent,) = twilio.created
    assert (sent["To"], sent["From"]) == ("+14155552671", OUR_NUMBER)
    assert sent["Body"].startswith("Thank you, Sara Rahimi. We will call you ")
    # Said on the customer's wall clock, which moves with daylight saving time.
    local = start.astimezone(ZoneInfo("America/Los_Angeles"))
    until = local + timedelta(hours=2)
    assert f"between {local:%H:%M} and {until:%H:%M} (America/Los_Angeles)" in sent["Body"]
    # The confirmation is part of the customer's SMS history, and waits in nobody's queue.
    conversation = await only_conversation(admin, inbox.id)
    assert conversation["status"] == "resolved"
    (message,) = await messages_of(admin, conversation["id"])
    assert message["direction"] == "outbound"
    assert message["delivery_status"] == "sent"

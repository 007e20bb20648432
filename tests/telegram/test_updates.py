"""Every kind of update the Bot API can send, posted to the running app's webhook with the
inbox's secret as Telegram posts it: what a customer says is stored (as readable text, with
its files), everything else is answered 200 and ignored with a log line saying why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from app.outbound.worker import DeliveryWorker
from tests.support.delivery import drain, message, reply
from tests.support.telegram import Live, create_telegram_inbox, inbound_messages, person

CHAT = 6120045577
NO_FROM, PLAIN = 6120045578, 6120045579
GROUP = {"id": -1002233445566, "type": "supergroup", "title": "خریداران", "is_forum": True}
CHANNEL = {"id": -1001122334455, "type": "channel", "title": "اخبار فروشگاه"}
DATE = 1_779_436_800
GROUPS = {"allow_groups": True}


def said(message_id: int = 1, *, chat_id: int = CHAT, **fields: Any) -> dict[str, Any]:
    """A message from the customer in their private chat with the bot."""
    sender = fields.pop("from", person(chat_id, "سارا", last_name="محمدی", username="sara_m"))
    return {
        "message_id": message_id,
        "from": sender,
        "chat": {"id": chat_id, "type": "private", "first_name": "سارا"},
        "date": DATE,
        **fields,
    }


def in_group(message_id: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "from": person(5550001112, "کاوه"),
        "chat": GROUP,
        "date": DATE,
        **fields,
    }


def sizes(stem: str) -> list[dict[str, Any]]:
    return [
        {"file_id": f"{stem}-s", "file_unique_id": "s", "width": 90, "height": 60},
        {"file_id": f"{stem}-l", "file_unique_id": "l", "width": 1280, "height": 853},
        {"file_id": f"{stem}-m", "file_unique_id": "m", "width": 320, "height": 213},
    ]


def file(file_id: str, **fields: Any) -> dict[str, Any]:
    return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": 2048, **fields}


USER_ORIGIN = {"type": "user", "sender_user": person(42, "رضا", last_name="نوری"), "date": DATE}
HIDDEN_ORIGIN = {"type": "hidden_user", "sender_user_name": "Hana", "date": DATE}
CHAT_ORIGIN = {"type": "chat", "sender_chat": GROUP, "author_signature": "Admin", "date": DATE}
CHANNEL_ORIGIN = {"type": "channel", "chat": CHANNEL, "message_id": 5, "date": DATE}
MAP = "https://www.openstreetmap.org/?mlat=35.7&mlon=51.4#map=16/35.7/51.4"


@dataclass(frozen=True)
class Stored:
    update: dict[str, Any]
    text: str
    files: tuple[tuple[str, str], ...] = ()  # (filename, content type), each downloaded
    config: dict[str, Any] = field(default_factory=dict)


STORED: dict[str, Stored] = {
    "text": Stored({"message": said(text="سلام 🌷")}, "سلام 🌷"),
    "only-formatting": Stored(
        {
            "message": said(
                text="پیگیری سفارش",
                entities=[
                    {"type": "bold", "offset": 0, "length": 12},
                    {"type": "text_link", "offset": 0, "length": 6, "url": "https://x.test"},
                ],
            )
        },
        "پیگیری سفارش",
    ),
    "photo-with-caption": Stored(
        {"message": said(photo=sizes("p"), caption="خطای ورود ⚠️")},
        "خطای ورود ⚠️",
        (("photo_1.jpg", "image/jpeg"),),
    ),
    "photo-alone": Stored(
        {"message": said(photo=sizes("p"))}, "", (("photo_1.jpg", "image/jpeg"),)
    ),
    "document": Stored(
        {"message": said(document=file("d", file_name="فاکتور.pdf", mime_type="application/pdf"))},
        "",
        (("فاکتور.pdf", "application/pdf"),),
    ),
    "audio": Stored(
        {"message": said(audio=file("a", duration=200, mime_type="audio/mpeg", title="Song"))},
        "",
        (("audio_1.mp3", "audio/mpeg"),),
    ),
    "voice-with-caption": Stored(
        {"message": said(voice=file("v", duration=3, mime_type="audio/ogg"), caption="گوش کنید")},
        "گوش کنید",
        (("voice_1.ogg", "audio/ogg"),),
    ),
    "video": Stored(
        {"message": said(video=file("vid", width=640, height=360, duration=9))},
        "",
        (("video_1.mp4", "video/mp4"),),
    ),
    "video-note": Stored(
        {"message": said(video_note=file("vn", length=240, duration=5))},
        "",
        (("video_note_1.mp4", "video/mp4"),),
    ),
    "animation": Stored(
        {
            "message": said(
                animation=file("g", file_name="cat.mp4", mime_type="video/mp4"),
                document=file("g", file_name="cat.mp4", mime_type="video/mp4"),
            )
        },
        "",
        (("cat.mp4", "video/mp4"),),
    ),
    "sticker": Stored(
        {"message": said(sticker=file("st", emoji="👍", type="regular", is_animated=False))},
        "👍",
        (("sticker_1.webp", "image/webp"),),
    ),
    "live-photo": Stored(
        {"message": said(live_photo=file("lp", photo=sizes("lp"), mime_type="video/mp4"))},
        "",
        (("live_photo_1.mp4", "video/mp4"),),
    ),
    "location": Stored(
        {"message": said(location={"latitude": 35.7, "longitude": 51.4})},
        f"Location: 35.7, 51.4\n{MAP}",
    ),
    "live-location": Stored(
        {"message": said(location={"latitude": 35.7, "longitude": 51.4, "live_period": 900})},
        f"Location: 35.7, 51.4\n{MAP}",
    ),
    "venue": Stored(
        {
            "message": said(
                location={"latitude": 35.7, "longitude": 51.4},
                venue={
                    "location": {"latitude": 35.7, "longitude": 51.4},
                    "title": "دفتر مرکزی",
                    "address": "تهران، ولیعصر",
                },
            )
        },
        f"Venue: دفتر مرکزی, تهران، ولیعصر\n{MAP}",
    ),
    "contact-of-someone-else": Stored(
        {"message": said(contact={"phone_number": "989121234567", "first_name": "علی"})},
        "Contact: علی, 989121234567",
    ),
    "poll": Stored(
        {
            "message": said(
                poll={
                    "id": "5",
                    "question": "کدام رنگ؟",
                    "options": [
                        {"text": "آبی", "voter_count": 0},
                        {"text": "سبز", "voter_count": 0},
                    ],
                    "total_voter_count": 0,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                }
            )
        },
        "Poll: کدام رنگ؟\n• آبی\n• سبز",
    ),
    "dice": Stored({"message": said(dice={"emoji": "🎲", "value": 6})}, "🎲 6"),
    "game": Stored(
        {"message": said(game={"title": "Tetris", "description": "d", "photo": sizes("gm")})},
        "Game: Tetris",
    ),
    "story": Stored(
        {"message": said(story={"chat": CHANNEL, "id": 17})}, "Story from اخبار فروشگاه"
    ),
    "giveaway": Stored(
        {
            "message": said(
                giveaway={
                    "chats": [CHANNEL],
                    "winners_selection_date": DATE + 86400,
                    "winner_count": 3,
                    "prize_description": "کارت هدیه",
                }
            )
        },
        "Giveaway: 3 winner(s), کارت هدیه",
    ),
    "giveaway-winners": Stored(
        {
            "message": said(
                giveaway_winners={
                    "chat": CHANNEL,
                    "giveaway_message_id": 9,
                    "winners_selection_date": DATE,
                    "winner_count": 1,
                    "winners": [person(42, "رضا")],
                }
            )
        },
        "Giveaway winners: رضا",
    ),
    "paid-media": Stored(
        {
            "message": said(
                paid_media={
                    "star_count": 50,
                    "paid_media": [
                        {"type": "preview", "width": 100, "height": 100},
                        {"type": "photo", "photo": sizes("pm")},
                        {"type": "video", "video": file("pmv", mime_type="video/mp4")},
                    ],
                },
                caption="نمونه کار",
            )
        },
        "Paid media: 3 item(s) for 50 ⭐\nنمونه کار",
        (("paid_photo_1_2.jpg", "image/jpeg"), ("paid_video_1_3.mp4", "video/mp4")),
    ),
    "invoice": Stored(
        {
            "message": said(
                invoice={
                    "title": "اشتراک",
                    "description": "یک ماه",
                    "start_parameter": "sub",
                    "currency": "USD",
                    "total_amount": 1999,
                }
            )
        },
        "Invoice: اشتراک — 19.99 USD",
    ),
    "successful-payment": Stored(
        {
            "message": said(
                successful_payment={
                    "currency": "XTR",
                    "total_amount": 250,
                    "invoice_payload": "order-884213",
                    "telegram_payment_charge_id": "tg-1",
                    "provider_payment_charge_id": "",
                }
            )
        },
        "Payment received: 250 XTR",
    ),
    "refunded-payment": Stored(
        {
            "message": said(
                refunded_payment={
                    "currency": "XTR",
                    "total_amount": 250,
                    "invoice_payload": "order-884213",
                    "telegram_payment_charge_id": "tg-1",
                }
            )
        },
        "Payment refunded: 250 XTR",
    ),
    "web-app-data": Stored(
        {"message": said(web_app_data={"data": '{"order": 884213}', "button_text": "سفارش"})},
        'سفارش: {"order": 884213}',
    ),
    "users-shared": Stored(
        {
            "message": said(
                users_shared={"request_id": 1, "users": [{"user_id": 42, "first_name": "رضا"}]}
            )
        },
        "Shared users: رضا (42)",
    ),
    "chat-shared": Stored(
        {"message": said(chat_shared={"request_id": 2, "chat_id": -100987, "title": "گروه"})},
        "Shared chat: گروه (-100987)",
    ),
    "checklist": Stored(
        {
            "message": said(
                checklist={
                    "title": "خرید",
                    "tasks": [{"id": 1, "text": "نان"}, {"id": 2, "text": "شیر"}],
                }
            )
        },
        "Checklist: خرید\n• نان\n• شیر",
    ),
    "passport-data": Stored(
        {"message": said(passport_data={"data": [], "credentials": {}})},
        "Telegram Passport data (encrypted, not shown)",
    ),
    "gift-unknown-to-us": Stored(
        {"message": said(gift={"gift": {"id": "g1", "star_count": 15}})},
        "(a Telegram message Panjereh cannot show yet: gift)",
    ),
    "future-kind": Stored(
        {"message": said(hologram={"file_id": "h1"}, mood="🙂")},
        "(a Telegram message Panjereh cannot show yet: hologram, mood)",
    ),
    "forward-from-user": Stored(
        {"message": said(text="کد تخفیف", forward_origin=USER_ORIGIN)},
        "Forwarded from رضا نوری:\nکد تخفیف",
    ),
    "forward-from-hidden-user": Stored(
        {"message": said(text="x", forward_origin=HIDDEN_ORIGIN)}, "Forwarded from Hana:\nx"
    ),
    "forward-from-chat": Stored(
        {"message": said(photo=sizes("f"), forward_origin=CHAT_ORIGIN)},
        "Forwarded from خریداران (Admin)",
        (("photo_1.jpg", "image/jpeg"),),
    ),
    "forward-from-channel": Stored(
        {"message": said(text="خبر", forward_origin=CHANNEL_ORIGIN)},
        "Forwarded from اخبار فروشگاه:\nخبر",
    ),
    "forward-of-unknown-origin": Stored(
        {"message": said(text="x", forward_origin={"type": "wormhole", "date": DATE})},
        "Forwarded from an unknown origin:\nx",
    ),
    "reply-with-quote": Stored(
        {
            "message": said(
                2,
                text="این یکی",
                reply_to_message=said(1, text="گزینه اول یا دوم؟"),
                quote={"text": "گزینه اول", "position": 0},
            )
        },
        "این یکی",
    ),
    "external-reply": Stored(
        {
            "message": said(
                text="درباره این پست",
                external_reply={"origin": CHANNEL_ORIGIN, "chat": CHANNEL, "message_id": 5},
            )
        },
        "درباره این پست",
    ),
    "reply-to-story": Stored(
        {"message": said(text="قشنگ", reply_to_story={"chat": CHANNEL, "id": 3})}, "قشنگ"
    ),
    "via-bot": Stored(
        {
            "message": said(
                animation=file("gif"), via_bot={"id": 140267078, "is_bot": True, "username": "gif"}
            )
        },
        "",
        (("animation_1.mp4", "video/mp4"),),
    ),
    # (Other customers: a contact keeps the name it was first given.)
    "no-from": Stored(
        {"message": {k: v for k, v in said(chat_id=NO_FROM, text="x").items() if k != "from"}},
        "x",
    ),
    "no-username-no-last-name": Stored(
        {
            "message": said(
                chat_id=PLAIN,
                text="x",
                **{"from": {"id": PLAIN, "is_bot": False, "first_name": "S"}},
            )
        },
        "x",
    ),
    "edited": Stored({"edited_message": said(text="نسخه دوم", edit_date=DATE + 60)}, "نسخه دوم"),
    "group-topic": Stored(
        {"message": in_group(text="سوال", message_thread_id=77, is_topic_message=True)},
        "سوال",
        config=GROUPS,
    ),
    "group-anonymous-admin": Stored(
        {
            "message": {
                **in_group(text="اطلاعیه"),
                "from": {"id": 1087968824, "is_bot": True, "first_name": "Group"},
                "sender_chat": GROUP,
            }
        },
        "اطلاعیه",
        config=GROUPS,
    ),
    "group-member-as-channel": Stored(
        {
            "message": {
                **{k: v for k, v in in_group(text="از طرف کانال").items() if k != "from"},
                "sender_chat": CHANNEL,
            }
        },
        "از طرف کانال",
        config=GROUPS,
    ),
    "channel-post": Stored(
        {
            "channel_post": {
                "message_id": 8,
                "sender_chat": CHANNEL,
                "chat": CHANNEL,
                "date": DATE,
                "author_signature": "مدیر",
                "text": "تخفیف امروز",
            }
        },
        "تخفیف امروز",
        config={"allow_channels": True},
    ),
    "edited-channel-post": Stored(
        {
            "edited_channel_post": {
                "message_id": 8,
                "chat": CHANNEL,
                "date": DATE,
                "edit_date": DATE + 5,
                "text": "تخفیف فردا",
            }
        },
        "تخفیف فردا",
        config={"allow_channels": True},
    ),
    "business-message": Stored(
        {"business_message": said(text="سلام فروشگاه", business_connection_id="bc-1")},
        "سلام فروشگاه",
    ),
    "edited-business-message": Stored(
        {
            "edited_business_message": said(
                text="ویرایش", business_connection_id="bc-1", edit_date=DATE + 1
            )
        },
        "ویرایش",
    ),
}


def service(**fields: Any) -> dict[str, Any]:
    return {"message": said(**fields)}


IGNORED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "pinned": (service(pinned_message=said(9, text="x")), {}),
    "auto-delete-timer": (service(message_auto_delete_timer_changed={"time": 86400}), {}),
    "write-access-allowed": (service(write_access_allowed={"from_request": True}), {}),
    "chat-background": (service(chat_background_set={"type": {"type": "fill"}}), {}),
    "new-members": (
        {"message": in_group(new_chat_members=[person(7, "New")])},
        GROUPS,
    ),
    "topic-created": (
        {"message": in_group(forum_topic_created={"name": "t", "icon_color": 1})},
        GROUPS,
    ),
    "group-when-groups-are-off": ({"message": in_group(text="سلام")}, {}),
    "group-linked-channel-copy": (
        {"message": {**in_group(text="پست"), "sender_chat": CHANNEL, "is_automatic_forward": True}},
        GROUPS,
    ),
    "channel-post-when-channels-are-off": (
        {"channel_post": {"message_id": 1, "chat": CHANNEL, "date": DATE, "text": "x"}},
        {},
    ),
    "business-message-by-the-owner": (
        {
            "business_message": said(
                text="پاسخ ما", business_connection_id="bc-1", **{"from": person(99, "Owner")}
            )
        },
        {},
    ),
    "business-message-by-the-bot": (
        {
            "business_message": said(
                text="پاسخ ربات",
                business_connection_id="bc-1",
                sender_business_bot={"id": 7, "is_bot": True, "first_name": "Bot"},
            )
        },
        {},
    ),
    "business-connection": (
        {
            "business_connection": {
                "id": "bc-1",
                "user": person(99, "Owner"),
                "user_chat_id": 99,
                "date": DATE,
                "is_enabled": True,
            }
        },
        {},
    ),
    "deleted-business-messages": (
        {
            "deleted_business_messages": {
                "business_connection_id": "bc-1",
                "chat": {"id": CHAT, "type": "private"},
                "message_ids": [1, 2],
            }
        },
        {},
    ),
    "reaction": (
        {
            "message_reaction": {
                "chat": {"id": CHAT, "type": "private"},
                "message_id": 9000,
                "user": person(CHAT),
                "date": DATE,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            }
        },
        {},
    ),
    "reaction-count": (
        {
            "message_reaction_count": {
                "chat": CHANNEL,
                "message_id": 8,
                "date": DATE,
                "reactions": [{"type": {"type": "emoji", "emoji": "👍"}, "total_count": 3}],
            }
        },
        {},
    ),
    "inline-query": (
        {"inline_query": {"id": "1", "from": person(CHAT), "query": "q", "offset": ""}},
        {},
    ),
    "chosen-inline-result": (
        {"chosen_inline_result": {"result_id": "1", "from": person(CHAT), "query": "q"}},
        {},
    ),
    "shipping-query": (
        {
            "shipping_query": {
                "id": "1",
                "from": person(CHAT),
                "invoice_payload": "p",
                "shipping_address": {"country_code": "IR"},
            }
        },
        {},
    ),
    "pre-checkout-query": (
        {
            "pre_checkout_query": {
                "id": "1",
                "from": person(CHAT),
                "currency": "XTR",
                "total_amount": 5,
                "invoice_payload": "p",
            }
        },
        {},
    ),
    "poll": ({"poll": {"id": "5", "question": "q", "options": [], "is_closed": True}}, {}),
    "poll-answer": (
        {"poll_answer": {"poll_id": "5", "user": person(CHAT), "option_ids": [0]}},
        {},
    ),
    "my-chat-member-in-a-group": (
        {
            "my_chat_member": {
                "chat": GROUP,
                "from": person(CHAT),
                "date": DATE,
                "old_chat_member": {"status": "left", "user": person(7)},
                "new_chat_member": {"status": "member", "user": person(7)},
            }
        },
        {},
    ),
    "chat-member": (
        {
            "chat_member": {
                "chat": GROUP,
                "from": person(CHAT),
                "date": DATE,
                "old_chat_member": {"status": "left", "user": person(CHAT)},
                "new_chat_member": {"status": "member", "user": person(CHAT)},
            }
        },
        {},
    ),
    "chat-join-request": (
        {
            "chat_join_request": {
                "chat": GROUP,
                "from": person(CHAT),
                "user_chat_id": CHAT,
                "date": DATE,
            }
        },
        {},
    ),
    "chat-boost": (
        {"chat_boost": {"chat": CHANNEL, "boost": {"boost_id": "b", "add_date": DATE}}},
        {},
    ),
    "removed-chat-boost": (
        {"removed_chat_boost": {"chat": CHANNEL, "boost_id": "b", "remove_date": DATE}},
        {},
    ),
    "purchased-paid-media": (
        {"purchased_paid_media": {"from": person(CHAT), "paid_media_payload": "p"}},
        {},
    ),
    "guest-message": ({"guest_message": said(text="سلام", guest_query_id="q1")}, {}),
    "future-update-type": ({"teleportation": {"id": 1, "from": person(CHAT)}}, {}),
    "nothing-but-an-id": ({}, {}),
}


async def deliver(live: Live, config: dict[str, Any], body: dict[str, Any]) -> int:
    """A new inbox, and the update delivered to its webhook; the inbox's id."""
    inbox = await create_telegram_inbox(live.admin, live.telegram, **config)
    live.add_files(body)
    response = await live.telegram.deliver(
        live.bot, {"update_id": 800_001, **body}, live.running.url
    )
    assert response.status_code == 200, response.text
    inbox_id: int = inbox["id"]
    return inbox_id


@pytest.mark.parametrize("name", STORED)
async def test_what_a_customer_says_is_stored(live: Live, name: str) -> None:
    case = STORED[name]
    inbox_id = await deliver(live, case.config, case.update)

    (stored,) = await inbound_messages(live.admin, inbox_id)
    assert stored["body_text"] == case.text
    assert [(a["filename"], a["content_type"]) for a in stored["attachments"]] == list(case.files)
    for attachment in stored["attachments"]:
        assert attachment["stored"] is True, attachment
    # The same update again (Telegram retries what it thinks failed) is stored once.
    response = await live.telegram.deliver(
        live.bot, {"update_id": 800_001, **case.update}, live.running.url
    )
    assert response.status_code == 200, response.text
    assert len(await inbound_messages(live.admin, inbox_id)) == 1


@pytest.mark.parametrize("name", IGNORED)
async def test_everything_else_is_answered_and_ignored_with_a_reason(
    live: Live, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, config = IGNORED[name]
    with caplog.at_level("INFO", logger="connectors.telegram.parse"):
        inbox_id = await deliver(live, config, body)
    assert await inbound_messages(live.admin, inbox_id) == []
    assert "ignored" in caplog.text


async def sender_of(live: Live, inbox_id: int) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    (stored,) = await inbound_messages(live.admin, inbox_id)
    conversation = (
        await live.admin.get(f"/api/v1/conversations/{stored['conversation_id']}")
    ).json()
    contact = (await live.admin.get(f"/api/v1/contacts/{conversation['contact']['id']}")).json()
    return stored, {(i["kind"], i["address"]) for i in contact["identities"]}


@pytest.mark.parametrize(
    ("name", "address", "shown"),
    [
        ("no-from", str(NO_FROM), "سارا"),
        ("no-username-no-last-name", str(PLAIN), "S"),
        ("group-topic", "5550001112", "کاوه"),
        ("group-anonymous-admin", str(GROUP["id"]), "خریداران"),
        ("group-member-as-channel", str(CHANNEL["id"]), "اخبار فروشگاه"),
        ("channel-post", str(CHANNEL["id"]), "اخبار فروشگاه"),
    ],
)
async def test_the_sender_is_whoever_spoke(live: Live, name: str, address: str, shown: str) -> None:
    case = STORED[name]
    stored, identities = await sender_of(live, await deliver(live, case.config, case.update))
    assert stored["sender"]["name"] == shown
    assert ("telegram", address) in identities


async def test_context_of_a_message_is_kept_for_the_agent(live: Live) -> None:
    quoted = await deliver(live, {}, STORED["reply-with-quote"].update)
    (reply_message,) = await inbound_messages(live.admin, quoted)
    assert reply_message["metadata"]["reply_to"] == {
        "message_id": 1,
        "text": "گزینه اول یا دوم؟",
        "quote": "گزینه اول",
    }
    topic = await deliver(live, GROUPS, STORED["group-topic"].update)
    (in_topic,) = await inbound_messages(live.admin, topic)
    assert in_topic["metadata"]["topic_id"] == 77
    external = await deliver(live, {}, STORED["external-reply"].update)
    (answering,) = await inbound_messages(live.admin, external)
    assert answering["metadata"]["external_reply"] == {"from": "اخبار فروشگاه", "message_id": 5}
    unknown = await deliver(live, {}, STORED["future-kind"].update)
    (placeholder,) = await inbound_messages(live.admin, unknown)
    assert placeholder["metadata"]["unsupported"] == ["hologram", "mood"]


async def test_a_business_chat_is_its_own_conversation_answered_through_the_business(
    live: Live,
) -> None:
    inbox = await create_telegram_inbox(live.admin, live.telegram)
    body = {"business_message": said(5, text="قیمت؟", business_connection_id="bc:7")}
    for update_id, update in enumerate([body, {"message": said(5, text="از ربات")}]):
        response = await live.telegram.deliver(
            live.bot, {"update_id": update_id, **update}, live.running.url
        )
        assert response.status_code == 200, response.text

    business, private = await inbound_messages(live.admin, inbox["id"])
    # Message 5 of the business chat is not message 5 of the chat with the bot.
    assert business["external_id"] == f"business:bc:7:{CHAT}:5"
    assert private["external_id"] == f"{CHAT}:5"
    assert business["conversation_id"] != private["conversation_id"]

    sent = await reply(live.admin, business["conversation_id"], "۲۰۰ هزار تومان")
    await drain(DeliveryWorker(live.running.ctx))
    (delivered,) = [s for s in live.bot.sent if s.text == "۲۰۰ هزار تومان"]
    assert (delivered.chat_id, delivered.business_connection_id) == (str(CHAT), "bc:7")
    assert delivered.reply_to_message_id == 5
    shown = await message(live.admin, business["conversation_id"], sent["id"])
    assert shown["external_id"] == f"business:bc:7:{CHAT}:{delivered.message_id}"

"""The text of websocket frames: `{"id", "type", "data", "at"}`.

`id` is the event's seq for events from the log; ephemeral frames (typing, presence,
heartbeat, resync_required) are not in the log and carry `"id": null`, so the last id a
client saw is always a log seq it can resume from.

A visitor's widget gets its own, smaller view of a message: what the customer may see of
a reply, never internal fields (agent ids, provider ids, errors, metadata).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.db import utcnow
from app.events.log import Logged

# Only these event types ever reach a widget, and only when recorded as public.
WIDGET_EVENT_TYPES = frozenset({"message.created", "message.updated"})
_CUSTOMER_DIRECTIONS = frozenset({"inbound", "outbound"})
_VISITOR_MESSAGE_FIELDS = (
    "id",
    "conversation_id",
    "direction",
    "body_text",
    "body_html",
    "sender_type",
    "delivery_status",
    "created_at",
    "sent_at",
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def frame(
    type_: str, data: dict[str, Any], *, id_: int | None = None, at: datetime | None = None
) -> str:
    return _dumps({"id": id_, "type": type_, "data": data, "at": (at or utcnow()).isoformat()})


def agent_frame(event: Logged) -> str:
    return frame(event.type, event.data, id_=event.seq, at=event.created_at)


def widget_frame(event: Logged) -> str | None:
    """The visitor's frame for an event, or None if no visitor may see it."""
    if not event.public or event.type not in WIDGET_EVENT_TYPES:
        return None
    message = event.data.get("message")
    if not isinstance(message, dict) or message.get("direction") not in _CUSTOMER_DIRECTIONS:
        return None
    return frame(
        event.type, {"message": visitor_message(message)}, id_=event.seq, at=event.created_at
    )


def visitor_message(message: dict[str, Any]) -> dict[str, Any]:
    view = {key: message.get(key) for key in _VISITOR_MESSAGE_FIELDS}
    sender = message.get("sender")
    agent_reply = message.get("sender_type") == "agent" and isinstance(sender, dict)
    view["sender_name"] = sender.get("name") if agent_reply and isinstance(sender, dict) else None
    # A survey's rating card: what the widget draws, and the answer once given.
    survey = (message.get("metadata") or {}).get("survey")
    view["survey"] = survey if isinstance(survey, dict) else None
    view["attachments"] = [
        # The id is what the visitor downloads it by (a visitor-scoped route checks it).
        {key: a.get(key) for key in ("id", "filename", "content_type", "size")}
        for a in message.get("attachments") or ()
        if isinstance(a, dict)
    ]
    return view

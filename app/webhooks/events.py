"""The public event types a webhook subscribes to, and how the event log's internal types
map onto them. A payload is versioned: a receiver can rely on `version` 1's shape."""

from __future__ import annotations

import json
import re

from app.events.log import Logged

PAYLOAD_VERSION = 1

EVENT_TYPES = (
    "conversation.created",
    "conversation.updated",
    "conversation.status_changed",
    "conversation.merged",
    "conversation.split",
    "message.created",
    "message.updated",
    "contact.created",
    "contact.updated",
    "contact.merged",
    "callback.requested",
    "callback.updated",
    "survey.answered",
    "contact.event",
)
# Families of types other features add (calls, SLA clocks): subscribed to by name
# (`call.ended`) or all at once (`call.*`).
FAMILIES = ("call.", "conversation.sla_")
_NAME = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_.]*$")

# conversation.updated changes that are not a change to the conversation a CRM keeps.
_UNTOLD_CHANGES = frozenset({"unread_count"})


def accepted(name: str) -> bool:
    """Whether a subscription may name this (an event type, a family's `prefix*`, or `*`)."""
    if name == "*" or name in EVENT_TYPES:
        return True
    if name.endswith("*"):
        return name[:-1] in FAMILIES
    return bool(_NAME.match(name)) and name.startswith(FAMILIES)


def subscribed(names: list[str], event_type: str) -> bool:
    return any(
        name == event_type
        or name == "*"
        or (name.endswith("*") and event_type.startswith(name[:-1]))
        for name in names
    )


def public_types(event: Logged) -> list[str]:
    """The public types an event of the log is announced as (none: it is not announced)."""
    if event.agent_id is not None:  # one agent's own notices
        return []
    if event.type == "conversation.updated":
        changes = set(event.data.get("changes") or ())
        if changes and changes <= _UNTOLD_CHANGES:
            return []
        return ["conversation.updated"] + (
            ["conversation.status_changed"] if "status" in changes else []
        )
    if event.type == "callback.created":
        return ["callback.requested"]
    if event.type == "contact.updated":
        return ["contact.updated"] + (["contact.merged"] if event.data.get("merged_ids") else [])
    if event.type in EVENT_TYPES or (_NAME.match(event.type) and event.type.startswith(FAMILIES)):
        return [event.type]
    return []


def payload(event: Logged, public_type: str) -> str:
    """The body every subscription to `public_type` receives for this event. Its `id` names
    the event, the same for every subscription (and `X-Panjereh-Delivery` one delivery)."""
    return json.dumps(
        {
            "version": PAYLOAD_VERSION,
            "id": f"evt_{event.seq}_{public_type}",
            "type": public_type,
            "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
            "data": event.data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )

"""Inbound text as the databases can store it, and the raw payload as bytes.

Providers do send NUL characters and lone UTF-16 surrogates (broken MIME, binary junk, JSON
escapes); neither PostgreSQL nor SQLite stores them as text, so they are cleaned here, once,
before anything is looked up or written.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from connectors.base import Address, InboundMessage, Party

# A provider's claim of a file's size beyond what a database integer holds is no size.
_MAX_SIZE = 2**62


def storable_value(value: Any) -> Any:
    """The value with every string in it storable: NUL characters removed, and a lone UTF-16
    surrogate (JSON may escape one, "\\ud800") made U+FFFD."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError:
                value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if isinstance(value, dict):
        return {storable_value(k): storable_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(storable_value(v) for v in value)
    return value


def _storable_address(address: Address) -> Address:
    return Address(address.kind, storable_value(address.value))


def storable(msg: InboundMessage) -> InboundMessage:
    """The message as it can be stored: every text in it storable (`storable_value`)."""
    sender = msg.sender
    return replace(
        msg,
        external_id=storable_value(msg.external_id),
        sender=Party(
            address=_storable_address(sender.address),
            name=storable_value(sender.name),
            also_known_as=tuple(_storable_address(a) for a in sender.also_known_as),
            language=storable_value(sender.language),
            attributes=storable_value(dict(sender.attributes)),
            identifies=sender.identifies,
        ),
        text=storable_value(msg.text),
        thread_key=storable_value(msg.thread_key),
        in_reply_to=storable_value(msg.in_reply_to),
        references=storable_value(msg.references),
        html=storable_value(msg.html),
        subject=storable_value(msg.subject),
        attachments=tuple(
            replace(
                a,
                filename=storable_value(a.filename),
                content_id=storable_value(a.content_id),
                size=a.size if a.size is None or 0 <= a.size <= _MAX_SIZE else None,
            )
            for a in msg.attachments
        ),
        metadata=storable_value(dict(msg.metadata)),
    )


def raw_bytes(msg: InboundMessage) -> bytes:
    """The provider's payload as it came, kept byte for byte (a lone surrogate in a JSON
    payload stays the escape it came as)."""
    if isinstance(msg.raw, bytes):
        return msg.raw
    try:
        return json.dumps(msg.raw, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(msg.raw).encode()

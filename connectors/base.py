"""The connector boundary: what every channel turns its provider's payloads into, and back.

A connector knows its provider and nothing about the database or the hub. Parsing is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class AddressKind(StrEnum):
    """What an identity's address is. SMS and callback requests share `phone`, so a
    customer who texts and asks for a call from the same number is one contact."""

    phone = "phone"
    email = "email"
    telegram = "telegram"
    webchat = "webchat"
    api = "api"


@dataclass(frozen=True, slots=True)
class Address:
    kind: AddressKind
    value: str  # normalized: E.164, lower-cased email, chat id, visitor id…


@dataclass(frozen=True, slots=True)
class Party:
    address: Address  # where replies go
    name: str | None = None
    # Other addresses the provider vouches for (a shared phone number, an e-mail given
    # to an integration): they become identities of the same contact.
    also_known_as: tuple[Address, ...] = ()
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes | None  # None when it was not downloaded (too large, unavailable)
    size: int | None = None
    content_id: str | None = None  # for inline `cid:` images
    note: str | None = None  # why `data` is missing


@dataclass(frozen=True, slots=True)
class InboundMessage:
    external_id: str  # idempotency key, unique per inbox
    sender: Party
    sent_at: datetime  # timezone-aware UTC
    text: str
    thread_key: str | None = None  # chat id, e-mail thread root, visitor session…
    in_reply_to: str | None = None  # provider id of the message this answers
    references: tuple[str, ...] = ()  # further provider ids of the thread (e-mail References)
    html: str | None = None  # sanitized at ingest, never trusted
    subject: str | None = None
    attachments: tuple[Attachment, ...] = ()
    is_auto: bool = False  # auto-reply, bounce, bulk: stored, never auto-answered
    raw: bytes | Mapping[str, Any] = field(default_factory=dict)
    # Provider facts worth keeping beside the message (Telegram entities, parse warnings…).
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    id: int  # our message id, for the provider's idempotency where it has one
    conversation_id: int
    to: Address
    text: str
    html: str | None = None
    subject: str | None = None
    thread_key: str | None = None
    in_reply_to: str | None = None  # provider id of the customer message this answers
    references: tuple[str, ...] = ()
    attachments: tuple[OutboundAttachment, ...] = ()
    sender_name: str | None = None  # the agent who wrote it


@dataclass(frozen=True, slots=True)
class SendResult:
    external_id: str | None  # the provider's message id


class SendError(Exception):
    """A send that did not happen. `permanent` errors are not retried."""

    permanent = False

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentSendError(SendError):
    permanent = True


class TransientSendError(SendError):
    permanent = False


class VerificationError(Exception):
    """A webhook whose signature or secret does not match: answer 403, store nothing."""


class PayloadError(ValueError):
    """A webhook payload that is not what the provider sends: answer 400, store nothing."""


@dataclass(frozen=True, slots=True)
class RawRequest:
    url: str  # as the provider called it (public URL + path + query)
    headers: Mapping[str, str]
    body: bytes
    form: Mapping[str, str] | None = None


@runtime_checkable
class Connector(Protocol):
    async def send(self, msg: OutboundMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


class WebhookConnector(Connector, Protocol):
    def verify(self, req: RawRequest) -> None: ...

    def parse(self, req: RawRequest) -> list[InboundMessage]: ...


class PollingConnector(Connector, Protocol):
    async def poll(self, cursor: str | None) -> tuple[list[InboundMessage], str | None]: ...

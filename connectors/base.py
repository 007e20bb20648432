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
    # Facts about the person worth keeping on the contact (a deep-link payload…).
    attributes: Mapping[str, str] = field(default_factory=dict)
    # The sender authenticated itself as the one who knows this person (an integration
    # holding the inbox's key): a first message whose other addresses all belong to one
    # contact joins that contact. Never for what a person merely typed, which must not
    # take over anyone's contact.
    identifies: bool = False


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes | None  # None when it was not downloaded (too large, unavailable)
    size: int | None = None
    content_id: str | None = None  # for inline `cid:` images
    note: str | None = None  # why `data` is missing
    # Where the provider keeps the file when `parse` could only point at it (a Telegram
    # file_id, a Twilio media URL); the connector's `fetch` downloads it.
    source: str | None = None


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
    # A conversation the message names itself (an e-mail subject's "[#123]"), used only when
    # no reference matched, and only if that conversation is the sender's, in this inbox.
    conversation_hint: int | None = None
    # For providers whose ids the sender's software writes and may reuse (an e-mail's
    # Message-ID): what makes this message itself. A message under a stored id with another
    # fingerprint is a different message and is stored too; an equal one is a repeat.
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class MessageEdit:
    """The customer changed a message they sent (Telegram `edited_message`): the stored
    message shows the new text and keeps the old."""

    external_id: str  # of the edited message, as its InboundMessage gave it
    text: str
    edited_at: datetime
    html: str | None = None
    # What the new version's metadata says of its content (its formatting, its file, a
    # moved live location), and every key an edit may change: one the new version lacks
    # (formatting removed) goes, so nothing stale describes the new text.
    facts: Mapping[str, Any] = field(default_factory=dict)
    replaces: tuple[str, ...] = ()


class DeliveryState(StrEnum):
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    """What the provider reports about one of our replies (a Twilio status callback).
    Out-of-order reports never move a message backwards."""

    state: DeliveryState
    at: datetime
    external_id: str | None = None  # the provider's id of our message
    message_id: int | None = None  # our id, when the provider echoes it back
    reason: str | None = None  # readable, for `failed`
    metadata: Mapping[str, Any] = field(default_factory=dict)  # segments, price…


@dataclass(frozen=True, slots=True)
class ReachabilityChange:
    """The customer can (no longer) be reached at this address: a blocked bot, an SMS
    opt-out. Replies to an unreachable address fail at once with `reason`."""

    address: Address
    reachable: bool
    reason: str | None = None
    # The external id of the inbound message that says so (an SMS "STOP"): the change
    # applies only when that message is new, so a late repeat of an old STOP cannot undo
    # a START that came after it.
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class AutoReply:
    """An answer the channel's settings ask for (a Telegram welcome on /start), sent like
    any reply into the conversation of the message it answers."""

    in_reply_to: str  # external id of the inbound message it answers
    text: str


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """The customer pressed a button of one of our messages (a Telegram inline keyboard
    button: a `callback_query`). The provider waits for an answer to it (`answer_press`)."""

    press_id: str  # the provider's id of the press, to answer it
    data: str  # the button's data, as we sent it
    sender: Address
    message_key: str | None  # provider id of the message the button is on
    pressed_at: datetime


# Everything a webhook or a poll can bring in.
InboundItem = (
    InboundMessage | MessageEdit | DeliveryUpdate | ReachabilityChange | AutoReply | ButtonPress
)


@dataclass(frozen=True, slots=True)
class OutboundAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered under a message (a Telegram inline keyboard button); a press comes
    back as a ButtonPress carrying `data` (at most 64 bytes)."""

    label: str
    data: str


@dataclass(slots=True)
class SendProgress:
    """What a send delivered so far, when one reply goes out as several provider messages (a
    long Telegram text): the connector appends each part's provider id as it is accepted,
    and the worker keeps the list across attempts, so a retry sends only the parts after it
    and nothing twice."""

    parts: list[str] = field(default_factory=list)


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
    # Sent by the system, not a person (an acknowledgement, a welcome): e-mail says so with
    # `Auto-Submitted: auto-replied` (RFC 3834), so the customer's own robots stay quiet.
    automatic: bool = False
    progress: SendProgress = field(default_factory=SendProgress)
    # Rows of buttons, for channels that show them (others carry the choice in `text`).
    buttons: tuple[tuple[Button, ...], ...] = ()
    # Structured content beside the text, for channels that carry it (the api channel).
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    external_id: str | None  # the provider's message id
    # Provider facts kept on the message (SMS segments, price…), as DeliveryUpdate.metadata.
    metadata: Mapping[str, Any] = field(default_factory=dict)


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


class RecipientUnreachable(PermanentSendError):
    """The provider says this address takes nothing more from us (the customer blocked the
    bot, opted out of SMS): the reply fails, and the address is marked unreachable with
    `reason`, so later replies fail at once until the customer is reachable again."""


class SetupError(Exception):
    """The channel cannot work with these settings (a bad bot token, a refused login):
    the reason is shown to the admin as it is."""


class VerificationError(Exception):
    """A webhook whose signature or secret does not match: answer 403, store nothing."""


class PayloadError(ValueError):
    """A webhook payload that is not what the provider sends: answer 400, store nothing."""


class ProviderUnavailable(Exception):
    """The provider could not be reached to finish reading what it sent (a file to
    download): store nothing now. A webhook answers 503, so the provider delivers it
    again; a poller retries later."""


@dataclass(frozen=True, slots=True)
class RawRequest:
    url: str  # as the provider called it (public URL + path + query)
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    endpoint: str = ""  # the path after the inbox id: "" or "sms", "status"…
    form: Mapping[str, str] | None = None  # a form post's fields, in order


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """What the provider expects as the body of a 2xx (Twilio: empty TwiML)."""

    media_type: str = "application/json"
    body: bytes = b"{}"


@runtime_checkable
class Connector(Protocol):
    async def send(self, msg: OutboundMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class WebhookConnector(Connector, Protocol):
    def verify(self, req: RawRequest) -> None:
        """Raise VerificationError unless the provider signed or authenticated `req`."""

    def parse(self, req: RawRequest) -> list[InboundItem]:
        """Pure. [] for a known event that is deliberately ignored (logged with a reason);
        PayloadError for something the provider does not send."""

    async def fetch(self, items: list[InboundItem]) -> list[InboundItem]:
        """The items with every attachment that has a `source` downloaded (within the size
        limit; one that cannot be keeps its metadata and a `note`). ProviderUnavailable when
        the provider should be asked again later rather than the file given up."""

    def acknowledgement(self, req: RawRequest) -> Acknowledgement: ...


@runtime_checkable
class PollingConnector(Connector, Protocol):
    async def start(self, cursor: str | None) -> str | None:
        """Called when the inbox is saved with these settings (after `check`, on the same
        connector): the cursor to store, from which the poller pulls whenever it gets to
        run, so nothing that arrives after the save is skipped. `cursor` is the one
        stored (None for a new inbox): kept when it points into the same stream (what
        waits behind it is pulled too), replaced when the settings name another one."""

    async def poll(self, cursor: str | None) -> tuple[list[InboundItem], str | None]:
        """What arrived after `cursor`, and the cursor to store with it. May wait (IMAP
        IDLE, long polling) but returns within about 30 s, with [] when nothing came."""

    async def committed(self, cursor: str | None) -> None:
        """Called once the items of the last poll and `cursor` are durably stored (IMAP
        flags `\\Seen` here, never before)."""


@runtime_checkable
class ButtonConnector(Connector, Protocol):
    """A channel whose messages carry buttons the customer presses."""

    async def answer_press(self, press: ButtonPress, *, notice: str, chosen: str | None) -> None:
        """Answer the press (always: the customer's app waits for it), showing `notice`; with
        `chosen`, the message's buttons become that one choice, marked as taken."""


@runtime_checkable
class ManagedConnector(Connector, Protocol):
    """A channel that checks its credentials and registers itself with the provider."""

    async def check(self) -> None:
        """Raise SetupError unless the credentials work (getMe, an IMAP login…)."""

    async def activate(self, webhook_url: str | None) -> None:
        """The inbox is enabled: register the webhook (or nothing for polling)."""

    async def deactivate(self) -> None:
        """The inbox is disabled: unregister the webhook."""

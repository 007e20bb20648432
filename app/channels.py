"""Every channel in one record: `CHANNELS[kind]` says how an inbox of that kind is configured,
which connector serves it, where its provider's webhooks arrive and what its settings must
agree with. The rest of the app reads channels only from here: app.inboxes validates and
shows settings with it, app.context builds connectors with it, app.inbound.webhooks builds
its routes from it.

It lives at the top of `app`, not in one feature's package, because three of them read it.
It is also the one app module that imports connector modules (an import-linter contract):
each factory imports its connector when first called, so a process loads a provider's SDK
(python-telegram-bot, twilio) only if it serves an inbox of that kind.

A new channel is its folder under connectors/, an `InboxKind` value, one record here and the
console's entries; tests/test_channels.py fails if the record or a webhook route is missing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from app.inboxes.models import InboxKind
from connectors.api.config import ApiConfig
from connectors.base import Connector
from connectors.callback.config import CallbackConfig, check_references
from connectors.config import ChannelConfig, KindOf
from connectors.email.config import EmailConfig
from connectors.sms.config import SmsConfig
from connectors.telegram.config import TelegramConfig
from connectors.voice.config import VoiceConfig
from connectors.webchat.config import WebchatConfig

C = TypeVar("C", bound=ChannelConfig)


@dataclass(frozen=True, slots=True)
class ConnectorDeps:
    """What the app lends a connector: nothing that reaches the database."""

    inbox_id: int
    http: httpx.AsyncClient  # shared; a connector never closes it
    public_url: str
    max_attachment_bytes: int


@dataclass(frozen=True, slots=True)
class Webhook:
    """A URL the provider posts to, `{inbox_id}` in it; its connector sees `endpoint` in
    the request (RawRequest.endpoint) to tell a channel's webhooks apart. Kinds may share
    a path (one provider's channels): the inbox's own kind decides."""

    path: str
    endpoint: str
    summary: str
    description: str


@dataclass(frozen=True)  # not slotted: Channel[M](…) sets __orig_class__ on the instance
class Channel(Generic[C]):
    config: type[C]
    # None: no connector, so replies to its conversations fail with a clear reason. Which
    # protocols the connector speaks (webhook, polling, managed) decides where the app uses it.
    connector: Callable[[C, ConnectorDeps], Connector] | None = None
    webhooks: tuple[Webhook, ...] = ()
    # Where an inbox of this kind receives, `{inbox_id}` in it: shown as its webhook_url and
    # registered with the provider by activate(). A route of app.inbound.webhooks, or the
    # channel's own (the api channel's).
    webhook_path: str | None = None
    # Settings checked against the rest of the setup when saved (an inbox they name is one
    # that can do the job); raises connectors.config.ConfigError.
    check: Callable[[C, KindOf], Awaitable[None]] | None = None


def _api(config: ApiConfig, deps: ConnectorDeps) -> Connector:
    from connectors.api.connector import ApiConnector

    return ApiConnector(config, deps.http)


def _sms(config: SmsConfig, deps: ConnectorDeps) -> Connector:
    from connectors.sms.connector import TwilioSmsConnector

    return TwilioSmsConnector(
        config,
        inbox_id=deps.inbox_id,
        http=deps.http,
        public_url=deps.public_url,
        max_attachment_bytes=deps.max_attachment_bytes,
    )


def _telegram(config: TelegramConfig, deps: ConnectorDeps) -> Connector:
    from connectors.telegram.connector import telegram_connector

    return telegram_connector(
        config,
        http=deps.http,
        max_attachment_bytes=deps.max_attachment_bytes,
        inbox_id=deps.inbox_id,
    )


def _email(config: EmailConfig, deps: ConnectorDeps) -> Connector:
    from connectors.email.connector import EmailConnector, EmailSender

    kind = EmailConnector if config.imap_host else EmailSender  # no IMAP server: send only
    return kind(config, inbox_id=deps.inbox_id, max_attachment_bytes=deps.max_attachment_bytes)


def _voice(config: VoiceConfig, deps: ConnectorDeps) -> Connector:
    from connectors.voice.connector import TwilioVoiceConnector

    return TwilioVoiceConnector(config, deps.http)


def _webchat(config: WebchatConfig, deps: ConnectorDeps) -> Connector:
    from connectors.webchat.connector import WebchatConnector

    del config, deps  # the widget reads replies from our own API: nothing to configure
    return WebchatConnector()


_TELEGRAM = "/webhooks/telegram/{inbox_id}"
_TWILIO = "/webhooks/twilio/{inbox_id}"
_TWILIO_SIGNED = (
    "Signed with `X-Twilio-Signature` for `PANJEREH_PUBLIC_URL` + path (403 otherwise)."
)

# Each record names its settings model twice, `Channel[M](M, …)`: the type argument is what
# makes mypy hold its factory and check to M (against Channel[Any] it would infer Any).
CHANNELS: Mapping[InboxKind, Channel[Any]] = {
    InboxKind.api: Channel[ApiConfig](
        ApiConfig,
        connector=_api,
        # Its route is app.inbound.api's: authenticated by API key, answered with the ids.
        webhook_path="/api/v1/inboxes/{inbox_id}/incoming",
    ),
    InboxKind.telegram: Channel[TelegramConfig](
        TelegramConfig,
        connector=_telegram,
        webhooks=(
            Webhook(
                _TELEGRAM,
                "",
                "Telegram update",
                "A Telegram Bot API update. `X-Telegram-Bot-Api-Secret-Token` must be the "
                "inbox's webhook secret (403 otherwise, nothing stored).",
            ),
        ),
        webhook_path=_TELEGRAM,
    ),
    InboxKind.email: Channel[EmailConfig](EmailConfig, connector=_email),
    InboxKind.sms: Channel[SmsConfig](
        SmsConfig,
        connector=_sms,
        webhooks=(
            Webhook(
                f"{_TWILIO}/sms",
                "sms",
                "Twilio incoming SMS",
                f"An inbound SMS/MMS (or WhatsApp message) from Twilio. {_TWILIO_SIGNED}",
            ),
            Webhook(
                f"{_TWILIO}/status",
                "status",
                "Twilio delivery status",
                "A status callback on a reply (sent, delivered, failed…), from Twilio. "
                + _TWILIO_SIGNED,
            ),
        ),
        webhook_path=f"{_TWILIO}/sms",
    ),
    InboxKind.webchat: Channel[WebchatConfig](WebchatConfig, connector=_webchat),
    InboxKind.callback: Channel[CallbackConfig](CallbackConfig, check=check_references),
    # Calls are not messages: app.voice answers its webhooks itself (TwiML that depends on
    # the call); the connector checks the settings and refuses text replies.
    InboxKind.voice: Channel[VoiceConfig](
        VoiceConfig, connector=_voice, webhook_path=f"{_TWILIO}/voice"
    ),
}


def webhook_url(kind: InboxKind, inbox_id: int, public_url: str) -> str | None:
    path = CHANNELS[kind].webhook_path
    return None if path is None else public_url.rstrip("/") + path.format(inbox_id=inbox_id)

"""Inbox kind → its settings model and its connector. An explicit mapping mypy checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from app.inboxes.models import InboxKind
from connectors.api.config import ApiConfig
from connectors.api.connector import ApiConnector
from connectors.base import Connector
from connectors.callback.config import CallbackConfig
from connectors.config import ChannelConfig
from connectors.email.config import EmailConfig
from connectors.email.connector import EmailConnector, EmailSender
from connectors.sms.config import SmsConfig
from connectors.sms.connector import TwilioSmsConnector
from connectors.telegram.config import TelegramConfig
from connectors.telegram.connector import telegram_connector
from connectors.webchat.config import WebchatConfig

CONFIG_MODELS: Mapping[InboxKind, type[ChannelConfig]] = {
    InboxKind.api: ApiConfig,
    InboxKind.telegram: TelegramConfig,
    InboxKind.email: EmailConfig,
    InboxKind.sms: SmsConfig,
    InboxKind.webchat: WebchatConfig,
    InboxKind.callback: CallbackConfig,
}


@dataclass(frozen=True, slots=True)
class ConnectorDeps:
    """What the app lends a connector: nothing that reaches the database."""

    inbox_id: int
    http: httpx.AsyncClient  # shared; a connector never closes it
    public_url: str
    max_attachment_bytes: int


def _api(config: ChannelConfig, deps: ConnectorDeps) -> Connector:
    if not isinstance(config, ApiConfig):  # pragma: no cover - CONFIG_MODELS guarantees it
        raise TypeError(type(config))
    return ApiConnector(config, deps.http)


def _sms(config: ChannelConfig, deps: ConnectorDeps) -> Connector:
    if not isinstance(config, SmsConfig):  # pragma: no cover - CONFIG_MODELS guarantees it
        raise TypeError(type(config))
    return TwilioSmsConnector(
        config,
        inbox_id=deps.inbox_id,
        http=deps.http,
        public_url=deps.public_url,
        max_attachment_bytes=deps.max_attachment_bytes,
    )


def _telegram(config: ChannelConfig, deps: ConnectorDeps) -> Connector:
    if not isinstance(config, TelegramConfig):  # pragma: no cover - CONFIG_MODELS guarantees it
        raise TypeError(type(config))
    return telegram_connector(
        config,
        http=deps.http,
        max_attachment_bytes=deps.max_attachment_bytes,
        inbox_id=deps.inbox_id,
    )


def _email(config: ChannelConfig, deps: ConnectorDeps) -> Connector:
    if not isinstance(config, EmailConfig):  # pragma: no cover - CONFIG_MODELS guarantees it
        raise TypeError(type(config))
    kind = EmailConnector if config.imap_host else EmailSender  # no IMAP server: send only
    return kind(config, inbox_id=deps.inbox_id, max_attachment_bytes=deps.max_attachment_bytes)


# Kind → its connector. A kind missing here has none yet: its replies fail with a clear
# reason. Which protocols a connector speaks (webhook, polling, managed) decides where the
# app uses it.
CONNECTORS: Mapping[InboxKind, Callable[[ChannelConfig, ConnectorDeps], Connector]] = {
    InboxKind.api: _api,
    InboxKind.sms: _sms,
    InboxKind.telegram: _telegram,
    InboxKind.email: _email,
}


def webhook_url(kind: InboxKind, inbox_id: int, public_url: str) -> str | None:
    base = public_url.rstrip("/")
    if kind == InboxKind.api:
        return f"{base}/api/v1/inboxes/{inbox_id}/incoming"
    if kind == InboxKind.telegram:
        return f"{base}/webhooks/telegram/{inbox_id}"
    if kind == InboxKind.sms:
        return f"{base}/webhooks/twilio/{inbox_id}/sms"
    return None

"""The Telegram channel, through python-telegram-bot's `Bot` pointed at the inbox's Bot API
server (`{api_base_url}/bot<token>/…`, files under `{api_base_url}/file/bot<token>/…`).

Two connectors, one per mode, so the app's isinstance checks pick the right machinery: a
webhook inbox is verified and parsed per request; a polling inbox is pulled by the worker
with getUpdates, the next offset being the cursor stored with the messages.
"""

from __future__ import annotations

import hmac
import logging
import warnings
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import FileSizeLimit
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from connectors.base import (
    Acknowledgement,
    Attachment,
    Button,
    ButtonPress,
    InboundItem,
    InboundMessage,
    OutboundAttachment,
    OutboundMessage,
    PayloadError,
    PermanentSendError,
    ProviderUnavailable,
    RawRequest,
    RecipientUnreachable,
    SendError,
    SendResult,
    SetupError,
    TransientSendError,
    VerificationError,
)
from connectors.telegram.config import TelegramConfig
from connectors.telegram.parse import (
    BLOCKED_REASON,
    ParseOptions,
    allowed_updates,
    message_key,
    parse_body,
    parse_update,
    split_chat_key,
)
from connectors.telegram.request import SharedClientRequest
from connectors.telegram.text import split_text

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name
LONG_POLL_SECONDS = 25  # getUpdates waits this long for news; a poll returns within ~30 s
_READ_MARGIN_SECONDS = 10.0
_UPDATES_PER_POLL = 100
_PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})

# What a refusal from Telegram (403) means for the person writing the reply, and whether
# the customer's private chat takes nothing more from the bot.
_FORBIDDEN = (
    ("blocked by the user", BLOCKED_REASON, True),
    ("user is deactivated", "the customer's Telegram account was deleted", True),
    ("can't initiate conversation", "the customer has not started a chat with the bot", True),
    ("kicked from the", "the bot was removed from this group", False),
    ("not a member", "the bot is not a member of this group", False),
)


class _Bot(Bot):
    async def raw_updates(
        self, *, offset: int | None, wait_seconds: int, allowed: Sequence[str]
    ) -> list[dict[str, Any]]:
        """getUpdates, as the JSON Telegram sent: `Bot.get_updates` turns updates into PTB
        objects and fails on the first one PTB cannot read, which would stall the bot."""
        result = await self._post(
            "getUpdates",
            {
                "offset": offset,
                "limit": _UPDATES_PER_POLL,
                "timeout": wait_seconds,
                "allowed_updates": list(allowed),
            },
            read_timeout=wait_seconds + _READ_MARGIN_SECONDS,
        )
        if not isinstance(result, list):
            raise NetworkError(f"getUpdates answered {type(result).__name__}, not a list")
        return [update for update in result if isinstance(update, dict)]


class TelegramConnector:
    """What both modes share: credentials, registration, downloads and sending."""

    def __init__(
        self,
        config: TelegramConfig,
        *,
        http: httpx.AsyncClient,
        max_attachment_bytes: int,
        inbox_id: int = 0,
    ) -> None:
        # No I/O here: the app builds connectors just to ask what they are.
        self._config = config
        self._http = http
        self._limit = min(max_attachment_bytes, FileSizeLimit.FILESIZE_DOWNLOAD)
        self._api = str(config.api_base_url).rstrip("/")
        self._inbox_id = inbox_id
        self._options = ParseOptions(
            allow_groups=config.allow_groups,
            allow_channels=config.allow_channels,
            welcome_message=config.welcome_message,
        )
        self._bot_instance: _Bot | None = None

    def _bot(self) -> _Bot:
        """PTB's Bot for this inbox (InvalidToken for an empty token)."""
        if self._bot_instance is None:
            request = SharedClientRequest(self._http, secret=self._config.bot_token)
            self._bot_instance = _Bot(
                self._config.bot_token,
                base_url=f"{self._api}/bot",
                base_file_url=f"{self._api}/file/bot",
                request=request,
                get_updates_request=request,
            )
        return self._bot_instance

    def _reason(self, exc: Exception) -> str:
        """An error's text, never with the token in it."""
        text = str(exc) or type(exc).__name__
        token = self._config.bot_token
        return text.replace(token, "<bot token>") if token else text

    # ManagedConnector

    async def check(self) -> None:
        if not self._config.bot_token.strip():
            raise SetupError("bot_token is required: the token @BotFather gave you")
        try:
            await self._bot().get_me()
        except InvalidToken as exc:
            raise SetupError(
                "Telegram rejected the bot token: copy it again from @BotFather"
            ) from exc
        except NetworkError as exc:
            raise SetupError(
                f"could not reach the Bot API at {self._api}: check api_base_url (empty for "
                "Telegram's own) and that this server can reach it, or try again in a minute"
            ) from exc
        except TelegramError as exc:
            raise SetupError(
                f"could not check the bot token with the Bot API at {self._api}: "
                f"{self._reason(exc)}"
            ) from exc

    async def activate(self, webhook_url: str | None) -> None:
        polling = self._config.mode == "polling"
        if not polling and webhook_url is None:
            raise SetupError("there is no public URL for Telegram to send updates to")
        try:
            if polling:
                # getUpdates is refused while a webhook is set.
                await self._bot().delete_webhook(drop_pending_updates=False)
            else:
                await self._bot().set_webhook(
                    url=str(webhook_url),
                    secret_token=self._config.webhook_secret,
                    allowed_updates=allowed_updates(self._options),
                )
        except TelegramError as exc:
            what = "polling" if polling else f"the webhook {webhook_url}"
            raise SetupError(f"Telegram refused {what}: {self._reason(exc)}") from exc

    async def deactivate(self) -> None:
        if self._config.mode != "webhook":
            return  # the worker simply stops polling
        try:
            await self._bot().delete_webhook(drop_pending_updates=False)
        except TelegramError as exc:
            reason = self._reason(exc)
            raise SetupError(f"Telegram refused to delete the webhook: {reason}") from exc

    # Inbound files

    async def fetch(self, items: list[InboundItem]) -> list[InboundItem]:
        """Every attachment a `parse` pointed at, downloaded with getFile within the size
        limit. A file Telegram will not hand out keeps its metadata and a note; a network
        failure or a 5xx raises ProviderUnavailable, so the update is delivered (or polled)
        again rather than stored without its file."""
        fetched: list[InboundItem] = []
        for item in items:
            if isinstance(item, InboundMessage) and any(
                a.source and a.data is None for a in item.attachments
            ):
                item = replace(
                    item, attachments=tuple([await self._download(a) for a in item.attachments])
                )
            fetched.append(item)
        return fetched

    async def _download(self, attachment: Attachment) -> Attachment:
        if attachment.source is None or attachment.data is not None:
            return attachment
        if attachment.size is not None and attachment.size > self._limit:
            return replace(attachment, note=self._too_large(attachment.size))
        try:
            file = await self._bot().get_file(attachment.source)
            size = file.file_size
            if size is not None and size > self._limit:
                return replace(attachment, size=size, note=self._too_large(size))
            data = bytes(await file.download_as_bytearray())
        except BadRequest as exc:  # an unknown or expired file id, a file too big for bots
            return replace(
                attachment, note=f"not downloaded: Telegram answered “{self._reason(exc)}”"
            )
        except TelegramError as exc:
            raise ProviderUnavailable(f"downloading a file failed: {self._reason(exc)}") from exc
        if len(data) > self._limit:
            return replace(attachment, size=len(data), note=self._too_large(len(data)))
        return replace(attachment, data=data, size=len(data))

    def _too_large(self, size: int) -> str:
        return f"not downloaded: {size} bytes is over the {self._limit}-byte limit"

    # Outbound

    async def send(self, msg: OutboundMessage) -> SendResult:
        """The reply as one Telegram message per text part, then one per file. Each part
        Telegram accepts is recorded in `msg.progress`, and the parts recorded by an earlier
        attempt are not sent again."""
        key = msg.thread_key or msg.to.value
        chat_id, business = split_chat_key(key)
        parts: list[str | OutboundAttachment] = [*split_text(msg.text), *msg.attachments]
        if not parts:
            raise PermanentSendError("the reply is empty")
        reply_to = _replied_message(key, msg.in_reply_to)
        sent = msg.progress.parts
        texts = sum(isinstance(p, str) for p in parts)
        try:
            bot = self._bot()
            for index, part in enumerate(parts[len(sent) :], start=len(sent)):
                # Only the first message answers the customer's.
                answer = None if sent else reply_to
                if isinstance(part, str):
                    # Buttons go under the last text part, the one they belong to.
                    message = await bot.send_message(
                        chat_id,
                        part,
                        reply_parameters=answer,
                        business_connection_id=business,
                        reply_markup=_keyboard(msg.buttons) if index == texts - 1 else None,
                    )
                else:
                    message = await self._send_file(bot, chat_id, part, answer, business)
                sent.append(message_key(key, message.message_id))
        except TelegramError as exc:
            raise self._send_error(exc, private=key == msg.to.value) from exc
        return SendResult(external_id=sent[0])

    async def _send_file(
        self,
        bot: Bot,
        chat_id: str,
        attachment: OutboundAttachment,
        reply_to: ReplyParameters | None,
        business: str | None,
    ) -> Message:
        if (
            attachment.content_type in _PHOTO_TYPES
            and len(attachment.data) <= FileSizeLimit.PHOTOSIZE_UPLOAD
        ):
            return await bot.send_photo(
                chat_id,
                attachment.data,
                filename=attachment.filename,
                reply_parameters=reply_to,
                business_connection_id=business,
            )
        return await bot.send_document(
            chat_id,
            attachment.data,
            filename=attachment.filename,
            reply_parameters=reply_to,
            business_connection_id=business,
        )

    def _send_error(self, exc: TelegramError, *, private: bool) -> SendError:
        reason = self._reason(exc)
        if isinstance(exc, RetryAfter):
            with warnings.catch_warnings():
                # An int today, a timedelta in PTB's next major version: both are handled.
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            return TransientSendError(
                f"Telegram asked to slow down (retry in {seconds:g} s)", retry_after=seconds
            )
        if isinstance(exc, Forbidden):
            meaning, gone = next(
                ((m, g) for key, m, g in _FORBIDDEN if key in reason.lower()),
                ("Telegram refused to deliver the message", False),
            )
            refusal = RecipientUnreachable if gone and private else PermanentSendError
            return refusal(f"{meaning} (Telegram: {reason})")
        if isinstance(exc, InvalidToken):
            return PermanentSendError(
                "Telegram rejected the bot token: paste a new one in the inbox settings"
            )
        if isinstance(exc, BadRequest):
            return PermanentSendError(f"Telegram refused the message: {reason}")
        if isinstance(exc, NetworkError):  # timeouts, connection errors and 5xx answers
            return TransientSendError(f"the Bot API at {self._api} failed: {reason}")
        return PermanentSendError(f"Telegram refused the message: {reason}")

    async def answer_press(self, press: ButtonPress, *, notice: str, chosen: str | None) -> None:
        """answerCallbackQuery (Telegram shows `notice` as a toast), then, with `chosen`, the
        keyboard becomes the one taken choice, so the customer sees what they answered. A
        keyboard Telegram will not edit (the message is too old, already edited so) stays."""
        bot = self._bot()
        try:
            await bot.answer_callback_query(press.press_id, text=notice or None)
        except BadRequest as exc:  # the press is older than Telegram waits for an answer
            log.info("inbox %d: press not answered: %s", self._inbox_id, self._reason(exc))
        if chosen is None or press.message_key is None:
            return
        chat, _, message_id = press.message_key.rpartition(":")
        chat_id, business = split_chat_key(chat)
        taken = _keyboard(((Button(f"✓ {chosen}", press.data),),))
        try:
            await bot.edit_message_reply_markup(
                chat_id=chat_id,
                message_id=int(message_id),
                reply_markup=taken,
                business_connection_id=business,
            )
        except BadRequest as exc:
            log.info("inbox %d: keyboard not edited: %s", self._inbox_id, self._reason(exc))

    async def aclose(self) -> None:
        return None  # the HTTP client is shared and closed by its owner


def _keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]
    )


def _replied_message(key: str, in_reply_to: str | None) -> ReplyParameters | None:
    """Quote the customer's message the reply answers, if it is one of this chat's (`key`, a
    chat key); sent anyway if the customer deleted it meanwhile."""
    if not in_reply_to:
        return None
    chat, _, message_id = in_reply_to.rpartition(":")
    if chat != key or not message_id.isdigit():
        return None
    return ReplyParameters(message_id=int(message_id), allow_sending_without_reply=True)


class TelegramWebhookConnector(TelegramConnector):
    """Webhook mode: Telegram POSTs each update to /webhooks/telegram/{inbox_id}."""

    def verify(self, req: RawRequest) -> None:
        given = req.headers.get(SECRET_HEADER)
        expected = self._config.webhook_secret
        if (
            not expected
            or given is None
            or not hmac.compare_digest(given.encode(), expected.encode())
        ):
            raise VerificationError("missing or wrong X-Telegram-Bot-Api-Secret-Token")

    def parse(self, req: RawRequest) -> list[InboundItem]:
        return parse_body(req.body, self._options)

    def acknowledgement(self, req: RawRequest) -> Acknowledgement:
        return Acknowledgement()


class TelegramPollingConnector(TelegramConnector):
    """Polling mode, for bots Telegram cannot reach: long-polled getUpdates in the worker.
    The cursor is `<bot id>:<next offset>`; Telegram forgets updates below the offset of a
    later call, so one that was not stored is asked for again.

    With no offset, getUpdates answers every update not yet confirmed (Telegram keeps them
    24 hours), so a new inbox starts there and misses nothing that came after its save,
    however late the worker starts. Update ids belong to one bot: another bot's offset
    would make Telegram drop this bot's updates below it, so a cursor of another bot is
    never used (a bot id is the part of its token before the colon)."""

    def __init__(
        self,
        config: TelegramConfig,
        *,
        http: httpx.AsyncClient,
        max_attachment_bytes: int,
        inbox_id: int = 0,
        long_poll_seconds: int = LONG_POLL_SECONDS,
    ) -> None:
        super().__init__(
            config, http=http, max_attachment_bytes=max_attachment_bytes, inbox_id=inbox_id
        )
        self._long_poll_seconds = long_poll_seconds

    def _bot_id(self) -> str:
        prefix = self._config.bot_token.split(":", 1)[0]
        return prefix if prefix.isdigit() else ""

    def _offset(self, cursor: str | None) -> int | None:
        """The offset a cursor of this bot holds; None for another bot's or none."""
        if cursor is None:
            return None
        bot, _, offset = cursor.rpartition(":")
        if bot and bot != self._bot_id():
            return None
        try:
            return int(offset)
        except ValueError:
            log.warning("telegram polling cursor %r is not an offset; starting over", cursor)
            return None

    def _cursor(self, offset: int | None) -> str | None:
        return f"{self._bot_id()}:{offset}" if offset is not None else None

    async def start(self, cursor: str | None) -> str | None:
        # An older cursor (a bare offset) names no bot: starting with none is as good, as
        # it re-reads only updates not yet confirmed, and stored ones are not stored twice.
        bot, _, _ = (cursor or "").rpartition(":")
        return cursor if bot and bot == self._bot_id() else None

    async def poll(self, cursor: str | None) -> tuple[list[InboundItem], str | None]:
        offset = self._offset(cursor)
        try:
            updates = await self._bot().raw_updates(
                offset=offset,
                wait_seconds=self._long_poll_seconds,
                allowed=allowed_updates(self._options),
            )
        except TelegramError as exc:
            # Raised again without the token; the poller backs off and retries.
            raise NetworkError(f"getUpdates failed: {self._reason(exc)}") from exc
        items: list[InboundItem] = []
        for update in updates:
            update_id = update.get("update_id")
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                # The ids handed out, not the highest ever seen: after a quiet week Telegram
                # starts them again at random, maybe lower, and answers an offset above its
                # queue from the queue's head, confirming nothing until the offset follows.
                offset = update_id + 1
            try:
                items.extend(parse_update(update, self._options))
            except PayloadError as exc:
                log.warning(
                    "inbox %d: telegram update %s skipped: %s", self._inbox_id, update_id, exc
                )
        items = await self.fetch(items)
        return items, self._cursor(offset)

    async def committed(self, cursor: str | None) -> None:
        return None  # the next getUpdates, with this offset, confirms them to Telegram


def telegram_connector(
    config: TelegramConfig, *, http: httpx.AsyncClient, max_attachment_bytes: int, inbox_id: int
) -> TelegramConnector:
    """The connector for the inbox's mode: polled only in `polling` mode."""
    if config.mode == "polling":
        return TelegramPollingConnector(
            config, http=http, max_attachment_bytes=max_attachment_bytes, inbox_id=inbox_id
        )
    return TelegramWebhookConnector(
        config, http=http, max_attachment_bytes=max_attachment_bytes, inbox_id=inbox_id
    )

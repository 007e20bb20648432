"""A local Telegram Bot API server that speaks the wire format, for python-telegram-bot to call.

`{url}/bot<token>/<method>` answers `{"ok": true, "result": …}` or `{"ok": false, "error_code",
"description", "parameters"?}` with the matching HTTP status, like api.telegram.org (and a
self-hosted telegram-bot-api); files are served under `{url}/file/bot<token>/<file_path>`.
Parameters are read from the query string, a form (url-encoded or multipart, nested values as
JSON, as PTB sends them) or a JSON body. getUpdates long-polls and drops updates below the
offset, and refuses to work while a webhook is set. Only the methods Panjereh calls exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.servers import loopback_socket, serving, url_of

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DOWNLOAD_LIMIT = 20 * 1000 * 1000  # what bots may download through the cloud Bot API
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class _Registered:
    """The secret the bot registered with setWebhook."""


REGISTERED = _Registered()


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class Sent:
    """A message the bot sent."""

    method: str
    chat_id: str
    message_id: int
    text: str | None = None
    reply_to_message_id: int | None = None
    business_connection_id: str | None = None
    filename: str | None = None
    data: bytes | None = None
    # The inline keyboard under it, as button rows of (text, callback_data); edited in place.
    keyboard: list[list[tuple[str, str]]] = field(default_factory=list)


@dataclass
class PressAnswer:
    """An answerCallbackQuery the bot made."""

    callback_query_id: str
    text: str | None


@dataclass
class StoredFile:
    path: str
    data: bytes
    size: int  # what getFile reports (may differ from len(data) to simulate a huge file)


@dataclass
class FakeBot:
    token: str
    id: int
    username: str
    webhook_url: str = ""
    webhook_secret: str | None = None
    allowed_updates: list[str] | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)  # not yet confirmed
    offsets: list[int | None] = field(default_factory=list)  # every getUpdates offset asked
    handed_out: list[int] = field(default_factory=list)  # update ids getUpdates returned
    files: dict[str, StoredFile] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    press_answers: list[PressAnswer] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)  # chats whose user blocked the bot
    # Per method, what its next calls do: fail with an error, or (None) succeed.
    failures: dict[str, deque[ApiError | None]] = field(default_factory=lambda: defaultdict(deque))
    calls: list[str] = field(default_factory=list)
    news: asyncio.Event = field(default_factory=asyncio.Event)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(700_000))
    last_update_id: int = 699_999
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(9_000))

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (an update_id is given if it has none)."""
        update = {"update_id": next(self._update_ids), **update}
        self.last_update_id = update["update_id"]
        self.pending.append(update)
        self.news.set()
        return update

    def restart_update_ids(self, start: int) -> None:
        """Telegram's ids after a week without updates: "chosen randomly", here lower."""
        self._update_ids = itertools.count(start)
        self.last_update_id = start - 1

    def add_file(
        self, data: bytes, *, size: int | None = None, path: str = "", file_id: str = ""
    ) -> str:
        file_id = file_id or f"file-{len(self.files) + 1}"
        self.files[file_id] = StoredFile(
            path or f"documents/{file_id}.bin", data, len(data) if size is None else size
        )
        return file_id

    def fail_next(
        self,
        method: str,
        code: int,
        description: str,
        retry_after: int | None = None,
        *,
        after: int = 0,
    ) -> None:
        """Fail the next call of `method`, or the one after `after` calls that succeed."""
        self.failures[method].extend([None] * after)
        self.failures[method].append(ApiError(code, description, retry_after))


class FakeTelegram:
    def __init__(self, url: str) -> None:
        self.url = url
        self.bots: dict[str, FakeBot] = {}
        self.closing = asyncio.Event()
        self._ids = itertools.count(7_000_000_001)

    def add_bot(self, token: str, username: str = "panjereh_test_bot") -> FakeBot:
        bot = FakeBot(token=token, id=next(self._ids), username=username)
        self.bots[token] = bot
        return bot

    async def deliver(
        self,
        bot: FakeBot,
        update: dict[str, Any] | bytes,
        app_url: str,
        *,
        secret: str | _Registered | None = REGISTERED,
    ) -> httpx.Response:
        """POST `update` (an object, or the exact bytes) to the webhook the bot registered, as
        Telegram does: to its path (on `app_url`, where the app listens in the test) with
        the registered secret."""
        assert bot.webhook_url, "no webhook is set for this bot"
        headers = {"Content-Type": "application/json"}
        token = bot.webhook_secret if isinstance(secret, _Registered) else secret
        if token is not None:
            headers[SECRET_HEADER] = token
        path = urlsplit(bot.webhook_url).path
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(
                f"{app_url}{path}",
                content=update
                if isinstance(update, bytes)
                else json.dumps(update, ensure_ascii=False).encode(),
                headers=headers,
            )

    # The Bot API

    async def _method(self, request: Request) -> Response:
        bot = self.bots.get(request.path_params["token"])
        method = request.path_params["method"]
        if bot is None:
            return _error(ApiError(401, "Unauthorized"))
        bot.calls.append(method)
        handler = getattr(self, f"_{method}", None)
        try:
            if bot.failures[method] and (failure := bot.failures[method].popleft()):
                raise failure
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(bot, await _params(request))
        except ApiError as exc:
            return _error(exc)
        return JSONResponse({"ok": True, "result": result})

    async def _getMe(self, bot: FakeBot, params: dict[str, Any]) -> Any:  # noqa: N802
        return {
            "id": bot.id,
            "is_bot": True,
            "first_name": "Panjereh Test",
            "username": bot.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _setWebhook(self, bot: FakeBot, params: dict[str, Any]) -> Any:  # noqa: N802
        url = params.get("url") or ""
        secret = params.get("secret_token")
        if not url:
            raise ApiError(400, "Bad Request: bad webhook: URL must not be empty")
        if secret is not None and not _SECRET_TOKEN.match(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        bot.webhook_url = url
        bot.webhook_secret = secret
        bot.allowed_updates = _json(params.get("allowed_updates"))
        return True

    async def _deleteWebhook(self, bot: FakeBot, params: dict[str, Any]) -> Any:  # noqa: N802
        bot.webhook_url, bot.webhook_secret = "", None
        if _json(params.get("drop_pending_updates")) is True:
            bot.pending.clear()
        return True

    async def _getUpdates(self, bot: FakeBot, params: dict[str, Any]) -> Any:  # noqa: N802
        if bot.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int(params.get("offset"))
        limit = _int(params.get("limit")) or 100
        timeout = _int(params.get("timeout")) or 0
        bot.offsets.append(offset)
        if offset is not None and offset > bot.last_update_id + 11:
            # The Bot API server's queue refuses an id "in the future" and answers from its
            # head instead, confirming nothing (tdlib's TQueue::get, Client::do_get_updates).
            offset = None
        if offset is not None:  # everything below the offset is confirmed: forgotten
            bot.pending = [u for u in bot.pending if u["update_id"] >= offset]
        if not bot.pending and timeout > 0:
            bot.news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(bot.news.wait(), self.closing.wait()), timeout)
        batch = bot.pending[:limit]
        bot.handed_out.extend(u["update_id"] for u in batch)
        return batch

    async def _getFile(self, bot: FakeBot, params: dict[str, Any]) -> Any:  # noqa: N802
        file_id = params.get("file_id") or ""
        stored = bot.files.get(file_id)
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": stored.size,
            "file_path": stored.path,
        }

    async def _sendMessage(self, bot: FakeBot, params: dict[str, Any]) -> Any:  # noqa: N802
        text = params.get("text") or ""
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._sent(bot, "sendMessage", params, text=text)

    async def _answerCallbackQuery(self, bot: FakeBot, params: dict[str, Any]) -> Any:  # noqa: N802
        query_id = params.get("callback_query_id") or ""
        if not query_id:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired")
        text = params.get("text")
        if text is not None and len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        bot.press_answers.append(PressAnswer(query_id, text))
        return True

    async def _editMessageReplyMarkup(self, bot: FakeBot, params: dict[str, Any]) -> Any:  # noqa: N802
        chat_id, message_id = str(params.get("chat_id") or ""), _int(params.get("message_id"))
        found = [m for m in bot.sent if m.chat_id == chat_id and m.message_id == message_id]
        if not found:
            raise ApiError(400, "Bad Request: message to edit not found")
        keyboard = _keyboard(params.get("reply_markup"))
        if keyboard == found[0].keyboard:
            raise ApiError(400, "Bad Request: message is not modified")
        found[0].keyboard = keyboard
        return {"message_id": message_id, "chat": {"id": int(chat_id), "type": "private"}}

    async def _sendPhoto(self, bot: FakeBot, params: dict[str, Any]) -> Any:  # noqa: N802
        return self._sent(bot, "sendPhoto", params, upload=params.get("photo"))

    async def _sendDocument(self, bot: FakeBot, params: dict[str, Any]) -> Any:  # noqa: N802
        return self._sent(bot, "sendDocument", params, upload=params.get("document"))

    def _sent(
        self,
        bot: FakeBot,
        method: str,
        params: dict[str, Any],
        *,
        text: str | None = None,
        upload: Any = None,
    ) -> dict[str, Any]:
        chat_id = str(params.get("chat_id") or "")
        if not chat_id:
            raise ApiError(400, "Bad Request: chat_id is empty")
        if chat_id in bot.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if method != "sendMessage" and not isinstance(upload, _Upload):
            raise ApiError(400, "Bad Request: there is no file in the request")
        reply = _json(params.get("reply_parameters")) or {}
        sent = Sent(
            method=method,
            chat_id=chat_id,
            message_id=next(bot._message_ids),
            text=text,
            reply_to_message_id=reply.get("message_id"),
            business_connection_id=params.get("business_connection_id"),
            filename=upload.filename if isinstance(upload, _Upload) else None,
            data=upload.data if isinstance(upload, _Upload) else None,
            keyboard=_keyboard(params.get("reply_markup")),
        )
        bot.sent.append(sent)
        return {
            "message_id": sent.message_id,
            "from": {"id": bot.id, "is_bot": True, "first_name": "Panjereh Test"},
            "chat": {"id": int(chat_id), "type": "private"},
            "date": 1_779_437_000,
            **({"text": text} if text is not None else {}),
        }

    async def _file(self, request: Request) -> Response:
        bot = self.bots.get(request.path_params["token"])
        if bot is None:
            return _error(ApiError(401, "Unauthorized"))
        path = request.path_params["path"]
        for stored in bot.files.values():
            if stored.path == path:
                return Response(stored.data, media_type="application/octet-stream")
        return _error(ApiError(404, "Not Found"))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
            ]
        )


@dataclass
class _Upload:
    filename: str
    data: bytes


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.json()
        params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        async with request.form() as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    params[key] = _Upload(value.filename or key, await value.read())
                else:
                    params[key] = value
    return params


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _keyboard(value: Any) -> list[list[tuple[str, str]]]:
    """An inline keyboard's rows; a callback_data over 64 bytes is refused, as Telegram does."""
    markup = _json(value) or {}
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    keyboard = [[(b["text"], b.get("callback_data", "")) for b in row] for row in rows]
    if any(len(data.encode()) > 64 for row in keyboard for _text, data in row):
        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return keyboard


def _int(value: Any) -> int | None:
    parsed = _json(value)
    return parsed if isinstance(parsed, int) else None


def _error(exc: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.retry_after is not None:
        body["parameters"] = {"retry_after": exc.retry_after}
    return JSONResponse(body, status_code=exc.code)


async def _first(*aws: Any) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


@contextlib.asynccontextmanager
async def fake_telegram(*tokens: str) -> AsyncIterator[FakeTelegram]:
    """The fake on a free loopback port, with a bot for each token given."""
    listening = loopback_socket()
    fake = FakeTelegram(url_of(listening))
    for token in tokens:
        fake.add_bot(token)
    async with serving(fake.app(), listening):
        try:
            yield fake
        finally:
            fake.closing.set()  # long polls answer at once, so the server can stop

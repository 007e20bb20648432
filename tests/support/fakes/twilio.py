"""A local stand-in for Twilio's REST API (2010-04-01), speaking its wire format: form posts
with HTTP basic auth, JSON resources, errors as `{code, message, more_info, status}`, media
behind basic auth that redirects to a media store. Reached through the real twilio SDK by
pointing the inbox's `api_base_url` at it.

It can also play Twilio's side of the webhooks: sign a form post for a URL and post status
callbacks to the `StatusCallback` a message was created with.

Voice: Calls.json creates a call (kept in `placed`, its form with its Sid), recordings
are served under /Recordings/{sid}.mp3 behind basic auth, as Twilio serves them, and
IncomingPhoneNumbers.json lists the account's `numbers` (filtered by `PhoneNumber`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import math
import secrets
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.support.servers import loopback_socket, serving, url_of

ACCOUNT_SID = "AC" + "5ef8732a3c49700934481addd5ce1659"
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
NUMBER = "+14155550143"  # the account's phone number
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def segments(body: str) -> int:
    """How many SMS parts Twilio splits a body into (GSM-7: 160/153, else UCS-2: 70/67)."""
    single, part = (160, 153) if set(body) <= _GSM7 else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / part)


def _channel(address: str) -> str:
    """`whatsapp` for `whatsapp:+1…`, "" for a plain number: Twilio sends on that channel."""
    channel, colon, _ = address.partition(":")
    return channel if colon else ""


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature for a form post to `url`, as Twilio computes it."""
    return str(RequestValidator(token).compute_signature(url, params))


@dataclass(frozen=True)
class TwilioError:
    status: int
    code: int
    message: str

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclass
class Call:
    method: str
    path: str
    form: dict[str, str]
    authorized: bool


@dataclass
class FakeTwilio:
    url: str = ""
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    # Popped per Messages.json create; the message is created when this is empty.
    errors: deque[TwilioError] = field(default_factory=deque)
    calls: list[Call] = field(default_factory=list)
    created: list[dict[str, str]] = field(default_factory=list)  # the forms of created messages
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # media sid → file
    # Set, the fake sends a `sent` status callback here (the app's real address) before it
    # answers the create request: the report wins the race with the worker's own record.
    early_callbacks_to: str | None = None
    placed: list[dict[str, str]] = field(default_factory=list)  # forms of created calls
    recordings: dict[str, bytes] = field(default_factory=dict)  # recording sid → MP3
    numbers: list[str] = field(default_factory=lambda: [NUMBER])  # the account's own

    def recording_url(self, data: bytes) -> str:
        """A recording Twilio keeps, as its RecordingUrl names it (no extension)."""
        recording_sid = sid("RE")
        self.recordings[recording_sid] = data
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}"

    def media_url(self, message_sid: str, content_type: str, data: bytes) -> str:
        media_sid = sid("ME")
        self.media[media_sid] = (content_type, data)
        return (
            f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}"
            f"/Media/{media_sid}"
        )

    def _authorized(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (
            secrets.compare_digest(f"{user}:{password}", f"{self.account_sid}:{self.auth_token}")
            and request.path_params.get("sid", self.account_sid) == self.account_sid
        )

    async def _record(self, request: Request) -> Call:
        form = {k: str(v) for k, v in (await request.form()).items()}
        call = Call(request.method, request.url.path, form, self._authorized(request))
        self.calls.append(call)
        return call

    @staticmethod
    def _error(error: TwilioError) -> JSONResponse:
        headers = {"Retry-After": "0"} if error.status == 429 else None
        return JSONResponse(error.body(), status_code=error.status, headers=headers)

    _UNAUTHORIZED = TwilioError(401, 20003, "Authenticate")

    async def _account(self, request: Request) -> Response:
        call = await self._record(request)
        if not call.authorized:
            return self._error(self._UNAUTHORIZED)
        return JSONResponse(
            {
                "sid": self.account_sid,
                "friendly_name": "Fake account",
                "status": "active",
                "type": "Full",
                "date_created": format_datetime(datetime.now(UTC), usegmt=True),
                "uri": f"/2010-04-01/Accounts/{self.account_sid}.json",
            }
        )

    async def _numbers(self, request: Request) -> Response:
        call = await self._record(request)
        if not call.authorized:
            return self._error(self._UNAUTHORIZED)
        wanted = request.query_params.get("PhoneNumber")
        uri = f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers.json"
        found = [
            {
                "sid": "PN" + secrets.token_hex(16),
                "account_sid": self.account_sid,
                "phone_number": number,
                "friendly_name": number,
                "voice_url": "",
            }
            for number in self.numbers
            if wanted is None or number == wanted
        ]
        return JSONResponse(
            {
                "incoming_phone_numbers": found,
                "page": 0,
                "page_size": 50,
                "start": 0,
                "end": max(0, len(found) - 1),
                "uri": uri,
                "first_page_uri": uri,
                "next_page_uri": None,
                "previous_page_uri": None,
            }
        )

    async def _create_message(self, request: Request) -> Response:
        call = await self._record(request)
        if not call.authorized:
            return self._error(self._UNAUTHORIZED)
        form = call.form
        if self.errors:
            return self._error(self.errors.popleft())
        if not form.get("To"):
            return self._error(TwilioError(400, 21604, "A 'To' phone number is required."))
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return self._error(TwilioError(400, 21603, "A 'From' phone number is required."))
        if "From" in form and _channel(form["From"]) != _channel(form["To"]):
            return self._error(
                TwilioError(
                    400,
                    21910,
                    "Invalid From and To pair. From and To should be of the same channel",
                )
            )
        body = form.get("Body", "")
        if len(body) > 1600:
            return self._error(TwilioError(400, 21617, "The concatenated message body exceeds"))
        message_sid = sid("SM")
        self.created.append({**form, "Sid": message_sid})
        if self.early_callbacks_to and form.get("StatusCallback"):
            await self.status_callback(message_sid, "sent", via=self.early_callbacks_to)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return JSONResponse(
            {
                "sid": message_sid,
                "account_sid": self.account_sid,
                "to": form["To"],
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": body,
                "status": "accepted" if form.get("MessagingServiceSid") else "queued",
                "num_segments": str(segments(body)),
                "num_media": "0",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "price": None,
                "error_code": None,
                "error_message": None,
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}.json",
                "subresource_uris": {},
            },
            status_code=201,
        )

    async def _create_call(self, request: Request) -> Response:
        call = await self._record(request)
        if not call.authorized:
            return self._error(self._UNAUTHORIZED)
        form = call.form
        if self.errors:
            return self._error(self.errors.popleft())
        if not form.get("To"):
            return self._error(TwilioError(400, 21201, "No 'To' number is specified"))
        if not form.get("From"):
            return self._error(TwilioError(400, 21213, "No 'From' number is specified"))
        if not (form.get("Url") or form.get("Twiml")):
            return self._error(TwilioError(400, 21205, "Url parameter is required."))
        call_sid = sid("CA")
        self.placed.append({**form, "Sid": call_sid})
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return JSONResponse(
            {
                "sid": call_sid,
                "account_sid": self.account_sid,
                "to": form["To"],
                "from": form["From"],
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "parent_call_sid": None,
                "date_created": now,
                "date_updated": now,
                "start_time": None,
                "end_time": None,
                "duration": None,
                "price": None,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call_sid}.json",
                "subresource_uris": {},
            },
            status_code=201,
        )

    async def _recording(self, request: Request) -> Response:
        call = await self._record(request)
        if not call.authorized:
            return self._error(self._UNAUTHORIZED)
        data = self.recordings.get(request.path_params["recording_sid"])
        if data is None:
            return self._error(TwilioError(404, 20404, "The requested resource was not found"))
        return Response(data, media_type="audio/mpeg")

    async def _media(self, request: Request) -> Response:
        call = await self._record(request)
        if not call.authorized:
            return self._error(self._UNAUTHORIZED)
        media_sid = request.path_params["media_sid"]
        if media_sid not in self.media:
            return self._error(TwilioError(404, 20404, "The requested resource was not found"))
        # Twilio answers with a short-lived link into its media store.
        return RedirectResponse(f"{self.url}/media-store/{media_sid}", status_code=307)

    async def _media_store(self, request: Request) -> Response:
        content_type, data = self.media[request.path_params["media_sid"]]
        return Response(data, media_type=content_type)

    def app(self) -> Starlette:
        account = "/2010-04-01/Accounts/{sid}"
        return Starlette(
            routes=[
                Route(account + ".json", self._account, methods=["GET"]),
                Route(account + "/Messages.json", self._create_message, methods=["POST"]),
                Route(
                    account + "/Messages/{message_sid}/Media/{media_sid}",
                    self._media,
                    methods=["GET"],
                ),
                Route("/media-store/{media_sid}", self._media_store, methods=["GET"]),
                Route(account + "/Calls.json", self._create_call, methods=["POST"]),
                Route(account + "/IncomingPhoneNumbers.json", self._numbers, methods=["GET"]),
                Route(
                    account + "/Recordings/{recording_sid}.mp3", self._recording, methods=["GET"]
                ),
            ]
        )

    async def status_callback(
        self, message_sid: str, status: str, *, via: str, **extra: str
    ) -> httpx.Response:
        """Post Twilio's status report on a created message to its StatusCallback, signed
        for that (public) URL but sent to `via`, the address the app really listens on."""
        (form,) = [m for m in self.created if m["Sid"] == message_sid]
        params = {
            "MessageSid": message_sid,
            "SmsSid": message_sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": self.account_sid,
            "To": form["To"],
            "ApiVersion": "2010-04-01",
            **({"From": form["From"]} if "From" in form else {}),
            **extra,
        }
        return await post_signed(via, form["StatusCallback"], params, self.auth_token)


async def post_signed(
    via: str, public_url: str, params: dict[str, str], token: str = AUTH_TOKEN
) -> httpx.Response:
    """A form post as Twilio sends it: signed for `public_url`, delivered to the same path
    and query at `via` (the server behind the proxy)."""
    parts = urlsplit(public_url)
    target = via.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            target, data=params, headers={"X-Twilio-Signature": sign(public_url, params, token)}
        )


@contextlib.asynccontextmanager
async def running_twilio() -> AsyncIterator[FakeTwilio]:
    """The fake on a free loopback port (its `url`), for the length of the block."""
    fake = FakeTwilio()
    listening = loopback_socket()
    fake.url = url_of(listening)
    async with serving(fake.app(), listening):
        yield fake

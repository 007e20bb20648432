"""The `sms` channel: a Twilio number (or Messaging Service) through the twilio SDK.

Inbound: Twilio posts each SMS/MMS (or WhatsApp message) to /webhooks/twilio/{inbox}/sms and
each status report on our replies to /webhooks/twilio/{inbox}/status, both signed with
X-Twilio-Signature (HMAC of the URL Twilio called and the form, keyed with the account's auth
token).
Outbound: Messages.json create, with a status callback that carries our message id; a reply
to a WhatsApp sender goes out over WhatsApp.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.rest import Client

from connectors.base import (
    Acknowledgement,
    AddressKind,
    Attachment,
    InboundItem,
    InboundMessage,
    OutboundMessage,
    PayloadError,
    PermanentSendError,
    RawRequest,
    RecipientUnreachable,
    SendError,
    SendResult,
    SetupError,
    TransientSendError,
    VerificationError,
)
from connectors.sms.config import SmsConfig
from connectors.sms.errors import (
    AUTH_FAILED_CODE,
    OPT_OUT_CODE,
    TOO_MANY_REQUESTS_CODE,
    error_reason,
    opt_out_reason,
)
from connectors.sms.parse import parse_incoming, parse_status
from connectors.sms.senders import WHATSAPP, channel_of, unsupported_channel
from connectors.sms.transport import MediaRefused, TwilioHttp, download

log = logging.getLogger(__name__)

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


class _MultiParams(dict[str, list[str]]):
    """Form fields with every value, as the SDK's validator reads them (`getlist`): Twilio
    signs each value of a repeated field."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


def _signed_params(req: RawRequest) -> _MultiParams | str:
    if req.form is not None:
        params = _MultiParams()
        for name, value in parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True):
            params.setdefault(name, []).append(value)
        return params
    if "bodySHA256" in parse_qs(urlsplit(req.url).query):
        # A JSON webhook: the signed URL carries the body's SHA-256, checked by the validator.
        return req.body.decode("utf-8", "replace")
    return _MultiParams()  # nothing Twilio signs but the URL (and parse refuses it)


def verify_signature(req: RawRequest, auth_token: str) -> None:
    """VerificationError unless Twilio signed `req` (at the URL it called) with `auth_token`:
    every Twilio webhook, SMS and voice alike."""
    signature = req.headers.get("x-twilio-signature")
    if not signature:
        raise VerificationError("X-Twilio-Signature is missing")
    algorithm = get_signature_algorithm(req.headers.get("x-twilio-webhooks-signature-settings"))
    validator = RequestValidator(auth_token)
    if not validator.validate(req.url, _signed_params(req), signature, algorithm):
        raise VerificationError(
            f"X-Twilio-Signature does not match a request to {req.url} signed with this "
            "inbox's auth token (is PANJEREH_PUBLIC_URL the address Twilio calls?)"
        )


class TwilioSmsConnector:
    def __init__(
        self,
        config: SmsConfig,
        *,
        inbox_id: int,
        http: httpx.AsyncClient,
        public_url: str,
        max_attachment_bytes: int,
    ) -> None:
        self._config = config
        self._inbox_id = inbox_id
        self._http = http
        self._public_url = public_url.rstrip("/")
        self._limit = max_attachment_bytes
        self._api_base = httpx.URL(str(config.api_base_url))

    # Inbound

    def verify(self, req: RawRequest) -> None:
        verify_signature(req, self._config.auth_token)

    def parse(self, req: RawRequest) -> list[InboundItem]:
        now = datetime.now(UTC)
        if req.endpoint == "sms":
            return parse_incoming(req.form, now)
        if req.endpoint == "status":
            return parse_status(req.form, req.url, now)
        raise PayloadError(f"unknown Twilio endpoint {req.endpoint!r}")

    async def fetch(self, items: list[InboundItem]) -> list[InboundItem]:
        return list(await asyncio.gather(*(self._fetch_one(item) for item in items)))

    async def _fetch_one(self, item: InboundItem) -> InboundItem:
        if not isinstance(item, InboundMessage) or not item.attachments:
            return item
        attachments = await asyncio.gather(*(self._download(a) for a in item.attachments))
        return replace(item, attachments=tuple(attachments))

    async def _download(self, attachment: Attachment) -> Attachment:
        if attachment.source is None or attachment.data is not None:
            return attachment
        try:
            data = await download(
                self._http,
                attachment.source,
                api_base=self._api_base,
                auth=(self._config.account_sid, self._config.auth_token),
                limit=self._limit,
            )
        except MediaRefused as exc:
            note = f"not downloaded: {exc}"
        except httpx.HTTPError as exc:
            note = f"not downloaded: Twilio could not be reached ({type(exc).__name__})"
        else:
            return replace(attachment, data=data, size=len(data))
        log.warning("inbox %d: MMS media %s %s", self._inbox_id, attachment.source, note)
        return replace(attachment, note=note)

    def acknowledgement(self, req: RawRequest) -> Acknowledgement:
        # Empty TwiML: received, and no automatic answer.
        return Acknowledgement(media_type="text/xml", body=EMPTY_TWIML)

    # Outbound

    def _client(self) -> tuple[Client, TwilioHttp]:
        transport = TwilioHttp(self._http, self._api_base)
        sid = self._config.account_sid
        client = Client(sid, self._config.auth_token, account_sid=sid, http_client=transport)
        return client, transport

    def status_callback(self, message_id: int) -> str:
        """Where Twilio reports on a reply; our id in it finds the message even before the
        worker recorded Twilio's SID."""
        return f"{self._public_url}/webhooks/twilio/{self._inbox_id}/status?message_id={message_id}"

    async def send(self, msg: OutboundMessage) -> SendResult:
        if msg.to.kind != AddressKind.phone:
            raise PermanentSendError(f"an SMS inbox cannot reply to a {msg.to.kind} address")
        channel = channel_of(msg.to)
        if channel not in (None, WHATSAPP):
            raise PermanentSendError(unsupported_channel(channel))
        if msg.attachments:
            raise PermanentSendError("files cannot be sent by SMS from here; send a link instead")
        client, transport = self._client()
        # A reply leaves on the channel it answers: Twilio takes the channel from the prefix
        # of `To` (`whatsapp:+…`), and a number sends on it as `whatsapp:` + that number. A
        # Messaging Service picks its own sender for the channel.
        number = self._config.from_number or ""
        sender: dict[str, str] = (
            {"messaging_service_sid": self._config.messaging_service_sid}
            if self._config.messaging_service_sid
            else {"from_": f"{channel}:{number}" if channel else number}
        )
        try:
            # Long bodies are split by Twilio (up to 1,600 characters); it says how many parts.
            created = await client.messages.create_async(
                to=msg.to.value,
                body=msg.text,
                status_callback=self.status_callback(msg.id),
                **sender,
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _send_error(exc, transport.retry_after) from exc
        except httpx.HTTPError as exc:
            raise TransientSendError(f"could not reach Twilio: {type(exc).__name__}") from exc
        metadata: dict[str, object] = {}
        segments = _segments(created.num_segments)
        if segments is not None:
            metadata["num_segments"] = segments
        return SendResult(external_id=created.sid, metadata=metadata)

    async def aclose(self) -> None:
        return None  # the HTTP client is shared and closed by its owner

    # Setup

    async def check(self) -> None:
        client, _ = self._client()
        await check_account(client, self._config.account_sid, str(self._config.api_base_url))

    async def activate(self, webhook_url: str | None) -> None:
        # The number's (or Messaging Service's) incoming-message URL is set by the admin in
        # Twilio's console (README); overwriting an account's routing is not ours to do.
        return None

    async def deactivate(self) -> None:
        return None


async def check_account(client: Client, account_sid: str, api_base_url: str) -> None:
    """SetupError, in words an admin can act on, unless Twilio accepts the credentials
    `client` holds and the account is active (every channel on a Twilio account)."""
    try:
        account = await client.api.v2010.accounts(account_sid).fetch_async()
    except (TwilioRestException, TwilioServiceException) as exc:
        raise setup_error(exc, "Twilio could not confirm the account") from exc
    except httpx.HTTPError as exc:
        host = urlsplit(api_base_url).netloc
        raise SetupError(
            f"could not reach Twilio at {host}: check api_base_url (empty for Twilio's own), "
            "and that this server can reach it, or try again in a minute"
        ) from exc
    if account.status not in (None, "active"):
        raise SetupError(f"the Twilio account is {account.status}, not active")


def setup_error(exc: TwilioRestException | TwilioServiceException, doing: str) -> SetupError:
    """Twilio's refusal while checking settings: wrong credentials, or its own reason."""
    if exc.status == 401 or exc.code == AUTH_FAILED_CODE:
        return SetupError(
            "Twilio refused these credentials: check the Account SID and Auth Token "
            "(Twilio console → Account info)"
        )
    return SetupError(f"{doing}: {_readable(exc)}")


def _segments(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _readable(exc: TwilioRestException | TwilioServiceException) -> str:
    own = str((exc.detail or exc.title) if isinstance(exc, TwilioServiceException) else exc.msg)
    # The SDK puts its own words first ("Unable to create record: "); Twilio's follow.
    if own.startswith("Unable to "):
        own = own.partition(": ")[2]
    return error_reason(exc.code if exc.code != exc.status else None, own)


def _send_error(
    exc: TwilioRestException | TwilioServiceException, retry_after: float | None
) -> SendError:
    status, code = exc.status, exc.code
    if status == 401 or code == AUTH_FAILED_CODE:
        return PermanentSendError(error_reason(AUTH_FAILED_CODE))
    if status == 429 or code == TOO_MANY_REQUESTS_CODE:
        return TransientSendError(error_reason(TOO_MANY_REQUESTS_CODE), retry_after=retry_after)
    if status >= 500:
        return TransientSendError(f"Twilio answered {status}: {_readable(exc)}")
    if code == OPT_OUT_CODE:
        return RecipientUnreachable(opt_out_reason("STOP"))
    return PermanentSendError(_readable(exc))

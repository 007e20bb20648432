"""The `api` channel: custom integrations (a shop, a CRM, a phone system).

Inbound: the integration POSTs JSON with its own message id as the idempotency key.
Outbound: replies are POSTed as JSON to the inbox's `outbound_url`, signed with
`X-Panjereh-Signature: sha256=<hex HMAC-SHA256 of the body>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Annotated

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from connectors.addresses import (
    EMAIL_PATTERN,
    PHONE_PATTERN,
    InvalidAddress,
    normalize_email,
    normalize_phone,
)
from connectors.api.config import ApiConfig
from connectors.base import (
    Address,
    AddressKind,
    InboundMessage,
    OutboundMessage,
    Party,
    PayloadError,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from connectors.numbers import Count, read_digits

SIGNATURE_HEADER = "X-Panjereh-Signature"


class IncomingSender(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=300)
    # Documented, not enforced here: to_inbound refuses them with a sentence.
    email: str | None = Field(
        default=None, max_length=320, json_schema_extra={"pattern": EMAIL_PATTERN}
    )
    phone: str | None = Field(
        default=None, max_length=40, json_schema_extra={"pattern": PHONE_PATTERN}
    )


class IncomingSurveyAnswer(BaseModel):
    """The customer's answer to a survey the inbox sent (its `message.payload.survey`)."""

    model_config = ConfigDict(extra="forbid")

    survey_id: Count = Field(ge=1, le=2**31 - 1)
    score: Count = Field(ge=0, le=10)
    comment: str | None = Field(default=None, max_length=2000)


class IncomingMessage(BaseModel):
    """`POST /api/v1/inboxes/{id}/incoming`."""

    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(min_length=1, max_length=500)
    sender: IncomingSender
    text: str = Field(max_length=65_536)
    subject: str | None = Field(default=None, max_length=1000)
    thread_key: str | None = Field(default=None, max_length=500)
    in_reply_to: str | None = Field(default=None, max_length=500)
    sent_at: Annotated[datetime, BeforeValidator(read_digits)] | None = None
    # With it, the request answers a survey and is not stored as a message (`text` unused).
    survey_answer: IncomingSurveyAnswer | None = None


def sender_address(inbox_id: int, sender_id: str) -> Address:
    """Integration ids are only unique inside one integration, so they are scoped by inbox."""
    return Address(AddressKind.api, f"{inbox_id}:{sender_id}")


def to_inbound(payload: IncomingMessage, *, inbox_id: int, raw: bytes) -> InboundMessage:
    """The message, keeping `raw` (the request body as the integration sent it)."""
    also: list[Address] = []
    for field, kind, normalize in (
        ("email", AddressKind.email, normalize_email),
        ("phone", AddressKind.phone, normalize_phone),
    ):
        given = getattr(payload.sender, field)
        if not given:
            continue
        try:
            also.append(Address(kind, normalize(given)))
        except InvalidAddress as exc:
            raise PayloadError(f"sender.{field}: {exc}") from exc
    sent_at = payload.sent_at or datetime.now(UTC)
    if sent_at.tzinfo is None:
        raise PayloadError("sent_at: must include a timezone offset")
    try:
        sent_at = sent_at.astimezone(UTC)
    except OverflowError as exc:
        raise PayloadError("sent_at: out of range") from exc
    return InboundMessage(
        external_id=payload.external_id,
        sender=Party(
            address=sender_address(inbox_id, payload.sender.id),
            name=payload.sender.name,
            also_known_as=tuple(also),
            identifies=True,  # the inbox's own integration, holding its key
        ),
        sent_at=sent_at,
        text=payload.text,
        subject=payload.subject,
        thread_key=payload.thread_key,
        in_reply_to=payload.in_reply_to,
        raw=raw,
    )


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ApiConnector:
    def __init__(self, config: ApiConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http

    async def send(self, msg: OutboundMessage) -> SendResult:
        if self._config.outbound_url is None:
            raise PermanentSendError("this API inbox has no outbound_url to deliver replies to")
        _inbox, _, recipient = msg.to.value.partition(":")
        body = json.dumps(
            {
                "event": "message.created",
                "message": {
                    "id": msg.id,
                    "conversation_id": msg.conversation_id,
                    "recipient": {"id": recipient},
                    "text": msg.text,
                    "html": msg.html,
                    "subject": msg.subject,
                    "thread_key": msg.thread_key,
                    "in_reply_to": msg.in_reply_to,
                    "sender_name": msg.sender_name,
                    # Structured content beside the text: {"survey": {id, kind, min, max}}.
                    "payload": dict(msg.payload) or None,
                    "attachments": [
                        {
                            "filename": a.filename,
                            "content_type": a.content_type,
                            "size": len(a.data),
                            "data_base64": base64.b64encode(a.data).decode(),
                        }
                        for a in msg.attachments
                    ],
                },
            },
            ensure_ascii=False,
        ).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._config.hmac_secret, body),
            # Receivers may deduplicate retries on this.
            "X-Panjereh-Delivery": str(msg.id),
        }
        try:
            response = await self._http.post(
                str(self._config.outbound_url), content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise TransientSendError(
                f"could not reach {self._config.outbound_url}: {exc!r}"
            ) from exc
        if response.is_success:
            # The receiver's own ids are not ours to index: replies are matched by our id,
            # sent as `message.id` and `X-Panjereh-Delivery`.
            return SendResult(external_id=None)
        reason = f"receiver answered {response.status_code}: {response.text[:300]}"
        if response.status_code == 429:
            raise TransientSendError(reason, retry_after=_retry_after(response))
        if response.status_code in (408, 425) or response.status_code >= 500:
            raise TransientSendError(reason)
        raise PermanentSendError(reason)

    async def aclose(self) -> None:
        return None  # the HTTP client is shared and closed by its owner


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None

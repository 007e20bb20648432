"""Inbound endpoints that are not a provider's webhook: the `api` channel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status
from pydantic import BaseModel, Field

from app.crypto import token_digest
from app.deps import ContextDep
from app.errors import Invalid
from app.fields import DbId
from app.inbound.ingest import InboxRef
from app.inboxes.models import InboxKind
from app.inboxes.service import authenticate_api_inbox
from app.surveys import service as surveys
from connectors.api.connector import IncomingMessage, to_inbound
from connectors.base import PayloadError

router = APIRouter(tags=["inbound"])


class IngestOut(BaseModel):
    message_id: int | None = Field(
        description="the stored message; null for a survey answer sent without words"
    )
    conversation_id: int
    duplicate: bool
    survey_id: int | None = None  # the survey a `survey_answer` answered


async def _keyed_inbox(
    inbox_id: DbId, ctx: ContextDep, x_api_key: Annotated[str | None, Header()] = None
) -> int:
    """The inbox whose `X-Api-Key` came with the request. A dependency, so it is checked
    before the body is validated: without the key, a caller learns nothing about it."""
    digest = token_digest(x_api_key or "")
    if not ctx.verified_keys.fresh(inbox_id, digest):
        async with ctx.db.read() as session:
            await authenticate_api_inbox(session, inbox_id, x_api_key)
        ctx.verified_keys.remember(inbox_id, digest)
    return inbox_id


@router.post(
    "/api/v1/inboxes/{inbox_id}/incoming",
    status_code=status.HTTP_201_CREATED,
    response_model=IngestOut,
    responses={200: {"description": "a repeat of a stored external_id; nothing was stored"}},
)
async def incoming(
    inbox_id: Annotated[int, Depends(_keyed_inbox)],
    body: IncomingMessage,
    request: Request,
    ctx: ContextDep,
) -> Response:
    """A message from a custom integration, authenticated by the inbox's `X-Api-Key`.
    Answers after the message is stored; a repeated `external_id` answers 200 and stores nothing."""
    try:
        # (FastAPI has read the body already: this is its cached copy.)
        message = to_inbound(body, inbox_id=inbox_id, raw=await request.body())
    except PayloadError as exc:
        raise Invalid(str(exc), code="invalid_payload") from exc
    if body.survey_answer is not None:
        given = body.survey_answer
        async with ctx.db.write() as session:
            survey = await surveys.survey_from(
                session, given.survey_id, inbox_id=inbox_id, sender=message.sender.address
            )
            done = await surveys.answer(
                session,
                survey,
                score=given.score,
                comment=given.comment,
                external_id=body.external_id,
            )
        # Words beside the score are the customer's message, stored as any other.
        said = None
        if message.text.strip() or message.attachments:
            said = await ctx.inbound.submit(InboxRef(inbox_id, InboxKind.api), message)
        new = done.recorded or (said is not None and not said.duplicate)
        answer = IngestOut(
            message_id=said.message_id if said else None,
            conversation_id=said.conversation_id if said else survey.conversation_id,
            duplicate=not new,
            survey_id=survey.id,
        )
        return Response(
            answer.model_dump_json(),
            status_code=status.HTTP_201_CREATED if new else status.HTTP_200_OK,
            media_type="application/json",
        )
    result = await ctx.inbound.submit(InboxRef(inbox_id, InboxKind.api), message)
    answer = IngestOut(
        message_id=result.message_id,
        conversation_id=result.conversation_id,
        duplicate=result.duplicate,
    )
    # Serialized here, once: this is the hot path, and FastAPI would validate the model
    # against itself and encode it again.
    return Response(
        answer.model_dump_json(),
        status_code=status.HTTP_200_OK if result.duplicate else status.HTTP_201_CREATED,
        media_type="application/json",
    )

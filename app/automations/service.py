"""API tokens, customer events on a contact's timeline, and the rules' own rows."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, Team
from app.automations.models import ApiToken, ContactEvent, Rule, RuleRun
from app.automations.schemas import (
    ContactEventOut,
    CustomerEventIn,
    IdentityRef,
    RuleIn,
    RuleOptions,
    RuleOut,
    RuleUpdate,
)
from app.contacts.models import Contact
from app.contacts.service import resolve_contact
from app.crypto import new_token, token_digest
from app.db import Base, utcnow
from app.errors import Invalid, NotFound, Unauthorized
from app.events import log as event_log
from app.events.types import ContactEventRecorded
from app.inboxes.models import Inbox, InboxKind
from app.webhooks.models import WebhookSubscription
from connectors.addresses import InvalidAddress, normalize_email, normalize_phone
from connectors.base import Address, AddressKind, Party

TOKEN_PREFIX = "pjt_"  # noqa: S105 - not a secret: tells an API token from an agent's session token at a glance


async def create_token(session: AsyncSession, agent: Agent, name: str) -> tuple[ApiToken, str]:
    token = TOKEN_PREFIX + new_token()
    row = ApiToken(name=name, token_hash=token_digest(token), created_by=agent.id)
    session.add(row)
    await session.flush()
    return row, token


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list((await session.scalars(select(ApiToken).order_by(ApiToken.id))).all())


async def delete_token(session: AsyncSession, token_id: int) -> None:
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("API token not found")
    await session.delete(row)


async def token_for(session: AsyncSession, token: str) -> ApiToken:
    """The API token presented, noting its use; 401 if there is none such."""
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is None:
        raise Unauthorized("invalid API token", code="invalid_token")
    row.last_used_at = utcnow()
    return row


def _address(ref: IdentityRef) -> Address:
    try:
        if ref.channel == AddressKind.email:
            return Address(ref.channel, normalize_email(ref.address))
        if ref.channel == AddressKind.phone:
            return Address(ref.channel, normalize_phone(ref.address))
    except InvalidAddress as exc:
        raise Invalid(f"identity.address: {exc}", code="invalid_address") from exc
    return Address(ref.channel, ref.address.strip())


async def contact_by_identity(session: AsyncSession, ref: IdentityRef) -> int:
    """The contact with this address, created if the customer is new to us (a shop's
    `signed_up` comes before any message)."""
    address = _address(ref)
    if address.kind == AddressKind.api:
        await _check_api_identity(session, address.value)
    return (await resolve_contact(session, Party(address))).contact_id


async def _check_api_identity(session: AsyncSession, value: str) -> None:
    """An `api` identity is `<inbox id>:<sender id>` of an api inbox: anything else would
    make a contact no message can ever reach."""
    inbox_id, _, sender_id = value.partition(":")
    inbox = (
        await session.get(Inbox, int(inbox_id))
        if inbox_id.isdigit() and len(inbox_id) < 10
        else None
    )
    if inbox is None or inbox.kind != InboxKind.api or not sender_id:
        raise Invalid(
            "identity.address: an api identity is '<inbox id>:<sender id>' of an api inbox",
            code="invalid_address",
        )


async def record_customer_event(
    session: AsyncSession, contact_id: int, body: CustomerEventIn, token: ApiToken
) -> ContactEvent:
    """On the contact's timeline whether or not a rule starts on it; the rules read it from
    the log (`contact.event`)."""
    if await session.get(Contact, contact_id) is None:
        raise NotFound("contact not found")
    now = utcnow()
    row = ContactEvent(
        contact_id=contact_id,
        name=body.name,
        payload=body.payload,
        token_id=token.id,
        occurred_at=body.occurred_at or now,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    # Of no inbox, like the contact: rules, outgoing webhooks and administrators hear of it.
    event_log.record(
        session,
        ContactEventRecorded(event=ContactEventOut.model_validate(row)),
        event_log.Scope(),
    )
    return row


async def contact_events(
    session: AsyncSession, contact_id: int, *, before: int | None, limit: int
) -> tuple[list[ContactEvent], bool]:
    """Newest first."""
    stmt = select(ContactEvent).where(ContactEvent.contact_id == contact_id)
    if before is not None:
        stmt = stmt.where(ContactEvent.id < before)
    rows = list(await session.scalars(stmt.order_by(ContactEvent.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def rule_out(rule: Rule) -> RuleOut:
    return RuleOut.model_validate(
        {
            "id": rule.id,
            "name": rule.name,
            "enabled": rule.enabled,
            "position": rule.position,
            "inbox_id": rule.inbox_id,
            "event": rule.event,
            "options": RuleOptions.model_validate(rule.options),
            "conditions": rule.conditions,
            "actions": rule.actions,
            "created_at": rule.created_at,
            "updated_at": rule.updated_at,
        }
    )


async def list_rules(session: AsyncSession) -> list[Rule]:
    return list((await session.scalars(select(Rule).order_by(Rule.position, Rule.id))).all())


async def get_rule(session: AsyncSession, rule_id: int) -> Rule:
    rule = await session.get(Rule, rule_id)
    if rule is None:
        raise NotFound("rule not found")
    return rule


# What an action may name, checked when the rule is saved (not when it first runs).
_NAMED: tuple[tuple[str, type[Base], Callable[[], Invalid]], ...] = (
    ("inbox_id", Inbox, lambda: Invalid("actions: no inbox with that id", code="invalid_inbox")),
    (
        "webhook_id",
        WebhookSubscription,
        lambda: Invalid("actions: no webhook with that id", code="invalid_webhook"),
    ),
    ("agent_id", Agent, lambda: Invalid("actions: no agent with that id", code="unknown_agent")),
    ("team_id", Team, lambda: Invalid("actions: no team with that id", code="invalid_team")),
)


async def _apply(session: AsyncSession, rule: Rule, body: RuleIn) -> None:
    if body.inbox_id is not None and await session.get(Inbox, body.inbox_id) is None:
        raise Invalid("inbox_id: no inbox with that id", code="invalid_inbox")
    for action in body.actions:
        for attribute, model, refusal in _NAMED:
            named = getattr(action, attribute, None)
            if named is not None and await session.get(model, named) is None:
                raise refusal()
    rule.name = body.name
    rule.enabled = body.enabled
    rule.inbox_id = body.inbox_id
    rule.event = body.event
    rule.options = body.options.model_dump(exclude_none=True)
    rule.conditions = [c.model_dump(exclude_none=True) for c in body.conditions]
    rule.actions = [a.model_dump(exclude_none=True) for a in body.actions]
    rule.updated_at = utcnow()


async def create_rule(session: AsyncSession, body: RuleIn) -> Rule:
    """A new rule, tried after every existing one."""
    last = await session.scalar(select(func.max(Rule.position)))
    rule = Rule(position=(last or 0) + 1, created_at=utcnow())
    await _apply(session, rule, body)
    session.add(rule)
    await session.flush()
    return rule


async def update_rule(session: AsyncSession, rule: Rule, body: RuleUpdate) -> Rule:
    if body.rule is not None:
        await _apply(session, rule, body.rule)
    if body.enabled is not None:
        rule.enabled = body.enabled
    if body.position is not None and body.position != rule.position:
        # Make room: the rules at or after the new place move down one.
        await session.execute(
            update(Rule)
            .where(Rule.position >= body.position, Rule.id != rule.id)
            .values(position=Rule.position + 1)
        )
        rule.position = body.position
    rule.updated_at = utcnow()
    await session.flush()
    return rule


async def list_runs(session: AsyncSession, rule_id: int, *, limit: int) -> list[RuleRun]:
    return list(
        (
            await session.scalars(
                select(RuleRun)
                .where(RuleRun.rule_id == rule_id)
                .order_by(RuleRun.id.desc())
                .limit(limit)
            )
        ).all()
    )

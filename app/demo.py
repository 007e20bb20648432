"""Try it in a minute: on the embedded default (SQLite, development), a website chat inbox
and a callback inbox are created on first start, and `GET /demo` is a small shop page that
embeds the widget with both, so one tab is the customer and another the console.

Never in production (nor in tests, whose environment is `test`), unless asked for:
`panjereh demo` creates the same inboxes in any database, and a few sample conversations
so that the console has something to show."""

from __future__ import annotations

import html
import logging

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Context
from app.deps import ContextDep
from app.errors import NotFound
from app.inbound.ingest import InboxRef, ingest_many
from app.inboxes import service as inboxes
from app.inboxes.models import Inbox, InboxKind
from connectors.api.config import ApiConfig
from connectors.api.connector import IncomingMessage, IncomingSender, to_inbound
from connectors.callback.config import CallbackConfig
from connectors.config import ChannelConfig
from connectors.webchat.config import WebchatConfig

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


def demo_enabled(ctx: Context) -> bool:
    return ctx.settings.environment == "development" and ctx.settings.is_sqlite


async def _first_token(session: AsyncSession, kind: InboxKind) -> str | None:
    return await session.scalar(
        select(Inbox.public_token)
        .where(Inbox.kind == kind, Inbox.enabled.is_(True))
        .order_by(Inbox.id)
        .limit(1)
    )


async def seed_demo(ctx: Context) -> None:
    """On the embedded default, the demo inboxes (see `create_demo_inboxes`)."""
    if demo_enabled(ctx):
        await create_demo_inboxes(ctx)


async def create_demo_inboxes(ctx: Context) -> list[str]:
    """A webchat and a callback inbox, each only if no inbox of its kind exists yet;
    returns the names of those it created."""
    created = []
    origin = ctx.settings.public_url.rstrip("/")
    origins = [origin]
    # A newcomer may open http://localhost:8000/demo as well as 127.0.0.1: both are allowed.
    for a, b in (("//127.0.0.1", "//localhost"), ("//localhost", "//127.0.0.1")):
        if a in origin:
            origins.append(origin.replace(a, b))
    wanted: list[tuple[InboxKind, str, ChannelConfig]] = [
        (
            InboxKind.webchat,
            "Website chat (demo)",
            WebchatConfig(
                allowed_origins=origins,
                welcome_message="Hi! Ask us anything about your order.",
            ),
        ),
        # The demo is an Iranian shop: a number written the local way (0912 …) is Iranian,
        # whatever timezone the visitor's browser is in.
        (
            InboxKind.callback,
            "Call me back (demo)",
            CallbackConfig(allowed_origins=origins, default_region="IR"),
        ),
    ]
    async with ctx.db.write() as session:
        for kind, name, config in wanted:
            exists = await session.scalar(select(Inbox.id).where(Inbox.kind == kind).limit(1))
            if exists is None:
                await inboxes.create_inbox(
                    session, ctx.secret_box, kind=kind, name=name, config=config, agent_ids=[]
                )
                log.info("created the demo inbox %r (see %s/demo)", name, origin)
                created.append(name)
    return created


SAMPLE_INBOX = "Demo shop (samples)"
# (customer id, name, e-mail, text): each customer's messages, in order.
SAMPLES = (
    ("sara", "Sara Rahimi", "sara@example.com", "Hi, my order #1042 hasn't arrived yet."),
    ("sara", "Sara Rahimi", "sara@example.com", "It's been ten days. Can you check?"),
    ("maryam", "مریم احمدی", None, "سلام، آیا امکان تعویض سایز کفش وجود دارد؟"),
    ("john", "John Smith", "john@example.com", "I was charged twice for my subscription."),
    ("ali", "علی رضایی", None, "ممنون از پاسخ سریع‌تان، مشکل حل شد."),
    ("john", "John Smith", "john@example.com", "Here is the receipt number: R-58213."),
)


async def create_sample_conversations(ctx: Context) -> int:
    """An `api` inbox with a few customers' conversations, in English and Persian; run again,
    it stores nothing twice. Returns how many messages it stored."""
    async with ctx.db.write() as session:
        inbox = await session.scalar(
            select(Inbox).where(Inbox.kind == InboxKind.api, Inbox.name == SAMPLE_INBOX)
        )
        if inbox is None:
            inbox, _key = await inboxes.create_inbox(
                session,
                ctx.secret_box,
                kind=InboxKind.api,
                name=SAMPLE_INBOX,
                config=ApiConfig(),
                agent_ids=[],
            )
        ref = InboxRef(inbox.id, inbox.kind)
        messages = [
            to_inbound(
                IncomingMessage(
                    external_id=f"sample-{n}",
                    sender=IncomingSender(id=customer, name=name, email=email),
                    text=text,
                ),
                inbox_id=inbox.id,
                raw=text.encode(),
            )
            for n, (customer, name, email, text) in enumerate(SAMPLES, 1)
        ]
        results = await ingest_many(session, [(ref, m) for m in messages], ctx.ingest_policy)
    return sum(not r.duplicate for r in results)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;
color:#1f2937}} .item{{border:1px solid #e5e7eb;border-radius:8px;padding:1rem;margin:1rem 0}}
</style></head><body>
<h1>Demo shop</h1>
<p>A page of a customer's website. The chat button at the bottom corner is the Panjereh
widget; open the <a href="/" target="_blank">agent console</a> in another tab, write here
and answer there. "Call me back" puts a request in the console's Callbacks.</p>
<div class="item"><h2>Persian rug</h2><p>Hand-knotted, 2×3 m.</p></div>
<div class="item"><h2>Saffron, 10 g</h2><p>This year's harvest.</p></div>
<p>The snippet on this page:</p><pre>{snippet}</pre>
{script}
</body></html>"""


@router.get("/demo")
async def demo_page(ctx: ContextDep) -> HTMLResponse:
    if not demo_enabled(ctx):
        raise NotFound("not found")
    async with ctx.db.read() as session:
        chat = await _first_token(session, InboxKind.webchat)
        callback = await _first_token(session, InboxKind.callback)
    if chat is None:
        raise NotFound("no website chat inbox: create one in the console's settings")
    attrs = f' data-inbox="{html.escape(chat)}"'
    if callback:
        attrs += f' data-callback="{html.escape(callback)}"'
    src = html.escape(ctx.settings.public_url.rstrip("/") + "/widget.js")
    script = f'<script src="{src}"{attrs} async></script>'
    return HTMLResponse(
        _PAGE.format(snippet=html.escape(script), script=script),
        headers={"Cache-Control": "no-cache"},
    )

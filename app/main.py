"""The FastAPI application: `create_app(settings)`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from app.account.api import router as account_router
from app.acks import service as acks
from app.acks.api import router as acks_router
from app.agents import service as agents
from app.agents.api import auth_router
from app.agents.api import router as agents_router
from app.agents.models import Role
from app.assignment.api import router as assignment_router
from app.assignment.worker import run_assignment
from app.audit.api import router as audit_router
from app.automations.api import router as automations_router
from app.automations.worker import run_automations
from app.callbacks.api import router as callbacks_router
from app.callbacks.public_api import router as public_callbacks_router
from app.canned.api import router as canned_router
from app.console import router as console_router
from app.contacts.api import router as contacts_router
from app.context import Context, build_context
from app.demo import router as demo_router
from app.demo import seed_demo
from app.errors import Conflict, install_error_handlers
from app.events.consumers import run_consumer
from app.head import HeadAsGetMiddleware
from app.health import BodySizeLimitMiddleware, MetricsMiddleware
from app.health import router as health_router
from app.hours.api import router as hours_router
from app.inbound.api import router as inbound_router
from app.inbound.pollers import PollerSupervisor
from app.inbound.webhooks import router as webhooks_router
from app.inboxes.api import router as inboxes_router
from app.merge.api import router as merge_router
from app.openapi import install_openapi
from app.outbound.maintenance import run_maintenance
from app.outbound.worker import DeliveryWorker
from app.public import PublicErrorCorsMiddleware
from app.realtime.api import router as realtime_router
from app.reports import rollup as report_rollup
from app.reports.api import router as reports_router
from app.responses import JSONResponse
from app.settings import Settings, get_settings
from app.sla import service as sla
from app.sla.api import router as sla_router
from app.surveys.api import router as surveys_router
from app.surveys.follow import run_surveys
from app.surveys.page import router as survey_page_router
from app.tickets.api import router as tickets_router
from app.voice.api import router as calls_router
from app.voice.webhooks import router as voice_webhooks_router
from app.voice.worker import run_voice_jobs
from app.webhooks.api import router as outgoing_webhooks_router
from app.webhooks.worker import Webhooks
from app.widget.api import router as widget_router
from app.widget.assets import router as widget_assets_router

log = logging.getLogger(__name__)


async def seed(ctx: Context) -> None:
    """First start: the administrator from PANJEREH_ADMIN_EMAIL / PANJEREH_ADMIN_PASSWORD."""
    settings = ctx.settings
    if not (settings.admin_email and settings.admin_password):
        return
    async with ctx.db.read() as session:
        if await agents.agent_exists(session, settings.admin_email):
            return
    password_hash = await ctx.passwords.hash(settings.admin_password)
    try:
        async with ctx.db.write() as session:
            created = await agents.create_agent(
                session,
                email=settings.admin_email,
                name=settings.admin_name or settings.admin_email.split("@")[0],
                password_hash=password_hash,
                role=Role.admin,
            )
    except Conflict:
        return  # another process seeded it first
    log.info("created administrator %s", created.email)


@contextlib.asynccontextmanager
async def background_workers(ctx: Context) -> AsyncIterator[None]:
    """The delivery worker and periodic jobs, in this process (embedded mode and `worker`)."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(DeliveryWorker(ctx).run(stop), name="delivery"),
        asyncio.create_task(PollerSupervisor(ctx).run(stop), name="pollers"),
        asyncio.create_task(run_maintenance(ctx, stop), name="maintenance"),
        asyncio.create_task(run_automations(ctx, stop), name="automations"),
        asyncio.create_task(run_assignment(ctx, stop), name="assignment"),
        asyncio.create_task(run_surveys(ctx, stop), name="surveys"),
        asyncio.create_task(run_voice_jobs(ctx, stop), name="voice"),
        asyncio.create_task(
            run_consumer(ctx, "sla", sla.on_events, stop, interest=sla.interested), name="sla"
        ),
        asyncio.create_task(
            run_consumer(ctx, "acks", acks.on_events, stop, interest=acks.interested), name="acks"
        ),
        asyncio.create_task(report_rollup.run(ctx, stop), name="report-rollup"),
        asyncio.create_task(Webhooks(ctx).run(stop), name="webhooks"),
    ]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = build_context(settings)
        app.state.ctx = ctx
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await seed(ctx)
        await seed_demo(ctx)
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(ctx.hub.running())
            if settings.run_workers:
                await stack.enter_async_context(background_workers(ctx))
            yield
        await ctx.aclose()

    app = FastAPI(
        title="Panjereh",
        summary="One window for every customer conversation, on every channel.",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=JSONResponse,
        # FastAPI's OpenTelemetry hooks look up the global providers on every request;
        # Panjereh exports Prometheus metrics at /metrics instead.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    install_openapi(app)
    for router in (
        health_router,
        auth_router,
        agents_router,
        inboxes_router,
        inbound_router,
        webhooks_router,
        tickets_router,
        automations_router,  # before contacts: /contacts/events is not a contact id
        contacts_router,
        callbacks_router,
        public_callbacks_router,
        widget_router,
        widget_assets_router,
        demo_router,
        realtime_router,
        canned_router,
        assignment_router,
        surveys_router,
        survey_page_router,
        merge_router,
        audit_router,
        voice_webhooks_router,
        calls_router,
        hours_router,
        sla_router,
        acks_router,
        account_router,
        reports_router,
        outgoing_webhooks_router,
        console_router,  # last: its catch-all serves the console
    ):
        app.include_router(router)
    app.add_middleware(PublicErrorCorsMiddleware)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        upload_max_bytes=settings.max_attachment_bytes,
    )
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    return app

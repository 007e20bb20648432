from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import CurrentAgent, ReadSession, visible_inbox_ids
from app.fields import DbId, LocalDate, SafeStr
from app.inboxes.models import InboxKind
from app.reports import service
from app.reports.export import to_csv
from app.reports.schemas import AgentsReport, SatisfactionReport, SpeedReport, VolumeReport

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

R = TypeVar("R", bound=BaseModel)

CSV_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
}


class Filters:
    """The query every report takes."""

    def __init__(
        self,
        since: Annotated[
            LocalDate | None, Query(description="first local day (default: 29 days before until)")
        ] = None,
        until: Annotated[
            LocalDate | None, Query(description="last local day (default: today)")
        ] = None,
        channel: InboxKind | None = None,
        inbox_id: DbId | None = None,
        team_id: DbId | None = None,
        agent_id: Annotated[DbId | None, Query(description="the conversation's assignee")] = None,
        label: Annotated[SafeStr | None, Query(max_length=100)] = None,
        format: Annotated[
            Literal["json", "csv"] | None,
            Query(
                description="csv: the same figures as CSV (default: as `Accept` asks, else json)"
            ),
        ] = None,
        accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> None:
        self.filters = service.ReportFilter(
            since=since,
            until=until,
            channel=channel,
            inbox_id=inbox_id,
            team_id=team_id,
            agent_id=agent_id,
            label=label,
        )
        self.format = format or ("csv" if "text/csv" in (accept or "") else "json")


FiltersDep = Annotated[Filters, Depends()]


async def _answer(
    name: str,
    compute: Callable[[AsyncSession, service.ReportFilter, set[int] | None], Awaitable[R]],
    agent: CurrentAgent,
    session: AsyncSession,
    query: Filters,
) -> R | Response:
    report = await compute(session, query.filters, await visible_inbox_ids(session, agent))
    if query.format == "csv":
        period = f"{report.period.since}_{report.period.until}"  # type: ignore[attr-defined]
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}_{period}.csv"'},
        )
    return report


@router.get("/volume", response_model=VolumeReport, responses=CSV_RESPONSE)
async def volume(
    agent: CurrentAgent, session: ReadSession, query: FiltersDep
) -> VolumeReport | Response:
    """Conversations that arrived and messages in and out, per day, channel and inbox; and
    arrivals by local weekday and hour."""
    return await _answer("volume", service.volume, agent, session, query)


@router.get("/speed", response_model=SpeedReport, responses=CSV_RESPONSE)
async def speed(
    agent: CurrentAgent, session: ReadSession, query: FiltersDep
) -> SpeedReport | Response:
    """First response and (first) resolution times: median, 90th percentile and mean, in
    seconds, in total and per day of arrival."""
    return await _answer("speed", service.speed, agent, session, query)


@router.get("/agents", response_model=AgentsReport, responses=CSV_RESPONSE)
async def agents(
    agent: CurrentAgent, session: ReadSession, query: FiltersDep
) -> AgentsReport | Response:
    """The speed figures per assignee and per team (as assigned now)."""
    return await _answer("agents", service.agents, agent, session, query)


@router.get("/satisfaction", response_model=SatisfactionReport, responses=CSV_RESPONSE)
async def satisfaction(
    agent: CurrentAgent, session: ReadSession, query: FiltersDep
) -> SatisfactionReport | Response:
    """CSAT (average, % satisfied, distribution) and NPS (promoters, passives, detractors),
    with response rates, of the surveys sent in the period: in total, along the period, per
    channel, inbox and credited agent; and the latest comments."""
    return await _answer("satisfaction", service.satisfaction, agent, session, query)

"""The reports' answers. Every figure is a whole number (a count, or seconds) or null (no
data), so that the CSV export (app/reports/export.py) carries exactly these numbers."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class Period(BaseModel):
    timezone: str = Field(description="the account's timezone the days and hours are in")
    since: date = Field(description="first local day, inclusive")
    until: date = Field(description="last local day, inclusive")


class VolumeFigures(BaseModel):
    conversations: int = Field(description="conversations that arrived (reopens not counted)")
    messages_in: int = Field(description="messages from customers")
    messages_out: int = Field(description="replies sent (agents' and automatic)")


class VolumeDay(VolumeFigures):
    day: date


class VolumeChannel(VolumeFigures):
    channel: str


class VolumeInbox(VolumeFigures):
    inbox_id: int
    inbox: str
    channel: str


class HeatCell(BaseModel):
    weekday: int = Field(description="0 Monday … 6 Sunday, local")
    hour: int = Field(description="0 … 23, local")
    conversations: int


class VolumeReport(BaseModel):
    period: Period
    totals: VolumeFigures
    by_day: list[VolumeDay]
    by_channel: list[VolumeChannel]
    by_inbox: list[VolumeInbox]
    heatmap: list[HeatCell] = Field(description="arrivals by weekday and hour, 168 cells")


class SpeedFigures(BaseModel):
    """Over the conversations that arrived in the period; times in seconds."""

    conversations: int
    responded: int = Field(description="conversations an agent has answered")
    first_response_median: int | None
    first_response_p90: int | None
    first_response_mean: int | None
    resolved: int = Field(description="conversations resolved at least once")
    resolution_median: int | None = Field(description="arrival to FIRST resolution")
    resolution_p90: int | None
    resolution_mean: int | None


class SpeedDay(SpeedFigures):
    day: date


class SpeedReport(BaseModel):
    period: Period
    totals: SpeedFigures
    by_day: list[SpeedDay]


class AgentRow(SpeedFigures):
    agent_id: int | None = Field(description="null: conversations assigned to nobody")
    agent: str | None
    csat_average: int | None = Field(
        default=None, description="reserved for the surveys' CSAT; null until they land"
    )


class TeamRow(SpeedFigures):
    team_id: int | None = Field(description="null: conversations of no team")
    team: str | None


class AgentsReport(BaseModel):
    period: Period
    agents: list[AgentRow]
    teams: list[TeamRow]


class CsatFigures(BaseModel):
    responses: int
    average_x100: int | None = Field(description="the 1–5 average times 100 (e.g. 425)")
    score_1: int
    score_2: int
    score_3: int
    score_4: int
    score_5: int


class NpsFigures(BaseModel):
    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: int | None = Field(description="% promoters − % detractors, rounded")


class SatisfactionPeriod(BaseModel):
    period: str = Field(description="ISO week (2026-W49) or month (2026-12)")
    csat_responses: int
    csat_average_x100: int | None
    nps_responses: int
    nps: int | None


class SatisfactionComment(BaseModel):
    conversation_id: int
    kind: str
    score: int
    comment: str


class SatisfactionReport(BaseModel):
    period: Period
    available: bool = Field(description="false until the surveys' answers are stored")
    csat: CsatFigures
    nps: NpsFigures
    trend: list[SatisfactionPeriod]
    comments: list[SatisfactionComment]

"""The reports' answers. Every figure is a whole number (a count, or seconds) or null (no
data), so that the CSV export (app/reports/export.py) carries exactly these numbers."""

from __future__ import annotations

from datetime import date, datetime

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
    csat_answered: int = Field(description="CSAT answers credited to the agent (see satisfaction)")
    csat_average_x100: int | None = Field(description="their 1–5 average times 100 (425: 4.25)")
    nps_answered: int = Field(description="NPS answers credited to the agent")
    nps: int | None = Field(description="NPS of those answers, −100 … 100")


class TeamRow(SpeedFigures):
    team_id: int | None = Field(description="null: conversations of no team")
    team: str | None


class AgentsReport(BaseModel):
    period: Period
    agents: list[AgentRow]
    teams: list[TeamRow]


class SatisfactionFigures(BaseModel):
    """Over the surveys SENT in the period (an answer counts with its survey, on the local
    day the survey was sent). Percentages are whole, rounded half up; null: nothing to
    divide by."""

    csat_sent: int
    csat_answered: int
    csat_response_rate: int | None = Field(description="% of the CSAT surveys answered")
    csat_average_x100: int | None = Field(description="the 1–5 average times 100 (425: 4.25)")
    csat_satisfied: int | None = Field(description="% of CSAT answers that are 4 or 5")
    nps_sent: int
    nps_answered: int
    nps_response_rate: int | None = Field(description="% of the NPS surveys answered")
    nps_promoters: int = Field(description="answers 9–10")
    nps_passives: int = Field(description="answers 7–8")
    nps_detractors: int = Field(description="answers 0–6")
    nps: int | None = Field(description="% promoters − % detractors, −100 … 100")


class CsatDistribution(BaseModel):
    score_1: int
    score_2: int
    score_3: int
    score_4: int
    score_5: int


class SatisfactionTrend(SatisfactionFigures):
    since: date = Field(description="first local day of this step of the trend")
    until: date = Field(description="its last local day")


class SatisfactionChannel(SatisfactionFigures):
    channel: str = Field(description="the rated conversation's channel (`callback` too)")


class SatisfactionInbox(SatisfactionFigures):
    inbox_id: int = Field(description="the inbox the survey was asked in")
    inbox: str
    channel: str


class SatisfactionAgent(SatisfactionFigures):
    agent_id: int | None = Field(
        description="the agent credited: assigned when the survey was sent (null: nobody)"
    )
    agent: str | None


class SatisfactionComment(BaseModel):
    survey_id: int
    conversation_id: int
    kind: str = Field(description="csat or nps")
    score: int
    comment: str
    agent: str | None
    answered_at: datetime


class SatisfactionReport(BaseModel):
    period: Period
    totals: SatisfactionFigures
    csat_distribution: CsatDistribution
    trend_step: str = Field(description="day (periods up to 31 days) or week (7 local days)")
    trend: list[SatisfactionTrend]
    by_channel: list[SatisfactionChannel]
    by_inbox: list[SatisfactionInbox]
    by_agent: list[SatisfactionAgent]
    comments: list[SatisfactionComment] = Field(
        description="the comments of the latest 50 surveys with one, newest survey first"
    )

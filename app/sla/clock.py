"""SLA clocks of one conversation, as pure data: what runs, what is due when, what was
announced. The service (app/sla/service.py) feeds them the conversation's events and
stores them (JSON in `conversations.sla`, the due times in columns).

A clock counts business seconds (the inbox's `Schedule`) towards its target: `consumed`
counted before the current run, and `since`, where the current run started (None while the
conversation is pending or snoozed). Its due time is `target - consumed` business seconds
after `since`, its warning at 80% of the target.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from app.hours.schedule import Schedule

Target = Literal["first_response", "next_response", "resolution"]
TARGETS: tuple[Target, ...] = ("first_response", "next_response", "resolution")
WARNING_SHARE = 0.8


@dataclass(slots=True)
class Clock:
    target: float  # business seconds
    consumed: float = 0.0
    since: datetime | None = None
    warned: bool = False
    breached: bool = False

    def warn_at(self, schedule: Schedule) -> datetime | None:
        if self.since is None:
            return None
        return schedule.add_business_seconds(
            self.since, max(0.0, self.target * WARNING_SHARE - self.consumed)
        )

    def due_at(self, schedule: Schedule) -> datetime | None:
        if self.since is None:
            return None
        return schedule.add_business_seconds(self.since, max(0.0, self.target - self.consumed))


@dataclass(frozen=True, slots=True)
class Announcement:
    kind: Literal["warning", "breached"]
    target: Target
    due_at: datetime


@dataclass(slots=True)
class Clocks:
    clocks: dict[str, Clock] = field(default_factory=dict)
    responded: bool = False  # an agent has answered the customer once
    status: str = "open"  # the conversation's status as the clocks last saw it

    # --------------------------------------------------------------------- storing

    def to_json(self) -> dict[str, Any]:
        return {
            "responded": self.responded,
            "status": self.status,
            "clocks": {
                name: {**asdict(c), "since": c.since.isoformat() if c.since else None}
                for name, c in self.clocks.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Clocks:
        if not data:
            return cls()
        clocks = {
            name: Clock(
                target=float(c["target"]),
                consumed=float(c["consumed"]),
                since=datetime.fromisoformat(c["since"]) if c.get("since") else None,
                warned=bool(c["warned"]),
                breached=bool(c["breached"]),
            )
            for name, c in data.get("clocks", {}).items()
        }
        return cls(clocks, bool(data.get("responded")), str(data.get("status", "open")))

    # --------------------------------------------------------------------- changes

    @property
    def paused(self) -> bool:
        return self.status in ("pending", "snoozed")

    def start(self, name: Target, target_seconds: float | None, at: datetime) -> None:
        """(Re)start a clock from zero; no target: no clock."""
        if target_seconds is None:
            self.clocks.pop(name, None)
            return
        self.clocks[name] = Clock(target_seconds, since=None if self.paused else at)

    def stop(self, name: Target) -> None:
        self.clocks.pop(name, None)

    def pause(self, schedule: Schedule, at: datetime) -> None:
        for clock in self.clocks.values():
            if clock.since is not None:
                clock.consumed += schedule.business_seconds_between(clock.since, at)
                clock.since = None

    def resume(self, at: datetime) -> None:
        for clock in self.clocks.values():
            if clock.since is None:
                clock.since = at

    def retarget(self, targets: dict[Target, float | None], at: datetime) -> None:
        """A new policy (the priority changed): running clocks take its targets and are
        judged against them afresh; a clock it has no target for stops."""
        for name in list(self.clocks):
            new = targets.get(name)  # type: ignore[call-overload]
            if new is None:
                del self.clocks[name]
            elif new != self.clocks[name].target:
                self.clocks[name].target = new
                self.clocks[name].warned = self.clocks[name].breached = False

    def announce(self, schedule: Schedule, now: datetime) -> list[Announcement]:
        """The warnings and breaches whose time has come, each once."""
        out: list[Announcement] = []
        for name in TARGETS:
            clock = self.clocks.get(name)
            due = clock.due_at(schedule) if clock is not None else None
            if clock is None or due is None:
                continue
            if not clock.warned and (warn := clock.warn_at(schedule)) and warn <= now:
                clock.warned = True
                out.append(Announcement("warning", name, due))
            if not clock.breached and due <= now:
                clock.breached = clock.warned = True
                out.append(Announcement("breached", name, due))
        return out

    # --------------------------------------------------------------------- reading

    def due_times(self, schedule: Schedule) -> dict[Target, datetime | None]:
        return {
            name: (c.due_at(schedule) if (c := self.clocks.get(name)) else None) for name in TARGETS
        }

    def state(self) -> str | None:
        """ "breached", "warning", "ok" (clocks run, none at 80%), or None (no clock)."""
        if not self.clocks:
            return None
        if any(c.breached for c in self.clocks.values()):
            return "breached"
        if any(c.warned for c in self.clocks.values()):
            return "warning"
        return "ok"

    def next_check(self, schedule: Schedule) -> datetime | None:
        """The next time `announce` has something to say (None: paused or nothing left)."""
        times: list[datetime] = []
        for clock in self.clocks.values():
            if clock.since is None:
                continue
            if not clock.warned and (warn := clock.warn_at(schedule)):
                times.append(warn)
            elif not clock.breached and (due := clock.due_at(schedule)):
                times.append(due)
        return min(times, default=None)

"""Work that may wait (webhooks, rules): while requests are short of the process's time, a
round of it leaves them the process for a while after it; not while it has time to spare,
and not for long once the work has waited too long."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.health import Share, pressed, serving
from app.pacing import DEFER_AT_MOST_SECONDS, SHARE_WHEN_BUSY, pause_after, step_aside
from tests.support.pacing import core_in_use, pressed_after_serving, quiet, request_in_flight


async def test_serving_covers_a_request_in_flight_and_the_gap_after_its_answer() -> None:
    await quiet()
    assert not serving()
    async with request_in_flight():
        assert serving()
    assert serving()  # the client's next request may be on its way
    await quiet()
    assert not serving()


def test_a_share_is_how_fast_a_total_grew_over_the_last_whole_window() -> None:
    now, used = [0.0], [0.0]
    share = Share(lambda: used[0], window=1.0, clock=lambda: now[0])
    now[0], used[0] = 0.5, 0.5
    assert share() == 0.0  # no whole window yet
    now[0], used[0] = 1.0, 0.9
    assert share() == pytest.approx(0.9)
    now[0], used[0] = 1.5, 0.9
    assert share() == pytest.approx(0.9)  # the last whole window's
    now[0], used[0] = 2.0, 1.0
    assert share() == pytest.approx(0.1)


async def test_requests_are_pressed_after_a_window_of_serving_and_not_once_it_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with core_in_use(monkeypatch):
        await quiet()
        assert not pressed()
        async with request_in_flight():
            assert await pressed_after_serving()
        await quiet()
        assert not pressed()


async def test_serving_with_the_core_mostly_idle_is_not_pressed() -> None:
    async with request_in_flight():  # the process only waits meanwhile
        assert not await pressed_after_serving()


async def test_serving_while_waiting_on_a_database_beside_it_is_pressed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Saturated beside PostgreSQL on the same cores, a process uses ~85% of a core on
    # average, and some windows much less.
    with core_in_use(monkeypatch, share=0.6):
        async with request_in_flight():
            assert await pressed_after_serving()


def test_a_round_leaves_requests_most_of_the_time_until_its_work_is_late() -> None:
    assert pause_after(0.01, 0.0) == pytest.approx(0.01 * (1 / SHARE_WHEN_BUSY - 1))
    assert pause_after(0.01, DEFER_AT_MOST_SECONDS - 1) == pause_after(0.01, 0.0)
    assert pause_after(0.01, DEFER_AT_MOST_SECONDS) == pytest.approx(0.01)  # half, once late


async def timed_step_aside(took: float, waited: float) -> float:
    started = time.monotonic()
    await step_aside(took, waited, asyncio.Event())
    return time.monotonic() - started


async def test_a_round_steps_aside_only_while_requests_are_pressed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with core_in_use(monkeypatch):
        await quiet()
        assert await timed_step_aside(0.01, 0.0) < 0.05  # nobody to yield to
        async with request_in_flight():
            assert await pressed_after_serving()
            assert await timed_step_aside(0.01, 0.0) >= pause_after(0.01, 0.0)
            assert await timed_step_aside(0.01, DEFER_AT_MOST_SECONDS) < pause_after(0.01, 0.0)


async def test_a_round_stops_stepping_aside_when_the_requests_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with core_in_use(monkeypatch):
        async with request_in_flight():
            assert await pressed_after_serving()
            aside = asyncio.create_task(timed_step_aside(1.0, 0.0))  # would yield for long
            await asyncio.sleep(0.1)
        assert await asyncio.wait_for(aside, 1.0) < 1.0

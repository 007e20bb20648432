from __future__ import annotations

import pytest
from limits import parse

from app.ratelimit import RateLimited, RateLimiter
from tests.support.app import ADMIN_EMAIL, Running
from tests.support.servers import RedisServer, free_port

THREE_A_MINUTE = parse("3/minute")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_login_attempts_are_rate_limited_with_retry_after(running: Running) -> None:
    statuses = []
    for _ in range(11):
        response = await running.client.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "guess"}
        )
        statuses.append(response.status_code)
    assert statuses == [401] * 10 + [429]
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1
    # Another account from the same address is not locked out by the per-e-mail limit.
    other = await running.client.post(
        "/api/v1/auth/login", json={"email": "someone@example.com", "password": "guess"}
    )
    assert other.status_code == 401


async def test_with_redis_one_limit_holds_across_processes(redis_server: RedisServer) -> None:
    # Two servers' limiters (as two `serve` processes have) sharing one Redis.
    first, second = RateLimiter(redis_server.url), RateLimiter(redis_server.url)
    key = f"test-{free_port()}"
    for limiter in (first, second, first):
        await limiter.hit(THREE_A_MINUTE, key)
    with pytest.raises(RateLimited):
        await second.hit(THREE_A_MINUTE, key)


async def test_without_its_store_a_limit_lets_requests_through() -> None:
    gone = RateLimiter(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    for _ in range(5):
        await gone.hit(THREE_A_MINUTE, "anyone")

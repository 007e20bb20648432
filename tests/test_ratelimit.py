from __future__ import annotations

import pytest

from tests.conftest import ADMIN_EMAIL, Running


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

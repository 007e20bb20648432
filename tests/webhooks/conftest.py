from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from tests.support.app import make_settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Retries a few hundredths of a second apart, so that a whole schedule runs in a test."""
    return make_settings(
        database_url,
        tmp_path / "data",
        webhook_backoff_base_seconds=0.01,
        webhook_backoff_cap_seconds=0.05,
        webhook_poll_seconds=0.05,
    )

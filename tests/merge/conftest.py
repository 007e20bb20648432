from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from tests.support.console import console_settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """With the embedded workers: pollers read the mailbox, replies are delivered."""
    settings: Settings = console_settings(database_url, tmp_path / "data")
    return settings

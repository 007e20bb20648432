"""The browser tests share the console tests' Chromium and served app (one per session)."""

from tests.console.conftest import browser, console_admin, console_server

__all__ = ["browser", "console_admin", "console_server"]

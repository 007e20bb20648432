"""A real Dovecot and a real SMTP server for the session; the app with its poller supervisor
and delivery worker running against them for a test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.settings import Settings
from tests.support.api import Api
from tests.support.app import Running, make_settings
from tests.support.mail import Desk, eventually, open_desk, workers
from tests.support.mailservers import (
    Dovecot,
    MailUser,
    SmtpServer,
    SmtpSink,
    start_dovecot,
    start_smtp,
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Retries keep going while a test holds the SMTP server in a temporary refusal.
    return make_settings(database_url, tmp_path / "data", delivery_max_attempts=10_000)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    server = start_dovecot()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    server = start_smtp()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpSink:
    smtp_server.sink.reset()
    return smtp_server.sink


@pytest.fixture
def mailbox(dovecot: Dovecot) -> MailUser:
    return dovecot.add_user()


@pytest.fixture
async def desk(
    running: Running, admin: Api, mailbox: MailUser, smtp: SmtpSink, smtp_server: SmtpServer
) -> AsyncIterator[Desk]:
    """Workers running, and the poller connected (its first cursor stored): mail appended
    from here on is new mail."""
    found = await open_desk(running, admin, mailbox, smtp, smtp_server.port)
    async with workers(running.ctx):
        await eventually(found.taken)
        yield found

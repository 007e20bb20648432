"""A mailbox that cannot be used is said in one plain sentence per failing server (IMAP and
SMTP each: host:port and what failed), the same when the settings are tried and when the
inbox is created (issue 13, section 6)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.support.api import Api
from tests.support.mail import inbox_config
from tests.support.mailservers import MailUser, SmtpServer, SmtpSink
from tests.support.servers import free_port


async def sentences(admin: Api, config: dict[str, Any]) -> list[str]:
    """What the settings form shows on Test connection, checked to be what Create says."""
    tried = await admin.post("/api/v1/inboxes/test", json={"kind": "email", "config": config})
    assert tried.status_code == 200, tried.text
    assert tried.json()["ok"] is False
    detail: str = tried.json()["detail"]
    created = await admin.post(
        "/api/v1/inboxes", json={"kind": "email", "name": "Support", "config": config}
    )
    assert created.status_code == 422, created.text
    assert created.json()["detail"] == detail
    for python in ("Error(", "errno", "_ssl.c", "b'"):
        assert python not in detail
    return detail.split("\n")


def unreachable(**overrides: Any) -> dict[str, Any]:
    return {
        "imap_host": "127.0.0.1",
        "imap_port": free_port(),
        "imap_tls": "none",
        "smtp_host": "127.0.0.1",
        "smtp_port": free_port(),
        "smtp_tls": "none",
        "from_address": "support@example.com",
        **overrides,
    }


async def test_servers_that_refuse_the_connection(admin: Api) -> None:
    config = unreachable()
    imap, smtp = await sentences(admin, config)
    assert imap == (
        f"The IMAP server 127.0.0.1:{config['imap_port']} refused the connection: "
        "check the port, and that the server is running."
    )
    assert smtp == (
        f"The SMTP server 127.0.0.1:{config['smtp_port']} refused the connection: "
        "check the port, and that the server is running."
    )


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A port that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()


async def test_servers_that_do_not_answer(admin: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connectors.email.connector.CHECK_TIMEOUT_SECONDS", 1.0)
    async with silent_server() as imap_port, silent_server() as smtp_port:
        imap, smtp = await sentences(admin, unreachable(imap_port=imap_port, smtp_port=smtp_port))
    assert imap == f"The IMAP server 127.0.0.1:{imap_port} did not answer within 1 seconds."
    assert smtp == f"The SMTP server 127.0.0.1:{smtp_port} did not answer within 1 seconds."


async def test_tls_asked_of_servers_that_speak_plain_text(
    admin: Api, mailbox: MailUser, smtp_server: SmtpServer
) -> None:
    config = inbox_config(mailbox, smtp_server.port, imap_tls="ssl", smtp_tls="ssl")
    imap, smtp = await sentences(admin, config)
    assert imap == (
        f"The IMAP server 127.0.0.1:{mailbox.server.port} did not complete a TLS handshake "
        "(ssl): check the security setting (ssl is usually port 993, starttls 143)."
    )
    assert smtp == (
        f"The SMTP server 127.0.0.1:{smtp_server.port} did not complete a TLS handshake "
        "(ssl): check the security setting (ssl is usually port 465, starttls 587)."
    )


@contextlib.contextmanager
def smtp_refusing_logins() -> Iterator[int]:
    """A real SMTP server (aiosmtpd) that offers AUTH and refuses every login."""

    def refuse(*_args: Any) -> AuthResult:
        return AuthResult(success=False, handled=False)

    port = free_port()
    controller = Controller(
        SmtpSink(), hostname="127.0.0.1", port=port, authenticator=refuse, auth_require_tls=False
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


async def test_logins_the_servers_reject(admin: Api, mailbox: MailUser) -> None:
    with smtp_refusing_logins() as smtp_port:
        config = inbox_config(
            mailbox,
            smtp_port,
            imap_password="wrong",
            smtp_username="support",
            smtp_password="wrong",
        )
        imap, smtp = await sentences(admin, config)
    assert imap.startswith(f"The IMAP server 127.0.0.1:{mailbox.server.port} rejected the login: ")
    assert imap.endswith("Authentication failed (check the user name and password).")
    assert smtp.startswith(f"The SMTP server 127.0.0.1:{smtp_port} rejected the login: 535 ")


async def test_only_the_failing_server_is_named(admin: Api, smtp_server: SmtpServer) -> None:
    config = unreachable(smtp_port=smtp_server.port, imap_host="a" * 300)
    (imap,) = await sentences(admin, config)
    assert imap == (
        f"The IMAP server {'a' * 300}:{config['imap_port']} could not be found: "
        "check the host name."
    )

"""Mail that arrives between the search for new mail and the wait for it is announced at
once, not one IDLE round later (a real Dovecot)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from connectors.email.config import EmailConfig
from connectors.email.imap import Mailbox
from tests.support.mail import Desk, mail
from tests.support.mailservers import MailUser


def _append_after_first_empty_search(
    monkeypatch: pytest.MonkeyPatch, user: MailUser, raw: bytes
) -> threading.Event:
    """Makes the next search that finds nothing append `raw` right after it answered: the
    message arrives after the search and before the wait, the window this is about."""
    search: Callable[[Mailbox, int], list[int]] = Mailbox.uids_after
    appended = threading.Event()

    def searched_then_mail_arrives(self: Mailbox, uid: int) -> list[int]:
        found = search(self, uid)
        if not found and not appended.is_set():
            appended.set()
            user.append(raw)
        return found

    monkeypatch.setattr(Mailbox, "uids_after", searched_then_mail_arrives)
    return appended


def test_mail_arriving_right_after_the_search_ends_the_wait(
    mailbox: MailUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = EmailConfig(
        imap_host="127.0.0.1",
        imap_port=mailbox.server.port,
        imap_tls="none",
        imap_username=mailbox.name,
        imap_password=mailbox.password,
    )
    box = Mailbox(config)
    folder = box.open()
    try:
        appended = _append_after_first_empty_search(monkeypatch, mailbox, mail("in the gap"))
        started = time.monotonic()
        found = box.wait_after((folder.uidnext or 1) - 1, 10.0)
        assert appended.is_set()
        assert found == [folder.uidnext or 1]
        assert time.monotonic() - started < 2.0
    finally:
        box.close()


async def test_mail_in_the_gap_is_ingested_within_two_seconds(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    appended = _append_after_first_empty_search(
        monkeypatch, desk.user, mail("Arrived while the poller was between search and IDLE")
    )
    # The poller's next empty search appends it (in the poller's thread).
    assert await asyncio.to_thread(appended.wait, 15.0)
    started = time.monotonic()
    await desk.message_with("between search and IDLE", timeout=2.0)
    assert time.monotonic() - started < 2.0

"""Where an e-mail inbox starts reading its folder is decided when the inbox is saved: mail
that arrives after the save is imported, however late a worker first connects; mail that
was there before it is not (unless `import_existing` asks for it)."""

from __future__ import annotations

import json

from tests.support.api import Api
from tests.support.app import Running
from tests.support.mail import Desk, eventually, mail, open_desk, stored_count, workers
from tests.support.mailservers import MailUser, SmtpServer, SmtpSink


async def test_mail_appended_right_after_the_save_is_imported_once(
    running: Running, admin: Api, mailbox: MailUser, smtp: SmtpSink, smtp_server: SmtpServer
) -> None:
    async with workers(running.ctx):
        desk = await open_desk(running, admin, mailbox, smtp, smtp_server.port)
        mailbox.append(mail("right after the save"))
        await desk.message_with("right after the save")
        mailbox.append(mail("a moment later"))
        await desk.message_with("a moment later")
    assert await stored_count(desk) == 2


async def test_mail_that_arrives_before_any_worker_runs_is_imported_once(
    running: Running, admin: Api, mailbox: MailUser, smtp: SmtpSink, smtp_server: SmtpServer
) -> None:
    mailbox.append(mail("there before the inbox was saved"))
    desk = await open_desk(running, admin, mailbox, smtp, smtp_server.port)
    mailbox.append(mail("while no worker ran, one"))
    mailbox.append(mail("while no worker ran, two"))
    async with workers(running.ctx):
        await desk.message_with("while no worker ran, one")
        await desk.message_with("while no worker ran, two")
        mailbox.append(mail("with the worker running"))
        await desk.message_with("with the worker running")
    texts = sorted(m["body_text"] for m in await desk.all_messages())
    assert texts == [
        "while no worker ran, one",
        "while no worker ran, two",
        "with the worker running",
    ]
    # Only what was stored is flagged: the mail from before the save is left unread.
    assert sorted(mailbox.seen().values()) == [False, True, True, True]


async def test_import_existing_counts_the_mail_there_at_the_save(
    running: Running, admin: Api, mailbox: MailUser, smtp: SmtpSink, smtp_server: SmtpServer
) -> None:
    for n in range(3):
        mailbox.append(mail(f"old mail {n}"))
    desk = await open_desk(running, admin, mailbox, smtp, smtp_server.port, import_existing=2)
    mailbox.append(mail("new mail before the worker"))
    async with workers(running.ctx):
        await desk.message_with("new mail before the worker")
        await eventually(lambda: _at_least(desk, 3))
    texts = sorted(m["body_text"] for m in await desk.all_messages())
    assert texts == ["new mail before the worker", "old mail 1", "old mail 2"]


async def _at_least(desk: Desk, count: int) -> bool:
    return await stored_count(desk) >= count


async def test_another_folder_starts_at_its_save_and_other_edits_skip_nothing(
    running: Running, admin: Api, mailbox: MailUser, smtp: SmtpSink, smtp_server: SmtpServer
) -> None:
    client = mailbox.client()
    client.create_folder("Support")
    client.logout()
    desk = await open_desk(running, admin, mailbox, smtp, smtp_server.port)
    path = f"/api/v1/inboxes/{desk.inbox_id}"
    # Mail waiting behind the cursor while no worker runs survives an edit of other settings.
    mailbox.append(mail("waiting in INBOX"))
    response = await admin.patch(path, json={"config": {"from_name": "Shop"}})
    assert response.status_code == 200, response.text
    async with workers(running.ctx):
        await desk.message_with("waiting in INBOX")
    # Another folder: what is in it at the save stays there, what comes after is imported.
    mailbox.append(mail("old mail in Support"), folder="Support")
    response = await admin.patch(path, json={"config": {"imap_folder": "Support"}})
    assert response.status_code == 200, response.text
    cursor = await desk.cursor()
    assert cursor is not None
    assert json.loads(cursor)["folder"].endswith("/Support")
    mailbox.append(mail("new mail in Support"), folder="Support")
    mailbox.append(mail("INBOX is no longer read"))
    async with workers(running.ctx):
        await desk.message_with("new mail in Support")
    texts = sorted(m["body_text"] for m in await desk.all_messages())
    assert texts == ["new mail in Support", "waiting in INBOX"]

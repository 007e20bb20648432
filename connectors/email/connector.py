"""The `email` channel: IMAP in (IDLE, or polling), SMTP out.

The cursor is `{"uidvalidity": V, "uid": U, "folder": F}`: the last UID stored in the folder
F, saved by the app in the same transaction as the messages. It is first decided when the
inbox is saved (`start`: UIDNEXT then, or before the existing mail to import), so mail that
arrives after the save is imported however late a poller first connects. A restart resumes
after U (nothing twice, nothing skipped, however long the downtime); a new UIDVALIDITY
re-scans the folder, and the unique (inbox, Message-ID) makes that a no-op for what is
stored. Messages are flagged \\Seen (or
moved) in `committed`, after they are stored, never before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from connectors.base import (
    InboundItem,
    InboundMessage,
    OutboundMessage,
    SendError,
    SendResult,
    SetupError,
)
from connectors.email import reach, smtp
from connectors.email.config import EmailConfig
from connectors.email.imap import Fetched, Folder, Mailbox
from connectors.email.parser import ParseOptions, is_own_id, nowhere_to_reply, parse_email

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long the settings check waits for a server that says nothing (an admin is waiting).
CHECK_TIMEOUT_SECONDS = 15.0
IDLE_SECONDS = 10.0  # bounded: the cursor and lease are saved, and a missed notice costs little
BATCH_MESSAGES = 200  # per poll (and per transaction)
BATCH_BYTES = 48 * 1024 * 1024  # per poll, so memory stays bounded on big mail
FETCH_CHUNK = 100  # UIDs per FETCH command
OVERSIZE_TEXT_BYTES = 512 * 1024  # what is read of a message over the size limit


@dataclass(frozen=True, slots=True)
class Cursor:
    uidvalidity: int
    uid: int
    # Which folder (`user@host:port/folder`); "" in cursors saved before it was recorded.
    folder: str = ""
    # The last UID of a first import of existing mail, while it lasts (for its progress).
    until: int | None = None

    @classmethod
    def load(cls, value: str | None) -> Cursor | None:
        if not value:
            return None
        try:
            data = json.loads(value)
            until = data.get("until")
            return cls(
                int(data["uidvalidity"]),
                int(data["uid"]),
                str(data.get("folder") or ""),
                int(until) if until is not None else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("unreadable e-mail cursor %r; starting as if new", value)
            return None

    def dump(self) -> str:
        data: dict[str, object] = {"uidvalidity": self.uidvalidity, "uid": self.uid}
        if self.folder:
            data["folder"] = self.folder
        if self.until is not None and self.until > self.uid:
            data["until"] = self.until
        return json.dumps(data)

    def after(self, uid: int) -> Cursor:
        """This cursor, moved past `uid`."""
        return Cursor(self.uidvalidity, uid, self.folder, self.until)


class EmailSender:
    """Sends replies; an inbox without IMAP settings only sends."""

    def __init__(self, config: EmailConfig, *, inbox_id: int, max_attachment_bytes: int) -> None:
        self.config = config
        self.inbox_id = inbox_id
        self.max_attachment_bytes = max_attachment_bytes

    async def send(self, msg: OutboundMessage) -> SendResult:
        if not self.config.smtp_host or not self.config.from_address:
            raise SendError("the inbox has no SMTP server or From address configured")
        message_id = smtp.new_message_id(msg.id, self.config.from_address)
        mail = smtp.compose(self.config, msg, message_id)
        await asyncio.to_thread(smtp.deliver, self.config, mail)
        return SendResult(external_id=message_id)

    async def aclose(self) -> None:
        return None

    async def check(self) -> None:
        """Reach each configured server at once; one sentence per server that fails (an
        admin setting up a mailbox fixes both at once)."""
        if not self.config.from_address:
            raise SetupError("from_address is required: replies are sent from it")
        found = await asyncio.gather(self._imap_problem(), self._smtp_problem())
        if problems := [p for p in found if p]:
            raise SetupError("\n".join(problems))

    async def _imap_problem(self) -> str | None:
        return None  # sending only: no folder to read

    async def _smtp_problem(self) -> str | None:
        config = self.config
        if not config.smtp_host:
            return None
        try:
            await asyncio.to_thread(smtp.verify, config, CHECK_TIMEOUT_SECONDS)
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            return reach.problem(
                "SMTP",
                config.smtp_host,
                config.smtp_port,
                config.smtp_tls,
                CHECK_TIMEOUT_SECONDS,
                exc,
            )
        return None

    async def activate(self, webhook_url: str | None) -> None:
        return None

    async def deactivate(self) -> None:
        return None


class EmailConnector(EmailSender):
    """Sends, and pulls one IMAP folder, keeping one connection across polls."""

    def __init__(self, config: EmailConfig, *, inbox_id: int, max_attachment_bytes: int) -> None:
        super().__init__(config, inbox_id=inbox_id, max_attachment_bytes=max_attachment_bytes)
        self.mailbox = Mailbox(config)
        self.folder: Folder | None = None
        self.pending: list[int] = []  # UIDs of the last poll, marked once stored
        # Held by the thread talking to the server, for as long as it does (a cancelled
        # poll's thread may still be in IDLE): closing then means cutting the line.
        self.talking = threading.Lock()
        self.next_check = 0.0  # when polling without IDLE
        where = f"{config.imap_host.lower()}:{config.imap_port}/{config.imap_folder}"
        self.where = f"{config.imap_username}@{where}"  # the folder a cursor belongs to
        self.options = ParseOptions(
            own_addresses=frozenset({config.from_address.lower()} - {""}),
            max_attachment_bytes=max_attachment_bytes,
            max_message_bytes=config.max_message_bytes,
        )

    async def _run(self, call: Callable[..., T], *args: object) -> T:
        return await asyncio.to_thread(self._talk, call, *args)

    def _talk(self, call: Callable[..., T], *args: object) -> T:
        with self.talking:
            return call(*args)

    async def _imap_problem(self) -> str | None:
        """The folder stays open for `start` (`aclose` closes it)."""
        config = self.config
        try:
            self.folder = await self._run(self.mailbox.open, CHECK_TIMEOUT_SECONDS)
        except Exception as exc:
            return reach.problem(
                "IMAP",
                config.imap_host,
                config.imap_port,
                config.imap_tls,
                CHECK_TIMEOUT_SECONDS,
                exc,
            )
        return None

    async def start(self, cursor: str | None) -> str | None:
        if self.folder is None:
            self.folder = await self._run(self.mailbox.open)
        stored = Cursor.load(cursor)
        # An older cursor names no folder: it is this one if its UIDVALIDITY says so.
        if stored is not None and (
            stored.folder == self.where
            or (not stored.folder and stored.uidvalidity == self.folder.uidvalidity)
        ):
            # The same folder (rebuilt or not: `poll` handles a new UIDVALIDITY).
            return Cursor(stored.uidvalidity, stored.uid, self.where, stored.until).dump()
        return (await self._run(self._first)).dump()

    async def poll(self, cursor: str | None) -> tuple[list[InboundItem], str | None]:
        if self.folder is None:
            self.folder = await self._run(self.mailbox.open)
        state = Cursor.load(cursor)
        if state is not None and state.folder not in ("", self.where):
            # Only when the save that changed the folder raced a poll of the old one.
            log.warning("inbox %d: the cursor is another folder's; starting anew", self.inbox_id)
            state = None
        if state is None:
            # An inbox saved before its starting point was decided at the save.
            return [], (await self._run(self._first)).dump()
        if state.uidvalidity != self.folder.uidvalidity:
            # Saved before anything is fetched: the re-scan starts where it was decided.
            return [], (await self._run(self._rescan)).dump()
        idle = self.config.imap_idle and self.mailbox.idle_supported
        if not idle and not await self._due():
            return [], state.dump()
        if idle:
            uids = await self._run(self.mailbox.wait_after, state.uid, IDLE_SECONDS)
        else:
            uids = await self._run(self.mailbox.uids_after, state.uid)
        if not uids:
            return [], state.dump()
        items, last = await self._run(self._collect, uids)
        self.pending = uids[: uids.index(last) + 1]
        if len(self.pending) < len(uids):
            self.next_check = 0.0  # more is waiting: no pause before the next batch
        if state.until is not None and last <= state.until:
            log.info(
                "inbox %d: importing existing mail: up to UID %d of %d",
                self.inbox_id,
                last,
                state.until,
            )
        return items, state.after(last).dump()

    async def committed(self, cursor: str | None) -> None:
        uids, self.pending = self.pending, []
        if not uids:
            return
        try:
            await self._run(self.mailbox.done, uids)
        except Exception as exc:
            log.warning(
                "inbox %d: %d stored messages not marked on the server: %s",
                self.inbox_id,
                len(uids),
                _readable(exc),
            )
            await self.aclose()

    async def aclose(self) -> None:
        self.folder = None
        if self.talking.locked():
            self.mailbox.abort()  # a thread is still waiting in IDLE: cut it short
        else:
            await self._run(self.mailbox.close)

    async def _due(self) -> bool:
        """Polling without IDLE: wait for the next check (at most IDLE_SECONDS, so the
        poll returns in time); whether it is due now."""
        remaining = self.next_check - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(min(remaining, IDLE_SECONDS))
            if time.monotonic() < self.next_check:
                await self._run(self.mailbox.noop)  # keeps the connection alive
                return False
        self.next_check = time.monotonic() + self.config.poll_interval_seconds
        return True

    def _open_folder(self) -> Folder:
        assert self.folder is not None  # noqa: S101 - check, start and poll open it
        return self.folder

    def _first(self) -> Cursor:
        """Where to read from in a folder seen for the first time: after what is in it now,
        except the newest `import_existing` messages (since `import_since`)."""
        folder = self._open_folder()
        latest = (folder.uidnext or 1) - 1
        wanted = self.mailbox.newest(self.config.import_existing, self.config.import_since)
        if not wanted:
            return Cursor(folder.uidvalidity, latest, self.where)
        log.info("inbox %d: importing %d existing messages", self.inbox_id, len(wanted))
        return Cursor(folder.uidvalidity, wanted[0] - 1, self.where, wanted[-1])

    def _rescan(self) -> Cursor:
        """UIDVALIDITY changed: the old UIDs mean nothing. Re-read what may not be stored
        (unseen mail, or all of it when stored mail is moved away); Message-IDs dedup."""
        folder = self._open_folder()
        log.warning("inbox %d: UIDVALIDITY changed; re-scanning the folder", self.inbox_id)
        if self.config.processed_folder:
            return Cursor(folder.uidvalidity, 0, self.where)
        first = self.mailbox.first_uid(["UNSEEN"])
        after = first - 1 if first is not None else (folder.uidnext or 1) - 1
        return Cursor(folder.uidvalidity, after, self.where)

    def _collect(self, uids: list[int]) -> tuple[list[InboundItem], int]:
        """Fetch and parse the next batch (bounded in count and bytes); the last UID read."""
        sizes = self.mailbox.sizes(uids[:BATCH_MESSAGES])
        chosen: list[int] = []
        total = 0
        for uid in uids[:BATCH_MESSAGES]:
            size = min(sizes.get(uid, 0), self.config.max_message_bytes)
            if chosen and total + size > BATCH_BYTES:
                break
            chosen.append(uid)
            total += size
        small = [u for u in chosen if sizes.get(u, 0) <= self.config.max_message_bytes]
        fetched: dict[int, Fetched] = {}
        for start in range(0, len(small), FETCH_CHUNK):
            for item in self.mailbox.fetch(small[start : start + FETCH_CHUNK]):
                fetched[item.uid] = item
        for uid in chosen:
            if uid not in fetched and uid in sizes:
                big = self.mailbox.fetch_start(uid, sizes[uid], OVERSIZE_TEXT_BYTES)
                if big is not None:
                    fetched[uid] = big
        items: list[InboundItem] = []
        for uid in chosen:
            if uid in fetched:  # (a message expunged meanwhile is simply gone)
                message = self._parse(fetched[uid])
                if message is not None:
                    items.append(message)
                    if (nowhere := nowhere_to_reply(message)) is not None:
                        items.append(nowhere)
        return items, chosen[-1]

    def _parse(self, fetched: Fetched) -> InboundMessage | None:
        options = self.options
        if fetched.full_size is not None:
            options = ParseOptions(
                own_addresses=options.own_addresses,
                max_attachment_bytes=options.max_attachment_bytes,
                max_message_bytes=options.max_message_bytes,
                full_size=fetched.full_size,
            )
        message = parse_email(fetched.raw, options)
        if is_own_id(message.external_id):
            log.info("inbox %d: UID %d is our own reply; not imported", self.inbox_id, fetched.uid)
            return None
        return message


def _readable(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:  # "Connection refused", not its repr
        return exc.strerror
    text = str(exc)
    if isinstance(text, str) and text.startswith("b'"):
        text = text[2:-1]
    return text or type(exc).__name__

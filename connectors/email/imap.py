"""One IMAP connection to one folder (blocking: imapclient; the connector runs it in a thread,
one call at a time)."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from datetime import date

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from connectors.email.config import EmailConfig

log = logging.getLogger(__name__)

# Socket timeout for every command; an IDLE wait is bounded separately (and shorter).
TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Folder:
    uidvalidity: int
    uidnext: int | None


@dataclass(frozen=True, slots=True)
class Fetched:
    uid: int
    raw: bytes
    full_size: int | None  # set when `raw` is only the start of an oversized message


class Mailbox:
    def __init__(self, config: EmailConfig) -> None:
        self.config = config
        self.client: IMAPClient | None = None
        self.idle_supported = False

    def open(self) -> Folder:
        config = self.config
        client = IMAPClient(
            config.imap_host,
            config.imap_port,
            ssl=config.imap_tls == "ssl",
            ssl_context=ssl.create_default_context(),
            timeout=TIMEOUT_SECONDS,
        )
        try:
            if config.imap_tls == "starttls":
                client.starttls(ssl.create_default_context())
            client.login(config.imap_username, config.imap_password)
            info = client.select_folder(config.imap_folder)
            self.idle_supported = client.has_capability("IDLE")
        except BaseException:
            _quietly_close(client)
            raise
        self.client = client
        uidnext = info.get(b"UIDNEXT")
        return Folder(int(info[b"UIDVALIDITY"]), int(uidnext) if uidnext is not None else None)

    def _client(self) -> IMAPClient:
        if self.client is None:
            raise ConnectionError("the IMAP connection is closed")
        return self.client

    def uids_after(self, uid: int) -> list[int]:
        # "N:*" always matches the highest UID, even below N: filter.
        found = self._client().search(["UID", f"{uid + 1}:*"])
        return sorted(u for u in found if u > uid)

    def first_uid(self, criteria: list[str | date]) -> int | None:
        found = self._client().search(criteria)
        return min(found) if found else None

    def newest(self, count: int, since: date | None) -> list[int]:
        criteria: list[str | date] = ["SINCE", since] if since else ["ALL"]
        return sorted(self._client().search(criteria))[-count:] if count else []

    def sizes(self, uids: list[int]) -> dict[int, int]:
        answer = self._client().fetch(uids, ["RFC822.SIZE"])
        return {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in answer.items()}

    def fetch(self, uids: list[int]) -> list[Fetched]:
        answer = self._client().fetch(uids, ["BODY.PEEK[]"])
        return [
            Fetched(uid, bytes(answer[uid].get(b"BODY[]") or b""), None)
            for uid in uids
            if uid in answer
        ]

    def fetch_start(self, uid: int, full_size: int, text_bytes: int) -> Fetched | None:
        """Headers and the first `text_bytes` of the body of an oversized message."""
        answer = self._client().fetch(
            [uid], ["BODY.PEEK[HEADER]", f"BODY.PEEK[TEXT]<0.{text_bytes}>"]
        )
        data = answer.get(uid)
        if data is None:
            return None
        header = bytes(data.get(b"BODY[HEADER]") or b"")
        text = next((bytes(v or b"") for k, v in data.items() if k.startswith(b"BODY[TEXT]")), b"")
        return Fetched(uid, header + text, full_size)

    def wait_after(self, uid: int, seconds: float) -> list[int]:
        """The UIDs after `uid`, waiting up to `seconds` in IDLE when there are none yet.

        The search and the IDLE go out back to back: Dovecot announces only mail that
        arrives while it idles, so any gap between them is mail noticed one wait late."""
        found = self.uids_after(uid)
        if found:
            return found
        client = self._client()
        client.idle()
        try:
            client.idle_check(timeout=seconds)
        finally:
            client.idle_done()  # raises if the connection dropped meanwhile
        return self.uids_after(uid)

    def noop(self) -> None:
        self._client().noop()

    def done(self, uids: list[int]) -> None:
        """Mark stored messages: flag \\Seen, or move them to the processed folder."""
        client = self._client()
        target = self.config.processed_folder
        if not target:
            client.add_flags(uids, [b"\\Seen"], silent=True)
        elif client.has_capability("MOVE"):
            client.move(uids, target)
        else:
            client.copy(uids, target)
            client.add_flags(uids, [b"\\Deleted"], silent=True)
            client.uid_expunge(uids)

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            _quietly_close(client, logout=True)

    def abort(self) -> None:
        """Cut the connection from another thread (unblocks a waiting IDLE)."""
        client = self.client
        if client is not None:
            _quietly_close(client)


def _quietly_close(client: IMAPClient, *, logout: bool = False) -> None:
    try:
        if logout:
            client.logout()
        else:
            client.shutdown()
    except (IMAPClientError, OSError) as exc:
        log.debug("closing the IMAP connection: %r", exc)
    except Exception as exc:
        log.debug("closing the IMAP connection: %r", exc)

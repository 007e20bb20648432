"""One IMAP connection to one folder (blocking: imapclient; the connector runs it in a thread,
one call at a time)."""

from __future__ import annotations

import logging
import ssl
import time
from dataclasses import dataclass
from datetime import date

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from connectors.email.config import EmailConfig

log = logging.getLogger(__name__)

# Socket timeout for every command; an IDLE wait is bounded separately (and shorter).
TIMEOUT_SECONDS = 60.0
# RFC 2177: a client re-issues IDLE within 29 minutes, or the server may drop it.
REIDLE_SECONDS = 20 * 60.0


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
        # A second connection that stays in IDLE (see `wait_after`), and since when.
        self.watcher: IMAPClient | None = None
        self.watching_since = 0.0

    def _connect(
        self, *, readonly: bool, timeout: float = TIMEOUT_SECONDS
    ) -> tuple[IMAPClient, dict[bytes, object]]:
        config = self.config
        client = IMAPClient(
            config.imap_host,
            config.imap_port,
            ssl=config.imap_tls == "ssl",
            ssl_context=ssl.create_default_context(),
            timeout=timeout,
        )
        try:
            if config.imap_tls == "starttls":
                client.starttls(ssl.create_default_context())
            client.login(config.imap_username, config.imap_password)
            info = client.select_folder(config.imap_folder, readonly=readonly)
        except BaseException:
            _quietly_close(client)
            raise
        return client, info

    def open(self, timeout: float = TIMEOUT_SECONDS) -> Folder:
        client, info = self._connect(readonly=False, timeout=timeout)
        self.idle_supported = client.has_capability("IDLE")
        self.client = client
        uidnext = info.get(b"UIDNEXT")
        validity = info[b"UIDVALIDITY"]
        assert isinstance(validity, int)  # noqa: S101 - imapclient parses it as a number
        return Folder(validity, int(uidnext) if isinstance(uidnext, int) else None)

    def _client(self) -> IMAPClient:
        if self.client is None:
            raise ConnectionError("the IMAP connection is closed")
        return self.client

    def uids_after(self, uid: int) -> list[int]:
        client = self._client()
        # Dovecot's SEARCH skips re-reading the folder when it read it seconds ago; NOOP
        # always reads it, so mail that another connection saw arrive is found.
        client.noop()
        # "N:*" always matches the highest UID, even below N: filter.
        found = client.search(["UID", f"{uid + 1}:*"])
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
        """The UIDs after `uid`, waiting up to `seconds` for new mail when there are none yet.

        A server announces in IDLE only mail that arrives after the IDLE began (Dovecot
        does not even look at mail that came a moment before), so a connection that
        searches, then idles, misses whatever arrives in between until its next search.
        The wait is on a second connection that is already idling before the search:
        whatever arrives after the search, it announces."""
        watcher = self._watching()
        found = self.uids_after(uid)
        if found:
            return found
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            started = time.monotonic()
            responses = watcher.idle_check(timeout=remaining)
            if any(_is_exists(r) for r in responses):
                break
            if not responses and time.monotonic() - started < remaining * 0.9:
                # Readable, yet nothing to read: the server closed the connection.
                self._stop_watching()
                raise ConnectionError("the IMAP connection waiting for new mail was closed")
        return self.uids_after(uid)

    def _watching(self) -> IMAPClient:
        """The idling connection, with what it announced so far read and dropped: the
        search that follows covers it."""
        watcher = self.watcher
        if watcher is not None and time.monotonic() - self.watching_since < REIDLE_SECONDS:
            watcher.idle_check(timeout=0)
            return watcher
        if watcher is not None:
            try:
                watcher.idle_done()
            except BaseException:
                self._stop_watching()
                raise
        else:
            watcher, _ = self._connect(readonly=True)
            self.watcher = watcher
        watcher.idle()
        self.watching_since = time.monotonic()
        return watcher

    def _stop_watching(self) -> None:
        watcher, self.watcher = self.watcher, None
        if watcher is not None:
            _quietly_close(watcher)

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
        self._stop_watching()
        client, self.client = self.client, None
        if client is not None:
            _quietly_close(client, logout=True)

    def abort(self) -> None:
        """Cut the connections from another thread (unblocks a waiting IDLE)."""
        for client in (self.watcher, self.client):
            if client is not None:
                _quietly_close(client)


def _is_exists(response: object) -> bool:
    """Whether an IDLE response announces new mail (`* 12 EXISTS`)."""
    return isinstance(response, tuple) and len(response) > 1 and response[1] == b"EXISTS"


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

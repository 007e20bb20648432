"""A real IMAP server (Debian's Dovecot, without systemd) and a real SMTP server (aiosmtpd)
on loopback, for the e-mail tests. Each test gets its own mail user, so one server serves a
whole test session.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from imapclient import IMAPClient

from tests.support.servers import free_port

_users = itertools.count(1)
USERS = 500
PASSWORD = "secret-password"
_DOVECOT_PATHS = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")


def _dovecot_binary() -> str:
    found = shutil.which("dovecot") or next((p for p in _DOVECOT_PATHS if os.path.exists(p)), None)
    if found is None:
        raise RuntimeError(
            "dovecot not found: install the Debian package 'dovecot-imapd' "
            "(apt-get install -y dovecot-imapd, or run scripts/install-system-deps.sh)"
        )
    return found


@dataclass
class MailUser:
    server: Dovecot
    name: str
    password: str

    @property
    def address(self) -> str:
        return f"{self.name}@example.test"

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", self.server.port, ssl=False, timeout=10)
        client.login(self.name, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            client.append(folder, raw)
        finally:
            client.logout()

    def seen(self, folder: str = "INBOX") -> dict[int, bool]:
        """UID → whether the message is flagged \\Seen."""
        client = self.client()
        try:
            client.select_folder(folder, readonly=True)
            flags = client.get_flags(client.search(["ALL"]))
        finally:
            client.logout()
        return {uid: b"\\Seen" in f for uid, f in flags.items()}


@dataclass
class Dovecot:
    port: int
    root: Path
    config: Path
    binary: str
    _stopped: bool = field(default=False, repr=False)

    def add_user(self) -> MailUser:
        """A mailbox of its own. The users exist from the start: Dovecot notices a changed
        passwd-file by its modification time, too coarse for users added a moment apart."""
        number = next(_users)
        if number > USERS:
            raise RuntimeError(f"more than {USERS} mail users in one session")
        return MailUser(self, f"user{number}", PASSWORD)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        subprocess.run(
            [self.binary, "-c", str(self.config), "stop"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _config(root: Path, port: int, uid: str, gid: str) -> str:
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
first_valid_gid = 1
mail_max_userip_connections = 200
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
# No growing penalty for failed logins (2, 4, 8, then 15 s from one address): tests that
# mistype a password on purpose would slow down each other's.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _tail(path: Path) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-20:])
    except OSError:
        return ""


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            return s.recv(64).startswith(b"* OK")
    except OSError:
        return False


def start_dovecot() -> Dovecot:
    binary = _dovecot_binary()
    # Outside pytest's 0700 temp dir: Dovecot reads the mail as `nobody`.
    root = Path(tempfile.mkdtemp(prefix="panjereh-dovecot-", dir="/tmp"))
    root.chmod(0o755)
    (root / "mail").mkdir()
    (root / "home").mkdir()
    (root / "passwd").write_text(
        "".join(f"user{n}:{{PLAIN}}{PASSWORD}\n" for n in range(1, USERS + 1))
    )
    (root / "passwd").chmod(0o644)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        uid, gid = "nobody", "nogroup"
        for path in (root / "mail", root / "home"):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
    else:
        uid, gid = str(os.getuid()), str(os.getgid())
    last = ""
    for _ in range(3):
        port = free_port()
        config = root / "dovecot.conf"
        config.write_text(_config(root, port, uid, gid))
        # The daemon inherits stdout/stderr: a file, not a pipe nobody would ever close.
        with (root / "start.log").open("w") as out:
            result = subprocess.run(
                [binary, "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=30,
                check=False,
            )
        deadline = time.monotonic() + 10
        while result.returncode == 0 and time.monotonic() < deadline:
            if _listening(port):
                server = Dovecot(port, root, config, binary)
                atexit.register(server.stop)
                return server
            time.sleep(0.02)
        last = (root / "start.log").read_text() + _tail(root / "dovecot.log")
        subprocess.run(
            [binary, "-c", str(config), "stop"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
    shutil.rmtree(root, ignore_errors=True)
    raise RuntimeError(f"Dovecot did not start: {last}")


# --------------------------------------------------------------------------- SMTP


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class SmtpSink:
    """What a real SMTP server received; it can be told to refuse (`refuse = "550 …"`)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: str | None = None
        self.refuse_once: str | None = None  # refuses the next recipient only
        self.changed = threading.Condition()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse_once is not None:
            refusal, self.refuse_once = self.refuse_once, None
            return refusal
        if self.refuse is not None:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        with self.changed:
            self.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
            )
            self.changed.notify_all()
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def reset(self) -> None:
        with self.changed:
            self.received.clear()
            self.refuse = self.refuse_once = None


@dataclass
class SmtpServer:
    port: int
    sink: SmtpSink
    controller: Controller

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.controller.stop()


def start_smtp() -> SmtpServer:
    sink = SmtpSink()
    for _ in range(3):
        port = free_port()  # aiosmtpd 1.4.6 cannot bind port 0
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        try:
            controller.start()
        except Exception:  # noqa: S112 - the port was taken meanwhile: try another
            continue
        return SmtpServer(port, sink, controller)
    raise RuntimeError("the SMTP server did not start")

"""Why a mail server could not be used, in one sentence an admin setting up a mailbox can
act on: which server (IMAP or SMTP, host:port) and what failed (the connection refused,
no answer, TLS, the login), rather than a Python exception."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator

from imapclient.exceptions import LoginError

from connectors.email.config import Tls

# The usual port of each protocol's security setting, for a TLS failure's hint.
_USUAL_PORTS = {"IMAP": {"ssl": 993, "starttls": 143}, "SMTP": {"ssl": 465, "starttls": 587}}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it was raised from or during (smtplib turns a timeout into
    "Connection unexpectedly closed: timed out")."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _words(value: object) -> str:
    """A server's answer as text: imapclient passes on the raw bytes."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if text.startswith(("b'", 'b"')) and text.endswith(text[1]):
        text = text[2:-1]
    return " ".join(text.split()).rstrip(".")  # the sentence has its own full stop


def _what_failed(protocol: str, tls: Tls, timeout: float, exc: BaseException) -> str:
    for cause in _chain(exc):
        if isinstance(cause, smtplib.SMTPAuthenticationError | LoginError):
            said = (
                f"{cause.smtp_code} {_words(cause.smtp_error)}"
                if isinstance(cause, smtplib.SMTPAuthenticationError)
                else _words(cause)
            )
            return f"rejected the login: {said} (check the user name and password)"
        if isinstance(cause, ConnectionRefusedError):
            return "refused the connection: check the port, and that the server is running"
        if isinstance(cause, TimeoutError):
            return f"did not answer within {timeout:g} seconds"
        if isinstance(cause, socket.gaierror | UnicodeError):
            return "could not be found: check the host name"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"sent a TLS certificate that is not valid: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            usual = _USUAL_PORTS[protocol]
            return (
                f"did not complete a TLS handshake ({tls}): check the security setting "
                f"(ssl is usually port {usual['ssl']}, starttls {usual['starttls']})"
            )
        if isinstance(cause, smtplib.SMTPResponseException):
            return f"answered {cause.smtp_code} {_words(cause.smtp_error)}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"could not be reached: {exc.strerror}"
    return f"answered: {_words(exc) or type(exc).__name__}"


def problem(
    protocol: str, host: str, port: int, tls: Tls, timeout: float, exc: BaseException
) -> str:
    """`exc`, raised while connecting and logging in to this server, as one sentence."""
    return f"The {protocol} server {host}:{port} {_what_failed(protocol, tls, timeout, exc)}."

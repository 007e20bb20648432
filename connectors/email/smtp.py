"""Replies out by SMTP: a threaded MIME message, and the server's answer as a send outcome."""

from __future__ import annotations

import html
import re
import secrets
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from connectors.base import OutboundMessage, PermanentSendError, SendError, TransientSendError
from connectors.email.config import EmailConfig
from connectors.email.parser import OWN_ID_PREFIX

_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|ref|رد|پاسخ)\s*:", re.IGNORECASE)
_MAX_REFERENCES = 20
TIMEOUT_SECONDS = 30.0


def subject_for(subject: str | None, conversation_id: int) -> str:
    """ "Re: <the thread's subject> [#123]": the number lets a reply that lost its headers
    find its conversation (only when its sender is that conversation's customer)."""
    text = " ".join((subject or "").split()) or "Your message"
    if not _REPLY_PREFIX.match(text):
        text = f"Re: {text}"
    tag = f"[#{conversation_id}]"
    return text if tag in text else f"{text} {tag}"


def new_message_id(message_id: int, from_address: str) -> str:
    domain = from_address.rpartition("@")[2] or "panjereh.invalid"
    return f"{OWN_ID_PREFIX}{message_id}.{secrets.token_hex(8)}@{domain}"


def _html_of(text: str) -> str:
    paragraphs = "".join(
        f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>"
        for block in re.split(r"\n{2,}", text.strip())
    )
    # dir="auto": Persian and Arabic replies read right to left in the customer's client.
    return f'<!DOCTYPE html><html><body><div dir="auto">{paragraphs}</div></body></html>'


def compose(config: EmailConfig, msg: OutboundMessage, message_id: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = formataddr((config.from_name or msg.sender_name or "", config.from_address))
    mail["Reply-To"] = config.from_address
    mail["To"] = msg.to.value
    mail["Subject"] = subject_for(msg.subject, msg.conversation_id)
    mail["Date"] = format_datetime(_now())
    mail["Message-ID"] = f"<{message_id}>"
    if msg.automatic:
        mail["Auto-Submitted"] = "auto-replied"
    thread = list(dict.fromkeys(r for r in (*msg.references, msg.in_reply_to) if r))
    if len(thread) > _MAX_REFERENCES:  # the root and the most recent (RFC 5322 §3.6.4)
        thread = [thread[0], *thread[-(_MAX_REFERENCES - 1) :]]
    if msg.in_reply_to:
        mail["In-Reply-To"] = f"<{msg.in_reply_to}>"
    if thread:
        mail["References"] = " ".join(f"<{r}>" for r in thread)
    mail.set_content(msg.text)
    mail.add_alternative(msg.html or _html_of(msg.text), subtype="html")
    for attachment in msg.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(
            attachment.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return mail


def _now() -> datetime:
    return datetime.now(UTC)


def _connect(config: EmailConfig, timeout: float = TIMEOUT_SECONDS) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if config.smtp_tls == "ssl":
        return smtplib.SMTP_SSL(
            config.smtp_host, config.smtp_port, timeout=timeout, context=context
        )
    client = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=timeout)
    if config.smtp_tls == "starttls":
        client.starttls(context=context)
    return client


def _reason(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {' '.join(text.split())}"


def _classify(exc: Exception) -> SendError:
    """The server's own words, and whether trying again can help (4xx) or not (5xx)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return PermanentSendError(f"the SMTP server refused the login: {_reason(exc)}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [(code, reason) for code, reason in exc.recipients.values()]
        code, reason = codes[0] if codes else (550, b"recipient refused")
        fake = smtplib.SMTPResponseException(code, reason)
        error_class = PermanentSendError if code >= 500 else TransientSendError
        return error_class(f"the SMTP server refused the recipient: {_reason(fake)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        error_class = PermanentSendError if exc.smtp_code >= 500 else TransientSendError
        return error_class(f"the SMTP server answered {_reason(exc)}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentSendError(f"the SMTP server does not support this: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentSendError(f"the SMTP server's certificate is not valid: {exc}")
    if isinstance(exc, UnicodeError):  # a host name that cannot be looked up (IDNA)
        return PermanentSendError(f"the SMTP server's name is not valid: {exc}")
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or repr(exc)
    return TransientSendError(f"the SMTP server could not be reached: {why}")


def deliver(config: EmailConfig, mail: EmailMessage) -> None:
    """Send one message (blocking: run it in a thread). Raises SendError."""
    try:
        with _connect(config) as client:
            if config.smtp_username:
                client.login(config.smtp_username, config.smtp_password)
            client.send_message(mail)
    except (smtplib.SMTPException, OSError, UnicodeError) as exc:
        raise _classify(exc) from exc


def verify(config: EmailConfig, timeout: float) -> None:
    """Connect and log in without sending (blocking). Raises what the connection raised
    (smtplib's errors, OSError, UnicodeError for a host name IDNA refuses)."""
    with _connect(config, timeout) as client:
        client.ehlo()
        if config.smtp_username:
            client.login(config.smtp_username, config.smtp_password)

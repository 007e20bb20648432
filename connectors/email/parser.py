"""One raw e-mail → one InboundMessage. Pure: no I/O, never raises on bad input.

Whatever the sender's software got wrong (unknown charsets, raw 8-bit headers, broken MIME),
the message is stored with its raw bytes and what could be read, and each problem is listed
in `metadata["parse_warnings"]` for the agents.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import hashlib
import html
import mimetypes
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from charset_normalizer import from_bytes

from connectors.addresses import InvalidAddress, normalize_email
from connectors.base import (
    Address,
    AddressKind,
    Attachment,
    InboundMessage,
    Party,
    ReachabilityChange,
)
from connectors.email.text import Split, html_to_text, split_reply, unflow

# Our own Message-IDs start with this, so a copy of our reply coming back in (a Bcc, a
# forwarding rule) is recognised and never answered.
OWN_ID_PREFIX = "panjereh."
# A message without a sender address is its own unknown sender (`unknown-sender.<digest>
# @invalid`): one shared address would make every such stranger one contact.
UNKNOWN_SENDER_PREFIX = "unknown-sender."

_MAX_HEADER_FIELD = 16 * 1024  # longer header fields are cut before parsing (hostile input)
_MAX_TEXT = 512 * 1024  # characters of body text kept in the message (the raw keeps it all)
_MAX_REFERENCES = 50
_MAX_WARNINGS = 20
_DETECT_SAMPLE = 64 * 1024
_FUTURE_SLACK = timedelta(days=1)  # a Date further ahead than this is a wrong clock, not news
_SUBJECT_NUMBER = re.compile(r"\[#(\d{1,12})\]")
# "Fwd:", Outlook's "FW:", and their translations (German, French, Spanish, Portuguese…).
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|wg|tr|rv|enc)\s*:", re.IGNORECASE)
_MSGID = re.compile(r"<([^<>\s]+)>")
_ZONE_AFTER_GMT = re.compile(r"\b(?:GMT|UTC)\s*([+-]\d{4})\b")

# Names mail software writes that Python does not know, or knows as a subset of what is
# really meant (HTML5's rules: Latin-1 labels mean windows-1252, GB2312 means GB18030).
_CHARSET_ALIASES = {
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "iso-8859-6-e": "iso-8859-6",
    "windows-874": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "big5": "big5hkscs",
    "unicode-1-1-utf-7": "utf-7",
    "iso-2022-jp": "iso2022_jp_2",
    "utf8": "utf-8",
    "utf8mb4": "utf-8",  # MySQL's name for UTF-8, leaking out of web forms
}

# An auto-reply's subject names itself before a colon ("Automatic reply: …", "پاسخ خودکار:
# …"); a person asking "Automatic reply feature is broken" is not one. A mail system's
# notices ("Undeliverable: …", "Delivery Status Notification (Failure)") need no colon.
_AUTO_SUBJECT = re.compile(
    r"^\s*((auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office( auto-?reply)?|"
    r"abwesenheit(snotiz)?|réponse automatique|respuesta automática|risposta automatica|"
    r"automatyczna odpowiedź|automatisch antwoord|پاسخ خودکار|رد تلقائي)\s*:|"
    r"undeliverable|undelivered mail|delivery status notification|"
    r"mail delivery (failed|failure|subsystem)|returned mail)",
    re.IGNORECASE,
)
_EXTENSIONS = {
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "text/rfc822-headers": ".txt",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
}
_ENCRYPTED = frozenset(
    {"application/pkcs7-mime", "application/x-pkcs7-mime", "multipart/encrypted"}
)
# "begin 644 name" … "end": uuencoded files pasted into a text body by old mail software.
_UUENCODED = re.compile(
    r"^begin [0-7]{3,4} (?P<name>[^\n]+)\n(?P<data>(?:[^\n]*\n){1,200000}?)end[ \t]*$",
    re.MULTILINE,
)
_UU_END = re.compile(r"^end[ \t]*$", re.MULTILINE)
_BOUNDARY_LINE = re.compile(r"^--(\S{1,70}?)(--)?[ \t]*\r?$", re.MULTILINE)
_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)
# noreply@, no-reply+orders@, do-not-reply@, donotreply@: nobody reads what is sent back.
_NO_REPLY_SENDERS = re.compile(r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply)([-+._][^@]*)?@", re.I)


class _ReadingPolicy(EmailPolicy):
    """`policy.default`, except that a header value is parsed once: the standard library
    parses it again on every access (Content-Type alone is read a score of times per
    part while walking a message), which made header parsing most of the cost of a mail."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        if hasattr(value, "name"):  # already a header object
            return value
        value = "".join(_LINE_BREAK.split(value))  # as the standard policy does
        factory: Callable[[str, str], str] = self.header_factory
        if len(value) > _CACHED_HEADER_CHARS:  # (bounded memory on hostile headers)
            return factory(name, value)
        return _parsed_header(factory, name, value)


_CACHED_HEADER_CHARS = 1000
_LINE_BREAK = re.compile(r"\n|\r")  # email.policy's own (not str.splitlines: fewer breaks)


@functools.lru_cache(maxsize=4096)
def _parsed_header(factory: Callable[[str, str], str], name: str, value: str) -> str:
    return factory(name, value)


READING = _ReadingPolicy()


@dataclass(frozen=True, slots=True)
class ParseOptions:
    own_addresses: frozenset[str] = frozenset()  # lower-cased: mail from these is ours
    max_attachment_bytes: int = 25 * 1024 * 1024
    # Set when `raw` is only the beginning of a message of this many bytes (over the size
    # limit): its attachments are listed, not stored.
    full_size: int | None = None
    max_message_bytes: int | None = None
    # A forwarded message is summarised (sender, subject, text) for the agent; the messages
    # forwarded inside it are not, so a hostile chain of forwards costs two parses, not n².
    summarize_forwards: bool = True


@dataclass
class _State:
    options: ParseOptions
    raw: bytes = b""
    warnings: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)  # charsets declared anywhere in the mail
    guessed: str | None = None  # the whole message's undeclared charset, once detected

    def warn(self, text: str) -> None:
        if text not in self.warnings and len(self.warnings) < _MAX_WARNINGS:
            self.warnings.append(text)

    def message_charset(self) -> str | None:
        """One guess for all the undeclared 8-bit text of the message. A subject or a name
        alone is too short to detect (KOI8-R words read as Big5); with the rest of the
        message's 8-bit lines, all written by one program, the guess holds."""
        if self.guessed is None:
            lines = self.raw[: 16 * _DETECT_SAMPLE].splitlines()
            sample = b"\n".join(line for line in lines if not line.isascii())[:_DETECT_SAMPLE]
            best = from_bytes(sample).best() if sample else None
            usable = best is not None and not best.encoding.startswith(("utf_16", "utf_32"))
            self.guessed = best.encoding if best is not None and usable else ""
        return self.guessed or None


def message_ids(value: str | None) -> list[str]:
    """The Message-IDs in a header value, without angle brackets, in order."""
    if not value:
        return []
    found = _MSGID.findall(value)
    if found:
        return found
    return [token.strip("<>,") for token in value.split() if "@" in token]


def is_own_id(message_id: str) -> bool:
    return message_id.startswith(OWN_ID_PREFIX)


def raw_id(raw: bytes) -> str:
    """A stable id for a message without a Message-ID: the same bytes get the same id, so a
    re-scan stores it once."""
    return f"sha256-{_digest(raw)[:40]}@panjereh.invalid"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fingerprint(*parts: str) -> str:
    return _digest("\0".join(parts).encode("utf-8", "surrogatepass"))


def parse_email(raw: bytes, options: ParseOptions | None = None) -> InboundMessage:
    state = _State(options or ParseOptions(), raw)
    try:
        return _parse(raw, state)
    except Exception as exc:
        state.warn(f"the message could not be parsed ({type(exc).__name__}: {exc})")
    try:
        # Its structure is beyond the parser (a thousand nested parts): the headers still
        # say who wrote it and when, and the body is shown as written.
        return _parse(raw, state, structure=False)
    except Exception as exc:
        state.warn(f"its headers could not be read either ({type(exc).__name__}: {exc})")
        return _unreadable(raw, state)


def unknown_sender(raw: bytes) -> str:
    return f"{UNKNOWN_SENDER_PREFIX}{_digest(raw)[:16]}@invalid"


def nowhere_to_reply(message: InboundMessage) -> ReachabilityChange | None:
    """For a message without a sender address: its stand-in address takes no replies, so
    an answer is refused with the reason instead of being sent to `…@invalid`."""
    address = message.sender.address
    if not address.value.startswith(UNKNOWN_SENDER_PREFIX):
        return None
    return ReachabilityChange(
        address,
        reachable=False,
        reason="the message had no sender address: there is nowhere to reply",
        cause=message.external_id,
    )


def _unreadable(raw: bytes, state: _State) -> InboundMessage:
    return InboundMessage(
        external_id=raw_id(raw),
        sender=Party(Address(AddressKind.email, unknown_sender(raw))),
        sent_at=datetime.now(UTC),
        text=raw[:_MAX_TEXT].decode("utf-8", "replace"),
        thread_key=raw_id(raw),
        raw=raw,
        metadata={"parse_warnings": state.warnings},
    )


def _cap_header_fields(raw: bytes, state: _State) -> bytes:
    """The message with every header field cut to a sane length, so a hostile 200 KB
    header costs no more than a normal one. The stored raw keeps the original."""
    end = raw.find(b"\n\n")
    end_crlf = raw.find(b"\r\n\r\n")
    if end_crlf != -1 and (end == -1 or end_crlf < end):
        end = end_crlf
    head = raw if end == -1 else raw[:end]
    if len(head) <= _MAX_HEADER_FIELD:
        return raw
    fields: list[list[bytes]] = []
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
    kept: list[bytes] = []
    for lines in fields:
        size = 0
        for i, line in enumerate(lines):
            size += len(line)
            if size > _MAX_HEADER_FIELD:
                name = lines[0].split(b":", 1)[0].decode("ascii", "replace")
                state.warn(f"header {name} was longer than {_MAX_HEADER_FIELD} bytes; cut")
                lines = lines[:i] or [lines[0][:_MAX_HEADER_FIELD] + b"\r\n"]
                break
        kept.extend(lines)
    return b"".join(kept) + (b"" if end == -1 else raw[end:])


# A header field's start (RFC 5322's field name, then a colon), a folded line, and the
# fields that show a run of lines is a message's header block, not text.
_FIELD_START = re.compile(rb"[!-9;-~]+:")
_KNOWN_FIELD = re.compile(
    rb"(x-[!-9;-~]+|content-[a-z-]+|mime-version|message-id|date|from|sender|to|cc|subject|"
    rb"reply-to|in-reply-to|references|received|return-path|dkim-signature|arc-[a-z-]+|"
    rb"authentication-results|thread-[a-z]+|importance|list-[a-z-]+):",
    re.IGNORECASE,
)
_MAX_STRAY_LINES = 20
_MAX_HEAD_SCAN = 1024 * 1024


def _mend_header_block(raw: bytes, state: _State) -> bytes:
    """The message with stray lines in its header block folded into the field above them.

    Outlook/Exchange sometimes break a long X- header's base64 value onto a line of its own
    at column 0. The standard library stops reading headers at such a line, so Content-Type
    and every field after it became body text. As robust MIME parsers do, when the lines
    after the stray ones are still header fields up to the blank line that ends the block,
    they are read as headers. A body that merely starts without a blank line is left alone:
    it is not followed by known header fields (two at least) and then a blank line."""
    stray: list[int] = []
    starts: list[int] = []  # where each line begins
    known_after = 0  # known fields after the last stray line
    at = 0
    while True:
        if at >= len(raw) or at > _MAX_HEAD_SCAN or len(stray) > _MAX_STRAY_LINES:
            return raw  # no blank line ends a header block
        end = raw.find(b"\n", at)
        end = len(raw) if end == -1 else end + 1
        line = raw[at:end].rstrip(b"\r\n")
        if not line:
            break
        starts.append(at)
        if _FIELD_START.match(line):
            known_after += _KNOWN_FIELD.match(line) is not None
        elif line[:1] not in (b" ", b"\t") and not (at == 0 and line.startswith(b"From ")):
            if at == 0:
                return raw  # no header block at all
            stray.append(len(starts) - 1)
            known_after = 0
        at = end
    if not stray or known_after < 2:
        return raw
    state.warn(
        f"{len(stray)} line(s) in the header block were not header fields (a header value "
        "broken without folding): read as part of the field above them"
    )
    pieces: list[bytes] = []
    previous = 0
    for index in stray:
        pieces += [raw[previous : starts[index]], b" "]
        previous = starts[index]
    return b"".join([*pieces, raw[previous:]])


def _parse(raw: bytes, state: _State, *, structure: bool = True) -> InboundMessage:
    if state.options.full_size is not None:
        state.warn(
            f"the message is {state.options.full_size} bytes, over the "
            f"{state.options.max_message_bytes}-byte limit: its headers and the start of "
            "its text are kept, its attachments only listed"
        )
    source = _cap_header_fields(_mend_header_block(raw, state), state)
    msg = BytesParser(policy=READING).parsebytes(source, headersonly=not structure)
    assert isinstance(msg, EmailMessage)  # noqa: S101 - an EmailPolicy builds EmailMessage
    _collect_hints(msg, state)
    _collect_defects(msg, state)

    delivered_by = _author(msg, state, raw)
    author = _group_author(msg, delivered_by, state)
    sender = _reply_party(msg, author, state)
    own_id = _first_id(msg, "Message-ID", state)
    external_id = own_id or raw_id(raw)
    in_reply_to = next(iter(message_ids(_header(msg, "In-Reply-To", state))), None)
    references = message_ids(_header(msg, "References", state))
    if len(references) > _MAX_REFERENCES:  # the root and the most recent ones matter
        references = [references[0], *references[-(_MAX_REFERENCES - 1) :]]
    subject = _header(msg, "Subject", state)
    subject = " ".join(subject.split())[:1000] if subject else None

    body = _Body(state)
    if structure:
        body.read(msg)
    else:
        body.texts.append(body.text_of(msg))
    text = body.text
    if not text.strip() and body.html:
        text = html_to_text(body.html)
    if not text.strip() and body.forwarded:
        text = body.forwarded[0].get("text", "")
    if len(text) > _MAX_TEXT:
        state.warn(f"the text was longer than {_MAX_TEXT} characters; the rest is in the raw")
        text = text[:_MAX_TEXT]
    # A forward's text below the customer's note is what they want read, not history.
    reply = Split(text, None) if _FORWARD_SUBJECT.match(subject or "") else split_reply(text)

    group = delivered_by.address.value if delivered_by is not author else None
    auto_reason = _auto_reason(
        msg,
        author.address.value,
        sender.address.value,
        state,
        our_group=group in state.options.own_addresses,
    )
    metadata: dict[str, Any] = {"message_id": external_id}
    if sender is not delivered_by:
        metadata["from"] = [delivered_by.address.value]
    for name in ("To", "Cc", "Reply-To"):
        addresses = _mailboxes(msg, name, state)
        if addresses:
            metadata[name.lower().replace("-", "_")] = [a for _, a in addresses][:50]
    if reply.quoted:
        metadata["quoted"] = reply.quoted
    if body.forwarded:
        metadata["forwarded"] = body.forwarded
    if auto_reason:
        metadata["auto_reason"] = auto_reason
    if suppress := _auto_response_suppress(msg, state):
        metadata["auto_response_suppress"] = suppress
    if own_id is None:
        state.warn("no Message-ID: an id was made from the message's bytes")
    sent_at = _date(msg, state)  # before the warnings are taken: it may add one
    if state.warnings:
        metadata["parse_warnings"] = state.warnings

    # What the sender wrote, not how it travelled: copies of one message that came by two
    # routes (different Received headers, re-encoded bodies) are one message.
    fingerprint = _fingerprint(
        sender.address.value,
        " ".join((_raw_header(msg, "Date") or "").split()),
        subject or "",
        text,
        body.html or "",
        *(f"{a.filename} {a.size} {_digest(a.data or b'')}" for a in body.attachments),
    )
    hint = _SUBJECT_NUMBER.search(subject or "")
    root = references[0] if references else in_reply_to or external_id
    return InboundMessage(
        external_id=external_id,
        sender=sender,
        sent_at=sent_at,
        text=reply.new,
        # Scoped by sender: two customers answering one newsletter are two conversations.
        thread_key=f"{sender.address.value} {root}",
        in_reply_to=in_reply_to,
        references=tuple(r for r in references if r != in_reply_to),
        html=body.html,
        subject=subject,
        attachments=tuple(body.attachments),
        is_auto=auto_reason is not None,
        raw=raw,
        fingerprint=fingerprint if own_id else None,
        metadata=metadata,
        conversation_hint=int(hint.group(1)) if hint else None,
    )


# --------------------------------------------------------------------------- headers


def _collect_hints(msg: Message, state: _State) -> None:
    for part in msg.walk():
        charset = part.get_param("charset")
        if isinstance(charset, str):
            known = _codec(charset)
            if known and known not in state.hints:
                state.hints.append(known)


def _collect_defects(msg: Message, state: _State) -> None:
    for part in msg.walk():
        for defect in part.defects:
            state.warn(f"{type(defect).__name__}: {defect}".rstrip(": "))


def _codec(charset: str | None) -> str | None:
    """Python's codec for a declared charset, or None when Python knows no such charset."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def decode_bytes(data: bytes, declared: str | None, state: _State) -> str:
    """Declared charset, then what the rest of the message suggests (UTF-8 first), then
    UTF-8 with replacement characters: text is always readable, never an error."""
    codec = _codec(declared)
    if declared and codec is None:
        state.warn(f"unknown charset {declared!r}; decoded by guessing")
    candidates = [c for c in (codec, "utf-8", *state.hints) if c]
    if codec == "cp1252" and data.isascii():
        return _lines(data.decode("ascii"))
    if codec in {"cp1252", "ascii"}:
        # Mislabelled 8-bit text is most often UTF-8 (or the message's other charset).
        candidates = ["utf-8", *state.hints, "cp1252"]
    elif codec is not None and _single_byte(codec):
        # A one-byte charset reads any bytes, UTF-8 too, as mojibake; text in one (Persian
        # in windows-1256) is almost never valid UTF-8, so UTF-8 that is valid is UTF-8.
        candidates = ["utf-8", *candidates]
    for candidate in dict.fromkeys(candidates):
        try:
            return _lines(data.decode(candidate))
        except (UnicodeDecodeError, LookupError):
            # UTF-8 cut inside a character or two is still UTF-8: a legacy charset tried
            # next would decode it without error, as mojibake.
            if candidate == "utf-8" and (text := _mostly_utf8(data)) is not None:
                state.warn(f"text not valid in charset {declared or 'utf-8'!r}; bad bytes replaced")
                return _lines(text)
    # UTF-8 with a few broken sequences (a cut multi-byte character) is still UTF-8.
    lenient = data.decode("utf-8", "replace")
    bad = lenient.count("\ufffd")
    if bad <= 1 or bad * 10 <= sum(1 for b in data[:_DETECT_SAMPLE] if b > 0x7F):
        state.warn(f"text not valid in charset {declared or 'utf-8'!r}; bad bytes replaced")
        return _lines(lenient)
    guessed = state.message_charset()
    if guessed is not None:
        try:
            text = data.decode(guessed)
        except UnicodeDecodeError:
            pass
        else:
            state.warn(f"text not valid in charset {declared or 'utf-8'!r}; read as {guessed}")
            return _lines(text)
    # Detection looks at a bounded sample: hostile input costs no more than a normal mail.
    guess = from_bytes(data[:_DETECT_SAMPLE]).best()
    # (Mail text is never UTF-16/32 without saying so; a detector guessing it is wrong.)
    if guess is not None and not guess.encoding.startswith(("utf_16", "utf_32")):
        state.warn(f"text not valid in charset {declared or 'utf-8'!r}; read as {guess.encoding}")
        return _lines(data.decode(guess.encoding, "replace"))
    state.warn(f"text not valid in charset {declared or 'utf-8'!r}; undecodable bytes replaced")
    return _lines(data.decode(codec or "utf-8", "replace"))


def _mostly_utf8(data: bytes) -> str | None:
    """The text as UTF-8 with its few broken sequences replaced, when what is valid holds
    at least four multi-byte characters for each broken one: legacy 8-bit text (Latin-1's
    "Größe") almost never forms even one."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    multibyte = sum(1 for ch in text if ch > "\x7f") - bad
    return text if multibyte >= 4 * max(bad, 1) else None


@functools.lru_cache(maxsize=64)
def _single_byte(codec: str) -> bool:
    """Whether the codec reads each of the bytes 0x80–0xFF as a character of its own (and
    so never fails, whatever the bytes)."""
    try:
        return len(bytes(range(0x80, 0x100)).decode(codec)) == 0x80
    except UnicodeDecodeError:
        return False


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _raw_header(msg: Message, name: str) -> str | None:
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return str(value)
    return None


def _header(msg: EmailMessage, name: str, state: _State) -> str | None:
    """A header's decoded text (RFC 2047 words, raw 8-bit bytes in any charset), or None."""
    raw = _raw_header(msg, name)
    if raw is None:
        return None
    if any("\udc80" <= ch <= "\udcff" for ch in raw):
        # Raw 8-bit bytes in a header (not allowed, but common): the parser kept them as
        # surrogates; decode them like body text.
        raw = decode_bytes(raw.encode("ascii", "surrogateescape"), None, state)
        return _decode_words(raw)
    if "=?" in raw and "?=" in raw:
        # Encoded words decoded here, not by the policy: with the charset names mail
        # software really means (see _decode_words), and those the policy leaves alone.
        return _decode_words(raw)
    try:
        return str(msg[name])
    except Exception:
        state.warn(f"header {name} is malformed; shown as written")
        return _decode_words(raw)


def _decode_words(value: str) -> str:
    unfolded = re.sub(r"\r?\n[ \t]", " ", value).strip()
    try:
        # The names mail software writes, as for bodies: iso-8859-1 words hold windows-1252
        # quotes ("O’Brien"), gb2312 words GB18030's characters.
        chunks = [(c, (_codec(cs) or cs) if cs else cs) for c, cs in decode_header(unfolded)]
    except (ValueError, AssertionError, IndexError):
        return unfolded
    try:
        return str(make_header(chunks))
    except (LookupError, UnicodeError, ValueError, AssertionError):
        # A word not valid in its own charset: decoded leniently, one chunk at a time.
        return "".join(
            chunk if isinstance(chunk, str) else chunk.decode(_codec(charset) or "utf-8", "replace")
            for chunk, charset in chunks
        )


def _addresses(value: str | None) -> list[tuple[str, str]]:
    if not value:
        return []
    return [(name, addr) for name, addr in getaddresses([value]) if "@" in addr]


def _mailboxes(msg: EmailMessage, name: str, state: _State) -> list[tuple[str, str]]:
    """(name, address) of each mailbox in a header. The addresses are read from the header
    as written, and only then each name's encoded words decoded: a name is display text,
    and one that decodes to a line break and another address names no one else. Only a
    header whose addresses are themselves encoded (broken mailers) is decoded first."""
    raw = _raw_header(msg, name)
    if raw is None:
        return []
    if any("\udc80" <= ch <= "\udcff" for ch in raw):  # raw 8-bit bytes (see _header)
        raw = decode_bytes(raw.encode("ascii", "surrogateescape"), None, state)
    written = _addresses(re.sub(r"\r?\n[ \t]", " ", raw))
    if not written:
        return _addresses(_header(msg, name, state))
    return [(" ".join(_decode_words(display).split()), addr) for display, addr in written]


def _reply_party(msg: EmailMessage, author: Party, state: _State) -> Party:
    """Who the answer goes to: the one mailbox Reply-To names when it can take an answer
    (a contact form's visitor, a second address of the author's), else the author. A mail
    system's report stays the mail system's, and a list's post its author's (its Reply-To
    is most often the list, which is no customer)."""
    found = _mailboxes(msg, "Reply-To", state)
    machine = _BOUNCE_SENDERS.match(author.address.value) or _is_report(msg)
    if len(found) != 1 or machine or _is_list_post(msg, state):
        return author
    display, addr = found[0]
    value = _address_value(addr, state)
    unanswerable = _NO_REPLY_SENDERS.match(value) or _BOUNCE_SENDERS.match(value)
    if unanswerable or value in state.options.own_addresses | {author.address.value}:
        return author
    # A bare Reply-To is most often the author's other address; a no-reply author's name
    # is the service's, not the person's.
    service = _NO_REPLY_SENDERS.match(author.address.value)
    name = display.strip() or (None if service else author.name)
    return Party(Address(AddressKind.email, value), name)


def _is_report(msg: EmailMessage) -> bool:
    return msg.get_content_type() == "multipart/report"


def _precedence(msg: EmailMessage, state: _State) -> str:
    return (_header(msg, "Precedence", state) or "").strip().lower()


def _is_list_post(msg: EmailMessage, state: _State) -> bool:
    listed = any(_raw_header(msg, name) is not None for name in ("List-Id", "List-Post"))
    return listed or _precedence(msg, state) in {"bulk", "list"}


def _group_author(msg: EmailMessage, author: Party, state: _State) -> Party:
    """A post that a group delivered with its own address in From (Google Groups does so
    for senders whose domain forbids relaying: "'Maryam' via Support <support@…>") was
    written by who X-Original-From names: every customer writing to a group that is a
    support address would otherwise be the group."""
    found = _mailboxes(msg, "X-Original-From", state)
    if len(found) != 1:
        return author
    display, addr = found[0]
    return Party(Address(AddressKind.email, _address_value(addr, state)), display.strip() or None)


def _author(msg: EmailMessage, state: _State, raw: bytes) -> Party:
    written = _header(msg, "From", state)
    for name in ("From", "Sender", "Reply-To", "Return-Path"):
        found = _mailboxes(msg, name, state)
        if not found:
            continue
        display, addr = found[0]
        value = _address_value(addr, state)
        if name != "From":
            state.warn(f"no usable From header; the sender is taken from {name}")
        elif len(found) > 1:
            others = ", ".join(a for _, a in found[1:4])
            state.warn(f"From names {len(found)} people; replies go to {addr}, not {others}")
        return Party(Address(AddressKind.email, value), display.strip() or _name_only(written))
    state.warn("no sender address in the message; replies cannot be sent")
    return Party(Address(AddressKind.email, unknown_sender(raw)), _name_only(written))


def _address_value(addr: str, state: _State) -> str:
    try:
        return normalize_email(addr)
    except InvalidAddress:
        state.warn(f"sender address {addr!r} is not valid; kept as written")
        return addr.strip().lower()


def _name_only(written: str | None) -> str | None:
    """The sender's name from a From header that holds only a name ("Maryam Ahmadi"), not
    an address or a group ("undisclosed-recipients:;")."""
    name = " ".join((written or "").split()).strip("\"' ")
    if not name or any(c in name for c in "@<>:;,"):
        return None
    return name[:200]


def _first_id(msg: EmailMessage, name: str, state: _State) -> str | None:
    ids = message_ids(_header(msg, name, state))
    return ids[0][:900] if ids else None


def _date(msg: EmailMessage, state: _State) -> datetime:
    value = _raw_header(msg, "Date")
    now = datetime.now(UTC)
    if not value:
        return now
    # "GMT+0330" (JavaScript's Date.toString, some webmails): the offset is what counts.
    written = _ZONE_AFTER_GMT.sub(r"\1", " ".join(value.split()))
    try:
        sent = parsedate_to_datetime(written)
        if sent.tzinfo is None:
            sent = sent.replace(tzinfo=UTC)
        # (A date at the calendar's edge overflows when moved to UTC.)
        sent = sent.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        state.warn(f"unreadable Date {value.strip()[:80]!r}; the time of arrival is used")
        return now
    if sent > now + _FUTURE_SLACK:
        state.warn(f"Date {value.strip()[:80]!r} is in the future; the time of arrival is used")
        return now
    return sent


def _auto_response_suppress(msg: EmailMessage, state: _State) -> str | None:
    """Microsoft's X-Auto-Response-Suppress when it asks for no automatic answer (`All`,
    `AutoReply`): Exchange and Outlook set it on mail people write too, so it marks the
    mail as one not to acknowledge, not as a machine's."""
    value = " ".join((_header(msg, "X-Auto-Response-Suppress", state) or "").split())
    asked = {part.strip().casefold() for part in value.split(",")}
    return value[:100] if asked & {"all", "autoreply"} else None


def _auto_reason(
    msg: EmailMessage, author: str, answered: str, state: _State, *, our_group: bool
) -> str | None:
    """Why this message was sent by a machine (and must never be answered by one). `answered`
    is where an answer would go: a no-reply form's mail with the visitor's Reply-To is a
    person's. A post that `our_group` (a group that is this inbox's address) passed on is
    a customer's mail to the team, whatever list headers the group added."""
    auto_submitted = (_header(msg, "Auto-Submitted", state) or "").strip().lower()
    precedence = _precedence(msg, state)
    subject = _header(msg, "Subject", state) or ""
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in (
        "X-Autoreply",
        "X-Autorespond",
        "X-Autogenerated",
        "X-AutoReply-From",
    ):
        if _raw_header(msg, name) is not None:
            return f"{name} header"
    if precedence in {"junk", "auto_reply"} or (precedence in {"bulk", "list"} and not our_group):
        return f"Precedence: {precedence}"
    if _is_report(msg):
        report = msg.get_param("report-type")
        return f"report ({report})" if isinstance(report, str) else "report"
    if _BOUNCE_SENDERS.match(author):
        return "sent by a mail system"
    if _NO_REPLY_SENDERS.match(answered):
        return "sent from a no-reply address"
    if (_raw_header(msg, "Return-Path") or "").strip() == "<>":
        return "empty Return-Path (a notification)"
    listed = _raw_header(msg, "List-Id") is not None or _raw_header(msg, "List-Unsubscribe")
    if listed and not our_group:
        return "mailing list"
    if author in state.options.own_addresses:
        return "sent from this inbox's own address"
    if _AUTO_SUBJECT.match(subject):
        return "subject of an automatic message"
    return None


# --------------------------------------------------------------------------- bodies


@dataclass(frozen=True, slots=True)
class _Leaf:
    part: Message
    # Inside a multipart/alternative whose other branch has HTML (a text part's), or text
    # (an HTML part's): the same words in another form, not more of them.
    has_html_twin: bool = False
    has_text_twin: bool = False


def _is_content(part: Message) -> bool:
    """A part that is read as itself: text, a file, or an enclosed message (not opened)."""
    return part.get_content_maintype() == "message" or not part.is_multipart()


def _subparts(part: Message) -> list[Message]:
    """A multipart's parts (none for a content part)."""
    if _is_content(part):
        return []
    payload = part.get_payload()
    return [sub for sub in payload if isinstance(sub, Message)] if isinstance(payload, list) else []


def _types_below(msg: Message) -> dict[int, frozenset[str]]:
    """The content types of the content parts under each part (by `id`), in one pass from
    the leaves up: what an alternative's other branches hold is then looked up, not walked
    again for every branch at every level (which nested alternatives made exponential)."""
    below: dict[int, frozenset[str]] = {}
    pending: list[tuple[Message, bool]] = [(msg, False)]
    while pending:
        part, children_done = pending.pop()
        subs = _subparts(part)
        if subs and not children_done:
            pending.append((part, True))
            pending.extend((sub, False) for sub in subs)
        elif _is_content(part):
            below[id(part)] = frozenset({part.get_content_type()})
        else:
            below[id(part)] = frozenset().union(*(below[id(sub)] for sub in subs))
    return below


def _leaves(
    part: Message,
    below: dict[int, frozenset[str]],
    html_twin: bool = False,
    text_twin: bool = False,
) -> Iterator[_Leaf]:
    """The content parts, in order; an enclosed message is one part (not opened)."""
    if _is_content(part):
        yield _Leaf(part, html_twin, text_twin)
        return
    subs = _subparts(part)
    alternative = part.get_content_type() == "multipart/alternative"
    for sub in subs:
        others: frozenset[str] = frozenset()
        if alternative:
            others = frozenset().union(*(below[id(o)] for o in subs if o is not sub))
        yield from _leaves(
            sub, below, html_twin or "text/html" in others, text_twin or "text/plain" in others
        )


_RAW_FILENAME = re.compile(r'(?:file)?name\s*=\s*(?:"([^"]*)"|([^;\s]+))', re.IGNORECASE)


def _raw_filename(part: Message) -> str | None:
    """A file name as its header holds it, raw 8-bit bytes kept (as surrogates)."""
    for header in ("Content-Disposition", "Content-Type"):
        found = _RAW_FILENAME.search(_raw_header(part, header) or "")
        if found:
            return found.group(1) if found.group(1) is not None else found.group(2)
    return None


def _safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]  # "C:\\TEMP\\a.png" → "a.png"
    cleaned = re.sub(r"[\x00-\x1f\x7f]+", " ", base).strip(" .")
    return cleaned[:255]


def _lenient_base64(payload: object) -> bytes | None:
    """Base64 as senders write it: stray characters skipped, a dangling last character
    (4n+1) dropped, missing padding added. None when it is not text at all."""
    if not isinstance(payload, str):
        return None
    data = re.sub(r"[^A-Za-z0-9+/]", "", payload)
    data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return None


class _Body:
    def __init__(self, state: _State) -> None:
        self.state = state
        self.texts: list[str] = []
        self.html_parts: list[str] = []  # the HTML of the body, in order; None if it has none
        self.seen_html = False
        self.attachments: list[Attachment] = []
        self.forwarded: list[dict[str, str]] = []

    @property
    def text(self) -> str:
        return "\n\n".join(t.strip("\n") for t in self.texts if t.strip())

    @property
    def html(self) -> str | None:
        """The body as HTML when any of it is HTML: every HTML part in order (an Apple Mail
        photo between two stretches of text), with the text parts that have no HTML twin
        among them, so the HTML an agent is shown holds all that was written."""
        return "\n".join(self.html_parts) if self.seen_html else None

    def read(self, msg: Message) -> None:
        for leaf in _leaves(msg, _types_below(msg)):
            try:
                self._part(leaf)
            except Exception as exc:
                self.state.warn(f"a {leaf.part.get_content_type()} part is unreadable ({exc!r})")

    def _part(self, leaf: _Leaf) -> None:
        part = leaf.part
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = self._filename(part)
        is_body = disposition != "attachment" and not filename
        smime_type = str(part.get_param("smime-type") or "").lower()
        if smime_type == "signed-data":
            self.state.warn("the message is signed with S/MIME, its text inside smime.p7m")
        elif ctype in _ENCRYPTED or smime_type == "enveloped-data":
            self.state.warn("the message is encrypted: only its encrypted file is kept")
        if ctype == "text/plain" and is_body:
            text = self._without_uuencoded(self.text_of(part))
            if str(part.get_param("format") or "").lower() == "flowed":
                text = unflow(text, delsp=str(part.get_param("delsp") or "").lower() == "yes")
            self.texts.append(text)
            if not leaf.has_html_twin and text.strip():
                self.html_parts.append(f"<div>{html.escape(text).replace(chr(10), '<br>')}</div>")
        elif ctype == "text/html" and is_body:
            self.seen_html = True
            markup = self.text_of(part)
            self.html_parts.append(markup)
            if not leaf.has_text_twin:
                self.texts.append(html_to_text(markup))
        elif part.get_content_maintype() == "multipart":
            self._unsplit(part)
        elif part.get_content_maintype() == "message":
            self._enclosed(part, filename)
        else:
            self._attach(part, filename, self._payload(part))

    def _unsplit(self, part: Message) -> None:
        """A multipart part the parser could not split. Without a boundary parameter, the
        body's first delimiter line names it: parsed again with it. Otherwise (or if that
        fails too) the part is shown as text, so nothing written is hidden."""
        ctype = part.get_content_type()
        payload = part.get_payload()
        found = _BOUNDARY_LINE.search(payload) if isinstance(payload, str) else None
        if found and part.get_boundary() is None:
            part.set_param("boundary", found.group(1))
            again = BytesParser(policy=READING).parsebytes(_as_bytes(part))
            if isinstance(again.get_payload(), list):
                self.state.warn(f"{ctype} part without a boundary parameter; boundary guessed")
                self.read(again)
                return
        self.state.warn(f"{ctype} part without usable boundaries; shown as text")
        self.texts.append(self.text_of(part))

    def _without_uuencoded(self, text: str) -> str:
        """The text with its uuencoded files ("begin 644 name" … "end") made attachments."""
        kept: list[str] = []
        end = 0
        # Only up to the last "end" line: a "begin" line with no "end" after it would make
        # the search scan the rest of the text for each one (n² on a hostile text).
        last_end = max((m.end() for m in _UU_END.finditer(text)), default=0)
        for block in _UUENCODED.finditer(text, 0, last_end):
            data = _uudecode(block.group("data"))
            if data is None:
                continue
            name = _safe_filename(block.group("name").strip()) or None
            ctype = mimetypes.guess_type(name or "")[0] or "application/octet-stream"
            self._attach_data(ctype, name, data, None)
            self.state.warn(f"uuencoded file {name or ''!r} in the text; made an attachment")
            kept.append(text[end : block.start()])
            end = block.end()
        return "".join([*kept, text[end:]]) if kept else text

    def _payload(self, part: Message) -> bytes:
        if str(part.get("Content-Transfer-Encoding", "")).strip().lower() == "base64":
            decoded = _lenient_base64(part.get_payload())
            if decoded is not None:
                return decoded
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            return data
        payload = part.get_payload()
        return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""

    def text_of(self, part: Message) -> str:
        charset = part.get_param("charset")
        return decode_bytes(
            self._payload(part), charset if isinstance(charset, str) else None, self.state
        )

    def _filename(self, part: Message) -> str | None:
        try:
            name = part.get_filename()
        except Exception:
            name = None
            self.state.warn("an attachment's file name is unreadable")
        if not name:
            return None
        if "\ufffd" in name:  # raw 8-bit bytes, which the standard library gave up on
            name = _raw_filename(part) or name
        if any("\udc80" <= ch <= "\udcff" for ch in name):
            name = decode_bytes(name.encode("ascii", "surrogateescape"), None, self.state)
        elif "=?" in name:
            name = _decode_words(name)
        return _safe_filename(name) or None

    def _enclosed(self, part: Message, filename: str | None) -> None:
        """A forwarded message (or a bounce's report) is kept whole, as an attachment."""
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if part.get_content_subtype() in {"rfc822", "global"} and isinstance(inner, Message):
            data = _as_bytes(inner)
            if self.state.options.summarize_forwards:
                self.forwarded.append(self._summary(data))
                filename = filename or _safe_filename(self.forwarded[-1].get("subject") or "")
            self._attach(part, f"{filename or 'forwarded message'}.eml", data)
        elif isinstance(payload, list):
            data = b"\n".join(_as_bytes(p) for p in payload if isinstance(p, Message))
            self._attach(part, filename, data)
        else:
            self._attach(part, filename, self._payload(part))

    def _summary(self, data: bytes) -> dict[str, str]:
        inner = parse_email(data, ParseOptions(max_attachment_bytes=0, summarize_forwards=False))
        summary = {"from": inner.sender.address.value, "text": inner.text[:20_000]}
        if inner.subject:
            summary["subject"] = inner.subject
        summary["date"] = inner.sent_at.isoformat()
        return summary

    def _attach(self, part: Message, filename: str | None, data: bytes) -> None:
        content_id = part.get("Content-ID")
        cid = str(content_id).strip().strip("<>") or None if content_id else None
        self._attach_data(part.get_content_type(), filename, data, cid)

    def _attach_data(self, ctype: str, filename: str | None, data: bytes, cid: str | None) -> None:
        if not filename:
            ext = mimetypes.guess_extension(ctype) or _EXTENSIONS.get(ctype, ".bin")
            filename = f"attachment-{len(self.attachments) + 1}{ext}"
        options = self.state.options
        note = None
        kept: bytes | None = data
        if options.full_size is not None:
            kept = None
            note = (
                f"not stored: the message is {options.full_size} bytes, over the "
                f"{options.max_message_bytes}-byte limit"
            )
        elif len(data) > options.max_attachment_bytes:
            kept = None
            limit = options.max_attachment_bytes
            note = f"not stored: {len(data)} bytes is over the {limit}-byte limit"
        self.attachments.append(
            Attachment(
                filename=filename,
                content_type=ctype,
                data=kept,
                size=len(data),
                content_id=cid,
                note=note,
            )
        )


def _uudecode(data: str) -> bytes | None:
    """A uuencoded block's bytes, read as leniently as the `uu` module did (encoders that
    pad lines wrongly); None when it is not uuencoding after all."""
    out = bytearray()
    for line in data.splitlines():
        if not line.strip() or line.strip() == "`":
            continue
        raw = line.encode("latin-1", "replace")
        try:
            out += binascii.a2b_uu(raw)
        except binascii.Error:
            length = (((raw[0] - 32) & 63) * 4 + 5) // 3
            try:
                out += binascii.a2b_uu(raw[:length])
            except binascii.Error:
                return None
    return bytes(out)


def _as_bytes(msg: Message) -> bytes:
    for kind in (policy.default, policy.compat32):
        try:
            return msg.as_bytes(policy=kind)
        except Exception:  # noqa: S112 - the other policy may write it; last resort below
            continue
    return str(msg).encode("utf-8", "replace")

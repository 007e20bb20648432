"""Readable text from e-mail bodies: HTML turned into text, and a reply's quoted history
told apart from what the customer just wrote."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {
        "address",
        "article",
        "blockquote",
        "div",
        "dl",
        "dt",
        "dd",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    }
)
_HIDDEN = frozenset({"head", "script", "style", "title", "template"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.href: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")
            elif tag == "pre":
                self.pre += 1
        elif tag in {"td", "th"}:
            self.parts.append("\t")
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag == "a" and self.href is not None:
            shown = "".join(self.link_text).strip()
            # A link whose text is not its address keeps the address: agents need it.
            if self.href.startswith(("http://", "https://")) and self.href not in shown:
                self.parts.append(f" ({self.href})")
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        if self.href is not None:
            self.link_text.append(data)
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body (paragraphs, line breaks, lists, link targets)."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup
        pass
    lines = [line.strip(" \t\u00a0") for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# "On Tue, 5 Mar 2024 at 10:00, Ali <ali@example.com> wrote:" and its translations; Apple
# Mail's "On 5 Mar 2024, at 10:00, Ali wrote:"; Persian clients' "… نوشت:".
_ATTRIBUTION = re.compile(
    r"(wrote|writes|a écrit|schrieb|escribió|ha scritto|schreef|написал\(а\)|написал|пишет|"
    r"napisał\(a\)|napisał|skrev|kirjoitti|yazdı|نوشت|نوشته است|كتب|کتب|كتبت|写道)\s*:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^(On|Le|Am|El|Il|Op|در|في)\b", re.IGNORECASE)
_OUTLOOK_SEPARATORS = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|"
    r"Mensaje original|پیام اصلی|الرسالة الأصلية)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# A forwarded message's marker: what follows it is what the customer wants read.
_FORWARD_MARKER = re.compile(
    r"(Forwarded message|Forwarded Message|Begin forwarded message|Weitergeleitete Nachricht|"
    r"Message transféré|Mensaje reenviado|Messaggio inoltrato|پیام بازارسال|پیام ارسال شده|"
    r"رسالة مُعاد توجيهها|رسالة معاد توجيهها)",
    re.IGNORECASE,
)
# Outlook draws one above the quoted message's header block; people draw one above their
# signature (a name, phone numbers), which is what the customer wrote.
_UNDERLINE = re.compile(r"^\s*_{10,}\s*$")
_HEADER_KEYS = {
    "from": ("From", "De", "Von", "Van", "Da", "از", "من"),
    "sent": (
        "Sent",
        "Date",
        "Envoyé",
        "Gesendet",
        "Enviado",
        "Inviato",
        "تاریخ",
        "ارسال شد",
        "ارسال شده",
        "التاريخ",
    ),
    "to": ("To", "À", "An", "Para", "A", "به", "إلى"),
    "cc": ("Cc", "Kopie", "رونوشت"),
    "subject": ("Subject", "Objet", "Betreff", "Asunto", "Oggetto", "موضوع", "الموضوع"),
}
_HEADER_LINE = re.compile(
    r"^\s*\*?(?P<key>"
    + "|".join(re.escape(k) for keys in _HEADER_KEYS.values() for k in keys)
    + r")\s*:\*?",
    re.IGNORECASE,
)
_KIND_OF_KEY = {k.casefold(): kind for kind, keys in _HEADER_KEYS.items() for k in keys}
# "Phone: …", "Message: …": a field (not a wrapped address list's "[mailto:…]").
_FIELD_LINE = re.compile(r"^\s*\*?\w[\w \-]{0,30}:(\s|$)")
# Direction marks webmails put around a right-to-left attribution line.
_BIDI_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def unflow(text: str, *, delsp: bool) -> str:
    """A `format=flowed` text (RFC 3676, what Thunderbird and others send) as its writer
    typed it: each paragraph that the sending software wrapped at ~72 characters, with a
    space ending every line but its last, is one line again, at each quote depth; `delsp`
    (DelSp=yes, for languages written without spaces) drops the space at each join."""
    out: list[str] = []
    joining: tuple[int, str] | None = None  # (quote depth, text) of an unfinished paragraph
    for raw_line in text.split("\n"):
        stripped = raw_line.lstrip(">")
        depth = len(raw_line) - len(stripped)
        if stripped.startswith(" "):  # space-stuffed ("From ", ">", " " at a line's start)
            stripped = stripped[1:]
        if joining is not None and joining[0] != depth:
            out.append(_quote(*joining))  # a paragraph left open
            joining = None
        content = (joining[1] if joining else "") + stripped
        if stripped.endswith(" ") and stripped != "-- ":  # "-- " opens a signature
            joining = (depth, content[:-1] if delsp else content)
        else:
            out.append(_quote(depth, content))
            joining = None
    if joining is not None:
        out.append(_quote(*joining))
    return "\n".join(out)


def _quote(depth: int, text: str) -> str:
    """A line of `unflow`'s text: a paragraph's last space is the wrapping's, not the
    writer's (but "-- " stays a signature's separator)."""
    text = text if text == "-- " else text.rstrip(" ")
    return f"{'>' * depth} {text}" if depth else text


@dataclass(frozen=True, slots=True)
class Split:
    new: str  # what the sender wrote this time
    quoted: str | None  # the history below it, if any was recognised


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _bare(line: str) -> str:
    return line.strip(" \t\u00a0" + _BIDI_MARKS)


def _attribution_at(lines: list[str], i: int) -> tuple[int, bool] | None:
    """Where an attribution ending on line `i` starts (it may wrap over two lines), and
    whether it says whom and when (an address, a date, "On …"): "my colleague wrote:" in
    the middle of a customer's text is theirs, not history."""
    if not _ATTRIBUTION.search(_bare(lines[i])):
        return None
    start = i
    if (
        i > 0
        and _ATTRIBUTION_START.match(_bare(lines[i - 1]))
        and not _ATTRIBUTION_START.match(_bare(lines[i]))
    ):
        start = i - 1
    said = " ".join(_bare(line) for line in lines[start : i + 1])
    opened = _ATTRIBUTION_START.match(said) is not None
    dated = any(c.isdigit() for c in said)
    return start, "@" in said or (opened and dated)


def _header_block_at(lines: list[str], i: int) -> bool:
    """Whether a quoted message's header block starts at line `i`: From, then the fields a
    mail program writes under it (Sent or Date, To, Cc, Subject, in the usual languages),
    one after the other, until a blank line. A form's "From: … Phone: … Message: …" or a
    trip's "از: تهران / به: مشهد" is no such block."""
    kinds: list[str] = []
    after_blank = False  # (HTML turned into text may leave a blank line between fields)
    for line in lines[i : i + 12]:
        if not line.strip():
            after_blank = True
            continue
        header = _HEADER_LINE.match(line)
        if header is not None:
            kinds.append(_KIND_OF_KEY[header.group("key").casefold()])
            after_blank = False
        elif after_blank:
            break  # the quoted message's text
        elif _FIELD_LINE.match(line) or not kinds:
            return False  # a field no mail program puts there
        # else: a long To or Cc wrapped onto the next line
    return bool(kinds) and kinds[0] == "from" and "subject" in kinds and len(set(kinds)) >= 3


def _forwarded_before(lines: list[str], i: int) -> bool:
    """Whether a forward's marker is on one of the two non-blank lines above line `i`."""
    above = [line for line in lines[max(0, i - 4) : i] if line.strip()][-2:]
    return any(_FORWARD_MARKER.search(line) for line in above)


def _answer_follows(lines: list[str]) -> list[bool]:
    """For each line, whether an unquoted line comes at or after it before the end or a
    signature separator ("--"): one pass from the end, so the text's length costs once."""
    follows = [False] * (len(lines) + 1)
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if line.rstrip() == "--":
            follows[i] = False
        elif line.strip() and not _quoted(line):
            follows[i] = True
        else:
            follows[i] = follows[i + 1]
    return follows


def _history_start(lines: list[str]) -> int | None:
    answered = _answer_follows(lines)
    quoted_after = [False] * (len(lines) + 1)  # a quoted line at or after each line
    next_text = [len(lines)] * (len(lines) + 1)  # the next non-blank line at or after
    for i in range(len(lines) - 1, -1, -1):
        quoted_after[i] = quoted_after[i + 1] or _quoted(lines[i])
        next_text[i] = i if lines[i].strip() else next_text[i + 1]
    for i, line in enumerate(lines):
        if _OUTLOOK_SEPARATORS.match(line):
            return i
        # Outlook's header block, under its underline or alone; not a forward's.
        underlined = _UNDERLINE.match(line) and _header_block_at(lines, next_text[i + 1])
        block = underlined or (_HEADER_LINE.match(line) and _header_block_at(lines, i))
        if block and not _forwarded_before(lines, i):
            return i
        attribution = _attribution_at(lines, i)
        if attribution is not None:
            start, says_whom = attribution
            first = next_text[i + 1]
            # Only a history that runs to the end: interleaved answers stay visible.
            if first == len(lines):
                return start if says_whom else None
            if _quoted(lines[first]) and not answered[first]:
                return start
            if says_whom and not quoted_after[first]:
                return start  # clients that quote without ">" (many Persian webmails)
        if _quoted(line) and not answered[i]:
            return i
    return None


def split_reply(text: str) -> Split:
    """The new part of a reply and its quoted history. When no history is recognised, or
    nothing would be left above it, the whole text is the new part."""
    lines = text.splitlines()
    start = _history_start(lines)
    if start is None:
        return Split(text, None)
    new = "\n".join(lines[:start]).strip()
    if not new:
        return Split(text, None)
    return Split(new, "\n".join(lines[start:]).strip() or None)

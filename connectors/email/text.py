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
    r"(wrote|writes|a écrit|schrieb|escribió|ha scritto|schreef|написал\(а\)|написал|"
    r"napisał\(a\)|napisał|skrev|kirjoitti|yazdı|نوشت|نوشته است|كتب|کتب|كتبت|写道)\s*:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^(On|Le|Am|El|Il|Op|در|في)\b", re.IGNORECASE)
_OUTLOOK_SEPARATORS = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|"
    r"Mensaje original|پیام اصلی|الرسالة الأصلية)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# Outlook draws one above the quoted message's header block; people draw one above their
# signature (a name, phone numbers), which is what the customer wrote.
_UNDERLINE = re.compile(r"^\s*_{10,}\s*$")
_HEADER_LINE = re.compile(
    r"^\s*\*?(From|De|Von|Van|Da|از|من|Sent|Date|Envoyé|Gesendet|Enviado|تاریخ|To|À|An|"
    r"Para|به|Subject|Objet|Betreff|Asunto|موضوع)\s*:\*?",
    re.IGNORECASE,
)
_FROM_LINE = re.compile(r"^\s*\*?(From|De|Von|Van|Da|از|من)\s*:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Split:
    new: str  # what the sender wrote this time
    quoted: str | None  # the history below it, if any was recognised


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_at(lines: list[str], i: int) -> int | None:
    """The index where an attribution ending on line `i` starts (it may wrap over two)."""
    if not _ATTRIBUTION.search(lines[i]):
        return None
    wrapped = (
        i > 0
        and _ATTRIBUTION_START.match(lines[i - 1].strip())
        and not _ATTRIBUTION_START.match(lines[i].strip())
    )
    return i - 1 if wrapped else i


def _history_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if _OUTLOOK_SEPARATORS.match(line):
            return i
        if _UNDERLINE.match(line) and _header_block_at(lines, i + 1):
            return i
        if _FROM_LINE.match(line):
            # Outlook's header block: From, then Sent/Date, To, Subject within a few lines.
            block = [entry for entry in lines[i : i + 6] if _HEADER_LINE.match(entry)]
            if len(block) >= 3:
                return i
        start = _attribution_at(lines, i)
        if start is not None:
            rest = [entry for entry in lines[i + 1 :] if entry.strip()]
            # Only a history that runs to the end: interleaved answers stay visible.
            if not rest or (_quoted(rest[0]) and _no_answer_after_quote(rest)):
                return start
            if not any(_quoted(entry) for entry in rest):
                return start  # clients that quote without ">" (many Persian webmails)
        if _quoted(line) and _no_answer_after_quote(lines[i:]):
            return i
    return None


def _header_block_at(lines: list[str], i: int) -> bool:
    """Whether a quoted message's header block (From, Sent, To, Subject, in one of the
    usual languages) starts at line `i`, blank lines aside."""
    following = [line for line in lines[i : i + 10] if line.strip()][:4]
    return (
        bool(following)
        and _HEADER_LINE.match(following[0]) is not None
        and sum(_HEADER_LINE.match(line) is not None for line in following) >= 2
    )


def _no_answer_after_quote(lines: list[str]) -> bool:
    """Whether nothing but quoted lines (and a signature below them) follows."""
    for entry in lines:
        if entry.rstrip() == "--":
            return True
        if entry.strip() and not _quoted(entry):
            return False
    return True


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

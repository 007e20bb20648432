"""Splitting a long reply into messages Telegram accepts (4,096 UTF-16 code units each)."""

from __future__ import annotations

import unicodedata

from telegram.constants import MessageLimit

_JOINERS = ("\u200c", "\u200d")  # ZWNJ (Persian words use it) extends; ZWJ binds emoji


def utf16_length(text: str) -> int:
    """Telegram measures text in UTF-16 code units: an emoji outside the BMP counts two."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """`text` in parts of at most `limit` UTF-16 code units, cut after a newline if one is in
    the second half of a part, else after a space, else between two user-perceived
    characters (never inside an emoji sequence or before a combining mark). Parts that are
    only whitespace are dropped (Telegram refuses empty messages)."""
    parts: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        end = _fitting(rest, limit)
        cut = _cut(rest, end)
        parts.append(rest[:cut])
        rest = rest[cut:]
    parts.append(rest)
    return [part for part in parts if part.strip()]


def _fitting(text: str, limit: int) -> int:
    """The largest index whose prefix is at most `limit` UTF-16 code units long."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _cut(text: str, end: int) -> int:
    half = end // 2
    newline = text.rfind("\n", half, end)
    if newline >= 0:
        return newline + 1
    for index in range(end - 1, half - 1, -1):
        if text[index].isspace():
            return index + 1
    for index in range(end, 0, -1):
        if _boundary(text, index):
            return index
    return end  # one "character" longer than a message: nothing better exists


def _boundary(text: str, index: int) -> bool:
    """Whether a cut before `text[index]` leaves every grapheme whole (approximately:
    combining marks, joiners, ZWJ sequences, variation selectors, skin tones, tags, flags)."""
    char, before = text[index], text[index - 1]
    code = ord(char)
    if unicodedata.category(char) in ("Mn", "Mc", "Me") or char in _JOINERS or before == "\u200d":
        return False
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:  # variation selectors
        return False
    if 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:  # skin tones, tag sequences
        return False
    if _regional(char):
        # Flags are pairs of regional indicators: cut only after an even run of them.
        run = 0
        while index - run - 1 >= 0 and _regional(text[index - run - 1]):
            run += 1
        return run % 2 == 0
    return True


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF

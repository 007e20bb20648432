"""Numbers as people and programs write them in a request: Persian (U+06F0…) and
Arabic-Indic (U+0660…) digits are digits, as a Persian keyboard types them, and JSON's
`true` is no number (pydantic would read it as 1). The API's request models and the
connectors' share them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

_LATIN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def latin_digits(text: str) -> str:
    """`text` with Persian and Arabic-Indic digits written as 0–9."""
    return text.translate(_LATIN_DIGITS)


def read_digits(value: object) -> object:
    return latin_digits(value) if isinstance(value, str) else value


def _read_number(value: object) -> object:
    if isinstance(value, bool):  # `"assignee_id": true` must not name agent 1
        raise ValueError("must be a number, not true or false")
    return read_digits(value)


# Every integer a request carries is a Count (or built on one).
Count = Annotated[int, BeforeValidator(_read_number)]

"""Input types shared by the request schemas: what the databases can store, checked at the
edge so that bad input is a 422, never a 500 from the driver."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, Strict

from connectors.addresses import PHONE_PATTERN
from connectors.numbers import Count as Count
from connectors.numbers import latin_digits as latin_digits
from connectors.numbers import read_digits

# Wherever a number or a date is read from text, Persian digits are digits too.
READS_PERSIAN_DIGITS = BeforeValidator(read_digits)
LocalDate = Annotated[date, READS_PERSIAN_DIGITS]
# The days Panjereh keeps: a report's clock reads whole local days (and one past the last),
# and a year before 1970 is a Jalali date written as if it were Gregorian (1405 is 2026).
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)


def _kept_day(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(
            f"{day} is outside {FIRST_DAY.year}–{LAST_DAY.year}: dates are Gregorian "
            "(the Jalali 1405-01-01 is 2026-03-21)"
        )
    return day


# A day that is stored (a holiday): one of the Gregorian calendar's that Panjereh keeps.
KeptDate = Annotated[LocalDate, AfterValidator(_kept_day)]

# Row ids are INTEGER columns: 32-bit on PostgreSQL, which refuses to compare them with a
# larger number (SQLite overflows past 2**63).
MAX_ID = 2**31 - 1
DbId = Annotated[Count, Field(ge=1, le=MAX_ID)]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# true or false, as JSON writes them: "yes", "on" or 1 is no answer (pydantic would take them).
Flag = Annotated[bool, Strict()]

# PostgreSQL stores no NUL character in text or JSON; refusing it gives the same 422 on both.
SafeStr = Annotated[str, AfterValidator(_no_nul)]


def _says_something(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _filled(value: str) -> str:
    return _says_something(value).strip()


# Text a person must give (a name): spaces alone are not one; kept without the edges' spaces.
FilledStr = Annotated[SafeStr, AfterValidator(_filled)]
# A message that must say something, kept as written (its own spaces and line breaks).
MessageText = Annotated[SafeStr, AfterValidator(_says_something)]


# A phone number as a person writes it; normalize_phone reads it (and says why it cannot),
# the schema says what it needs at the least.
PhoneText = Annotated[SafeStr, Field(json_schema_extra={"pattern": PHONE_PATTERN})]


# An agent's e-mail names a sign-in; nobody mails it, so an intranet domain (`corp.local`,
# `shop.test`), which email-validator refuses as special-use, is as good as any.
ADDRESS_PATTERN = r"^\s*[^@\s<>]+@[^@\s<>]+\s*$"
_ADDRESS_SHAPED = re.compile(ADDRESS_PATTERN)


def is_address_shaped(value: str) -> bool:
    return _ADDRESS_SHAPED.match(value) is not None


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a timezone offset")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range") from exc


UtcDatetime = Annotated[datetime, READS_PERSIAN_DIGITS, AfterValidator(to_utc)]
# With an offset it is exact; without one, a wall-clock time the field says whose clock.
LocalDatetime = Annotated[datetime, READS_PERSIAN_DIGITS]

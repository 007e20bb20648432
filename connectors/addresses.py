"""Normalizing addresses, so one customer has one identity per channel."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class InvalidAddress(ValueError):
    pass


# What the normalizers need at the least, for schemas (JSON Schema `pattern`, searched, not
# matched whole): a phone number has a digit, in any script (Persian ones too);
# an e-mail address has one "@" between two non-empty parts.
PHONE_PATTERN = r"\d"
EMAIL_PATTERN = r"^[^@]+@[^@]+$"


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """E.164 (`+989121234567`), or InvalidAddress with a reason a person can act on."""
    text = raw.strip()
    if not text:
        raise InvalidAddress("The phone number is empty.")
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise InvalidAddress(
                "Please write the number with its country code, starting with +."
            ) from exc
        raise InvalidAddress("This does not look like a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidAddress("This phone number is not valid; please check it.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """Lower-cased address with the display name and brackets removed."""
    text = raw.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    try:
        result = validate_email(text, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidAddress(f"{raw!r} is not an e-mail address: {exc}") from exc
    return result.normalized.lower()

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import AnyHttpUrl, Field, ValidationInfo, field_validator

from connectors.addresses import InvalidAddress, normalize_phone
from connectors.config import ChannelConfig

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")


class SmsConfig(ChannelConfig):
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"auth_token"})

    account_sid: str = Field(max_length=64)
    auth_token: str = Field(min_length=1, max_length=128)
    from_number: str | None = None
    # Checked even when absent: exactly one of the two senders must be given.
    messaging_service_sid: str | None = Field(default=None, validate_default=True)
    api_base_url: AnyHttpUrl = AnyHttpUrl("https://api.twilio.com")

    @field_validator("account_sid")
    @classmethod
    def _account_sid(cls, value: str) -> str:
        value = value.strip()
        if not _ACCOUNT_SID.fullmatch(value):
            raise ValueError(
                "must be 'AC' followed by 32 hexadecimal characters "
                "(the Account SID on the Twilio console's dashboard)"
            )
        return value

    @field_validator("from_number")
    @classmethod
    def _from_number(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return normalize_phone(value)
        except InvalidAddress as exc:
            raise ValueError(f"must be a Twilio phone number in E.164 form: {exc}") from exc

    @field_validator("messaging_service_sid")
    @classmethod
    def _one_sender(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = value.strip() if value else None
        if value is not None and not _SERVICE_SID.fullmatch(value):
            raise ValueError("must be 'MG' followed by 32 hexadecimal characters")
        has_number = info.data.get("from_number") is not None
        if has_number == (value is not None):
            raise ValueError(
                "give exactly one sender: from_number (E.164, e.g. +14155550143) "
                "or messaging_service_sid (MG…), not both and not neither"
            )
        return value

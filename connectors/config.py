"""Each channel's inbox settings. Secrets are named, so the app can store them encrypted
and never show them."""

from __future__ import annotations

import secrets
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class ChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Fields stored encrypted and never returned by the API.
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()
    # Secret fields generated when absent (a webhook secret, an HMAC key).
    GENERATED_SECRETS: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def generate_missing(cls, values: dict[str, object]) -> dict[str, object]:
        filled = dict(values)
        for name in cls.GENERATED_SECRETS:
            if not filled.get(name):
                filled[name] = secrets.token_urlsafe(32)
        return filled

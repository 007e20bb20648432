"""Each channel's inbox settings. Secrets are named, so the app can store them encrypted
and never show them."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, ClassVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class ChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Fields stored encrypted and never returned by the API.
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()
    # Secret fields generated when absent (a webhook secret, an HMAC key).
    GENERATED_SECRETS: ClassVar[frozenset[str]] = frozenset()
    # Generated secrets generated anew when another setting changes: {secret: setting}.
    RENEWED_WITH: ClassVar[dict[str, str]] = {}

    @classmethod
    def generate_missing(cls, values: dict[str, object]) -> dict[str, object]:
        filled = dict(values)
        for name in cls.GENERATED_SECRETS:
            if not filled.get(name):
                filled[name] = secrets.token_urlsafe(32)
        return filled


# What a channel's settings check (`Channel.check` in app.channels) may ask the app: the
# kind of the inbox with this id, None when no inbox has it.
KindOf = Callable[[int], Awaitable[str | None]]


class ConfigError(ValueError):
    """Settings that are valid on their own but not with the rest of the setup."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")


def _is_origin(value: str) -> bool:
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - reading it checks it: a port out of range raises
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
    )


def _origins(values: list[str]) -> list[str]:
    for value in values:
        if value != "*" and not _is_origin(value):
            raise ValueError(
                f"{value!r} is not an origin: write scheme://host[:port], like "
                "https://shop.example (or * for any site)"
            )
    return values


# The websites whose pages may call an inbox's public endpoints, each as a browser sends
# it in Origin; an entry that can never match is a setup mistake, said when it is saved.
Origins = Annotated[list[str], AfterValidator(_origins), Field(max_length=100)]

from __future__ import annotations

from datetime import date
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from connectors.config import ChannelConfig

Tls = Literal["ssl", "starttls", "none"]


class EmailConfig(ChannelConfig):
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"imap_password", "smtp_password"})

    imap_host: str = ""
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_tls: Tls = "ssl"
    imap_username: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"
    # IDLE where the server offers it; otherwise (or when off) the folder is checked every
    # `poll_interval_seconds`.
    imap_idle: bool = True
    poll_interval_seconds: float = Field(default=60.0, ge=1, le=3600)
    # After a message is stored it is flagged \Seen, or moved here when set.
    processed_folder: str = ""
    # Mail already in the folder when the inbox is first connected: none by default (only
    # new mail); otherwise the newest `import_existing` messages, optionally only those
    # received on or after `import_since`.
    import_existing: int = Field(default=0, ge=0, le=100_000)
    import_since: date | None = None
    # A bigger message keeps its headers and text; its attachments are listed, not stored.
    max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=64 * 1024)
    smtp_host: str = ""
    smtp_port: int = Field(default=465, ge=1, le=65535)
    smtp_tls: Tls = "ssl"
    smtp_username: str = ""
    smtp_password: str = ""
    from_address: str = ""
    from_name: str = ""

    @field_validator("from_address")
    @classmethod
    def _an_address(cls, value: str) -> str:
        if value:
            try:
                Address(addr_spec=value)
            except (HeaderParseError, MessageDefect, ValueError) as exc:
                raise ValueError(f"{value!r} is not an e-mail address") from exc
        return value

    @field_validator("from_name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("must be one line")
        return value

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

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
    smtp_host: str = ""
    smtp_port: int = Field(default=465, ge=1, le=65535)
    smtp_tls: Tls = "ssl"
    smtp_username: str = ""
    smtp_password: str = ""
    from_address: str = ""
    from_name: str = ""

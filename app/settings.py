"""All configuration, from `PANJEREH_*` environment variables (and `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.db import asyncpg_engine_args
from app.fields import is_address_shaped

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PANJEREH_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./data/panjereh.db"
    redis_url: str | None = None
    secret_key: str = DEV_SECRET_KEY
    public_url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path("./data")

    admin_email: str | None = None
    admin_password: str | None = None
    # How colleagues and customers see that administrator (default: the e-mail's local part).
    admin_name: str | None = Field(default=None, min_length=1, max_length=200)

    # Embedded mode runs the delivery worker and pollers inside `serve`.
    # A scaled-out deployment sets this to false and runs `panjereh worker`.
    run_workers: bool = True

    # A resolved conversation takes a new message back (reopens) within this window;
    # after it, the message starts a new conversation.
    reopen_window_hours: float = Field(default=168.0, ge=0)

    # argon2id cost: the library's recommended defaults; lower only for tests.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=8)

    session_ttl_hours: float = Field(default=24.0 * 14, gt=0)
    # How long a website visitor's widget keeps its conversation (the token in their browser).
    visitor_session_days: float = Field(default=90.0, gt=0)
    max_attachment_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    max_request_bytes: int = Field(default=1024 * 1024, gt=0)

    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_backoff_base_seconds: float = Field(default=2.0, gt=0)
    delivery_backoff_cap_seconds: float = Field(default=300.0, gt=0)
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    delivery_timeout_seconds: float = Field(default=20.0, gt=0)

    # Outgoing webhooks (app/webhooks): tries spread over about a day (90 s × 3ⁿ, ±20%), a
    # webhook failing for this long is disabled, a rotated secret is signed with this long.
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_base_seconds: float = Field(default=90.0, gt=0)
    webhook_backoff_cap_seconds: float = Field(default=24 * 3600.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_disable_after_hours: float = Field(default=72.0, gt=0)
    webhook_secret_grace_hours: float = Field(default=24.0, ge=0)
    # Finished deliveries stay in a webhook's delivery log this long.
    webhook_log_retention_days: float = Field(default=30.0, gt=0)
    # Webhooks to loopback, private and link-local addresses (always allowed in `test`).
    webhook_allow_private_urls: bool = False

    event_retention_days: float = Field(default=7.0, gt=0)
    # Audit log entries older than this are deleted by the maintenance job.
    audit_retention_days: float = Field(default=365.0, gt=0)

    # How far ahead a visitor may ask to be called, and how long a second request for the
    # same number is merged into the open one rather than queued again.
    callback_horizon_days: int = Field(default=30, ge=1)
    callback_merge_minutes: float = Field(default=30.0, ge=0)

    # Live events (app/realtime). Each socket gets a bounded queue of this many frames; a
    # client that falls that far behind is closed with 4001 and resumes from its last id.
    socket_queue_frames: int = Field(default=1000, ge=1)
    # A heartbeat frame this often; presence entries are refreshed at the same pace.
    heartbeat_seconds: float = Field(default=30.0, gt=0)
    # The hub reads the event log this often even without a notification, so events whose
    # notification was lost (Redis down, a dropped pub/sub message) still arrive.
    event_poll_seconds: float = Field(default=1.0, gt=0)
    # How often a socket's login and inbox memberships are checked again.
    socket_recheck_seconds: float = Field(default=10.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _a_database_we_speak(cls, value: str) -> str:
        # The URL is not repeated: it may hold a password.
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(
                "not a database URL (sqlite:///./data/panjereh.db, "
                "postgresql+psycopg://user:password@host/panjereh)"
            ) from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"{backend} is not supported: SQLite or PostgreSQL")
        if backend == "postgresql":
            asyncpg_engine_args(make_url(value))  # its parameters, read at start-up, not later
        return value

    @field_validator("redis_url")
    @classmethod
    def _a_redis_url(cls, value: str | None) -> str | None:
        if not value:
            return None  # unset, or set to nothing: one process, no Redis
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("not a Redis URL (redis://host:6379/0, rediss://… or unix://…)")
        return value

    @field_validator("public_url")
    @classmethod
    def _an_address_people_reach(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} is not the address browsers and providers reach (http(s)://host[:port])"
            )
        return value

    @field_validator("admin_email")
    @classmethod
    def _admin_email_is_an_address(cls, value: str | None) -> str | None:
        if value and not is_address_shaped(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET_KEY:
            raise ValueError("PANJEREH_SECRET_KEY must be set to a long random value in production")
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError("PANJEREH_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def webhooks_may_reach_private(self) -> bool:
        return self.webhook_allow_private_urls or self.environment == "test"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"


@lru_cache
def get_settings() -> Settings:
    return Settings()

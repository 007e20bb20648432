"""Secrets at rest, tokens and passwords."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet


class Passwords:
    """argon2id password hashing. The cost is configurable (tests use a cheap one); a stored
    hash carries its own parameters, so verifying always uses the cost it was made with.
    Both run in a thread: they take a tenth of a second by design, and callers must not hold
    a database transaction (on SQLite, the one writer) while they wait for them."""

    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Verifying against this keeps a login for an unknown e-mail as slow as a wrong password.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """Tokens and API keys are stored only as this digest (they are long and random,
    so a fast hash is enough; a password needs argon2)."""
    return hashlib.sha256(token.encode()).hexdigest()


def digests_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _derived_key(secret_key: str, info: bytes) -> bytes:
    """A 32-byte key for one use (`info`) from PANJEREH_SECRET_KEY, by HKDF-SHA256.
    `cryptography` (~6 MiB resident) is imported here, at the first key needed."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info)
    return hkdf.derive(secret_key.encode())


def bus_key(secret_key: str) -> bytes:
    """The key the processes sign their bus messages with (see app.realtime.redis_bus)."""
    return _derived_key(secret_key, b"panjereh bus messages v1")


class SecretBox:
    """Encrypts inbox secrets with a key derived from PANJEREH_SECRET_KEY (at the first
    secret sealed or opened, so a server whose inboxes hold no secrets never loads
    `cryptography`)."""

    def __init__(self, secret_key: str) -> None:
        self._secret_key = secret_key

    @cached_property
    def _fernet(self) -> Fernet:
        from cryptography.fernet import Fernet

        key = _derived_key(self._secret_key, b"panjereh inbox secrets v1")
        return Fernet(base64.urlsafe_b64encode(key))

    def seal(self, values: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, sealed: str | None) -> dict[str, Any]:
        if not sealed:
            return {}
        from cryptography.fernet import InvalidToken

        try:
            opened: dict[str, Any] = json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken as exc:
            raise ValueError(
                "inbox secrets cannot be decrypted: PANJEREH_SECRET_KEY changed?"
            ) from exc
        return opened


class Signer:
    """Expiring signed tokens for links sent to customers (a survey's rating page): the
    value and its expiry in the clear, and an HMAC-SHA256 over both with a key derived from
    PANJEREH_SECRET_KEY for this `purpose`, so a token made for one use is refused by
    another, and a changed value or expiry by all."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        self._secret_key = secret_key
        self._purpose = purpose

    @cached_property
    def _key(self) -> bytes:
        return _derived_key(
            self._secret_key, b"panjereh signed tokens v1: " + self._purpose.encode()
        )

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, value: str, *, expires: datetime) -> str:
        payload = f"{value}.{int(expires.timestamp())}"
        return f"{payload}.{self._mac(payload)}"

    def unsign(self, token: str, *, now: datetime) -> str | None:
        """The value, or None for a forged, altered or expired token."""
        payload, _, mac = token.rpartition(".")
        value, _, expires = payload.rpartition(".")
        if not value or not expires.isdigit() or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        return value if now.timestamp() < int(expires) else None

"""How a webhook is signed: `X-Panjereh-Signature: sha256=<hex HMAC-SHA256(secret,
timestamp + "." + body)>`, the key being the secret exactly as the administrator was shown
it. During a rotation's grace period the header lists both signatures, new first."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signature_header(secrets_in_use: list[str], timestamp: str, body: bytes) -> str:
    return ",".join(signature(s, timestamp, body) for s in secrets_in_use)

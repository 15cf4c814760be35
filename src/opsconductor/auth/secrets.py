"""Opaque secrets: refresh tokens and API keys, and their stored digests.

Both are 256-bit random strings, so a single SHA-256 is the right digest to store (argon2 is
for passwords a person chooses); lookups compare digests, never the secret itself.
"""

from __future__ import annotations

import hashlib
import secrets

REFRESH_PREFIX = "ocr_"
SESSION_PREFIX = "ocs_"
KEY_PREFIX = "opsc_"
"""API keys read ``opsc_<8-character id>_<secret>``: recognisable in a config file or a leak
scanner, and the id (stored in the clear) finds the key without scanning."""


def digest(secret: str) -> str:
    """The stored form of an opaque secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_refresh_token() -> str:
    """A fresh refresh token."""
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def new_session_secret() -> str:
    """A fresh web-session secret (the cookie's value)."""
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """A fresh API key and its public prefix (``opsc_ab12cd34``)."""
    ident = secrets.token_hex(4)
    prefix = f"{KEY_PREFIX}{ident}"
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_prefix(key: str) -> str | None:
    """The prefix of something shaped like an API key, else ``None``."""
    size = len(KEY_PREFIX) + 8
    if not key.startswith(KEY_PREFIX) or len(key) < size + 16 or key[size] != "_":
        return None
    return key[:size]


def same(left: str, right: str) -> bool:
    """Constant-time equality of two digests."""
    return secrets.compare_digest(left, right)

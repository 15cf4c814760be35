"""Access tokens (short-lived JWTs) and the key that signs them.

The signing key is made once and kept in ``server_secrets``, so every API process of a
distributed deployment signs and checks with the same key and a restart keeps sessions.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import Unauthorized
from opsconductor.ids import new_ulid
from opsconductor.store.bulk import insert_for
from opsconductor.store.tables import server_secrets

_ALGORITHM = "HS256"
_ISSUER = "opsconductor"
SIGNING_KEY = "token_signing_key"


class TokenError(Unauthorized):
    """An access token that is malformed, forged or expired (HTTP 401)."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a valid access token says: whose it is, their role, and until when."""

    user_id: str
    username: str
    role: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class TokenIssuer:
    """Signs and checks access tokens with the deployment's key."""

    key: bytes
    lifetime: float

    def issue(self, user_id: str, username: str, role: str, now: float) -> tuple[str, float]:
        """A signed access token and when it expires."""
        expires = now + self.lifetime
        claims = {
            "iss": _ISSUER, "sub": user_id, "name": username, "role": role, "typ": "access",
            "iat": int(now), "exp": int(expires), "jti": new_ulid(now),
        }  # fmt: skip
        return jwt.encode(claims, self.key, algorithm=_ALGORITHM), float(int(expires))

    def check(self, token: str, now: float | None = None) -> AccessClaims:
        """The claims of a valid token; ``TokenError`` saying why otherwise."""
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[_ALGORITHM],
                issuer=_ISSUER,
                options={"require": ["exp", "sub", "iss"], "verify_exp": now is None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("access token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError("invalid access token") from exc
        if claims.get("typ") != "access":
            raise TokenError("invalid access token")
        if now is not None and float(claims["exp"]) <= now:
            raise TokenError("access token expired")
        return AccessClaims(
            str(claims["sub"]), str(claims.get("name", "")), str(claims.get("role", "")),
            float(claims["exp"]),
        )  # fmt: skip


async def signing_key(session: AsyncSession) -> bytes:
    """The deployment's signing key, created by the first process that asks (caller commits)."""
    stmt = insert_for(session)(server_secrets).values(
        name=SIGNING_KEY, value=secrets.token_hex(32), created_at=time.time()
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    value = await session.scalar(
        sa.select(server_secrets.c.value).where(server_secrets.c.name == SIGNING_KEY)
    )
    assert value is not None
    return bytes.fromhex(value)

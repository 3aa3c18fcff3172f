"""Token logic of the identity context: refresh secrets, their hashes, and token pairs.

Refresh tokens are opaque: 256 random bits, URL-safe, handed to the client once and stored only
as a SHA-256 hash (a fast hash is right for a high-entropy secret: nothing to brute-force). Each
login opens a *family*; every refresh spends the presented token and issues the next one in the
same family. Access tokens are JWTs signed by the :class:`~bookshop_core.identity.TokenCodec`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Final

from bookshop_core.errors import AuthenticationError
from bookshop_core.identity.entities import (
    AccessClaims,
    NewRefreshToken,
    RefreshFamily,
    TokenPair,
    User,
)
from bookshop_core.identity.errors import (
    RefreshInvalid,
    TokenInvalid,
)
from bookshop_core.identity.ports import IdentityUnitOfWork, TokenCodec
from bookshop_core.identity.settings import IdentitySettings

__all__ = [
    "MAX_REFRESH_TOKEN_LENGTH",
    "REFRESH_TOKEN_BYTES",
    "TokenIssuer",
    "hash_refresh_token",
    "new_refresh_token",
    "throttle_key",
]

#: Random bytes in a refresh token (256 bits).
REFRESH_TOKEN_BYTES: Final = 32
#: Anything longer than this is not one of our refresh tokens (it is not even hashed).
MAX_REFRESH_TOKEN_LENGTH: Final = 512
_TOKEN_ID_BYTES: Final = 16


def new_refresh_token() -> str:
    """A fresh refresh-token secret: 256 bits from the OS's CSPRNG, URL-safe base64."""
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def hash_refresh_token(token: str) -> str:
    """The SHA-256 (hex) under which a refresh token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def throttle_key(email: str) -> str:
    """The key under which failed sign-ins for a normalised email are counted."""
    return hashlib.sha256(b"login:" + email.encode("utf-8", "surrogatepass")).hexdigest()


def refresh_invalid() -> AuthenticationError:
    return RefreshInvalid()


def refresh_hash_or_invalid(token: object) -> str:
    """The storage hash of a presented refresh token.

    Raises:
        AuthenticationError: ``AUTH_REFRESH_INVALID`` for anything that is not a plausible
            token (wrong type, empty, too long), without touching the store.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_REFRESH_TOKEN_LENGTH:
        raise refresh_invalid()
    return hash_refresh_token(token)


class TokenIssuer:
    """Issues token pairs for accounts and reads access tokens.

    Args:
        codec: Signs and verifies access tokens.
        settings: Lifetimes, issuer and audience.
    """

    def __init__(self, codec: TokenCodec, settings: IdentitySettings) -> None:
        self._codec = codec
        self._settings = settings

    def access_token(self, user: User, family_id: int, now: datetime) -> str:
        """A signed access token for ``user`` in session ``family_id``, issued at ``now``."""
        claims = AccessClaims(
            subject=str(user.id),
            role=user.role,
            issuer=self._settings.issuer,
            audience=self._settings.audience,
            issued_at=now,
            expires_at=now + self._settings.access_ttl,
            token_id=secrets.token_urlsafe(_TOKEN_ID_BYTES),
            session_id=family_id,
            version=user.token_version,
        )
        return self._codec.encode(claims)

    def read_access_token(self, token: object, now: datetime) -> AccessClaims:
        """The verified claims of an access token.

        Raises:
            AuthenticationError: ``AUTH_TOKEN_EXPIRED`` or ``AUTH_TOKEN_INVALID``.
        """
        if not isinstance(token, str):
            raise TokenInvalid()
        return self._codec.decode(
            token, issuer=self._settings.issuer, audience=self._settings.audience, now=now
        )

    def refresh_expiry(self, family: RefreshFamily, now: datetime) -> datetime:
        """When a refresh token issued now in ``family`` expires: ``refresh_ttl`` from now,
        but never after the family's ``session_max_age``."""
        return min(
            now + self._settings.refresh_ttl, family.created_at + self._settings.session_max_age
        )

    async def open_session(
        self, uow: IdentityUnitOfWork, user: User, now: datetime
    ) -> tuple[RefreshFamily, str]:
        """Start a refresh family for ``user`` and store its first token (not committed).

        Returns:
            The family and the refresh-token secret to hand to the client.
        """
        family = await uow.refresh_tokens.start_family(user.id, now=now)
        secret = await self.add_refresh_token(uow, family, now)
        return family, secret

    async def add_refresh_token(
        self, uow: IdentityUnitOfWork, family: RefreshFamily, now: datetime
    ) -> str:
        """Store the next refresh token of ``family``; returns its secret."""
        secret = new_refresh_token()
        await uow.refresh_tokens.add(
            NewRefreshToken(
                token_hash=hash_refresh_token(secret),
                family_id=family.id,
                user_id=family.user_id,
                issued_at=now,
                expires_at=self.refresh_expiry(family, now),
            )
        )
        return secret

    def pair(
        self, user: User, family: RefreshFamily, refresh_token: str, now: datetime
    ) -> TokenPair:
        """The pair handed to the client once the transaction that stored it has committed."""
        return TokenPair(
            access_token=self.access_token(user, family.id, now), refresh_token=refresh_token
        )

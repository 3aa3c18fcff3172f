"""Access tokens as JWTs (PyJWT), implementing the core's ``TokenCodec`` port.

One algorithm is pinned per codec (HS256 by default) and a token naming any other is refused
before its signature is even looked at, which closes ``alg: none`` and HS/RS confusion. HMAC keys
must be at least as long as the hash (32 bytes for HS256); RSA keys at least 2048 bits; EC keys
on the curve their algorithm names.

Every access token carries ``iss``, ``aud``, ``sub``, ``iat``, ``exp``, ``jti``, ``typ``
(``"access"``), ``role``, ``sid`` and ``ver``, and the header ``typ: at+jwt`` (RFC 9068); all
are required and checked, so an ID token or any other JWT signed with the same key is refused.
Time claims are judged against the shop's clock (passed in as ``now``), not the host's, with a
small leeway. Whatever the input, :meth:`PyJwtTokenCodec.decode` raises only
``AuthenticationError`` (``AUTH_TOKEN_INVALID`` or ``AUTH_TOKEN_EXPIRED``).

Key rotation: sign with the current key under a ``kid``; list retired keys in
``verification_keys`` (by ``kid``) until every token they signed has expired.

HMAC (the default) needs only PyJWT. Asymmetric keys need ``cryptography`` (the ``oauth``
extra), imported only when such a key is given; without it the codec raises
:class:`~bookshop_adapters.extras.MissingExtra`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import jwt

from bookshop_adapters.extras import require
from bookshop_core.identity.entities import AccessClaims
from bookshop_core.identity.errors import TokenExpired, TokenInvalid
from bookshop_core.kernel.principal import Role

__all__ = [
    "ACCESS_TOKEN_HEADER_TYPE",
    "ALGORITHMS",
    "MAX_TOKEN_LENGTH",
    "REQUIRED_CLAIMS",
    "PyJwtTokenCodec",
]

#: The algorithms a codec may be pinned to.
ALGORITHMS: Final = frozenset(
    {
        "HS256",
        "HS384",
        "HS512",
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
    }
)
_HMAC_MIN_BYTES: Final = {"HS256": 32, "HS384": 48, "HS512": 64}
_EC_CURVES: Final = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
_RSA_MIN_BITS: Final = 2048
#: Every access token has all of these, or it is refused.
REQUIRED_CLAIMS: Final = ("exp", "iat", "iss", "aud", "sub", "jti", "typ", "role", "sid", "ver")
#: The JOSE header ``typ`` of an access token (RFC 9068).
ACCESS_TOKEN_HEADER_TYPE: Final = "at+jwt"
#: Longer strings are refused before any parsing (our tokens are well under 1 KiB).
MAX_TOKEN_LENGTH: Final = 8192
_SUBJECT: Final = re.compile(r"[1-9][0-9]{0,18}")
_MAX_TIMESTAMP: Final = 253_402_300_799  # 9999-12-31T23:59:59Z
_MAX_JTI: Final = 255
_MAX_ID: Final = 2**63 - 1


def _invalid(message: str = "Invalid token") -> TokenInvalid:
    return TokenInvalid(message)


def _as_bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


def _check_hmac_secret(algorithm: str, secret: str | bytes | None) -> bytes:
    if secret is None:
        raise ValueError(f"{algorithm} needs a secret")
    raw = _as_bytes(secret)
    minimum = _HMAC_MIN_BYTES[algorithm]
    if len(raw) < minimum:
        raise ValueError(f"{algorithm} needs a secret of at least {minimum} bytes")
    if raw.lstrip().startswith((b"-----BEGIN", b"ssh-")):
        raise ValueError("an HMAC secret must not be a PEM or SSH key")
    return raw


def _require_cryptography(algorithm: str) -> None:
    """Asymmetric keys are loaded by cryptography, an extra (HMAC needs only PyJWT)."""
    require("cryptography", feature=f"{algorithm} access-token keys", extra="oauth")


def _check_asymmetric_key(algorithm: str, key: Any) -> None:
    """Refuse a key that does not belong with ``algorithm`` (or is too weak)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    family = algorithm[:2]
    if family in ("RS", "PS"):
        if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            raise ValueError(f"{algorithm} needs an RSA key")
        if key.key_size < _RSA_MIN_BITS:
            raise ValueError(f"{algorithm} needs an RSA key of at least {_RSA_MIN_BITS} bits")
    elif family == "ES":
        if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            raise ValueError(f"{algorithm} needs an EC key")
        if key.curve.name != _EC_CURVES[algorithm]:
            raise ValueError(f"{algorithm} needs a key on {_EC_CURVES[algorithm]}")
    elif not isinstance(
        key,
        ed25519.Ed25519PrivateKey
        | ed25519.Ed25519PublicKey
        | ed448.Ed448PrivateKey
        | ed448.Ed448PublicKey,
    ):
        raise ValueError("EdDSA needs an Ed25519 or Ed448 key")


def _load_private(algorithm: str, pem: str | bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(_as_bytes(pem), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot load the {algorithm} private key: {exc}") from None
    _check_asymmetric_key(algorithm, key)
    return key


def _load_public(algorithm: str, pem: str | bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(_as_bytes(pem))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot load the {algorithm} public key: {exc}") from None
    _check_asymmetric_key(algorithm, key)
    return key


def _check_kid(kid: object) -> str:
    if not isinstance(kid, str) or not kid or len(kid) > 128 or not kid.isprintable():
        raise ValueError("a key id must be 1..128 printable characters")
    return kid


def _numeric_date(payload: Mapping[str, Any], name: str) -> datetime:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid()
    if not math.isfinite(value) or not 0 <= value <= _MAX_TIMESTAMP:
        raise _invalid()
    return datetime.fromtimestamp(value, UTC)


def _positive_int(value: object, *, zero_ok: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid()
    if not (0 if zero_ok else 1) <= value <= _MAX_ID:
        raise _invalid()
    return value


class PyJwtTokenCodec:
    """Signs and verifies access tokens with one pinned algorithm.

    Args:
        secret: The HMAC secret (``HS256``/``HS384``/``HS512``): at least 32/48/64 bytes.
        algorithm: The one algorithm this codec signs with and accepts.
        private_key: PEM private key for ``RS*``/``PS*``/``ES*``/``EdDSA`` (unencrypted).
        public_key: PEM public key, for a codec that only verifies (no ``private_key``).
        kid: The key id written into the header of tokens this codec signs.
        verification_keys: Further keys accepted when verifying, by ``kid`` (retired keys
            during a rotation): HMAC secrets or PEM public keys, for the same algorithm.
        leeway: Clock skew tolerated on ``exp`` and ``iat``.

    Raises:
        ValueError: an unsupported algorithm (``none`` included), a short HMAC secret, a key
            of the wrong type, size or curve, or a missing key.
        MissingExtra: an asymmetric algorithm without cryptography installed (the ``oauth``
            extra).
    """

    def __init__(
        self,
        secret: str | bytes | None = None,
        *,
        algorithm: str = "HS256",
        private_key: str | bytes | None = None,
        public_key: str | bytes | None = None,
        kid: str | None = None,
        verification_keys: Mapping[str, str | bytes] | None = None,
        leeway: timedelta = timedelta(seconds=5),
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unsupported JWT algorithm {algorithm!r}")
        if leeway < timedelta(0) or leeway > timedelta(minutes=5):
            raise ValueError("leeway must be between 0 and 5 minutes")
        self.algorithm = algorithm
        self.kid = None if kid is None else _check_kid(kid)
        self._leeway = leeway
        self._signing_key: Any = None
        self._keys: dict[str | None, Any] = {}
        if algorithm in _HMAC_MIN_BYTES:
            if private_key is not None or public_key is not None:
                raise ValueError(f"{algorithm} takes a secret, not a PEM key")
            self._signing_key = _check_hmac_secret(algorithm, secret)
            self._keys[self.kid] = self._signing_key
            for other_kid, other in (verification_keys or {}).items():
                self._keys[_check_kid(other_kid)] = _check_hmac_secret(algorithm, other)
        else:
            if secret is not None:
                raise ValueError(f"{algorithm} takes PEM keys, not a secret")
            _require_cryptography(algorithm)
            if private_key is not None:
                self._signing_key = _load_private(algorithm, private_key)
                self._keys[self.kid] = self._signing_key.public_key()
            elif public_key is not None:
                self._keys[self.kid] = _load_public(algorithm, public_key)
            else:
                raise ValueError(f"{algorithm} needs a private_key (or a public_key to verify)")
            for other_kid, other in (verification_keys or {}).items():
                self._keys[_check_kid(other_kid)] = _load_public(algorithm, other)

    def encode(self, claims: AccessClaims) -> str:
        """Sign ``claims`` as a JWT.

        Args:
            claims: The access token's claims.

        Returns:
            The compact JWS.

        Raises:
            RuntimeError: the codec has only a public key.
        """
        if self._signing_key is None:
            raise RuntimeError("this codec only verifies: it has no private key")
        payload = {
            "iss": claims.issuer,
            "aud": claims.audience,
            "sub": claims.subject,
            "iat": math.floor(claims.issued_at.timestamp()),
            "exp": math.floor(claims.expires_at.timestamp()),
            "jti": claims.token_id,
            "typ": AccessClaims.TOKEN_TYPE,
            "role": claims.role.value,
            "sid": claims.session_id,
            "ver": claims.version,
        }
        headers: dict[str, Any] = {"typ": ACCESS_TOKEN_HEADER_TYPE}
        if self.kid is not None:
            headers["kid"] = self.kid
        return jwt.encode(payload, self._signing_key, algorithm=self.algorithm, headers=headers)

    def decode(self, token: str, *, issuer: str, audience: str, now: datetime) -> AccessClaims:
        """Verify ``token`` completely and return its claims.

        Args:
            token: The compact JWS as received.
            issuer: The ``iss`` it must have.
            audience: The ``aud`` it must have (exactly, not within a list).
            now: The shop's current time.

        Returns:
            The verified claims.

        Raises:
            AuthenticationError: ``AUTH_TOKEN_EXPIRED`` for a genuine token past ``exp``;
                ``AUTH_TOKEN_INVALID`` for anything else, whatever the input.
        """
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
            raise _invalid()
        if token.count(".") != 2 or not token.isascii():
            raise _invalid()
        try:
            header = jwt.get_unverified_header(token)
        except Exception as exc:  # malformed input of any kind: not our token
            raise _invalid() from exc
        if header.get("alg") != self.algorithm or header.get("typ") != ACCESS_TOKEN_HEADER_TYPE:
            raise _invalid()
        kid = header.get("kid")
        if (kid is not None and not isinstance(kid, str)) or kid not in self._keys:
            raise _invalid()
        try:
            payload = jwt.decode(
                token,
                self._keys[kid],
                algorithms=[self.algorithm],
                audience=audience,
                issuer=issuer,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_signature": True,
                    "verify_aud": True,
                    "verify_iss": True,
                    "verify_sub": True,
                    "verify_jti": True,
                    "strict_aud": True,
                    # Time is judged below against the shop's clock, not the host's.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except Exception as exc:  # every PyJWT error, and anything a hostile token provokes
            raise _invalid() from exc
        return self._claims(payload, issuer=issuer, audience=audience, now=now)

    def _claims(
        self, payload: Mapping[str, Any], *, issuer: str, audience: str, now: datetime
    ) -> AccessClaims:
        if payload.get("typ") != AccessClaims.TOKEN_TYPE:
            raise _invalid()
        if payload.get("iss") != issuer or payload.get("aud") != audience:
            raise _invalid()  # PyJWT checked these; stay exact whatever its options
        subject = payload.get("sub")
        if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
            raise _invalid()
        if int(subject) > _MAX_ID:  # 19 digits reach past a signed 64-bit id column
            raise _invalid()
        token_id = payload.get("jti")
        if not isinstance(token_id, str) or not 0 < len(token_id) <= _MAX_JTI:
            raise _invalid()
        role_value = payload.get("role")
        if not isinstance(role_value, str) or role_value not in Role.__members__.values():
            raise _invalid()
        role = Role(role_value)
        session_id = _positive_int(payload.get("sid"))
        version = _positive_int(payload.get("ver"), zero_ok=True)
        issued_at = _numeric_date(payload, "iat")
        expires_at = _numeric_date(payload, "exp")
        if expires_at <= issued_at:
            raise _invalid()
        if issued_at > now + self._leeway:
            raise _invalid("Token not yet valid")
        if "nbf" in payload and _numeric_date(payload, "nbf") > now + self._leeway:
            raise _invalid("Token not yet valid")
        if expires_at <= now - self._leeway:
            raise TokenExpired()
        return AccessClaims(
            subject=subject,
            role=role,
            issuer=issuer,
            audience=audience,
            issued_at=issued_at,
            expires_at=expires_at,
            token_id=token_id,
            session_id=session_id,
            version=version,
        )

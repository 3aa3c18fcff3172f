"""A corpus of bad access tokens, for testing any frontend that authenticates bearer tokens.

Each :class:`BadToken` is a token a shop must refuse, with the code it must refuse it with:
``AUTH_TOKEN_EXPIRED`` for a genuine token past its expiry, ``AUTH_TOKEN_INVALID`` for anything
else (``alg: none``, HS/RS confusion, a wrong key, a wrong issuer, audience or type, each
required claim missing, tampering, truncation, garbage, a huge token...). Most are *almost*
valid: signed with the shop's real secret for a real account and session, with exactly one
thing wrong, so a test that refuses them proves each check is really made.

Usage with the identity use cases (an HTTP test sends them as ``Authorization: Bearer ...``
and expects 401 with the same code)::

    context = TokenContext(secret=SECRET, user_id=user.id, session_id=session_id, now=clock.now())
    for bad in bad_access_tokens(context):
        with pytest.raises(AuthenticationError) as caught:
            await shop.identity.authenticate(bad.token)
        assert caught.value.code == bad.code, bad.name

The shop must sign with HS256 and ``SECRET`` (``build_shop(..., token_codec=PyJwtTokenCodec(
SECRET))`` or ``ShopSettings(jwt_secret=...)``), with the default issuer and audience unless the
context says otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Final

import jwt
from attrs import frozen
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "TEST_JWT_SECRET",
    "BadToken",
    "TokenContext",
    "bad_access_tokens",
    "forge_access_token",
]

#: A 32-byte HS256 secret for test shops (never use it anywhere else).
TEST_JWT_SECRET: Final = b"bookshop-test-secret-0123456789ab"
_OTHER_SECRET: Final = b"not-the-shop-secret-0123456789abcdef"
_EXPIRED: Final = "AUTH_TOKEN_EXPIRED"
_INVALID: Final = "AUTH_TOKEN_INVALID"
_REQUIRED: Final = ("exp", "iat", "iss", "aud", "sub", "jti", "typ", "role", "sid", "ver")


@frozen
class TokenContext:
    """What a forged token needs to look genuine.

    Args:
        secret: The shop's HS256 secret.
        user_id: A real account's id (the ``sub``).
        session_id: A live refresh family of that account (the ``sid``).
        now: The shop's current time.
        version: The account's current token version (``ver``).
        role: The ``role`` claim.
        issuer: The shop's issuer.
        audience: The shop's audience.
    """

    secret: bytes
    user_id: int
    session_id: int
    now: datetime
    version: int = 0
    role: str = "user"
    issuer: str = "bookshop"
    audience: str = "bookshop"


@frozen
class BadToken:
    """A token to refuse, why it is bad, and the code to refuse it with."""

    name: str
    token: str
    code: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _hmac(alg: str, key: bytes, signing_input: str) -> str:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    return _b64(hmac.new(key, signing_input.encode("ascii"), digest).digest())


def forge_access_token(
    context: TokenContext,
    *,
    header: Mapping[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    key: bytes | None = None,
    raw_payload: bytes | None = None,
    **claims: Any,
) -> str:
    """An HS-signed access token for ``context``, with any claim or header changed.

    Args:
        context: Whose token, signed with which secret.
        header: Header fields replacing the defaults (``alg`` HS256, ``typ`` at+jwt).
        drop: Claims to leave out.
        key: Sign with this key instead of ``context.secret``.
        raw_payload: Use these bytes as the payload instead of the JSON claims.
        **claims: Claims replacing the defaults.

    Returns:
        The compact JWS; with the defaults alone, a token the shop accepts.
    """
    now = math.floor(context.now.timestamp())
    payload: dict[str, Any] = {
        "iss": context.issuer,
        "aud": context.audience,
        "sub": str(context.user_id),
        "iat": now,
        "exp": now + 900,
        "jti": "forged-" + hashlib.sha256(repr(claims).encode()).hexdigest()[:16],
        "typ": "access",
        "role": context.role,
        "sid": context.session_id,
        "ver": context.version,
    }
    payload.update(claims)
    for name in drop:
        payload.pop(name, None)
    full_header: dict[str, Any] = {"alg": "HS256", "typ": "at+jwt"}
    full_header.update(header or {})
    body = raw_payload if raw_payload is not None else _json(payload)
    signing_input = f"{_b64(_json(full_header))}.{_b64(body)}"
    alg = str(full_header.get("alg"))
    if alg in ("HS256", "HS384", "HS512"):
        signature = _hmac(alg, key if key is not None else context.secret, signing_input)
    else:
        signature = ""
    return f"{signing_input}.{signature}"


@cache
def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _rsa_public_pem() -> bytes:
    return (
        _rsa_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _rs256(context: TokenContext) -> str:
    """A token with good claims, RS256-signed by a key the shop has never seen."""
    now = math.floor(context.now.timestamp())
    return jwt.encode(
        {
            "iss": context.issuer,
            "aud": context.audience,
            "sub": str(context.user_id),
            "iat": now,
            "exp": now + 900,
            "jti": "rs256",
            "typ": "access",
            "role": context.role,
            "sid": context.session_id,
            "ver": context.version,
        },
        _rsa_key(),
        algorithm="RS256",
        headers={"typ": "at+jwt"},
    )


def _tamper_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    return f"{header}.{_b64(_json(claims))}.{signature}"


def _tamper_signature(token: str) -> str:
    head, _, signature = token.rpartition(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{head}.{flipped}"


def bad_access_tokens(context: TokenContext) -> list[BadToken]:
    """Every bad token of the corpus (more than forty), for the account in ``context``.

    Args:
        context: The shop's secret and a real account and session.

    Returns:
        Tokens to refuse, each with the code to refuse it with.
    """
    now = math.floor(context.now.timestamp())
    good = forge_access_token(context)
    forge: Callable[..., str] = lambda **kw: forge_access_token(context, **kw)  # noqa: E731
    corpus: list[tuple[str, str, str]] = [
        # algorithm games
        ("alg none", forge(header={"alg": "none"}).rpartition(".")[0] + ".", _INVALID),
        ("alg None", forge(header={"alg": "None"}).rpartition(".")[0] + ".", _INVALID),
        ("alg missing", forge(header={"alg": None}), _INVALID),
        ("HS384 with the right secret", forge(header={"alg": "HS384"}), _INVALID),
        ("HS512 with the right secret", forge(header={"alg": "HS512"}), _INVALID),
        ("RS256 signed by a stranger", _rs256(context), _INVALID),
        ("HS256 keyed with an RSA public PEM", forge(key=_rsa_public_pem()), _INVALID),
        ("wrong HMAC key", forge(key=_OTHER_SECRET), _INVALID),
        ("empty HMAC key", forge(key=b""), _INVALID),
        # headers
        ("header typ JWT (an ID token's)", forge(header={"typ": "JWT"}), _INVALID),
        ("header typ missing", forge(header={"typ": None}), _INVALID),
        ("unknown kid", forge(header={"kid": "retired-2019"}), _INVALID),
        ("kid not a string", forge(header={"kid": 7}), _INVALID),
        # time
        ("expired an hour ago", forge(iat=now - 4500, exp=now - 3600), _EXPIRED),
        ("expired a minute ago", forge(iat=now - 960, exp=now - 60), _EXPIRED),
        ("issued an hour from now", forge(iat=now + 3600, exp=now + 4500), _INVALID),
        ("not before an hour from now", forge(nbf=now + 3600), _INVALID),
        ("exp before iat", forge(iat=now - 10, exp=now - 20), _INVALID),
        ("exp a string", forge(exp=str(now + 900)), _INVALID),
        ("exp a boolean", forge(exp=True), _INVALID),
        ("exp absurdly far", forge(exp=10**30), _INVALID),
        ("iat a string", forge(iat="yesterday"), _INVALID),
        ("exp not a number", forge(raw_payload=_nan_payload(context)), _INVALID),
        # who and for whom
        ("wrong issuer", forge(iss="https://evil.example"), _INVALID),
        ("wrong audience", forge(aud="another-app"), _INVALID),
        ("audience in a list", forge(aud=[context.audience, "another-app"]), _INVALID),
        ("refresh token type", forge(typ="refresh"), _INVALID),
        ("ID token type", forge(typ="id"), _INVALID),
        ("sub an integer", forge(sub=context.user_id), _INVALID),
        ("sub not a number", forge(sub="alice"), _INVALID),
        ("sub zero", forge(sub="0"), _INVALID),
        ("sub with a sign", forge(sub=f"+{context.user_id}"), _INVALID),
        ("role unknown", forge(role="superadmin"), _INVALID),
        ("sid a boolean", forge(sid=True), _INVALID),
        ("sid a string", forge(sid=str(context.session_id)), _INVALID),
        ("ver negative", forge(ver=-1), _INVALID),
        ("jti empty", forge(jti=""), _INVALID),
        ("payload a JSON array", forge(raw_payload=b"[1,2,3]"), _INVALID),
        ("payload not JSON", forge(raw_payload=b"not json at all"), _INVALID),
        (
            "an ID token",
            forge(drop=("typ", "role", "sid", "ver"), header={"typ": "JWT"}, email="a@b.c"),
            _INVALID,
        ),
        # tampering and mangling
        ("payload tampered (role: admin)", _tamper_payload(good), _INVALID),
        ("signature tampered", _tamper_signature(good), _INVALID),
        ("signature stripped", good.rpartition(".")[0] + ".", _INVALID),
        ("truncated", good[: len(good) // 2], _INVALID),
        ("last character dropped", good[:-1], _INVALID),
        ("two segments", good.rpartition(".")[0], _INVALID),
        ("four segments", good + ".e30", _INVALID),
        ("five segments (a JWE)", "eyJhbGciOiJkaXIifQ..aGVsbG8.aGVsbG8.aGVsbG8", _INVALID),
        ("not base64", "!!!!.@@@@.####", _INVALID),
        ("base64 of garbage", f"{_b64(b'x')}.{_b64(b'y')}.{_b64(b'z')}", _INVALID),
        ("empty", "", _INVALID),
        ("dots only", "..", _INVALID),
        ("with the Bearer prefix", f"Bearer {good}", _INVALID),
        ("surrounded by spaces", f" {good} ", _INVALID),
        ("non-ASCII", good[:-2] + "é", _INVALID),
        ("NUL inside", good[:10] + "\x00" + good[10:], _INVALID),
        ("huge", forge(padding="x" * 20_000), _INVALID),
        ("huge garbage", "a" * 100_000 + ".b.c", _INVALID),
    ]
    for claim in _REQUIRED:
        corpus.append((f"missing {claim}", forge(drop=(claim,)), _INVALID))
    return [BadToken(name, token, code) for name, token, code in corpus]


def _nan_payload(context: TokenContext) -> bytes:
    now = math.floor(context.now.timestamp())
    body = (
        f'{{"iss":{json.dumps(context.issuer)},"aud":{json.dumps(context.audience)},'
        f'"sub":"{context.user_id}","iat":{now},"exp":NaN,"jti":"nan","typ":"access",'
        f'"role":{json.dumps(context.role)},"sid":{context.session_id},"ver":{context.version}}}'
    )
    return body.encode("utf-8")


#: Lifetimes the corpus assumes: a token issued "now" expires 15 minutes later.
ASSUMED_ACCESS_TTL: Final = timedelta(minutes=15)

"""The PyJWT token codec: pinned algorithm, key rules, every claim checked, no leaked errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from bookshop_adapters.jwt import PyJwtTokenCodec
from bookshop_adapters.testing.tokens import (
    TEST_JWT_SECRET,
    TokenContext,
    bad_access_tokens,
    forge_access_token,
)
from bookshop_core.errors import AuthenticationError
from bookshop_core.identity import AccessClaims
from bookshop_core.kernel.principal import Role

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
ISS = "bookshop"
AUD = "bookshop"


def claims(**changes: object) -> AccessClaims:
    values: dict[str, object] = {
        "subject": "42",
        "role": Role.USER,
        "issuer": ISS,
        "audience": AUD,
        "issued_at": NOW,
        "expires_at": NOW + timedelta(minutes=15),
        "token_id": "jti-1",
        "session_id": 7,
        "version": 3,
    }
    values.update(changes)
    return AccessClaims(**values)  # type: ignore[arg-type]


def decode(codec: PyJwtTokenCodec, token: str, now: datetime = NOW) -> AccessClaims:
    return codec.decode(token, issuer=ISS, audience=AUD, now=now)


def code_of(codec: PyJwtTokenCodec, token: object, now: datetime = NOW) -> str:
    with pytest.raises(AuthenticationError) as caught:
        codec.decode(token, issuer=ISS, audience=AUD, now=now)  # type: ignore[arg-type]
    return caught.value.code


def pem_private(key: object) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def pem_public(key: object) -> bytes:
    return key.public_key().public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# -- construction -------------------------------------------------------------------------


def test_hs256_round_trip_keeps_every_claim() -> None:
    """What is encoded is what is decoded, at second precision."""
    codec = PyJwtTokenCodec(TEST_JWT_SECRET)
    assert decode(codec, codec.encode(claims())) == claims()


def test_header_names_the_pinned_algorithm_and_access_token_type() -> None:
    """Tokens say alg HS256 and typ at+jwt (RFC 9068); the payload's typ is "access"."""
    token = PyJwtTokenCodec(TEST_JWT_SECRET).encode(claims())
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "at+jwt"}
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["typ"] == "access"
    assert payload["sub"] == "42"
    assert payload["role"] == "user"


@pytest.mark.parametrize("secret", [b"", b"short", b"x" * 31, "x" * 31])
def test_hs256_refuses_a_secret_under_32_bytes(secret: str | bytes) -> None:
    """A guessable HMAC key is refused at construction, not discovered in production."""
    with pytest.raises(ValueError, match="32 bytes"):
        PyJwtTokenCodec(secret)


def test_hs512_needs_64_bytes() -> None:
    """The HMAC key is at least as long as the hash."""
    with pytest.raises(ValueError, match="64 bytes"):
        PyJwtTokenCodec(b"x" * 32, algorithm="HS512")
    PyJwtTokenCodec(b"x" * 64, algorithm="HS512")


def test_no_secret_is_refused() -> None:
    """HS256 without a secret does not silently sign with nothing."""
    with pytest.raises(ValueError, match="needs a secret"):
        PyJwtTokenCodec()


@pytest.mark.parametrize("algorithm", ["none", "None", "HS1", "RS1", ""])
def test_unsupported_algorithms_are_refused(algorithm: str) -> None:
    """Only the listed algorithms can be pinned; "none" never."""
    with pytest.raises(ValueError, match="unsupported"):
        PyJwtTokenCodec(TEST_JWT_SECRET, algorithm=algorithm)


def test_a_pem_key_is_not_an_hmac_secret(rsa_key: rsa.RSAPrivateKey) -> None:
    """The classic confusion set-up (a public key used as HMAC secret) cannot be configured."""
    with pytest.raises(ValueError, match="PEM"):
        PyJwtTokenCodec(pem_public(rsa_key))


def test_rsa_keys_under_2048_bits_are_refused() -> None:
    """Weak RSA keys are refused."""
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="2048"):
        PyJwtTokenCodec(algorithm="RS256", private_key=pem_private(small))


def test_ec_key_must_match_the_curve_of_its_algorithm() -> None:
    """ES256 needs P-256; a P-384 key is refused."""
    key = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(ValueError, match="secp256r1"):
        PyJwtTokenCodec(algorithm="ES256", private_key=pem_private(key))


def test_key_type_must_match_the_algorithm(rsa_key: rsa.RSAPrivateKey) -> None:
    """An RSA key cannot be pinned to ES256, an HMAC secret not to RS256."""
    with pytest.raises(ValueError, match="EC key"):
        PyJwtTokenCodec(algorithm="ES256", private_key=pem_private(rsa_key))
    with pytest.raises(ValueError, match="PEM keys"):
        PyJwtTokenCodec(TEST_JWT_SECRET, algorithm="RS256")


# -- asymmetric algorithms and rotation ---------------------------------------------------


@pytest.mark.parametrize("algorithm", ["RS256", "PS256", "ES256", "EdDSA"])
def test_asymmetric_round_trip(algorithm: str, rsa_key: rsa.RSAPrivateKey) -> None:
    """RS/PS/ES/EdDSA sign with the private key and verify with its public key."""
    key: object = {
        "RS256": rsa_key,
        "PS256": rsa_key,
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
    }[algorithm]
    signer = PyJwtTokenCodec(algorithm=algorithm, private_key=pem_private(key))
    verifier = PyJwtTokenCodec(algorithm=algorithm, public_key=pem_public(key))
    token = signer.encode(claims())
    assert decode(verifier, token) == claims()
    with pytest.raises(RuntimeError):
        verifier.encode(claims())


def test_hs_rs_confusion_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    """A token HMAC-signed with the RS256 codec's public key (which attackers know) fails."""
    codec = PyJwtTokenCodec(algorithm="RS256", private_key=pem_private(rsa_key))
    context = TokenContext(secret=pem_public(rsa_key), user_id=42, session_id=7, now=NOW)
    forged = forge_access_token(context, version=3)
    assert code_of(codec, forged) == "AUTH_TOKEN_INVALID"
    unsigned = forge_access_token(context, header={"alg": "none"}).rpartition(".")[0] + "."
    assert code_of(codec, unsigned) == "AUTH_TOKEN_INVALID"


def test_rotation_accepts_retired_keys_by_kid() -> None:
    """Tokens of the retired key still verify by kid; unknown kids do not."""
    old_secret, new_secret = b"o" * 32, b"n" * 32
    old = PyJwtTokenCodec(old_secret, kid="2023")
    new = PyJwtTokenCodec(new_secret, kid="2024", verification_keys={"2023": old_secret})
    assert jwt.get_unverified_header(new.encode(claims()))["kid"] == "2024"
    assert decode(new, old.encode(claims())) == claims()
    assert decode(new, new.encode(claims())) == claims()
    stranger = PyJwtTokenCodec(b"s" * 32, kid="2022")
    assert code_of(new, stranger.encode(claims())) == "AUTH_TOKEN_INVALID"
    retired_gone = PyJwtTokenCodec(new_secret, kid="2024")
    assert code_of(retired_gone, old.encode(claims())) == "AUTH_TOKEN_INVALID"


def test_a_token_without_kid_is_refused_when_the_codec_has_one() -> None:
    """With kids in use, a kid-less token matches no key."""
    plain = PyJwtTokenCodec(TEST_JWT_SECRET)
    with_kid = PyJwtTokenCodec(TEST_JWT_SECRET, kid="k1")
    assert code_of(with_kid, plain.encode(claims())) == "AUTH_TOKEN_INVALID"


# -- time ---------------------------------------------------------------------------------


def test_expiry_is_judged_by_the_given_now_with_a_small_leeway() -> None:
    """Valid until exp + leeway by the shop's clock, expired after."""
    codec = PyJwtTokenCodec(TEST_JWT_SECRET, leeway=timedelta(seconds=5))
    token = codec.encode(claims())
    exp = NOW + timedelta(minutes=15)
    assert decode(codec, token, now=exp + timedelta(seconds=4))
    assert code_of(codec, token, now=exp + timedelta(seconds=5)) == "AUTH_TOKEN_EXPIRED"
    assert code_of(codec, token, now=exp + timedelta(days=365)) == "AUTH_TOKEN_EXPIRED"


def test_a_token_from_the_future_is_invalid() -> None:
    """iat beyond now + leeway: not yet valid."""
    codec = PyJwtTokenCodec(TEST_JWT_SECRET)
    token = codec.encode(claims())
    assert code_of(codec, token, now=NOW - timedelta(minutes=1)) == "AUTH_TOKEN_INVALID"


def test_an_expired_forgery_is_invalid_not_expired() -> None:
    """The signature is checked before time: a forged old token never says "expired"."""
    codec = PyJwtTokenCodec(TEST_JWT_SECRET)
    forged = PyJwtTokenCodec(b"z" * 32).encode(claims())
    assert code_of(codec, forged, now=NOW + timedelta(days=1)) == "AUTH_TOKEN_INVALID"


def test_wrong_issuer_or_audience_is_invalid() -> None:
    """iss and aud must be exactly the shop's."""
    codec = PyJwtTokenCodec(TEST_JWT_SECRET)
    assert code_of(codec, codec.encode(claims(issuer="other"))) == "AUTH_TOKEN_INVALID"
    assert code_of(codec, codec.encode(claims(audience="other"))) == "AUTH_TOKEN_INVALID"


# -- the corpus ---------------------------------------------------------------------------


def test_the_corpus_is_large_and_names_are_unique() -> None:
    """At least 30 bad tokens, each named once."""
    corpus = bad_access_tokens(TokenContext(TEST_JWT_SECRET, user_id=42, session_id=7, now=NOW))
    assert len(corpus) >= 30
    assert len({bad.name for bad in corpus}) == len(corpus)


def test_the_corpus_template_is_a_valid_token() -> None:
    """The forger's defaults make a token the codec accepts: each corpus entry is one flaw."""
    codec = PyJwtTokenCodec(TEST_JWT_SECRET)
    context = TokenContext(TEST_JWT_SECRET, user_id=42, session_id=7, now=NOW, version=3)
    assert decode(codec, forge_access_token(context)).user_id == 42


@pytest.mark.parametrize(
    "bad",
    bad_access_tokens(TokenContext(TEST_JWT_SECRET, user_id=42, session_id=7, now=NOW)),
    ids=lambda bad: bad.name,
)
def test_every_bad_token_is_refused_with_its_code(bad: object) -> None:
    """Each corpus token fails with AUTH_TOKEN_INVALID or AUTH_TOKEN_EXPIRED, nothing else."""
    codec = PyJwtTokenCodec(TEST_JWT_SECRET)
    assert code_of(codec, bad.token) == bad.code  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", [None, 42, b"a.b.c", ["a", "b"], object()])
def test_non_strings_are_invalid(value: object) -> None:
    """Whatever a frontend passes, the codec answers with a domain error."""
    assert code_of(PyJwtTokenCodec(TEST_JWT_SECRET), value) == "AUTH_TOKEN_INVALID"

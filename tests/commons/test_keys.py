"""The gateway's signing key: created once with owner-only permissions, reloaded unchanged, named by thumbprint."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import JWTError

from commons.keys import SigningKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rfc7638_thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 §3: SHA-256 over the required EC members, sorted, without white space."""
    numbers = public_key.public_numbers()
    x = b64url(numbers.x.to_bytes(32, "big"))
    y = b64url(numbers.y.to_bytes(32, "big"))
    canonical = '{"crv":"P-256","kty":"EC","x":"' + x + '","y":"' + y + '"}'
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)
    assert isinstance(private_key.curve, ec.SECP256R1)
    return private_key.public_key()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": "czt-gateway", "aud": "czt-api", "sub": "someone", "iat": now, "exp": now + 60} | overrides


def test_load_or_create_writes_an_owner_only_pem(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.pem"
    SigningKey.load_or_create(path)
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_second_call_loads_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.pem"
    first = SigningKey.load_or_create(path)
    pem = path.read_bytes()
    second = SigningKey.load_or_create(path)
    assert second.kid == first.kid
    assert second.jwks() == first.jwks()
    assert path.read_bytes() == pem  # not regenerated
    # A token signed before the restart still verifies after it.
    token = first.sign(claims())
    assert second.verify(token, audience="czt-api", issuer="czt-gateway")["sub"] == "someone"


def test_kid_is_the_rfc7638_thumbprint(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.pem"
    key = SigningKey.load_or_create(path)
    public_key = load_public_key(path)
    assert key.kid == rfc7638_thumbprint(public_key)
    numbers = public_key.public_numbers()
    assert key.public_jwk["x"] == b64url(numbers.x.to_bytes(32, "big"))
    assert key.public_jwk["y"] == b64url(numbers.y.to_bytes(32, "big"))


def test_thumbprint_helper_matches_the_rfc_canonical_form() -> None:
    # Guards the test's own helper against the JSON serialiser's rules, independently of commons.keys.
    public_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    numbers = public_key.public_numbers()
    members = {"kty": "EC", "y": b64url(numbers.y.to_bytes(32, "big")), "crv": "P-256"}
    members["x"] = b64url(numbers.x.to_bytes(32, "big"))
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    assert rfc7638_thumbprint(public_key) == b64url(hashlib.sha256(canonical.encode()).digest())


def test_different_keys_have_different_kids(tmp_path: Path) -> None:
    a = SigningKey.load_or_create(tmp_path / "a" / "k.pem")
    b = SigningKey.load_or_create(tmp_path / "b" / "k.pem")
    assert a.kid != b.kid


def test_a_file_holding_another_key_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rsa.pem"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="EC private key"):
        SigningKey.load_or_create(path)


def test_jwks_publishes_the_public_half_only() -> None:
    key = SigningKey.generate()
    (jwk,) = key.jwks()["keys"]
    assert jwk["kty"] == "EC"
    assert jwk["crv"] == "P-256"
    assert jwk["alg"] == "ES256"
    assert jwk["kid"] == key.kid
    assert "d" not in jwk


def test_verify_rejects_a_token_signed_by_another_key() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    with pytest.raises(JWTError):
        key.verify(other.sign(claims()), audience="czt-api", issuer="czt-gateway")


@pytest.mark.parametrize(
    "missing",
    ["exp", "iat", "sub"],
)
def test_verify_requires_exp_iat_and_sub(missing: str) -> None:
    key = SigningKey.generate()
    token = key.sign({k: v for k, v in claims().items() if k != missing})
    with pytest.raises(JWTError):
        key.verify(token, audience="czt-api", issuer="czt-gateway")

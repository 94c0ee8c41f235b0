"""Signing with a type, and the credential formats' building blocks: status bits and the claims digest."""

from __future__ import annotations

import base64
import zlib

import pytest
from jose import jwt

from commons.keys import SigningKey
from schemas.credentials import StatusBits, claims_digest


def test_sign_without_headers_is_unchanged() -> None:
    key = SigningKey.generate()
    header = jwt.get_unverified_header(key.sign({"sub": "x"}))
    assert header == {"alg": "ES256", "kid": key.kid, "typ": "JWT"}


def test_sign_adds_a_type_but_never_another_kid_or_algorithm() -> None:
    key = SigningKey.generate()
    token = key.sign({"sub": "x"}, headers={"typ": "czt-credential+jwt", "kid": "not-mine", "alg": "none", "x": 1})
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": key.kid, "typ": "czt-credential+jwt", "x": 1}
    assert jwt.decode(token, key.public_jwk, algorithms=["ES256"]) == {"sub": "x"}


def test_status_bits_are_least_significant_first_and_compressed() -> None:
    bits = StatusBits.encode([0, 9, 131_071], size=131_072)
    raw = bits.decode()
    assert len(raw) == 16_384
    assert raw[0] == 0b0000_0001
    assert raw[1] == 0b0000_0010
    assert raw[-1] == 0b1000_0000
    assert len(bits.lst) < 200  # sixteen kilobytes of mostly zeros travel as a few dozen bytes
    assert [i for i in (0, 1, 8, 9, 10, 131_071) if bits.is_set(i)] == [0, 9, 131_071]
    assert bits.model_dump() == {"bits": 1, "lst": bits.lst}


def test_status_bits_refuse_an_index_beyond_the_list_and_a_broken_list() -> None:
    bits = StatusBits.encode([], size=64)
    with pytest.raises(ValueError, match="beyond"):
        bits.is_set(64)
    with pytest.raises(ValueError, match="zlib"):
        StatusBits(lst="not-zlib").is_set(0)
    raw_zlib = base64.urlsafe_b64encode(zlib.compress(b"\x80")).decode().rstrip("=")
    assert StatusBits(lst=raw_zlib).is_set(7)


def test_the_claims_digest_ignores_key_order_and_sees_any_change() -> None:
    claims = {"iss": "430200", "name": "刘洋", "n": 1}
    reordered = {"n": 1, "name": "刘洋", "iss": "430200"}
    assert claims_digest(claims) == claims_digest(reordered)
    assert claims_digest(claims) != claims_digest(claims | {"n": 2})

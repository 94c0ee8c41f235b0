"""ES256 signing keys: generated on first run, kept outside git with mode 0600.

The gateway's key signs the access tokens it hands to users and the service tokens it sends to
cities; audiences keep the two apart (``czt-api`` versus a city code). Each city's key signs its
exchange responses. Every service publishes its public half as a JWKS at ``/.well-known/jwks.json``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk, jwt

ALGORITHM = "ES256"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SigningKey:
    """An EC P-256 private key with its JWK thumbprint as ``kid``."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        numbers = private_key.public_key().public_numbers()
        x, y = (_b64url(n.to_bytes(32, "big")) for n in (numbers.x, numbers.y))
        # RFC 7638 thumbprint: the required members in lexicographic order, no white space.
        canonical = json.dumps({"crv": "P-256", "kty": "EC", "x": x, "y": y}, separators=(",", ":"))
        self.kid = _b64url(hashlib.sha256(canonical.encode()).digest())
        self.public_jwk: dict[str, Any] = {
            "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": self.kid, "use": "sig", "alg": ALGORITHM
        }  # fmt: skip
        pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self._jose_key = jwk.construct(pem.decode(), ALGORITHM)
        # Built once: python-jose would rebuild the public key from the JWK on every verification.
        self._jose_public = jwk.construct(self.public_jwk, ALGORITHM)
        self._pem = pem

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """Load the key at ``path``, or generate one there readable by its owner only."""
        if path.exists():
            private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(private_key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{path} does not hold an EC private key")
            return cls(private_key)
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key._pem)
        return key

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}

    def sign(self, claims: dict[str, Any], *, headers: Mapping[str, Any] | None = None) -> str:
        """A compact ES256 JWS over ``claims``; ``headers`` add protected header members (e.g. ``typ``).

        ``kid`` and ``alg`` are always this key's own, whatever ``headers`` says.
        """
        token: str = jwt.encode(
            claims, self._jose_key, algorithm=ALGORITHM, headers={**(headers or {}), "kid": self.kid, "alg": ALGORITHM}
        )
        return token

    def verify(self, token: str, *, audience: str, issuer: str) -> dict[str, Any]:
        """Decode a token this key signed; ES256 only, audience and issuer checked, exp required."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self._jose_public,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={"require_exp": True, "require_iat": True, "require_sub": True, "leeway": 5},
        )
        return claims


def load_or_create_secret(path: Path, *, size: int = 32) -> bytes:
    """The random secret at ``path`` (e.g. the gateway's pseudonym key), made there mode 0600 on first use."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = os.urandom(size)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    return secret

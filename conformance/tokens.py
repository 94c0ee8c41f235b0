"""Service tokens for the kit: the good one the gateway would send, and every bad one a city must refuse.

The good token has exactly the claims of the gateway's own (``schemas.service_token.ServiceTokenClaims``),
signed with the sandbox gateway's key, which the city under test trusts through the gateway's JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from commons.keys import SigningKey
from schemas.purposes import Purpose
from schemas.service_token import GATEWAY_ISSUER, ServiceTokenClaims

CLIENT_ID = "czt-conformance"
"""The ``client_id`` claim: a city's access log shows the call came from the conformance kit."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())


@dataclass(frozen=True)
class TokenMaker:
    """Mints service tokens for one subject, well-formed or broken in one named way each."""

    key: SigningKey
    subject: str
    issuer: str = GATEWAY_ISSUER
    ttl_s: int = 60

    def claims(self, *, audience: str, purpose: str = Purpose.SELF_SERVICE, **changes: Any) -> dict[str, Any]:
        """The claims the gateway would send; ``changes`` replace some (``None`` removes one)."""
        now = int(time.time())
        claims = ServiceTokenClaims(
            iss=self.issuer,
            aud=audience,
            sub=self.subject,
            client_id=CLIENT_ID,
            purpose=str(purpose),
            decision_id=f"conformance-{uuid.uuid4().hex}",
            jti=uuid.uuid4().hex,
            iat=now,
            exp=now + self.ttl_s,
        ).model_dump()
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def valid(self, audience: str, purpose: str = Purpose.SELF_SERVICE) -> str:
        """What the gateway sends: ES256, its key, this audience and purpose, fresh."""
        return self.key.sign(self.claims(audience=audience, purpose=purpose))

    def signed(self, claims: dict[str, Any]) -> str:
        """``claims`` signed properly (ES256, the gateway's key): only the claims are wrong."""
        return self.key.sign(claims)

    def expired(self, audience: str) -> str:
        """Expired ten minutes ago, far past any clock leeway."""
        now = int(time.time())
        return self.signed(self.claims(audience=audience, iat=now - 900, exp=now - 600))

    def unknown_key(self, audience: str) -> str:
        """Right claims, signed by a key the gateway never published (an impostor)."""
        return SigningKey.generate().sign(self.claims(audience=audience))

    def alg_none(self, audience: str) -> str:
        """``alg: none``, no signature at all."""
        header = {"alg": "none", "typ": "JWT", "kid": self.key.kid}
        return f"{_segment(header)}.{_segment(self.claims(audience=audience))}."

    def hs256_with_public_key(self, audience: str) -> str:
        """HS256 keyed with the gateway's public key: the classic algorithm-confusion forgery.

        Anyone can make it (the key is public); a city that lets the token pick the algorithm accepts it.
        """
        header = {"alg": "HS256", "typ": "JWT", "kid": self.key.kid}
        signing_input = f"{_segment(header)}.{_segment(self.claims(audience=audience))}"
        secret = json.dumps(self.key.public_jwk, sort_keys=True, separators=(",", ":")).encode()
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(signature)}"

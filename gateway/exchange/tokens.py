"""Minting the short-lived service token that goes with every call to a city (DESIGN §6)."""

from __future__ import annotations

import time
import uuid

from commons.keys import SigningKey
from schemas.service_token import ServiceTokenClaims


class ServiceTokenMinter:
    """Signs one token per city call: audience the city, subject the end user, with purpose and decision."""

    def __init__(self, key: SigningKey, *, issuer: str, ttl_s: int) -> None:
        self._key = key
        self._issuer = issuer
        self._ttl_s = ttl_s

    def mint(self, *, city_code: str, subject: str, client_id: str, purpose: str, decision_id: str) -> str:
        now = int(time.time())
        claims = ServiceTokenClaims(
            iss=self._issuer,
            aud=city_code,
            sub=subject,
            client_id=client_id,
            purpose=purpose,
            decision_id=decision_id,
            jti=uuid.uuid4().hex,
            iat=now,
            exp=now + self._ttl_s,
        )
        return self._key.sign(claims.model_dump())

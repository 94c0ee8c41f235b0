"""How a city checks the gateway-signed service token on every exchange call (DESIGN §6).

Cities are never reachable around the gateway: every exchange route needs a valid ES256 token
issued by the gateway for this city's code, verified against the gateway's JWKS.
"""

from __future__ import annotations

import logging

from jose import JWTError, jwt
from jose.exceptions import JWKError
from pydantic import ValidationError

from commons.jwks import KeySource, verifier
from schemas.service_token import SERVICE_TOKEN_ALGORITHM, ServiceTokenClaims

log = logging.getLogger("czt.city.auth")


class ServiceTokenRejected(Exception):
    """The call carries no service token, or one this city must not accept (401)."""


class WrongPurpose(Exception):
    """A valid service token whose purpose does not cover the route (403: who asks is known, why is not allowed)."""


async def verify_service_token(
    token: str, *, keys: KeySource, city_code: str, issuer: str, leeway_s: int = 5
) -> ServiceTokenClaims:
    """Check signature (ES256 only), audience, issuer, expiry and required claims."""
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise ServiceTokenRejected("malformed service token") from exc
    if header.get("alg") != SERVICE_TOKEN_ALGORITHM:
        raise ServiceTokenRejected(f"service token algorithm must be {SERVICE_TOKEN_ALGORITHM}")
    key = await keys.key_for(str(header.get("kid", "")))
    if key is None:
        raise ServiceTokenRejected("service token signed with an unknown key")
    try:
        claims = jwt.decode(
            token,
            verifier(key),
            algorithms=[SERVICE_TOKEN_ALGORITHM],
            audience=city_code,
            issuer=issuer,
            options={
                "require_exp": True,
                "require_iat": True,
                "require_aud": True,
                "require_iss": True,
                "require_sub": True,
                "require_jti": True,
                "leeway": leeway_s,
            },
        )
        return ServiceTokenClaims.model_validate(claims)
    except (JWTError, JWKError, ValidationError) as exc:
        raise ServiceTokenRejected(f"invalid service token: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__

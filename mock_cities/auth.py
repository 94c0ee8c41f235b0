"""How a city checks the gateway-signed service token on every exchange call (DESIGN §6).

Cities are never reachable around the gateway: every route but ``/health`` needs a valid ES256
token issued by the gateway for this city's code. Keys come from the gateway's JWKS; an unknown
``kid`` triggers at most one refetch per cool-down, so a rotated gateway key is picked up and a
flood of bogus kids cannot turn the city into a JWKS-fetching amplifier.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

import httpx
from jose import JWTError, jwt
from pydantic import ValidationError

from schemas.service_token import SERVICE_TOKEN_ALGORITHM, ServiceTokenClaims

log = logging.getLogger("czt.city.auth")

Jwk = dict[str, Any]


class ServiceTokenRejected(Exception):
    """The call carries no service token, or one this city must not accept."""


class GatewayKeysUnavailable(Exception):
    """The city cannot fetch the gateway's keys, so it cannot verify anything."""


class KeySource(Protocol):
    """Where a city finds the gateway's public keys."""

    async def key_for(self, kid: str) -> Jwk | None: ...


class StaticKeys:
    """Keys handed over at start-up (tests, air-gapped deployments)."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self._keys = {key["kid"]: key for key in jwks.get("keys", [])}

    async def key_for(self, kid: str) -> Jwk | None:
        return self._keys.get(kid)


class RemoteJwks:
    """The gateway's ``/.well-known/jwks.json``, fetched lazily and cached by kid."""

    def __init__(self, url: str, client: httpx.AsyncClient, *, refetch_after_s: float = 10.0) -> None:
        self._url = url
        self._client = client
        self._refetch_after_s = refetch_after_s
        self._keys: dict[str, Jwk] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str) -> Jwk | None:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at >= self._refetch_after_s:
                await self._fetch()
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        try:
            response = await self._client.get(self._url)
            response.raise_for_status()
            keys = response.json()["keys"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise GatewayKeysUnavailable(f"cannot fetch gateway keys from {self._url}: {exc}") from exc
        self._keys = {key["kid"]: key for key in keys}
        self._fetched_at = time.monotonic()


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
            key,
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
    except (JWTError, ValidationError) as exc:
        raise ServiceTokenRejected(f"invalid service token: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__

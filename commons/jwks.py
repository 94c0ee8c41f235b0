"""Finding another service's public keys by ``kid``: pinned in configuration, or fetched from its JWKS.

An unknown ``kid`` triggers at most one refetch per cool-down, so a rotated key is picked up and a
flood of bogus kids cannot turn a service into a JWKS-fetching amplifier.
"""

from __future__ import annotations

import asyncio
import json
import time
from functools import lru_cache
from typing import Any, Protocol

import httpx
from jose import jwk
from jose.backends.base import Key

from commons.keys import ALGORITHM

Jwk = dict[str, Any]


def verifier(key: Jwk) -> Key:
    """The ES256 verifying key for a published JWK, built once per distinct JWK: python-jose would otherwise
    rebuild it from the JWK on every verification (~90 µs of a ~250 µs ``jwt.decode``)."""
    return _verifier(json.dumps(key, sort_keys=True))


@lru_cache(maxsize=256)
def _verifier(canonical: str) -> Key:
    return jwk.construct(json.loads(canonical), ALGORITHM)


class KeysUnavailable(Exception):
    """The keys cannot be fetched, so nothing signed with them can be verified."""


class KeySource(Protocol):
    """Where a service finds another service's public keys."""

    async def key_for(self, kid: str) -> Jwk | None: ...


class StaticKeys:
    """Keys handed over in configuration (pinned keys, tests, air-gapped deployments)."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self._keys = {key["kid"]: key for key in jwks.get("keys", [])}

    async def key_for(self, kid: str) -> Jwk | None:
        return self._keys.get(kid)


class RemoteJwks:
    """A ``/.well-known/jwks.json``, fetched lazily with ``client`` and cached by kid."""

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
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise KeysUnavailable(f"cannot fetch keys from {self._url}: {exc}") from exc
        self._keys = {key["kid"]: key for key in keys}
        self._fetched_at = time.monotonic()

"""Signed answers: every exchange response a city sends carries its ES256 signature (X-Road style).

The signature is a compact JWS in the ``X-CZT-Signature`` header over these claims::

    iss          the city's code
    aud          "czt-gateway"
    request_id   the request id the gateway sent
    status       the HTTP status of the answer
    body_sha256  base64url SHA-256 of the exact body bytes
    iat          when it was signed

The gateway verifies it against the city's published keys before it trusts a byte of the answer,
so a tampered body, a replayed answer to another request, or an answer from an impostor is an
``error``, not data; and what a city said can later be proved.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence

from jose import JWTError, jwt
from jose.exceptions import JWKError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commons.jwks import KeySource, verifier
from commons.keys import ALGORITHM, SigningKey
from commons.request_id import current_request_id
from commons.server_timing import timed

SIGNATURE_HEADER = "X-CZT-Signature"
GATEWAY_AUDIENCE = "czt-gateway"
MAX_AGE_S = 300


class InvalidResponseSignature(Exception):
    """A response's signature is missing, malformed, or does not match the answer."""


def body_digest(body: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode("ascii")


class ResponseSigningMiddleware:
    """Buffers each response under ``prefixes`` and adds its signature header (answers are small JSON)."""

    def __init__(self, app: ASGIApp, *, key: SigningKey, issuer: str, prefixes: Sequence[str]) -> None:
        self.app = app
        self.key = key
        self.issuer = issuer
        self.prefixes = tuple(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                assert start is not None
                body = b"".join(chunks)
                claims = {
                    "iss": self.issuer,
                    "aud": GATEWAY_AUDIENCE,
                    "request_id": current_request_id(),
                    "status": start["status"],
                    "body_sha256": body_digest(body),
                    "iat": int(time.time()),
                }
                with timed("sign"):
                    MutableHeaders(scope=start)[SIGNATURE_HEADER] = self.key.sign(claims)
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, buffer)


async def verify_response_signature(
    signature: str | None, *, body: bytes, status: int, keys: KeySource, issuer: str, request_id: str
) -> None:
    """Check that ``issuer`` signed exactly this answer to this request; raise otherwise."""
    if not signature:
        raise InvalidResponseSignature("the answer is not signed")
    try:
        header = jwt.get_unverified_header(signature)
        key = await keys.key_for(str(header.get("kid", "")))
        if key is None:
            raise InvalidResponseSignature("the answer is signed with a key the city does not publish")
        claims = jwt.decode(
            signature,
            verifier(key),
            algorithms=[ALGORITHM],
            audience=GATEWAY_AUDIENCE,
            issuer=issuer,
            options={"require_iat": True, "require_aud": True, "require_iss": True},
        )
    except (JWTError, JWKError) as exc:
        raise InvalidResponseSignature(f"bad signature: {exc}") from exc
    if claims.get("request_id") != request_id:
        raise InvalidResponseSignature("the signature is for another request")
    if claims.get("status") != status or claims.get("body_sha256") != body_digest(body):
        raise InvalidResponseSignature("the answer does not match its signature")
    if abs(time.time() - int(claims["iat"])) > MAX_AGE_S:
        raise InvalidResponseSignature("the signature is too old or from the future")

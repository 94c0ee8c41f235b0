"""The gateway-signed service token carried on every gateway → city call (DESIGN §6).

A short-lived ES256 JWT. Cities verify it offline against the gateway's JWKS with
``algorithms=["ES256"]``, ``audience=<their own city code>`` and ``issuer="czt-gateway"``
and answer 401 to anything else.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

GATEWAY_ISSUER = "czt-gateway"
SERVICE_TOKEN_ALGORITHM = "ES256"  # noqa: S105 - an algorithm name, not a secret
REQUEST_ID_HEADER = "X-Request-ID"


class ServiceTokenClaims(BaseModel):
    """Claims of a service token."""

    iss: str = Field(description="Always 'czt-gateway'")
    aud: str = Field(description="The called city's code, e.g. '430100'")
    sub: str = Field(description="The end user: a resident's ID number, an official's or a client's id")
    client_id: str = Field(description="The client that asked the gateway (portal, CLI, an integrator)")
    purpose: str = Field(description="Why the data is requested, e.g. 'self-service'")
    decision_id: str = Field(description="The gateway's access decision this call was allowed by")
    jti: str = Field(description="Unique token id")
    iat: int
    exp: int

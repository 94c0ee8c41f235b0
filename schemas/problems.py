"""The error model: RFC 9457 problem details, with stable ``type`` URIs.

Every error any CZT service returns is ``application/problem+json`` shaped like
:class:`Problem`. Clients switch on ``type``, never on ``title`` or ``detail``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemType(StrEnum):
    """Stable problem type URIs (URNs: identifiers, not pages to fetch)."""

    VALIDATION = "urn:czt:problem:validation-error"
    UNAUTHENTICATED = "urn:czt:problem:unauthenticated"
    INVALID_GRANT = "urn:czt:problem:invalid-grant"
    INVALID_CLIENT = "urn:czt:problem:invalid-client"
    UNSUPPORTED_GRANT_TYPE = "urn:czt:problem:unsupported-grant-type"
    FORBIDDEN = "urn:czt:problem:forbidden"
    NOT_FOUND = "urn:czt:problem:not-found"
    RESIDENT_NOT_FOUND = "urn:czt:problem:resident-not-found"
    METHOD_NOT_ALLOWED = "urn:czt:problem:method-not-allowed"
    CONFLICT = "urn:czt:problem:conflict"
    TRANSFER_REFUSED = "urn:czt:problem:transfer-refused"
    INTERNAL = "urn:czt:problem:internal-error"
    UPSTREAM = "urn:czt:problem:upstream-error"
    NOT_INSURED = "urn:czt:problem:not-insured"
    CREDENTIAL_INVALID = "urn:czt:problem:credential-invalid"
    USAGE_CODE_UNKNOWN = "urn:czt:problem:usage-code-unknown"
    USAGE_CODE_USED = "urn:czt:problem:usage-code-used"
    USAGE_CODE_EXPIRED = "urn:czt:problem:usage-code-expired"
    USAGE_CODE_WRONG_PURPOSE = "urn:czt:problem:usage-code-wrong-purpose"
    POLICY_DENIED = "urn:czt:problem:policy-denied"
    """The data-sharing policy refuses: ``denials`` name each category's rule (or none: default deny)."""
    AUDIT_UNAVAILABLE = "urn:czt:problem:audit-unavailable"
    """The audit log cannot take the entry, so the exchange does not happen (no exchange goes unrecorded)."""
    CONSENT_REQUIRED = "urn:czt:problem:consent-required"
    """A rule releases the data only with the resident's consent, and no active consent covers the request."""


class InvalidParam(BaseModel):
    """One offending input: where it is and what is wrong with it."""

    name: str = Field(description="Dotted location, e.g. 'path.id_number' or 'body.username'")
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details. Extension members are allowed."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    invalid_params: list[InvalidParam] | None = Field(default=None, alias="invalid-params")

    def body(self) -> dict[str, Any]:
        """The JSON body, without empty members."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

"""Verifiable credentials (可验证电子证照): what a city signs, how it revokes, and what a verifier answers.

A credential is a compact ES256 JWS signed with the issuing city's own key (the key published at its
``/.well-known/jwks.json``), with the protected header::

    alg            "ES256"
    kid            the issuing key's RFC 7638 thumbprint
    typ            "czt-credential+jwt" — the same key signs exchange answers (typ "JWT", aud "czt-gateway")
                   and status lists (typ "czt-status-list+jwt"); the type keeps the three apart
    claims_sha256  base64url SHA-256 of the claims in canonical JSON (sorted keys, no white space, UTF-8);
                   covered by the signature, so a verifier can tell a payload edited after signing
                   ("tampered") from a signature that was never the issuer's ("forged"). Diagnostic only:
                   validity rests on the signature alone.

and the claims of :class:`CredentialClaims`. Revocation follows the layout of the IETF OAuth "Token Status
List" draft: each credential names an index in its issuer's status list; the issuer publishes the list as
a JWS of its own type whose ``status_list.lst`` is a zlib-compressed bit string, one bit per index, least
significant bit first; a set bit means revoked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from schemas.cities import CityCode, CityRef
from schemas.idcard import IdNumber
from schemas.money import Yuan
from schemas.provident_fund import FundAccountStatus
from schemas.talent import ContinuingEducationYear, ProfessionalTitle, SkillCertificate

CREDENTIAL_ALGORITHM = "ES256"
CREDENTIAL_TYPE = "czt-credential+jwt"
"""The ``typ`` header of every credential; verifiers refuse anything else."""
STATUS_LIST_TYPE = "czt-status-list+jwt"
"""The ``typ`` header of a signed status list."""
CLAIMS_DIGEST_HEADER = "claims_sha256"
"""Protected header member: the issuer's digest of the claims it signed (see the module docstring)."""
STATUS_LIST_BITS: Literal[1] = 1


class CredentialKind(StrEnum):
    """The credentials a city issues."""

    SKILL_CERTIFICATE = "skill_certificate"
    """职业技能等级证书."""
    PROFESSIONAL_TITLE = "professional_title"
    """职称证书."""
    CONTINUING_EDUCATION = "continuing_education"
    """继续教育学时证明, for one year."""
    DEPOSIT_CERTIFICATE = "deposit_certificate"
    """公积金缴存证明: the account as of the day of issue."""


class DepositCertificate(BaseModel):
    """公积金缴存证明: a provident-fund account's standing on the day the certificate was issued."""

    account_no: str
    status: FundAccountStatus
    employer: str | None = None
    deposit_months: int = Field(ge=0, description="累计缴存月数 in the issuing city")
    monthly_deposit: Yuan = Field(description="月缴存额 (employer + personal), yuan")
    balance: Yuan = Field(description="账户余额 on ``as_of``, yuan")
    as_of: date = Field(description="The day the balance and months were read (the day of issue)")


CredentialSubject = SkillCertificate | ProfessionalTitle | ContinuingEducationYear | DepositCertificate

SUBJECT_MODELS: dict[CredentialKind, type[BaseModel]] = {
    CredentialKind.SKILL_CERTIFICATE: SkillCertificate,
    CredentialKind.PROFESSIONAL_TITLE: ProfessionalTitle,
    CredentialKind.CONTINUING_EDUCATION: ContinuingEducationYear,
    CredentialKind.DEPOSIT_CERTIFICATE: DepositCertificate,
}
"""Which canonical model a credential of each kind carries as ``credential_subject``."""


class CredentialRequest(BaseModel):
    """Which credential to issue: the kind and, where a person may hold several, which one.

    Skill certificates and titles are chosen by ``certificate_no``, continuing-education statements by
    ``year``; a deposit certificate needs neither (a person holds at most one account per city).
    """

    kind: CredentialKind
    certificate_no: str | None = Field(default=None, min_length=1, max_length=64)
    year: int | None = Field(default=None, ge=1990, le=2100)

    @model_validator(mode="after")
    def _selector_fits_kind(self) -> CredentialRequest:
        needs_certificate = self.kind in (CredentialKind.SKILL_CERTIFICATE, CredentialKind.PROFESSIONAL_TITLE)
        if needs_certificate and self.certificate_no is None:
            raise ValueError(f"a {self.kind} needs certificate_no")
        if not needs_certificate and self.certificate_no is not None:
            raise ValueError(f"a {self.kind} takes no certificate_no")
        if self.kind is CredentialKind.CONTINUING_EDUCATION and self.year is None:
            raise ValueError("a continuing_education statement needs year")
        if self.kind is not CredentialKind.CONTINUING_EDUCATION and self.year is not None:
            raise ValueError(f"a {self.kind} takes no year")
        return self


class StatusListEntry(BaseModel):
    """Where a credential's revocation bit lives: an index in a status list."""

    idx: int = Field(ge=0, description="The credential's bit in the list")
    uri: str = Field(description="The list's identifier, ``urn:czt:status-list:<city code>``")


class CredentialStatus(BaseModel):
    status_list: StatusListEntry


class CredentialClaims(BaseModel):
    """The claims of a credential.

    ``iss`` is the issuing city's code and ``sub`` the holder's ID number; ``iat`` and ``exp`` are
    seconds since the epoch (the validity depends on the kind and the issuer's settings);
    ``credential_subject`` is the canonical record the credential attests, its model chosen by ``kind``
    (:data:`SUBJECT_MODELS`); ``status`` names the revocation bit.
    """

    iss: CityCode
    sub: IdNumber
    name: str = Field(description="The holder's name as the issuer records it")
    jti: str = Field(pattern=r"^[0-9a-f]{32}$")
    iat: int
    exp: int
    kind: CredentialKind
    credential_subject: CredentialSubject
    status: CredentialStatus

    @model_validator(mode="before")
    @classmethod
    def _subject_follows_kind(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "credential_subject" in data:
            try:
                model = SUBJECT_MODELS[CredentialKind(str(data.get("kind")))]
            except ValueError:
                return data  # the kind's own validation names the problem
            subject = data["credential_subject"]
            if not isinstance(subject, model):
                subject = model.model_validate(subject)
            return {**data, "credential_subject": subject}
        return data

    @model_validator(mode="after")
    def _dates_in_order(self) -> CredentialClaims:
        if self.exp <= self.iat:
            raise ValueError("exp must be after iat")
        return self


class IssuedCredential(BaseModel):
    """A freshly issued credential: the compact JWS to hand over, and its claims for display."""

    credential: str = Field(description="The compact ES256 JWS; this string is the credential")
    claims: CredentialClaims


class RevocationRequest(BaseModel):
    """Why a credential is revoked (kept in the issuer's register)."""

    reason: str | None = Field(default=None, max_length=200, description="e.g. 证书已注销, 信息有误")

    @field_validator("reason")
    @classmethod
    def _storable(cls, reason: str | None) -> str | None:
        # The register keeps it, and PostgreSQL text holds no NUL.
        if reason is not None and "\x00" in reason:
            raise ValueError("a reason cannot contain the NUL character")
        return reason


class CredentialRevocation(BaseModel):
    """The outcome of revoking a credential (a second revocation returns the first one's time)."""

    jti: str
    kind: CredentialKind
    issuer: CityCode
    revoked_at: int = Field(description="Seconds since the epoch")


class StatusBits(BaseModel):
    """A bit string, one status bit per credential index, zlib-compressed and base64url-encoded."""

    bits: Literal[1] = STATUS_LIST_BITS
    lst: str

    @classmethod
    def encode(cls, revoked: Iterable[int], *, size: int) -> StatusBits:
        """The list of ``size`` bits (a multiple of 8) with the ``revoked`` indexes set."""
        raw = bytearray(size // 8)
        for index in revoked:
            raw[index // 8] |= 1 << (index % 8)
        return cls(lst=base64.urlsafe_b64encode(zlib.compress(bytes(raw), 9)).rstrip(b"=").decode("ascii"))

    def decode(self) -> bytes:
        """The uncompressed bit string; ``ValueError`` when it is not valid base64url and zlib."""
        try:
            return zlib.decompress(base64.urlsafe_b64decode(self.lst + "=" * (-len(self.lst) % 4)))
        except (zlib.error, ValueError) as exc:
            raise ValueError(f"status list is not valid base64url zlib: {exc}") from exc

    def is_set(self, index: int) -> bool:
        """Whether the bit at ``index`` is set; an index beyond the list is a ``ValueError``."""
        raw = self.decode()
        if index >= len(raw) * 8:
            raise ValueError(f"index {index} is beyond the status list ({len(raw) * 8} entries)")
        return bool(raw[index // 8] >> (index % 8) & 1)


class StatusListClaims(BaseModel):
    """The claims of a signed status list: whose it is, when it was made, until when it may be used."""

    iss: CityCode
    sub: str = Field(description="The list's identifier, as credentials name it in status.status_list.uri")
    iat: int
    exp: int
    status_list: StatusBits


class VerificationReason(StrEnum):
    """Why a credential is, or is not, valid. Clients switch on these codes."""

    VALID = "valid"
    """Signed by a key of a city in the trust registry, in force, not revoked."""
    MALFORMED = "malformed"
    """Not a compact JWS, or its header or claims do not follow the credential format."""
    WRONG_TYPE = "wrong_type"
    """A JWS of another type (e.g. an exchange answer's signature), not a credential."""
    UNTRUSTED_ISSUER = "untrusted_issuer"
    """The issuer is not a city in the trust registry, or the key is not one that city publishes."""
    FORGED = "forged"
    """The signature is not the issuer's (signed by another key, or header and claims rewritten)."""
    TAMPERED = "tampered"
    """The claims were changed after the issuer signed them."""
    NOT_YET_VALID = "not_yet_valid"
    """Issued in the future (beyond the allowed clock skew)."""
    EXPIRED = "expired"
    """Past its ``exp``."""
    REVOKED = "revoked"
    """The issuer's status list marks it revoked."""
    ISSUER_UNREACHABLE = "issuer_unreachable"
    """The issuer's keys or status list could not be obtained (or did not verify): validity is unknown."""


class CredentialVerification(BaseModel):
    """A verifier's answer: valid or not, the reason code, and the claims when valid."""

    valid: bool
    reason: VerificationReason
    detail: str = Field(description="The reason in words, for humans")
    issuer: CityRef | None = Field(default=None, description="The issuing city, once it is known to be trusted")
    claims: CredentialClaims | None = Field(default=None, description="Present only when valid")
    status_checked_at: int | None = Field(
        default=None, description="When the status list consulted was issued (seconds since the epoch)"
    )


def status_list_uri(city_code: str) -> str:
    """The identifier of ``city_code``'s status list (resolved through the trust registry, never fetched)."""
    return f"urn:czt:status-list:{city_code}"


def claims_digest(claims: Mapping[str, Any]) -> str:
    """base64url SHA-256 of ``claims`` as canonical JSON (sorted keys, no white space, UTF-8)."""
    canonical = json.dumps(claims, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode("ascii")

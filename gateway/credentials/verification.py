"""Verifying a credential: plain checks over the token, the issuer's keys and its status list.

The checks run in this order, and the first that fails names the reason
(:class:`~schemas.credentials.VerificationReason`)::

    read_credential    not a compact JWS, unreadable header or claims   → malformed
                       typ is not czt-credential+jwt                     → wrong_type
    (trust registry)   iss is not a city in the registry                 → untrusted_issuer
                       the issuer's keys cannot be fetched               → issuer_unreachable
    check_signature    kid is not a key that city publishes              → untrusted_issuer
                       alg is not ES256, or the signature does not verify:
                         claims differ from the issuer's digest          → tampered
                         otherwise                                       → forged
                       claims do not follow the credential format        → malformed
    check_validity     iat in the future (beyond the clock skew)         → not_yet_valid
                       exp passed                                        → expired
    (issuer)           status list unreachable or does not verify        → issuer_unreachable
    check_revocation   the credential's bit is set                       → revoked

Only :func:`verify_credential` awaits anything (key and status-list look-ups, handed in by the caller),
so a verifier with the keys and a status list in hand can check a credential fully offline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from jose import JWSError, JWTError, jws, jwt
from pydantic import ValidationError

from commons.jwks import Jwk, KeySource, KeysUnavailable
from schemas.cities import CityRef
from schemas.credentials import (
    CLAIMS_DIGEST_HEADER,
    CREDENTIAL_ALGORITHM,
    CREDENTIAL_TYPE,
    STATUS_LIST_TYPE,
    CredentialClaims,
    CredentialVerification,
    StatusListClaims,
    VerificationReason,
    claims_digest,
    status_list_uri,
)

CLOCK_SKEW_S = 300
"""How far in the future an ``iat`` may lie: the cities' clocks are not ours."""


class CredentialRejected(Exception):
    """A check failed: the reason code and the reason in words."""

    def __init__(self, reason: VerificationReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class StatusListUnavailable(Exception):
    """The issuer's status list could not be fetched, or it does not verify."""


@dataclass(frozen=True)
class UnverifiedCredential:
    """A credential's header and claims as read, before anything about them is trusted."""

    token: str
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def issuer(self) -> str:
        return str(self.claims["iss"])

    @property
    def kid(self) -> str:
        return str(self.header["kid"])


@dataclass(frozen=True)
class TrustedIssuer:
    """A city of the trust registry as a verifier sees it: its keys, and a way to get its status list."""

    ref: CityRef
    keys: KeySource
    status_list: Callable[[], Awaitable[StatusListClaims]]
    """Raises :class:`StatusListUnavailable` when the list cannot be had or does not verify."""


def read_credential(token: str) -> UnverifiedCredential:
    """Header and claims of ``token``, checked for shape and type only."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.get_unverified_claims(token)
    except JWTError as exc:
        raise CredentialRejected(VerificationReason.MALFORMED, f"not a readable JWS: {exc}") from None
    if header.get("typ") != CREDENTIAL_TYPE:
        raise CredentialRejected(
            VerificationReason.WRONG_TYPE, f"typ is {header.get('typ')!r}; a credential's is {CREDENTIAL_TYPE!r}"
        )
    if not isinstance(claims.get("iss"), str) or not isinstance(header.get("kid"), str):
        raise CredentialRejected(VerificationReason.MALFORMED, "a credential names its issuer (iss) and key (kid)")
    return UnverifiedCredential(token=token, header=header, claims=claims)


def check_signature(credential: UnverifiedCredential, *, key: Jwk | None) -> CredentialClaims:
    """The claims, once the issuer's ``key`` (None: the issuer publishes no key by that kid) verifies them."""
    if key is None:
        raise CredentialRejected(
            VerificationReason.UNTRUSTED_ISSUER, f"key {credential.kid} is not one {credential.issuer} publishes"
        )
    if credential.header.get("alg") != CREDENTIAL_ALGORITHM:
        raise CredentialRejected(
            VerificationReason.FORGED, f"signed with {credential.header.get('alg')!r}; credentials are ES256"
        )
    try:
        payload = jws.verify(credential.token, key, algorithms=[CREDENTIAL_ALGORITHM])
    except JWSError:
        digest = credential.header.get(CLAIMS_DIGEST_HEADER)
        if isinstance(digest, str) and digest != claims_digest(credential.claims):
            raise CredentialRejected(
                VerificationReason.TAMPERED, "the claims were changed after the issuer signed them"
            ) from None
        raise CredentialRejected(
            VerificationReason.FORGED, f"the signature is not {credential.issuer}'s (key {credential.kid})"
        ) from None
    try:
        claims = CredentialClaims.model_validate_json(payload)
    except ValidationError as exc:
        raise CredentialRejected(
            VerificationReason.MALFORMED, f"claims break the credential format ({exc.error_count()} errors)"
        ) from None
    if claims.status.status_list.uri != status_list_uri(claims.iss):
        raise CredentialRejected(VerificationReason.MALFORMED, "the credential names a status list not its issuer's")
    return claims


def check_validity(claims: CredentialClaims, *, now: int) -> None:
    """In force at ``now`` (seconds since the epoch)."""
    if claims.iat > now + CLOCK_SKEW_S:
        raise CredentialRejected(VerificationReason.NOT_YET_VALID, "issued in the future")
    if claims.exp <= now:
        raise CredentialRejected(VerificationReason.EXPIRED, f"expired {now - claims.exp} s ago")


def status_list_kid(token: str) -> str:
    """The kid a status list claims to be signed with; :class:`StatusListUnavailable` when unreadable."""
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise StatusListUnavailable(f"status list is not a readable JWS: {exc}") from None
    return str(header.get("kid", ""))


def read_status_list(token: str, *, issuer: str, key: Jwk | None, now: int) -> StatusListClaims:
    """``issuer``'s status list, once its signature, type, subject and freshness check out."""
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise StatusListUnavailable(f"status list is not a readable JWS: {exc}") from None
    if header.get("typ") != STATUS_LIST_TYPE:
        raise StatusListUnavailable(f"typ is {header.get('typ')!r}; a status list's is {STATUS_LIST_TYPE!r}")
    if key is None:
        raise StatusListUnavailable(f"status list signed with a key {issuer} does not publish")
    try:
        payload = jws.verify(token, key, algorithms=[CREDENTIAL_ALGORITHM])
        status_list = StatusListClaims.model_validate_json(payload)
    except JWSError:
        raise StatusListUnavailable(f"status list signature is not {issuer}'s") from None
    except ValidationError as exc:
        raise StatusListUnavailable(f"status list breaks the format ({exc.error_count()} errors)") from None
    if status_list.iss != issuer or status_list.sub != status_list_uri(issuer):
        raise StatusListUnavailable(f"status list is {status_list.sub} of {status_list.iss}, not {issuer}'s")
    if status_list.exp <= now or status_list.iat > now + CLOCK_SKEW_S:
        raise StatusListUnavailable("status list is out of date")
    return status_list


def check_revocation(claims: CredentialClaims, status_list: StatusListClaims) -> None:
    """Not revoked according to the issuer's ``status_list``."""
    index = claims.status.status_list.idx
    try:
        revoked = status_list.status_list.is_set(index)
    except ValueError as exc:
        raise CredentialRejected(VerificationReason.ISSUER_UNREACHABLE, f"status list unusable: {exc}") from None
    if revoked:
        raise CredentialRejected(VerificationReason.REVOKED, f"revoked by its issuer, {claims.iss}")


async def verify_credential(
    token: str, *, issuer_for: Callable[[str], TrustedIssuer | None], now: int
) -> CredentialVerification:
    """Every check in order; the answer names the first that failed, or carries the claims when all pass."""
    issuer: TrustedIssuer | None = None
    status_list: StatusListClaims | None = None
    try:
        credential = read_credential(token)
        issuer = issuer_for(credential.issuer)
        if issuer is None:
            raise CredentialRejected(
                VerificationReason.UNTRUSTED_ISSUER, f"{credential.issuer} is not a city in the trust registry"
            )
        try:
            key = await issuer.keys.key_for(credential.kid)
        except KeysUnavailable as exc:
            raise CredentialRejected(VerificationReason.ISSUER_UNREACHABLE, str(exc)) from None
        claims = check_signature(credential, key=key)
        check_validity(claims, now=now)
        try:
            status_list = await issuer.status_list()
        except StatusListUnavailable as exc:
            raise CredentialRejected(
                VerificationReason.ISSUER_UNREACHABLE, f"revocation status unknown: {exc}"
            ) from None
        check_revocation(claims, status_list)
    except CredentialRejected as rejected:
        return CredentialVerification(
            valid=False,
            reason=rejected.reason,
            detail=rejected.detail,
            issuer=issuer.ref if issuer else None,
            status_checked_at=status_list.iat if status_list else None,
        )
    return CredentialVerification(
        valid=True,
        reason=VerificationReason.VALID,
        detail=f"issued by {issuer.ref.name} ({issuer.ref.code}), in force, not revoked",
        issuer=issuer.ref,
        claims=claims,
        status_checked_at=status_list.iat,
    )

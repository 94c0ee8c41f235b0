"""Credentials through the gateway: obtain one from a city, verify against the trust registry, revoke, 用证码.

The trust registry is the city registry: a credential is trusted when its ``iss`` is a city there and
its signature verifies against that city's keys (pinned in the entry, or fetched from its JWKS).
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import CursorResult, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from commons.jwks import KeysUnavailable
from gateway.access import AccessDenied
from gateway.auth.models import Principal, PrincipalKind
from gateway.credentials import verification
from gateway.credentials.models import (
    USAGE_CODE_ALPHABET,
    USAGE_CODE_LENGTH,
    CredentialOrder,
    RedeemedCredential,
    UsageCode,
    UsageCodeResponse,
)
from gateway.exchange.registry import CityClient, CityRegistry
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.policy import service as policy_service
from gateway.policy.service import Governance, decide
from gateway.records import service as records_service
from governance.catalogue import Service
from schemas.cities import CityCallStatus
from schemas.credentials import (
    CredentialKind,
    CredentialRevocation,
    CredentialVerification,
    IssuedCredential,
    RevocationRequest,
    StatusListClaims,
)
from schemas.purposes import Purpose


class CredentialNotFound(Exception):
    """The city holds no such record to certify, or issued no such credential."""


class CredentialInvalid(Exception):
    """The credential does not verify, so nothing can be built on it."""


class UsageCodeRefused(Exception):
    """A 用证码 cannot be redeemed (base of the reasons below)."""


class UsageCodeUnknown(UsageCodeRefused):
    """No such code."""


class UsageCodeUsed(UsageCodeRefused):
    """The code was redeemed already: it is good once."""


class UsageCodeExpired(UsageCodeRefused):
    """The code's validity has passed."""


class UsageCodeWrongPurpose(UsageCodeRefused):
    """The code was made for another purpose."""


class StatusListCache:
    """Each city's verified status list, kept ``ttl_s`` seconds (never past the list's own ``exp``)."""

    def __init__(self, *, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lists: dict[str, tuple[float, StatusListClaims]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, city_code: str, fetch: Callable[[], Awaitable[StatusListClaims]]) -> StatusListClaims:
        """The cached list while fresh; otherwise one fetch (concurrent verifications share it)."""
        cached = self._fresh(city_code)
        if cached is not None:
            return cached
        async with self._locks.setdefault(city_code, asyncio.Lock()):
            cached = self._fresh(city_code)
            if cached is not None:
                return cached
            status_list = await fetch()
            self._lists[city_code] = (self._clock(), status_list)
            return status_list

    def forget(self, city_code: str) -> None:
        """Drop a city's list, e.g. after a revocation through this gateway."""
        self._lists.pop(city_code, None)

    def _fresh(self, city_code: str) -> StatusListClaims | None:
        entry = self._lists.get(city_code)
        if entry is None:
            return None
        fetched_at, status_list = entry
        if self._clock() - fetched_at >= self.ttl_s or status_list.exp <= time.time():
            return None
        return status_list


CREDENTIAL_CATEGORIES: dict[CredentialKind, str] = {
    CredentialKind.SKILL_CERTIFICATE: "talent.skill_certificates",
    CredentialKind.PROFESSIONAL_TITLE: "talent.titles",
    CredentialKind.CONTINUING_EDUCATION: "talent.continuing_education",
    CredentialKind.DEPOSIT_CERTIFICATE: "provident_fund.account",
}
"""The data category a credential of each kind attests (what the policy and the audit log speak of)."""


def _service_token(minter: ServiceTokenMinter, client: CityClient, *, principal: Principal, purpose: Purpose) -> str:
    return minter.mint(
        city_code=client.entry.code,
        subject=principal.subject,
        client_id=principal.client_id,
        purpose=purpose,
        decision_id=uuid.uuid4().hex,
    )


def _failed(client: CityClient, status: CityCallStatus, detail: str | None) -> records_service.CityCallFailed:
    return records_service.CityCallFailed(f"{client.entry.name} ({client.entry.code}): {status} — {detail}")


async def obtain_credential(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    order: CredentialOrder,
    request_id: str,
) -> IssuedCredential:
    """A credential the city signs on one of the signed-in resident's own records there."""
    if principal.kind is not PrincipalKind.RESIDENT:
        raise AccessDenied("credentials are issued to residents, on their own records")
    client = registry.require(order.city_code)
    verdict = await decide(
        governance,
        principal=principal,
        subject=principal.subject,
        service=Service.CREDENTIAL_ISSUE,
        purpose=Purpose.SELF_SERVICE,
        cities=[order.city_code],
        categories=[CREDENTIAL_CATEGORIES[order.kind]],
        request_id=request_id,
    )
    token = records_service.service_token(minter, client, principal=principal, verdict=verdict)
    outcome = await client.issue_credential(
        id_number=principal.subject, request=order.request(), service_token=token, request_id=request_id
    )
    if outcome.status is CityCallStatus.NOT_FOUND:
        raise CredentialNotFound(f"{client.entry.name} holds no such {order.kind} record on you")
    if outcome.payload is None:
        raise _failed(client, outcome.status, outcome.detail)
    if outcome.payload.claims.sub != principal.subject:
        raise _failed(client, CityCallStatus.ERROR, "the credential names another holder")
    return outcome.payload


async def verify_presented_credential(
    *,
    governance: Governance,
    token: str,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    status_lists: StatusListCache,
    principal: Principal,
    request_id: str,
) -> CredentialVerification:
    """证书核验 of a credential its holder handed over, recorded in the audit log and the holder's access log."""
    checked = await verify_credential(
        token=token,
        registry=registry,
        minter=minter,
        status_lists=status_lists,
        principal=principal,
        request_id=request_id,
    )
    await _record_presentation(governance, checked, principal=principal, request_id=request_id)
    return checked


async def _record_presentation(
    governance: Governance, checked: CredentialVerification, *, principal: Principal, request_id: str
) -> None:
    claims = checked.claims
    await policy_service.record_ungated(
        governance,
        rule=policy_service.HOLDER_PRESENTED,
        principal=principal,
        subject=None if claims is None else claims.sub,
        service=Service.CREDENTIAL_VERIFICATION,
        purpose=Purpose.CREDENTIAL_VERIFICATION,
        categories=[] if claims is None else [CREDENTIAL_CATEGORIES[claims.kind]],
        cities=[] if checked.issuer is None else [checked.issuer.code],
        request_id=request_id,
    )


async def verify_credential(
    *,
    token: str,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    status_lists: StatusListCache,
    principal: Principal,
    request_id: str,
) -> CredentialVerification:
    """Signature, trusted issuer, validity and revocation of a credential (see :mod:`.verification`)."""

    def issuer_for(city_code: str) -> verification.TrustedIssuer | None:
        client = registry.client_for(city_code)
        if client is None:
            return None

        async def fetch() -> StatusListClaims:
            return await _fetch_status_list(client, minter=minter, principal=principal, request_id=request_id)

        async def status_list() -> StatusListClaims:
            return await status_lists.get(client.entry.code, fetch)

        return verification.TrustedIssuer(ref=client.entry.ref, keys=client.keys, status_list=status_list)

    return await verification.verify_credential(token, issuer_for=issuer_for, now=int(time.time()))


async def _fetch_status_list(
    client: CityClient, *, minter: ServiceTokenMinter, principal: Principal, request_id: str
) -> StatusListClaims:
    token = _service_token(minter, client, principal=principal, purpose=Purpose.CREDENTIAL_VERIFICATION)
    outcome = await client.status_list(service_token=token, request_id=request_id)
    if outcome.payload is None:
        raise verification.StatusListUnavailable(
            f"{client.entry.name} ({client.entry.code}) {outcome.status}: {outcome.detail or 'no list'}"
        )
    try:
        key = await client.keys.key_for(verification.status_list_kid(outcome.payload))
    except KeysUnavailable as exc:
        raise verification.StatusListUnavailable(str(exc)) from None
    return verification.read_status_list(outcome.payload, issuer=client.entry.code, key=key, now=int(time.time()))


async def revoke_credential(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    status_lists: StatusListCache,
    principal: Principal,
    jti: str,
    request: RevocationRequest,
    request_id: str,
) -> CredentialRevocation:
    """Have the official's own city revoke a credential it issued (no other city's official can)."""
    if principal.kind is not PrincipalKind.OFFICIAL or principal.city_code is None:
        raise AccessDenied("only an official of the issuing city may revoke a credential")
    client = registry.require(principal.city_code)
    token = _service_token(minter, client, principal=principal, purpose=Purpose.CASE_HANDLING)
    outcome = await client.revoke_credential(jti=jti, request=request, service_token=token, request_id=request_id)
    if outcome.status is CityCallStatus.NOT_FOUND:
        raise CredentialNotFound(
            f"{client.entry.name} issued no credential {jti}; only the issuing city's officials can revoke it"
        )
    if outcome.payload is None:
        raise _failed(client, outcome.status, outcome.detail)
    # This gateway knows at once; other verifiers learn it when their copy of the list expires.
    status_lists.forget(client.entry.code)
    await policy_service.record_ungated(
        governance,
        rule=policy_service.ISSUER_REVOCATION,
        principal=principal,
        subject=None,
        service=Service.CREDENTIAL_REVOCATION,
        purpose=Purpose.CASE_HANDLING,
        categories=[CREDENTIAL_CATEGORIES[outcome.payload.kind]],
        cities=[client.entry.code],
        request_id=request_id,
    )
    return outcome.payload


async def create_usage_code(
    *,
    session: Session,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    status_lists: StatusListCache,
    principal: Principal,
    token: str,
    purpose: Purpose,
    validity_s: int,
    request_id: str,
) -> UsageCodeResponse:
    """A one-time 用证码 for one of the resident's own valid credentials, bound to one purpose."""
    if principal.kind is not PrincipalKind.RESIDENT:
        raise AccessDenied("usage codes are made by residents for their own credentials")
    checked = await verify_credential(
        token=token,
        registry=registry,
        minter=minter,
        status_lists=status_lists,
        principal=principal,
        request_id=request_id,
    )
    if not checked.valid or checked.claims is None or checked.issuer is None:
        raise CredentialInvalid(f"the credential is not valid ({checked.reason}): {checked.detail}")
    if checked.claims.sub != principal.subject:
        raise AccessDenied("a usage code can be made only for your own credential")
    now = datetime.now(UTC)
    expires_at = min(now + timedelta(seconds=validity_s), datetime.fromtimestamp(checked.claims.exp, UTC))
    row = await run_in_threadpool(
        store_usage_code,
        session=session,
        jti=checked.claims.jti,
        issuer=checked.claims.iss,
        holder=principal.subject,
        purpose=purpose,
        token=token,
        created_at=now,
        expires_at=expires_at,
    )
    return UsageCodeResponse(code=row.code, purpose=purpose, jti=row.jti, issuer=checked.issuer, expires_at=expires_at)


def new_usage_code() -> str:
    """Eight symbols from an alphabet without look-alikes, from the OS's CSPRNG."""
    return "".join(secrets.choice(USAGE_CODE_ALPHABET) for _ in range(USAGE_CODE_LENGTH))


def store_usage_code(
    *,
    session: Session,
    jti: str,
    issuer: str,
    holder: str,
    purpose: Purpose,
    token: str,
    created_at: datetime,
    expires_at: datetime,
) -> UsageCode:
    """Store a fresh code (drawing again on the rare clash with an existing one)."""
    clashes = 0
    while True:
        row = UsageCode(
            code=new_usage_code(),
            jti=jti,
            issuer=issuer,
            holder=holder,
            purpose=purpose,
            credential=token,
            created_at=created_at,
            expires_at=expires_at,
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            clashes += 1
            if clashes == 5:
                raise
            continue
        session.refresh(row)
        return row


def claim_usage_code(*, session: Session, code: str, purpose: Purpose, redeemed_by: str, now: datetime) -> UsageCode:
    """Mark the code used, atomically: of two concurrent redemptions exactly one succeeds."""
    # One conditional UPDATE decides; it is the transaction's first statement, so SQLite takes the write
    # lock at once and PostgreSQL re-checks the WHERE clause after a concurrent writer commits.
    result = cast(
        CursorResult[Any],
        session.execute(
            update(UsageCode)
            .where(
                col(UsageCode.code) == code,
                col(UsageCode.used_at).is_(None),
                col(UsageCode.purpose) == purpose,
                col(UsageCode.expires_at) > now,
            )
            .values(used_at=now, used_by=redeemed_by)
        ),
    )
    session.commit()
    row = session.get(UsageCode, code)
    if result.rowcount == 1 and row is not None:
        return row
    # Nothing was claimed: say why (for the caller's message only; the UPDATE above made the decision).
    if row is None:
        raise UsageCodeUnknown("no such usage code")
    if row.used_at is not None:
        raise UsageCodeUsed("this usage code was redeemed already; a usage code is good once")
    if row.purpose != purpose:
        raise UsageCodeWrongPurpose(f"this usage code is for another purpose than {purpose}")
    raise UsageCodeExpired("this usage code has expired")


async def redeem_usage_code(
    *,
    governance: Governance,
    session: Session,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    status_lists: StatusListCache,
    principal: Principal,
    code: str,
    purpose: Purpose,
    request_id: str,
) -> RedeemedCredential:
    """The credential a 用证码 stands for (once), with its verification as of now."""
    row = await run_in_threadpool(
        claim_usage_code,
        session=session,
        code=code,
        purpose=purpose,
        redeemed_by=principal.subject,
        now=datetime.now(UTC),
    )
    checked = await verify_credential(
        token=row.credential,
        registry=registry,
        minter=minter,
        status_lists=status_lists,
        principal=principal,
        request_id=request_id,
    )
    await _record_presentation(governance, checked, principal=principal, request_id=request_id)
    return RedeemedCredential(code=row.code, purpose=purpose, credential=row.credential, verification=checked)

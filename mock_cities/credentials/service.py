"""Issuing, revoking and publishing the status of a city's credentials."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from commons.keys import SigningKey
from mock_cities.credentials.models import CredentialEntry, CredentialSettings
from mock_cities.dialects import Dialect
from mock_cities.profiles import CityProfile
from mock_cities.service import person_records
from schemas.credentials import (
    CLAIMS_DIGEST_HEADER,
    CREDENTIAL_TYPE,
    STATUS_LIST_TYPE,
    CredentialClaims,
    CredentialKind,
    CredentialRequest,
    CredentialRevocation,
    CredentialStatus,
    CredentialSubject,
    IssuedCredential,
    StatusBits,
    StatusListClaims,
    StatusListEntry,
    claims_digest,
    status_list_uri,
)
from schemas.records import PersonRecords
from services.talent.credentials import credential_subject

CHINA = ZoneInfo("Asia/Shanghai")
_INDEX_ATTEMPTS = 32


class CredentialNotFound(LookupError):
    """This city issued no credential with that id."""


def credential_claims(
    *,
    records: PersonRecords,
    kind: CredentialKind,
    subject: CredentialSubject,
    jti: str,
    status_index: int,
    issued_at: int,
    validity_s: int,
) -> CredentialClaims:
    """The claims of one credential (pure: the caller chooses the id, the index and the time)."""
    return CredentialClaims(
        iss=records.city.code,
        sub=records.person.id_number,
        name=records.person.name,
        jti=jti,
        iat=issued_at,
        exp=issued_at + validity_s,
        kind=kind,
        credential_subject=subject,
        status=CredentialStatus(status_list=StatusListEntry(idx=status_index, uri=status_list_uri(records.city.code))),
    )


def sign_credential(key: SigningKey, claims: CredentialClaims) -> str:
    """The compact JWS of ``claims``: typ ``czt-credential+jwt`` and the claims digest in the protected header."""
    payload = claims.model_dump(mode="json")
    return key.sign(payload, headers={"typ": CREDENTIAL_TYPE, CLAIMS_DIGEST_HEADER: claims_digest(payload)})


def issue_credential(
    *,
    session: Session,
    dialect: Dialect,
    profile: CityProfile,
    key: SigningKey,
    settings: CredentialSettings,
    id_number: str,
    request: CredentialRequest,
    now: datetime | None = None,
) -> IssuedCredential:
    """Sign a credential attesting one of the person's records here, and enter it in the register."""
    now = now or datetime.now(UTC)
    records = person_records(session=session, dialect=dialect, profile=profile, id_number=id_number)
    subject = credential_subject(records=records, request=request, as_of=now.astimezone(CHINA).date())
    validity_s = settings.validity_s(request.kind)
    entry = _register(
        session,
        settings,
        kind=request.kind,
        holder=id_number,
        issued_at=now,
        expires_at=datetime.fromtimestamp(int(now.timestamp()) + validity_s, UTC),
    )
    claims = credential_claims(
        records=records,
        kind=request.kind,
        subject=subject,
        jti=entry.jti,
        status_index=entry.status_index,
        issued_at=int(now.timestamp()),
        validity_s=validity_s,
    )
    return IssuedCredential(credential=sign_credential(key, claims), claims=claims)


def _register(
    session: Session,
    settings: CredentialSettings,
    *,
    kind: CredentialKind,
    holder: str,
    issued_at: datetime,
    expires_at: datetime,
) -> CredentialEntry:
    """Enter a new credential in the register under a fresh id and a free random status index."""
    capacity = _capacity(session, settings)
    # End the reading transaction, so that each INSERT below opens its own and takes SQLite's write lock
    # first (a read transaction upgraded to a write fails at once when another writer got in between).
    session.commit()
    clashes = 0
    while True:
        entry = CredentialEntry(
            jti=uuid.uuid4().hex,
            kind=kind,
            holder=holder,
            status_index=secrets.randbelow(capacity),
            issued_at=issued_at,
            expires_at=expires_at,
        )
        session.add(entry)
        try:
            session.commit()
        except IntegrityError:
            # The index is taken (at most a quarter of them are): the unique constraint says so; draw again.
            session.rollback()
            clashes += 1
            if clashes == _INDEX_ATTEMPTS:
                raise
            continue
        return entry


def revoke_credential(
    *,
    session: Session,
    profile: CityProfile,
    jti: str,
    revoked_by: str,
    reason: str | None,
    now: datetime | None = None,
) -> CredentialRevocation:
    """Mark a credential revoked (once: a second revocation changes nothing and reports the first)."""
    now = now or datetime.now(UTC)
    session.execute(
        update(CredentialEntry)
        .where(col(CredentialEntry.jti) == jti, col(CredentialEntry.revoked_at).is_(None))
        .values(revoked_at=now, revoked_by=revoked_by, revocation_reason=reason)
    )
    session.commit()
    entry = session.get(CredentialEntry, jti)
    if entry is None or entry.revoked_at is None:
        raise CredentialNotFound(f"{profile.name} ({profile.code}) issued no credential {jti}")
    return CredentialRevocation(
        jti=entry.jti, kind=CredentialKind(entry.kind), issuer=profile.code, revoked_at=_epoch(entry.revoked_at)
    )


def signed_status_list(
    *,
    session: Session,
    profile: CityProfile,
    key: SigningKey,
    settings: CredentialSettings,
    now: datetime | None = None,
) -> str:
    """The city's status list as a signed JWS: one bit per issued credential, set when revoked."""
    now = now or datetime.now(UTC)
    revoked = session.exec(
        select(CredentialEntry.status_index).where(col(CredentialEntry.revoked_at).is_not(None))
    ).all()
    highest = session.exec(select(func.max(CredentialEntry.status_index))).one()
    size = max(_capacity(session, settings), _round_up_to_byte((highest or 0) + 1))
    issued_at = int(now.timestamp())
    claims = StatusListClaims(
        iss=profile.code,
        sub=status_list_uri(profile.code),
        iat=issued_at,
        exp=issued_at + settings.status_list_validity_s,
        status_list=StatusBits.encode(revoked, size=size),
    )
    return key.sign(claims.model_dump(mode="json"), headers={"typ": STATUS_LIST_TYPE})


def _capacity(session: Session, settings: CredentialSettings) -> int:
    """The index space new credentials draw from: at least four times the credentials issued so far."""
    issued = session.exec(select(func.count()).select_from(CredentialEntry)).one()
    return max(settings.status_list_min_size, _round_up_to_byte(4 * issued))


def _round_up_to_byte(bits: int) -> int:
    return -(-bits // 8) * 8


def _epoch(moment: datetime) -> int:
    # SQLite hands back naive datetimes; everything here is stored in UTC.
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())

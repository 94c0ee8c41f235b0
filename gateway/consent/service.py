"""Consent (授权): grant, list, read and revoke a resident's consents; and the lookup policy enforcement uses.

Exceptions, mapped to problem+json in ``gateway/app.py``::

    InvalidConsent      a grant that cannot stand; the message starts with the offending field (422)
    ConsentNotFound     no such consent of this resident; another resident's is "not found" too (404)

Every function reads the clock from its ``now`` argument, so status, expiry and the lookup agree within one
request and tests need no frozen clock. Datetimes are stored in UTC; SQLite hands them back naive, and
:func:`_utc` reads a naive datetime as UTC wherever one is compared.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, or_, update
from sqlmodel import Session, col, select

from gateway.auth.models import ApiClient
from gateway.consent.models import (
    ClientGrantee,
    Consent,
    ConsentCreate,
    ConsentStatus,
    ConsentView,
    GranteeKind,
    OfficialGrantee,
)
from gateway.exchange.registry import CityRegistry
from governance.engine import Requester, RequesterKind
from governance.masks import pseudonym
from schemas.purposes import Purpose

MAX_VALIDITY_YEARS = 5
"""A consent lapses within five years of taking effect: long enough for a loan or a title evaluation,
short enough that nobody is bound by a grant they have forgotten."""


class InvalidConsent(Exception):
    """A grant that cannot stand (unknown city or client, a validity window that is wrong)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        # Named like a request validation error, so clients read both the same way (RFC 9457 extension).
        self.extensions = {"invalid-params": [{"name": field, "reason": reason}]}


class ConsentNotFound(Exception):
    """No such consent of this resident (whether it does not exist or belongs to someone else)."""


@dataclass(frozen=True)
class ConsentCover:
    """What one active consent lets its grantee have: these categories, for these purposes."""

    consent_id: str
    categories: frozenset[str]
    purposes: frozenset[str]


def consent_subject(id_number: str, *, hash_key: bytes) -> str:
    """The name consents give a resident: their keyed pseudonym, the same one the audit log uses."""
    return pseudonym(id_number, key=hash_key)


def grant_consent(
    *, session: Session, registry: CityRegistry, subject: str, request: ConsentCreate, now: datetime
) -> ConsentView:
    """授权: store a consent of ``subject`` after checking its grantee and validity against the running gateway."""
    now = _utc(now)
    valid_from, valid_until = _validity(request, now=now)
    grantee = request.grantee
    if isinstance(grantee, OfficialGrantee):
        if registry.client_for(grantee.city_code) is None:
            raise InvalidConsent("body.grantee.city_code", f"no city {grantee.city_code} in the gateway's registry")
    elif session.get(ApiClient, grantee.client_id) is None:
        raise InvalidConsent("body.grantee.client_id", f"no API client {grantee.client_id!r}")
    row = Consent(
        consent_id=uuid.uuid4().hex,
        subject=subject,
        grantee_kind=grantee.kind,
        grantee_city=grantee.city_code if isinstance(grantee, OfficialGrantee) else None,
        grantee_department=grantee.department if isinstance(grantee, OfficialGrantee) else None,
        grantee_client_id=grantee.client_id if isinstance(grantee, ClientGrantee) else None,
        categories=json.dumps(request.categories),
        purposes=json.dumps([purpose.value for purpose in request.purposes]),
        valid_from=valid_from,
        valid_until=valid_until,
        created_at=now,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return consent_view(row, now=now)


def list_consents(*, session: Session, subject: str, status: ConsentStatus | None, now: datetime) -> list[ConsentView]:
    """The subject's consents, newest first; only those in ``status`` when it is given."""
    now = _utc(now)
    query = select(Consent).where(col(Consent.subject) == subject)
    if status is not None:
        query = query.where(_in_status(status, now=now))
    rows = session.exec(query.order_by(col(Consent.created_at).desc(), col(Consent.consent_id).desc())).all()
    return [consent_view(row, now=now) for row in rows]


def read_consent(*, session: Session, subject: str, consent_id: str, now: datetime) -> ConsentView:
    """One of the subject's consents."""
    return consent_view(_own(session, subject=subject, consent_id=consent_id), now=_utc(now))


def revoke_consent(*, session: Session, subject: str, consent_id: str, now: datetime) -> ConsentView:
    """撤回: mark the consent revoked (idempotent: the first revocation's time stands); the row stays as evidence."""
    now = _utc(now)
    # Conditional on not yet revoked, so a second or concurrent revocation changes nothing.
    session.execute(
        update(Consent)
        .where(
            col(Consent.consent_id) == consent_id,
            col(Consent.subject) == subject,
            col(Consent.revoked_at).is_(None),
        )
        .values(revoked_at=now)
    )
    session.commit()
    return consent_view(_own(session, subject=subject, consent_id=consent_id), now=now)


def consent_status(row: Consent, *, now: datetime) -> ConsentStatus:
    """The consent's status at ``now`` (the same rule as :func:`_in_status`, in Python)."""
    now = _utc(now)
    if row.revoked_at is not None:
        return ConsentStatus.REVOKED
    if now >= _utc(row.valid_until):
        return ConsentStatus.EXPIRED
    if now < _utc(row.valid_from):
        return ConsentStatus.PENDING
    return ConsentStatus.ACTIVE


def consent_view(row: Consent, *, now: datetime) -> ConsentView:
    """A stored consent as its resident sees it, status derived at ``now``."""
    grantee: OfficialGrantee | ClientGrantee
    if row.grantee_kind == GranteeKind.CLIENT and row.grantee_client_id is not None:
        grantee = ClientGrantee(client_id=row.grantee_client_id)
    elif row.grantee_kind == GranteeKind.OFFICIAL and row.grantee_city is not None:
        grantee = OfficialGrantee(city_code=row.grantee_city, department=row.grantee_department)
    else:  # the table's check constraint keeps such rows out
        raise ValueError(f"consent {row.consent_id} names no grantee")
    return ConsentView(
        consent_id=row.consent_id,
        grantee=grantee,
        categories=_json_list(row.categories),
        purposes=[Purpose(purpose) for purpose in _json_list(row.purposes)],
        valid_from=_utc(row.valid_from),
        valid_until=_utc(row.valid_until),
        status=consent_status(row, now=now),
        created_at=_utc(row.created_at),
        revoked_at=_utc(row.revoked_at) if row.revoked_at is not None else None,
        use_count=row.use_count,
        last_used_at=_utc(row.last_used_at) if row.last_used_at is not None else None,
    )


def covering_consents(session: Session, *, subject: str, requester: Requester, now: datetime) -> list[ConsentCover]:
    """The subject's consents active at ``now`` whose grantee is this requester (one query, no cache: a revocation
    counts on the next request)."""
    grantee = _granted_to(requester)
    if grantee is None:
        return []
    rows = session.execute(
        select(col(Consent.consent_id), col(Consent.categories), col(Consent.purposes))
        .where(col(Consent.subject) == subject, _in_status(ConsentStatus.ACTIVE, now=_utc(now)), grantee)
        .order_by(col(Consent.created_at), col(Consent.consent_id))
    ).all()
    return [
        ConsentCover(
            consent_id=consent_id,
            categories=frozenset(_json_list(categories)),
            purposes=frozenset(_json_list(purposes)),
        )
        for consent_id, categories, purposes in rows
    ]


def covers_at(row: Consent, *, requester: Requester, at: datetime) -> ConsentCover | None:
    """Pure: what ``row`` let ``requester`` have at the past moment ``at``, or None when it did not cover them then.

    The historical twin of :func:`covering_consents` (same grantee rule, same validity window), for replaying
    recorded decisions: a consent counts only if it had been granted by ``at`` — a later grant may be back-dated
    with ``valid_from`` — and had not yet been revoked; a revoked row is kept as evidence, so its ``revoked_at``
    says from when it stopped counting.
    """
    at = _utc(at)
    if not _names_grantee(row, requester):
        return None
    if _utc(row.created_at) > at or not _utc(row.valid_from) <= at < _utc(row.valid_until):
        return None
    if row.revoked_at is not None and _utc(row.revoked_at) <= at:
        return None
    return ConsentCover(
        consent_id=row.consent_id,
        categories=frozenset(_json_list(row.categories)),
        purposes=frozenset(_json_list(row.purposes)),
    )


def _names_grantee(row: Consent, requester: Requester) -> bool:
    """Python for :func:`_granted_to`: the row's grantee is ``requester``."""
    if requester.kind is RequesterKind.CLIENT:
        return row.grantee_kind == GranteeKind.CLIENT.value and row.grantee_client_id == requester.client_id
    if requester.kind is RequesterKind.OFFICIAL and requester.city is not None:
        return (
            row.grantee_kind == GranteeKind.OFFICIAL.value
            and row.grantee_city == requester.city
            and (row.grantee_department is None or row.grantee_department == requester.department)
        )
    return False


def consent_for(covers: Iterable[ConsentCover], *, category: str, purpose: str) -> str | None:
    """Pure: the id of the first consent covering category and purpose, or None."""
    return next(
        (cover.consent_id for cover in covers if category in cover.categories and purpose in cover.purposes), None
    )


def record_uses(session: Session, consent_ids: Iterable[str], *, now: datetime) -> None:
    """Count one use of each consent: an atomic UPDATE ... SET use_count = use_count + 1, last_used_at = now;
    commits."""
    # Incremented in SQL, not read-modify-write in Python: concurrent requests relying on one consent all count.
    # A consent named twice counts once: one request is one use, however many categories it covered.
    ids = sorted(set(consent_ids))
    if not ids:
        return
    session.execute(
        update(Consent)
        .where(col(Consent.consent_id).in_(ids))
        .values(use_count=col(Consent.use_count) + 1, last_used_at=_utc(now))
    )
    session.commit()


def _validity(request: ConsentCreate, *, now: datetime) -> tuple[datetime, datetime]:
    valid_from = _utc(request.valid_from) if request.valid_from is not None else now
    valid_until = _utc(request.valid_until)
    if valid_until <= valid_from:
        raise InvalidConsent("body.valid_until", f"must be after valid_from ({valid_from.isoformat()})")
    if valid_until <= now:
        raise InvalidConsent("body.valid_until", "must be in the future")
    if valid_until > _years_after(valid_from, MAX_VALIDITY_YEARS):
        raise InvalidConsent("body.valid_until", f"at most {MAX_VALIDITY_YEARS} years after valid_from")
    return valid_from, valid_until


def _own(session: Session, *, subject: str, consent_id: str) -> Consent:
    row = session.get(Consent, consent_id)
    if row is None or row.subject != subject:
        raise ConsentNotFound(f"no consent {consent_id} of yours")
    return row


def _in_status(status: ConsentStatus, *, now: datetime) -> ColumnElement[bool]:
    """SQL for "in ``status`` at ``now``" (the same rule as :func:`consent_status`); ``now`` in UTC."""
    revoked_at, valid_from, valid_until = col(Consent.revoked_at), col(Consent.valid_from), col(Consent.valid_until)
    if status is ConsentStatus.REVOKED:
        return revoked_at.is_not(None)
    if status is ConsentStatus.EXPIRED:
        return and_(revoked_at.is_(None), valid_until <= now)
    if status is ConsentStatus.PENDING:
        return and_(revoked_at.is_(None), valid_until > now, valid_from > now)
    return and_(revoked_at.is_(None), valid_from <= now, valid_until > now)


def _granted_to(requester: Requester) -> ColumnElement[bool] | None:
    """SQL for "the grantee is ``requester``"; None when no consent can name them (residents, a city-less official)."""
    if requester.kind is RequesterKind.CLIENT:
        return and_(
            col(Consent.grantee_kind) == GranteeKind.CLIENT.value,
            col(Consent.grantee_client_id) == requester.client_id,
        )
    if requester.kind is RequesterKind.OFFICIAL and requester.city is not None:
        department = col(Consent.grantee_department)
        any_department = department.is_(None)
        return and_(
            col(Consent.grantee_kind) == GranteeKind.OFFICIAL.value,
            col(Consent.grantee_city) == requester.city,
            any_department if requester.department is None else or_(any_department, department == requester.department),
        )
    return None


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one (SQLite gives them back so) is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _years_after(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February, and the year ``years`` on is not a leap year
        return moment.replace(year=moment.year + years, day=28)


def _json_list(text: str) -> list[str]:
    values = json.loads(text)
    if not isinstance(values, list):
        raise ValueError(f"expected a JSON list, not {text!r}")
    return [str(value) for value in values]

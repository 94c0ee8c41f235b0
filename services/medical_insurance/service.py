"""医保 services shared by every city: contributions, and the insuring city's side of 备案 and 直接结算."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from schemas.cities import CityRef
from schemas.medical_insurance import (
    AppliedRules,
    Enrolment,
    EnrolmentStatus,
    Filing,
    FilingApplication,
    FilingList,
    FilingStatus,
    SettlementRequest,
    SettlementStatement,
)
from schemas.money import fen_to_yuan, to_yuan, yuan_to_fen
from schemas.records import PersonRecords
from services.medical_insurance.models import SettledClaim, TreatmentFiling
from services.medical_insurance.rules import MedicalInsuranceRules
from services.medical_insurance.settlement import Settlement, YearToDate, settle


def monthly_contribution(*, base: Decimal, rules: MedicalInsuranceRules) -> tuple[Decimal, Decimal]:
    """(employer, personal) amounts of one month's employee contribution on ``base``."""
    return to_yuan(base * rules.employer_rate), to_yuan(base * rules.personal_rate)


def resident_monthly_premium(*, rules: MedicalInsuranceRules) -> Decimal:
    """城乡居民 premium spread over twelve months (the exchange reports contributions monthly)."""
    return to_yuan(rules.resident_annual_premium / 12)


# --- 异地就医备案 and 直接结算, kept by the insuring city -----------------------------------------------------
#
# Exceptions:
#
#     NotInsuredHere     no active enrolment in this city
#     InvalidFiling      a filing this city cannot keep (the care city is the city itself)
#     FilingConflict     the filing id reused for other content, or one overlapping a filing in force
#     FilingNotFound     no such filing for this person
#     ClaimConflict      the claim id reused for other content


class NotInsuredHere(Exception):
    """This city holds no active 医保 enrolment for the person."""


class InvalidFiling(Exception):
    """A filing this city cannot keep."""


class FilingConflict(Exception):
    """The filing id names another filing, or the new one overlaps a filing in force for the same care city."""


class FilingNotFound(Exception):
    """This city keeps no such filing for the person."""


class ClaimConflict(Exception):
    """The claim id was settled before with other content."""


class PersonStore(Protocol):
    """One person's canonical records in a city, whatever its local dialect: the city binds it."""

    def lock(self, *, id_number: str) -> None:
        """Serialise every writer on the person; called first in a write transaction."""

    def read(self, *, id_number: str) -> PersonRecords:
        """The person's records in canonical form."""

    def update(self, *, id_number: str, change: Callable[[PersonRecords], PersonRecords]) -> PersonRecords:
        """Apply ``change`` and store the result in the local dialect; the caller commits."""


CHINA = ZoneInfo("Asia/Shanghai")


def today_in_china() -> date:
    """The calendar day in 长株潭, which decides whether a filing is in force."""
    return datetime.now(CHINA).date()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _filing(row: TreatmentFiling, *, city: CityRef, today: date) -> Filing:
    if row.cancelled_at is not None:
        status = FilingStatus.CANCELLED
    elif row.valid_to < today:
        status = FilingStatus.EXPIRED
    else:
        status = FilingStatus.ACTIVE
    return Filing(
        filing_id=row.filing_id,
        id_number=row.id_number,
        insuring_city=city,
        care_city=CityRef(code=row.care_city_code, name=row.care_city_name, name_en=row.care_city_name_en),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        status=status,
        filed_at=row.filed_at,
        cancelled_at=row.cancelled_at,
    )


def _in_force_on(row: TreatmentFiling, day: date) -> bool:
    """Within its validity, and not cancelled before that day (a later cancellation does not reach back)."""
    if not row.valid_from <= day <= row.valid_to:
        return False
    return row.cancelled_at is None or day < row.cancelled_at.astimezone(CHINA).date()


def _active_enrolment(records: PersonRecords, city: CityRef) -> Enrolment:
    medical = records.medical_insurance
    if medical is None or medical.enrolment.status is not EnrolmentStatus.ACTIVE:
        raise NotInsuredHere(f"no active medical-insurance enrolment for this person in {city.name}")
    return medical.enrolment


def file_treatment(
    *, session: Session, store: PersonStore, city: CityRef, id_number: str, application: FilingApplication
) -> Filing:
    """异地就医备案: keep the filing; a retry with the same filing id returns it unchanged."""
    if application.care_city.code == city.code:
        raise InvalidFiling(f"treatment in {city.name} itself needs no filing")
    store.lock(id_number=id_number)
    today = today_in_china()
    existing = session.get(TreatmentFiling, application.filing_id)
    if existing is not None:
        same = (existing.id_number, existing.care_city_code, existing.valid_from, existing.valid_to) == (
            id_number,
            application.care_city.code,
            application.valid_from,
            application.valid_to,
        )
        if not same:
            raise FilingConflict(f"filing {application.filing_id} exists with other content")
        return _filing(existing, city=city, today=today)
    _active_enrolment(store.read(id_number=id_number), city)
    overlapping = session.exec(
        select(TreatmentFiling).where(
            TreatmentFiling.id_number == id_number,
            TreatmentFiling.care_city_code == application.care_city.code,
            col(TreatmentFiling.cancelled_at).is_(None),
            TreatmentFiling.valid_from <= application.valid_to,
            TreatmentFiling.valid_to >= application.valid_from,
        )
    ).first()
    if overlapping is not None:
        raise FilingConflict(
            f"filing {overlapping.filing_id} for {application.care_city.name} already covers "
            f"{overlapping.valid_from}–{overlapping.valid_to}; cancel it first"
        )
    row = TreatmentFiling(
        filing_id=application.filing_id,
        id_number=id_number,
        care_city_code=application.care_city.code,
        care_city_name=application.care_city.name,
        care_city_name_en=application.care_city.name_en,
        valid_from=application.valid_from,
        valid_to=application.valid_to,
        filed_at=_utc_now(),
    )
    session.add(row)
    session.commit()
    return _filing(row, city=city, today=today)


def treatment_filings(*, session: Session, city: CityRef, id_number: str) -> FilingList:
    """Every filing this city keeps on the person, newest first."""
    rows = session.exec(
        select(TreatmentFiling)
        .where(TreatmentFiling.id_number == id_number)
        .order_by(col(TreatmentFiling.filed_at).desc(), col(TreatmentFiling.filing_id))
    ).all()
    today = today_in_china()
    return FilingList(city=city, filings=[_filing(row, city=city, today=today) for row in rows])


def cancel_filing(*, session: Session, store: PersonStore, city: CityRef, id_number: str, filing_id: str) -> Filing:
    """Cancel a filing (from now on); cancelling a cancelled filing changes nothing."""
    store.lock(id_number=id_number)
    row = session.get(TreatmentFiling, filing_id)
    if row is None or row.id_number != id_number:
        raise FilingNotFound(f"{city.name} keeps no filing {filing_id} for this person")
    if row.cancelled_at is None:
        row.cancelled_at = _utc_now()
        session.add(row)
        session.commit()
        session.refresh(row)
    return _filing(row, city=city, today=today_in_china())


def claim_fingerprint(request: SettlementRequest) -> str:
    """SHA-256 over what makes a claim this claim; amounts normalised, so 12.5 and 12.50 are one claim."""
    content = {
        "claim_id": request.claim_id,
        "care_city": request.care_city.code,
        "id_number": request.id_number,
        "hospital": request.hospital,
        "admission_date": None if request.admission_date is None else request.admission_date.isoformat(),
        "service_date": request.service_date.isoformat(),
        "items": [[item.code, item.name, str(to_yuan(item.amount))] for item in request.items],
        "total": str(to_yuan(request.total)),
    }
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _replay(row: SettledClaim, fingerprint: str) -> SettlementStatement:
    if row.fingerprint != fingerprint:
        raise ClaimConflict(f"claim {row.claim_id} was settled before with other content")
    return SettlementStatement.model_validate_json(row.statement)


def _year_to_date(session: Session, *, id_number: str, year: int) -> YearToDate:
    deductible, fund = session.exec(
        select(
            func.coalesce(func.sum(SettledClaim.deductible_fen), 0),
            func.coalesce(func.sum(SettledClaim.fund_paid_fen), 0),
        ).where(SettledClaim.id_number == id_number, SettledClaim.year == year)
    ).one()
    return YearToDate(deductible_used=fen_to_yuan(int(deductible)), fund_paid=fen_to_yuan(int(fund)))


def _filing_in_force(session: Session, *, id_number: str, care_city_code: str, day: date) -> TreatmentFiling | None:
    rows = session.exec(
        select(TreatmentFiling)
        .where(
            TreatmentFiling.id_number == id_number,
            TreatmentFiling.care_city_code == care_city_code,
            TreatmentFiling.valid_from <= day,
            TreatmentFiling.valid_to >= day,
        )
        .order_by(col(TreatmentFiling.filed_at))
    ).all()
    return next((row for row in rows if _in_force_on(row, day)), None)


def settle_claim(
    *,
    session: Session,
    store: PersonStore,
    city: CityRef,
    rules: MedicalInsuranceRules,
    request: SettlementRequest,
) -> SettlementStatement:
    """异地就医直接结算 by this city's rules: debit the personal account and keep the statement, in one transaction.

    Idempotent on (care city, claim id): a retry returns the first statement and charges nothing.
    """
    fingerprint = claim_fingerprint(request)
    key = (request.care_city.code, request.claim_id)
    store.lock(id_number=request.id_number)
    existing = session.get(SettledClaim, key)
    if existing is not None:
        return _replay(existing, fingerprint)
    year_to_date = _year_to_date(session, id_number=request.id_number, year=request.service_date.year)
    filing = _filing_in_force(
        session, id_number=request.id_number, care_city_code=request.care_city.code, day=request.service_date
    )
    statements: list[SettlementStatement] = []

    def charge(records: PersonRecords) -> PersonRecords:
        enrolment = _active_enrolment(records, city)
        if request.service_date < enrolment.since:
            raise NotInsuredHere(f"not insured in {city.name} on {request.service_date} (since {enrolment.since})")
        split = settle(
            total=to_yuan(request.total),
            insurance_type=enrolment.insurance_type,
            rules=rules,
            filed=filing is not None,
            year_to_date=year_to_date,
            account_balance=enrolment.account_balance,
        )
        statements.append(_statement(request, records=records, city=city, rules=rules, split=split, filing=filing))
        if split.account_paid == 0:
            return records
        debited = enrolment.model_copy(update={"account_balance": enrolment.account_balance - split.account_paid})
        assert records.medical_insurance is not None  # _active_enrolment checked it
        medical = records.medical_insurance.model_copy(update={"enrolment": debited})
        return records.model_copy(update={"medical_insurance": medical})

    store.update(id_number=request.id_number, change=charge)
    statement = statements[-1]
    session.add(
        SettledClaim(
            care_city_code=request.care_city.code,
            claim_id=request.claim_id,
            id_number=request.id_number,
            year=request.service_date.year,
            fingerprint=fingerprint,
            deductible_fen=yuan_to_fen(statement.deductible),
            fund_paid_fen=yuan_to_fen(statement.fund_paid),
            account_paid_fen=yuan_to_fen(statement.account_paid),
            statement=statement.model_dump_json(),
            settled_at=_utc_now(),
        )
    )
    try:
        session.commit()
    except IntegrityError:
        # The same claim id from the same care city, for another person, settled in between.
        session.rollback()
        raced = session.get(SettledClaim, key)
        if raced is None:
            raise
        return _replay(raced, fingerprint)
    return statement


def _statement(
    request: SettlementRequest,
    *,
    records: PersonRecords,
    city: CityRef,
    rules: MedicalInsuranceRules,
    split: Settlement,
    filing: TreatmentFiling | None,
) -> SettlementStatement:
    assert records.medical_insurance is not None
    return SettlementStatement(
        claim_id=request.claim_id,
        id_number=request.id_number,
        patient_name=records.person.name,
        insuring_city=city,
        care_city=request.care_city,
        hospital=request.hospital,
        admission_date=request.admission_date,
        service_date=request.service_date,
        total=split.total,
        deductible=split.deductible,
        fund_paid=split.fund_paid,
        account_paid=split.account_paid,
        cash_paid=split.cash_paid,
        out_of_pocket=split.deductible + split.cash_paid,
        rules=AppliedRules(
            city=city,
            insurance_type=records.medical_insurance.enrolment.insurance_type,
            deductible_per_year=rules.deductible,
            deductible_remaining_before=split.deductible_remaining_before,
            base_ratio=split.base_ratio,
            filing_found=filing is not None,
            filing_id=None if filing is None else filing.filing_id,
            ratio_reduction=split.ratio_reduction,
            ratio=split.ratio,
            annual_cap=rules.annual_cap,
            cap_remaining_before=split.cap_remaining_before,
            capped=split.capped,
        ),
        settled_at=datetime.now(UTC).replace(microsecond=0),
    )

"""The insuring city's 医保 exchange routes: 异地就医备案 (filings) and 异地就医直接结算 (claims)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path
from fastapi.routing import APIRouter
from sqlmodel import Session

from commons.problems import problem_responses
from mock_cities.auth import WrongPurpose
from mock_cities.deps import DialectDep, ProfileDep, ServiceCallerDep, SessionDep
from mock_cities.dialects import Dialect
from mock_cities.profiles import CityProfile
from mock_cities.service import lock_person, person_records, update_person_records
from schemas.idcard import IdNumber
from schemas.medical_insurance import (
    Filing,
    FilingApplication,
    FilingId,
    FilingList,
    SettlementRequest,
    SettlementStatement,
)
from schemas.purposes import Purpose
from schemas.records import PersonRecords
from schemas.service_token import ServiceTokenClaims
from services.medical_insurance import service


@dataclass(frozen=True)
class DialectPersonStore:
    """:class:`service.PersonStore` over this city's local-dialect tables."""

    session: Session
    dialect: Dialect
    profile: CityProfile

    def lock(self, *, id_number: str) -> None:
        lock_person(session=self.session, id_number=id_number)

    def read(self, *, id_number: str) -> PersonRecords:
        return person_records(session=self.session, dialect=self.dialect, profile=self.profile, id_number=id_number)

    def update(self, *, id_number: str, change: Callable[[PersonRecords], PersonRecords]) -> PersonRecords:
        return update_person_records(
            session=self.session, dialect=self.dialect, profile=self.profile, id_number=id_number, change=change
        )


def get_person_store(session: SessionDep, dialect: DialectDep, profile: ProfileDep) -> service.PersonStore:
    return DialectPersonStore(session, dialect, profile)


def purpose_is(purpose: Purpose) -> Callable[[ServiceTokenClaims], ServiceTokenClaims]:
    """A dependency: the verified service token, refused unless it was minted for ``purpose``."""

    def check(caller: ServiceCallerDep) -> ServiceTokenClaims:
        if caller.purpose != purpose:
            raise WrongPurpose(f"this route serves the purpose {purpose}, not {caller.purpose}")
        return caller

    return check


PersonStoreDep = Annotated[service.PersonStore, Depends(get_person_store)]
FilingCaller = Annotated[ServiceTokenClaims, Depends(purpose_is(Purpose.MEDICAL_FILING))]
SettlementCaller = Annotated[ServiceTokenClaims, Depends(purpose_is(Purpose.MEDICAL_SETTLEMENT))]
FilingIdPath = Annotated[FilingId, Path(description="The filing's id")]

router = APIRouter(
    prefix="/exchange/v1",
    tags=["medical insurance"],
    responses=problem_responses(401, 403, 404, 409, 422),
)


@router.post("/persons/{id_number}/medical-insurance/filings")
def file_treatment(
    id_number: IdNumber,
    body: FilingApplication,
    _caller: FilingCaller,
    session: SessionDep,
    store: PersonStoreDep,
    profile: ProfileDep,
) -> Filing:
    """异地就医备案: keep a filing to be treated in another city (idempotent on the filing id)."""
    return service.file_treatment(session=session, store=store, city=profile.ref, id_number=id_number, application=body)


@router.get("/persons/{id_number}/medical-insurance/filings")
def treatment_filings(
    id_number: IdNumber, _caller: FilingCaller, session: SessionDep, profile: ProfileDep
) -> FilingList:
    """Every 异地就医备案 this city keeps on the person, newest first."""
    return service.treatment_filings(session=session, city=profile.ref, id_number=id_number)


@router.post("/persons/{id_number}/medical-insurance/filings/{filing_id}/cancel")
def cancel_filing(
    id_number: IdNumber,
    filing_id: FilingIdPath,
    _caller: FilingCaller,
    session: SessionDep,
    store: PersonStoreDep,
    profile: ProfileDep,
) -> Filing:
    """Cancel a filing from now on (idempotent)."""
    return service.cancel_filing(
        session=session, store=store, city=profile.ref, id_number=id_number, filing_id=filing_id
    )


@router.post("/medical-insurance/claims")
def settle_claim(
    body: SettlementRequest,
    _caller: SettlementCaller,
    session: SessionDep,
    store: PersonStoreDep,
    profile: ProfileDep,
) -> SettlementStatement:
    """异地就医直接结算 by this city's rules; a retry with the same claim id returns the first statement."""
    return service.settle_claim(
        session=session, store=store, city=profile.ref, rules=profile.medical_insurance, request=body
    )

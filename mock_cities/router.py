"""The canonical exchange API every city serves, plus its own local API in its own dialect."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlmodel import Session

from commons.keys import SigningKey
from commons.problems import problem_responses
from commons.server_timing import timed
from mock_cities import service
from mock_cities.deps import DialectDep, ProfileDep, ServiceCallerDep, SessionDep, in_thread
from mock_cities.dialects import Dialect
from mock_cities.profiles import CityProfile
from schemas.idcard import IdNumber
from schemas.medical_insurance import MedicalInsuranceRecord
from schemas.provident_fund import ProvidentFundRecord
from schemas.records import PersonRecords
from schemas.talent import TalentRecord
from services.city_rules import CityRules

health_router = APIRouter(tags=["health"])
exchange_router = APIRouter(prefix="/exchange/v1", tags=["exchange"], responses=problem_responses(401, 404, 422))
local_router = APIRouter(prefix="/local/v1", tags=["local dialect"], responses=problem_responses(401, 404, 422))

# Routes are ``async def``: those that read the database run the read with ``in_thread``, once per request.


@health_router.get("/health")
async def health(session: SessionDep, profile: ProfileDep, dialect: DialectDep) -> dict[str, Any]:
    """Liveness and database reachability; the only route that needs no service token."""
    await in_thread(session, partial(session.execute, text("SELECT 1")))
    return {"status": "ok", "city": profile.ref.model_dump(), "dialect": dialect.name}


@health_router.get("/.well-known/jwks.json", tags=["keys"])
async def jwks(request: Request) -> dict[str, Any]:
    """The city's public keys: the gateway checks the signature on every answer against them."""
    key: SigningKey = request.app.state.signing_key
    return key.jwks()


@exchange_router.get("/rules")
async def get_rules(_caller: ServiceCallerDep, profile: ProfileDep) -> CityRules:
    """This city's own rules (医保 ratios and caps, 公积金 rates and loan limits, 继续教育学时)."""
    return CityRules(
        city=profile.ref,
        medical_insurance=profile.medical_insurance,
        provident_fund=profile.provident_fund,
        talent=profile.talent,
    )


async def _person_records(session: Session, profile: CityProfile, dialect: Dialect, id_number: str) -> PersonRecords:
    with timed("read"):  # the local rows, mapped to the exchange standard
        return await in_thread(
            session,
            partial(service.person_records, session=session, dialect=dialect, profile=profile, id_number=id_number),
        )


@exchange_router.get("/persons/{id_number}/records")
async def get_person_records(
    id_number: IdNumber,
    _caller: ServiceCallerDep,
    session: SessionDep,
    profile: ProfileDep,
    dialect: DialectDep,
) -> PersonRecords:
    """Everything this city holds on one person, in canonical form (医保, 公积金, 人才)."""
    return await _person_records(session, profile, dialect, id_number)


@exchange_router.get("/persons/{id_number}/medical-insurance")
async def get_medical_insurance(
    id_number: IdNumber,
    _caller: ServiceCallerDep,
    session: SessionDep,
    profile: ProfileDep,
    dialect: DialectDep,
) -> MedicalInsuranceRecord:
    """医保 enrolment and monthly contributions."""
    records = await _person_records(session, profile, dialect, id_number)
    if records.medical_insurance is None:
        raise service.PersonNotFound("no medical-insurance enrolment for this ID number in this city")
    return records.medical_insurance


@exchange_router.get("/persons/{id_number}/provident-fund")
async def get_provident_fund(
    id_number: IdNumber,
    _caller: ServiceCallerDep,
    session: SessionDep,
    profile: ProfileDep,
    dialect: DialectDep,
) -> ProvidentFundRecord:
    """公积金 account and monthly deposit history."""
    records = await _person_records(session, profile, dialect, id_number)
    if records.provident_fund is None:
        raise service.PersonNotFound("no provident-fund account for this ID number in this city")
    return records.provident_fund


@exchange_router.get("/persons/{id_number}/talent")
async def get_talent(
    id_number: IdNumber,
    _caller: ServiceCallerDep,
    session: SessionDep,
    profile: ProfileDep,
    dialect: DialectDep,
) -> TalentRecord:
    """人才: skill certificates, professional titles and continuing-education hours."""
    records = await _person_records(session, profile, dialect, id_number)
    return records.talent


@local_router.get("/persons/{id_number}")
async def get_local_document(
    id_number: IdNumber, _caller: ServiceCallerDep, session: SessionDep, dialect: DialectDep
) -> dict[str, Any]:
    """The person's records as this city's own system presents them (its local dialect, unmapped)."""
    with timed("read"):
        return await in_thread(
            session, partial(service.local_document, session=session, dialect=dialect, id_number=id_number)
        )

"""Loan eligibility: every city's fund record, judged by the lending city's own rules."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.auth.models import Principal
from gateway.exchange.registry import CityRegistry
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.policy.service import Governance
from gateway.records.service import fetch_records_and_rules
from governance.catalogue import Service
from schemas.cities import BreakerState, CityCallStatus
from services.provident_fund.eligibility import FundHolding, LoanEligibility, loan_eligibility


class CityStatus(BaseModel):
    code: str
    status: CityCallStatus
    breaker: BreakerState = Field(description="The gateway's circuit breaker for this city, after the call")


class LoanEligibilityResponse(LoanEligibility):
    """The decision, and whether every city's records were there to decide on."""

    request_id: str
    complete: bool = Field(description="False when a city failed: its deposits could not be counted")
    cities: list[CityStatus]


async def assess_loan_eligibility(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    id_number: str,
    lending_city: str,
    request_id: str,
) -> LoanEligibilityResponse:
    """住房公积金贷款 eligibility and limit in ``lending_city``, deposits in every city recognised."""
    records, rules = await fetch_records_and_rules(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=principal,
        id_number=id_number,
        city_code=lending_city,
        service=Service.LOAN_ELIGIBILITY,
        request_id=request_id,
    )
    holdings = [
        FundHolding(city=result.city, record=result.records.provident_fund)
        for result in records.cities
        if result.records is not None and result.records.provident_fund is not None
    ]
    decision = loan_eligibility(lending_city=rules.city, rules=rules.provident_fund, holdings=holdings)
    return LoanEligibilityResponse(
        **decision.model_dump(),
        request_id=request_id,
        complete=records.complete,
        cities=[
            CityStatus(code=result.city.code, status=result.status, breaker=result.breaker) for result in records.cities
        ],
    )

"""学时互认 and the title-evaluation view: every city's talent records against one city's requirement."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.auth.models import Principal
from gateway.exchange.registry import CityRegistry
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.policy.service import Governance
from gateway.records.service import FetchedRecords, fetch_records_and_rules
from governance.catalogue import Service
from schemas.cities import BreakerState, CityCallStatus, CityRef
from schemas.talent import ProfessionalTitle, SkillCertificate, TitleGrade
from services.city_rules import CityRules
from services.talent.recognition import RecognisedYear, recognised_hours

_GRADE_ORDER = [TitleGrade.JUNIOR, TitleGrade.INTERMEDIATE, TitleGrade.ASSOCIATE_SENIOR, TitleGrade.SENIOR]


class ContinuingEducationSummary(BaseModel):
    """Hours per year from every city, against the evaluating city's annual requirement."""

    request_id: str
    evaluating_city: CityRef
    required_hours_per_year: int
    years: list[RecognisedYear]
    complete: bool = Field(description="False when a city failed: its hours could not be counted")
    cities: dict[str, CityCallStatus]
    breakers: dict[str, BreakerState] = Field(
        description="The gateway's circuit breaker for each city, after the call (city code → state)"
    )


class IssuedSkillCertificate(SkillCertificate):
    issued_by: CityRef


class AwardedTitle(ProfessionalTitle):
    awarded_by: CityRef


class TitleEvaluationView(ContinuingEducationSummary):
    """职称评审: the whole record from every city, for a joint title-review committee."""

    skill_certificates: list[IssuedSkillCertificate]
    titles: list[AwardedTitle]
    highest_title: AwardedTitle | None


async def _records_and_rules(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    city: str,
    service: Service,
    request_id: str,
) -> tuple[FetchedRecords, CityRules]:
    return await fetch_records_and_rules(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=principal,
        id_number=principal.subject,
        city_code=city,
        service=service,
        request_id=request_id,
    )


def _summary(records: FetchedRecords, rules: CityRules) -> ContinuingEducationSummary:
    hours = {r.city.code: r.records.talent.continuing_education for r in records.cities if r.records is not None}
    required = rules.talent.ce_hours_required
    return ContinuingEducationSummary(
        request_id=records.request_id,
        evaluating_city=rules.city,
        required_hours_per_year=required,
        years=recognised_hours(hours_by_city=hours, required_hours=required),
        complete=records.complete,
        cities={r.city.code: r.status for r in records.cities},
        breakers={r.city.code: r.breaker for r in records.cities},
    )


async def continuing_education(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    city: str,
    request_id: str,
) -> ContinuingEducationSummary:
    """学时互认: the resident's hours in every city, counted toward ``city``'s annual requirement."""
    records, rules = await _records_and_rules(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=principal,
        city=city,
        service=Service.CONTINUING_EDUCATION,
        request_id=request_id,
    )
    return _summary(records, rules)


async def title_evaluation(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    city: str,
    request_id: str,
) -> TitleEvaluationView:
    """The whole talent record from every city, with hours judged by ``city``'s requirement."""
    records, rules = await _records_and_rules(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=principal,
        city=city,
        service=Service.TITLE_EVALUATION,
        request_id=request_id,
    )
    certificates: list[IssuedSkillCertificate] = []
    titles: list[AwardedTitle] = []
    for result in records.cities:
        if result.records is None:
            continue
        talent = result.records.talent
        certificates += [
            IssuedSkillCertificate(**c.model_dump(), issued_by=result.city) for c in talent.skill_certificates
        ]
        titles += [AwardedTitle(**t.model_dump(), awarded_by=result.city) for t in talent.titles]
    highest = max(titles, key=lambda t: (_GRADE_ORDER.index(t.grade), t.awarded_on), default=None)
    return TitleEvaluationView(
        **_summary(records, rules).model_dump(),
        skill_certificates=sorted(certificates, key=lambda c: c.issued_on),
        titles=sorted(titles, key=lambda t: t.awarded_on),
        highest_title=highest,
    )

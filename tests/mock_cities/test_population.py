"""The synthetic population: deterministic, valid, realistic, and the personas tell their stories."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from decimal import Decimal

import pytest
from faker.providers.person.zh_CN import Provider as FakerPerson

from mock_cities import population as population_module
from mock_cities.personas import PERSONAS, persona_records
from mock_cities.population import DEMO_AS_OF, Population, Stint, build_population
from mock_cities.profiles import CityProfile, builtin_profiles
from schemas.idcard import birth_date_of, gender_of, validate_id_number
from schemas.medical_insurance import EnrolmentStatus, InsuranceType
from schemas.money import fen_to_yuan, to_yuan
from schemas.provident_fund import FundAccountStatus
from schemas.records import Gender, Person, PersonRecords
from services.medical_insurance.service import monthly_contribution, resident_monthly_premium
from services.provident_fund.service import deposit_base, monthly_deposit

PER_CITY = 60
CHANGSHA, ZHUZHOU, XIANGTAN = "430100", "430200", "430300"


@pytest.fixture(scope="module")
def profiles() -> list[CityProfile]:
    return builtin_profiles()


@pytest.fixture(scope="module")
def population(profiles: list[CityProfile]) -> Population:
    return build_population(seed=11, residents_per_city=PER_CITY, cities=profiles)


@pytest.fixture(scope="module")
def lives(population: Population) -> list[dict[str, PersonRecords]]:
    """Every generated resident's records, by city code."""
    return [population.all_records(index) for index in range(PER_CITY * 3)]


@pytest.fixture(scope="module")
def city_records(population: Population, profiles: list[CityProfile]) -> dict[str, list[PersonRecords]]:
    return {p.code: list(population.records_for(p.code)) for p in profiles}


def _dump(population: Population, profiles: list[CityProfile]) -> list[str]:
    people = [p.model_dump_json() for p in population.people()]
    return people + [r.model_dump_json() for p in profiles for r in population.records_for(p.code)]


def test_same_seed_same_population_and_different_seed_differs(profiles: list[CityProfile]) -> None:
    first = _dump(build_population(seed=3, residents_per_city=5, cities=profiles), profiles)
    again = _dump(build_population(seed=3, residents_per_city=5, cities=profiles), profiles)
    other = _dump(build_population(seed=4, residents_per_city=5, cities=profiles), profiles)
    assert first == again
    assert first != other


def test_same_seed_same_population_in_another_process(profiles: list[CityProfile]) -> None:
    script = (
        "from mock_cities.population import build_population\n"
        "from mock_cities.profiles import builtin_profiles\n"
        "p = build_population(seed=3, residents_per_city=4, cities=builtin_profiles())\n"
        "print('|'.join(r.model_dump_json() for r in p.records_for('430200')))\n"
    )
    here = build_population(seed=3, residents_per_city=4, cities=profiles)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "|".join(r.model_dump_json() for r in here.records_for(ZHUZHOU))


def test_count_and_ids_valid_unique_and_matching_gender_and_birth(population: Population) -> None:
    people = list(population.people())
    assert len(people) == population.person_count() == PER_CITY * 3 + len(PERSONAS)
    assert len({p.id_number for p in people}) == len(people)
    for person in people:
        assert validate_id_number(person.id_number) == person.id_number
        assert gender_of(person.id_number) == person.gender.value
        assert 1955 <= birth_date_of(person.id_number).year <= 2004
        assert 2 <= len(person.name) <= 4


def test_ids_unique_in_a_large_population(profiles: list[CityProfile]) -> None:
    large = build_population(seed=5, residents_per_city=2_000, cities=profiles)
    ids = [person.id_number for person in large.people()]
    assert len(set(ids)) == len(ids) == large.person_count()


def test_names_match_gender(population: Population) -> None:
    generated = [p for p in population.people() if p.id_number not in {x.id_number for x in PERSONAS}]
    for person in generated:
        surname = next(s for s in FakerPerson.last_names if person.name.startswith(s))
        given = person.name[len(surname) :]
        names = FakerPerson.first_names_male if person.gender is Gender.MALE else FakerPerson.first_names_female
        assert given in names, person.name


def test_born_in_a_district_of_one_of_the_cities(population: Population, profiles: list[CityProfile]) -> None:
    districts = {d for p in profiles for d in p.districts}
    assert all(p.id_number[:6] in districts for p in population.people())


def test_about_a_third_moved_and_spread_over_two_or_three_cities(lives: list[dict[str, PersonRecords]]) -> None:
    spread = Counter(len(life) for life in lives)
    movers = spread[2] + spread[3]
    assert 0.25 <= movers / len(lives) <= 0.45
    assert spread[3] > 0


def test_earlier_cities_sealed_and_terminated_without_overlap(lives: list[dict[str, PersonRecords]]) -> None:
    for life in lives:
        ordered = sorted(life.values(), key=lambda r: r.medical_insurance.enrolment.since)  # type: ignore[union-attr]
        for earlier in ordered[:-1]:
            assert earlier.medical_insurance is not None
            assert earlier.medical_insurance.enrolment.status is EnrolmentStatus.TERMINATED
            if earlier.provident_fund is not None:
                assert earlier.provident_fund.account.status is FundAccountStatus.SEALED
        current = ordered[-1].medical_insurance
        assert current is not None and current.enrolment.status is not EnrolmentStatus.TERMINATED
        months = [c.month for r in ordered if r.medical_insurance for c in r.medical_insurance.contributions]
        assert len(months) == len(set(months)), "contributions in two cities in the same month"
        employers = [r.medical_insurance.enrolment.employer for r in ordered if r.medical_insurance]
        if len(ordered) > 1 and all(employers):
            assert len(set(employers)) == len(employers)


def test_a_city_holds_only_its_own_records(city_records: dict[str, list[PersonRecords]]) -> None:
    for code, records in city_records.items():
        assert records
        assert {r.city.code for r in records} == {code}
        prefix = records[0].medical_insurance.enrolment.local_person_no[:2]  # type: ignore[union-attr]
        person_nos = [r.medical_insurance.enrolment.local_person_no for r in records if r.medical_insurance]
        assert len(set(person_nos)) == len(person_nos)
        assert all(no.startswith(prefix) for no in person_nos)
        accounts = [r.provident_fund.account.account_no for r in records if r.provident_fund]
        assert len(set(accounts)) == len(accounts)


def test_records_for_a_city_match_the_whole_lives(
    population: Population, lives: list[dict[str, PersonRecords]], city_records: dict[str, list[PersonRecords]]
) -> None:
    persona_ids = {p.id_number for p in PERSONAS}
    for code, records in city_records.items():
        generated = [r for r in records if r.person.id_number not in persona_ids]
        assert generated == [life[code] for life in lives if code in life]


def test_balances_never_negative_and_history_capped(city_records: dict[str, list[PersonRecords]]) -> None:
    for records in city_records.values():
        for r in records:
            assert r.medical_insurance is not None
            enrolment = r.medical_insurance.enrolment
            assert enrolment.account_balance >= 0
            assert len(r.medical_insurance.contributions) == min(60, enrolment.contribution_months)
            if r.provident_fund is not None:
                account = r.provident_fund.account
                assert account.balance >= 0
                assert len(r.provident_fund.deposits) == min(60, account.deposit_months)
                assert account.employer is not None


def test_amounts_follow_each_citys_rules(
    profiles: list[CityProfile], city_records: dict[str, list[PersonRecords]]
) -> None:
    for profile in profiles:
        for r in city_records[profile.code]:
            assert r.medical_insurance is not None
            employee = r.medical_insurance.enrolment.insurance_type is InsuranceType.EMPLOYEE
            assert (r.medical_insurance.enrolment.employer is not None) == employee
            assert employee or r.provident_fund is None
            for c in r.medical_insurance.contributions:
                if employee:
                    expected = monthly_contribution(base=c.base, rules=profile.medical_insurance)
                    assert (c.employer_amount, c.personal_amount) == expected
                else:
                    assert c.personal_amount == resident_monthly_premium(rules=profile.medical_insurance)
            if r.provident_fund is not None:
                rules = profile.provident_fund
                base = r.provident_fund.account.deposit_base
                assert rules.min_base <= base <= rules.max_base
                assert r.provident_fund.account.monthly_deposit == sum(monthly_deposit(base=base, rules=rules))
                for d in r.provident_fund.deposits:
                    # Both shares come from one base: their ratio is the ratio of the rates, to the cent.
                    implied = d.employer_amount / rules.employer_rate
                    assert abs(to_yuan(implied * rules.personal_rate) - d.personal_amount) <= Decimal("0.01")
                    assert rules.min_base - 1 <= implied <= rules.max_base + 1
                last = r.provident_fund.deposits[-1] if r.provident_fund.deposits else None
                if last is not None:
                    assert (last.employer_amount, last.personal_amount) == monthly_deposit(base=base, rules=rules)
                if r.provident_fund.account.status is FundAccountStatus.CLOSED:
                    assert r.provident_fund.account.balance == Decimal("0.00")


def test_talent_issued_by_the_city_that_holds_it(
    profiles: list[CityProfile], city_records: dict[str, list[PersonRecords]]
) -> None:
    certified = titled = total = 0
    for profile in profiles:
        for r in city_records[profile.code]:
            total += 1
            certified += bool(r.talent.skill_certificates)
            titled += bool(r.talent.titles)
            for cert in r.talent.skill_certificates:
                assert cert.issuer == profile.talent.evaluation_body
                assert cert.certificate_no.startswith(profile.talent.certificate_prefix)
            for year in r.talent.continuing_education:
                assert year.required_hours == profile.talent.ce_hours_required
    assert 0.1 < certified / total < 0.5
    assert 0.05 < titled / total < 0.35


def _persona(population: Population, key: str) -> dict[str, PersonRecords]:
    id_number = next(p.id_number for p in PERSONAS if p.key == key)
    return {
        code: r
        for code in (CHANGSHA, ZHUZHOU, XIANGTAN)
        for r in population.records_for(code)
        if r.person.id_number == id_number
    }


def test_personas_are_in_every_population(population: Population) -> None:
    ids = {p.id_number for p in population.people()}
    assert {p.id_number for p in PERSONAS} <= ids
    for persona in PERSONAS:
        assert validate_id_number(persona.id_number) == persona.id_number
        assert gender_of(persona.id_number) == persona.gender.value
        assert persona.story_zh and persona.story_en


def test_liu_yang_sealed_in_zhuzhou_and_normal_in_changsha(population: Population) -> None:
    records = _persona(population, "liu-yang")
    assert set(records) == {CHANGSHA, ZHUZHOU}
    zhuzhou, changsha = records[ZHUZHOU], records[CHANGSHA]
    assert zhuzhou.provident_fund is not None and changsha.provident_fund is not None
    assert zhuzhou.provident_fund.account.status is FundAccountStatus.SEALED
    assert zhuzhou.provident_fund.account.balance > 0
    assert zhuzhou.medical_insurance is not None
    assert zhuzhou.medical_insurance.enrolment.status is EnrolmentStatus.TERMINATED
    assert changsha.provident_fund.account.status is FundAccountStatus.NORMAL
    assert changsha.medical_insurance is not None
    assert changsha.medical_insurance.enrolment.status is EnrolmentStatus.ACTIVE
    assert [(c.occupation, c.level) for c in zhuzhou.talent.skill_certificates] == [("电工", 3)]
    assert zhuzhou.provident_fund.deposits[-1].month == "2022-06"
    assert changsha.provident_fund.deposits[0].month > "2022-06"


def test_wang_xiuying_only_in_xiangtan_with_resident_insurance(population: Population) -> None:
    records = _persona(population, "wang-xiuying")
    assert set(records) == {XIANGTAN}
    medical = records[XIANGTAN].medical_insurance
    assert medical is not None
    assert medical.enrolment.insurance_type is InsuranceType.RESIDENT
    assert medical.enrolment.status is EnrolmentStatus.ACTIVE
    assert records[XIANGTAN].provident_fund is None


def test_chen_jing_needs_all_three_cities_to_meet_any_requirement(population: Population) -> None:
    records = _persona(population, "chen-jing")
    assert set(records) == {CHANGSHA, ZHUZHOU, XIANGTAN}
    for r in records.values():
        assert r.talent.skill_certificates
    years = {y.year for r in records.values() for y in r.talent.continuing_education}
    assert years == {2023, 2024, 2025}
    for year in years:
        per_city = {
            code: next(y for y in r.talent.continuing_education if y.year == year) for code, r in records.items()
        }
        total = sum(y.hours for y in per_city.values())
        for entry in per_city.values():
            assert entry.hours < entry.required_hours
            assert total >= entry.required_hours
    assert records[XIANGTAN].talent.titles[0].title == "助理工程师"
    assert records[ZHUZHOU].talent.titles[0].title == "工程师"
    statuses = {code: r.provident_fund.account.status for code, r in records.items() if r.provident_fund}
    assert statuses == {
        CHANGSHA: FundAccountStatus.NORMAL,
        ZHUZHOU: FundAccountStatus.CLOSED,
        XIANGTAN: FundAccountStatus.SEALED,
    }


def test_personas_skip_cities_not_in_the_list(profiles: list[CityProfile]) -> None:
    only_changsha = [p for p in profiles if p.code == CHANGSHA]
    assert set(persona_records("chen-jing", only_changsha, DEMO_AS_OF)) == {CHANGSHA}
    assert persona_records("wang-xiuying", only_changsha, DEMO_AS_OF) == {}


# --- the generator's shortcuts give what the plain calculations give ------------------------------------------


@pytest.mark.parametrize("city", builtin_profiles(), ids=lambda p: p.slug)
def test_amounts_in_fen_are_the_services_amounts(city: CityProfile) -> None:
    """The generator works in whole 分 with each rate as a fraction; the services work in Decimal yuan."""
    terms = population_module._terms(city)
    medical, fund = city.medical_insurance, city.provident_fund
    lowest, highest = int(fund.min_base), int(fund.max_base)
    wages = [*range(0, 3 * highest, 7), lowest - 1, lowest, lowest + 1, highest - 1, highest, highest + 1]
    bases = [wage * 100 for wage in wages]
    employer, personal = terms.medical_employer.on(bases), terms.medical_personal.on(bases)
    fund_bases = terms.fund_bases(wages)
    fund_employer, fund_personal = terms.fund_employer.on(fund_bases), terms.fund_personal.on(fund_bases)
    for i, wage in enumerate(wages):
        expected = monthly_contribution(base=to_yuan(Decimal(wage)), rules=medical)
        assert (fen_to_yuan(employer[i]), fen_to_yuan(personal[i])) == expected, wage
        base = deposit_base(wage=Decimal(wage), rules=fund)
        assert fen_to_yuan(fund_bases[i]) == base, wage
        assert (fen_to_yuan(fund_employer[i]), fen_to_yuan(fund_personal[i])) == monthly_deposit(base=base, rules=fund)
    assert fen_to_yuan(terms.resident_premium) == resident_monthly_premium(rules=medical)


def test_yearly_wages_are_wage_in_each_year(profiles: list[CityProfile]) -> None:
    for end in (2026 * 12 + 9, 2020 * 12, 1990 * 12 + 5):
        stint = Stint(city=profiles[0], start=1960 * 12, end=end, employer="E", work_end=end, wage=Decimal(12345))
        for first in (1960 * 12 + 3, min(1999 * 12, end), end - 13, end):
            wages = stint.wages(first, end)
            assert wages == [int(stint.wage_in(year)) for year in range(first // 12, end // 12 + 1)]


def test_records_built_without_validation_are_the_validated_records(
    city_records: dict[str, list[PersonRecords]],
) -> None:
    """Models made by ``_trusted`` equal what validating their values makes, field sets and all."""
    for records in city_records.values():
        for r in records:
            validated = PersonRecords.model_validate(r.model_dump())
            assert validated == r
            assert validated.model_dump_json() == r.model_dump_json()
            assert r.model_fields_set == validated.model_fields_set
            assert r.person.model_fields_set == validated.person.model_fields_set
            assert r.medical_insurance is not None and validated.medical_insurance is not None
            assert (
                r.medical_insurance.enrolment.model_fields_set == validated.medical_insurance.enrolment.model_fields_set
            )
    person = population_module._trusted(Person, id_number="430102198605121353", name="张三", gender=Gender.MALE)
    constructed = Person.model_construct(id_number="430102198605121353", name="张三", gender=Gender.MALE)
    assert person.__getstate__() == constructed.__getstate__()

"""The block generator (``mock_cities/generated.py``): its columns, rows and records say the same, and follow the rules.

Seeding on SQLite writes a block's persons with each dialect's ``sqlite_rows``; everything else (other databases,
the tests that compare a city's answers with the population) goes through the canonical records
(``CityColumns.records``) and the dialect's ``local_rows``. These tests hold the two to each other, byte for byte,
and the population to the services' rules and to itself across the cities.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from mock_cities.columns import CityColumns
from mock_cities.dialects import LocalRows, get_dialect, month_index_of
from mock_cities.generated import Generator
from mock_cities.population import DEMO_AS_OF, STORED_MONTHS, TITLE_GRADES, Population, build_population
from mock_cities.profiles import CityProfile, builtin_profiles
from mock_cities.seed import _SqliteRows
from schemas.idcard import validate_id_number
from schemas.medical_insurance import EnrolmentStatus, InsuranceType
from schemas.records import Gender, PersonRecords
from services.medical_insurance.service import monthly_contribution, resident_monthly_premium
from services.provident_fund.service import monthly_deposit

RESIDENTS = 1500
"""Three blocks of residents over three cities: enough that every table and status turns up."""
PROFILES = builtin_profiles()


@pytest.fixture(scope="module")
def population() -> Population:
    return build_population(seed=7, residents_per_city=RESIDENTS, cities=PROFILES)


@pytest.fixture(scope="module")
def blocks(population: Population) -> dict[str, list[CityColumns]]:
    return {city.code: list(population.city_columns(city.code)) for city in PROFILES}


@pytest.mark.parametrize("city", PROFILES, ids=lambda city: city.slug)
def test_sqlite_rows_are_the_dialect_s_rows_of_the_same_records(
    blocks: dict[str, list[CityColumns]], city: CityProfile
) -> None:
    dialect = get_dialect(city.dialect)
    bound = _SqliteRows(dialect.metadata, sqlite_dialect())
    tables: set[str] = set()
    for columns in blocks[city.code]:
        for part in [columns, *columns.split(97)]:  # a whole block, and one in transactions of 97 persons
            written = {table: rows for table, rows in dialect.sqlite_rows(part).items() if rows}
            records = part.records()  # validated as the exchange standard on the way
            assert len(records) == part.persons > 0
            assert written == bound.prepare(LocalRows.joined(map(dialect.local_rows, records))).rows
            tables |= set(written)
    assert tables == set(dialect.metadata.tables)  # every table had rows


@pytest.mark.parametrize("city", PROFILES, ids=lambda city: city.slug)
def test_the_money_follows_the_city_s_own_rules(blocks: dict[str, list[CityColumns]], city: CityProfile) -> None:
    medical, fund = city.medical_insurance, city.provident_fund
    premium = resident_monthly_premium(rules=medical)
    contributions = accounts = 0
    for columns in blocks[city.code]:
        for compact in columns.records():
            records = compact.expanded()
            assert records.medical_insurance is not None
            enrolment = records.medical_insurance.enrolment
            months = [month_index_of(c.month) for c in records.medical_insurance.contributions]
            assert len(months) <= min(STORED_MONTHS, enrolment.contribution_months)
            for c in records.medical_insurance.contributions:
                if enrolment.insurance_type is InsuranceType.RESIDENT:
                    assert (c.base, c.employer_amount, c.personal_amount) == (0, 0, premium)
                else:
                    assert (c.employer_amount, c.personal_amount) == monthly_contribution(base=c.base, rules=medical)
                contributions += 1
            fund_record = records.provident_fund
            if fund_record is not None:
                assert enrolment.insurance_type is InsuranceType.EMPLOYEE
                account = fund_record.account
                assert account.balance >= 0 and account.outstanding_loan >= 0
                if fund_record.deposits:
                    assert fund.min_base <= account.deposit_base <= fund.max_base
                    assert account.monthly_deposit == sum(monthly_deposit(base=account.deposit_base, rules=fund))
                    latest = fund_record.deposits[-1]
                    assert latest.employer_amount + latest.personal_amount == account.monthly_deposit
                    accounts += 1
    assert contributions and accounts


def test_the_cities_agree_on_every_resident(blocks: dict[str, list[CityColumns]]) -> None:
    held: dict[str, list[tuple[str, PersonRecords]]] = defaultdict(list)
    for code, city_blocks in blocks.items():
        for columns in city_blocks:
            for compact in columns.records():
                held[compact.records.person.id_number].append((code, compact.records))
    movers = 0
    for id_number, cities in held.items():
        assert validate_id_number(id_number) == id_number
        assert len({code for code, _ in cities}) == len(cities), id_number
        assert len({(r.person.name, r.person.gender) for _, r in cities}) == 1, id_number
        statuses = [r.medical_insurance.enrolment.status for _, r in cities if r.medical_insurance is not None]
        # Only the city lived in now holds a live enrolment; the cities left behind ended theirs.
        assert sum(status is not EnrolmentStatus.TERMINATED for status in statuses) == 1, id_number
        # Titles rise a grade at a time, wherever each was awarded: 初级 first, numbered 01, 02 … in that order.
        awarded = [t for _, r in cities for t in r.talent.titles]
        titles = sorted((t.awarded_on, TITLE_GRADES.index(t.grade), t.certificate_no[-2:]) for t in awarded)
        assert [(grade, number) for _, grade, number in titles] == [
            (grade, f"{grade + 1:02d}") for grade in range(len(titles))
        ], id_number
        certificates = [c.certificate_no[-2:] for _, r in cities for c in r.talent.skill_certificates]
        assert len(set(certificates)) == len(certificates), id_number
        movers += len(cities) > 1
    assert len(held) == 3 * RESIDENTS
    assert 0.25 * len(held) < movers < 0.45 * len(held)  # MOVER_SHARE, less those with no room to move


def test_continuing_education_is_split_between_the_cities_of_the_year(blocks: dict[str, list[CityColumns]]) -> None:
    hours: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    required: dict[tuple[str, int], int] = {}
    for code, city_blocks in blocks.items():
        for columns in city_blocks:
            for compact in columns.records():
                for year in compact.records.talent.continuing_education:
                    key = compact.records.person.id_number, year.year
                    hours[key][code] += year.hours
                    required[key] = max(required.get(key, 0), year.required_hours)
    assert any(len(cities) > 1 for cities in hours.values())  # some moved in one of the last three years
    for key in hours:
        # A year's hours are drawn once (at most 24 above what is owed) and shared out by months, not counted twice.
        assert sum(hours[key].values()) <= required[key] + 24 + len(hours[key]), key


def test_people_are_every_resident_once_with_the_cities_names(population: Population) -> None:
    people = list(population.people())
    assert len(people) == population.person_count() == len({p.id_number for p in people})
    generated = {p.id_number: p for p in people[-population.generated_count :]}
    every_37th = range(0, population.generated_count, 37)
    asked = set()
    for code in (city.code for city in PROFILES):
        for compact in population.generated_records_for(code, every_37th):
            person = compact.records.person
            assert generated[person.id_number] == person
            asked.add(person.id_number)
    assert asked == {people[-population.generated_count + index].id_number for index in every_37th}
    genders = Counter(p.gender for p in generated.values())
    assert abs(genders[Gender.MALE] - genders[Gender.FEMALE]) < 0.1 * len(generated)


def test_a_resident_is_the_same_whichever_slice_of_the_population_is_asked_for(population: Population) -> None:
    index = RESIDENTS + 17  # a resident of the second city
    whole = {
        code: next(r for r in population.records_for(code) if r.person.id_number == records.person.id_number)
        for code, records in population.all_records(index).items()
    }
    assert whole and whole == population.all_records(index)
    assert population.all_records(index) == {
        code: compact.expanded()
        for code in whole
        for compact in population.generated_records_for(code, range(index - 5, index + 5))
        if compact.records.person.id_number == whole[code].person.id_number
    }
    with pytest.raises(IndexError):
        population.all_records(population.generated_count)


def test_another_seed_draws_another_population_negative_seeds_too() -> None:
    # The same seed in another process: tests/mock_cities/test_population.py.
    here = list(build_population(seed=7, residents_per_city=300, cities=PROFILES).people())
    assert here == list(build_population(seed=7, residents_per_city=300, cities=PROFILES).people())
    for seed in (8, -7, -8):
        assert list(build_population(seed=seed, residents_per_city=300, cities=PROFILES).people()) != here


@pytest.mark.parametrize("cities", [1, 2, 4], ids=lambda n: f"{n} cities")
def test_any_number_of_cities(cities: int) -> None:
    yueyang = PROFILES[0].model_copy(update={"code": "430600", "slug": "yueyang", "name": "岳阳"})
    profiles = [*PROFILES, yueyang][:cities]
    population = build_population(seed=3, residents_per_city=200, cities=profiles)
    held = Counter(
        compact.records.person.id_number for city in profiles for compact in population.compact_records_for(city.code)
    )
    assert len(held) >= 200 * cities
    assert (max(held.values()) > 1) is (cities > 1)  # nobody moves without another city to come from
    assert max(held.values()) <= min(cities, 3)


def test_histories_end_in_the_last_full_month_before_as_of() -> None:
    from datetime import date

    population = build_population(seed=3, residents_per_city=100, cities=PROFILES, as_of=date(2026, 3, 15))
    last = max(
        month_index_of(c.month)
        for records in population.records_for(PROFILES[0].code)
        if records.medical_insurance is not None
        for c in records.medical_insurance.contributions
    )
    assert last == 2026 * 12 + 1  # February 2026
    assert date(2026, 3, 15) != DEMO_AS_OF


def test_it_refuses_a_negative_population_and_a_block_of_nothing() -> None:
    with pytest.raises(ValueError, match="negative"):
        build_population(seed=1, residents_per_city=-1, cities=PROFILES)
    with pytest.raises(ValueError, match="block size"):
        Generator(seed=1, residents_per_city=10, cities=PROFILES, as_of=DEMO_AS_OF, block_size=0)
    assert list(build_population(seed=1, residents_per_city=0, cities=PROFILES).city_columns(PROFILES[0].code)) == []

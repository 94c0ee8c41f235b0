"""The vectorised seeding prototype (``bench/seeding_vectorised.py``) writes every city's data as the city keeps it.

Its speed is a benchmark figure (docs/performance.md), never asserted here; these tests hold what the figure is
worth: for each of the three dialects, the rows are exactly what the project's own seeding writes for the same
canonical records (the dialect's ``local_rows``, bound as on SQLite), they read back through the city's dialect as
those records, validated as the exchange standard, the three cities agree on each resident, and the population
has the real generator's shape.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlmodel import Session

from bench.seeding_vectorised import LAST, Generator, seed
from bench.vectorised_rows import CityColumns, rows_for
from mock_cities.dialects import LocalRows, month_index_of
from mock_cities.population import STORED_MONTHS, TITLE_GRADES, build_population
from mock_cities.profiles import builtin_profiles
from mock_cities.seed import _SqliteRows
from schemas.idcard import validate_id_number
from schemas.medical_insurance import EnrolmentStatus, InsuranceType
from schemas.records import PersonRecords
from services.medical_insurance.service import monthly_contribution, resident_monthly_premium
from services.provident_fund.service import monthly_deposit

RESIDENTS = 400
BLOCK = 256
"""Five blocks for three cities' residents: a worker has several to hand over in order."""
CITIES = ("changsha", "zhuzhou", "xiangtan")


def _generator(city: str, seed_value: int = 7) -> Generator:
    return Generator(
        seed=seed_value, residents_per_city=RESIDENTS, cities=builtin_profiles(), city=city, block_size=BLOCK
    )


def _seeded(folder: Path, city: str, *, seed_value: int = 7, workers: int = 0, defer_indexes: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{city}.db"
    seed(path, _generator(city, seed_value), workers=workers, defer_indexes=defer_indexes)
    return path


def _columns(generator: Generator) -> list[CityColumns]:
    return [generator.columns(block) for block in generator.blocks()]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("vectorised")
    return {city: _seeded(folder, city) for city in CITIES}


@pytest.mark.parametrize("city", CITIES)
def test_the_rows_are_what_the_dialect_writes_for_the_same_canonical_records(city: str) -> None:
    generator = _generator(city)
    bound = _SqliteRows(generator.dialect.metadata, sqlite_dialect())
    tables = 0
    for columns in _columns(generator):
        written = generator.writer(columns)
        records = columns.records()  # validated as the exchange standard on the way
        assert len(records) == columns.persons > 0
        expected = bound.prepare(LocalRows.joined(map(generator.dialect.local_rows, records))).rows
        assert {table: rows for table, rows in written.items() if rows} == expected
        tables = max(tables, len(expected))
    assert tables == len(generator.dialect.metadata.tables)  # every table had rows in some block


@pytest.mark.parametrize("city", CITIES)
def test_every_person_reads_back_through_the_city_dialect_as_its_canonical_records(
    seeded: dict[str, Path], city: str
) -> None:
    generator = _generator(city)
    expected = {
        compact.records.person.id_number: compact.expanded()
        for columns in _columns(generator)
        for compact in columns.records()
    }
    path = seeded[city]
    profile = generator.city.profile
    engine = create_engine(f"sqlite:///{path}")
    kinds = set()
    try:
        with Session(engine) as session:
            for id_number, records in expected.items():
                assert validate_id_number(id_number) == id_number
                document = generator.dialect.read_document(session, id_number=id_number)
                assert document is not None, id_number
                read = generator.dialect.to_canonical(document, city=profile.ref)
                assert read == records, id_number
                PersonRecords.model_validate(read.model_dump())  # the exchange standard, validated again
                medical = read.medical_insurance
                assert medical is not None
                kinds.add(medical.enrolment.insurance_type)
                months = [month_index_of(c.month) for c in medical.contributions]
                assert len(months) <= STORED_MONTHS and all(month <= LAST for month in months)
                if read.provident_fund is not None:
                    assert medical.enrolment.insurance_type is InsuranceType.EMPLOYEE
    finally:
        engine.dispose()
    assert kinds == {InsuranceType.EMPLOYEE, InsuranceType.RESIDENT}
    persons_table = generator.dialect.metadata.sorted_tables[0].name  # parents first: the persons
    with sqlite3.connect(path) as db:
        (persons,) = db.execute(f"SELECT count(*) FROM {persons_table}").fetchone()  # noqa: S608 - the dialect's table
    assert persons == len(expected)


def test_the_three_cities_agree_on_every_resident() -> None:
    held: dict[str, list[tuple[str, PersonRecords]]] = defaultdict(list)
    for city in CITIES:
        for columns in _columns(_generator(city)):
            for compact in columns.records():
                held[compact.records.person.id_number].append((city, compact.records))
    movers = 0
    for id_number, cities in held.items():
        assert len({city for city, _ in cities}) == len(cities), id_number
        assert len({(r.person.name, r.person.gender) for _, r in cities}) == 1, id_number
        statuses = [r.medical_insurance.enrolment.status for _, r in cities if r.medical_insurance is not None]
        # Only the city lived in now holds a live enrolment; the cities left behind ended theirs.
        assert sum(status is not EnrolmentStatus.TERMINATED for status in statuses) == 1, id_number
        # Titles rise a grade at a time, wherever each was awarded: 初级 first, numbered 01, 02 … in that order.
        titles = sorted(
            (t.awarded_on, TITLE_GRADES.index(t.grade), t.certificate_no[-2:])
            for _, r in cities
            for t in r.talent.titles
        )
        assert [(grade, number) for _, grade, number in titles] == [
            (grade, f"{grade + 1:02d}") for grade in range(len(titles))
        ], id_number
        certificates = [c.certificate_no[-2:] for _, r in cities for c in r.talent.skill_certificates]
        assert len(set(certificates)) == len(certificates), id_number
        movers += len(cities) > 1
    assert 0.25 * len(held) < movers < 0.45 * len(held)  # MOVER_SHARE, less those with no room to move


@pytest.mark.parametrize("city", CITIES)
def test_the_money_follows_the_city_s_own_rules(city: str) -> None:
    generator = _generator(city)
    medical, fund = generator.city.profile.medical_insurance, generator.city.profile.provident_fund
    premium = resident_monthly_premium(rules=medical)
    contributions = accounts = 0
    for columns in _columns(generator):
        for compact in columns.records():
            records = compact.expanded()
            assert records.medical_insurance is not None
            resident = records.medical_insurance.enrolment.insurance_type is InsuranceType.RESIDENT
            for c in records.medical_insurance.contributions:
                if resident:
                    assert (c.employer_amount, c.personal_amount) == (0, premium)
                else:
                    assert (c.employer_amount, c.personal_amount) == monthly_contribution(base=c.base, rules=medical)
                contributions += 1
            if records.provident_fund is not None and records.provident_fund.deposits:
                account = records.provident_fund.account
                assert fund.min_base <= account.deposit_base <= fund.max_base
                assert account.monthly_deposit == sum(monthly_deposit(base=account.deposit_base, rules=fund))
                latest = records.provident_fund.deposits[-1]
                assert latest.employer_amount + latest.personal_amount == account.monthly_deposit
                accounts += 1
    assert contributions and accounts


@pytest.mark.parametrize("city", CITIES)
def test_each_city_holds_about_as_many_persons_as_the_real_generator_gives_it(city: str) -> None:
    generator = _generator(city)
    persons = sum(columns.persons for columns in _columns(generator))
    real = build_population(seed=7, residents_per_city=RESIDENTS, cities=builtin_profiles())
    held = sum(1 for _ in real.generated_records_for(generator.city.profile.code, range(real.generated_count)))
    assert abs(persons - held) <= 0.06 * held, (persons, held)  # movers in and out, as the real plan draws them
    assert persons > RESIDENTS


def test_continuing_education_is_split_between_the_cities_of_the_year() -> None:
    hours: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    required: dict[tuple[str, int], int] = {}
    for city in CITIES:
        for columns in _columns(_generator(city)):
            for compact in columns.records():
                for year in compact.records.talent.continuing_education:
                    key = compact.records.person.id_number, year.year
                    hours[key][city] += year.hours
                    required[key] = max(required.get(key, 0), year.required_hours)
    split = [key for key, cities in hours.items() if len(cities) > 1]
    assert hours and split  # some residents moved in one of the last three years and earned hours in both cities
    for key in hours:
        # A year's hours are drawn once (at most 24 above what is owed) and shared out by months, not counted twice.
        assert sum(hours[key].values()) <= required[key] + 24 + len(hours[key]), key


def test_the_same_seed_writes_the_same_file_however_it_is_written_and_another_seed_another(
    seeded: dict[str, Path], tmp_path: Path
) -> None:
    first = seeded["zhuzhou"]

    def dump(path: Path) -> list[str]:
        with sqlite3.connect(path) as db:
            return list(db.iterdump())

    again = _seeded(tmp_path / "again", "zhuzhou", workers=1)
    indexed = _seeded(tmp_path / "indexed", "zhuzhou", defer_indexes=False)
    other = _seeded(tmp_path / "other", "zhuzhou", seed_value=8)
    assert dump(again) == dump(first)
    assert dump(indexed) == dump(first)
    assert dump(other) != dump(first)


def test_it_refuses_an_unknown_city_an_empty_population_a_negative_seed_and_a_file_that_exists(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="not one of the cities"):
        Generator(seed=1, residents_per_city=10, cities=builtin_profiles(), city="wuhan")
    with pytest.raises(ValueError, match="at least 1"):
        Generator(seed=1, residents_per_city=0, cities=builtin_profiles(), city="zhuzhou")
    with pytest.raises(ValueError, match="negative"):
        Generator(seed=-1, residents_per_city=10, cities=builtin_profiles(), city="zhuzhou")
    with pytest.raises(KeyError, match="known"):
        rows_for("soap_xml")
    generator = Generator(seed=1, residents_per_city=10, cities=builtin_profiles(), city="zhuzhou")
    (tmp_path / "taken.db").write_bytes(b"")
    with pytest.raises(FileExistsError):
        seed(tmp_path / "taken.db", generator)

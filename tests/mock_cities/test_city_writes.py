"""Writing a person's records back in the city's own dialect: lossless, and safe under concurrent writers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from commons.db import make_engine
from mock_cities.dialects import get_dialect
from mock_cities.personas import PERSONAS
from mock_cities.population import Population
from mock_cities.profiles import CityProfile
from mock_cities.seed import seed_city
from mock_cities.service import person_records, update_person_records
from schemas.records import PersonRecords
from services.tables import metadata as city_tables
from tests.databases import TestDatabases

CHEN_JING = next(p for p in PERSONAS if p.key == "chen-jing")


def add_to_balance(amount: Decimal):  # type: ignore[no-untyped-def]
    def change(records: PersonRecords) -> PersonRecords:
        assert records.medical_insurance is not None
        enrolment = records.medical_insurance.enrolment
        updated = enrolment.model_copy(update={"account_balance": enrolment.account_balance + amount})
        medical = records.medical_insurance.model_copy(update={"enrolment": updated})
        return records.model_copy(update={"medical_insurance": medical})

    return change


@dataclass
class SeededCity:
    """One city's database, seeded, with the two things these tests do to it."""

    profile: CityProfile
    engine: Engine

    def records(self) -> PersonRecords:
        with Session(self.engine) as session:
            dialect = get_dialect(self.profile.dialect)
            return person_records(session=session, dialect=dialect, profile=self.profile, id_number=CHEN_JING.id_number)

    def document(self) -> dict[str, Any] | None:
        with Session(self.engine) as session:
            return get_dialect(self.profile.dialect).read_document(session, id_number=CHEN_JING.id_number)

    def add_to_balance(self, amount: Decimal) -> None:
        with Session(self.engine) as session:
            update_person_records(
                session=session,
                dialect=get_dialect(self.profile.dialect),
                profile=self.profile,
                id_number=CHEN_JING.id_number,
                change=add_to_balance(amount),
            )
            session.commit()


@pytest.fixture
def seeded(
    databases: TestDatabases, profiles: list[CityProfile], population: Population
) -> Iterator[Callable[[str], SeededCity]]:
    engines: list[Engine] = []

    def seed(city_code: str) -> SeededCity:
        profile = next(p for p in profiles if p.code == city_code)
        engine = make_engine(databases.new_url(f"writes_{profile.slug}_{uuid.uuid4().hex[:8]}"))
        engines.append(engine)
        seed_city(engine=engine, profile=profile, population=population)
        city_tables.create_all(engine)
        return SeededCity(profile, engine)

    yield seed
    for engine in engines:
        engine.dispose()


@pytest.mark.parametrize("city_code", ["430100", "430200", "430300"])
def test_a_change_is_stored_in_the_local_dialect_and_nothing_else_moves(
    seeded: Callable[[str], SeededCity], city_code: str
) -> None:
    city = seeded(city_code)
    before, before_document = city.records(), city.document()
    city.add_to_balance(Decimal("12.34"))
    after, after_document = city.records(), city.document()
    assert before.medical_insurance is not None and after.medical_insurance is not None
    expected = before.medical_insurance.enrolment.account_balance + Decimal("12.34")
    assert after.medical_insurance.enrolment.account_balance == expected
    # Everything else — history, fund, talent — is exactly as it was.
    assert after.model_copy(update={"medical_insurance": before.medical_insurance}) == before
    assert after_document != before_document


def test_concurrent_writers_never_lose_an_update(seeded: Callable[[str], SeededCity]) -> None:
    city = seeded("430200")
    start = city.records()
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: city.add_to_balance(Decimal("1.00")), range(30)))
    end = city.records()
    assert start.medical_insurance is not None and end.medical_insurance is not None
    assert end.medical_insurance.enrolment.account_balance == start.medical_insurance.enrolment.account_balance + 30

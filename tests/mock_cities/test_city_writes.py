"""Writing a person's records back in the city's own dialect: lossless, and safe under concurrent writers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
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


@pytest.mark.parametrize("city_code", ["430100", "430200", "430300"])
def test_a_change_is_stored_in_the_local_dialect_and_nothing_else_moves(
    databases: TestDatabases, profiles: list[CityProfile], population: Population, city_code: str
) -> None:
    profile = next(p for p in profiles if p.code == city_code)
    dialect = get_dialect(profile.dialect)
    engine = make_engine(databases.new_url(f"writes_{profile.slug}"))
    seed_city(engine=engine, profile=profile, population=population)
    city_tables.create_all(engine)
    with Session(engine) as session:
        before = person_records(session=session, dialect=dialect, profile=profile, id_number=CHEN_JING.id_number)
        before_document = dialect.read_document(session, id_number=CHEN_JING.id_number)
    with Session(engine) as session:
        update_person_records(
            session=session,
            dialect=dialect,
            profile=profile,
            id_number=CHEN_JING.id_number,
            change=add_to_balance(Decimal("12.34")),
        )
        session.commit()
    with Session(engine) as session:
        after = person_records(session=session, dialect=dialect, profile=profile, id_number=CHEN_JING.id_number)
        after_document = dialect.read_document(session, id_number=CHEN_JING.id_number)
    engine.dispose()
    assert before.medical_insurance is not None and after.medical_insurance is not None
    expected = before.medical_insurance.enrolment.account_balance + Decimal("12.34")
    assert after.medical_insurance.enrolment.account_balance == expected
    # Everything else — history, fund, talent — is exactly as it was.
    assert after.model_copy(update={"medical_insurance": before.medical_insurance}) == before
    assert after_document != before_document


def test_concurrent_writers_never_lose_an_update(
    databases: TestDatabases, profiles: list[CityProfile], population: Population
) -> None:
    profile = next(p for p in profiles if p.code == "430200")
    dialect = get_dialect(profile.dialect)
    engine = make_engine(databases.new_url("writes_concurrent"))
    seed_city(engine=engine, profile=profile, population=population)
    city_tables.create_all(engine)
    with Session(engine) as session:
        start = person_records(session=session, dialect=dialect, profile=profile, id_number=CHEN_JING.id_number)

    def one_write(_: int) -> None:
        with Session(engine) as session:
            update_person_records(
                session=session,
                dialect=dialect,
                profile=profile,
                id_number=CHEN_JING.id_number,
                change=add_to_balance(Decimal("1.00")),
            )
            session.commit()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(one_write, range(30)))
    with Session(engine) as session:
        end = person_records(session=session, dialect=dialect, profile=profile, id_number=CHEN_JING.id_number)
    engine.dispose()
    assert start.medical_insurance is not None and end.medical_insurance is not None
    assert end.medical_insurance.enrolment.account_balance == start.medical_insurance.enrolment.account_balance + 30

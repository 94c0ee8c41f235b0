"""The vectorised seeding prototype (``bench/seeding_vectorised.py``) writes valid 株洲 data, the same every time.

Its speed is a benchmark figure (docs/performance.md), never asserted here; these tests hold what the figure is
worth: the rows are what the city would serve, read back through its own dialect and validated as the exchange
standard, and the population has the real generator's shape.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session

from bench.seeding_vectorised import LAST, Generator, seed
from mock_cities.dialects import get_dialect, month_index_of
from mock_cities.population import STORED_MONTHS, build_population
from mock_cities.profiles import builtin_profiles
from schemas.idcard import validate_id_number
from schemas.medical_insurance import InsuranceType
from schemas.records import PersonRecords

RESIDENTS = 400
BLOCK = 256
"""Five blocks for three cities' residents: a worker has several to hand over in order."""


def _seeded(
    folder: Path, *, seed_value: int = 7, workers: int = 0, defer_indexes: bool = True
) -> tuple[Generator, Path, int]:
    generator = Generator(
        seed=seed_value, residents_per_city=RESIDENTS, cities=builtin_profiles(), city="zhuzhou", block_size=BLOCK
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "zhuzhou.db"
    result = seed(path, generator, workers=workers, defer_indexes=defer_indexes)
    return generator, path, result.persons


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Generator, Path, int]:
    return _seeded(tmp_path_factory.mktemp("vectorised"))


def test_every_person_reads_back_through_the_city_dialect_as_valid_records(
    seeded: tuple[Generator, Path, int],
) -> None:
    generator, path, persons = seeded
    profile = generator.city.profile
    dialect = get_dialect(profile.dialect)
    with sqlite3.connect(path) as db:
        id_numbers = [row[0] for row in db.execute("SELECT certno FROM psn_info ORDER BY psn_no")]
    assert len(id_numbers) == len(set(id_numbers)) == persons > 0
    engine = create_engine(f"sqlite:///{path}")
    kinds = set()
    try:
        with Session(engine) as session:
            for id_number in id_numbers:
                assert validate_id_number(id_number) == id_number
                document = dialect.read_document(session, id_number=id_number)
                assert document is not None, id_number
                records = dialect.to_canonical(document, city=profile.ref)
                PersonRecords.model_validate(records.model_dump())  # the exchange standard, validated again
                medical = records.medical_insurance
                assert medical is not None
                kinds.add(medical.enrolment.insurance_type)
                months = [month_index_of(c.month) for c in medical.contributions]
                assert len(months) <= STORED_MONTHS and all(month <= LAST for month in months)
                if records.provident_fund is not None:
                    assert medical.enrolment.insurance_type is InsuranceType.EMPLOYEE
    finally:
        engine.dispose()
    assert kinds == {InsuranceType.EMPLOYEE, InsuranceType.RESIDENT}


def test_the_city_holds_about_as_many_persons_as_the_real_generator_gives_it(
    seeded: tuple[Generator, Path, int],
) -> None:
    generator, _, persons = seeded
    real = build_population(seed=7, residents_per_city=RESIDENTS, cities=builtin_profiles())
    held = sum(1 for _ in real.generated_records_for(generator.city.profile.code, range(real.generated_count)))
    assert abs(persons - held) <= 0.06 * held, (persons, held)  # movers in and out, as the real plan draws them
    assert persons > RESIDENTS


def test_the_same_seed_writes_the_same_file_however_it_is_written_and_another_seed_another(
    seeded: tuple[Generator, Path, int], tmp_path: Path
) -> None:
    _, first, _ = seeded

    def dump(path: Path) -> list[str]:
        with sqlite3.connect(path) as db:
            return list(db.iterdump())

    _, again, _ = _seeded(tmp_path / "again", workers=1)
    _, indexed, _ = _seeded(tmp_path / "indexed", defer_indexes=False)
    _, other, _ = _seeded(tmp_path / "other", seed_value=8)
    assert dump(again) == dump(first)
    assert dump(indexed) == dump(first)
    assert dump(other) != dump(first)


def test_it_refuses_another_dialect_an_empty_population_a_negative_seed_and_a_file_that_exists(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nhsa"):
        Generator(seed=1, residents_per_city=10, cities=builtin_profiles(), city="changsha")
    with pytest.raises(ValueError, match="at least 1"):
        Generator(seed=1, residents_per_city=0, cities=builtin_profiles(), city="zhuzhou")
    with pytest.raises(ValueError, match="negative"):
        Generator(seed=-1, residents_per_city=10, cities=builtin_profiles(), city="zhuzhou")
    generator = Generator(seed=1, residents_per_city=10, cities=builtin_profiles(), city="zhuzhou")
    (tmp_path / "taken.db").write_bytes(b"")
    with pytest.raises(FileExistsError):
        seed(tmp_path / "taken.db", generator)

"""学时互认 as a pure function."""

from __future__ import annotations

from schemas.talent import ContinuingEducationYear as Year
from services.talent.recognition import recognised_hours


def test_hours_from_every_city_count_toward_one_requirement() -> None:
    hours = {
        "430100": [Year(year=2024, hours=46, required_hours=90), Year(year=2025, hours=52, required_hours=90)],
        "430200": [Year(year=2024, hours=28, required_hours=72)],
        "430300": [Year(year=2024, hours=18, required_hours=80), Year(year=2023, hours=24, required_hours=80)],
    }
    years = recognised_hours(hours_by_city=hours, required_hours=90)
    assert [y.year for y in years] == [2023, 2024, 2025]
    y2024 = years[1]
    assert y2024.hours_by_city == {"430100": 46, "430200": 28, "430300": 18}
    assert y2024.total_hours == 92
    assert y2024.met and not y2024.met_by_any_single_city
    assert not years[0].met and years[0].hours_by_city == {"430300": 24}


def test_no_hours_no_years() -> None:
    assert recognised_hours(hours_by_city={}, required_hours=90) == []

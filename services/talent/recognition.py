"""学时互认: continuing-education hours from every city count toward one city's annual requirement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

from schemas.talent import ContinuingEducationYear


class RecognisedYear(BaseModel):
    """One year's hours from every city against the evaluating city's requirement."""

    year: int
    hours_by_city: dict[str, int] = Field(description="City code → hours earned there that year")
    total_hours: int
    required_hours: int
    met: bool
    met_by_any_single_city: bool = Field(description="Whether one city's hours alone would have met it")


def recognised_hours(
    *, hours_by_city: Mapping[str, Sequence[ContinuingEducationYear]], required_hours: int
) -> list[RecognisedYear]:
    """Every year any city recorded hours for, oldest first, summed across cities (a pure function)."""
    years = sorted({entry.year for entries in hours_by_city.values() for entry in entries})
    summary = []
    for year in years:
        per_city = {
            code: sum(entry.hours for entry in entries if entry.year == year)
            for code, entries in sorted(hours_by_city.items())
            if any(entry.year == year for entry in entries)
        }
        total = sum(per_city.values())
        summary.append(
            RecognisedYear(
                year=year,
                hours_by_city=per_city,
                total_hours=total,
                required_hours=required_hours,
                met=total >= required_hours,
                met_by_any_single_city=any(hours >= required_hours for hours in per_city.values()),
            )
        )
    return summary

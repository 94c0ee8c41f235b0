"""Could seeding reach 20,000 persons per second per city? A feasibility prototype, not the project's generator.

``python -m bench.seeding_vectorised --residents N [--city zhuzhou|changsha|xiangtan|all] [--data-dir DIR]`` seeds a
city into a fresh SQLite file from a generator that draws a *block* of residents at a time with numpy, instead of
:mod:`mock_cities.population`'s five seeded ``random.Random`` streams and half a dozen models per person: the
block's persons in the city become canonical columns (:class:`~bench.vectorised_rows.CityColumns`), which the
city's dialect turns into rows (:func:`~bench.vectorised_rows.rows_for`). It prints persons per second in this one
process, with the CPU per person split between generating and inserting (docs/performance.md, *Seeding*).

It draws a life of the same shape as :mod:`mock_cities.population` — the plan (gender, the cities lived in, the
moves a year apart, ID numbers from the same bijection), the career (wages walked back by
:data:`~mock_cities.population.WAGE_GROWTH`, yearly amounts in 分 with each rate as an exact fraction, half up),
the last :data:`~mock_cities.population.STORED_MONTHS` months as runs per calendar year, statuses, names from
Faker's zh_CN tables, employers, loans, skill certificates, titles and continuing-education hours — from other
draws, so every value differs from the real generator's. Certificates, titles and continuing-education hours are
drawn over the whole life and kept by the city they fall in (hours split by the months lived in each city that
year), so the three cities agree on a resident. The rows are valid data in all three dialects:
tests/bench/test_seeding_vectorised.py reads residents back through each city's own dialect and validates them
as the exchange standard. What it leaves out to become the generator: the gateway's accounts, the canonical
records of one resident (``records_for``) and the personas.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sqlite3
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from faker.providers.company.zh_CN import Provider as CompanyNames
from faker.providers.person.zh_CN import Provider as PersonNames
from sqlalchemy import create_engine
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.schema import CreateIndex

from bench.seeding import peak_rss_mb
from bench.vectorised_rows import Account, Certificate, CityColumns, Day, Hours, Rows, Runs, Title, rows_for
from mock_cities.dialects import get_dialect
from mock_cities.population import (
    BIRTH_FIRST,
    BIRTH_LAST,
    DEMO_AS_OF,
    EMPLOYEE_MEDICAL_FROM,
    FUND_FROM,
    GENERATED_SEQUENCE_SLOTS,
    INDUSTRIES,
    LOAN_SHARE,
    MOVER_SHARE,
    MOVES_FROM,
    PERSONA_SERIALS,
    RESIDENT_MEDICAL_FROM,
    SKILL_CERTIFICATES_FROM,
    SKILL_LEVEL_WEIGHTS,
    SKILL_OCCUPATIONS,
    STORED_MONTHS,
    TITLE_GRADES,
    WAGE_GROWTH,
    _IdSpace,
    last_full_month,
)
from mock_cities.profiles import CityProfile, builtin_profiles
from schemas.medical_insurance import EnrolmentStatus, InsuranceType
from schemas.money import yuan_to_fen
from schemas.provident_fund import FundAccountStatus
from schemas.records import Gender
from services.medical_insurance.service import resident_monthly_premium
from services.talent.service import TITLE_SERIES, required_hours

TARGET_PER_S = 20_000
BLOCK = 4096
"""Residents drawn at a time; a block's arrays stay in the CPU caches."""

LAST = last_full_month(DEMO_AS_OF)
_GROWTH = WAGE_GROWTH ** np.arange(100)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_BIRTH_DAYS = [BIRTH_FIRST + timedelta(days=d) for d in range((BIRTH_LAST - BIRTH_FIRST).days + 1)]
_BIRTH_TEXT = [f"{day:%Y%m%d}" for day in _BIRTH_DAYS]
_BIRTH_MONTH = np.array([day.year * 12 + day.month - 1 for day in _BIRTH_DAYS], dtype=np.int64)
_SEQUENCE_TEXT = [f"{s:03d}" for s in range(1000)]


def _weighted(digits: str, weights: Sequence[int]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


# GB 11643's check sum is linear in the digits: the region's, the birth date's and the sequence's parts are summed
# once per value here, and a resident's check character is three lookups and a modulo.
_BIRTH_SUM = np.array([_weighted(text, _ID_WEIGHTS[6:14]) for text in _BIRTH_TEXT], dtype=np.int64)
_SEQUENCE_SUM = np.array([_weighted(text, _ID_WEIGHTS[14:]) for text in _SEQUENCE_TEXT], dtype=np.int64)

_GIVEN_MALE: list[str] = PersonNames.first_names_male
_GIVEN_FEMALE: list[str] = PersonNames.first_names_female
_FAMILY = list(PersonNames.last_names)
_FAMILY_CUM = np.cumsum(np.array(list(PersonNames.last_names.values()), dtype=np.float64))
_BRANDS = [prefix[:2] for prefix in CompanyNames.company_prefixes]
_SERIES = list(TITLE_SERIES)
_SKILL_LEVELS = list(SKILL_LEVEL_WEIGHTS)
_SKILL_CUM = np.cumsum(np.array(list(SKILL_LEVEL_WEIGHTS.values()), dtype=np.float64))
_ENROLMENT_STATUSES = (EnrolmentStatus.ACTIVE, EnrolmentStatus.SUSPENDED, EnrolmentStatus.TERMINATED)
_FUND_STATUSES = (FundAccountStatus.NORMAL, FundAccountStatus.SEALED, FundAccountStatus.CLOSED)

# The talent draws' columns, one row per resident: certificates (whether, how many, two months, two days, two
# occupations, two levels), titles (the first award, three gaps, two days), hours (whether owed in full, how much,
# for each of three years).
_T_CERTIFICATE, _T_TITLE, _T_HOURS = 0, 10, 17
_TALENT_DRAWS = 23


def _rate(value: Any) -> tuple[int, int]:
    fraction = Fraction(str(value))
    return fraction.numerator, fraction.denominator


@dataclass(frozen=True)
class _Terms:
    """One city's rules as the generator uses them, amounts in 分."""

    position: int
    profile: CityProfile
    medical_employer: tuple[int, int]
    medical_personal: tuple[int, int]
    resident_premium: int
    fund_employer: tuple[int, int]
    fund_personal: tuple[int, int]
    fund_floor: int
    fund_ceiling: int
    average_wage: float
    required_hours: int

    @classmethod
    def of(cls, position: int, profile: CityProfile) -> _Terms:
        medical, fund = profile.medical_insurance, profile.provident_fund
        return cls(
            position=position,
            profile=profile,
            medical_employer=_rate(medical.employer_rate),
            medical_personal=_rate(medical.personal_rate),
            resident_premium=yuan_to_fen(resident_monthly_premium(rules=medical)),
            fund_employer=_rate(fund.employer_rate),
            fund_personal=_rate(fund.personal_rate),
            fund_floor=yuan_to_fen(fund.min_base),
            fund_ceiling=yuan_to_fen(fund.max_base),
            average_wage=float(fund.max_base) / 3,
            required_hours=required_hours(rules=profile.talent),
        )


def _on(bases: np.ndarray, rate: tuple[int, int]) -> np.ndarray:
    """``to_yuan(base * rate)`` of each base in 分, half up, as :class:`mock_cities.population._Rate` does."""
    numerator, denominator = rate
    return (bases * (2 * numerator) + denominator) // (2 * denominator)


def _years(first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Calendar years ``first // 12 .. last // 12`` of each row, flattened: (row, year, row's offset, row's count)."""
    counts = last // 12 - first // 12 + 1
    owner = np.repeat(np.arange(len(first)), counts)
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    year = first[owner] // 12 + (np.arange(len(owner)) - offsets[owner])
    return owner, year, offsets, counts


def _paid(
    monthly: np.ndarray, offsets: np.ndarray, counts: np.ndarray, first: np.ndarray, last: np.ndarray
) -> np.ndarray:
    """Each row's sum over its months of one amount per calendar year (population's ``_paid``, row by row)."""
    if not len(offsets):
        return np.zeros(0, dtype=np.int64)
    sums = np.add.reduceat(monthly, offsets)
    return 12 * sums - monthly[offsets] * (first % 12) - monthly[offsets + counts - 1] * (11 - last % 12)


def _kept(amount: np.ndarray, share_gone: np.ndarray) -> np.ndarray:
    """``amount × (1 − share)`` in 分, the share to four places, half up."""
    keep = np.round((1 - share_gone) * 10_000).astype(np.int64)
    return (amount * keep * 2 + 10_000) // 20_000


def _stored(
    first: np.ndarray, last: np.ndarray, owner: np.ndarray, year: np.ndarray, amounts: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """The runs of the months kept online: (row, first month, last month, amounts), one per calendar year."""
    stored_from = np.maximum(first, last - STORED_MONTHS + 1)
    keep = year >= stored_from[owner] // 12
    rows, years = owner[keep], year[keep]
    return (
        rows,
        np.maximum(years * 12, stored_from[rows]),
        np.minimum(years * 12 + 11, last[rows]),
        [column[keep] for column in amounts],
    )


def _runs(owner: np.ndarray, first: np.ndarray, last: np.ndarray, amounts: Sequence[np.ndarray]) -> Runs:
    """Runs sorted by owner, then month, and joined where one ends the month before the next begins with the same
    amounts: the fewest periods, as the dialects' period tables keep them (``mock_cities.dialects.periods``)."""
    order = np.lexsort((first, owner))
    owner, first, last = owner[order], first[order], last[order]
    amounts = [column[order] for column in amounts]
    same = (owner[1:] == owner[:-1]) & (first[1:] == last[:-1] + 1)
    for column in amounts:
        same &= column[1:] == column[:-1]
    starts = np.nonzero(np.concatenate(([True], ~same)))[0] if len(owner) else np.zeros(0, dtype=np.int64)
    ends = np.concatenate((starts[1:], [len(owner)])).astype(np.int64) - 1
    return Runs(
        owner[starts].tolist(),
        first[starts].tolist(),
        last[ends].tolist(),
        tuple(column[starts].tolist() for column in amounts),
    )


def _weighted_pick(cumulative: np.ndarray, draw: float) -> int:
    """The position a uniform ``draw`` picks among weights given as their running sums."""
    return int(np.searchsorted(cumulative, draw * cumulative[-1], side="right"))


def _city_at(lived: Sequence[tuple[int, ...]], month: int) -> int | None:
    """The position of the city lived in in ``month`` (stints as (city, first month, last month)), if any."""
    for city, first, last in lived:
        if first <= month <= last:
            return city
    return None


class Generator:
    """The residents of three cities, ``residents_per_city`` living in each; rows for ``city`` only."""

    def __init__(
        self, *, seed: int, residents_per_city: int, cities: Sequence[CityProfile], city: str, block_size: int = BLOCK
    ) -> None:
        if residents_per_city < 1 or block_size < 1:
            raise ValueError("residents per city and the block size must be at least 1")
        if seed < 0:
            raise ValueError("the seed must not be negative (numpy's streams take non-negative seeds)")
        if len(cities) != 3:
            raise ValueError("the prototype draws lives over exactly three cities")
        self.seed = seed
        self.block_size = block_size
        self.residents_per_city = residents_per_city
        self.terms = [_Terms.of(position, profile) for position, profile in enumerate(cities)]
        matches = [terms for terms in self.terms if city in (terms.profile.code, terms.profile.slug)]
        if not matches:
            raise ValueError(f"{city}: not one of the cities ({', '.join(t.profile.slug for t in self.terms)})")
        self.city = matches[0]
        self.dialect = get_dialect(self.city.profile.dialect)
        self.writer = rows_for(self.dialect.name)
        ids = _IdSpace.for_seed(seed)
        self._multiplier, self._offset, self._size = ids.multiplier, ids.offset, ids.size
        districts = [(position, code) for position, profile in enumerate(cities) for code in profile.districts]
        self._districts = [code for _, code in districts]
        self._district_sum = np.array([_weighted(code, _ID_WEIGHTS[:6]) for code in self._districts], dtype=np.int64)
        counts = [len(profile.districts) for profile in cities]
        self._district_first = np.array([sum(counts[:p]) for p in range(3)], dtype=np.int64)
        self._district_count = np.array(counts, dtype=np.int64)

    @property
    def total(self) -> int:
        return 3 * self.residents_per_city

    def blocks(self) -> range:
        return range(0, self.total, self.block_size)

    def rows(self, block: int) -> tuple[int, Rows]:
        """The persons the city holds among residents ``block .. block + block_size - 1``, as rows per table."""
        columns = self.columns(block)
        return columns.persons, self.writer(columns)

    def columns(self, block: int) -> CityColumns:
        """The persons the city holds among residents ``block .. block + block_size - 1``, canonical."""
        index = np.arange(block, min(block + self.block_size, self.total), dtype=np.int64)
        city = self.city.position
        draws = np.random.default_rng([self.seed, block, 0]).random((len(index), 16))
        # A resident's life (name, wages, statuses) is drawn before the city is known: the same in every city.
        life_stream = np.random.default_rng([self.seed, block, 1])
        life = life_stream.random((len(index), 16))
        earning_power = 0.85 * np.exp(life_stream.normal(0, 0.4, len(index)))
        talent = np.random.default_rng([self.seed, block, 2]).random((len(index), _TALENT_DRAWS))
        home = index // self.residents_per_city
        mover = draws[:, 1] < MOVER_SHARE
        two = mover & (draws[:, 2] < 0.25)
        shift = np.where(draws[:, 3] < 0.5, 1, 2)
        earliest_city, middle_city = (home + shift) % 3, (home + 3 - shift) % 3
        # The plan's first draws tell most residents apart from the city's: only the others are planned.
        near = np.nonzero((home == city) | (mover & (earliest_city == city)) | (two & (middle_city == city)))[0]
        index, draws, home, mover, two = index[near], draws[near], home[near], mover[near], two[near]
        life, talent, earning_power = life[near], talent[near], earning_power[near]
        earliest_city, middle_city = earliest_city[near], middle_city[near]
        male = draws[:, 0] < 0.5

        born = np.where(draws[:, 4] < 0.8, np.where(mover, earliest_city, home), (draws[:, 5] * 3).astype(np.int64))
        district = self._district_first[born] + (draws[:, 6] * self._district_count[born]).astype(np.int64)
        position = (self._multiplier * index + self._offset) % self._size
        day = position // GENERATED_SEQUENCE_SLOTS
        sequence = 2 * (position % GENERATED_SEQUENCE_SLOTS + 1) + male
        check = (self._district_sum[district] + _BIRTH_SUM[day] + _SEQUENCE_SUM[sequence]) % 11
        birth_month = _BIRTH_MONTH[day]
        career_start = (
            birth_month + 12 * (18 + (draws[:, 7] * 7).astype(np.int64)) + (draws[:, 8] * 12).astype(np.int64)
        )
        retirement = birth_month + 12 * np.where(male, 60, 55)
        employee = (career_start <= LAST - 12) & (draws[:, 9] < np.where(birth_month < 1965 * 12, 0.55, 0.75))
        work_end_plan = np.where(employee, np.minimum(retirement - 1, LAST), -1)
        first = np.where(employee, career_start, birth_month + 12 * 18)
        window_end = np.where(employee, work_end_plan, LAST)
        # Moves between MOVES_FROM and the window's end, a year apart; dropped when a life has no room for them.
        moves = np.where(two, 2, np.where(mover, 1, 0))
        earliest = np.maximum(first, MOVES_FROM) + 12
        room = window_end - 12 - earliest - 12 * np.maximum(moves - 1, 0)
        moves = np.where(room < 0, 0, moves)
        span = np.maximum(room + 1, 1)
        one, other = (
            earliest + (draws[:, 10] * span).astype(np.int64),
            earliest + (draws[:, 11] * span).astype(np.int64),
        )
        move1 = np.where(moves == 1, one, np.minimum(one, other))
        move2 = np.maximum(one, other) + 12
        at_home = home == city
        start = np.where(
            at_home,
            np.select([moves == 0, moves == 1], [first, move1], move2),
            np.where(earliest_city == city, first, move1),
        )
        end = np.where(at_home, LAST, np.where(earliest_city == city, move1 - 1, move2 - 1))
        touched = at_home | ((moves >= 1) & (earliest_city == city)) | ((moves == 2) & (middle_city == city))
        held = np.nonzero(touched)[0]
        lived = np.full((len(index), 3, 3), -1, dtype=np.int64)  # (city, first month, last month) per stint
        lived[:, 0] = np.stack([earliest_city, first, np.where(moves == 0, LAST, move1 - 1)], axis=1)
        lived[moves == 0, 0, 0] = home[moves == 0]
        lived[moves == 1, 1] = np.stack([home, move1, np.full_like(home, LAST)], axis=1)[moves == 1]
        lived[moves == 2, 1] = np.stack([middle_city, move1, move2 - 1], axis=1)[moves == 2]
        lived[moves == 2, 2] = np.stack([home, move2, np.full_like(home, LAST)], axis=1)[moves == 2]
        lives = {
            "index": index, "current": at_home, "male": male, "day": day, "sequence": sequence,
            "district": district, "check": check, "employee": employee, "work_end_plan": work_end_plan,
            "start": start, "end": end, "career_start": career_start, "life": life, "talent": talent,
            "earning_power": earning_power, "spans": lived,
        }  # fmt: skip
        return self._columns(**{name: column[held] for name, column in lives.items()})

    def _columns(
        self,
        index: np.ndarray,
        current: np.ndarray,
        male: np.ndarray,
        day: np.ndarray,
        sequence: np.ndarray,
        district: np.ndarray,
        check: np.ndarray,
        employee: np.ndarray,
        work_end_plan: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        career_start: np.ndarray,
        life: np.ndarray,
        talent: np.ndarray,
        earning_power: np.ndarray,
        spans: np.ndarray,
    ) -> CityColumns:
        terms, n = self.city, len(index)
        work_end = np.where(employee, np.minimum(end, work_end_plan), -1)
        between_jobs = employee & current & (work_end == LAST) & (life[:, 0] < 0.04)
        work_end = work_end - np.where(between_jobs, 1 + (life[:, 1] * 6).astype(np.int64), 0)
        wage = np.round(terms.average_wage * earning_power / _GROWTH[np.clip((LAST - work_end) // 12, 0, 99)])
        retired = employee & (work_end_plan < LAST) & (work_end == work_end_plan)
        laid_off = employee & ~retired & (work_end < LAST)
        # Leaving a city ends its cover and seals its fund account; retired employees keep 职工医保 and mostly close
        # the account; between jobs, cover is suspended and the account sealed.
        enrolment_status = np.where(~current, 2, np.where(laid_off, 1, 0))
        account_status = np.where(~current, 1, np.where(retired, np.where(life[:, 2] < 0.7, 2, 1), laid_off * 1))
        serial = index + PERSONA_SERIALS
        title = employee & (life[:, 3] < 0.27)
        series = (life[:, 4] * len(_SERIES)).astype(np.int64)

        # 医保: 职工 contributions while employed, 城乡居民 premiums otherwise.
        medical_first = np.maximum(start, np.where(employee, EMPLOYEE_MEDICAL_FROM, RESIDENT_MEDICAL_FROM))
        medical_last = np.where(employee, work_end, end)
        paying = np.nonzero(employee & (medical_first <= medical_last))[0]
        first, last = medical_first[paying], medical_last[paying]
        owner, year, offsets, counts = _years(first, last)
        walked_back = _GROWTH[(work_end[paying] // 12)[owner] - year]
        bases = np.round(wage[paying][owner] / walked_back).astype(np.int64) * 100
        personal = _on(bases, terms.medical_personal)
        balance = np.zeros(n, dtype=np.int64)
        balance[paying] = _kept(_paid(personal, offsets, counts, first, last), 0.2 + 0.65 * life[paying, 5])
        runs, run_first, run_last, run_amounts = _stored(
            first, last, owner, year, [bases, _on(bases, terms.medical_employer), personal]
        )
        # 城乡居民 pay a flat premium, one run over their stored months.
        residents = np.nonzero(~employee & (medical_first <= medical_last))[0]
        resident_last = medical_last[residents]
        resident_first = np.maximum(medical_first[residents], resident_last - STORED_MONTHS + 1)
        none = np.zeros(len(residents), dtype=np.int64)
        contributions = _runs(
            np.concatenate((paying[runs], residents)),
            np.concatenate((run_first, resident_first)),
            np.concatenate((run_last, resident_last)),
            [
                np.concatenate((run_amounts[0], none)),
                np.concatenate((run_amounts[1], none)),
                np.concatenate((run_amounts[2], none + terms.resident_premium)),
            ],
        )

        # 公积金: every employee has an account; a year's deposit base lies between the city's floor and ceiling.
        fund_first = np.maximum(start, FUND_FROM)
        accounts = np.nonzero(employee)[0]
        funded = np.nonzero(fund_first[accounts] <= work_end[accounts])[0]
        first, last = fund_first[accounts][funded], work_end[accounts][funded]
        owner, year, offsets, counts = _years(first, last)
        walked_back = _GROWTH[(last // 12)[owner] - year]
        wages = np.round(wage[accounts][funded][owner] / walked_back).astype(np.int64) * 100
        fund_bases = np.clip(wages, terms.fund_floor, terms.fund_ceiling)
        employer_part, personal_part = _on(fund_bases, terms.fund_employer), _on(fund_bases, terms.fund_personal)
        both = employer_part + personal_part
        latest = offsets + counts - 1
        base, monthly, paid = (np.zeros(len(accounts), dtype=np.int64) for _ in range(3))
        if len(funded):
            base[funded], monthly[funded] = fund_bases[latest], both[latest]
            paid[funded] = _paid(both, offsets, counts, first, last)
        status = account_status[accounts]
        withdrawn = np.where(life[accounts, 6] < 0.45, 0.0, 0.2 + 0.7 * life[accounts, 7])
        fund_balance = np.where(status == 2, 0, _kept(paid, withdrawn))
        loan = np.where(life[accounts, 8] < LOAN_SHARE, (500 + (life[accounts, 9] * 5500).astype(np.int64)) * 10_000, 0)
        loan = np.where(status == 2, 0, loan)
        runs, run_first, run_last, run_amounts = _stored(first, last, owner, year, [employer_part, personal_part])
        deposits = _runs(funded[runs], run_first, run_last, run_amounts)  # owners: the accounts' positions
        opened, months = fund_first[accounts], np.maximum(0, work_end[accounts] - fund_first[accounts] + 1)
        account_list = [
            Account(owner, _FUND_STATUSES[code], *values)
            for owner, code, *values in zip(
                accounts.tolist(),
                status.tolist(),
                opened.tolist(),
                base.tolist(),
                monthly.tolist(),
                fund_balance.tolist(),
                months.tolist(),
                loan.tolist(),
                strict=True,
            )
        ]

        # Names and employers, from Faker's zh_CN tables.
        family = np.searchsorted(_FAMILY_CUM, life[:, 10] * _FAMILY_CUM[-1], side="right")
        given = np.where(male, (life[:, 11] * len(_GIVEN_MALE)), (life[:, 11] * len(_GIVEN_FEMALE))).astype(np.int64)
        names = [
            _FAMILY[f] + (_GIVEN_MALE[g] if m else _GIVEN_FEMALE[g])
            for f, g, m in zip(family.tolist(), given.tolist(), male.tolist(), strict=True)
        ]
        city_name = terms.profile.name
        employer: list[str | None] = [None] * n
        hired = np.nonzero(employee)[0]
        brand = (life[:, 12] * len(_BRANDS)).astype(np.int64)
        industry = (life[:, 13] * len(INDUSTRIES)).astype(np.int64)
        for i, titled, s, b, k, u in zip(
            hired.tolist(), title[hired].tolist(), series[hired].tolist(), brand[hired].tolist(),
            industry[hired].tolist(), life[hired, 14].tolist(), strict=True,
        ):  # fmt: skip
            kind = _SERIES[s] if titled else None
            if kind == "卫生":
                employer[i] = f"{city_name}市第{1 + int(u * 8)}人民医院"
            elif kind == "教育":
                employer[i] = f"{city_name}市第{1 + int(u * 20)}中学"
            else:
                employer[i] = f"{city_name}{_BRANDS[b]}{INDUSTRIES[k]}有限公司"
        districts = self._districts
        certificates, titles, hours = self._talent(talent, serial, title, series, spans, career_start, work_end_plan)
        return CityColumns(
            city=terms.profile,
            serial=serial.tolist(),
            id_number=[
                districts[d] + _BIRTH_TEXT[b] + _SEQUENCE_TEXT[s] + _CHECK_CHARS[c]
                for d, b, s, c in zip(district.tolist(), day.tolist(), sequence.tolist(), check.tolist(), strict=True)
            ],
            name=names,
            gender=[Gender.MALE if m else Gender.FEMALE for m in male.tolist()],
            insurance_type=[InsuranceType.EMPLOYEE if e else InsuranceType.RESIDENT for e in employee.tolist()],
            enrolment_status=[_ENROLMENT_STATUSES[s] for s in enrolment_status.tolist()],
            enrolled=medical_first.tolist(),
            contribution_months=np.maximum(0, medical_last - medical_first + 1).tolist(),
            medical_balance=balance.tolist(),
            employer=employer,
            contributions=contributions,
            accounts=account_list,
            deposits=deposits,
            certificates=certificates,
            titles=titles,
            hours=hours,
        )

    def _talent(
        self,
        talent: np.ndarray,
        serial: np.ndarray,
        title: np.ndarray,
        series: np.ndarray,
        spans: np.ndarray,
        career_start: np.ndarray,
        work_end_plan: np.ndarray,
    ) -> tuple[list[Certificate], list[Title], list[Hours]]:
        """Skill certificates, titles and continuing-education hours: drawn over the whole life, so that every city
        a resident lived in agrees on them, and kept where they fall in this city. A minority, person by person."""
        city = self.city.position
        certificates: list[Certificate] = []
        titles: list[Title] = []
        hours: list[Hours] = []
        last_full_year = (LAST + 1) // 12 - 1
        for i in np.nonzero((talent[:, _T_CERTIFICATE] < 0.3) | title)[0].tolist():
            t = talent[i].tolist()
            lived = [tuple(span) for span in spans[i].tolist() if span[0] >= 0]
            if t[_T_CERTIFICATE] < 0.3:
                first = max(lived[0][1], SKILL_CERTIFICATES_FROM)
                held: list[tuple[Day, int, int]] = []
                for number in range(1, 2 if t[_T_CERTIFICATE + 1] < 0.75 else 3):
                    if first > LAST:
                        break
                    month = first + int(t[_T_CERTIFICATE + 1 + number] * (LAST - first + 1))
                    if _city_at(lived, month) == city:
                        held.append(((month, 1 + int(t[_T_CERTIFICATE + 3 + number] * 28)), number, month))
                prefix = self.city.profile.talent.certificate_prefix
                for seq, (issued, number, month) in enumerate(sorted(held)):
                    occupation = SKILL_OCCUPATIONS[int(t[_T_CERTIFICATE + 5 + number] * len(SKILL_OCCUPATIONS))]
                    level = _SKILL_LEVELS[_weighted_pick(_SKILL_CUM, t[_T_CERTIFICATE + 7 + number])]
                    number_text = f"{prefix}{month // 12}JN{int(serial[i]):08d}{number:02d}"
                    certificates.append(Certificate(i, seq, number_text, occupation, level, issued))
            if not title[i]:
                continue
            kind = _SERIES[int(series[i])]
            award, awarded, seq = int(career_start[i]) + 12 + int(t[_T_TITLE] * 25), 0, 0
            for number, grade in enumerate(TITLE_GRADES, start=1):
                where = _city_at(lived, award)
                if award > work_end_plan[i] or where is None:
                    break
                if where == city:
                    prefix = self.city.profile.talent.certificate_prefix
                    number_text = f"{prefix}{award // 12}ZC{int(serial[i]):08d}{number:02d}"
                    awarded_on = (award, 1 + int(t[_T_TITLE + 5 + number % 2] * 28))
                    titles.append(Title(i, seq, number_text, kind, TITLE_SERIES[kind][grade.value], grade, awarded_on))
                    seq += 1
                awarded += 1
                award += 48 + int(t[_T_TITLE + number] * 49)
            if not awarded:
                continue
            for position, year in enumerate(range(last_full_year - 2, last_full_year + 1)):
                if year * 12 > work_end_plan[i]:
                    continue  # retired: no hours are owed
                spent = {
                    where: min(to, year * 12 + 11) - max(since, year * 12) + 1
                    for where, since, to in lived
                    if since <= year * 12 + 11 and to >= year * 12
                }
                if city not in spent:
                    continue
                # Hours are owed to the city lived in longest that year, and split between the cities by months.
                needed = self.terms[max(spent, key=lambda where: spent[where])].required_hours
                draw = t[_T_HOURS + 3 + position]
                total = needed + int(draw * 25) if t[_T_HOURS + position] < 0.7 else round(needed * (0.3 + 0.65 * draw))
                hours.append(Hours(i, year, round(total * spent[city] / 12), self.city.required_hours))
        return certificates, titles, hours


@dataclass(frozen=True)
class Seeded:
    persons: int
    rows: int
    seconds: float
    cpu_generate: float
    """This process's CPU in generating blocks, or with a worker, in taking them from it (unpickling)."""
    cpu_insert: float
    workers: int

    @property
    def per_second(self) -> float:
        return self.persons / self.seconds if self.seconds else 0.0

    def cpu_per_person_us(self) -> tuple[float, float]:
        persons = max(self.persons, 1)
        return self.cpu_generate / persons * 1e6, self.cpu_insert / persons * 1e6


Block = tuple[int, Rows]


def _generated(generator: Generator, workers: int) -> Iterator[Block]:
    """The blocks in order: made here, or by ``workers`` forked processes while this one inserts.

    At most two blocks per worker wait to be inserted, so memory stays flat however far ahead they get.
    """
    if workers == 0:
        yield from map(generator.rows, generator.blocks())
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        pending: deque[Future[Block]] = deque()
        for block in generator.blocks():
            pending.append(pool.submit(generator.rows, block))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def seed(path: Path, generator: Generator, *, workers: int = 0, defer_indexes: bool = True) -> Seeded:
    """Write the city's persons into a fresh SQLite file at ``path``: the schema as the city creates it."""
    if path.exists():
        raise FileExistsError(f"{path} exists: the prototype seeds a fresh file only")
    metadata = generator.dialect.metadata
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    inserts = {
        table.name: f"INSERT INTO {table.name} VALUES ({', '.join('?' * len(table.columns))})"  # noqa: S608 - the dialect's tables
        for table in metadata.sorted_tables
    }
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")  # as czt seed does while a fresh file is seeded
    indexes = [index for table in metadata.sorted_tables for index in table.indexes] if defer_indexes else []
    for index in indexes:
        connection.execute(f"DROP INDEX {index.name}")
    persons = rows = 0
    generate = insert = 0.0
    wall = time.perf_counter()
    blocks = _generated(generator, workers)
    while True:
        before = time.process_time()
        block = next(blocks, None)
        drawn = time.process_time()
        if block is None:
            break
        held, tables = block
        with connection:
            for table, table_rows in tables.items():
                if table_rows:
                    connection.executemany(inserts[table], table_rows)
                    rows += len(table_rows)
        generate, insert = generate + drawn - before, insert + time.process_time() - drawn
        persons += held
    before = time.process_time()
    with connection:
        for index in indexes:
            connection.execute(str(CreateIndex(index).compile(dialect=sqlite_dialect())))
    insert += time.process_time() - before
    seconds = time.perf_counter() - wall
    connection.execute("PRAGMA synchronous=FULL")
    connection.close()
    return Seeded(persons, rows, seconds, generate, insert, workers)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--residents", type=int, default=20_000, help="residents living in each city")
    parser.add_argument("--city", default="all", help="a city's code or slug, or all (one after another; default)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--defer-indexes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="build the secondary indexes (the unique one on the ID number) once the rows are in, as a bulk load does",
    )
    parser.add_argument("--workers", type=int, default=0, help="processes generating while this one inserts")
    parser.add_argument("--data-dir", type=Path, help="where the SQLite files go (a temporary folder if not given)")
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error("--workers must not be negative")
    profiles = builtin_profiles()
    cities = [p.slug for p in profiles] if args.city == "all" else [args.city]
    try:
        generators = [
            Generator(seed=args.seed, residents_per_city=args.residents, cities=profiles, city=city) for city in cities
        ]
    except ValueError as exc:
        parser.error(str(exc))
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.data_dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / f"{generator.city.profile.slug}-vectorised.db" for generator in generators]
        for path in paths:
            if path.exists():
                parser.error(f"{path} exists: name an empty --data-dir")
        for generator, path in zip(generators, paths, strict=True):
            result = seed(path, generator, workers=args.workers, defer_indexes=args.defer_indexes)
            generate, insert = result.cpu_per_person_us()
            print(
                f"{generator.city.profile.name} ({generator.dialect.name}): {result.persons:,} persons, "
                f"{result.rows / max(result.persons, 1):.1f} rows each, in {result.seconds:.2f} s: "
                f"{result.per_second:,.0f} persons/s (target {TARGET_PER_S:,}/s per city), {args.workers} worker(s); "
                f"this process's CPU per person: {generate:.1f} µs "
                f"{'taking blocks' if args.workers else 'generating'}, "
                f"{insert:.1f} µs inserting; peak RSS {peak_rss_mb():.0f} MB (target < 300 MB)"
                + (f", largest worker {peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB" if args.workers else ""),
                flush=True,
            )


if __name__ == "__main__":
    main()

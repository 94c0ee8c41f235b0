"""The generated residents, drawn a block at a time with numpy: what seeding writes a million of per city.

Residents are drawn :data:`BLOCK` at a time, every draw of a block at once, from three PCG64 streams seeded by
``(seed, block)``: a resident depends on the seed and their block alone, so a city is seeded by walking the blocks
and keeping the residents who touch it, never holding the population in memory, and every city draws the same
life for a resident who lived in several. Each block gives, per city, the persons it holds as canonical columns
(:class:`~mock_cities.columns.CityColumns`), which the city's dialect turns into rows (``sqlite_rows``) and
:meth:`~mock_cities.columns.CityColumns.records` into canonical records.

A life: home city by index (``residents_per_city`` per city, in the cities' order); a third move there from one
or two other cities (a year apart at least, from 2001); an ID number from a bijection of the index (never two
alike), a birth place in a district of the first city lived in or, for one in five, any city; an employee's
career from 18–24 with wages around a third of the city's 缴存基数 ceiling, walked back by
:data:`~mock_cities.population.WAGE_GROWTH` a year; 医保 and 公积金 histories whose yearly amounts follow each
city's rules in whole 分 (each rate an exact fraction, rounded half up as the services round), the last
:data:`~mock_cities.population.STORED_MONTHS` months stored as periods; statuses from where and how the life
stands now; a name and employers from Faker's zh_CN tables; loans; skill certificates, professional titles and
continuing-education hours drawn over the whole life and kept by the city they fall in, hours split by the months
lived in each city that year. tests/mock_cities/test_generated.py holds the columns, the rows and the records to
each other and to the services' rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import numpy as np
from faker.providers.company.zh_CN import Provider as CompanyNames
from faker.providers.person.zh_CN import Provider as PersonNames

from mock_cities.columns import Account, Certificate, CityColumns, Day, Hours, Runs, Title
from mock_cities.population import (
    BIRTH_FIRST,
    BIRTH_LAST,
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
    IdSpace,
    last_full_month,
)
from mock_cities.profiles import CityProfile
from schemas.medical_insurance import EnrolmentStatus, InsuranceType
from schemas.money import yuan_to_fen
from schemas.provident_fund import FundAccountStatus
from schemas.records import Gender
from services.medical_insurance.service import resident_monthly_premium
from services.talent.service import TITLE_SERIES, required_hours

BLOCK = 4096
"""Residents drawn at a time. Part of what the values are: another block size draws another population."""

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
_BRANDS = [prefix[:2] for prefix in CompanyNames.company_prefixes]  # Faker's company_prefix(), two characters
_SERIES = list(TITLE_SERIES)
_SKILL_LEVELS = list(SKILL_LEVEL_WEIGHTS)
_SKILL_CUM = np.cumsum(np.array(list(SKILL_LEVEL_WEIGHTS.values()), dtype=np.float64))
_ENROLMENT_STATUSES = (EnrolmentStatus.ACTIVE, EnrolmentStatus.SUSPENDED, EnrolmentStatus.TERMINATED)
_FUND_STATUSES = (FundAccountStatus.NORMAL, FundAccountStatus.SEALED, FundAccountStatus.CLOSED)

# The draws' columns, one row per resident. The plan: gender, mover, two moves, the first and the second city
# left, born where lived first, the birth city, the district, career start (years, months), employee, two move
# months. The life: between jobs, how long, a closed account, titled, the series, spent share, withdrawn (whether,
# how much), loan (whether, how much), family name, given name, brand, industry, hospital or school number. The
# talent: certificates (whether, how many, two months, two days, two occupations, two levels), titles (the first
# award, three gaps, two days), hours (whether owed in full, how much, for each of three years).
_PLAN_DRAWS, _LIFE_DRAWS = 14, 15
_T_CERTIFICATE, _T_TITLE, _T_HOURS = 0, 10, 17
_TALENT_DRAWS = 23


def _rate(value: Any) -> tuple[int, int]:
    fraction = Fraction(str(value))
    if fraction < 0:
        raise ValueError(f"a negative rate {value}")
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
        if fund.min_base > fund.max_base:
            raise ValueError(f"{profile.name}: the 缴存基数 floor is above its ceiling")
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
    """``to_yuan(base * rate)`` of each base in 分: ``floor(x + 1/2)`` is half up for ``x >= 0``."""
    numerator, denominator = rate
    return (bases * (2 * numerator) + denominator) // (2 * denominator)


def _years(first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Calendar years ``first // 12 .. last // 12`` of each row, flattened: (row, year, row's offset, row's count)."""
    counts = last // 12 - first // 12 + 1
    owner = np.repeat(np.arange(len(first)), counts)
    offsets = np.cumsum(counts) - counts
    year = first[owner] // 12 + (np.arange(len(owner)) - offsets[owner])
    return owner, year, offsets, counts


def _paid(
    monthly: np.ndarray, offsets: np.ndarray, counts: np.ndarray, first: np.ndarray, last: np.ndarray
) -> np.ndarray:
    """Each row's sum over its months ``first..last`` of one amount per calendar year."""
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
    if not len(owner):
        return Runs([], [], [], tuple([] for _ in amounts))
    starts = np.nonzero(np.concatenate(([True], ~same)))[0]
    ends = np.append(starts[1:], len(owner)) - 1
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


def _stream_key(seed: int) -> int:
    """The seed as numpy's streams take it (non-negative): zig-zag, so that every int seed names its own streams."""
    return 2 * seed if seed >= 0 else -2 * seed - 1


@dataclass(frozen=True)
class BlockPlan:
    """A block's residents, every one, as far as can be known without the cities' records: arrays by resident."""

    index: np.ndarray
    male: np.ndarray
    district: np.ndarray
    day: np.ndarray
    sequence: np.ndarray
    check: np.ndarray
    employee: np.ndarray
    career_start: np.ndarray
    work_end: np.ndarray
    """The month the working life ends (retirement or now) for employees, -1 for the others."""
    lived: np.ndarray
    """``(residents, 3, 3)``: each stint's (city position, first month, last month), oldest first; -1 where none."""
    life: np.ndarray
    talent: np.ndarray
    earning_power: np.ndarray

    def names(self) -> list[str]:
        family = np.searchsorted(_FAMILY_CUM, self.life[:, 10] * _FAMILY_CUM[-1], side="right")
        given = np.where(self.male, self.life[:, 11] * len(_GIVEN_MALE), self.life[:, 11] * len(_GIVEN_FEMALE)).astype(
            np.int64
        )
        return [
            _FAMILY[f] + (_GIVEN_MALE[g] if m else _GIVEN_FEMALE[g])
            for f, g, m in zip(family.tolist(), given.tolist(), self.male.tolist(), strict=True)
        ]

    def id_numbers(self, districts: Sequence[str]) -> list[str]:
        return [
            districts[d] + _BIRTH_TEXT[b] + _SEQUENCE_TEXT[s] + _CHECK_CHARS[c]
            for d, b, s, c in zip(
                self.district.tolist(), self.day.tolist(), self.sequence.tolist(), self.check.tolist(), strict=True
            )
        ]

    def taken(self, rows: np.ndarray) -> BlockPlan:
        return BlockPlan(**{name: getattr(self, name)[rows] for name in self.__dataclass_fields__})


class Generator:
    """The generated residents of ``cities``, ``residents_per_city`` living in each, their histories ending in the
    last full month before ``as_of``."""

    def __init__(
        self,
        *,
        seed: int,
        residents_per_city: int,
        cities: Sequence[CityProfile],
        as_of: date,
        block_size: int = BLOCK,
    ) -> None:
        if residents_per_city < 0:
            raise ValueError("residents_per_city must not be negative")
        if block_size < 1:
            raise ValueError("the block size must be at least 1")
        self.seed = seed
        self.block_size = block_size
        self.residents_per_city = residents_per_city
        self.terms = [_Terms.of(position, profile) for position, profile in enumerate(cities)]
        self.last = last_full_month(as_of)
        self._key = _stream_key(seed)
        ids = IdSpace.for_seed(seed)
        if self.total > ids.size:
            raise ValueError(f"at most {ids.size} generated residents fit the ID space")
        self._multiplier, self._offset, self._size = ids.multiplier, ids.offset, ids.size
        self.districts = [code for profile in cities for code in profile.districts]
        self._district_sum = np.array([_weighted(code, _ID_WEIGHTS[:6]) for code in self.districts], dtype=np.int64)
        counts = [len(profile.districts) for profile in cities]
        self._district_first = np.array([sum(counts[:p]) for p in range(len(cities))], dtype=np.int64)
        self._district_count = np.array(counts, dtype=np.int64)
        self._plans: dict[int, BlockPlan] = {}

    @property
    def total(self) -> int:
        return len(self.terms) * self.residents_per_city

    def blocks(self, indexes: range | None = None) -> range:
        """The blocks' first indexes: all, or those holding some of ``indexes``."""
        if indexes is None or not len(indexes):
            return range(0, self.total, self.block_size) if indexes is None else range(0)
        first = max(indexes.start, 0) // self.block_size * self.block_size
        return range(first, min(indexes.stop, self.total), self.block_size)

    def position(self, city_code: str) -> int | None:
        for terms in self.terms:
            if terms.profile.code == city_code:
                return terms.position
        return None

    def plan(self, block: int) -> BlockPlan:
        """Every resident of the block starting at ``block``; the last few blocks asked for are remembered."""
        plan = self._plans.get(block)
        if plan is None:
            if len(self._plans) >= 4:
                self._plans.clear()
            plan = self._plans[block] = self._planned(block)
        return plan

    def _planned(self, block: int) -> BlockPlan:
        index = np.arange(block, min(block + self.block_size, self.total), dtype=np.int64)
        n, cities, last = len(index), len(self.terms), self.last
        draws = np.random.default_rng([self._key, block, 0]).random((n, _PLAN_DRAWS))
        life_stream = np.random.default_rng([self._key, block, 1])
        life = life_stream.random((n, _LIFE_DRAWS))
        earning_power = 0.85 * np.exp(life_stream.normal(0, 0.4, n))
        talent = np.random.default_rng([self._key, block, 2]).random((n, _TALENT_DRAWS))
        home = index // self.residents_per_city
        male = draws[:, 0] < 0.5
        mover = (draws[:, 1] < MOVER_SHARE) if cities > 1 else np.zeros(n, dtype=bool)
        two = mover & (draws[:, 2] < 0.25) if cities > 2 else np.zeros(n, dtype=bool)
        # The cities left: two different ones, neither the home city.
        earliest_shift = 1 + (draws[:, 3] * max(cities - 1, 1)).astype(np.int64)
        middle_shift = 1 + (draws[:, 4] * max(cities - 2, 1)).astype(np.int64)
        middle_shift += middle_shift >= earliest_shift
        earliest_city, middle_city = (home + earliest_shift) % cities, (home + middle_shift) % cities
        first_city = np.where(mover, earliest_city, home)
        born = np.where(draws[:, 5] < 0.8, first_city, (draws[:, 6] * cities).astype(np.int64))
        district = self._district_first[born] + (draws[:, 7] * self._district_count[born]).astype(np.int64)
        position = (self._multiplier * index + self._offset) % self._size
        day = position // GENERATED_SEQUENCE_SLOTS
        sequence = 2 * (position % GENERATED_SEQUENCE_SLOTS + 1) + male
        check = (self._district_sum[district] + _BIRTH_SUM[day] + _SEQUENCE_SUM[sequence]) % 11
        birth_month = _BIRTH_MONTH[day]
        career_start = (
            birth_month + 12 * (18 + (draws[:, 8] * 7).astype(np.int64)) + (draws[:, 9] * 12).astype(np.int64)
        )
        retirement = birth_month + 12 * np.where(male, 60, 55)
        employee = (career_start <= last - 12) & (draws[:, 10] < np.where(birth_month < 1965 * 12, 0.55, 0.75))
        work_end = np.where(employee, np.minimum(retirement - 1, last), -1)
        first = np.where(employee, career_start, birth_month + 12 * 18)
        window_end = np.where(employee, work_end, last)
        # Moves between MOVES_FROM and the window's end, a year apart; dropped when a life has no room for them.
        moves = np.where(two, 2, np.where(mover, 1, 0))
        earliest = np.maximum(first, MOVES_FROM) + 12
        room = window_end - 12 - earliest - 12 * np.maximum(moves - 1, 0)
        moves = np.where(room < 0, 0, moves)
        span = np.maximum(room + 1, 1)
        one, other = (
            earliest + (draws[:, 11] * span).astype(np.int64),
            earliest + (draws[:, 12] * span).astype(np.int64),
        )
        move1 = np.where(moves == 1, one, np.minimum(one, other))
        move2 = np.maximum(one, other) + 12
        now = np.full(n, last, dtype=np.int64)
        lived = np.full((n, 3, 3), -1, dtype=np.int64)
        stays = moves == 0
        lived[:, 0] = np.stack([np.where(stays, home, earliest_city), first, np.where(stays, now, move1 - 1)], axis=1)
        lived[moves == 1, 1] = np.stack([home, move1, now], axis=1)[moves == 1]
        lived[moves == 2, 1] = np.stack([middle_city, move1, move2 - 1], axis=1)[moves == 2]
        lived[moves == 2, 2] = np.stack([home, move2, now], axis=1)[moves == 2]
        return BlockPlan(
            index=index,
            male=male,
            district=district,
            day=day,
            sequence=sequence,
            check=check,
            employee=employee,
            career_start=career_start,
            work_end=work_end,
            lived=lived,
            life=life,
            talent=talent,
            earning_power=earning_power,
        )

    def lived_in(self, index: int) -> list[int]:
        """The positions of the cities resident ``index`` lived in, oldest first."""
        block = index // self.block_size * self.block_size
        return [city for city in self.plan(block).lived[index - block, :, 0].tolist() if city >= 0]

    def people(self, block: int) -> tuple[list[str], list[str], list[Gender]]:
        """ID numbers, names and genders of every resident of the block."""
        plan = self.plan(block)
        genders = [Gender.MALE if m else Gender.FEMALE for m in plan.male.tolist()]
        return plan.id_numbers(self.districts), plan.names(), genders

    def columns(self, block: int, city: int, indexes: range | None = None) -> CityColumns:
        """The persons city ``city`` (a position) holds among the block's residents (only ``indexes``, if given)."""
        plan = self.plan(block)
        held = (plan.lived[:, :, 0] == city).any(axis=1)
        if indexes is not None:
            if indexes.step < 1:
                raise ValueError("indexes must run upwards")
            index = plan.index
            held &= (index >= indexes.start) & (index < indexes.stop) & ((index - indexes.start) % indexes.step == 0)
        return self._columns(plan.taken(np.nonzero(held)[0]), self.terms[city])

    def _columns(self, plan: BlockPlan, terms: _Terms) -> CityColumns:
        n, last, life, employee = len(plan.index), self.last, plan.life, plan.employee
        stint = np.argmax(plan.lived[:, :, 0] == terms.position, axis=1)
        rows = np.arange(n)
        start, end = plan.lived[rows, stint, 1], plan.lived[rows, stint, 2]
        current = end == last
        work_end = np.where(employee, np.minimum(end, plan.work_end), -1)
        between_jobs = employee & current & (work_end == last) & (life[:, 0] < 0.04)
        work_end = work_end - np.where(between_jobs, 1 + (life[:, 1] * 6).astype(np.int64), 0)
        # Earlier stints paid less: the wage is walked back over the years since the stint's work ended.
        wage = np.round(terms.average_wage * plan.earning_power / _GROWTH[np.clip((last - work_end) // 12, 0, 99)])
        retired = employee & (plan.work_end < last) & (work_end == plan.work_end)
        laid_off = employee & ~retired & (work_end < last)
        # Leaving a city ends its cover and seals its fund account; retired employees keep 职工医保 and mostly close
        # the account; between jobs, cover is suspended and the account sealed.
        enrolment_status = np.where(~current, 2, np.where(laid_off, 1, 0))
        account_status = np.where(~current, 1, np.where(retired, np.where(life[:, 2] < 0.7, 2, 1), laid_off * 1))
        serial = plan.index + PERSONA_SERIALS
        title = employee & (life[:, 3] < 0.27)
        series = (life[:, 4] * len(_SERIES)).astype(np.int64)

        # 医保: 职工 contributions while employed, 城乡居民 premiums otherwise.
        medical_first = np.maximum(start, np.where(employee, EMPLOYEE_MEDICAL_FROM, RESIDENT_MEDICAL_FROM))
        medical_last = np.where(employee, work_end, end)
        paying = np.nonzero(employee & (medical_first <= medical_last))[0]
        first, last_paid = medical_first[paying], medical_last[paying]
        owner, year, offsets, counts = _years(first, last_paid)
        walked_back = _GROWTH[(work_end[paying] // 12)[owner] - year]
        bases = np.round(wage[paying][owner] / walked_back).astype(np.int64) * 100
        personal = _on(bases, terms.medical_personal)
        # Only 职工医保 keeps a personal account (个人账户), fed by the personal contributions, partly spent.
        balance = np.zeros(n, dtype=np.int64)
        balance[paying] = _kept(_paid(personal, offsets, counts, first, last_paid), 0.2 + 0.65 * life[paying, 5])
        runs, run_first, run_last, run_amounts = _stored(
            first, last_paid, owner, year, [bases, _on(bases, terms.medical_employer), personal]
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
        first, last_paid = fund_first[accounts][funded], work_end[accounts][funded]
        owner, year, offsets, counts = _years(first, last_paid)
        walked_back = _GROWTH[(last_paid // 12)[owner] - year]
        wages = np.round(wage[accounts][funded][owner] / walked_back).astype(np.int64) * 100
        fund_bases = np.clip(wages, terms.fund_floor, terms.fund_ceiling)
        employer_part, personal_part = _on(fund_bases, terms.fund_employer), _on(fund_bases, terms.fund_personal)
        both = employer_part + personal_part
        latest = offsets + counts - 1
        base, monthly, paid = (np.zeros(len(accounts), dtype=np.int64) for _ in range(3))
        if len(funded):
            base[funded], monthly[funded] = fund_bases[latest], both[latest]
            paid[funded] = _paid(both, offsets, counts, first, last_paid)
        status = account_status[accounts]
        # Most accounts were never touched; the rest paid rent or a down payment. 销户 follows a full withdrawal.
        withdrawn = np.where(life[accounts, 6] < 0.45, 0.0, 0.2 + 0.7 * life[accounts, 7])
        fund_balance = np.where(status == 2, 0, _kept(paid, withdrawn))
        loan = np.where(life[accounts, 8] < LOAN_SHARE, (500 + (life[accounts, 9] * 5500).astype(np.int64)) * 10_000, 0)
        loan = np.where(status == 2, 0, loan)
        runs, run_first, run_last, run_amounts = _stored(first, last_paid, owner, year, [employer_part, personal_part])
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
        certificates, titles, hours = self._talent(plan, terms, serial, title, series)
        return CityColumns(
            city=terms.profile,
            serial=serial.tolist(),
            id_number=plan.id_numbers(self.districts),
            name=plan.names(),
            gender=[Gender.MALE if m else Gender.FEMALE for m in plan.male.tolist()],
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
        self, plan: BlockPlan, terms: _Terms, serial: np.ndarray, title: np.ndarray, series: np.ndarray
    ) -> tuple[list[Certificate], list[Title], list[Hours]]:
        """Skill certificates, titles and continuing-education hours: drawn over the whole life, so that every city
        a resident lived in agrees on them, and kept where they fall in this city. A minority, person by person."""
        city, last, talent = terms.position, self.last, plan.talent
        prefix = terms.profile.talent.certificate_prefix
        certificates: list[Certificate] = []
        titles: list[Title] = []
        hours: list[Hours] = []
        last_full_year = (last + 1) // 12 - 1
        for i in np.nonzero((talent[:, _T_CERTIFICATE] < 0.3) | title)[0].tolist():
            t = talent[i].tolist()
            lived = [tuple(stint) for stint in plan.lived[i].tolist() if stint[0] >= 0]
            if t[_T_CERTIFICATE] < 0.3:
                first = max(lived[0][1], SKILL_CERTIFICATES_FROM)
                held: list[tuple[Day, int, int]] = []
                for number in range(1, 2 if t[_T_CERTIFICATE + 1] < 0.75 else 3):
                    if first > last:
                        break
                    month = first + int(t[_T_CERTIFICATE + 1 + number] * (last - first + 1))
                    if _city_at(lived, month) == city:
                        held.append(((month, 1 + int(t[_T_CERTIFICATE + 3 + number] * 28)), number, month))
                for seq, (issued, number, month) in enumerate(sorted(held)):
                    occupation = SKILL_OCCUPATIONS[int(t[_T_CERTIFICATE + 5 + number] * len(SKILL_OCCUPATIONS))]
                    level = _SKILL_LEVELS[_weighted_pick(_SKILL_CUM, t[_T_CERTIFICATE + 7 + number])]
                    number_text = f"{prefix}{month // 12}JN{int(serial[i]):08d}{number:02d}"
                    certificates.append(Certificate(i, seq, number_text, occupation, level, issued))
            if not title[i]:
                continue
            kind = _SERIES[int(series[i])]
            work_end = int(plan.work_end[i])
            award, awarded, seq = int(plan.career_start[i]) + 12 + int(t[_T_TITLE] * 25), 0, 0
            for number, grade in enumerate(TITLE_GRADES, start=1):
                where = _city_at(lived, award)
                if award > work_end or where is None:
                    break
                if where == city:
                    number_text = f"{prefix}{award // 12}ZC{int(serial[i]):08d}{number:02d}"
                    awarded_on = (award, 1 + int(t[_T_TITLE + 5 + number % 2] * 28))
                    titles.append(Title(i, seq, number_text, kind, TITLE_SERIES[kind][grade.value], grade, awarded_on))
                    seq += 1
                awarded += 1
                award += 48 + int(t[_T_TITLE + number] * 49)
            if not awarded:
                continue
            for position, year in enumerate(range(last_full_year - 2, last_full_year + 1)):
                if year * 12 > work_end:
                    continue  # retired: no hours are owed
                spent: dict[int, int] = {}
                for where, since, to in lived:
                    if since <= year * 12 + 11 and to >= year * 12:
                        spent[where] = spent.get(where, 0) + min(to, year * 12 + 11) - max(since, year * 12) + 1
                if city not in spent:
                    continue
                # Hours are owed to the city lived in longest that year, and split between the cities by months.
                needed = self.terms[max(spent, key=lambda where: spent[where])].required_hours
                draw = t[_T_HOURS + 3 + position]
                total = needed + int(draw * 25) if t[_T_HOURS + position] < 0.7 else round(needed * (0.3 + 0.65 * draw))
                hours.append(Hours(i, year, round(total * spent[city] / 12), terms.required_hours))
        return certificates, titles, hours

"""The synthetic population of the cities: deterministic from a seed, generated lazily, one resident at a time.

Every resident's whole multi-city life is drawn from random streams seeded by ``(seed, index)`` alone, so
one city can be seeded by walking all residents and keeping those who touch it, without ever holding the
population in memory. Residents are generated in two steps: a cheap *plan* (who, born where, which cities
when) and, only for residents a caller needs, the full records (names, employers, histories).

Money follows the cities' own rules (the ``services`` calculations); amounts are yuan with two decimals.
Months are handled as integer indexes (``year * 12 + month - 1``) so that spans are plain ranges.

Seeding generates residents by the hundred thousand, so the generator takes a few shortcuts that change no
value (tests/mock_cities/test_population.py holds each to the plain way): a career's yearly amounts are computed
in integer 分 (:class:`_Rate`), histories leave as runs of equal months, the canonical models of generated
records are built without validation (:func:`_trusted`), and names are drawn as Faker draws them without going
through Faker (:meth:`Population._name`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import accumulate
from typing import Any, NamedTuple, TypeVar

from faker.providers.company.zh_CN import Provider as CompanyNames
from faker.providers.person.zh_CN import Provider as PersonNames
from pydantic import BaseModel

from mock_cities.dialects import CompactRecords, MonthlyRun, contributions_of, deposits_of
from mock_cities.profiles import CityProfile
from schemas.cities import CityRef
from schemas.idcard import make_id_number
from schemas.medical_insurance import (
    Enrolment,
    EnrolmentStatus,
    InsuranceType,
    MedicalInsuranceRecord,
)
from schemas.money import fen_to_yuan, to_yuan, yuan_to_fen
from schemas.provident_fund import FundAccount, FundAccountStatus, ProvidentFundRecord
from schemas.records import Gender, Person, PersonRecords
from schemas.talent import ContinuingEducationYear, ProfessionalTitle, SkillCertificate, TalentRecord, TitleGrade
from services.medical_insurance.service import resident_monthly_premium
from services.talent.service import TITLE_SERIES, required_hours

DEMO_AS_OF = date(2026, 10, 31)
"""Histories end in the last full month before this date; a fixed date keeps the seed deterministic."""

STORED_MONTHS = 60
"""Monthly history a city keeps online; older months only count towards the totals."""

MOVER_SHARE = 0.36
"""Drawn a little above the target 35%: the youngest residents have not lived long enough to move."""

# The national schemes began at different times; a city holds no history from before its scheme existed.
EMPLOYEE_MEDICAL_FROM = 2000 * 12
FUND_FROM = 1999 * 12
RESIDENT_MEDICAL_FROM = 2008 * 12
MOVES_FROM = 2001 * 12
SKILL_CERTIFICATES_FROM = 2006 * 12

WAGE_GROWTH = 1.065
"""Yearly nominal wage growth, used to walk a wage back in time."""

BIRTH_FIRST = date(1955, 1, 1)
BIRTH_LAST = date(2004, 12, 31)
GENERATED_SEQUENCE_SLOTS = 449
"""ID sequences 002..899 (two per slot, one per gender) go to generated residents; 900..999 to personas."""

PERSONA_SERIALS = 1000
"""Local numbers below this serial belong to personas; generated residents use index + this."""

SKILL_OCCUPATIONS = (
    "电工",
    "焊工",
    "数控车工",
    "育婴员",
    "养老护理员",
    "中式烹调师",
    "汽车维修工",
    "电子商务师",
    "保育师",
    "美发师",
    "钳工",
    "电梯安装维修工",
    "工业机器人系统运维员",
    "健康管理师",
)
SKILL_LEVEL_WEIGHTS = {5: 20, 4: 35, 3: 30, 2: 10, 1: 5}
_SKILL_LEVELS = tuple(SKILL_LEVEL_WEIGHTS)
_SKILL_LEVEL_CUM_WEIGHTS = list(accumulate(SKILL_LEVEL_WEIGHTS.values()))  # what choices(weights=) sums each call
INDUSTRIES = ("机械制造", "电子科技", "物流", "建设工程", "医药", "食品", "新材料", "软件", "商贸", "汽车零部件")
TITLE_GRADES = (
    TitleGrade.JUNIOR,
    TitleGrade.INTERMEDIATE,
    TitleGrade.ASSOCIATE_SENIOR,
    TitleGrade.SENIOR,
)
_TITLE_SERIES = tuple(TITLE_SERIES)

# Faker's zh_CN tables, drawn from as Faker draws (see Population._name); the weights summed once.
_GIVEN_NAMES_MALE: list[str] = PersonNames.first_names_male
_GIVEN_NAMES_FEMALE: list[str] = PersonNames.first_names_female
_FAMILY_NAMES = tuple(PersonNames.last_names)
_FAMILY_NAME_WEIGHTS = list(accumulate(PersonNames.last_names.values()))
_COMPANY_PREFIXES: list[str] = CompanyNames.company_prefixes


ModelT = TypeVar("ModelT", bound=BaseModel)


def _trusted(model: type[ModelT], **values: Any) -> ModelT:
    """``model.model_construct(**values)`` for values that name every field and are valid by construction.

    A resident's records are half a dozen models; model_construct looks each field up under its aliases and
    fills defaults, which costs twice what setting the instance up does when every field is given. The instance
    is set up as model_construct sets it up (the state pydantic pickles); tests/mock_cities/test_population.py
    compares the two.
    """
    instance = model.__new__(model)
    instance.__setstate__(
        {
            "__dict__": values,
            "__pydantic_fields_set__": set(values),
            "__pydantic_extra__": None,
            "__pydantic_private__": None,
        }
    )
    return instance


# --- randomness and months ---------------------------------------------------------------------------


def _stream(*key: object) -> random.Random:
    """An independent random stream named by ``key``; str seeds hash the same in every process."""
    return random.Random(":".join(map(str, key)))  # noqa: S311 - synthetic data, not secrets


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def last_full_month(as_of: date) -> int:
    """The month histories end in: ``as_of``'s own month only once it is over."""
    month = month_index(as_of)
    return month if (as_of + timedelta(days=1)).day == 1 else month - 1


# --- stints: the building block shared with the personas ---------------------------------------------------


@dataclass(frozen=True)
class Stint:
    """A period of living in one city (month indexes, both ends included), and of working there for employees.

    ``wage`` is the monthly wage in the last year worked; earlier years walk it back by :data:`WAGE_GROWTH`.
    """

    city: CityProfile
    start: int
    end: int
    employer: str | None = None
    work_end: int | None = None
    wage: Decimal = Decimal(0)

    @property
    def employed(self) -> bool:
        return self.employer is not None and self.work_end is not None

    def wage_in(self, year: int) -> Decimal:
        last_year = (self.work_end if self.work_end is not None else self.end) // 12
        return Decimal(round(float(self.wage) / _growth(last_year - year)))

    def wages(self, first: int, last: int) -> list[int]:
        """:meth:`wage_in` of each calendar year from ``first``'s to ``last``'s (month indexes), in whole yuan."""
        wage = float(self.wage)
        last_year = (self.work_end if self.work_end is not None else self.end) // 12
        back, back_to = last_year - first // 12, last_year - last // 12
        if back_to >= 0 and back_to <= back < len(_GROWTH):  # a working life: the growth factors are all in the table
            return [round(wage / growth) for growth in _GROWTH[back : (back_to - 1 if back_to else None) : -1]]
        return [round(wage / _growth(last_year - year)) for year in range(first // 12, last // 12 + 1)]


_GROWTH = tuple(WAGE_GROWTH**years for years in range(100))


def _growth(years: int) -> float:
    """``WAGE_GROWTH ** years``, the same float, looked up for the span of a working life."""
    return _GROWTH[years] if 0 <= years < len(_GROWTH) else WAGE_GROWTH**years


def local_person_no(city: CityProfile, serial: int) -> str:
    return f"{city.local_no_prefix}{serial:010d}"


def local_account_no(city: CityProfile, serial: int) -> str:
    return f"{city.local_no_prefix}GJ{serial:010d}"


# --- money in whole 分 --------------------------------------------------------------------------------------
#
# A history's totals add up every year of a working life (up to forty), and the stored runs carry 分 too
# (:class:`~mock_cities.dialects.MonthlyRun`): the years' amounts are computed in integers, list by list, with
# each city's rates as exact fractions and rounded as the services' calculations round (``to_yuan``: 分, half
# up). Only the account figures become Decimal yuan. tests/mock_cities/test_population.py checks the integers
# against the services.

_ZERO = Decimal("0.00")


class _Rate(NamedTuple):
    """A rate as an exact fraction ``numerator / denominator``."""

    numerator: int
    denominator: int

    @classmethod
    def of(cls, rate: Decimal) -> _Rate:
        numerator, denominator = rate.as_integer_ratio()
        if numerator < 0:
            raise ValueError(f"a negative rate {rate}")
        return cls(numerator, denominator)

    def on(self, bases: list[int]) -> list[int]:
        """``to_yuan(base * rate)`` of each base, all in 分: ``floor(x + 1/2)`` is half up for ``x >= 0``."""
        twice_numerator, denominator, twice_denominator = 2 * self.numerator, self.denominator, 2 * self.denominator
        return [(base * twice_numerator + denominator) // twice_denominator for base in bases]


@dataclass(frozen=True)
class _CityTerms:
    """What the generator needs of a city's profile, worked out once per profile."""

    ref: CityRef
    medical_employer: _Rate
    medical_personal: _Rate
    resident_premium: int
    """分 a month."""
    fund_employer: _Rate
    fund_personal: _Rate
    fund_lowest_wage: int
    """Whole-yuan wages below this are raised to the 缴存基数 floor …"""
    fund_floor: int
    fund_highest_wage: int
    """… and above this lowered to its ceiling (分)."""
    fund_ceiling: int

    @classmethod
    def of(cls, city: CityProfile) -> _CityTerms:
        medical, fund = city.medical_insurance, city.provident_fund
        if fund.min_base > fund.max_base:
            raise ValueError(f"{city.name}: the 缴存基数 floor is above its ceiling")
        return cls(
            ref=city.ref,
            medical_employer=_Rate.of(medical.employer_rate),
            medical_personal=_Rate.of(medical.personal_rate),
            resident_premium=yuan_to_fen(resident_monthly_premium(rules=medical)),
            fund_employer=_Rate.of(fund.employer_rate),
            fund_personal=_Rate.of(fund.personal_rate),
            fund_lowest_wage=math.ceil(fund.min_base),
            fund_floor=yuan_to_fen(fund.min_base),
            fund_highest_wage=math.floor(fund.max_base),
            fund_ceiling=yuan_to_fen(fund.max_base),
        )

    def fund_bases(self, wages: list[int]) -> list[int]:
        """:func:`~services.provident_fund.service.deposit_base` of each whole-yuan wage, in 分."""
        lowest, floor, highest, ceiling = (
            self.fund_lowest_wage,
            self.fund_floor,
            self.fund_highest_wage,
            self.fund_ceiling,
        )
        return [floor if wage < lowest else ceiling if wage > highest else wage * 100 for wage in wages]


_TERMS: dict[int, tuple[CityProfile, _CityTerms]] = {}


def _terms(city: CityProfile) -> _CityTerms:
    # Keyed by identity: profiles are not hashable, and holding the profile keeps its id from being reused.
    held = _TERMS.get(id(city))
    if held is None or held[0] is not city:
        held = _TERMS[id(city)] = (city, _CityTerms.of(city))
    return held[1]


_yuan = lru_cache(maxsize=1 << 14)(fen_to_yuan)
"""Account amounts recur across residents (the same bases and rates): each is made a Decimal once."""


def _paid(monthly: list[int], first: int, last: int) -> int:
    """The sum over months ``first..last`` of ``monthly``, one amount per calendar year from ``first``'s."""
    return 12 * sum(monthly) - monthly[0] * (first % 12) - monthly[-1] * (11 - last % 12)


def _stored_runs(first: int, last: int, *yearly: list[int]) -> list[MonthlyRun]:
    """The runs of the months a city keeps online (the last :data:`STORED_MONTHS` of ``first..last``): one per
    calendar year, with that year's amounts from the ``yearly`` lists (one entry per year from ``first``'s)."""
    stored_from = max(first, last - STORED_MONTHS + 1)
    skipped = stored_from // 12 - first // 12
    years = range(stored_from // 12, last // 12 + 1)
    return [
        (max(year * 12, stored_from), min(year * 12 + 11, last), amounts)
        for year, amounts in zip(years, zip(*(amounts[skipped:] for amounts in yearly), strict=True), strict=True)
    ]


# --- medical insurance -------------------------------------------------------------------------------------


def medical_record(stint: Stint, *, serial: int, status: EnrolmentStatus, spent_share: float) -> MedicalInsuranceRecord:
    """One city's 医保 record over a stint: 职工 contributions while employed, 城乡居民 premiums otherwise.

    ``spent_share`` is the part of the personal-account credits spent on outpatient care and pharmacies.
    """
    enrolment, runs = medical_history(stint, serial=serial, status=status, spent_share=spent_share)
    return MedicalInsuranceRecord(enrolment=enrolment, contributions=contributions_of(runs))


def medical_history(
    stint: Stint, *, serial: int, status: EnrolmentStatus, spent_share: float
) -> tuple[Enrolment, tuple[MonthlyRun, ...]]:
    """:func:`medical_record` with the stored contributions as runs of equal months (a run per year)."""
    terms = _terms(stint.city)
    if stint.employed:
        assert stint.work_end is not None
        first, last = max(stint.start, EMPLOYEE_MEDICAL_FROM), stint.work_end
    else:
        first, last = max(stint.start, RESIDENT_MEDICAL_FROM), stint.end
    runs: list[MonthlyRun] = []
    balance = _ZERO
    if first > last:
        pass  # enrolled too late to have paid
    elif stint.employed:
        bases = [wage * 100 for wage in stint.wages(first, last)]
        personal = terms.medical_personal.on(bases)
        runs = _stored_runs(first, last, bases, terms.medical_employer.on(bases), personal)
        # Only 职工医保 keeps a personal account (个人账户), fed by the personal contributions.
        credits = _paid(personal, first, last)
        balance = to_yuan(fen_to_yuan(credits) * Decimal(str(round(1 - spent_share, 4))))
    else:
        # 城乡居民 pay a flat premium and have no 缴费基数 or employer share.
        runs = [(max(first, last - STORED_MONTHS + 1), last, (0, 0, terms.resident_premium))]
    # Built without validation: every value is of its field's type and within its rules by construction.
    enrolment = _trusted(
        Enrolment,
        local_person_no=local_person_no(stint.city, serial),
        insurance_type=InsuranceType.EMPLOYEE if stint.employed else InsuranceType.RESIDENT,
        status=status,
        since=month_start(first),
        contribution_months=max(0, last - first + 1),
        account_balance=balance,
        employer=stint.employer if stint.employed else None,
    )
    return enrolment, tuple(runs)


# --- provident fund ----------------------------------------------------------------------------------------


def fund_record(
    stint: Stint,
    *,
    serial: int,
    status: FundAccountStatus,
    withdrawn_share: float,
    outstanding_loan: Decimal = _ZERO,
) -> ProvidentFundRecord | None:
    """One city's 公积金 account over a stint (employees only); ``withdrawn_share`` went to rent or a home."""
    history = fund_history(
        stint, serial=serial, status=status, withdrawn_share=withdrawn_share, outstanding_loan=outstanding_loan
    )
    if history is None:
        return None
    account, runs = history
    return ProvidentFundRecord(account=account, deposits=deposits_of(runs))


def fund_history(
    stint: Stint,
    *,
    serial: int,
    status: FundAccountStatus,
    withdrawn_share: float,
    outstanding_loan: Decimal = _ZERO,
) -> tuple[FundAccount, tuple[MonthlyRun, ...]] | None:
    """:func:`fund_record` with the stored deposits as runs of equal months (a run per year)."""
    if not stint.employed:
        return None
    assert stint.work_end is not None and stint.employer is not None
    terms = _terms(stint.city)
    first, last = max(stint.start, FUND_FROM), stint.work_end
    runs: list[MonthlyRun] = []
    total = base = monthly = 0  # 分
    if first <= last:
        bases = terms.fund_bases(stint.wages(first, last))
        employer, personal = terms.fund_employer.on(bases), terms.fund_personal.on(bases)
        runs = _stored_runs(first, last, employer, personal)
        both = [e + p for e, p in zip(employer, personal, strict=True)]
        total, base, monthly = _paid(both, first, last), bases[-1], both[-1]
    if status is FundAccountStatus.CLOSED:
        balance = _ZERO  # 销户 follows a full withdrawal
    else:
        balance = to_yuan(fen_to_yuan(total) * Decimal(str(round(1 - withdrawn_share, 4))))
    account = _trusted(
        FundAccount,
        account_no=local_account_no(stint.city, serial),
        status=status,
        employer=stint.employer,
        opened_on=month_start(first),
        deposit_base=_yuan(base),
        monthly_deposit=_yuan(monthly),
        balance=balance,
        deposit_months=max(0, last - first + 1),
        outstanding_loan=outstanding_loan if status in (FundAccountStatus.NORMAL, FundAccountStatus.SEALED) else _ZERO,
    )
    return account, tuple(runs)


LOAN_SHARE = 0.12
"""Share of fund accounts with an unpaid 公积金 loan (贷款余额)."""


def outstanding_loan(seed: int, index: int, city_code: str) -> Decimal:
    """Drawn from a stream of its own, so that adding loans left every other draw as it was."""
    rng = _stream(seed, index, "loan", city_code)
    if rng.random() >= LOAN_SHARE:
        return Decimal("0.00")
    return to_yuan(Decimal(rng.randrange(50_000, 600_000, 100)))


# --- talent ------------------------------------------------------------------------------------------------


def skill_certificate(
    city: CityProfile, *, serial: int, number: int, occupation: str, level: int, issued_on: date
) -> SkillCertificate:
    return SkillCertificate(
        certificate_no=f"{city.talent.certificate_prefix}{issued_on.year}JN{serial:08d}{number:02d}",
        occupation=occupation,
        level=level,
        issued_on=issued_on,
        issuer=city.talent.evaluation_body,
    )


def professional_title(
    city: CityProfile, *, serial: int, number: int, series: str, grade: TitleGrade, awarded_on: date
) -> ProfessionalTitle:
    return ProfessionalTitle(
        certificate_no=f"{city.talent.certificate_prefix}{awarded_on.year}ZC{serial:08d}{number:02d}",
        series=series,
        title=TITLE_SERIES[series][grade.value],
        grade=grade,
        awarded_on=awarded_on,
    )


def continuing_education(city: CityProfile, *, year: int, hours: int) -> ContinuingEducationYear:
    return ContinuingEducationYear(year=year, hours=hours, required_hours=required_hours(rules=city.talent))


@dataclass
class TalentParts:
    """One city's talent record while it is being assembled."""

    skill_certificates: list[SkillCertificate] = field(default_factory=list)
    titles: list[ProfessionalTitle] = field(default_factory=list)
    continuing_education: list[ContinuingEducationYear] = field(default_factory=list)

    def record(self) -> TalentRecord:
        return _trusted(
            TalentRecord,
            skill_certificates=sorted(self.skill_certificates, key=lambda c: c.issued_on),
            titles=sorted(self.titles, key=lambda t: t.awarded_on),
            continuing_education=sorted(self.continuing_education, key=lambda y: y.year),
        )


# --- generated residents -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Span:
    city: CityProfile
    start: int
    end: int


@dataclass(slots=True)
class _Plan:
    """What can be known about a resident without names or money: enough to tell which cities they touch."""

    index: int
    id_number: str
    gender: Gender
    birth: date
    employee: bool
    career_start: int
    work_end: int
    spans: tuple[_Span, ...]

    @property
    def city_codes(self) -> frozenset[str]:
        return frozenset(span.city.code for span in self.spans)


@dataclass(frozen=True)
class _IdSpace:
    """A bijection from resident index to (birth date, sequence slot), so generated ID numbers never repeat."""

    multiplier: int
    offset: int
    days: int

    @property
    def size(self) -> int:
        return self.days * GENERATED_SEQUENCE_SLOTS

    @classmethod
    def for_seed(cls, seed: int) -> _IdSpace:
        rng = _stream(seed, "id-space")
        days = (BIRTH_LAST - BIRTH_FIRST).days + 1
        size = days * GENERATED_SEQUENCE_SLOTS
        multiplier = rng.randrange(size // 3, size)
        while math.gcd(multiplier, size) != 1:
            multiplier += 1
        return cls(multiplier=multiplier, offset=rng.randrange(size), days=days)

    def id_number(self, index: int, *, region: str, gender: Gender) -> tuple[str, date]:
        position = (self.multiplier * index + self.offset) % self.size
        birth = BIRTH_FIRST + timedelta(days=position // GENERATED_SEQUENCE_SLOTS)
        slot = position % GENERATED_SEQUENCE_SLOTS + 1
        sequence = 2 * slot + (1 if gender is Gender.MALE else 0)
        return make_id_number(region, birth, sequence), birth


def _retirement_age(gender: Gender) -> int:
    return 60 if gender is Gender.MALE else 55


def _split_spans(
    rng: random.Random, cities: Sequence[CityProfile], first: int, last: int, move_window_end: int
) -> tuple[_Span, ...]:
    """The home city is ``cities[-1]``; moves fall between MOVES_FROM and ``move_window_end``, a year apart."""
    earliest_move = max(first, MOVES_FROM) + 12
    latest_move = move_window_end - 12
    moves = len(cities) - 1
    if moves == 0 or latest_move - earliest_move < 12 * (moves - 1):
        return (_Span(cities[-1], first, last),)
    # Spread draws over a range shortened by the gaps, then reinsert the gaps: a year between moves, always.
    draws = sorted(rng.randint(earliest_move, latest_move - 12 * (moves - 1)) for _ in range(moves))
    points = [draw + 12 * position for position, draw in enumerate(draws)]
    starts = [first, *points]
    ends = [p - 1 for p in points] + [last]
    return tuple(_Span(city, s, e) for city, s, e in zip(cities, starts, ends, strict=True))


class Population:
    """The residents of ``cities`` (``residents_per_city`` living in each) plus the demo personas."""

    def __init__(self, *, seed: int, residents_per_city: int, cities: Sequence[CityProfile], as_of: date) -> None:
        self.seed = seed
        self.residents_per_city = residents_per_city
        self.cities: list[CityProfile] = list(cities)
        self.as_of = as_of
        self._last_month = last_full_month(as_of)
        self._ids = _IdSpace.for_seed(seed)
        if self._generated_count > self._ids.size:
            raise ValueError(f"at most {self._ids.size} generated residents fit the ID space")

    @property
    def _generated_count(self) -> int:
        return self.residents_per_city * len(self.cities)

    # The personas build on this module's helpers, so they are imported where used, not at the top.

    def person_count(self) -> int:
        from mock_cities.personas import PERSONAS

        return self._generated_count + len(PERSONAS)

    def people(self) -> Iterator[Person]:
        """Every resident, personas first."""
        from mock_cities.personas import PERSONAS

        for persona in PERSONAS:
            yield Person(id_number=persona.id_number, name=persona.name, gender=persona.gender)
        for index in range(self._generated_count):
            plan = self._plan(index)
            yield _trusted(Person, id_number=plan.id_number, name=self._name(plan)[0], gender=plan.gender)

    def records_for(self, city_code: str) -> Iterator[PersonRecords]:
        """Canonical records of every resident ``city_code`` holds something on, personas first."""
        for compact in self.compact_records_for(city_code):
            yield compact.expanded()

    def compact_records_for(self, city_code: str) -> Iterator[CompactRecords]:
        """:meth:`records_for` with the monthly histories as runs: what seeding writes, at a fraction of the cost."""
        yield from self.persona_records_for(city_code)
        yield from self.generated_records_for(city_code, range(self.generated_count))

    @property
    def generated_count(self) -> int:
        """Generated residents (indexes ``0..generated_count - 1``), personas not counted."""
        return self._generated_count

    def persona_records_for(self, city_code: str) -> Iterator[CompactRecords]:
        """The personas' part of :meth:`compact_records_for`."""
        from mock_cities.personas import PERSONAS, persona_records

        for persona in PERSONAS:
            held = persona_records(persona.key, self.cities, self.as_of)
            if city_code in held:
                yield CompactRecords.of(held[city_code])

    def generated_records_for(self, city_code: str, indexes: range) -> Iterator[CompactRecords]:
        """The generated residents' part of :meth:`compact_records_for`, for ``indexes`` only.

        Each resident depends on ``(seed, index)`` alone, so slices can be generated apart, even in
        other processes, and put together in index order.
        """
        for index in indexes:
            plan = self._plan_in(index, city_code)
            if plan is not None:
                yield self._compact_records(plan, only=city_code)[city_code]

    def all_records(self, index: int) -> dict[str, PersonRecords]:
        """Every city's records on generated resident ``index``, by city code."""
        return {code: compact.expanded() for code, compact in self._compact_records(self._plan(index)).items()}

    # --- the plan ---

    def _lived(self, rng: random.Random, index: int) -> tuple[Gender, list[CityProfile]]:
        """The first draws of a plan: gender, and the cities lived in, the home city last."""
        home = self.cities[index // self.residents_per_city]
        gender = Gender.MALE if rng.random() < 0.5 else Gender.FEMALE
        others = [c for c in self.cities if c.code != home.code]
        mover = bool(others) and rng.random() < MOVER_SHARE
        lived = [home]
        if mover:
            earlier = rng.sample(others, k=2 if len(others) >= 2 and rng.random() < 0.25 else 1)
            lived = [*earlier, home]
        return gender, lived

    def _plan_in(self, index: int, city_code: str) -> _Plan | None:
        """Resident ``index``'s plan when their life touches ``city_code``, else None.

        Most residents never lived in the city, which the plan's first draws tell; only the others are planned
        in full, on the same stream. A move drawn too late in a life is dropped, so only the whole plan is sure.
        """
        rng = _stream(self.seed, index, "plan")
        gender, lived = self._lived(rng, index)
        if all(city.code != city_code for city in lived):
            return None
        plan = self._planned(index, rng, gender, lived)
        return plan if city_code in plan.city_codes else None

    def _plan(self, index: int) -> _Plan:
        rng = _stream(self.seed, index, "plan")
        return self._planned(index, rng, *self._lived(rng, index))

    def _planned(self, index: int, rng: random.Random, gender: Gender, lived: list[CityProfile]) -> _Plan:
        """The rest of a plan, after :meth:`_lived` drew its start from ``rng``."""
        born_in = lived[0] if rng.random() < 0.8 else rng.choice(self.cities)
        id_number, birth = self._ids.id_number(index, region=rng.choice(born_in.districts), gender=gender)

        birth_month = month_index(birth)
        career_start = birth_month + 12 * rng.randint(18, 24) + rng.randrange(12)
        retirement = birth_month + 12 * _retirement_age(gender)
        employee_share = 0.55 if birth.year < 1965 else 0.75
        employee = career_start <= self._last_month - 12 and rng.random() < employee_share
        if employee:
            work_end = min(retirement - 1, self._last_month)
            spans = _split_spans(rng, lived, career_start, self._last_month, work_end)
        else:
            adult = birth_month + 12 * 18
            work_end = -1  # never employed: before any month
            spans = _split_spans(rng, lived, adult, self._last_month, self._last_month)
        return _Plan(index, id_number, gender, birth, employee, career_start, work_end, spans)

    # --- the full records ---

    def _name(self, plan: _Plan) -> tuple[str, random.Random]:
        """The resident's name, and the stream it was drawn from: employers' names are drawn next from it.

        The stream is the one ``Faker("zh_CN").seed_instance`` would seed, and the draws Faker's own: a given name
        by gender (zh_CN defines no gendered name formats, so ``name_male()`` may return a woman's given name),
        then a family name by its weight. Made here without Faker's layers, they cost a fraction;
        tests/mock_cities/test_population.py checks them against Faker.
        """
        names = _stream(self.seed, plan.index, "faker")
        given = names.choice(_GIVEN_NAMES_MALE if plan.gender is Gender.MALE else _GIVEN_NAMES_FEMALE)
        family = names.choices(_FAMILY_NAMES, cum_weights=_FAMILY_NAME_WEIGHTS)[0]
        return f"{family}{given}", names

    def _compact_records(self, plan: _Plan, *, only: str | None = None) -> dict[str, CompactRecords]:
        """Every city's records on a resident, or only ``only``'s: the same draws either way."""
        rng = _stream(self.seed, plan.index, "life")
        name, names = self._name(plan)
        person = _trusted(Person, id_number=plan.id_number, name=name, gender=plan.gender)
        serial = PERSONA_SERIALS + plan.index
        title_series = rng.choice(_TITLE_SERIES) if plan.employee and rng.random() < 0.27 else None
        stints = self._stints(rng, names, plan, title_series)
        talent = _talent(rng, plan, stints, serial=serial, title_series=title_series, last=self._last_month)
        result: dict[str, CompactRecords] = {}
        for position, stint in enumerate(stints):
            current = position == len(stints) - 1
            medical_status, fund_status = self._statuses(rng, plan, stint, current=current)
            spent_share, withdrawn_share = rng.uniform(0.2, 0.85), _withdrawn_share(rng)
            if only is not None and stint.city.code != only:
                continue  # building the models is most of the cost; the draws above keep streams aligned
            enrolment, contributions = medical_history(
                stint, serial=serial, status=medical_status, spent_share=spent_share
            )
            # The loan has a stream of its own, drawn only for those with an account.
            fund = None
            if stint.employed:
                fund = fund_history(
                    stint,
                    serial=serial,
                    status=fund_status,
                    withdrawn_share=withdrawn_share,
                    outstanding_loan=outstanding_loan(self.seed, plan.index, stint.city.code),
                )
            records = _trusted(
                PersonRecords,
                city=_terms(stint.city).ref,
                person=person,
                medical_insurance=_trusted(MedicalInsuranceRecord, enrolment=enrolment, contributions=[]),
                provident_fund=None if fund is None else _trusted(ProvidentFundRecord, account=fund[0], deposits=[]),
                talent=talent[stint.city.code].record(),
            )
            result[stint.city.code] = CompactRecords(records, contributions, () if fund is None else fund[1])
        return result

    def _stints(self, rng: random.Random, names: random.Random, plan: _Plan, title_series: str | None) -> list[Stint]:
        if not plan.employee:
            return [Stint(city=span.city, start=span.start, end=span.end) for span in plan.spans]
        # A city's 缴存基数 ceiling is three times its average wage; people earn around and below it.
        earning_power = 0.85 * rng.lognormvariate(0, 0.4)
        stints = []
        for position, span in enumerate(plan.spans):
            current = position == len(plan.spans) - 1
            work_end = min(span.end, plan.work_end)
            if current and work_end == self._last_month and rng.random() < 0.04:
                work_end -= rng.randint(1, 6)  # between jobs: contributions stopped a few months ago
            # Earlier stints paid less: walk the wage back over the years since that stint ended.
            years_back = (self._last_month - work_end) // 12
            average_wage = float(span.city.provident_fund.max_base) / 3
            wage = average_wage * earning_power / WAGE_GROWTH**years_back
            stints.append(
                Stint(
                    city=span.city,
                    start=span.start,
                    end=span.end,
                    employer=_employer(names, rng, span.city, title_series),
                    work_end=work_end,
                    wage=Decimal(round(wage)),
                )
            )
        return stints

    def _statuses(
        self, rng: random.Random, plan: _Plan, stint: Stint, *, current: bool
    ) -> tuple[EnrolmentStatus, FundAccountStatus]:
        if not current:
            # Leaving a city ends its cover, and its fund account waits sealed (封存) for a transfer.
            return EnrolmentStatus.TERMINATED, FundAccountStatus.SEALED
        if not stint.employed:
            return EnrolmentStatus.ACTIVE, FundAccountStatus.NORMAL
        assert stint.work_end is not None
        retired = plan.work_end < self._last_month and stint.work_end == plan.work_end
        if retired:
            # Retired employees keep 职工医保 for free and usually withdraw the fund and close it.
            return EnrolmentStatus.ACTIVE, (
                FundAccountStatus.CLOSED if rng.random() < 0.7 else FundAccountStatus.SEALED
            )
        if stint.work_end < self._last_month:
            return EnrolmentStatus.SUSPENDED, FundAccountStatus.SEALED
        return EnrolmentStatus.ACTIVE, FundAccountStatus.NORMAL


def _withdrawn_share(rng: random.Random) -> float:
    # Most accounts were never touched; the rest paid rent or a down payment.
    return 0.0 if rng.random() < 0.45 else rng.uniform(0.2, 0.9)


def _employer(names: random.Random, rng: random.Random, city: CityProfile, title_series: str | None) -> str:
    if title_series == "卫生":
        return f"{city.name}市第{rng.randint(1, 8)}人民医院"
    if title_series == "教育":
        return f"{city.name}市第{rng.randint(1, 20)}中学"
    brand = names.choice(_COMPANY_PREFIXES)[:2]  # Faker's company_prefix()
    return f"{city.name}{brand}{rng.choice(INDUSTRIES)}有限公司"


def _city_in(stints: Sequence[Stint], month: int) -> CityProfile | None:
    for stint in stints:
        if stint.start <= month <= stint.end:
            return stint.city
    return None


def _day_in(rng: random.Random, month: int) -> date:
    return month_start(month) + timedelta(days=rng.randrange(28))


def _talent(
    rng: random.Random, plan: _Plan, stints: Sequence[Stint], *, serial: int, title_series: str | None, last: int
) -> dict[str, TalentParts]:
    parts = {stint.city.code: TalentParts() for stint in stints}
    first = max(stints[0].start, SKILL_CERTIFICATES_FROM)
    if rng.random() < 0.3 and first <= last:
        for number in range(1, 2 if rng.random() < 0.75 else 3):
            month = rng.randint(first, last)
            city = _city_in(stints, month)
            if city is not None:
                parts[city.code].skill_certificates.append(
                    skill_certificate(
                        city,
                        serial=serial,
                        number=number,
                        occupation=rng.choice(SKILL_OCCUPATIONS),
                        level=rng.choices(_SKILL_LEVELS, cum_weights=_SKILL_LEVEL_CUM_WEIGHTS)[0],
                        issued_on=_day_in(rng, month),
                    )
                )
    if title_series is None:
        return parts
    award = plan.career_start + rng.randint(12, 36)
    awarded = 0
    for number, grade in enumerate(TITLE_GRADES, start=1):
        city = _city_in(stints, award)
        if award > plan.work_end or city is None:
            break
        parts[city.code].titles.append(
            professional_title(
                city, serial=serial, number=number, series=title_series, grade=grade, awarded_on=_day_in(rng, award)
            )
        )
        awarded += 1
        award += rng.randint(48, 96)
    if awarded == 0:
        return parts
    last_full_year = (last + 1) // 12 - 1
    for year in range(last_full_year - 2, last_full_year + 1):
        if year * 12 > plan.work_end:
            continue  # retired: no hours are owed
        _continuing_education_year(rng, stints, parts, year)
    return parts


def _continuing_education_year(
    rng: random.Random, stints: Sequence[Stint], parts: dict[str, TalentParts], year: int
) -> None:
    """Hours earned in ``year``, split between the cities lived in that year by months spent in each."""
    months = {
        stint.city.code: (stint.city, min(stint.end, year * 12 + 11) - max(stint.start, year * 12) + 1)
        for stint in stints
        if stint.start <= year * 12 + 11 and stint.end >= year * 12
    }
    if not months:
        return
    main_city = max(months.values(), key=lambda pair: pair[1])[0]
    needed = required_hours(rules=main_city.talent)
    total = needed + rng.randint(0, 24) if rng.random() < 0.7 else round(needed * rng.uniform(0.3, 0.95))
    for city, spent in months.values():
        hours = round(total * spent / 12)
        parts[city.code].continuing_education.append(continuing_education(city, year=year, hours=hours))


def build_population(
    *, seed: int, residents_per_city: int, cities: Sequence[CityProfile], as_of: date = DEMO_AS_OF
) -> Population:
    """The deterministic population of ``cities``: nothing is generated until it is iterated."""
    if residents_per_city < 0:
        raise ValueError("residents_per_city must not be negative")
    return Population(seed=seed, residents_per_city=residents_per_city, cities=cities, as_of=as_of)

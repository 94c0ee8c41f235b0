"""The synthetic population of the cities: deterministic from a seed, generated lazily.

:class:`Population` is the generated residents (:mod:`mock_cities.generated`, drawn a block of residents at a
time) plus the demo personas (:mod:`mock_cities.personas`), whose stories are built from this module's helpers:
stints (:class:`Stint`) and the records they make (:func:`medical_record`, :func:`fund_record`, the talent
records). Both share the constants here — when the national schemes began, how wages grow, the ID space.

Money follows the cities' own rules (the ``services`` calculations); amounts are yuan with two decimals.
Months are handled as integer indexes (``year * 12 + month - 1``) so that spans are plain ranges. A history's
yearly amounts are computed in integer 分 (:class:`_Rate`), and its stored months leave as runs of equal months
(tests/mock_cities/test_population.py holds both to the services).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from pydantic import BaseModel

from mock_cities.dialects import CompactRecords, MonthlyRun, contributions_of, deposits_of

if TYPE_CHECKING:
    from mock_cities.columns import CityColumns
from mock_cities.profiles import CityProfile
from schemas.cities import CityRef
from schemas.medical_insurance import (
    Enrolment,
    EnrolmentStatus,
    InsuranceType,
    MedicalInsuranceRecord,
)
from schemas.money import fen_to_yuan, to_yuan, yuan_to_fen
from schemas.provident_fund import FundAccount, FundAccountStatus, ProvidentFundRecord
from schemas.records import Person, PersonRecords
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
INDUSTRIES = ("机械制造", "电子科技", "物流", "建设工程", "医药", "食品", "新材料", "软件", "商贸", "汽车零部件")
TITLE_GRADES = (
    TitleGrade.JUNIOR,
    TitleGrade.INTERMEDIATE,
    TitleGrade.ASSOCIATE_SENIOR,
    TitleGrade.SENIOR,
)


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


@dataclass(frozen=True)
class IdSpace:
    """A bijection from resident index to (birth date, sequence slot), so generated ID numbers never repeat."""

    multiplier: int
    offset: int
    days: int

    @property
    def size(self) -> int:
        return self.days * GENERATED_SEQUENCE_SLOTS

    @classmethod
    def for_seed(cls, seed: int) -> IdSpace:
        rng = _stream(seed, "id-space")
        days = (BIRTH_LAST - BIRTH_FIRST).days + 1
        size = days * GENERATED_SEQUENCE_SLOTS
        multiplier = rng.randrange(size // 3, size)
        while math.gcd(multiplier, size) != 1:
            multiplier += 1
        return cls(multiplier=multiplier, offset=rng.randrange(size), days=days)


class Population:
    """The residents of ``cities`` (``residents_per_city`` living in each) plus the demo personas.

    Generated residents come from :class:`mock_cities.generated.Generator`, a block at a time; the personas from
    :mod:`mock_cities.personas`, written by hand.
    """

    def __init__(self, *, seed: int, residents_per_city: int, cities: Sequence[CityProfile], as_of: date) -> None:
        # The generator and the personas build on this module's helpers, so they are imported where used.
        from mock_cities.generated import Generator

        self.seed = seed
        self.residents_per_city = residents_per_city
        self.cities: list[CityProfile] = list(cities)
        self.as_of = as_of
        self._generator = Generator(seed=seed, residents_per_city=residents_per_city, cities=self.cities, as_of=as_of)

    def person_count(self) -> int:
        from mock_cities.personas import PERSONAS

        return self.generated_count + len(PERSONAS)

    def people(self) -> Iterator[Person]:
        """Every resident, personas first."""
        from mock_cities.personas import PERSONAS

        for persona in PERSONAS:
            yield Person(id_number=persona.id_number, name=persona.name, gender=persona.gender)
        generator = self._generator
        for block in generator.blocks():
            for id_number, name, gender in zip(*generator.people(block), strict=True):
                yield _trusted(Person, id_number=id_number, name=name, gender=gender)

    def records_for(self, city_code: str) -> Iterator[PersonRecords]:
        """Canonical records of every resident ``city_code`` holds something on, personas first."""
        for compact in self.compact_records_for(city_code):
            yield compact.expanded()

    def compact_records_for(self, city_code: str) -> Iterator[CompactRecords]:
        """:meth:`records_for` with the monthly histories as runs."""
        yield from self.persona_records_for(city_code)
        yield from self.generated_records_for(city_code, range(self.generated_count))

    @property
    def generated_count(self) -> int:
        """Generated residents (indexes ``0..generated_count - 1``), personas not counted."""
        return self._generator.total

    def persona_records_for(self, city_code: str) -> Iterator[CompactRecords]:
        """The personas' part of :meth:`compact_records_for`."""
        from mock_cities.personas import PERSONAS, persona_records

        for persona in PERSONAS:
            held = persona_records(persona.key, self.cities, self.as_of)
            if city_code in held:
                yield CompactRecords.of(held[city_code])

    def generated_records_for(self, city_code: str, indexes: range) -> Iterator[CompactRecords]:
        """The generated residents' part of :meth:`compact_records_for`, for ``indexes`` only, in index order."""
        for columns in self.city_columns(city_code, indexes):
            yield from columns.records()

    def city_columns(self, city_code: str, indexes: range | None = None) -> Iterator[CityColumns]:
        """The generated persons ``city_code`` holds, a block at a time (only ``indexes``, if given): what seeding
        writes. Each depends on ``(seed, block)`` alone, so blocks can be made apart, even in other processes."""
        generator = self._generator
        position = generator.position(city_code)
        if position is None:
            return
        for block in generator.blocks(indexes):
            yield generator.columns(block, position, indexes)

    def all_records(self, index: int) -> dict[str, PersonRecords]:
        """Every city's records on generated resident ``index``, by city code, the city lived in first first."""
        if not 0 <= index < self.generated_count:
            raise IndexError(f"no generated resident {index}")
        held = {}
        for position in self._generator.lived_in(index):
            code = self.cities[position].code
            for compact in self.generated_records_for(code, range(index, index + 1)):
                held[code] = compact.expanded()
        return held


def build_population(
    *, seed: int, residents_per_city: int, cities: Sequence[CityProfile], as_of: date = DEMO_AS_OF
) -> Population:
    """The deterministic population of ``cities``: nothing is generated until it is iterated."""
    if residents_per_city < 0:
        raise ValueError("residents_per_city must not be negative")
    return Population(seed=seed, residents_per_city=residents_per_city, cities=cities, as_of=as_of)

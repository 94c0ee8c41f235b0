"""Named demo personas: hand-written residents whose stories the demo walks through, in every population.

Their ID numbers use sequences 900–999, which generated residents never use, so they can never collide
with one. Their histories are fixed (no seed); amounts still follow each city's rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mock_cities.population import (
    Stint,
    TalentParts,
    continuing_education,
    fund_record,
    last_full_month,
    medical_record,
    month_index,
    professional_title,
    skill_certificate,
)
from mock_cities.profiles import CityProfile
from schemas.medical_insurance import EnrolmentStatus
from schemas.provident_fund import FundAccountStatus
from schemas.records import Gender, Person, PersonRecords
from schemas.talent import TitleGrade

DEMO_RESIDENT_PASSWORD = "czt-demo"
"""The password every persona signs in to the resident portal with (demo only)."""

CHANGSHA, ZHUZHOU, XIANGTAN = "430100", "430200", "430300"
PERSONAS_VALID_FROM = date(2026, 1, 1)
"""The stories reach into 2025 (continuing education), so histories must end after it."""


@dataclass(frozen=True)
class Persona:
    key: str
    id_number: str
    name: str
    gender: Gender
    story_zh: str
    story_en: str

    @property
    def person(self) -> Person:
        return Person(id_number=self.id_number, name=self.name, gender=self.gender)


PERSONAS: tuple[Persona, ...] = (
    Persona(
        key="liu-yang",
        id_number="430203199005129171",
        name="刘洋",
        gender=Gender.MALE,
        story_zh=(
            "刘洋，1990年生于株洲。2014年3月至2022年6月在株洲工作，株洲公积金账户已封存、职工医保已终止；"
            "2022年7月起在长沙工作并缴存公积金。他想把株洲的公积金转到长沙，在长沙贷款买房。"
        ),
        story_en=(
            "Liu Yang, born in Zhuzhou in 1990, worked there from March 2014 to June 2022: his Zhuzhou fund "
            "account is sealed and his employee medical insurance terminated. Since July 2022 he works in "
            "Changsha. He wants to move his Zhuzhou provident fund to Changsha and buy a flat there."
        ),
    ),
    Persona(
        key="wang-xiuying",
        id_number="430302195803089240",
        name="王秀英",
        gender=Gender.FEMALE,
        story_zh=(
            "王秀英，1958年生，湘潭退休居民，参加湘潭城乡居民医保。女儿住在长沙，她在长沙的医院看病，"
            "需要办理异地就医备案并直接结算。"
        ),
        story_en=(
            "Wang Xiuying, born in 1958, is retired and covered by Xiangtan's resident medical insurance. "
            "Her daughter lives in Changsha, where she is treated in hospital: she needs a cross-city "
            "treatment filing and direct settlement."
        ),
    ),
    Persona(
        key="chen-jing",
        id_number="430104198611239369",
        name="陈静",
        gender=Gender.FEMALE,
        story_zh=(
            "陈静，1986年生于长沙，工程师。2009–2015年在湘潭工作（助理工程师），2015–2019年在株洲"
            "（工程师），2019年起回到长沙。三地都有她的技能证书和继续教育学时：单看任何一个城市都不够，"
            "三地合计才达到要求——这就是学时互认。"
        ),
        story_en=(
            "Chen Jing, born in Changsha in 1986, is an engineer. She worked in Xiangtan 2009–2015 (assistant "
            "engineer), in Zhuzhou 2015–2019 (engineer) and is back in Changsha since 2019. All three cities "
            "hold skill certificates and continuing-education hours of hers: no single city's hours meet its "
            "requirement, but together they do — the point of mutual recognition."
        ),
    ),
)

_BY_KEY = {persona.key: persona for persona in PERSONAS}


@dataclass(frozen=True)
class _CityLife:
    """A persona's life in one city: the stint, how it ended, and what the talent system holds."""

    stint: Stint
    medical_status: EnrolmentStatus
    fund_status: FundAccountStatus
    spent_share: float = 0.4
    withdrawn_share: float = 0.0
    talent: TalentParts | None = None


def _month(year: int, month: int) -> int:
    return month_index(date(year, month, 1))


def _liu_yang(cities: dict[str, CityProfile], last: int, serial: int) -> list[_CityLife]:
    lives = []
    if zhuzhou := cities.get(ZHUZHOU):
        certificate = skill_certificate(
            zhuzhou, serial=serial, number=1, occupation="电工", level=3, issued_on=date(2019, 6, 18)
        )
        lives.append(
            _CityLife(
                stint=Stint(
                    city=zhuzhou,
                    start=_month(2014, 3),
                    end=_month(2022, 6),
                    employer="株洲华锐轨道装备有限公司",
                    work_end=_month(2022, 6),
                    wage=Decimal("7200"),
                ),
                medical_status=EnrolmentStatus.TERMINATED,
                fund_status=FundAccountStatus.SEALED,
                spent_share=0.35,
                talent=TalentParts(skill_certificates=[certificate]),
            )
        )
    if changsha := cities.get(CHANGSHA):
        lives.append(
            _CityLife(
                stint=Stint(
                    city=changsha,
                    start=_month(2022, 7),
                    end=last,
                    employer="长沙星沙智能装备有限公司",
                    work_end=last,
                    wage=Decimal("11800"),
                ),
                medical_status=EnrolmentStatus.ACTIVE,
                fund_status=FundAccountStatus.NORMAL,
                spent_share=0.5,
            )
        )
    return lives


def _wang_xiuying(cities: dict[str, CityProfile], last: int, serial: int) -> list[_CityLife]:
    if (xiangtan := cities.get(XIANGTAN)) is None:
        return []
    return [
        _CityLife(
            stint=Stint(city=xiangtan, start=_month(2009, 1), end=last),
            medical_status=EnrolmentStatus.ACTIVE,
            fund_status=FundAccountStatus.NORMAL,
        )
    ]


# 学时互认: each city's hours fall short of its own requirement (长沙 90, 株洲 72, 湘潭 80); together they meet all.
CHEN_JING_CE_HOURS = {
    CHANGSHA: {2023: 50, 2024: 46, 2025: 52},
    ZHUZHOU: {2023: 22, 2024: 28, 2025: 20},
    XIANGTAN: {2023: 24, 2024: 18, 2025: 26},
}


def _chen_jing_talent(city: CityProfile, *, serial: int, level: int, issued_on: date) -> TalentParts:
    certificate = skill_certificate(
        city, serial=serial, number=1, occupation="数控车工", level=level, issued_on=issued_on
    )
    hours = [continuing_education(city, year=year, hours=h) for year, h in CHEN_JING_CE_HOURS[city.code].items()]
    return TalentParts(skill_certificates=[certificate], continuing_education=hours)


def _chen_jing(cities: dict[str, CityProfile], last: int, serial: int) -> list[_CityLife]:
    lives = []
    if xiangtan := cities.get(XIANGTAN):
        talent = _chen_jing_talent(xiangtan, serial=serial, level=4, issued_on=date(2010, 11, 15))
        talent.titles.append(
            professional_title(
                xiangtan,
                serial=serial,
                number=1,
                series="工程",
                grade=TitleGrade.JUNIOR,
                awarded_on=date(2011, 9, 30),
            )
        )
        lives.append(
            _CityLife(
                stint=Stint(
                    city=xiangtan,
                    start=_month(2009, 7),
                    end=_month(2015, 3),
                    employer="湘潭天易机电装备有限公司",
                    work_end=_month(2015, 3),
                    wage=Decimal("5200"),
                ),
                medical_status=EnrolmentStatus.TERMINATED,
                fund_status=FundAccountStatus.SEALED,
                talent=talent,
            )
        )
    if zhuzhou := cities.get(ZHUZHOU):
        talent = _chen_jing_talent(zhuzhou, serial=serial, level=3, issued_on=date(2016, 5, 20))
        talent.titles.append(
            professional_title(
                zhuzhou,
                serial=serial,
                number=2,
                series="工程",
                grade=TitleGrade.INTERMEDIATE,
                awarded_on=date(2017, 12, 20),
            )
        )
        lives.append(
            _CityLife(
                stint=Stint(
                    city=zhuzhou,
                    start=_month(2015, 4),
                    end=_month(2019, 2),
                    employer="株洲渌江动力科技有限公司",
                    work_end=_month(2019, 2),
                    wage=Decimal("7600"),
                ),
                medical_status=EnrolmentStatus.TERMINATED,
                # On leaving 株洲 she withdrew the whole balance (离职提取) and closed the account.
                fund_status=FundAccountStatus.CLOSED,
                talent=talent,
            )
        )
    if changsha := cities.get(CHANGSHA):
        lives.append(
            _CityLife(
                stint=Stint(
                    city=changsha,
                    start=_month(2019, 3),
                    end=last,
                    employer="长沙麓谷精密机械有限公司",
                    work_end=last,
                    wage=Decimal("14500"),
                ),
                medical_status=EnrolmentStatus.ACTIVE,
                fund_status=FundAccountStatus.NORMAL,
                withdrawn_share=0.3,
                talent=_chen_jing_talent(changsha, serial=serial, level=2, issued_on=date(2021, 10, 12)),
            )
        )
    return lives


_LIVES: dict[str, Callable[[dict[str, CityProfile], int, int], list[_CityLife]]] = {
    "liu-yang": _liu_yang,
    "wang-xiuying": _wang_xiuying,
    "chen-jing": _chen_jing,
}


def persona_records(persona_key: str, cities: Sequence[CityProfile], as_of: date) -> dict[str, PersonRecords]:
    """A persona's records in each of ``cities`` that holds any, by city code.

    Only the three built-in cities appear in the stories; any other city in ``cities`` holds nothing.
    """
    if as_of < PERSONAS_VALID_FROM:
        raise ValueError(f"persona histories run into 2025; as_of must be on or after {PERSONAS_VALID_FROM}")
    persona = _BY_KEY[persona_key]
    serial = PERSONAS.index(persona) + 1
    by_code = {city.code: city for city in cities}
    result: dict[str, PersonRecords] = {}
    for life in _LIVES[persona_key](by_code, last_full_month(as_of), serial):
        city = life.stint.city
        result[city.code] = PersonRecords(
            city=city.ref,
            person=persona.person,
            medical_insurance=medical_record(
                life.stint, serial=serial, status=life.medical_status, spent_share=life.spent_share
            ),
            provident_fund=fund_record(
                life.stint, serial=serial, status=life.fund_status, withdrawn_share=life.withdrawn_share
            ),
            talent=(life.talent or TalentParts()).record(),
        )
    return result

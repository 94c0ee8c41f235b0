"""湘潭's legacy dialect: ``{"code": 0, "msg": "成功", "data": {...}}`` with pinyin-initial names.

Everything is text, as in the old system's VARCHAR columns: dates ``YYYY/MM/DD``, months ``YYYY/MM``,
yuan as decimal strings (``"3821.50"``), counts as digit strings, Chinese code values (``"职工"``, ``"男"``)
and zero-padded status codes (``"01"`` 正常). The person's fields sit flat in ``data``. 缴费 and 缴存 records are
kept by 期间 (起始年月 ``qsny`` … 终止年月 ``zzny``): one row per period of equal amounts, listed month by month.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel

from mock_cities.columns import (
    CityColumns,
    LocalDays,
    Rows,
    non_negative,
    period_rows,
    table_rows,
    yuan_text_of,
)
from mock_cities.dialects import CompactRecords, LocalDocument, LocalRows, PeriodTable
from mock_cities.dialects._common import (
    Assemble,
    Fields,
    invert,
    local_day,
    local_person_no,
    mapped,
    rows_of,
    yuan_text,
)
from schemas.cities import CityRef
from schemas.medical_insurance import (
    Contribution,
    Enrolment,
    EnrolmentStatus,
    InsuranceType,
    MedicalInsuranceRecord,
)
from schemas.provident_fund import Deposit, FundAccount, FundAccountStatus, ProvidentFundRecord
from schemas.records import Gender, Person, PersonRecords
from schemas.talent import (
    ContinuingEducationYear,
    ProfessionalTitle,
    SkillCertificate,
    TalentRecord,
    TitleGrade,
)

_OK = 0
_XB = {"男": Gender.MALE, "女": Gender.FEMALE}
_XZLX = {"职工": InsuranceType.EMPLOYEE, "居民": InsuranceType.RESIDENT}
_CBZT = {"1": EnrolmentStatus.ACTIVE, "2": EnrolmentStatus.SUSPENDED, "3": EnrolmentStatus.TERMINATED}
_ZHZT = {
    "01": FundAccountStatus.NORMAL,
    "02": FundAccountStatus.SEALED,
    "03": FundAccountStatus.FROZEN,
    "04": FundAccountStatus.CLOSED,
}
_DJ = {"一级": 1, "二级": 2, "三级": 3, "四级": 4, "五级": 5}
_ZCDJ = {
    "初级": TitleGrade.JUNIOR,
    "中级": TitleGrade.INTERMEDIATE,
    "副高": TitleGrade.ASSOCIATE_SENIOR,
    "正高": TitleGrade.SENIOR,
}
_RQ = "%Y/%m/%d"
_NY = "%Y/%m"


class _Base(SQLModel, registry=registry()):
    pass


class Grxx(_Base, table=True):
    """个人信息."""

    __tablename__: ClassVar[str] = "t_grxx"
    grbh: str = Field(primary_key=True, max_length=30)
    sfzh: str = Field(max_length=18, unique=True, index=True)
    xm: str = Field(max_length=50)
    xb: str = Field(max_length=2)


class Ybcb(_Base, table=True):
    """医保参保: at most one per person."""

    __tablename__: ClassVar[str] = "t_ybcb"
    grbh: str = Field(primary_key=True, max_length=30, foreign_key="t_grxx.grbh")
    xzlx: str = Field(max_length=10)
    cbzt: str = Field(max_length=2)
    cbrq: str = Field(max_length=10)
    jfys: str = Field(max_length=6)
    zhye: str = Field(max_length=16)
    dwmc: str | None = Field(default=None, max_length=200)


class Ybjfqj(_Base, table=True):
    """医保缴费期间: one row per period of equal amounts, 起始年月 ``qsny`` to 终止年月 ``zzny``."""

    __tablename__: ClassVar[str] = "t_ybjfqj"
    __table_args__ = {"sqlite_with_rowid": False}  # small rows read by key: the primary key holds them
    grbh: str = Field(primary_key=True, max_length=30, foreign_key="t_grxx.grbh")
    qsny: str = Field(primary_key=True, max_length=7)
    zzny: str = Field(max_length=7)
    jfjs: str = Field(max_length=16)
    dwjf: str = Field(max_length=16)
    grjf: str = Field(max_length=16)


class Gjjzh(_Base, table=True):
    """公积金账户: at most one per person."""

    __tablename__: ClassVar[str] = "t_gjjzh"
    zh: str = Field(primary_key=True, max_length=30)
    grbh: str = Field(max_length=30, foreign_key="t_grxx.grbh", unique=True)
    zhzt: str = Field(max_length=2)
    dwmc: str | None = Field(default=None, max_length=200)
    khrq: str = Field(max_length=10)
    jcjs: str = Field(max_length=16)
    yjce: str = Field(max_length=16)
    zhye: str = Field(max_length=16)
    jcys: str = Field(max_length=6)
    dkye: str = Field(default="0.00", max_length=16)  # 贷款余额


class Gjjjcqj(_Base, table=True):
    """公积金缴存期间: one row per period of equal deposits, ``qsny`` to ``zzny``."""

    __tablename__: ClassVar[str] = "t_gjjjcqj"
    __table_args__ = {"sqlite_with_rowid": False}
    zh: str = Field(primary_key=True, max_length=30, foreign_key="t_gjjzh.zh")
    qsny: str = Field(primary_key=True, max_length=7)
    zzny: str = Field(max_length=7)
    dwjc: str = Field(max_length=16)
    grjc: str = Field(max_length=16)


class Jnzs(_Base, table=True):
    """职业技能等级证书."""

    __tablename__: ClassVar[str] = "t_jnzs"
    grbh: str = Field(primary_key=True, max_length=30, foreign_key="t_grxx.grbh")
    # 序号: position in the person's list, since certificates and titles have no natural order.
    xh: int = Field(primary_key=True)
    zsbh: str = Field(max_length=50)
    zymc: str = Field(max_length=50)
    dj: str = Field(max_length=4)
    fzrq: str = Field(max_length=10)
    fzjg: str = Field(max_length=100)


class Zcxx(_Base, table=True):
    """职称信息."""

    __tablename__: ClassVar[str] = "t_zcxx"
    grbh: str = Field(primary_key=True, max_length=30, foreign_key="t_grxx.grbh")
    xh: int = Field(primary_key=True)
    zsbh: str = Field(max_length=50)
    xl: str = Field(max_length=50)
    zcmc: str = Field(max_length=50)
    zcdj: str = Field(max_length=4)
    qdrq: str = Field(max_length=10)


class Jxjy(_Base, table=True):
    """继续教育学时, one row per 年度."""

    __tablename__: ClassVar[str] = "t_jxjy"
    grbh: str = Field(primary_key=True, max_length=30, foreign_key="t_grxx.grbh")
    nd: str = Field(primary_key=True, max_length=4)
    xs: str = Field(max_length=6)
    yqxs: str = Field(max_length=6)


metadata = _Base.metadata

_XB_CODE = invert(_XB)
_XZLX_CODE = invert(_XZLX)
_CBZT_CODE = invert(_CBZT)
_ZHZT_CODE = invert(_ZHZT)
_DJ_CODE = invert(_DJ)
_ZCDJ_CODE = invert(_ZCDJ)


def _yuan_text(fen: int) -> str:
    """分 as the yuan text the VARCHAR columns hold: ``yuan_text`` of the amount, written from the integer (most
    amounts of a history are met once, so neither a Decimal nor a cache would pay)."""
    whole, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{whole}.{cents:02d}"


_YBJF_PERIODS = PeriodTable(metadata.tables[Ybjfqj.__tablename__], _NY, _yuan_text)
_GJJJC_PERIODS = PeriodTable(metadata.tables[Gjjjcqj.__tablename__], _NY, _yuan_text)
_SQLITE_DAYS = LocalDays(lambda day: day.strftime(_RQ))
"""Dates as the legacy text columns hold them, for :meth:`LegacyEnvelope.sqlite_rows`."""


# The read side selects rows with SQLAlchemy Core (no ORM objects): the person with their 医保 enrolment and
# 公积金 account in one query on the unique 身份证号 index, then one query per record table on its primary key.
_GRXX = metadata.tables[Grxx.__tablename__]
_YBCB = metadata.tables[Ybcb.__tablename__]
_YBJF = _YBJF_PERIODS.table
_GJJZH = metadata.tables[Gjjzh.__tablename__]
_GJJJC = _GJJJC_PERIODS.table
_JNZS = metadata.tables[Jnzs.__tablename__]
_ZCXX = metadata.tables[Zcxx.__tablename__]
_JXJY = metadata.tables[Jxjy.__tablename__]
_GR = (
    select(
        _GRXX.c.grbh,
        _GRXX.c.xm,
        _GRXX.c.sfzh,
        _GRXX.c.xb,
        _YBCB.c.grbh.label("cb"),
        _YBCB.c.xzlx,
        _YBCB.c.cbzt,
        _YBCB.c.cbrq,
        _YBCB.c.jfys,
        _YBCB.c.zhye.label("cb_zhye"),
        _YBCB.c.dwmc.label("cb_dwmc"),
        _GJJZH.c.zh,
        _GJJZH.c.zhzt,
        _GJJZH.c.dwmc.label("zh_dwmc"),
        _GJJZH.c.khrq,
        _GJJZH.c.jcjs,
        _GJJZH.c.yjce,
        _GJJZH.c.zhye.label("zh_zhye"),
        _GJJZH.c.jcys,
        _GJJZH.c.dkye,
    )
    .select_from(_GRXX.outerjoin(_YBCB, _YBCB.c.grbh == _GRXX.c.grbh).outerjoin(_GJJZH, _GJJZH.c.grbh == _GRXX.c.grbh))
    .where(_GRXX.c.sfzh == bindparam("sfzh"))
)
_JFJL = rows_of(_YBJF, "qsny", "zzny", "jfjs", "dwjf", "grjf", key="grbh", order="qsny")
_JCJL = rows_of(_GJJJC, "qsny", "zzny", "dwjc", "grjc", key="zh", order="qsny")
_ZSXX = rows_of(_JNZS, "zsbh", "zymc", "dj", "fzrq", "fzjg", key="grbh", order="xh")
_ZCXX_ROWS = rows_of(_ZCXX, "zsbh", "xl", "zcmc", "zcdj", "qdrq", key="grbh", order="xh")
_JXJY_ROWS = rows_of(_JXJY, "nd", "xs", "yqxs", key="grbh", order="nd")


class LegacyEnvelope:
    """湘潭: the canonical records as the legacy system shows them."""

    name = "legacy_envelope"
    metadata = metadata

    def local_rows(self, records: CompactRecords) -> LocalRows:
        """Rows per table, parents first; the histories as periods."""
        canonical = records.records
        grbh = local_person_no(canonical)
        person = canonical.person
        rows: dict[str, list[dict[str, Any]]] = {
            Grxx.__tablename__: [
                {"grbh": grbh, "sfzh": person.id_number, "xm": person.name, "xb": _XB_CODE[person.gender]}
            ]
        }
        periods: dict[str, list[tuple[Any, ...]]] = {}
        if (medical := canonical.medical_insurance) is not None:
            e = medical.enrolment
            rows[Ybcb.__tablename__] = [
                {
                    "grbh": grbh,
                    "xzlx": _XZLX_CODE[e.insurance_type],
                    "cbzt": _CBZT_CODE[e.status],
                    "cbrq": local_day(e.since, _RQ),
                    "jfys": str(e.contribution_months),
                    "zhye": yuan_text(e.account_balance),
                    "dwmc": e.employer,
                }
            ]
            periods[Ybjfqj.__tablename__] = _YBJF_PERIODS.rows(grbh, records.contributions)
        if (fund := canonical.provident_fund) is not None:
            a = fund.account
            rows[Gjjzh.__tablename__] = [
                {
                    "zh": a.account_no,
                    "grbh": grbh,
                    "zhzt": _ZHZT_CODE[a.status],
                    "dwmc": a.employer,
                    "khrq": local_day(a.opened_on, _RQ),
                    "jcjs": yuan_text(a.deposit_base),
                    "yjce": yuan_text(a.monthly_deposit),
                    "zhye": yuan_text(a.balance),
                    "jcys": str(a.deposit_months),
                    "dkye": yuan_text(a.outstanding_loan),
                }
            ]
            periods[Gjjjcqj.__tablename__] = _GJJJC_PERIODS.rows(a.account_no, records.deposits)
        talent = canonical.talent
        rows[Jnzs.__tablename__] = [
            {
                "grbh": grbh,
                "xh": i,
                "zsbh": s.certificate_no,
                "zymc": s.occupation,
                "dj": _DJ_CODE[s.level],
                "fzrq": local_day(s.issued_on, _RQ),
                "fzjg": s.issuer,
            }
            for i, s in enumerate(talent.skill_certificates)
        ]
        rows[Zcxx.__tablename__] = [
            {
                "grbh": grbh,
                "xh": i,
                "zsbh": t.certificate_no,
                "xl": t.series,
                "zcmc": t.title,
                "zcdj": _ZCDJ_CODE[t.grade],
                "qdrq": local_day(t.awarded_on, _RQ),
            }
            for i, t in enumerate(talent.titles)
        ]
        rows[Jxjy.__tablename__] = [
            {"grbh": grbh, "nd": str(y.year), "xs": str(y.hours), "yqxs": str(y.required_hours)}
            for y in talent.continuing_education
        ]
        return LocalRows(
            {table: table_rows for table, table_rows in rows.items() if table_rows},
            {table: table_rows for table, table_rows in periods.items() if table_rows},
        )

    def sqlite_rows(self, columns: CityColumns) -> Rows:
        """The persons of ``columns`` as rows per table, parents first, valued as SQLite stores them: what
        ``local_rows`` of their records gives, bound as seeding binds it (tests/mock_cities/test_generated.py)."""
        non_negative(columns.medical_balance, *columns.contributions.amounts, *columns.deposits.amounts)
        non_negative(*([a.base, a.monthly, a.balance, a.loan] for a in columns.accounts))
        days, text, tables = _SQLITE_DAYS, yuan_text_of, metadata.tables
        grbh, account_no = columns.person_no(), columns.account_no()
        accounts = columns.accounts
        return {
            "t_grxx": table_rows(
                tables["t_grxx"],
                {
                    "grbh": grbh,
                    "sfzh": columns.id_number,
                    "xm": columns.name,
                    "xb": [_XB_CODE[g] for g in columns.gender],
                },
            ),
            "t_ybcb": table_rows(
                tables["t_ybcb"],
                {
                    "grbh": grbh,
                    "xzlx": [_XZLX_CODE[t] for t in columns.insurance_type],
                    "cbzt": [_CBZT_CODE[s] for s in columns.enrolment_status],
                    "cbrq": [days[(month, 1)] for month in columns.enrolled],
                    "jfys": list(map(str, columns.contribution_months)),
                    "zhye": list(map(text, columns.medical_balance)),
                    "dwmc": columns.employer,
                },
            ),
            "t_ybjfqj": period_rows(_YBJF_PERIODS, grbh, columns.contributions, text),
            "t_gjjzh": table_rows(
                tables["t_gjjzh"],
                {
                    "zh": account_no,
                    "grbh": [grbh[a.owner] for a in accounts],
                    "zhzt": [_ZHZT_CODE[a.status] for a in accounts],
                    "dwmc": [columns.employer[a.owner] for a in accounts],
                    "khrq": [days[(a.opened, 1)] for a in accounts],
                    "jcjs": [text(a.base) for a in accounts],
                    "yjce": [text(a.monthly) for a in accounts],
                    "zhye": [text(a.balance) for a in accounts],
                    "jcys": [str(a.months) for a in accounts],
                    "dkye": [text(a.loan) for a in accounts],
                },
            ),
            "t_gjjjcqj": period_rows(_GJJJC_PERIODS, account_no, columns.deposits, text),
            "t_jnzs": [
                (
                    grbh[c.owner],
                    c.seq,
                    c.certificate_no,
                    c.occupation,
                    _DJ_CODE[c.level],
                    days[c.issued],
                    columns.city.talent.evaluation_body,
                )
                for c in columns.certificates
            ],
            "t_zcxx": [
                (grbh[t.owner], t.seq, t.certificate_no, t.series, t.title, _ZCDJ_CODE[t.grade], days[t.awarded])
                for t in columns.titles
            ],
            "t_jxjy": [(grbh[h.owner], str(h.year), str(h.hours), str(h.required)) for h in columns.hours],
        }

    def to_local_rows(self, records: PersonRecords) -> dict[str, list[dict[str, Any]]]:
        """Rows per table, parents first; tables the person has no rows in are left out."""
        return self.local_rows(CompactRecords.of(records)).as_dicts(metadata)

    def read_document(self, session: Session, *, id_number: str) -> LocalDocument | None:
        """The 个人综合信息查询 answer of 湘潭's legacy system."""
        db = session.connection()
        gr = db.execute(_GR, {"sfzh": id_number}).first()
        if gr is None:
            return None
        grbh = gr.grbh
        by_person = {"grbh": grbh}
        jf = [] if gr.cb is None else db.execute(_JFJL, by_person).all()
        jc = [] if gr.zh is None else db.execute(_JCJL, {"zh": gr.zh}).all()
        zs = db.execute(_ZSXX, by_person).all()
        zc = db.execute(_ZCXX_ROWS, by_person).all()
        jy = db.execute(_JXJY_ROWS, by_person).all()
        data = {
            "grbh": grbh,
            "xm": gr.xm,
            "sfzh": gr.sfzh,
            "xb": gr.xb,
            "ybxx": None
            if gr.cb is None
            else {
                "xzlx": gr.xzlx,
                "cbzt": gr.cbzt,
                "cbrq": gr.cbrq,
                "jfys": gr.jfys,
                "zhye": gr.cb_zhye,
                "dwmc": gr.cb_dwmc,
                "jfjl": [
                    {"ny": ny, "jfjs": jfjs, "dwjf": dwjf, "grjf": grjf}
                    for ny, jfjs, dwjf, grjf in _YBJF_PERIODS.months(jf)
                ],
            },
            "gjjxx": None
            if gr.zh is None
            else {
                "zh": gr.zh,
                "zhzt": gr.zhzt,
                "dwmc": gr.zh_dwmc,
                "khrq": gr.khrq,
                "jcjs": gr.jcjs,
                "yjce": gr.yjce,
                "zhye": gr.zh_zhye,
                "jcys": gr.jcys,
                "dkye": gr.dkye,
                "jcjl": [{"ny": ny, "dwjc": dwjc, "grjc": grjc} for ny, dwjc, grjc in _GJJJC_PERIODS.months(jc)],
            },
            "zsxx": [
                {"zsbh": zsbh, "zymc": zymc, "dj": dj, "fzrq": fzrq, "fzjg": fzjg} for zsbh, zymc, dj, fzrq, fzjg in zs
            ],
            "zcxx": [
                {"zsbh": zsbh, "xl": xl, "zcmc": zcmc, "zcdj": zcdj, "qdrq": qdrq} for zsbh, xl, zcmc, zcdj, qdrq in zc
            ],
            "jxjy": [{"nd": nd, "xs": xs, "yqxs": yqxs} for nd, xs, yqxs in jy],
        }
        return {"code": _OK, "msg": "成功", "data": data}

    def to_canonical(self, document: LocalDocument, *, city: CityRef) -> PersonRecords:
        """Map a 湘潭 payload to canonical records; :class:`DialectError` names the malformed field."""
        return mapped(lambda make: _records(document, city, make))


def _records(document: LocalDocument, city: CityRef, make: Assemble) -> Any:
    envelope = Fields(document, "")
    code = envelope.raw("code")
    if code != _OK:
        raise envelope.fail("code", f"the system answered {code!r}: {envelope.raw('msg')!r}")
    data = envelope.section("data")
    grbh = data.text("grbh")
    person = make(
        Person,
        data.path,
        id_number=data.id_number("sfzh"),
        name=data.text("xm"),
        gender=data.coded("xb", _XB),
    )
    yb = data.optional_section("ybxx")
    gjj = data.optional_section("gjjxx")
    return make(
        PersonRecords,
        envelope.path,
        city=city,
        person=person,
        medical_insurance=None if yb is None else _medical(yb, grbh, make),
        provident_fund=None if gjj is None else _fund(gjj, make),
        talent=_talent(data, make),
    )


def _medical(yb: Fields, grbh: str, make: Assemble) -> Any:
    enrolment = make(
        Enrolment,
        yb.path,
        local_person_no=grbh,
        insurance_type=yb.coded("xzlx", _XZLX),
        status=yb.coded("cbzt", _CBZT),
        since=yb.day("cbrq", _RQ),
        contribution_months=yb.digits("jfys"),
        account_balance=yb.yuan("zhye"),
        employer=yb.optional_text("dwmc"),
    )
    contributions = [
        make(
            Contribution,
            j.path,
            month=j.month("ny", _NY),
            base=j.yuan("jfjs"),
            employer_amount=j.yuan("dwjf"),
            personal_amount=j.yuan("grjf"),
        )
        for j in yb.entries("jfjl")
    ]
    return make(MedicalInsuranceRecord, yb.path, enrolment=enrolment, contributions=contributions)


def _fund(gjj: Fields, make: Assemble) -> Any:
    account = make(
        FundAccount,
        gjj.path,
        account_no=gjj.text("zh"),
        status=gjj.coded("zhzt", _ZHZT),
        employer=gjj.optional_text("dwmc"),
        opened_on=gjj.day("khrq", _RQ),
        deposit_base=gjj.yuan("jcjs"),
        monthly_deposit=gjj.yuan("yjce"),
        balance=gjj.yuan("zhye"),
        deposit_months=gjj.digits("jcys"),
        outstanding_loan=gjj.optional_yuan("dkye"),
    )
    deposits = [
        make(
            Deposit,
            j.path,
            month=j.month("ny", _NY),
            employer_amount=j.yuan("dwjc"),
            personal_amount=j.yuan("grjc"),
        )
        for j in gjj.entries("jcjl")
    ]
    return make(ProvidentFundRecord, gjj.path, account=account, deposits=deposits)


def _talent(data: Fields, make: Assemble) -> Any:
    certificates = [
        make(
            SkillCertificate,
            z.path,
            certificate_no=z.text("zsbh"),
            occupation=z.text("zymc"),
            level=z.coded("dj", _DJ),
            issued_on=z.day("fzrq", _RQ),
            issuer=z.text("fzjg"),
        )
        for z in data.entries("zsxx")
    ]
    titles = [
        make(
            ProfessionalTitle,
            z.path,
            certificate_no=z.text("zsbh"),
            series=z.text("xl"),
            title=z.text("zcmc"),
            grade=z.coded("zcdj", _ZCDJ),
            awarded_on=z.day("qdrq", _RQ),
        )
        for z in data.entries("zcxx")
    ]
    ce_years = [
        make(
            ContinuingEducationYear,
            j.path,
            year=j.digits("nd"),
            hours=j.digits("xs"),
            required_hours=j.digits("yqxs"),
        )
        for j in data.entries("jxjy")
    ]
    return make(TalentRecord, data.path, skill_certificates=certificates, titles=titles, continuing_education=ce_years)


DIALECT = LegacyEnvelope()

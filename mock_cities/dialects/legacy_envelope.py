"""湘潭's legacy dialect: ``{"code": 0, "msg": "成功", "data": {...}}`` with pinyin-initial names.

Everything is text, as in the old system's VARCHAR columns: dates ``YYYY/MM/DD``, months ``YYYY/MM``,
yuan as decimal strings (``"3821.50"``), counts as digit strings, Chinese code values (``"职工"``, ``"男"``)
and zero-padded status codes (``"01"`` 正常). The person's fields sit flat in ``data``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel, col, select

from mock_cities.dialects import LocalDocument
from mock_cities.dialects._common import Fields, build, invert, local_month, local_person_no, yuan_text
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


class Ybjf(_Base, table=True):
    """医保缴费记录."""

    __tablename__: ClassVar[str] = "t_ybjf"
    grbh: str = Field(primary_key=True, max_length=30, foreign_key="t_grxx.grbh")
    ny: str = Field(primary_key=True, max_length=7)
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


class Gjjjc(_Base, table=True):
    """公积金缴存记录."""

    __tablename__: ClassVar[str] = "t_gjjjc"
    zh: str = Field(primary_key=True, max_length=30, foreign_key="t_gjjzh.zh")
    ny: str = Field(primary_key=True, max_length=7)
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


class LegacyEnvelope:
    """湘潭: the canonical records as the legacy system shows them."""

    name = "legacy_envelope"
    metadata = metadata

    def to_local_rows(self, records: PersonRecords) -> dict[str, list[dict[str, Any]]]:
        """Rows per table, parents first; tables the person has no rows in are left out."""
        grbh = local_person_no(records)
        person = records.person
        rows: dict[str, list[dict[str, Any]]] = {
            Grxx.__tablename__: [
                {"grbh": grbh, "sfzh": person.id_number, "xm": person.name, "xb": invert(_XB)[person.gender]}
            ]
        }
        if (medical := records.medical_insurance) is not None:
            e = medical.enrolment
            rows[Ybcb.__tablename__] = [
                {
                    "grbh": grbh,
                    "xzlx": invert(_XZLX)[e.insurance_type],
                    "cbzt": invert(_CBZT)[e.status],
                    "cbrq": e.since.strftime(_RQ),
                    "jfys": str(e.contribution_months),
                    "zhye": yuan_text(e.account_balance),
                    "dwmc": e.employer,
                }
            ]
            rows[Ybjf.__tablename__] = [
                {
                    "grbh": grbh,
                    "ny": local_month(c.month, _NY),
                    "jfjs": yuan_text(c.base),
                    "dwjf": yuan_text(c.employer_amount),
                    "grjf": yuan_text(c.personal_amount),
                }
                for c in medical.contributions
            ]
        if (fund := records.provident_fund) is not None:
            a = fund.account
            rows[Gjjzh.__tablename__] = [
                {
                    "zh": a.account_no,
                    "grbh": grbh,
                    "zhzt": invert(_ZHZT)[a.status],
                    "dwmc": a.employer,
                    "khrq": a.opened_on.strftime(_RQ),
                    "jcjs": yuan_text(a.deposit_base),
                    "yjce": yuan_text(a.monthly_deposit),
                    "zhye": yuan_text(a.balance),
                    "jcys": str(a.deposit_months),
                    "dkye": yuan_text(a.outstanding_loan),
                }
            ]
            rows[Gjjjc.__tablename__] = [
                {
                    "zh": a.account_no,
                    "ny": local_month(d.month, _NY),
                    "dwjc": yuan_text(d.employer_amount),
                    "grjc": yuan_text(d.personal_amount),
                }
                for d in fund.deposits
            ]
        talent = records.talent
        rows[Jnzs.__tablename__] = [
            {
                "grbh": grbh,
                "xh": i,
                "zsbh": s.certificate_no,
                "zymc": s.occupation,
                "dj": invert(_DJ)[s.level],
                "fzrq": s.issued_on.strftime(_RQ),
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
                "zcdj": invert(_ZCDJ)[t.grade],
                "qdrq": t.awarded_on.strftime(_RQ),
            }
            for i, t in enumerate(talent.titles)
        ]
        rows[Jxjy.__tablename__] = [
            {"grbh": grbh, "nd": str(y.year), "xs": str(y.hours), "yqxs": str(y.required_hours)}
            for y in talent.continuing_education
        ]
        return {table: table_rows for table, table_rows in rows.items() if table_rows}

    def read_document(self, session: Session, *, id_number: str) -> LocalDocument | None:
        """The 个人综合信息查询 answer of 湘潭's legacy system."""
        gr = session.exec(select(Grxx).where(Grxx.sfzh == id_number)).first()
        if gr is None:
            return None
        grbh = gr.grbh
        cb = session.get(Ybcb, grbh)
        jf = session.exec(select(Ybjf).where(Ybjf.grbh == grbh).order_by(col(Ybjf.ny))).all()
        zh = session.exec(select(Gjjzh).where(Gjjzh.grbh == grbh)).first()
        jc = [] if zh is None else session.exec(select(Gjjjc).where(Gjjjc.zh == zh.zh).order_by(col(Gjjjc.ny))).all()
        zs = session.exec(select(Jnzs).where(Jnzs.grbh == grbh).order_by(col(Jnzs.xh))).all()
        zc = session.exec(select(Zcxx).where(Zcxx.grbh == grbh).order_by(col(Zcxx.xh))).all()
        jy = session.exec(select(Jxjy).where(Jxjy.grbh == grbh).order_by(col(Jxjy.nd))).all()
        data = {
            "grbh": grbh,
            "xm": gr.xm,
            "sfzh": gr.sfzh,
            "xb": gr.xb,
            "ybxx": None
            if cb is None
            else {
                "xzlx": cb.xzlx,
                "cbzt": cb.cbzt,
                "cbrq": cb.cbrq,
                "jfys": cb.jfys,
                "zhye": cb.zhye,
                "dwmc": cb.dwmc,
                "jfjl": [{"ny": j.ny, "jfjs": j.jfjs, "dwjf": j.dwjf, "grjf": j.grjf} for j in jf],
            },
            "gjjxx": None
            if zh is None
            else {
                "zh": zh.zh,
                "zhzt": zh.zhzt,
                "dwmc": zh.dwmc,
                "khrq": zh.khrq,
                "jcjs": zh.jcjs,
                "yjce": zh.yjce,
                "zhye": zh.zhye,
                "jcys": zh.jcys,
                "dkye": zh.dkye,
                "jcjl": [{"ny": j.ny, "dwjc": j.dwjc, "grjc": j.grjc} for j in jc],
            },
            "zsxx": [{"zsbh": z.zsbh, "zymc": z.zymc, "dj": z.dj, "fzrq": z.fzrq, "fzjg": z.fzjg} for z in zs],
            "zcxx": [{"zsbh": z.zsbh, "xl": z.xl, "zcmc": z.zcmc, "zcdj": z.zcdj, "qdrq": z.qdrq} for z in zc],
            "jxjy": [{"nd": j.nd, "xs": j.xs, "yqxs": j.yqxs} for j in jy],
        }
        return {"code": _OK, "msg": "成功", "data": data}

    def to_canonical(self, document: LocalDocument, *, city: CityRef) -> PersonRecords:
        """Map a 湘潭 payload to canonical records; :class:`DialectError` names the malformed field."""
        envelope = Fields(document, "")
        code = envelope.raw("code")
        if code != _OK:
            raise envelope.fail("code", f"the system answered {code!r}: {envelope.raw('msg')!r}")
        data = envelope.section("data")
        grbh = data.text("grbh")
        person = build(
            Person,
            data.path,
            id_number=data.id_number("sfzh"),
            name=data.text("xm"),
            gender=data.coded("xb", _XB),
        )
        yb = data.optional_section("ybxx")
        gjj = data.optional_section("gjjxx")
        return PersonRecords(
            city=city,
            person=person,
            medical_insurance=None if yb is None else _medical(yb, grbh),
            provident_fund=None if gjj is None else _fund(gjj),
            talent=_talent(data),
        )


def _medical(yb: Fields, grbh: str) -> MedicalInsuranceRecord:
    enrolment = build(
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
        build(
            Contribution,
            j.path,
            month=j.month("ny", _NY),
            base=j.yuan("jfjs"),
            employer_amount=j.yuan("dwjf"),
            personal_amount=j.yuan("grjf"),
        )
        for j in yb.entries("jfjl")
    ]
    return MedicalInsuranceRecord(enrolment=enrolment, contributions=contributions)


def _fund(gjj: Fields) -> ProvidentFundRecord:
    account = build(
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
        build(
            Deposit,
            j.path,
            month=j.month("ny", _NY),
            employer_amount=j.yuan("dwjc"),
            personal_amount=j.yuan("grjc"),
        )
        for j in gjj.entries("jcjl")
    ]
    return ProvidentFundRecord(account=account, deposits=deposits)


def _talent(data: Fields) -> TalentRecord:
    certificates = [
        build(
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
        build(
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
        build(
            ContinuingEducationYear,
            j.path,
            year=j.digits("nd"),
            hours=j.digits("xs"),
            required_hours=j.digits("yqxs"),
        )
        for j in data.entries("jxjy")
    ]
    return TalentRecord(skill_certificates=certificates, titles=titles, continuing_education=ce_years)


DIALECT = LegacyEnvelope()

"""株洲's dialect, after the national 医保 information platform (国家医保信息平台) interfaces.

Envelope ``{"infcode": 0, "err_msg": null, "output": {...}}``; abbreviated snake_case names (``psn_no``,
``certno``, ``insutype``); amounts in integer 分 (fen); dates ``YYYYMMDD`` and months ``YYYYMM``; numeric
code tables. Like the platform's 1101 query, enrolments come as a list (``insuinfo``) — here of at most one.
Its provident-fund and talent systems follow the same conventions. Contributions and deposits are kept by
费款所属期 (``accrym_begn`` … ``accrym_end``): one row per period of equal amounts, listed month by month.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel

from mock_cities.columns import CityColumns, LocalDays, Rows, period_rows, table_rows
from mock_cities.dialects import CompactRecords, LocalDocument, LocalRows, PeriodTable
from mock_cities.dialects._common import Assemble, Fields, invert, local_day, local_person_no, mapped, rows_of
from schemas.cities import CityRef
from schemas.medical_insurance import (
    Contribution,
    Enrolment,
    EnrolmentStatus,
    InsuranceType,
    MedicalInsuranceRecord,
)
from schemas.money import yuan_to_fen
from schemas.provident_fund import Deposit, FundAccount, FundAccountStatus, ProvidentFundRecord
from schemas.records import Gender, Person, PersonRecords
from schemas.talent import (
    ContinuingEducationYear,
    ProfessionalTitle,
    SkillCertificate,
    TalentRecord,
    TitleGrade,
)

_RESIDENT_ID_CARD = "01"  # psn_cert_type 居民身份证; the only certificate type the exchange keys on
_GEND = {"1": Gender.MALE, "2": Gender.FEMALE}
_INSUTYPE = {"310": InsuranceType.EMPLOYEE, "390": InsuranceType.RESIDENT}
_PSN_INSU_STAS = {
    "1": EnrolmentStatus.ACTIVE,
    "2": EnrolmentStatus.SUSPENDED,
    "4": EnrolmentStatus.TERMINATED,
}
_ACCT_STAS = {
    "0": FundAccountStatus.NORMAL,
    "1": FundAccountStatus.SEALED,
    "2": FundAccountStatus.FROZEN,
    "9": FundAccountStatus.CLOSED,
}
_SKL_LV = {str(level): level for level in range(1, 6)}
# 专业技术职务级别 as GB/T 8561 numbers them: highest first.
_TITL_LV = {
    "1": TitleGrade.SENIOR,
    "2": TitleGrade.ASSOCIATE_SENIOR,
    "3": TitleGrade.INTERMEDIATE,
    "4": TitleGrade.JUNIOR,
}
_DATE = "%Y%m%d"
_YM = "%Y%m"


class _Base(SQLModel, registry=registry()):
    pass


class PsnInfo(_Base, table=True):
    """人员基本信息."""

    __tablename__: ClassVar[str] = "psn_info"
    psn_no: str = Field(primary_key=True, max_length=30)
    psn_cert_type: str = Field(max_length=3)
    certno: str = Field(max_length=18, unique=True, index=True)
    psn_name: str = Field(max_length=50)
    gend: str = Field(max_length=1)


class PsnInsuD(_Base, table=True):
    """参保信息: at most one enrolment per person in this city."""

    __tablename__: ClassVar[str] = "psn_insu_d"
    psn_no: str = Field(primary_key=True, max_length=30, foreign_key="psn_info.psn_no")
    insutype: str = Field(max_length=6)
    psn_insu_stas: str = Field(max_length=1)
    begndate: str = Field(max_length=8)
    crt_pay_mons: int
    balc: int
    emp_name: str | None = Field(default=None, max_length=200)


class PsnClctPrdD(_Base, table=True):
    """缴费期间明细: one row per 费款所属期 of equal amounts, ``accrym_begn`` to ``accrym_end`` (both included)."""

    __tablename__: ClassVar[str] = "psn_clct_prd_d"
    __table_args__ = {"sqlite_with_rowid": False}  # small rows read by key: the primary key holds them
    psn_no: str = Field(primary_key=True, max_length=30, foreign_key="psn_info.psn_no")
    accrym_begn: str = Field(primary_key=True, max_length=6)
    accrym_end: str = Field(max_length=6)
    clct_base: int
    emp_clct_amt: int
    psn_clct_amt: int


class HfAcct(_Base, table=True):
    """公积金个人账户."""

    __tablename__: ClassVar[str] = "hf_acct"
    hf_acct_no: str = Field(primary_key=True, max_length=30)
    psn_no: str = Field(max_length=30, foreign_key="psn_info.psn_no", unique=True)
    acct_stas: str = Field(max_length=1)
    emp_name: str | None = Field(default=None, max_length=200)
    opn_date: str = Field(max_length=8)
    dpst_base: int
    mon_dpst_amt: int
    balc: int
    dpst_mons: int
    loan_balc: int = 0


class HfDpstPrdD(_Base, table=True):
    """公积金缴存期间明细: one row per period of equal deposits, ``accrym_begn`` to ``accrym_end``."""

    __tablename__: ClassVar[str] = "hf_dpst_prd_d"
    __table_args__ = {"sqlite_with_rowid": False}
    hf_acct_no: str = Field(primary_key=True, max_length=30, foreign_key="hf_acct.hf_acct_no")
    accrym_begn: str = Field(primary_key=True, max_length=6)
    accrym_end: str = Field(max_length=6)
    emp_dpst_amt: int
    psn_dpst_amt: int


class SklCertD(_Base, table=True):
    """职业技能等级证书."""

    __tablename__: ClassVar[str] = "skl_cert_d"
    psn_no: str = Field(primary_key=True, max_length=30, foreign_key="psn_info.psn_no")
    # Position in the person's list: certificates and titles have no natural order to sort by.
    seq_no: int = Field(primary_key=True)
    cert_no: str = Field(max_length=50)
    ocp_name: str = Field(max_length=50)
    skl_lv: str = Field(max_length=1)
    issu_date: str = Field(max_length=8)
    issu_org: str = Field(max_length=100)


class TitlD(_Base, table=True):
    """专业技术职称."""

    __tablename__: ClassVar[str] = "titl_d"
    psn_no: str = Field(primary_key=True, max_length=30, foreign_key="psn_info.psn_no")
    seq_no: int = Field(primary_key=True)
    titl_no: str = Field(max_length=50)
    titl_ser: str = Field(max_length=50)
    titl_name: str = Field(max_length=50)
    titl_lv: str = Field(max_length=1)
    awrd_date: str = Field(max_length=8)


class CeduHrsD(_Base, table=True):
    """继续教育学时, one row per year."""

    __tablename__: ClassVar[str] = "cedu_hrs_d"
    psn_no: str = Field(primary_key=True, max_length=30, foreign_key="psn_info.psn_no")
    year: int = Field(primary_key=True)
    crdt_hrs: int
    req_hrs: int


metadata = _Base.metadata

_GEND_CODE = invert(_GEND)
_INSUTYPE_CODE = invert(_INSUTYPE)
_PSN_INSU_STAS_CODE = invert(_PSN_INSU_STAS)
_ACCT_STAS_CODE = invert(_ACCT_STAS)
_SKL_LV_CODE = invert(_SKL_LV)
_TITL_LV_CODE = invert(_TITL_LV)
# Amounts are kept in fen, the unit of the runs: nothing to convert.
_CLCT_PERIODS = PeriodTable(metadata.tables[PsnClctPrdD.__tablename__], _YM, int)
_DPST_PERIODS = PeriodTable(metadata.tables[HfDpstPrdD.__tablename__], _YM, int)
_SQLITE_DAYS = LocalDays(lambda day: day.strftime(_DATE))
"""Dates as nhsa's text columns hold them, for :meth:`Nhsa.sqlite_rows`."""


# The read side selects rows with SQLAlchemy Core (no ORM objects): the person with their enrolment and fund
# account in one query on the unique certno index, then one query per detail table on its primary key.
_PSN_INFO = metadata.tables[PsnInfo.__tablename__]
_PSN_INSU = metadata.tables[PsnInsuD.__tablename__]
_PSN_CLCT = _CLCT_PERIODS.table
_HF_ACCT = metadata.tables[HfAcct.__tablename__]
_HF_DPST = _DPST_PERIODS.table
_SKL_CERT = metadata.tables[SklCertD.__tablename__]
_TITL = metadata.tables[TitlD.__tablename__]
_CEDU_HRS = metadata.tables[CeduHrsD.__tablename__]
_BASEINFO = (
    select(
        _PSN_INFO.c.psn_no,
        _PSN_INFO.c.psn_cert_type,
        _PSN_INFO.c.certno,
        _PSN_INFO.c.psn_name,
        _PSN_INFO.c.gend,
        _PSN_INSU.c.psn_no.label("insured"),
        _PSN_INSU.c.insutype,
        _PSN_INSU.c.psn_insu_stas,
        _PSN_INSU.c.begndate,
        _PSN_INSU.c.crt_pay_mons,
        _PSN_INSU.c.balc.label("insu_balc"),
        _PSN_INSU.c.emp_name.label("insu_emp_name"),
        _HF_ACCT.c.hf_acct_no,
        _HF_ACCT.c.acct_stas,
        _HF_ACCT.c.emp_name.label("acct_emp_name"),
        _HF_ACCT.c.opn_date,
        _HF_ACCT.c.dpst_base,
        _HF_ACCT.c.mon_dpst_amt,
        _HF_ACCT.c.balc.label("acct_balc"),
        _HF_ACCT.c.dpst_mons,
        _HF_ACCT.c.loan_balc,
    )
    .select_from(
        _PSN_INFO.outerjoin(_PSN_INSU, _PSN_INSU.c.psn_no == _PSN_INFO.c.psn_no).outerjoin(
            _HF_ACCT, _HF_ACCT.c.psn_no == _PSN_INFO.c.psn_no
        )
    )
    .where(_PSN_INFO.c.certno == bindparam("certno"))
)
_CLCTINFO = rows_of(
    _PSN_CLCT,
    "accrym_begn",
    "accrym_end",
    "clct_base",
    "emp_clct_amt",
    "psn_clct_amt",
    key="psn_no",
    order="accrym_begn",
)
_DPSTINFO = rows_of(
    _HF_DPST, "accrym_begn", "accrym_end", "emp_dpst_amt", "psn_dpst_amt", key="hf_acct_no", order="accrym_begn"
)
_SKLCERTINFO = rows_of(
    _SKL_CERT, "cert_no", "ocp_name", "skl_lv", "issu_date", "issu_org", key="psn_no", order="seq_no"
)
_TITLINFO = rows_of(_TITL, "titl_no", "titl_ser", "titl_name", "titl_lv", "awrd_date", key="psn_no", order="seq_no")
_CEDUINFO = rows_of(_CEDU_HRS, "year", "crdt_hrs", "req_hrs", key="psn_no", order="year")


class Nhsa:
    """株洲: the canonical records as the national-platform-style systems show them."""

    name = "nhsa"
    metadata = metadata

    def local_rows(self, records: CompactRecords) -> LocalRows:
        """Rows per table, parents first; the histories as periods."""
        canonical = records.records
        psn_no = local_person_no(canonical)
        person = canonical.person
        rows: dict[str, list[dict[str, Any]]] = {
            PsnInfo.__tablename__: [
                {
                    "psn_no": psn_no,
                    "psn_cert_type": _RESIDENT_ID_CARD,
                    "certno": person.id_number,
                    "psn_name": person.name,
                    "gend": _GEND_CODE[person.gender],
                }
            ]
        }
        periods: dict[str, list[tuple[Any, ...]]] = {}
        if (medical := canonical.medical_insurance) is not None:
            e = medical.enrolment
            rows[PsnInsuD.__tablename__] = [
                {
                    "psn_no": psn_no,
                    "insutype": _INSUTYPE_CODE[e.insurance_type],
                    "psn_insu_stas": _PSN_INSU_STAS_CODE[e.status],
                    "begndate": local_day(e.since, _DATE),
                    "crt_pay_mons": e.contribution_months,
                    "balc": yuan_to_fen(e.account_balance),
                    "emp_name": e.employer,
                }
            ]
            periods[PsnClctPrdD.__tablename__] = _CLCT_PERIODS.rows(psn_no, records.contributions)
        if (fund := canonical.provident_fund) is not None:
            a = fund.account
            rows[HfAcct.__tablename__] = [
                {
                    "hf_acct_no": a.account_no,
                    "psn_no": psn_no,
                    "acct_stas": _ACCT_STAS_CODE[a.status],
                    "emp_name": a.employer,
                    "opn_date": local_day(a.opened_on, _DATE),
                    "dpst_base": yuan_to_fen(a.deposit_base),
                    "mon_dpst_amt": yuan_to_fen(a.monthly_deposit),
                    "balc": yuan_to_fen(a.balance),
                    "dpst_mons": a.deposit_months,
                    "loan_balc": yuan_to_fen(a.outstanding_loan),
                }
            ]
            periods[HfDpstPrdD.__tablename__] = _DPST_PERIODS.rows(a.account_no, records.deposits)
        talent = canonical.talent
        rows[SklCertD.__tablename__] = [
            {
                "psn_no": psn_no,
                "seq_no": i,
                "cert_no": s.certificate_no,
                "ocp_name": s.occupation,
                "skl_lv": _SKL_LV_CODE[s.level],
                "issu_date": local_day(s.issued_on, _DATE),
                "issu_org": s.issuer,
            }
            for i, s in enumerate(talent.skill_certificates)
        ]
        rows[TitlD.__tablename__] = [
            {
                "psn_no": psn_no,
                "seq_no": i,
                "titl_no": t.certificate_no,
                "titl_ser": t.series,
                "titl_name": t.title,
                "titl_lv": _TITL_LV_CODE[t.grade],
                "awrd_date": local_day(t.awarded_on, _DATE),
            }
            for i, t in enumerate(talent.titles)
        ]
        rows[CeduHrsD.__tablename__] = [
            {"psn_no": psn_no, "year": y.year, "crdt_hrs": y.hours, "req_hrs": y.required_hours}
            for y in talent.continuing_education
        ]
        return LocalRows(
            {table: table_rows for table, table_rows in rows.items() if table_rows},
            {table: table_rows for table, table_rows in periods.items() if table_rows},
        )

    def sqlite_rows(self, columns: CityColumns) -> Rows:
        """The persons of ``columns`` as rows per table, parents first, valued as SQLite stores them: what
        ``local_rows`` of their records gives, bound as seeding binds it (tests/mock_cities/test_generated.py)."""
        days, tables, level = _SQLITE_DAYS, metadata.tables, _TITL_LV_CODE
        person_no, account_no = columns.person_no(), columns.account_no()
        persons = columns.persons
        accounts = columns.accounts
        return {
            "psn_info": table_rows(
                tables["psn_info"],
                {
                    "psn_no": person_no,
                    "psn_cert_type": [_RESIDENT_ID_CARD] * persons,
                    "certno": columns.id_number,
                    "psn_name": columns.name,
                    "gend": [_GEND_CODE[g] for g in columns.gender],
                },
            ),
            "psn_insu_d": table_rows(
                tables["psn_insu_d"],
                {
                    "psn_no": person_no,
                    "insutype": [_INSUTYPE_CODE[t] for t in columns.insurance_type],
                    "psn_insu_stas": [_PSN_INSU_STAS_CODE[s] for s in columns.enrolment_status],
                    "begndate": [days[(month, 1)] for month in columns.enrolled],
                    "crt_pay_mons": columns.contribution_months,
                    "balc": columns.medical_balance,
                    "emp_name": columns.employer,
                },
            ),
            "psn_clct_prd_d": period_rows(_CLCT_PERIODS, person_no, columns.contributions, None),
            "hf_acct": table_rows(
                tables["hf_acct"],
                {
                    "hf_acct_no": account_no,
                    "psn_no": [person_no[a.owner] for a in accounts],
                    "acct_stas": [_ACCT_STAS_CODE[a.status] for a in accounts],
                    "emp_name": [columns.employer[a.owner] for a in accounts],
                    "opn_date": [days[(a.opened, 1)] for a in accounts],
                    "dpst_base": [a.base for a in accounts],
                    "mon_dpst_amt": [a.monthly for a in accounts],
                    "balc": [a.balance for a in accounts],
                    "dpst_mons": [a.months for a in accounts],
                    "loan_balc": [a.loan for a in accounts],
                },
            ),
            "hf_dpst_prd_d": period_rows(_DPST_PERIODS, account_no, columns.deposits, None),
            "skl_cert_d": [
                (
                    person_no[c.owner],
                    c.seq,
                    c.certificate_no,
                    c.occupation,
                    _SKL_LV_CODE[c.level],
                    days[c.issued],
                    columns.city.talent.evaluation_body,
                )
                for c in columns.certificates
            ],
            "titl_d": [
                (person_no[t.owner], t.seq, t.certificate_no, t.series, t.title, level[t.grade], days[t.awarded])
                for t in columns.titles
            ],
            "cedu_hrs_d": [(person_no[h.owner], h.year, h.hours, h.required) for h in columns.hours],
        }

    def to_local_rows(self, records: PersonRecords) -> dict[str, list[dict[str, Any]]]:
        """Rows per table, parents first; tables the person has no rows in are left out."""
        return self.local_rows(CompactRecords.of(records)).as_dicts(metadata)

    def read_document(self, session: Session, *, id_number: str) -> LocalDocument | None:
        """The 人员信息获取 answer, extended with this city's 公积金 and 人才 sections."""
        db = session.connection()
        psn = db.execute(_BASEINFO, {"certno": id_number}).first()
        if psn is None:
            return None
        psn_no = psn.psn_no
        by_person = {"psn_no": psn_no}
        clct = [] if psn.insured is None else db.execute(_CLCTINFO, by_person).all()
        dpst = [] if psn.hf_acct_no is None else db.execute(_DPSTINFO, {"hf_acct_no": psn.hf_acct_no}).all()
        certs = db.execute(_SKLCERTINFO, by_person).all()
        titls = db.execute(_TITLINFO, by_person).all()
        cedu = db.execute(_CEDUINFO, by_person).all()
        output = {
            "baseinfo": {
                "psn_no": psn_no,
                "psn_cert_type": psn.psn_cert_type,
                "certno": psn.certno,
                "psn_name": psn.psn_name,
                "gend": psn.gend,
            },
            "insuinfo": []
            if psn.insured is None
            else [
                {
                    "insutype": psn.insutype,
                    "psn_insu_stas": psn.psn_insu_stas,
                    "begndate": psn.begndate,
                    "crt_pay_mons": psn.crt_pay_mons,
                    "balc": psn.insu_balc,
                    "emp_name": psn.insu_emp_name,
                }
            ],
            "clctinfo": [
                {"ym": ym, "clct_base": clct_base, "emp_clct_amt": emp_clct_amt, "psn_clct_amt": psn_clct_amt}
                for ym, clct_base, emp_clct_amt, psn_clct_amt in _CLCT_PERIODS.months(clct)
            ],
            "hfinfo": []
            if psn.hf_acct_no is None
            else [
                {
                    "hf_acct_no": psn.hf_acct_no,
                    "acct_stas": psn.acct_stas,
                    "emp_name": psn.acct_emp_name,
                    "opn_date": psn.opn_date,
                    "dpst_base": psn.dpst_base,
                    "mon_dpst_amt": psn.mon_dpst_amt,
                    "balc": psn.acct_balc,
                    "dpst_mons": psn.dpst_mons,
                    "loan_balc": psn.loan_balc,
                }
            ],
            "dpstinfo": [
                {"ym": ym, "emp_dpst_amt": emp_dpst_amt, "psn_dpst_amt": psn_dpst_amt}
                for ym, emp_dpst_amt, psn_dpst_amt in _DPST_PERIODS.months(dpst)
            ],
            "sklcertinfo": [
                {
                    "cert_no": cert_no,
                    "ocp_name": ocp_name,
                    "skl_lv": skl_lv,
                    "issu_date": issu_date,
                    "issu_org": issu_org,
                }
                for cert_no, ocp_name, skl_lv, issu_date, issu_org in certs
            ],
            "titlinfo": [
                {
                    "titl_no": titl_no,
                    "titl_ser": titl_ser,
                    "titl_name": titl_name,
                    "titl_lv": titl_lv,
                    "awrd_date": awrd_date,
                }
                for titl_no, titl_ser, titl_name, titl_lv, awrd_date in titls
            ],
            "ceduinfo": [{"year": year, "crdt_hrs": crdt_hrs, "req_hrs": req_hrs} for year, crdt_hrs, req_hrs in cedu],
        }
        return {"infcode": 0, "err_msg": None, "output": output}

    def to_canonical(self, document: LocalDocument, *, city: CityRef) -> PersonRecords:
        """Map a 株洲 payload to canonical records; :class:`DialectError` names the malformed field."""
        return mapped(lambda make: _records(document, city, make))


def _records(document: LocalDocument, city: CityRef, make: Assemble) -> Any:
    envelope = Fields(document, "")
    infcode = envelope.raw("infcode")
    if infcode != 0:
        raise envelope.fail("infcode", f"the system answered {infcode!r}: {envelope.raw('err_msg')!r}")
    out = envelope.section("output")
    base = out.section("baseinfo")
    if base.raw("psn_cert_type") != _RESIDENT_ID_CARD:
        raise base.fail("psn_cert_type", f"expected {_RESIDENT_ID_CARD!r} (居民身份证)")
    psn_no = base.text("psn_no")
    person = make(
        Person,
        base.path,
        id_number=base.id_number("certno"),
        name=base.text("psn_name"),
        gender=base.coded("gend", _GEND),
    )
    return make(
        PersonRecords,
        envelope.path,
        city=city,
        person=person,
        medical_insurance=_medical(out, psn_no, make),
        provident_fund=_fund(out, make),
        talent=_talent(out, make),
    )


def _single(out: Fields, key: str, history_key: str) -> Fields | None:
    """The one entry of a 0-or-1 list; a history without its parent entry is malformed."""
    entries = out.entries(key)
    if len(entries) > 1:
        raise out.fail(key, f"expected at most one entry, got {len(entries)}")
    if not entries:
        if out.entries(history_key):
            raise out.fail(history_key, f"history present but {key} is empty")
        return None
    return entries[0]


def _medical(out: Fields, psn_no: str, make: Assemble) -> Any:
    insu = _single(out, "insuinfo", "clctinfo")
    if insu is None:
        return None
    enrolment = make(
        Enrolment,
        insu.path,
        local_person_no=psn_no,
        insurance_type=insu.coded("insutype", _INSUTYPE),
        status=insu.coded("psn_insu_stas", _PSN_INSU_STAS),
        since=insu.day("begndate", _DATE),
        contribution_months=insu.integer("crt_pay_mons"),
        account_balance=insu.fen("balc"),
        employer=insu.optional_text("emp_name"),
    )
    contributions = [
        make(
            Contribution,
            c.path,
            month=c.month("ym", _YM),
            base=c.fen("clct_base"),
            employer_amount=c.fen("emp_clct_amt"),
            personal_amount=c.fen("psn_clct_amt"),
        )
        for c in out.entries("clctinfo")
    ]
    return make(MedicalInsuranceRecord, out.path, enrolment=enrolment, contributions=contributions)


def _fund(out: Fields, make: Assemble) -> Any:
    acct = _single(out, "hfinfo", "dpstinfo")
    if acct is None:
        return None
    account = make(
        FundAccount,
        acct.path,
        account_no=acct.text("hf_acct_no"),
        status=acct.coded("acct_stas", _ACCT_STAS),
        employer=acct.optional_text("emp_name"),
        opened_on=acct.day("opn_date", _DATE),
        deposit_base=acct.fen("dpst_base"),
        monthly_deposit=acct.fen("mon_dpst_amt"),
        balance=acct.fen("balc"),
        deposit_months=acct.integer("dpst_mons"),
        outstanding_loan=acct.optional_fen("loan_balc"),
    )
    deposits = [
        make(
            Deposit,
            d.path,
            month=d.month("ym", _YM),
            employer_amount=d.fen("emp_dpst_amt"),
            personal_amount=d.fen("psn_dpst_amt"),
        )
        for d in out.entries("dpstinfo")
    ]
    return make(ProvidentFundRecord, out.path, account=account, deposits=deposits)


def _talent(out: Fields, make: Assemble) -> Any:
    certificates = [
        make(
            SkillCertificate,
            s.path,
            certificate_no=s.text("cert_no"),
            occupation=s.text("ocp_name"),
            level=s.coded("skl_lv", _SKL_LV),
            issued_on=s.day("issu_date", _DATE),
            issuer=s.text("issu_org"),
        )
        for s in out.entries("sklcertinfo")
    ]
    titles = [
        make(
            ProfessionalTitle,
            t.path,
            certificate_no=t.text("titl_no"),
            series=t.text("titl_ser"),
            title=t.text("titl_name"),
            grade=t.coded("titl_lv", _TITL_LV),
            awarded_on=t.day("awrd_date", _DATE),
        )
        for t in out.entries("titlinfo")
    ]
    ce_years = [
        make(
            ContinuingEducationYear,
            y.path,
            year=y.integer("year"),
            hours=y.integer("crdt_hrs"),
            required_hours=y.integer("req_hrs"),
        )
        for y in out.entries("ceduinfo")
    ]
    return make(TalentRecord, out.path, skill_certificates=certificates, titles=titles, continuing_education=ce_years)


DIALECT = Nhsa()

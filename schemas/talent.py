"""人才 talent records: skill certificates, professional titles and continuing education."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field


class TitleGrade(StrEnum):
    """职称等级: 初级, 中级, 副高级, 正高级."""

    JUNIOR = "junior"
    INTERMEDIATE = "intermediate"
    ASSOCIATE_SENIOR = "associate_senior"
    SENIOR = "senior"


class SkillCertificate(BaseModel):
    """职业技能等级证书: level 5 (初级工) up to level 1 (高级技师)."""

    certificate_no: str
    occupation: str = Field(description="职业 (工种), e.g. 电工")
    level: int = Field(ge=1, le=5, description="1 高级技师 · 2 技师 · 3 高级工 · 4 中级工 · 5 初级工")
    issued_on: date
    issuer: str = Field(description="评价机构")


class ProfessionalTitle(BaseModel):
    """职称: a title in a series, awarded by the issuing city."""

    certificate_no: str
    series: str = Field(description="职称系列, e.g. 工程")
    title: str = Field(description="e.g. 工程师")
    grade: TitleGrade
    awarded_on: date


class ContinuingEducationYear(BaseModel):
    """继续教育学时 earned in one city in one year, and that city's own annual requirement."""

    year: int = Field(ge=1990, le=2100)
    hours: int = Field(ge=0, description="学时 earned in this city")
    required_hours: int = Field(ge=0, description="This city's annual requirement")


class TalentRecord(BaseModel):
    """Everything one city's 人才 system holds on one resident."""

    skill_certificates: list[SkillCertificate]
    titles: list[ProfessionalTitle]
    continuing_education: list[ContinuingEducationYear] = Field(description="Oldest year first")

"""One city's 人才 parameters, as its settings file states them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TalentRules(BaseModel):
    """Continuing-education requirement and credential issuing of one city."""

    ce_hours_required: int = Field(description="专技人员 annual 继续教育学时 requirement")
    certificate_prefix: str = Field(description="Prefix of the city's certificate numbers, e.g. CS")
    evaluation_body: str = Field(description="The city's 职业技能等级认定 body, named on certificates")

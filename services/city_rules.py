"""A city's published rules in all three domains, as the exchange carries them."""

from __future__ import annotations

from pydantic import BaseModel

from schemas.cities import CityRef
from services.medical_insurance.rules import MedicalInsuranceRules
from services.provident_fund.rules import ProvidentFundRules
from services.talent.rules import TalentRules


class CityRules(BaseModel):
    """What one city decides by its own rules: settlement ratios, loan limits, continuing-education hours."""

    city: CityRef
    medical_insurance: MedicalInsuranceRules
    provident_fund: ProvidentFundRules
    talent: TalentRules

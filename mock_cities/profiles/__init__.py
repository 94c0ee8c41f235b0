"""City profiles: what makes a city a city (code, name, dialect, rules), loaded from TOML files.

The three built-in profiles live beside this module. A further city (岳阳, 衡阳 …) is a new TOML
file with the same keys, passed by path: configuration, never code.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, Field

from schemas.cities import CityCode, CityRef
from services.medical_insurance.rules import MedicalInsuranceRules
from services.provident_fund.rules import ProvidentFundRules
from services.talent.rules import TalentRules

PROFILE_DIR = Path(__file__).parent
BUILTIN_PROFILES = ("changsha", "zhuzhou", "xiangtan")


class CityProfile(BaseModel):
    """Everything that distinguishes one city backend from another."""

    code: CityCode
    name: str
    name_en: str
    slug: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", description="File-name-safe short name")
    dialect: str = Field(description="Which local dialect its systems speak (see mock_cities.dialects)")
    local_no_prefix: str = Field(description="Prefix of the city's local person and account numbers")
    districts: list[str] = Field(min_length=1, description="District codes residents' ID numbers start with")
    medical_insurance: MedicalInsuranceRules
    provident_fund: ProvidentFundRules
    talent: TalentRules

    @property
    def ref(self) -> CityRef:
        return CityRef(code=self.code, name=self.name, name_en=self.name_en)


def load_profile(name_or_path: str) -> CityProfile:
    """A built-in profile by name (``changsha``) or any profile file by path."""
    path = Path(name_or_path)
    if name_or_path in BUILTIN_PROFILES:
        path = PROFILE_DIR / f"{name_or_path}.toml"
    with path.open("rb") as handle:
        return CityProfile.model_validate(tomllib.load(handle))


def builtin_profiles() -> list[CityProfile]:
    """长沙, 株洲, 湘潭."""
    return [load_profile(name) for name in BUILTIN_PROFILES]

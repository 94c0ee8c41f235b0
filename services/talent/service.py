"""人才 reference data and calculations shared by every city."""

from __future__ import annotations

from services.talent.rules import TalentRules

SKILL_LEVEL_NAMES = {1: "高级技师", 2: "技师", 3: "高级工", 4: "中级工", 5: "初级工"}

TITLE_SERIES: dict[str, dict[str, str]] = {
    # series → grade → title name
    "工程": {
        "junior": "助理工程师",
        "intermediate": "工程师",
        "associate_senior": "高级工程师",
        "senior": "正高级工程师",
    },
    "卫生": {
        "junior": "医师",
        "intermediate": "主治医师",
        "associate_senior": "副主任医师",
        "senior": "主任医师",
    },
    "教育": {
        "junior": "二级教师",
        "intermediate": "一级教师",
        "associate_senior": "高级教师",
        "senior": "正高级教师",
    },
    "经济": {
        "junior": "助理经济师",
        "intermediate": "经济师",
        "associate_senior": "高级经济师",
        "senior": "正高级经济师",
    },
}


def required_hours(*, rules: TalentRules) -> int:
    """The city's annual continuing-education requirement."""
    return rules.ce_hours_required

"""Whom the kit asks about: a resident the city under test holds, and an ID number no city holds."""

from __future__ import annotations

from datetime import date

from mock_cities.personas import PERSONAS
from schemas.idcard import check_digit, make_id_number

_DEFAULT_PERSONA = {
    "430100": "chen-jing",  # 陈静: every domain in 长沙, insured there (the claim check runs)
    "430200": "liu-yang",  # 刘洋: sealed fund account and terminated insurance in 株洲
    "430300": "wang-xiuying",  # 王秀英: resident insurance in 湘潭 (the claim check runs)
}
_BY_KEY = {persona.key: persona for persona in PERSONAS}

UNKNOWN_ID_NUMBER = make_id_number("110101", date(1901, 1, 1), 997)
"""Valid (GB 11643 check digit and all) yet held by no city: born in Beijing in 1901."""

MOCK_CITY_NAMES = {"430100": "长沙", "430200": "株洲", "430300": "湘潭"}


def default_subject(city_code: str) -> str | None:
    """A demo persona with records in that mock city; ``None`` for any other city (``--subject`` is needed)."""
    key = _DEFAULT_PERSONA.get(city_code)
    return None if key is None else _BY_KEY[key].id_number


def persona_name(id_number: str) -> str | None:
    return next((p.name for p in PERSONAS if p.id_number == id_number), None)


def with_wrong_check_digit(id_number: str) -> str:
    """The same ID number with a check character that does not match (a typo a city must answer with 422)."""
    right = check_digit(id_number[:17])
    return id_number[:17] + ("1" if right != "1" else "2")


def another_city(city_code: str) -> str:
    """A city code that is not ``city_code``: the audience of a misdirected token, a claim's care city."""
    return next(code for code in MOCK_CITY_NAMES if code != city_code)

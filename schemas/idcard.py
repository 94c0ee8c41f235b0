"""居民身份证号 (GB 11643-1999): the 18-character resident identity number.

Layout: 6-digit administrative region code, 8-digit birth date (YYYYMMDD), 3-digit sequence
(odd for men, even for women) and a check character computed over the first 17 digits
(ISO 7064 MOD 11-2; ``X`` stands for 10).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
# ASCII only: \d would also accept full-width and other Unicode digits.
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")


class InvalidIdNumber(ValueError):
    """The string is not a valid 18-character 居民身份证号."""


def check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise InvalidIdNumber("the first 17 characters must be digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def validate_id_number(value: str) -> str:
    """Return the normalised ID number (upper-case ``X``) or raise :class:`InvalidIdNumber`."""
    normalised = value.strip().upper()
    if not _SHAPE.match(normalised):
        raise InvalidIdNumber("must be 17 digits followed by a digit or X (18 characters)")
    try:
        date(int(normalised[6:10]), int(normalised[10:12]), int(normalised[12:14]))
    except ValueError:
        raise InvalidIdNumber(f"birth date {normalised[6:14]} is not a calendar date") from None
    expected = check_digit(normalised[:17])
    if normalised[17] != expected:
        raise InvalidIdNumber(f"check digit is {normalised[17]}, expected {expected}")
    return normalised


def make_id_number(region: str, birth: date, sequence: int) -> str:
    """Build a valid ID number from a 6-digit region code, a birth date and a 3-digit sequence."""
    if len(region) != 6 or not (region.isascii() and region.isdigit()):
        raise InvalidIdNumber("region must be a 6-digit administrative code")
    if not 0 <= sequence <= 999:
        raise InvalidIdNumber("sequence must be 0..999")
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)


def birth_date_of(id_number: str) -> date:
    """The birth date encoded in a (valid) ID number."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def gender_of(id_number: str) -> str:
    """``"male"`` or ``"female"``, from the parity of the sequence digit."""
    return "male" if int(id_number[16]) % 2 else "female"


def mask_id_number(id_number: str) -> str:
    """Shown as 430102********1234: region kept, birth date and sequence hidden."""
    return f"{id_number[:6]}********{id_number[14:]}"


IdNumber = Annotated[str, AfterValidator(validate_id_number)]
"""A validated 居民身份证号, for use in Pydantic models and FastAPI parameters."""

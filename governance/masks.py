"""Masks: how a field a policy does not release in clear is shown instead.

    partial   keep the first ⌈n/3⌉ and last ⌊n/4⌋ characters: 430102199005121234 → 430102********1234,
              刘洋 → 刘*; ``keep_start`` / ``keep_end`` override the split
    hash      a keyed pseudonym (HMAC-SHA256 under the gateway's secret): the same value always gives the
              same pseudonym, so records can be linked without being read, and cannot be enumerated back
    year      dates and months shown as their year only: 1990-05-12 → "1990"
    redact    the value is replaced by "***": the requester learns that the field exists, not what it holds

A field a policy neither allows nor masks is withheld: it is absent from the answer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

REDACTED = "***"


class MaskKind(StrEnum):
    PARTIAL = "partial"
    HASH = "hash"
    YEAR = "year"
    REDACT = "redact"


@dataclass(frozen=True, slots=True)
class Mask:
    kind: MaskKind
    keep_start: int | None = None
    keep_end: int | None = None

    def __str__(self) -> str:
        if self.kind is MaskKind.PARTIAL and (self.keep_start is not None or self.keep_end is not None):
            return f"partial({self.keep_start},{self.keep_end})"
        return self.kind.value


def apply_mask(mask: Mask, value: Any, *, hash_key: bytes) -> Any:
    """``value`` as ``mask`` shows it; ``None`` stays ``None`` (there is nothing to hide)."""
    if value is None:
        return None
    if mask.kind is MaskKind.REDACT:
        return REDACTED
    if mask.kind is MaskKind.HASH:
        return pseudonym(_text(value), key=hash_key)
    if mask.kind is MaskKind.YEAR:
        return _year(value)
    return partial(_text(value), keep_start=mask.keep_start, keep_end=mask.keep_end)


def pseudonym(value: str, *, key: bytes) -> str:
    """A keyed, stable pseudonym of ``value`` ("h:" and 16 hex digits of HMAC-SHA256 under ``key``).

    The audit log and consents name data subjects by it, never by the raw ID number.
    """
    return "h:" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]


def partial(text: str, *, keep_start: int | None = None, keep_end: int | None = None) -> str:
    """``text`` with its middle starred out (see the module docstring)."""
    n = len(text)
    start = -(-n // 3) if keep_start is None else keep_start
    end = n // 4 if keep_end is None else keep_end
    if start + end >= n:  # too short to keep both ends: keep the first character at most
        start, end = min(start, 1 if n > 1 else 0), 0
    return text[:start] + "*" * (n - start - end) + (text[n - end :] if end else "")


_DATE_LIKE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])(-\d{2}([T ].*)?)?$")
"""An ISO month (1990-05) or date (1990-05-12, with or without a time)."""


def _year(value: Any) -> str:
    if isinstance(value, date | datetime):
        return str(value.year)
    match = _DATE_LIKE.match(str(value))
    return match.group(1) if match else REDACTED  # not a date after all: hide it rather than leak it


def _text(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)

"""Money and calendar-month types of the exchange standard."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

CENT = Decimal("0.01")


def to_yuan(value: Decimal) -> Decimal:
    """Round to whole 分 (0.01 yuan), half up, as Chinese fund and insurance ledgers do."""
    try:
        # Rounding passed by position: C decimal parses a keyword argument slower than it quantizes (~2x), and
        # every amount of every answer goes through here.
        return value.quantize(CENT, ROUND_HALF_UP)
    except InvalidOperation:
        # More digits than decimal arithmetic keeps (28): no ledger holds such an amount. A ValueError makes it
        # a 422 naming the field, where the InvalidOperation was a 500.
        raise ValueError(f"{value:.3e} yuan is not an amount any ledger holds") from None


def fen_to_yuan(fen: int) -> Decimal:
    """Integer 分 (fen) to yuan."""
    return (Decimal(fen) / 100).quantize(CENT)


def yuan_to_fen(yuan: Decimal) -> int:
    """Yuan to integer 分, rounding half up."""
    return int(to_yuan(yuan) * 100)


Yuan = Annotated[Decimal, AfterValidator(to_yuan)]
"""An amount in yuan (元) with two decimals; serialised as a decimal string, e.g. "1234.50"."""

Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
"""A calendar month, ISO style ``YYYY-MM``."""

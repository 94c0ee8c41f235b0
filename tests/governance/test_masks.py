"""Masks: partial, hash, year and redact; None stays None whatever the mask."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import pytest

from governance.masks import REDACTED, Mask, MaskKind, apply_mask, partial, pseudonym

KEY = b"czt-test-pseudonym-key-0123456789"
OTHER_KEY = b"another-gateway-secret-987654321"
ID_NUMBER = "430102199005121234"


def masked(kind: MaskKind, value: Any, *, keep_start: int | None = None, keep_end: int | None = None) -> Any:
    return apply_mask(Mask(kind, keep_start, keep_end), value, hash_key=KEY)


# --- partial --------------------------------------------------------------------------------------------

PARTIAL = [
    (ID_NUMBER, None, None, "430102********1234"),
    ("43010219900512123X", None, None, "430102********123X"),
    ("刘洋", None, None, "刘*"),
    ("王秀英", None, None, "王**"),
    ("欧阳娜娜", None, None, "欧阳*娜"),
    ("6217000012345678", None, None, "621700******5678"),
    (ID_NUMBER, 3, 4, "430***********1234"),
    (ID_NUMBER, 0, 4, "**************1234"),
    (ID_NUMBER, 6, 0, "430102************"),
    (ID_NUMBER, 0, 0, "******************"),
    (ID_NUMBER, 10, 10, "4*****************"),  # asks for more than there is: keep one character at most
    ("刘", None, None, "*"),
    ("7", None, None, "*"),
    ("刘洋", 1, 1, "刘*"),
    ("", None, None, ""),
]


@pytest.mark.parametrize(("text", "keep_start", "keep_end", "shown"), PARTIAL)
def test_partial_stars_out_the_middle(text: str, keep_start: int | None, keep_end: int | None, shown: str) -> None:
    assert masked(MaskKind.PARTIAL, text, keep_start=keep_start, keep_end=keep_end) == shown
    assert partial(text, keep_start=keep_start, keep_end=keep_end) == shown
    assert len(shown) == len(text)


@pytest.mark.parametrize("text", ["刘", "刘洋", "王秀英", "7", "42"])
def test_partial_never_shows_a_short_value_whole(text: str) -> None:
    assert "*" in masked(MaskKind.PARTIAL, text)


def test_partial_shows_a_number_as_text() -> None:
    assert masked(MaskKind.PARTIAL, 6217000012345678) == "621700******5678"


# --- hash -----------------------------------------------------------------------------------------------


def test_hash_is_stable_for_the_same_key() -> None:
    assert masked(MaskKind.HASH, ID_NUMBER) == masked(MaskKind.HASH, ID_NUMBER)


def test_hash_differs_across_keys_and_values() -> None:
    assert pseudonym(ID_NUMBER, key=KEY) != pseudonym(ID_NUMBER, key=OTHER_KEY)
    assert pseudonym(ID_NUMBER, key=KEY) != pseudonym("430102199005121242", key=KEY)


@pytest.mark.parametrize("value", [ID_NUMBER, "刘洋", "6217000012345678", "1"])
def test_hash_is_h_and_16_hex_digits_and_hides_the_value(value: str) -> None:
    shown = masked(MaskKind.HASH, value)

    assert re.fullmatch(r"h:[0-9a-f]{16}", shown)
    assert value not in shown


@pytest.mark.parametrize("value", [ID_NUMBER, "刘洋", date(1990, 5, 12), 1234])
def test_pseudonym_is_the_hash_mask(value: Any) -> None:
    text = value.isoformat() if isinstance(value, date) else str(value)

    assert masked(MaskKind.HASH, value) == pseudonym(text, key=KEY)


# --- year -----------------------------------------------------------------------------------------------

YEAR = [
    (date(1990, 5, 12), "1990"),
    (datetime(2021, 3, 4, 10, 30), "2021"),
    ("1990-05-12", "1990"),
    ("2021-03-04T10:30:00", "2021"),
    ("2023-07", "2023"),
    ("刘洋", REDACTED),
    ("May 1990", REDACTED),
    ("", REDACTED),
]


@pytest.mark.parametrize(("value", "shown"), YEAR)
def test_year_shows_a_date_as_its_year_and_anything_else_not_at_all(value: Any, shown: str) -> None:
    assert masked(MaskKind.YEAR, value) == shown


@pytest.mark.parametrize("value", [ID_NUMBER, "6217000012345678", "12345"])
def test_year_does_not_leak_the_start_of_a_number_that_is_not_a_date(value: str) -> None:
    assert masked(MaskKind.YEAR, value) == REDACTED


# --- redact, and None -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [ID_NUMBER, "刘洋", "", 0, date(1990, 5, 12), "1234.50"])
def test_redact_shows_three_stars(value: Any) -> None:
    assert masked(MaskKind.REDACT, value) == REDACTED == "***"


@pytest.mark.parametrize("kind", MaskKind)
def test_none_stays_none_under_every_mask(kind: MaskKind) -> None:
    assert masked(kind, None) is None
    assert masked(kind, None, keep_start=2, keep_end=2) is None


@pytest.mark.parametrize(
    ("mask", "written"),
    [
        (Mask(MaskKind.PARTIAL), "partial"),
        (Mask(MaskKind.PARTIAL, 0, 4), "partial(0,4)"),
        (Mask(MaskKind.HASH), "hash"),
        (Mask(MaskKind.YEAR), "year"),
        (Mask(MaskKind.REDACT), "redact"),
    ],
)
def test_a_mask_is_written_as_the_policy_names_it(mask: Mask, written: str) -> None:
    assert str(mask) == written

"""居民身份证号 (GB 11643-1999): shape, birth date and the ISO 7064 MOD 11-2 check character."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import TypeAdapter, ValidationError

from schemas.idcard import (
    IdNumber,
    InvalidIdNumber,
    birth_date_of,
    check_digit,
    gender_of,
    make_id_number,
    mask_id_number,
    validate_id_number,
)


def by_hand(first17: str) -> str:
    """The check character as GB 11643 defines it, independently of the module's tables.

    Position i (1-based from the right, the check character being position 1) weighs 2^(i-1) mod 11;
    the check value is (12 - sum mod 11) mod 11, and 10 is written X.
    """
    weights = [2 ** (18 - position) % 11 for position in range(1, 18)]  # positions 1..17 from the left
    value = (12 - sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11) % 11
    return "X" if value == 10 else str(value)


# Examples from GB 11643-1999 itself, one ending in X, and a demo persona.
KNOWN_VALID = ["11010519491231002X", "440524188001010014", "430203199005129171"]


def test_hand_computation_agrees_with_the_standard_examples() -> None:
    # Guards the test's own arithmetic: the standard's worked examples must come out right.
    assert by_hand("11010519491231002") == "X"
    assert by_hand("44052418800101001") == "4"


@pytest.mark.parametrize("number", KNOWN_VALID)
def test_known_valid_numbers_are_accepted(number: str) -> None:
    assert validate_id_number(number) == number
    assert check_digit(number[:17]) == number[17]


@pytest.mark.parametrize(
    "first17",
    ["43010219900101123", "43020319850615456", "43030420000229002", "43010519491231002", "11010519491231002"],
)
def test_check_digit_matches_the_hand_computation(first17: str) -> None:
    assert check_digit(first17) == by_hand(first17)
    assert validate_id_number(first17 + by_hand(first17)) == first17 + by_hand(first17)


def test_every_check_value_including_x_is_computed_right() -> None:
    # Vary the sequence until every one of the 11 check characters has appeared at least once.
    seen: dict[str, str] = {}
    for sequence in range(200):
        first17 = f"43010219900101{sequence:03d}"
        seen.setdefault(by_hand(first17), first17)
    assert set(seen) == set("0123456789X")
    for expected, first17 in seen.items():
        assert check_digit(first17) == expected


def test_lowercase_x_and_surrounding_space_are_normalised() -> None:
    assert validate_id_number("11010519491231002x") == "11010519491231002X"
    assert validate_id_number("  430203199005129171\n") == "430203199005129171"


@pytest.mark.parametrize(
    "number",
    [
        "",
        "43020319900512917",  # 17 characters
        "4302031990051291711",  # 19 characters
        "43020319900512917A",  # check character neither digit nor X
        "4302031990051291X1",  # X before the end
        "43020319900512917 1",
    ],
)
def test_wrong_shape_is_rejected(number: str) -> None:
    with pytest.raises(InvalidIdNumber, match="17 digits followed by a digit or X"):
        validate_id_number(number)


@pytest.mark.parametrize("number", ["43020319９0051291７1", "４３０２０３１９９００５１２９１７1"])
def test_non_ascii_digits_are_rejected(number: str) -> None:
    # Full-width digits (from a Chinese IME) must not slip through as a "valid" ID number no city stores.
    with pytest.raises(InvalidIdNumber, match="17 digits followed by a digit or X"):
        validate_id_number(number)


@pytest.mark.parametrize("birth", ["19900230", "19901301", "19900001", "19000229", "20230229"])
def test_impossible_birth_date_is_rejected(birth: str) -> None:
    first17 = f"430102{birth}123"
    number = first17 + by_hand(first17)  # a correct check digit, so only the date is wrong
    with pytest.raises(InvalidIdNumber, match=f"birth date {birth} is not a calendar date"):
        validate_id_number(number)


def test_leap_day_is_a_valid_birth_date() -> None:
    first17 = "43010220000229123"
    assert validate_id_number(first17 + by_hand(first17)) == first17 + by_hand(first17)


def test_wrong_check_digit_is_rejected_naming_the_expected_one() -> None:
    with pytest.raises(InvalidIdNumber, match="check digit is 0, expected 1"):
        validate_id_number("430203199005129170")
    with pytest.raises(InvalidIdNumber, match="check digit is 2, expected X"):
        validate_id_number("110105194912310022")


def test_a_single_changed_digit_is_caught() -> None:
    valid = "430203199005129171"
    for position in range(17):
        digit = str((int(valid[position]) + 1) % 10)
        changed = valid[:position] + digit + valid[position + 1 :]
        with pytest.raises(InvalidIdNumber):
            validate_id_number(changed)


def test_invalid_id_number_is_a_value_error() -> None:
    # Pydantic turns ValueError from validators into a 422 naming the field; anything else would be a 500.
    assert issubclass(InvalidIdNumber, ValueError)


def test_id_number_type_validates_in_models() -> None:
    adapter = TypeAdapter(IdNumber)
    assert adapter.validate_python("11010519491231002x") == "11010519491231002X"
    with pytest.raises(ValidationError, match="check digit is 0, expected 1"):
        adapter.validate_python("430203199005129170")


def test_mask_keeps_region_and_last_four() -> None:
    assert mask_id_number("430102199001011234") == "430102********1234"
    masked = mask_id_number("11010519491231002X")
    assert masked == "110105********002X"
    assert len(masked) == 18
    assert "19491231" not in masked


@pytest.mark.parametrize(
    ("region", "birth", "sequence"),
    [("430102", date(1990, 1, 1), 123), ("430203", date(1958, 3, 8), 924), ("430302", date(2000, 2, 29), 0)],
)
def test_make_id_number_round_trips(region: str, birth: date, sequence: int) -> None:
    number = make_id_number(region, birth, sequence)
    assert validate_id_number(number) == number
    assert number[:6] == region
    assert birth_date_of(number) == birth
    assert int(number[14:17]) == sequence
    assert number[17] == by_hand(number[:17])


@pytest.mark.parametrize(
    ("region", "sequence", "message"),
    [("43010", 1, "6-digit"), ("43010A", 1, "6-digit"), ("430102", -1, "0..999"), ("430102", 1000, "0..999")],
)
def test_make_id_number_rejects_bad_parts(region: str, sequence: int, message: str) -> None:
    with pytest.raises(InvalidIdNumber, match=message):
        make_id_number(region, date(1990, 1, 1), sequence)


def test_gender_follows_the_parity_of_the_sequence() -> None:
    for sequence in range(20):
        number = make_id_number("430102", date(1990, 1, 1), sequence)
        assert gender_of(number) == ("male" if sequence % 2 else "female")
    assert gender_of("430203199005129171") == "male"  # 刘洋, sequence 917
    assert gender_of("11010519491231002X") == "female"  # sequence 002

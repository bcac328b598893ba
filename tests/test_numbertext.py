"""Numbers typed on the command line and in the console's fields."""

from __future__ import annotations

import pytest

from swarmtui.numbertext import parse_decimal, parse_whole_number

# Forms that float() and int() read but that no field accepts.
TYPO_FORMS = ["1_0", " 10", "10 ", "10\n", "\u0661\u0660", "nan", "inf", "+10", "-1"]


@pytest.mark.parametrize(
    ("text", "value"),
    [("10", 10.0), ("2.5", 2.5), ("0.1", 0.1), (".5", 0.5), ("5.", 5.0)],
)
def test_decimal_accepts_plain_forms(text: str, value: float) -> None:
    assert parse_decimal(text) == value
    assert parse_decimal(text, exponent=True) == value


@pytest.mark.parametrize("text", [*TYPO_FORMS, "", ".", "1e1", "1.5e-3", "0x10"])
def test_decimal_rejects_other_forms(text: str) -> None:
    assert parse_decimal(text) is None


@pytest.mark.parametrize(
    ("text", "value"), [("1e1", 10.0), ("1.67e-08", 1.67e-08), ("2E+3", 2000.0)]
)
def test_decimal_exponent_when_allowed(text: str, value: float) -> None:
    assert parse_decimal(text, exponent=True) == value


@pytest.mark.parametrize("text", [*TYPO_FORMS, "1e", "e5", "1e1_0", "1e\u0661"])
def test_decimal_exponent_rejects_typos(text: str) -> None:
    assert parse_decimal(text, exponent=True) is None


def test_whole_number_accepts_digits() -> None:
    assert parse_whole_number("10") == 10
    assert parse_whole_number("007") == 7


@pytest.mark.parametrize("text", [*TYPO_FORMS, "", "2.0", "1e1", "9" * 5000])
def test_whole_number_rejects_other_forms(text: str) -> None:
    assert parse_whole_number(text) is None

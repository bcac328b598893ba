"""Times typed by the user: durations back from now and ISO 8601 times."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from swarmtui.errors import TimeTextError
from swarmtui.timetext import (
    format_utc,
    parse_duration,
    parse_time_or_duration,
    seconds_text,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w", timedelta(weeks=1)),
        (" 1H 30M ", timedelta(hours=1, minutes=30)),
    ],
)
def test_duration_forms(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_time_or_duration(text, now=NOW) == NOW - expected


@pytest.mark.parametrize(
    "text",
    ["", "2", "h", "2x", "-2h", "2h-", "1_0m", "\u0661d", "1\u0660h", "1d1d", "1m1h"],
)
def test_not_a_duration(text: str) -> None:
    assert parse_duration(text) is None


def test_other_digits_not_a_time() -> None:
    with pytest.raises(TimeTextError):
        parse_time_or_duration("\u0661d", now=NOW)


def test_iso_times_become_utc() -> None:
    assert parse_time_or_duration("2026-12-04T10:00Z") == datetime(
        2026, 12, 4, 10, tzinfo=UTC
    )
    moment = parse_time_or_duration("2026-12-04 10:00+01:00")
    assert moment == datetime(2026, 12, 4, 9, tzinfo=UTC)
    assert moment.tzinfo is UTC


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "America/New_York"])
def test_naive_time_is_utc(zone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        moment = parse_time_or_duration("2026-12-04T10:00")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert moment == datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert moment.tzinfo is UTC


def test_invalid_time_text() -> None:
    with pytest.raises(TimeTextError) as caught:
        parse_time_or_duration("next tuesday")
    assert "next tuesday" in caught.value.message
    assert "2h" in caught.value.hint


def test_format_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert format_utc(datetime(2026, 1, 2, 5, 6, 7, tzinfo=plus_two)) == (
        "2026-01-02T03:06:07Z"
    )
    assert format_utc(datetime(2026, 1, 2, 5, 6, 7)) == "2026-01-02T05:06:07Z"
    assert format_utc(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00Z"
    assert format_utc(datetime(999, 3, 4, 0, 0, 1, 5, tzinfo=UTC), exact=True) == (
        "0999-03-04T00:00:01.000005Z"
    )
    assert parse_time_or_duration(format_utc(datetime(1, 1, 1, tzinfo=UTC))) == (
        datetime(1, 1, 1, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    "text",
    ["99999999d", "999999999999999999999d", "3000000w", "9" * 5000 + "s"],
    ids=["days", "many-days", "weeks", "5000-digits"],
)
@pytest.mark.parametrize("strict", [False, True], ids=["field", "option"])
def test_duration_before_year_one(text: str, strict: bool) -> None:
    with pytest.raises(TimeTextError) as caught:
        parse_time_or_duration(text, now=NOW, strict=strict)

    assert caught.value.exit_code == 2
    assert f"The duration {text!r} reaches back before the year 1." == (
        caught.value.message
    )


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(1, "1 second"), (1.0, "1 second"), (2, "2 seconds"), (0.5, "0.5 seconds")],
)
def test_seconds_text(seconds: float, expected: str) -> None:
    assert seconds_text(seconds) == expected


@pytest.mark.parametrize(
    ("moment", "exact", "expected"),
    [
        (datetime(2026, 12, 5, 12, 45, 27, 737290, tzinfo=UTC), False, "12:45:27Z"),
        (
            datetime(2026, 12, 5, 12, 45, 27, 737290, tzinfo=UTC),
            True,
            "12:45:27.73729Z",
        ),
        (datetime(2026, 12, 5, 12, 45, 27, 500000, tzinfo=UTC), True, "12:45:27.5Z"),
        (datetime(2026, 12, 5, 12, 45, 27, tzinfo=UTC), True, "12:45:27Z"),
    ],
)
def test_format_utc_fraction(moment: datetime, exact: bool, expected: str) -> None:
    assert format_utc(moment, exact=exact) == f"2026-12-05T{expected}"


def test_duration_start_whole_seconds() -> None:
    now = datetime(2026, 12, 5, 13, 44, 38, 832507, tzinfo=UTC)

    start = parse_time_or_duration("5m", now=now)

    assert start == datetime(2026, 12, 5, 13, 39, 38, tzinfo=UTC)
    assert format_utc(start, exact=True) == "2026-12-05T13:39:38Z"


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00+01:00", "9999-12-31T23:59-01:00", "0001-01-01 00:30+01"]
)
def test_time_outside_utc_years(text: str) -> None:
    with pytest.raises(TimeTextError) as caught:
        parse_time_or_duration(text, now=NOW)

    assert caught.value.exit_code == 2
    assert caught.value.message == (
        f"{text!r} lies outside the years 1 to 9999 in UTC."
    )
    assert "2h" in caught.value.hint


def test_times_at_utc_year_edges() -> None:
    assert parse_time_or_duration("0001-01-01T00:00-01:00", now=NOW) == datetime(
        1, 1, 1, 1, tzinfo=UTC
    )
    assert parse_time_or_duration("9999-12-31T23:59+01:00", now=NOW) == datetime(
        9999, 12, 31, 22, 59, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["1d1d", "1m1h", "2h30m1h", "1s1w", "1h0h"])
@pytest.mark.parametrize("strict", [False, True], ids=["field", "option"])
def test_duration_units_out_of_order(text: str, strict: bool) -> None:
    with pytest.raises(TimeTextError) as caught:
        parse_time_or_duration(text, now=NOW, strict=strict)

    assert caught.value.exit_code == 2
    assert caught.value.message == (
        f"{text!r} repeats a unit or gives its units out of order."
    )
    assert "from the largest to the smallest (w, d, h, m, s)" in caught.value.hint
    assert "1d12h" in caught.value.hint


def test_duration_all_units_in_order() -> None:
    expected = timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)

    assert parse_time_or_duration("1w2d3h4m5s", now=NOW, strict=True) == (
        NOW - expected
    )


def test_duration_field_out_of_order_uppercase() -> None:
    with pytest.raises(TimeTextError) as caught:
        parse_time_or_duration(" 1M 1H ", now=NOW)

    assert (
        caught.value.message
        == "'1M 1H' repeats a unit or gives its units out of order."
    )

"""Times typed by the user: an ISO 8601 time or a duration back from now.

``2h``, ``90m``, ``1d12h``, ``45s`` and ``1w`` mean that long before now.
``2026-12-04T10:00Z`` and ``2026-12-04 10:00+01:00`` are absolute times; an
ISO time without an offset is taken as UTC, the zone that the console and the
CLI show every time in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from swarmtui.errors import TimeTextError
from swarmtui.text import quoted
from swarmtui.tokens import quote_input

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# The amounts are ASCII digits. \d would also match other scripts' digits,
# such as Arabic-Indic ones, which int() reads too.
_DURATION_PART = re.compile(r"([0-9]+)([smhdw])")
# Amounts and units in any order, such as 1m1h or 1d1d.
_DURATION_LIKE = re.compile(r"(?:[0-9]+[smhdw])+")
# A duration: each unit at most once, from the largest to the smallest.
_DURATION = re.compile(
    r"(?=[0-9])(?:[0-9]+w)?(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?"
)


def parse_duration(text: str) -> timedelta | None:
    """Parse ``1h30m``-style text into a timedelta, or return None if it is not one.

    A unit given twice or after a smaller one, as in 1d1d or 1m1h, is not a
    duration.
    """
    compact = text.strip().lower().replace(" ", "")
    if not compact or not _DURATION.fullmatch(compact):
        return None
    seconds = sum(
        int(amount) * _UNIT_SECONDS[unit]
        for amount, unit in _DURATION_PART.findall(compact)
    )
    return timedelta(seconds=seconds)


def _check_typed_form(text: str) -> None:
    """Raise TimeTextError for spaces around `text` or a duration not in lowercase.

    Command-line options take only the documented forms, as the numeric
    options do: "2h", not " 2h", "2H" or "1h 30m".
    """
    if text != text.strip():
        raise TimeTextError(
            f"{quoted(text)} has spaces around it.",
            "Write the time or duration without them, such as 2h or 2026-12-04T10:00Z.",
        )
    written = text.lower().replace(" ", "")
    # The form alone: a duration too long to compute is reported later.
    if _DURATION.fullmatch(written) and not _DURATION.fullmatch(text):
        raise TimeTextError(
            f"{quoted(text)} is not a valid duration.",
            f"Write its units in lowercase and without spaces, as in {written}.",
        )


def _check_unit_order(text: str) -> None:
    """Raise TimeTextError for a duration with a unit repeated or out of order.

    1d1d and 1m1h are more likely typos than the sums they could stand for.
    """
    compact = text.strip().lower().replace(" ", "")
    if _DURATION_LIKE.fullmatch(compact) and not _DURATION.fullmatch(compact):
        raise TimeTextError(
            f"{quoted(text.strip())} repeats a unit or gives its units out of order.",
            "Write each unit at most once, from the largest to the smallest "
            "(w, d, h, m, s), such as 2h, 1d12h or 1h30m.",
        )


def parse_time_or_duration(
    text: str, now: datetime | None = None, *, strict: bool = False
) -> datetime:
    """Turn user text into an aware UTC time; a duration counts back from `now`.

    With `strict`, as for command-line options, spaces around the text and a
    duration in other than lowercase units without spaces are rejected. The
    console's leak response field drops the spaces around its text first.
    """
    now = now or datetime.now(UTC)
    if strict:
        _check_typed_form(text)
    _check_unit_order(text)
    try:
        duration = parse_duration(text)
        if duration is not None:
            # Rounded down to whole seconds, so the start prints without a
            # fraction and lies at or before the requested duration.
            return (now - duration).astimezone(UTC).replace(microsecond=0)
    except (OverflowError, ValueError):
        # int() raises ValueError for an amount of over 4300 digits.
        raise TimeTextError(
            f"The duration {text.strip()!r} reaches back before the year 1.",
            "Give a shorter duration, such as 30d, or an ISO 8601 time.",
        ) from None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TimeTextError(
            f"{quote_input(text)} is neither a time nor a duration.",
            "Give an ISO 8601 time such as 2026-12-04T10:00Z, or a duration "
            "back from now such as 30m, 2h or 1d.",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+01:00 is in the year 0 in UTC, and
        # 9999-12-31T23:59-01:00 in the year 10000.
        raise TimeTextError(
            f"{text.strip()!r} lies outside the years 1 to 9999 in UTC.",
            "Give a time within those years, such as 2026-12-04T10:00Z, or a "
            "duration back from now such as 2h.",
        ) from None


def seconds_text(seconds: float) -> str:
    """Return "1 second" or "2.5 seconds" for a number of seconds."""
    unit = "second" if seconds == 1 else "seconds"
    return f"{seconds:g} {unit}"


def format_utc(moment: datetime, exact: bool = False) -> str:
    """Write a time as ISO 8601 in UTC with a Z, to the second.

    With `exact`, a fraction of a second is kept, so that a start time typed
    as 12:45:27.5 does not read as the 12:45:27 of a node that joined before.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    # isoformat writes the year with four digits, which strftime's %Y does
    # not do on Linux for a year before 1000.
    text = moment.replace(tzinfo=None).isoformat(timespec="seconds")
    if exact and moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"

"""Numbers typed by the user, in the forms that the CLI and the console accept.

Python's ``float()`` and ``int()`` also read ``1_0`` (as 10), surrounding
spaces, the digits of other scripts (such as Arabic-Indic digits), ``nan``,
``inf`` and exponents such as ``1e1``. In a number of seconds or minutes,
each of those is a typo. So these parsers take only ASCII digits with an
optional decimal point, and an exponent only where the field's help text
shows one.
"""

from __future__ import annotations

import re

_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EXPONENT = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def parse_decimal(text: str, *, exponent: bool = False) -> float | None:
    """Return the value of `text` such as ``10`` or ``2.5``, or None for another form.

    With `exponent`, a form such as ``1.67e-08`` is accepted too. The result
    may be infinite (``1e999``), so callers still check their range.
    """
    pattern = _EXPONENT if exponent else _DECIMAL
    if not pattern.fullmatch(text):
        return None
    return float(text)


def parse_whole_number(text: str) -> int | None:
    """Return the value of `text` made of ASCII digits only, or None otherwise."""
    if not _WHOLE.fullmatch(text):
        return None
    try:
        return int(text)
    except ValueError:
        # int() rejects a number of more than 4300 digits.
        return None

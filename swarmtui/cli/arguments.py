"""Argument types shared by several subcommands."""

from __future__ import annotations

import argparse

from swarmtui.numbertext import parse_whole_number


def positive_int(text: str) -> int:
    """Parse a whole number of 1 or more. Argparse turns a failure into exit 2.

    Only ASCII digits are accepted, not 1_0, surrounding spaces or other
    scripts' digits.
    """
    value = parse_whole_number(text)
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value

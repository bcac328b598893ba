"""Argument types shared by several subcommands."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """Parse a whole number of 1 or more. Argparse turns a failure into exit 2."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not 1 or more")
    return value

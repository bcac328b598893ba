"""Argument types and option helpers shared by several subcommands."""

from __future__ import annotations

import argparse

from swarmtui.numbertext import parse_whole_number


def positive_int(text: str) -> int:
    """Parse a whole number of 1 or more. Argparse turns a failure into exit 2.

    Only ASCII digits are accepted, not 1_0, surrounding spaces or other
    scripts' digits.
    """
    value = parse_whole_number(text)
    if value is None and text.isascii() and text.isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r} has {len(text)} digits, more than a count can have: use "
            "a smaller number"
        )
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


# Destinations of the options that choose an engine or the demo swarm.
ENGINE_OPTIONS = frozenset(
    {"host", "context", "timeout", "demo", "demo_state", "demo_seed"}
)


def hide_engine_options(parser: argparse.ArgumentParser) -> None:
    """Leave the engine and demo options out of the help of `parser`.

    Every subcommand accepts them, but a command that reads only local files
    ignores them, so its help does not offer them.
    """
    for action in parser._actions:
        if action.dest in ENGINE_OPTIONS:
            action.help = argparse.SUPPRESS

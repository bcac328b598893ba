"""The entry point of the `swarmtui` command, which catches Ctrl+C from its first line.

A KeyboardInterrupt raised while swarmtui.cli and the modules it needs are
imported would otherwise end the process with a traceback. This module
imports only the standard library before it can catch one.

NOTE: Ctrl+C before this module's first line, while Python starts and
imports it, still ends with Python's own traceback.
"""

from __future__ import annotations

import signal
import sys
from contextlib import suppress
from types import FrameType


def main() -> int:
    """Run the swarmtui command line and return its exit code."""
    try:
        import swarmtui.cli

        swarmtui.cli.ENDS_PROCESS = True
        code = swarmtui.cli.main()
    except KeyboardInterrupt as interrupt:
        code = _interrupted(interrupt)
    _ignore_until_exit()
    return code


def _ignore_until_exit() -> None:
    """Ignore quit signals while Python shuts down after the command.

    Python puts back the default action of each signal that has a Python
    handler as it shuts down, so a signal that came then ended the process
    with 128 plus its number after the command had finished. SIG_IGN stays.
    """
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        # A signal pending at this moment runs the command line's handler,
        # which ignores it, or makes CPython raise OSError here.
        with suppress(OSError):
            signal.signal(signum, signal.SIG_IGN)


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    """Ignore a second Ctrl+C while the first one is reported."""


def _interrupted(interrupt: KeyboardInterrupt) -> int:
    """Report an interrupt in one line on stderr and return its exit code.

    swarmtui.cli's QuitSignal carries the number of the signal that raised
    it. Any other KeyboardInterrupt comes from SIGINT.
    """
    signum = getattr(interrupt, "signum", signal.SIGINT)
    signal.signal(signal.SIGINT, _ignore_signal)
    cause = "interrupted"
    if signum != signal.SIGINT:
        cause = f"stopped by {signal.Signals(signum).name}"
    if sys.stderr is not None:
        with suppress(OSError):
            print(f"swarmtui: {cause}", file=sys.stderr)
    return 128 + signum

"""Standard output that its reader may close early, as `| head` or `| true` do.

A stdout that was closed before the process started (`>&-`), or that fails
on write (`>/dev/full`), is handled as a closed pipe: the write raises
BrokenPipeError, and the command reports what it changed on stderr.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_closed = False
# The lines printed with print_change, repeated on stderr when stdout fails.
_change_lines: list[str] = []
# Set once note_unwritten has printed its message.
_noted = False
# Why stdout cannot be written, for messages: "was closed" unless it failed.
_failure = "was closed"


class StdoutFailedError(BrokenPipeError):
    """A write to stdout failed for another reason than a closed reader."""


class _GuardedStdout:
    """Stdout whose write failures, such as a full disk, raise BrokenPipeError."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _failed(error) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _failed(error) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _MissingStdout:
    """A stand-in for a stdout that was closed before the process started."""

    def __init__(self) -> None:
        # A descriptor on /dev/null, for code that calls fileno().
        self._null = os.open(os.devnull, os.O_WRONLY)

    def write(self, text: str) -> int:
        global _failure
        _failure = "was closed before swarmtui started"
        raise BrokenPipeError("standard output is closed")

    def flush(self) -> None:
        return None

    def fileno(self) -> int:
        return self._null

    def isatty(self) -> bool:
        return False


def _failed(error: OSError) -> StdoutFailedError:
    global _failure
    _failure = f"could not be written ({error.strerror or error})"
    return StdoutFailedError(error.errno, _failure)


def guard_stdout() -> None:
    """Make every stdout failure raise BrokenPipeError, also a missing stdout."""
    if sys.stdout is None:
        sys.stdout = _MissingStdout()
    elif not isinstance(sys.stdout, _GuardedStdout | _MissingStdout):
        sys.stdout = _GuardedStdout(sys.stdout)


def require_stdout() -> None:
    """Raise BrokenPipeError when stdout was closed before the process started.

    A command that only prints a secret calls this before it reads one, so
    that no engine call is made and no display is audited for no reader.
    """
    global _failure
    if sys.stdout is None or isinstance(sys.stdout, _MissingStdout):
        _failure = "was closed before swarmtui started"
        raise BrokenPipeError("standard output is closed")


def fill_missing_stderr() -> None:
    """Give a stderr closed before the process started a /dev/null stand-in.

    Without it, print(..., file=sys.stderr) writes to stdout, where a
    message would land among the tokens that a script reads.
    """
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115


def stdout_failure() -> str:
    """Return how stdout failed, to follow "standard output" in a message."""
    return _failure


def note_unwritten() -> None:
    """Say on stderr why stdout could not be written, unless its reader exited.

    A reader that exits early is normal in a pipe. A closed or full stdout
    is not, so its reason is printed, once however many writes failed.
    """
    global _noted
    if _failure != "was closed" and not _noted:
        _noted = True
        print(f"swarmtui: standard output {_failure}.", file=sys.stderr)


def discard_stdout() -> None:
    """Point stdout at /dev/null after its reader exited or its write failed.

    Later writes then succeed without effect, and the interpreter's last
    flush at exit does not fail a second time.
    """
    global _closed
    _closed = True
    stream = sys.stdout
    if isinstance(stream, _GuardedStdout | _MissingStdout):
        stream = getattr(stream, "_stream", None)
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if stream is not None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def write_stdout(text: str) -> bool:
    """Write and flush `text` on stdout; return False when its reader has exited.

    Commands that change the swarm after printing call this, so that a
    closed pipe does not stop a rotation that the user asked for.
    """
    if _closed:
        return False
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        discard_stdout()
        return False
    return True


def print_change(text: str) -> None:
    """Print a line that reports a change, such as a rotation, on stdout.

    When stdout fails, _run_subcommand repeats such lines on stderr, because
    the reader may have exited before reading them.
    """
    _change_lines.append(text)
    print(text)


def printed_changes() -> list[str]:
    """Return the lines printed with print_change, in order."""
    return list(_change_lines)

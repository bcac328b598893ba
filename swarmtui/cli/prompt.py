"""Yes-or-no questions on the user's terminal."""

from __future__ import annotations

import sys
from contextlib import suppress
from typing import IO, Any

# The controlling terminal of the process, a path that tests replace.
TERMINAL_PATH = "/dev/tty"


def ask_yes_no(question: str) -> bool | None:
    """Ask `question` on the terminal; return True for a yes.

    Returns None when there is no terminal to ask on. The question goes to
    /dev/tty, the process's controlling terminal, because standard input may
    be a pipe or file that carried a token, and stderr may go to a file.
    """
    # Unbuffered bytes, because a buffered "r+" stream needs a seekable file.
    try:
        terminal = open(TERMINAL_PATH, "rb+", buffering=0)  # noqa: SIM115
    except OSError:
        terminal = None
    if terminal is not None:
        with terminal:
            _discard_typed_ahead(terminal)
            terminal.write(question.encode("utf-8"))
            answer = terminal.readline().decode("utf-8", "replace")
    elif sys.stdin is not None and sys.stdin.isatty():
        _discard_typed_ahead(sys.stdin)
        print(question, end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
    else:
        return None
    return answer.strip().lower() in ("y", "yes")


def _discard_typed_ahead(stream: IO[Any]) -> None:
    """Drop input typed before the question, so that only an answer to it counts.

    An Enter pressed after a pasted token that ended in a line break would
    otherwise answer the question before it is shown.
    """
    import termios

    # A stream that is not a terminal, such as a file or a StringIO that
    # tests put in its place, has nothing to discard.
    with suppress(termios.error, OSError, ValueError):
        termios.tcflush(stream.fileno(), termios.TCIFLUSH)

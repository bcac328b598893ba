"""Yes-or-no questions on the user's terminal."""

from __future__ import annotations

import sys

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
            _discard_typed_ahead(terminal.fileno())
            terminal.write(question.encode("utf-8"))
            answer = terminal.readline().decode("utf-8", "replace")
    elif sys.stdin is not None and sys.stdin.isatty():
        _discard_typed_ahead(sys.stdin.fileno())
        print(question, end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
    else:
        return None
    return answer.strip().lower() in ("y", "yes")


def _discard_typed_ahead(descriptor: int) -> None:
    """Drop input typed before the question, so that only an answer to it counts.

    An Enter pressed after a pasted token that ended in a line break would
    otherwise answer the question before it is shown.
    """
    import termios

    try:
        termios.tcflush(descriptor, termios.TCIFLUSH)
    except (termios.error, OSError):
        # Not a terminal, as a file that tests put in its place.
        pass

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
            terminal.write(question.encode("utf-8"))
            answer = terminal.readline().decode("utf-8", "replace")
    elif sys.stdin is not None and sys.stdin.isatty():
        print(question, end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
    else:
        return None
    return answer.strip().lower() in ("y", "yes")

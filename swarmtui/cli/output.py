"""Standard output that its reader may close early, as `| head` or `| true` do."""

from __future__ import annotations

import os
import sys

_closed = False


def discard_stdout() -> None:
    """Point stdout at /dev/null after its reader exited.

    Later writes then succeed without effect, and the interpreter's last
    flush at exit does not fail a second time.
    """
    global _closed
    _closed = True
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


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

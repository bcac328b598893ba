"""Logging set-up that keeps tokens and unlock keys out of every record."""

from __future__ import annotations

import logging

from swarmtui.text import terminal_safe
from swarmtui.tokens import redact


class RedactingFilter(logging.Filter):
    """Replace tokens and unlock keys by fingerprints and escape control characters."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = terminal_safe(redact(message), keep_newlines=True)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = terminal_safe(
                redact(logging.Formatter().formatException(record.exc_info)),
                keep_newlines=True,
            )
            record.exc_info = None
        return True


class UserFormatter(logging.Formatter):
    """Format a record as "swarmtui: warning: message", as the CLI writes notes."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return f"swarmtui: {record.levelname.lower()}: {text}"


def install_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Attach the redacting filter to `logger` (default: root) and its handlers."""
    target = logger or logging.getLogger()
    token_filter = RedactingFilter()
    target.addFilter(token_filter)
    for handler in target.handlers:
        handler.addFilter(token_filter)
    return token_filter


def configure(verbosity: int) -> None:
    """Log to stderr at a level chosen by -v flags, with tokens redacted."""
    level = logging.WARNING
    if verbosity == 1:
        level = logging.INFO
    elif verbosity >= 2:
        level = logging.DEBUG
    handler = logging.StreamHandler()
    if verbosity:
        formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    else:
        # Warnings then read like the CLI's other messages on stderr.
        formatter = UserFormatter()
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "docker"):
        logging.getLogger(noisy).setLevel(max(level, logging.INFO))

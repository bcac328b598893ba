"""The CLI's audit file, written whole before a quit signal takes effect."""

from __future__ import annotations

from typing import Any

from swarmtui.audit import AuditLog
from swarmtui.cli import deferred_quit_signals


class SignalSafeAuditLog(AuditLog):
    """An audit file that defers SIGTERM, SIGHUP and SIGINT until each write ends.

    The CLI raises QuitSignal from its signal handler, so a signal in the
    middle of a write would otherwise lose the event, such as the record of
    a rotation that took effect.
    """

    def record(self, action: str, **fields: Any) -> None:
        with deferred_quit_signals():
            super().record(action, **fields)

"""The part of the console app that its feature mixins rely on.

The mixins in swarmtui.tui.response, unlock_actions and window_actions are
bases of the console app. Under type checking they see the app's attributes
declared here; at run time this class adds nothing to the app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from textual.app import App

from swarmtui.errors import EngineError, SwarmTuiError
from swarmtui.models import Role, SwarmView
from swarmtui.tokens import redact

if TYPE_CHECKING:
    from swarmtui.service import TokenService

log = logging.getLogger(__name__)


def unexpected_failure(operation: str, error: Exception) -> EngineError:
    """Log an unexpected worker failure and turn it into a user-facing error."""
    log.exception("%s failed", operation)
    return EngineError(
        f"{operation} failed unexpectedly: {redact(str(error))}",
        "Read the swarm again (ctrl+r) to see its state.",
    )


# Seconds a rotation may run before the status line shows that it waits. Most
# rotations finish sooner, and an extra frame for the status would delay the
# new token on screen.
ROTATION_QUIET_SECONDS = 0.2
# How long the console waits for a rotation that timed out with the token or
# key unchanged to take effect, before it reports that it did not. The wait
# is a choice: managers that regain quorum apply the update whenever they do.
PENDING_ROTATION_WAIT = timedelta(minutes=2)


if TYPE_CHECKING:
    _AppBase = App[int]
else:
    _AppBase = object


class ConsoleHost(_AppBase):
    """The console app's attributes that the feature mixins use."""

    if TYPE_CHECKING:
        view: SwarmView | None
        error: SwarmTuiError | None
        environment: Any
        settings: Any
        cli_command: str
        _service: TokenService | None
        _rotating: Role | None
        _quit_after_rotation: bool
        _clock: Callable[[], datetime]

        def _get_service(self) -> TokenService: ...

        def _view_or_explain(self) -> SwarmView | None: ...

        def _focused_role(self) -> Role: ...

        def _record_declined(
            self,
            request: str,
            roles: tuple[Role, ...],
            view: SwarmView | None,
            **fields: Any,
        ) -> Any: ...

        def _modal_open(self) -> bool: ...

        def _start_read(self, background: bool) -> bool: ...

        def _read_after_current(self) -> None: ...

        def _notify_after_rotation(self, notice: Callable[[], None]) -> None: ...

        def _set_waiting(self, text: str) -> None: ...

        def _show_calls_running(self) -> None: ...

        def _move_focus_off_hidden(self) -> None: ...

        def _wait_quietly(self, text: str, delay: float = ...) -> None: ...

        def _notify_osc52_sent(self, subject: str) -> None: ...

        def _quit_during_unlock_rotation(self) -> bool: ...

        def can_try_join(self) -> bool: ...

    def _rotating_leak_dialog(self) -> Any:
        """Return the leak response dialog while it rotates both tokens, else None.

        Its module is imported only when it opens, so it is recognised by the
        attributes that only it has.
        """
        for screen in self.screen_stack:
            if getattr(screen, "busy", False) and hasattr(screen, "quit_requested"):
                return screen
        return None

    def _action_blocked(self) -> bool:
        """Return whether a dialog is open, so that an app-level key does nothing."""
        return self._modal_open()

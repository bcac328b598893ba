"""Leak response features of the console: leak, join windows, unlock key, CA, audit.

`ResponseFeatures` is a mixin of the console app that gathers the join
window and unlock key mixins and adds the leak dialog, the CA banner and
dialog, and the audit record. Service calls run in thread workers that post
messages, and only the handlers touch widgets, as in the app. Textual calls
the handlers of every class in the app's MRO, so `on_mount`, `on_swarm_read`,
`on_rotated` and `on_rotation_conflicted` here run after the app's own.
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from swarmtui.errors import AuditWriteError
from swarmtui.models import Role
from swarmtui.tui.ca import CaBanner, CaScreen
from swarmtui.tui.events import (
    ReadFailed,
    Rotated,
    RotationConflicted,
    ServiceReady,
    SwarmRead,
)
from swarmtui.tui.unlock_actions import UnlockKeyActions
from swarmtui.tui.window_actions import JoinWindowActions

if TYPE_CHECKING:
    from swarmtui.service import TokenService

log = logging.getLogger(__name__)


class AuditFailed(Message):
    """An audit event could not be written; the action went ahead."""

    def __init__(self, error: AuditWriteError) -> None:
        super().__init__()
        self.error = error


class ResponseFeatures(JoinWindowActions, UnlockKeyActions):
    """Console actions for responding to a leak and for the swarm's other secrets."""

    @cached_property
    def ca_banner(self) -> CaBanner:
        """The banner above the panes, shown while the swarm's CA is changing."""
        return CaBanner()

    def on_mount(self) -> None:
        if self._service is not None:
            self._watch_audit(self._service)

    def on_service_ready(self, message: ServiceReady) -> None:
        if self._service is not None:
            self._watch_audit(self._service)

    def _watch_audit(self, service: TokenService) -> None:
        def failed(error: AuditWriteError) -> None:
            self.post_message(AuditFailed(error))

        service.on_audit_error = failed

    def on_audit_failed(self, message: AuditFailed) -> None:
        error = message.error

        def show() -> None:
            self.notify(str(error), title=error.title, severity="warning", timeout=12)

        # A rotation's audit record is written after its result is posted, so
        # this notice follows the rotation's own.
        self._notify_after_rotation(show)

    # -- reacting to reads and rotations -------------------------------------------

    def on_swarm_read(self, message: SwarmRead) -> None:
        self._show_extras()

    def on_read_failed(self, message: ReadFailed) -> None:
        self._show_extras()

    def on_rotated(self, message: Rotated) -> None:
        self._show_extras()

    def on_rotation_conflicted(self, message: RotationConflicted) -> None:
        # The app's handler has taken the fresh state that the conflict carries.
        self._show_extras()

    def _show_extras(self) -> None:
        """Show or hide the CA banner and the unlock key pane for the current view."""
        view = self.view if self.error is None else None
        self.ca_banner.show_view(view)
        if view is None and self._locked_with_key():
            self._show_unlock_while_locked()
        else:
            self._show_unlock_pane(view)
        self._move_focus_off_hidden()

    # -- leak response -----------------------------------------------------------

    def action_leak_response(self) -> None:
        if self._action_blocked():
            return
        view = self._view_or_explain()
        if view is None or self._service is None:
            return
        if self._rotating is not None:
            self.notify(
                f"The {self._rotating} token is still being rotated.",
                severity="warning",
            )
            return
        # Imported here, as the audit screen is: both use DataTable, which
        # only these screens need.
        try:
            from swarmtui.tui.leak import LeakScreen
        except ImportError as error:
            self._screen_not_loaded("leak response", error, "leak-response")
            return

        service = self._service
        audit_path = getattr(service.audit, "path", None)

        screen = LeakScreen(service, view, self._clock(), audit_path=audit_path)

        def finished(report: Any) -> None:
            if report is None and (screen.conflicted or not screen.attempted):
                # Cancel before a rotation, or when a conflict asked again.
                self._record_declined("leak-response", tuple(Role), screen.view)
            # A rotation was posted by the dialog as soon as it took effect.
            if report is None and screen.view is not view:
                # A conflict showed a newer state of the swarm; read it now
                # rather than at the next poll.
                self._start_read(background=True)

        self.push_screen(screen, finished)

    def _screen_not_loaded(self, name: str, error: ImportError, command: str) -> None:
        """Explain a screen module that failed to import, and name the CLI command.

        Such a module is imported when its screen first opens, so files of
        swarmtui replaced on disk while the console runs (an upgrade) can make
        the import fail long after start-up.
        """
        log.error("the %s screen could not be loaded: %s", name, error)
        self.notify(
            f"The {name} screen could not be loaded ({error}). The swarmtui "
            "files may have changed on disk since the console started: quit "
            f"and start it again, or run '{self.cli_command} {command}' in "
            "another terminal.",
            title="Screen not loaded",
            severity="error",
            timeout=20,
        )

    # -- CA and audit ---------------------------------------------------------------

    def action_show_ca(self) -> None:
        if self._action_blocked():
            return
        view = self._view_or_explain()
        if view is not None:
            self.push_screen(CaScreen(view, self._clock(), self._docker_cli()))

    def action_show_audit(self) -> None:
        # Imported here, because importing DataTable at start-up delayed the
        # first frame and only this screen and the leak screen use it.
        try:
            from swarmtui.tui.audit_screen import AuditScreen
        except ImportError as error:
            self._screen_not_loaded("audit record", error, "audit")
            return

        if self._action_blocked():
            return
        service = self._service
        path = getattr(service.audit, "path", None) if service else None
        view = self.view if self.error is None else None
        cluster_id = view.cluster_id if view is not None else None
        self.push_screen(AuditScreen(Path(path) if path else None, cluster_id))

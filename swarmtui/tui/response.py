"""Leak response features of the console: leak, join windows, unlock key, CA, audit.

`ResponseFeatures` is a mixin of the console app. Its service calls run in
thread workers that post the messages defined here, and only the handlers
touch widgets, as in the app. Textual calls the handlers of every class in
the app's MRO, so `on_mount`, `on_swarm_read` and `on_rotated` here run in
addition to the app's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget

from swarmtui.errors import (
    AuditWriteError,
    EngineError,
    RotationConflictError,
    SwarmTuiError,
)
from swarmtui.models import NodeInfo, Role, SwarmView
from swarmtui.tokens import redact
from swarmtui.tui.audit_screen import AuditScreen
from swarmtui.tui.ca import CaBanner, CaScreen
from swarmtui.tui.events import ReadFailed, Rotated, ServiceReady, SwarmRead
from swarmtui.tui.join_window import (
    DueWindowsScreen,
    JoinWindowBar,
    OpenWindowScreen,
    QuitWithWindowScreen,
    WindowRequest,
    countdown_text,
)
from swarmtui.tui.leak import LeakScreen
from swarmtui.tui.unlock import ConfirmUnlockRotateScreen, UnlockKeyPane
from swarmtui.unlock import unlock_key_fingerprint
from swarmtui.windows import (
    CloseReason,
    JoinWindow,
    WindowClosed,
    WindowStore,
    close_window,
    default_windows_path,
    evaluate,
    open_window,
)

if TYPE_CHECKING:
    from swarmtui.service import TokenService, UnlockKeyRotation

log = logging.getLogger(__name__)

# Seconds between two reads of the node list while a join window is open.
WINDOW_POLL_SECONDS = 2.0
# Seconds before a join window whose rotation failed is tried again.
WINDOW_RETRY_SECONDS = 30.0


def _unexpected(operation: str, error: Exception) -> EngineError:
    log.exception("%s failed", operation)
    return EngineError(
        f"{operation} failed unexpectedly: {redact(str(error))}",
        "Read the swarm again (ctrl+r) to see its state.",
    )


# -- messages posted by the workers below -----------------------------------


class AuditFailed(Message):
    """An audit event could not be written; the action went ahead."""

    def __init__(self, error: AuditWriteError) -> None:
        super().__init__()
        self.error = error


class UnlockKeyRead(Message):
    def __init__(self, key: str, error: SwarmTuiError | None) -> None:
        super().__init__()
        self.key = key
        self.error = error


class UnlockKeyRotated(Message):
    def __init__(self, result: UnlockKeyRotation, key: str) -> None:
        super().__init__()
        self.result = result
        self.key = key


class UnlockKeyRotationFailed(Message):
    def __init__(self, error: SwarmTuiError) -> None:
        super().__init__()
        self.error = error


class JoinWindowOpened(Message):
    def __init__(self, window: JoinWindow) -> None:
        super().__init__()
        self.window = window


class JoinWindowsPolled(Message):
    def __init__(self, nodes: list[NodeInfo] | None, error: str = "") -> None:
        super().__init__()
        self.nodes = nodes
        self.error = error


class JoinWindowFinished(Message):
    def __init__(self, closed: WindowClosed) -> None:
        super().__init__()
        self.closed = closed


class JoinWindowCloseFailed(Message):
    def __init__(self, window: JoinWindow, error: SwarmTuiError) -> None:
        super().__init__()
        self.window = window
        self.error = error


class JoinWindowActionFailed(Message):
    def __init__(self, error: SwarmTuiError) -> None:
        super().__init__()
        self.error = error


class StoredWindowsFound(Message):
    """Windows stored by an earlier console: some still open, some due."""

    def __init__(
        self,
        resumed: list[tuple[JoinWindow, tuple[NodeInfo, ...]]],
        due: list[tuple[JoinWindow, CloseReason, tuple[NodeInfo, ...]]],
    ) -> None:
        super().__init__()
        self.resumed = resumed
        self.due = due


class QuitRotationsDone(Message):
    def __init__(self, errors: list[str]) -> None:
        super().__init__()
        self.errors = errors


if TYPE_CHECKING:
    _AppBase = App[int]
else:
    _AppBase = object


class ResponseFeatures(_AppBase):
    """Console actions for answering a leak and for the swarm's other secrets."""

    if TYPE_CHECKING:
        # Provided by the console app that uses this mixin.
        view: SwarmView | None
        error: SwarmTuiError | None
        environment: Any
        settings: Any
        _service: TokenService | None
        _rotating: Role | None
        _clock: Callable[[], datetime]

        def _get_service(self) -> TokenService: ...

        def _view_or_explain(self) -> SwarmView | None: ...

        def _modal_open(self) -> bool: ...

        def _start_read(self, background: bool) -> bool: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.join_windows: dict[str, JoinWindow] = {}
        self.window_joined: dict[str, tuple[NodeInfo, ...]] = {}
        self._windows_closing: set[str] = set()
        self._window_retry_at: dict[str, datetime] = {}
        self._windows_checked: set[str] = set()
        self._window_tick: Timer | None = None
        self._window_poll: Timer | None = None
        self._window_polling = False
        self._window_store: WindowStore | None = None
        self.unlock_key_text = ""
        self.unlock_revealed = False
        self._unlock_version: int | None = None

    # -- set-up -----------------------------------------------------------------

    @property
    def window_store(self) -> WindowStore:
        if self._window_store is None:
            self._window_store = WindowStore(default_windows_path(self.environment))
        return self._window_store

    def on_mount(self) -> None:
        body = self.query_one("#body", Widget)
        self.screen.mount(CaBanner(), before="#body")
        pane = UnlockKeyPane()
        pane.display = False
        body.mount(pane, after="#manager-pane")
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
        self.notify(
            str(message.error),
            title=message.error.title,
            severity="warning",
            timeout=12,
        )

    def _action_blocked(self) -> bool:
        """Return True, after telling why, when a dialog is open."""
        return self._modal_open()

    # -- reacting to reads and rotations -------------------------------------------

    def on_swarm_read(self, message: SwarmRead) -> None:
        self._show_extras()
        view = self.view
        if view is None or self.error is not None:
            return
        if view.cluster_id not in self._windows_checked:
            self._windows_checked.add(view.cluster_id)
            self._check_stored_windows(view.cluster_id)

    def on_read_failed(self, message: ReadFailed) -> None:
        self._show_extras()

    def on_rotated(self, message: Rotated) -> None:
        self._show_extras()

    def _show_extras(self) -> None:
        """Show or hide the CA banner and the unlock key pane for the current view."""
        view = self.view if self.error is None else None
        for banner in self.query(CaBanner):
            banner.show_view(view)
        autolock = view is not None and view.autolock
        for pane in self.query(UnlockKeyPane):
            pane.display = autolock
            if not autolock:
                continue
            assert view is not None
            if self._unlock_version != view.version:
                self._unlock_version = view.version
                self._read_unlock_key()
            pane.show(self.unlock_key_text, self.unlock_revealed)

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
        service = self._service
        audit_path = getattr(service.audit, "path", None)

        def finished(report: Any) -> None:
            if report is not None:
                self.post_message(Rotated(report.rotation))

        self.push_screen(
            LeakScreen(service, view, self._clock(), audit_path=audit_path),
            finished,
        )

    # -- CA and audit ---------------------------------------------------------------

    def action_show_ca(self) -> None:
        if self._action_blocked():
            return
        view = self._view_or_explain()
        if view is not None:
            self.push_screen(CaScreen(view, self._clock()))

    def action_show_audit(self) -> None:
        if self._action_blocked():
            return
        service = self._service
        path = getattr(service.audit, "path", None) if service else None
        self.push_screen(AuditScreen(Path(path) if path else None))

    # -- unlock key -----------------------------------------------------------------

    def _unlock_view(self) -> SwarmView | None:
        view = self._view_or_explain()
        if view is None:
            return None
        if not view.autolock:
            self.notify(
                "Autolock is off on this swarm, so it has no unlock key. Turn it "
                "on with 'docker swarm update --autolock=true'.",
                severity="warning",
            )
            return None
        return view

    @work(
        thread=True,
        exclusive=True,
        group="unlock",
        exit_on_error=False,
        description="Read the unlock key",
    )
    def _read_unlock_key(self) -> None:
        try:
            key = self._get_service().unlock_key()
        except SwarmTuiError as error:
            self.post_message(UnlockKeyRead("", error))
        except Exception as error:  # an unexpected failure must not kill the UI
            self.post_message(UnlockKeyRead("", _unexpected("Reading the key", error)))
        else:
            self.post_message(UnlockKeyRead(key, None))

    def on_unlock_key_read(self, message: UnlockKeyRead) -> None:
        self.unlock_key_text = message.key
        note = ""
        if message.error is not None:
            note = f"The unlock key could not be read: {message.error}"
        for pane in self.query(UnlockKeyPane):
            pane.show(self.unlock_key_text, self.unlock_revealed, note)

    def action_unlock_reveal(self) -> None:
        if self._action_blocked():
            return
        view = self._unlock_view()
        if view is None:
            return
        self.unlock_revealed = not self.unlock_revealed
        if self.unlock_revealed:
            self._record_unlock("reveal-unlock-key", view)
        for pane in self.query(UnlockKeyPane):
            pane.show(self.unlock_key_text, self.unlock_revealed)

    def action_unlock_copy(self) -> None:
        if self._action_blocked():
            return
        view = self._unlock_view()
        if view is None:
            return
        if not self.unlock_key_text:
            self.notify("The unlock key has not been read yet.", severity="warning")
            return
        if self.settings.clipboard == "off":
            self.notify(
                "Copying is off in the settings. Reveal the key and select it.",
                severity="warning",
            )
            return
        self.copy_to_clipboard(self.unlock_key_text)
        self._record_unlock("copy-unlock-key", view)
        self.notify("Unlock key sent to the terminal's clipboard (OSC 52).")

    @work(thread=True, group="audit", exit_on_error=False, description="Audit")
    def _record_unlock(self, action: str, view: SwarmView) -> None:
        service = self._service
        if service is not None and self.unlock_key_text:
            service.record(
                action,
                view=view,
                key_fingerprint=unlock_key_fingerprint(self.unlock_key_text),
            )

    def action_unlock_rotate(self) -> None:
        if self._action_blocked():
            return
        view = self._unlock_view()
        if view is None:
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.notify("Rotating the unlock key…")
                self._rotate_unlock_key(view)

        self.push_screen(ConfirmUnlockRotateScreen(view), confirmed)

    @work(
        thread=True,
        exclusive=True,
        group="unlock-rotate",
        exit_on_error=False,
        description="Rotate the unlock key",
    )
    def _rotate_unlock_key(self, expected: SwarmView) -> None:
        try:
            service = self._get_service()
            result = service.rotate_unlock_key(expected=expected)
            key = service.unlock_key()
        except SwarmTuiError as error:
            self.post_message(UnlockKeyRotationFailed(error))
        except Exception as error:  # an unexpected failure must not kill the UI
            failure = _unexpected("Rotating the unlock key", error)
            self.post_message(UnlockKeyRotationFailed(failure))
        else:
            self.post_message(UnlockKeyRotated(result, key))

    def on_unlock_key_rotated(self, message: UnlockKeyRotated) -> None:
        result = message.result
        self.unlock_key_text = message.key
        self.unlock_revealed = False
        self._unlock_version = result.after.version
        self.view = result.after
        for pane in self.query(UnlockKeyPane):
            pane.show(message.key, False, "rotated just now")
        self.notify(
            f"The unlock key was rotated ({result.old_key_fingerprint} -> "
            f"{result.new_key_fingerprint}). Store the new key now; the join "
            "tokens did not change.",
            title="Unlock key rotated",
            timeout=12,
        )

    def on_unlock_key_rotation_failed(self, message: UnlockKeyRotationFailed) -> None:
        error = message.error
        text = f"Rotating the unlock key failed. {error}"
        if isinstance(error, RotationConflictError):
            text = (
                "The swarm was changed by someone else, so the unlock key was "
                "not rotated: " + "; ".join(error.changes) + ". Ask again."
            )
            self._start_read(background=False)
        self.notify(text, title=error.title, severity="error", timeout=12)

    # -- join windows ----------------------------------------------------------------

    def action_open_join_window(self) -> None:
        if self._action_blocked():
            return
        if self._view_or_explain() is None:
            return

        def chosen(request: WindowRequest | None) -> None:
            if request is not None:
                self._open_window(request)

        self.push_screen(OpenWindowScreen(), chosen)

    @work(thread=True, group="windows", exit_on_error=False, description="Open")
    def _open_window(self, request: WindowRequest) -> None:
        try:
            window, _ = open_window(
                self._get_service(),
                request.role,
                minutes=request.minutes,
                max_joins=request.max_joins,
                store=self.window_store,
                now=self._clock(),
            )
        except SwarmTuiError as error:
            self.post_message(JoinWindowActionFailed(error))
        except Exception as error:  # an unexpected failure must not kill the UI
            failure = _unexpected("Opening the join window", error)
            self.post_message(JoinWindowActionFailed(failure))
        else:
            self.post_message(JoinWindowOpened(window))

    def on_join_window_action_failed(self, message: JoinWindowActionFailed) -> None:
        self.notify(str(message.error), title=message.error.title, severity="error")

    def on_join_window_opened(self, message: JoinWindowOpened) -> None:
        window = message.window
        self._track_window(window, ())
        limits = []
        if window.until is not None:
            remaining = window.remaining(self._clock()) or timedelta(0)
            limits.append(f"for {countdown_text(remaining.total_seconds())}")
        if window.max_joins is not None:
            limits.append(f"for {window.max_joins} join(s)")
        self.notify(
            f"The {window.role} join window is open {' or '.join(limits)}; the "
            f"{window.role} token is rotated when it closes.",
            title="Join window open",
        )

    def _track_window(self, window: JoinWindow, joined: tuple[NodeInfo, ...]) -> None:
        self.join_windows[window.id] = window
        self.window_joined[window.id] = joined
        bar = JoinWindowBar(window)
        self.query_one("#body", Widget).mount(bar, before="#worker-pane")
        self.call_after_refresh(self._tick_windows)
        if self._window_tick is None:
            # The countdown shows whole seconds, so one tick a second is enough;
            # the timer exists only while a window is open.
            self._window_tick = self.set_interval(1.0, self._tick_windows)
        if self._window_poll is None:
            self._window_poll = self.set_interval(
                WINDOW_POLL_SECONDS, self._poll_windows
            )

    def _untrack_window(self, window_id: str) -> None:
        self.join_windows.pop(window_id, None)
        self.window_joined.pop(window_id, None)
        self._windows_closing.discard(window_id)
        self._window_retry_at.pop(window_id, None)
        for bar in self.query(JoinWindowBar):
            if bar.window.id == window_id:
                bar.remove()
        if not self.join_windows:
            for timer in (self._window_tick, self._window_poll):
                if timer is not None:
                    timer.stop()
            self._window_tick = None
            self._window_poll = None

    def _tick_windows(self) -> None:
        now = self._clock()
        for bar in self.query(JoinWindowBar):
            window = bar.window
            if window.id not in self.join_windows:
                continue
            bar.show(self.window_joined.get(window.id, ()), now)
            if window.until is not None and now >= window.until:
                self._begin_close(window, CloseReason.TIME, now)

    def _poll_windows(self) -> None:
        if self._window_polling or not self.join_windows:
            return
        self._window_polling = True
        self._list_nodes_for_windows()

    @work(thread=True, group="windows-poll", exit_on_error=False, description="Nodes")
    def _list_nodes_for_windows(self) -> None:
        try:
            nodes = self._get_service().backend.list_nodes()
        except SwarmTuiError as error:
            self.post_message(JoinWindowsPolled(None, str(error)))
        except Exception as error:  # an unexpected failure must not kill the UI
            failure = _unexpected("Listing the nodes", error)
            self.post_message(JoinWindowsPolled(None, str(failure)))
        else:
            self.post_message(JoinWindowsPolled(nodes))

    def on_join_windows_polled(self, message: JoinWindowsPolled) -> None:
        self._window_polling = False
        if message.nodes is None:
            log.warning("join window poll failed: %s", message.error)
            return
        now = self._clock()
        for window in list(self.join_windows.values()):
            evaluation = evaluate(window, message.nodes, now)
            self.window_joined[window.id] = evaluation.joined
            if evaluation.should_close and evaluation.reason is not None:
                self._begin_close(window, evaluation.reason, now)
        self._tick_windows()

    def _begin_close(
        self, window: JoinWindow, reason: CloseReason, now: datetime
    ) -> None:
        if window.id in self._windows_closing:
            return
        retry_at = self._window_retry_at.get(window.id)
        if retry_at is not None and now < retry_at:
            return
        self._windows_closing.add(window.id)
        self._close_window(window, reason, self.window_joined.get(window.id, ()))

    def action_close_join_window(self, window_id: str | None = None) -> None:
        windows = list(self.join_windows.values())
        if window_id is not None:
            windows = [item for item in windows if item.id == window_id]
        if not windows:
            self.notify("No join window is open.", severity="warning")
            return
        for window in windows:
            self._window_retry_at.pop(window.id, None)
            self._begin_close(window, CloseReason.BY_USER, self._clock())

    @work(thread=True, group="windows-close", exit_on_error=False, description="Close")
    def _close_window(
        self, window: JoinWindow, reason: CloseReason, joined: tuple[NodeInfo, ...]
    ) -> None:
        try:
            closed = close_window(
                self._get_service(),
                window,
                reason,
                joined=joined,
                store=self.window_store,
            )
        except SwarmTuiError as error:
            self.post_message(JoinWindowCloseFailed(window, error))
        except Exception as error:  # an unexpected failure must not kill the UI
            failure = _unexpected("Closing the join window", error)
            self.post_message(JoinWindowCloseFailed(window, failure))
        else:
            self.post_message(JoinWindowFinished(closed))

    def on_join_window_finished(self, message: JoinWindowFinished) -> None:
        closed = message.closed
        self._untrack_window(closed.window.id)
        self.notify(closed.message, title="Join window closed", timeout=12)
        if closed.rotation is not None:
            self.post_message(Rotated(closed.rotation))

    def on_join_window_close_failed(self, message: JoinWindowCloseFailed) -> None:
        window = message.window
        self._windows_closing.discard(window.id)
        self._window_retry_at[window.id] = self._clock() + timedelta(
            seconds=WINDOW_RETRY_SECONDS
        )
        self.notify(
            f"The {window.role} join window could not be closed, so its token is "
            f"still live: {message.error} It is tried again in "
            f"{WINDOW_RETRY_SECONDS:g} s.",
            title=message.error.title,
            severity="error",
            timeout=12,
        )

    # -- windows stored by an earlier console ---------------------------------------

    @work(thread=True, group="windows", exit_on_error=False, description="Stored")
    def _check_stored_windows(self, cluster_id: str) -> None:
        try:
            windows = self.window_store.for_cluster(cluster_id)
            if not windows:
                return
            nodes = self._get_service().backend.list_nodes()
        except SwarmTuiError as error:
            self.post_message(JoinWindowActionFailed(error))
            return
        now = self._clock()
        resumed = []
        due = []
        for window in windows:
            if window.id in self.join_windows:
                continue
            evaluation = evaluate(window, nodes, now)
            if evaluation.should_close and evaluation.reason is not None:
                due.append((window, evaluation.reason, evaluation.joined))
            else:
                resumed.append((window, evaluation.joined))
        self.post_message(StoredWindowsFound(resumed, due))

    def on_stored_windows_found(self, message: StoredWindowsFound) -> None:
        for window, joined in message.resumed:
            self._track_window(window, joined)
        if message.resumed:
            self.notify(
                f"{len(message.resumed)} join window(s) opened earlier are still "
                "open; this console now watches them.",
                title="Join windows resumed",
            )
        if not message.due:
            return
        due = message.due
        reasons = {
            CloseReason.TIME: "its time ran out",
            CloseReason.JOINS: "its joins were reached",
            CloseReason.BY_USER: "it was closed",
        }

        def answered(rotate: bool | None) -> None:
            if rotate:
                for window, reason, joined in due:
                    self.join_windows[window.id] = window
                    self._windows_closing.add(window.id)
                    self._close_window(window, reason, joined)
            else:
                self.notify(
                    "The due join windows stay stored and their tokens stay "
                    "live. Close them later here or with 'swarmtui join-window "
                    "close-expired'.",
                    severity="warning",
                    timeout=12,
                )

        self.push_screen(
            DueWindowsScreen([(window, reasons[reason]) for window, reason, _ in due]),
            answered,
        )

    # -- quitting ------------------------------------------------------------

    async def action_quit(self) -> None:
        if not self.join_windows:
            self.exit()
            return
        if isinstance(self.screen, QuitWithWindowScreen):
            return
        windows = list(self.join_windows.values())

        def answered(choice: str | None) -> None:
            if choice == "keep":
                self.exit()
            elif choice == "rotate":
                self.notify("Closing the join windows and rotating…")
                self._close_all_for_quit(windows)

        self.push_screen(QuitWithWindowScreen(windows), answered)

    @work(thread=True, group="windows-close", exit_on_error=False, description="Quit")
    def _close_all_for_quit(self, windows: list[JoinWindow]) -> None:
        errors = []
        for window in windows:
            try:
                closed = close_window(
                    self._get_service(),
                    window,
                    CloseReason.BY_USER,
                    joined=self.window_joined.get(window.id, ()),
                    store=self.window_store,
                )
            except SwarmTuiError as error:
                errors.append(f"{window.role} window {window.id}: {error}")
            else:
                self.post_message(JoinWindowFinished(closed))
        self.post_message(QuitRotationsDone(errors))

    def on_quit_rotations_done(self, message: QuitRotationsDone) -> None:
        if message.errors:
            self.notify(
                "Not every join window could be closed, so the console stays "
                "open: " + " ".join(message.errors),
                severity="error",
                timeout=15,
            )
            return
        self.exit()

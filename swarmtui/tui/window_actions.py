"""Console actions for join windows: open, count down, poll, close, resume.

A mixin of the console app; see swarmtui.tui.host and, for the rules of a
window, swarmtui.windows. The countdown timer runs only while a window is
open, and the node list is read in a thread worker.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from textual import work
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widget import Widget

from swarmtui.errors import JoinWindowError, SwarmTuiError
from swarmtui.models import NodeInfo, Role, SwarmSnapshot, SwarmView
from swarmtui.state_files import default_windows_path
from swarmtui.tui.events import Rotated, SwarmRead
from swarmtui.tui.host import ROTATION_QUIET_SECONDS, ConsoleHost, unexpected_failure
from swarmtui.tui.join_window import (
    DueWindowsScreen,
    JoinWindowBar,
    OpenWindowScreen,
    QuitWithWindowScreen,
    WindowRequest,
    countdown_text,
)
from swarmtui.windows import (
    CLOSE_ACTION,
    FORGET_COMMAND,
    CloseReason,
    JoinWindow,
    WindowClosed,
    WindowOfOtherSwarmError,
    WindowStore,
    close_window,
    evaluate,
    open_window,
    record_failed_close,
    token_replaced,
    token_rotated_since,
)

log = logging.getLogger(__name__)

# Seconds between two reads of the node list while a join window is open.
WINDOW_POLL_SECONDS = 2.0
# Seconds before a join window whose rotation failed is tried again.
WINDOW_RETRY_SECONDS = 30.0


class JoinWindowOpened(Message):
    def __init__(self, window: JoinWindow) -> None:
        super().__init__()
        self.window = window


class JoinWindowsPolled(Message):
    def __init__(
        self,
        nodes: list[NodeInfo] | None,
        error: str = "",
        title: str = "",
        snapshot: SwarmSnapshot | None = None,
        stored: set[str] | None = None,
        tracked: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.nodes = nodes
        self.snapshot = snapshot
        # The ids in the window file, or None when it could not be read, and
        # the windows this console watched before the file was read.
        self.stored = stored
        self.tracked = tracked
        # The whole message, for the log, and its title, for the bar.
        self.error = error
        self.title = title


class JoinWindowFinished(Message):
    def __init__(self, closed: WindowClosed) -> None:
        super().__init__()
        self.closed = closed


class JoinWindowCloseFailed(Message):
    def __init__(
        self, window: JoinWindow, reason: CloseReason, error: SwarmTuiError
    ) -> None:
        super().__init__()
        self.window = window
        self.reason = reason
        self.error = error


class JoinWindowActionFailed(Message):
    def __init__(self, doing: str, error: SwarmTuiError) -> None:
        super().__init__()
        self.doing = doing
        self.error = error


class StoredWindowsFound(Message):
    """Windows stored by an earlier console: some still open, some due."""

    def __init__(
        self,
        resumed: list[tuple[JoinWindow, tuple[NodeInfo, ...]]],
        due: list[tuple[JoinWindow, CloseReason, tuple[NodeInfo, ...]]],
        replaced: list[tuple[JoinWindow, CloseReason, tuple[NodeInfo, ...]]],
    ) -> None:
        super().__init__()
        self.resumed = resumed
        self.due = due
        # Windows whose token was rotated since they opened.
        self.replaced = replaced


class JoinWindowActions(ConsoleHost):
    """Join windows in the console, and the question asked when quitting."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.join_windows: dict[str, JoinWindow] = {}
        self.window_joined: dict[str, tuple[NodeInfo, ...]] = {}
        self._windows_closing: set[str] = set()
        # Per window: the role each node that joined had when first seen.
        self._window_first_roles: dict[str, dict[str, Role]] = {}
        # The windows whose close runs in a worker thread, for the exit.
        self._closes_running: dict[str, JoinWindow] = {}
        self._closes_running_lock = threading.Lock()
        # Closes run one at a time. Two windows of one role closed at once
        # both read the same swarm version, and the second rotation attempt
        # was rejected as a conflict and audited as a failure.
        self._window_close_lock = threading.Lock()
        # Set by "Rotate and quit": the console quits once no window is open.
        self._quit_when_closed = False
        self._quit_now_offered = False
        # What "Rotate and quit" closed, printed on stderr after the exit.
        self.closed_at_quit: list[str] = []
        self._window_retry_at: dict[str, datetime] = {}
        # One retry timer per window whose close failed.
        self._window_retry_timers: dict[str, Timer] = {}
        self._windows_checked: set[str] = set()
        # The window file's state when its windows were last read, so that a
        # read of the swarm picks up windows stored since by other processes.
        self._window_file_state: tuple[int, int] | None = None
        # Due windows of an earlier console that the user chose to close later.
        self._due_later: dict[
            str, tuple[JoinWindow, CloseReason, tuple[NodeInfo, ...]]
        ] = {}
        self._window_tick: Timer | None = None
        self._window_poll: Timer | None = None
        self._window_polling = False
        self._window_poll_error = ""
        self._window_poll_title = ""
        self._window_store: WindowStore | None = None

    @property
    def window_store(self) -> WindowStore:
        if self._window_store is None:
            self._window_store = WindowStore(default_windows_path(self.environment))
        return self._window_store

    def on_swarm_read(self, message: SwarmRead) -> None:
        view = self.view
        if view is None or self.error is not None:
            return
        self._windows_follow_view(view)
        if view.cluster_id not in self._windows_checked:
            self._windows_checked.add(view.cluster_id)
            self._check_stored_windows(view)
        elif self._window_file_changed() and not self._window_work_running():
            self._check_stored_windows(view)

    def _window_file_state_now(self) -> tuple[int, int] | None:
        try:
            status = self.window_store.path.stat()
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size

    def _window_file_changed(self) -> bool:
        return self._window_file_state_now() != self._window_file_state

    def _window_work_running(self) -> bool:
        """Return whether this console is opening or closing a window.

        Its own window could then be in the file but not yet tracked.
        """
        return bool(self._windows_closing) or any(
            worker.group == "windows" and not worker.is_finished
            for worker in self.workers
        )

    def on_rotated(self, message: Rotated) -> None:
        if self.view is not None:
            self._windows_follow_view(self.view)

    def _windows_follow_view(self, view: SwarmView) -> None:
        """End the windows whose token `view` no longer has."""
        for window in list(self.join_windows.values()):
            if view.cluster_id != window.cluster_id or (
                view.token_fingerprint(window.role) != window.token_fingerprint
            ):
                self._end_replaced(window, view.cluster_id)
        for window, _, joined in list(self._due_later.values()):
            replaced = view.token_fingerprint(window.role) != window.token_fingerprint
            if view.cluster_id == window.cluster_id and replaced:
                # Closing only removes it from the store: its token no
                # longer joins anything.
                self._close_due(window, CloseReason.REPLACED, joined)

    def _end_replaced(self, window: JoinWindow, cluster_id: str) -> None:
        """End a window whose token was rotated, or whose swarm was replaced."""
        if window.id in self._windows_closing:
            return
        if cluster_id != window.cluster_id:
            # The window stays stored for its own swarm's engine.
            self._untrack_window(window.id)
            if self.can_try_join():
                # A reset demo swarm does not come back, so its windows can
                # only be forgotten.
                text = (
                    f"The demo swarm was reset, so the {window.role} join window "
                    f"of the old swarm {window.cluster_id[:12]} has ended; its "
                    f"token no longer exists. '{FORGET_COMMAND} {window.id}' "
                    "removes it from the window file."
                )
            else:
                text = (
                    f"The engine now serves swarm {cluster_id[:12]}, so this "
                    f"console stops watching the {window.role} join window of "
                    f"swarm {window.cluster_id[:12]}. It stays stored for that "
                    "swarm: a console or 'join-window close-all' on one of its "
                    f"managers closes it, and '{FORGET_COMMAND} {window.id}' "
                    "removes it if that swarm no longer exists."
                )
            self.notify(text, severity="warning", timeout=12)
            if self._quit_when_closed:
                self.closed_at_quit.append(text)
            return
        self._begin_close(window, CloseReason.REPLACED, self._clock())

    def action_open_join_window(self) -> None:
        if self._action_blocked():
            return
        if self._view_or_explain() is None or self._window_role_rotating(None):
            return

        def chosen(request: WindowRequest | None) -> None:
            if request is not None and not self._window_role_rotating(request.role):
                self._open_window(request)
                self._wait_quietly(
                    f"Opening the {request.role} join window…", ROTATION_QUIET_SECONDS
                )

        # The role of the chosen pane, as for the token keys.
        self.push_screen(OpenWindowScreen(self._focused_role()), chosen)

    def _roles_rotating(self) -> list[Role]:
        """Return the roles whose tokens are being rotated, by r or a window's close."""
        roles = [] if self._rotating is None else [self._rotating]
        for window_id in self._windows_closing:
            window = self.join_windows.get(window_id)
            if window is not None and window.role not in roles:
                roles.append(window.role)
        return roles

    def _window_role_rotating(self, role: Role | None) -> bool:
        """Return True, after a notice, while `role` (None: any) is rotated.

        A window opened then would record the token that the rotation
        replaces, and its close would leave the new token live.
        """
        rotating = [item for item in self._roles_rotating() if role in (None, item)]
        if not rotating:
            return False
        self.notify(
            f"The {rotating[0]} token is still being rotated; open the join "
            "window when the new token is shown.",
            severity="warning",
        )
        return True

    @work(thread=True, group="windows", exit_on_error=False, description="Open")
    def _open_window(self, request: WindowRequest) -> None:
        doing = f"Opening the {request.role} join window"
        try:
            window, _ = open_window(
                self._get_service(),
                request.role,
                minutes=request.minutes,
                max_joins=request.max_joins,
                store=self.window_store,
                now=self._clock(),
                cli_command=self.cli_command,
            )
        except SwarmTuiError as error:
            self.post_message(JoinWindowActionFailed(doing, error))
        except Exception as error:  # an unexpected failure must not kill the UI
            failure = unexpected_failure(doing, error)
            self.post_message(JoinWindowActionFailed(doing, failure))
        else:
            self.post_message(JoinWindowOpened(window))

    def on_join_window_action_failed(self, message: JoinWindowActionFailed) -> None:
        self._show_calls_running()
        self.notify(
            f"{message.doing} failed. {message.error}",
            title=message.error.title,
            severity="error",
            timeout=12,
        )

    def on_join_window_opened(self, message: JoinWindowOpened) -> None:
        self._show_calls_running()
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
        if window.id in self.join_windows:
            # A read of the window file found it before its opening reported.
            return
        self.join_windows[window.id] = window
        self.window_joined[window.id] = joined
        bar = JoinWindowBar(window)
        self.query_one("#body", Widget).mount(bar, before="#worker-pane")
        # On a short terminal the body can be scrolled down to the focused
        # pane, which would leave the new countdown above the top edge.
        self.call_after_refresh(bar.scroll_visible, animate=False)
        self.call_after_refresh(self._tick_windows)
        if self._window_tick is None:
            # The countdown shows whole seconds, so one tick a second is enough;
            # the timer exists only while a window is open.
            self._window_tick = self.set_interval(1.0, self._tick_windows)
        if self._window_poll is None:
            self._window_poll = self.set_interval(
                WINDOW_POLL_SECONDS, self._poll_windows
            )

    def _show_due_window(self, window: JoinWindow, reason: str) -> None:
        """Mount a bar with a Close button for a due window that is still open."""
        bar = JoinWindowBar(window)
        self.query_one("#body", Widget).mount(bar, before="#worker-pane")
        self.call_after_refresh(bar.show_due, reason)
        self.call_after_refresh(bar.scroll_visible, animate=False)

    def _untrack_window(self, window_id: str) -> None:
        self.join_windows.pop(window_id, None)
        self._window_first_roles.pop(window_id, None)
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
            failure = self._window_poll_title if self._window_poll_error else ""
            bar.show(self.window_joined.get(window.id, ()), now, failure)
            if window.until is not None and now >= window.until:
                self._begin_close(window, CloseReason.TIME, now)

    def _poll_windows(self) -> None:
        if self._window_polling or not self.join_windows:
            return
        self._window_polling = True
        self._list_nodes_for_windows(frozenset(self.join_windows))

    @work(thread=True, group="windows-poll", exit_on_error=False, description="Nodes")
    def _list_nodes_for_windows(self, tracked: frozenset[str]) -> None:
        try:
            backend = self._get_service().backend
            snapshot = backend.inspect_swarm()
            nodes = backend.list_nodes()
        except SwarmTuiError as error:
            self.post_message(JoinWindowsPolled(None, str(error), error.title))
        except Exception as error:  # an unexpected failure must not kill the UI
            failure = unexpected_failure("Listing the nodes", error)
            self.post_message(JoinWindowsPolled(None, str(failure), failure.title))
        else:
            stored: set[str] | None
            try:
                stored = {item.id for item in self.window_store.load()}
            except JoinWindowError as error:
                log.info("window file not read while polling: %s", error)
                stored = None
            self.post_message(
                JoinWindowsPolled(
                    nodes, snapshot=snapshot, stored=stored, tracked=tracked
                )
            )

    def on_join_windows_polled(self, message: JoinWindowsPolled) -> None:
        self._window_polling = False
        if message.nodes is None:
            # The poll repeats every few seconds, so a lasting failure is
            # logged once until the node list can be read again. The window's
            # bar shows it meanwhile, so it is logged at info level: a
            # warning would be printed at exit, long after it was resolved.
            if message.error != self._window_poll_error:
                log.info("join window poll failed: %s", message.error)
            self._window_poll_error = message.error
            self._window_poll_title = message.title or "Node list not read"
            self._tick_windows()
            return
        self._window_poll_error = ""
        now = self._clock()
        for window in list(self.join_windows.values()):
            # A window opened after the file was read is not in the list.
            if (
                message.stored is not None
                and window.id in message.tracked
                and window.id not in message.stored
                and not self._window_work_running()
            ):
                # Forgotten from another shell, or the file edited: the close
                # reports whether the token it handed out is still current.
                self._begin_close(window, CloseReason.REMOVED, now)
                continue
            if message.snapshot is not None and token_replaced(
                window, message.snapshot
            ):
                self._end_replaced(window, message.snapshot.cluster_id)
                continue
            first_roles = self._window_first_roles.setdefault(window.id, {})
            evaluation = evaluate(window, message.nodes, now, first_roles)
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
        self._show_closing(window)

    def _show_closing(self, window: JoinWindow) -> None:
        """Show the close in the status line if its rotation takes a while."""
        self._wait_quietly(self._closing_text(), ROTATION_QUIET_SECONDS)

    def _closing_text(self) -> str:
        """Return the status line for the closes running now.

        Closes run one at a time, so with several, the line names none.
        """
        closing = [
            self.join_windows[window_id]
            for window_id in self._windows_closing
            if window_id in self.join_windows
        ]
        if len(closing) == 1:
            return f"Closing the {closing[0].role} join window and rotating its token…"
        if len(self._windows_closing) > 1:
            count = len(self._windows_closing)
            return f"Closing {count} join windows and rotating their tokens…"
        return "Closing the join window and rotating its token…"

    def action_close_join_window(self, window_id: str | None = None) -> None:
        windows = list(self.join_windows.values())
        due = list(self._due_later.values())
        if window_id is not None:
            windows = [item for item in windows if item.id == window_id]
            due = [entry for entry in due if entry[0].id == window_id]
        if not windows and not due:
            if self.error is not None:
                # The console tracks only the windows of the swarm it reads,
                # and it reads none now (as on a worker node), so say why.
                self._view_or_explain()
                return
            self.notify("No join window is open.", severity="warning")
            return
        for window in windows:
            self._window_retry_at.pop(window.id, None)
            self._begin_close(window, CloseReason.BY_USER, self._clock())
        for window, reason, joined in due:
            self._close_due(window, reason, joined)

    def _close_due(
        self, window: JoinWindow, reason: CloseReason, joined: tuple[NodeInfo, ...]
    ) -> None:
        """Close a window that an earlier console left past its limit."""
        self._due_later.pop(window.id, None)
        self.join_windows[window.id] = window
        self._windows_closing.add(window.id)
        self._close_window(window, reason, joined)
        self._show_closing(window)

    @work(thread=True, group="windows-close", exit_on_error=False, description="Close")
    def _close_window(
        self, window: JoinWindow, reason: CloseReason, joined: tuple[NodeInfo, ...]
    ) -> None:
        with self._closes_running_lock:
            self._closes_running[window.id] = window
        try:
            with self._window_close_lock:
                closed = close_window(
                    self._get_service(),
                    window,
                    reason,
                    joined=joined,
                    store=self.window_store,
                )
        except SwarmTuiError as error:
            self.post_message(JoinWindowCloseFailed(window, reason, error))
        except Exception as error:  # an unexpected failure must not kill the UI
            failure = unexpected_failure("Closing the join window", error)
            self.post_message(JoinWindowCloseFailed(window, reason, failure))
        else:
            self.post_message(JoinWindowFinished(closed))
        finally:
            with self._closes_running_lock:
                del self._closes_running[window.id]

    def record_abandoned_closes(self) -> list[Role]:
        """Audit each close still waiting to read the swarm at exit; return their roles.

        A close whose rotation has started is audited by the token service,
        like any rotation that the exit cuts short. The console calls this
        after its worker threads had a moment to end.
        """
        service = self._service
        if service is None:
            return []
        with self._closes_running_lock:
            running = list(self._closes_running.values())
        rotating = service.rotations_running(CLOSE_ACTION)
        roles = []
        for window in running:
            if window.role in rotating:
                continue
            record_failed_close(service, window, "Abandoned at exit")
            roles.append(window.role)
        return roles

    def on_join_window_finished(self, message: JoinWindowFinished) -> None:
        closed = message.closed
        self._untrack_window(closed.window.id)
        self._show_calls_running()
        severity: SeverityLevel = "information"
        title = "Join window closed"
        text = closed.message
        if closed.store_error is not None:
            severity = "warning"
        if closed.token_left_live:
            severity = "warning"
            title = "Join window removed, token not rotated"
            if closed.serving_cluster_id:
                text += f" {closed.other_swarm_hint}"
            else:
                text += f" Press r on the {closed.window.role} pane to rotate it."
        self.notify(text, title=title, severity=severity, timeout=12)
        if self._quit_when_closed:
            self.closed_at_quit.append(closed.message)
        if closed.rotation is not None:
            # The notice above names the rotation already.
            self.post_message(Rotated(closed.rotation, announce=False))
        else:
            # The token was rotated elsewhere since the window opened, so the
            # panes may show a token that no longer works.
            self._read_after_current()
        if self._quit_when_closed and not self.join_windows:
            self.exit()

    def on_join_window_close_failed(self, message: JoinWindowCloseFailed) -> None:
        window = message.window
        self._windows_closing.discard(window.id)
        self._show_calls_running()
        # A read that ended during the close was dropped, so the screen could
        # still show the state from before it; read the swarm again.
        self._read_after_current()
        if isinstance(message.error, WindowOfOtherSwarmError):
            # The swarm was replaced: no retry can close the window here.
            self._end_replaced(window, message.error.serving_cluster_id)
            if self._quit_when_closed and not self.join_windows:
                self.exit()
            return
        if self._quit_when_closed:
            self._quit_when_closed = False
            self._quit_now_offered = False
            self.notify(
                "Not every join window could be closed, so the console stays open.",
                severity="error",
                timeout=15,
            )
        self._window_retry_at[window.id] = self._clock() + timedelta(
            seconds=WINDOW_RETRY_SECONDS
        )

        def retry() -> None:
            # A window closed on request is not due, so no poll closes it.
            self._window_retry_timers.pop(window.id, None)
            current = self.join_windows.get(window.id)
            if current is not None:
                self._window_retry_at.pop(window.id, None)
                self._begin_close(current, message.reason, self._clock())

        earlier = self._window_retry_timers.pop(window.id, None)
        if earlier is not None:
            earlier.stop()
        self._window_retry_timers[window.id] = self.set_timer(
            WINDOW_RETRY_SECONDS, retry
        )
        self.notify(
            f"The {window.role} join window could not be closed, so its token is "
            f"still live. {message.error} It is tried again in "
            f"{WINDOW_RETRY_SECONDS:g} s.",
            title=message.error.title,
            severity="error",
            timeout=12,
        )

    # -- windows stored by an earlier console ---------------------------------------

    @work(thread=True, group="windows", exit_on_error=False, description="Stored")
    def _check_stored_windows(self, view: SwarmView) -> None:
        # Before the read, so that a change made during it is read next time.
        self._window_file_state = self._window_file_state_now()
        try:
            windows = self.window_store.for_cluster(view.cluster_id)
            if not windows:
                return
            nodes = self._get_service().backend.list_nodes()
        except SwarmTuiError as error:
            doing = "Reading the join windows stored for this swarm"
            self.post_message(JoinWindowActionFailed(doing, error))
            return
        now = self._clock()
        resumed = []
        due = []
        replaced = []
        for window in windows:
            if window.id in self.join_windows or window.id in self._due_later:
                continue
            evaluation = evaluate(window, nodes, now)
            if token_rotated_since(window, view):
                # Its token no longer joins, so it ends without a question
                # and without a rotation.
                replaced.append((window, CloseReason.REPLACED, evaluation.joined))
            elif evaluation.should_close and evaluation.reason is not None:
                due.append((window, evaluation.reason, evaluation.joined))
            else:
                resumed.append((window, evaluation.joined))
        self.post_message(StoredWindowsFound(resumed, due, replaced))

    def on_stored_windows_found(self, message: StoredWindowsFound) -> None:
        # The file was read in a thread, so this console may have started
        # tracking some of its windows meanwhile.
        def known(window: JoinWindow) -> bool:
            return window.id in self.join_windows or window.id in self._due_later

        for window, reason, joined in message.replaced:
            if not known(window):
                self._close_due(window, reason, joined)
        resumed = [item for item in message.resumed if not known(item[0])]
        for window, joined in resumed:
            self._track_window(window, joined)
        if resumed:
            self.notify(
                f"{len(resumed)} join window(s) stored for this swarm are "
                "open; this console now watches them.",
                title="Join windows resumed",
            )
        due = [item for item in message.due if not known(item[0])]
        if not due:
            return
        reasons = {
            CloseReason.TIME: "its time ran out",
            CloseReason.JOINS: "its joins were reached",
            CloseReason.BY_USER: "it was closed",
        }

        def answered(rotate: bool | None) -> None:
            if rotate:
                for window, reason, joined in due:
                    self._close_due(window, reason, joined)
            else:
                for window, reason, joined in due:
                    self._due_later[window.id] = (window, reason, joined)
                    self._show_due_window(window, reasons[reason])
                self.notify(
                    "The due join windows stay stored and their tokens stay "
                    "live. Press O to close them and rotate their tokens, or "
                    f"run '{self.cli_command} join-window close-expired'.",
                    severity="warning",
                    timeout=12,
                )

        self.push_screen(
            DueWindowsScreen([(window, reasons[reason]) for window, reason, _ in due]),
            answered,
        )

    # -- quitting ------------------------------------------------------------

    @property
    def windows_left_open(self) -> list[JoinWindow]:
        """Return the windows whose tokens stay live if the console quits now.

        Besides the windows it watches, those are the due windows of an
        earlier console that the user put off with Later.
        """
        later = [window for window, _, _ in self._due_later.values()]
        return [*self.join_windows.values(), *later]

    async def action_quit(self) -> None:
        if self._quit_during_leak_response() or self._quit_during_unlock_rotation():
            return
        if self._rotating is not None and not self._quit_after_rotation:
            # A second q quits at once; the exit then records the rotation.
            self._quit_after_rotation = True
            self.notify(
                f"The console quits when the {self._rotating} token is rotated. "
                "Press q again to quit now."
            )
            return
        if self._rotating is not None:
            # Quit now, as offered. The dialog about open join windows is left
            # out, because its Rotate and quit would rotate the same token
            # again. The windows stay stored, and the exit names close-all.
            self.exit()
            return
        if not self.windows_left_open:
            self.exit()
            return
        if self._quit_when_closed and not self._quit_now_offered:
            # A second q quits at once, as during a token rotation: the exit
            # records each close still waiting, and its window stays stored.
            self._quit_now_offered = True
            self.notify(
                "The join windows are being closed; the console quits when they "
                "are. Press q again to quit now: a window whose close has not "
                "ended stays stored, and its rotation is recorded as unknown if "
                "it was sent."
            )
            return
        if self._quit_when_closed:
            self.exit()
            return
        if isinstance(self.screen, QuitWithWindowScreen):
            return
        windows = self.windows_left_open

        def answered(choice: str | None) -> None:
            if choice == "keep":
                self.exit()
            elif choice == "rotate":
                self._close_all_for_quit(windows)

        closing = frozenset(self._windows_closing)
        due = frozenset(self._due_later)
        self.push_screen(
            QuitWithWindowScreen(windows, self.cli_command, closing, due), answered
        )

    def _quit_during_leak_response(self) -> bool:
        """Ask again before quitting while the leak response rotates.

        Return True when the quit key was handled here.

        Quitting then would leave the rotation's outcome unknown and lose the
        list of nodes that joined since the leak, which the dialog shows next.
        The dialog's own keys cannot close it meanwhile, but ctrl+q reaches
        the app.
        """
        screen = self._rotating_leak_dialog()
        if screen is None:
            return False
        if screen.quit_requested:
            self.exit()
            return True
        screen.quit_requested = True
        self.notify(
            "The leak response is still rotating both tokens; its result lists "
            "the nodes that joined since the leak. Press ctrl+q again to quit "
            "now, which leaves the rotation's outcome unknown.",
            severity="warning",
            timeout=12,
        )
        return True

    def _close_all_for_quit(self, windows: list[JoinWindow]) -> None:
        """Close every window not closing yet, and quit once none is open."""
        self._quit_when_closed = True
        self.notify("Closing the join windows and rotating…")
        for window in windows:
            if window.id in self.join_windows:
                self._window_retry_at.pop(window.id, None)
                self._begin_close(window, CloseReason.BY_USER, self._clock())
            elif window.id in self._due_later:
                self._close_due(*self._due_later[window.id])
        if not self.join_windows:
            self.exit()

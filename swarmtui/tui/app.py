"""The console: a Textual app over swarmtui.service.TokenService.

It never talks to Docker itself. Every service call runs in a thread worker
that posts a message from swarmtui.tui.events; only the message handlers
touch widgets. Actions are registered in swarmtui.tui.actions, screens in
swarmtui.tui.screens.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.command import CommandPalette
from textual.constants import ESCAPE_DELAY
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Input, Select
from textual.worker import Worker, get_current_worker

from swarmtui.audit import (
    default_audit_path,
    unsettled_rotations,
    unsettled_unlock_rotation,
)
from swarmtui.config import (
    Settings,
    fallback_note,
    save_shown_settings,
    setting_location,
)
from swarmtui.errors import (
    ConfigError,
    EngineError,
    RotationConflictError,
    RotationOutcomeUnknownError,
    SwarmTuiError,
)
from swarmtui.models import Role, RotationResult, SwarmView
from swarmtui.timetext import format_utc
from swarmtui.token_age import TokenOrigin, read_events_quietly, token_origins
from swarmtui.tokens import redact
from swarmtui.tui import clipboard
from swarmtui.tui.actions import CONSOLE_ACTIONS, console_bindings
from swarmtui.tui.commands import ConsoleCommands
from swarmtui.tui.events import (
    LeakOutcomeUnknown,
    LocalCopyFinished,
    ReadFailed,
    Rotated,
    RotationConflicted,
    RotationFailed,
    ServiceReady,
    SettledRotation,
    SwarmRead,
    TokenOriginsFound,
)
from swarmtui.tui.host import PENDING_ROTATION_WAIT, ROTATION_QUIET_SECONDS
from swarmtui.tui.response import ResponseFeatures
from swarmtui.tui.screens import (
    CheckTokenScreen,
    ConfirmRotateScreen,
    ConflictScreen,
    HelpScreen,
    SettingsScreen,
    TryJoinScreen,
)
from swarmtui.tui.token_age import SeenChange, change_text
from swarmtui.tui.widgets import (
    ChangeAwareStatic,
    ConsoleFooter,
    ErrorState,
    SwarmHeader,
    TokenPane,
)
from swarmtui.unlock import unlock_key_fingerprint

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.traceback import Trace

    from swarmtui.service import TokenService
    from swarmtui.tui.run import EarlyRead

log = logging.getLogger(__name__)

# Seconds after a dropped key in which the next key counts as part of the
# same burst: Textual's wait for the rest of an escape sequence, which
# delays the keys after an Escape, and a margin.
KEY_BURST_GAP = ESCAPE_DELAY + 0.05

# Seconds a background poll may run before the status line shows that it waits.
POLL_QUIET_SECONDS = 1.0
# How long after a rotation's result the toast and the next read wait: a few
# frames at Textual's 60 per second, so the new token is on screen first.
AFTER_FRAME_SECONDS = 0.05
# Seconds a rotation's worker waits for that frame before it writes the
# token history and the audit record anyway.
RECORDS_AFTER_FRAME_SECONDS = 0.25
# Signals that quit the console as q does: kill's default, the hang-up of a
# closed terminal or SSH session, and SIGINT from kill -INT (in the console,
# Ctrl+C is a key, not a signal).
QUIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
# The garbage collector, off while the console starts, is turned on after the
# first read's frame, or after this many seconds when that read takes longer.
GC_RESUME_SECONDS = 2.0

# Below this many rows the current screen has the class -short, and dialogs
# drop blank lines so their buttons stay on screen at 80x24; below the second
# number their inputs and selects also lose their borders, as needed at 60x20.
SHORT_TERMINAL_ROWS = 26
COMPACT_FIELD_ROWS = 22

# Actions that need a swarm on screen and no dialog on top of it.
TOKEN_ACTIONS = frozenset(
    {
        "copy_command",
        "copy_token",
        "toggle_reveal",
        "hide_token",
        "rotate",
        "focus_pane",
    }
)
# App actions that a dialog keeps from their keys; the footer dims them.
DIALOG_BLOCKED_ACTIONS = frozenset({"help", "refresh"})
# Console actions that the command palette hides while a dialog is open:
# each of them acts on the panes or opens a dialog of its own.
PANE_ACTIONS = (
    frozenset(item.action.split("(")[0] for item in CONSOLE_ACTIONS)
    - DIALOG_BLOCKED_ACTIONS
    - {"quit"}
)
TOKEN_KEYS = frozenset(
    item.key for item in CONSOLE_ACTIONS if item.action.split("(")[0] in TOKEN_ACTIONS
)


def rotation_notice(result: RotationResult) -> tuple[str, str]:
    """Return the text and title of the notice of one rotation.

    One rotation is one update, so one notice, whatever the roles.
    """
    roles = sorted(result.roles, key=list(Role).index)
    if len(roles) == 1:
        text = (
            f"The {roles[0]} token was rotated. New fingerprint "
            f"{result.after.token_fingerprint(roles[0])}."
        )
        return text, "Token rotated"
    fingerprints = ", ".join(
        f"{role} {result.after.token_fingerprint(role)}" for role in roles
    )
    text = f"Both tokens were rotated in one update. New fingerprints {fingerprints}."
    return text, "Tokens rotated"


def load_app_css() -> str:
    """Read styles/app.tcss, shipped as package data of swarmtui.styles.

    The file is read next to the package's __init__.py: importlib.resources
    would do the same for an installed package, after about 3 ms of imports.
    """
    import importlib

    package = importlib.import_module("swarmtui.styles")
    return Path(str(package.__file__)).with_name("app.tcss").read_text("utf-8")


def _role(value: object) -> Role | None:
    if value is None:
        return None
    return Role(str(value))


def _hidden(widget: Widget | None) -> bool:
    """Tell whether `widget` or one of its containers has `display` off."""
    if widget is None:
        return False
    return any(
        not node.display
        for node in widget.ancestors_with_self
        if isinstance(node, Widget)
    )


def other_changes(old: SwarmView, new: SwarmView) -> list[str]:
    """Describe what changed between two reads of one swarm, apart from tokens."""
    changes = []
    if old.autolock != new.autolock:
        state = "on" if new.autolock else "off"
        changes.append(f"autolock is now {state}")
    if old.managers != new.managers:
        changes.append(f"managers {old.managers} -> {new.managers}")
    if old.nodes != new.nodes:
        changes.append(f"nodes {old.nodes} -> {new.nodes}")
    return changes


class ConsolePalette(CommandPalette):
    """Textual's command palette, minus a selection that arrives after it closed.

    Two Enters in quick succession both reach the palette, and the second
    would dismiss it again after the first closed it. That pops the screen
    below it, and on the console's own screen Textual 8.2.8 raises
    ScreenStackError and ends the app.
    """

    @on(Input.Submitted)
    @on(Button.Pressed)
    def _drop_selection_after_close(
        self, event: Input.Submitted | Button.Pressed
    ) -> None:
        if not self.is_current:
            # The palette's own handler, in the class below, is skipped too.
            event.prevent_default()
            event.stop()

    def _select_or_command(
        self, event: Input.Submitted | Button.Pressed | None = None
    ) -> None:
        # NOTE: this overrides a private method of Textual's palette, because
        # the palette calls it directly once an option is selected. The handler
        # above covers the calls through messages.
        if self.is_current:
            super()._select_or_command(event)


class MainScreen(Screen[Any]):
    """The console's main screen, which starts with no widget focused.

    Textual's auto focus would focus the scrollable body at mount, and a
    focus change restyles the focused widget and everything inside it, on
    the way to the first frame. The console focuses the body once the first
    read is on screen instead.
    """

    AUTO_FOCUS = ""


def _redact_trace(trace: Trace) -> None:
    """Redact tokens in the messages and notes of a Rich trace, groups included."""
    for stack in trace.stacks:
        stack.exc_value = redact(stack.exc_value)
        stack.notes = [redact(note) for note in stack.notes]
        for inner in stack.exceptions:
            _redact_trace(inner)


class SwarmConsole(ResponseFeatures, App[int]):
    """Show, copy, reveal and rotate the join tokens of one swarm."""

    CSS = load_app_css()
    TITLE = "swarmtui"
    BINDINGS: ClassVar[list[BindingType]] = console_bindings()  # type: ignore[assignment]
    COMMANDS = App.COMMANDS | {ConsoleCommands}

    # Information notifications held back while a dialog is open: message,
    # title and timeout.
    _held_notices: list[tuple[str, str, float | None]]

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Return Textual's palette commands without Quit, Keys, Screenshot, Maximize.

        The console's own Quit and Help, from the same list as the keys, stay. A
        screenshot would write a revealed token to a file, which the usual umask
        leaves readable by other users. Maximize filled the screen with the
        focused button, or with a pane while w and m still moved the token
        keys to a pane it hid, so r could rotate a token not on screen.
        """
        for command in super().get_system_commands(screen):
            excluded = ("Quit", "Keys", "Screenshot", "Maximize", "Minimize")
            if command.title not in excluded:
                yield command

    def watch_theme(self, name: str) -> None:
        # A theme picked in the palette lasts for this session, and the
        # settings screen starts from it, so that Save keeps it.
        if name != self.settings.theme:
            self.settings = replace(self.settings, theme=name)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a notification as plain text, whatever `markup` says.

        Notifications quote hostnames, endpoints and engine messages, whose
        square brackets must not be read as Rich markup. An information
        notification that arrives while a dialog is open waits until the
        dialog closes, because its toast would cover the dialog's text.
        Warnings and errors show at once, unless the same one is still shown.
        A token or unlock key in the text, such as one typed into the config
        file, shows as its fingerprint.
        """
        message, title = redact(message), redact(title)
        if severity == "information" and self._modal_open():
            self._held_notices.append((message, title, timeout))
            return
        if severity != "information" and any(
            notice.message == message
            and notice.title == title
            and not notice.has_expired
            for notice in self._notifications
        ):
            # The same warning is still on screen, from a key pressed again.
            return
        super().notify(
            message, title=title, severity=severity, timeout=timeout, markup=False
        )

    def action_command_palette(self) -> None:
        """Open the command palette, as Textual does, with ConsolePalette."""
        already_open = any(
            isinstance(screen, CommandPalette) for screen in self.screen_stack
        )
        if self.use_command_palette and not already_open:
            self.push_screen(ConsolePalette(id="--command-palette"))

    def search_themes(self) -> None:
        """Open the palette's theme list, as Textual does, with ConsolePalette."""
        from textual.theme import ThemeProvider

        self.push_screen(
            ConsolePalette(providers=[ThemeProvider], placeholder="Search for themes…")
        )

    def action_help_quit(self) -> None:
        """Say which key quits, for a ctrl+c pressed out of habit.

        Textual's own hint names the first quit key in Rich markup, which
        the plain-text notify above would show as written.
        """
        quit_keys = [
            (not active.binding.show, self.get_key_display(active.binding))
            for active in self.active_bindings.values()
            if active.binding.action in ("quit", "app.quit")
        ]
        if quit_keys:
            key = min(quit_keys)[1]
            self.notify(f"Press {key} to quit.", title="Do you want to quit?")

    def _screen_changed(self, screen: Any) -> None:
        """Hold information toasts while a dialog is open; fit the dialog."""
        self._screen_shown_at = time.monotonic()
        self._drop_keys_until = 0.0
        self._mark_short_screen()
        if self._modal_open():
            # NOTE: Textual has no public way to list or withdraw shown
            # notifications; _notifications and _unnotify are what it uses.
            for shown in list(self._notifications):
                if shown.severity == "information" and not shown.has_expired:
                    self._held_notices.append(
                        (shown.message, shown.title, max(shown.time_left, 2.0))
                    )
                    self._unnotify(shown)
            return
        held = self._held_notices
        self._held_notices = []
        for message, title, timeout in held:
            self.notify(message, title=title, timeout=timeout)

    def __init__(
        self,
        *,
        service: TokenService | None = None,
        service_factory: Callable[[], TokenService] | None = None,
        early_read: EarlyRead | None = None,
        endpoint_hint: str = "",
        cli_command: str = "swarmtui",
        settings: Settings | None = None,
        config_path: Path | None = None,
        config_error: ConfigError | None = None,
        setting_options: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        # The executor that runs thread workers; run_console sets one that
        # does not wait for a hung engine call when the app exits.
        self.worker_executor: Executor | None = None
        # Whether QUIT_SIGNALS quit the app as q does, restoring the terminal.
        # run_console sets it; tests leave the signal to the test runner.
        self.quit_on_sigterm = False
        # The signal that quit the console, if one did. run_console's handler
        # sets it when one comes before the app is mounted, while Textual
        # already has the terminal in its screen mode.
        self.quit_signal: int | None = None
        # Called with the signal number when a quit signal arrives.
        self.on_quit_signal: Callable[[int], None] | None = None
        # Whether run_console turned the garbage collector off for start-up;
        # the app turns it on again once the first read is on screen.
        self.gc_paused = False
        if service is None and service_factory is None:
            raise ValueError("SwarmConsole needs a service or a service_factory")
        self._service = service
        self._service_factory = service_factory
        # The first read, started before the app; the first read worker takes it.
        self._early_read = early_read
        self._service_lock = threading.Lock()
        # Clear while a rotation shown on screen still writes its token
        # history and audit record in its worker thread.
        self._records_written = threading.Event()
        self._records_written.set()
        self._rotation_drawn = threading.Event()
        # One rotation at a time runs in a worker and writes its records.
        self._records_lock = threading.Lock()
        # A rotation requested but not yet started by its worker thread.
        self._rotation_lock = threading.Lock()
        # The role, the state the user saw and the audit action.
        self._unstarted_rotation: tuple[Role, SwarmView, str] | None = None
        # The failed read that a key last explained, and when (monotonic).
        self._explained_error: tuple[SwarmTuiError, float] | None = None
        # Notices that wait for the notice of a rotation on its way to the
        # screen, such as a failed audit record of that rotation.
        self._notices_after_rotation: list[Callable[[], None]] | None = None
        self.endpoint_label = endpoint_hint or (service.endpoint if service else "")
        # The CLI command, with the options that chose this swarm, for hints.
        self.cli_command = cli_command
        self.settings = settings or Settings()
        self.config_path = config_path
        self.config_error = config_error
        # Settings that command-line options replace, with the options as
        # typed, such as {"timeout": "--timeout 0.5"}.
        self.setting_options = dict(setting_options or {})
        self._clock = clock or (lambda: datetime.now(UTC))
        self.environment = environment if environment is not None else os.environ

        # The help screen, kept between presses of ?, and the theme and
        # demo state it was made for.
        self._help_screen: HelpScreen | None = None
        self._help_key: tuple[str, bool] | None = None
        # Warnings logged before the console was mounted, shown once it is.
        self._held_warnings: list[str] = []
        self._warnings_lock = threading.Lock()
        self._warnings_shown_now = False

        self.view: SwarmView | None = None
        self.error: SwarmTuiError | None = None
        self.revealed: dict[Role, bool] = {
            role: not self.settings.mask_tokens for role in Role
        }
        # Fingerprints of the tokens shown unmasked because masking is off in
        # the settings, each audited once as a reveal.
        self._unmasked_recorded: set[str] = set()
        # The last change of each token that this console saw, and the issue
        # times of the current tokens from the audit record or token history.
        self.seen_changes: dict[Role, SeenChange] = {}
        # Roles whose rotation may or may not have taken effect, with the
        # fingerprint from before it and when it started; the next read decides.
        # Per role: the fingerprint before a rotation of unknown outcome,
        # when it started, and whether the engine may still apply it.
        self._unconfirmed: dict[Role, tuple[str, datetime, bool]] = {}
        # The role and fingerprint of the token that the token check offered
        # to rotate, last asked for.
        self._checked_token: tuple[Role, str] | None = None
        # When the screen on top was shown, and until when keys that follow a
        # dropped one are dropped too.
        self._screen_shown_at = 0.0
        self._drop_keys_until = 0.0
        # When this console's last token rotation started.
        self._rotation_started_at: datetime | None = None
        self.token_origins: dict[Role, TokenOrigin] = {}
        # On the token history's clock: a first sight recorded from then on
        # is this console's own read, which its panes describe already.
        self._history_since = (
            early_read.started_at if early_read is not None else datetime.now(UTC)
        )
        self._last_role = Role.WORKER
        self._sequence = 0
        self._accept_from = 0
        # Set by exit(): from then on no key starts an action.
        self._exiting = False
        self._reading = False
        # Set when a read must follow the one running now.
        self._read_again = False
        self._rotating: Role | None = None
        # The sequence number of the last read that ctrl+r started. Its result
        # shows a notice when the tokens did not change.
        self._refresh_sequence = 0
        # Set by q during a rotation: the console quits once it succeeded.
        self._quit_after_rotation = False
        self._poll_timer: Timer | None = None
        self._quiet_timer: Timer | None = None
        self._waiting = ""
        # What check_action last saw: whether an error was shown.
        self._binding_state = False
        self._held_notices = []
        # When the console first read the swarm on screen, if that swarm
        # replaced another after start.
        self._swarm_since: datetime | None = None
        # The main screen's widgets, made once here and kept, because each
        # render would otherwise query the DOM for them (about 1 ms a render in
        # a profile of rotations).
        self._header = SwarmHeader(id="header")
        self._loading = ChangeAwareStatic("", id="loading", markup=False)
        self._main_screen: MainScreen | None = None
        self._body = VerticalScroll(id="body")
        # Mounted at the first failed read: most starts never need it.
        self._error_state: ErrorState | None = None
        self._panes = {role: TokenPane(role) for role in Role}
        self._panes[self._last_role].add_class("-current")
        self._status = ChangeAwareStatic("", id="status", markup=False)
        # Whether the first read, or its failure, has been rendered.
        self._first_read_rendered = False

    # -- layout -------------------------------------------------------------

    def get_driver_class(self) -> type[Driver]:
        driver_class = super().get_driver_class()
        from textual.drivers.linux_driver import LinuxDriver

        if driver_class is LinuxDriver:
            from swarmtui.tui.driver import TerminalSizedDriver

            return TerminalSizedDriver
        return driver_class

    def get_default_screen(self) -> Screen[Any]:
        self._main_screen = MainScreen(id="_default")
        return self._main_screen

    def _attached_main_screen(self) -> MainScreen | None:
        """Return the main screen, or None once the app has taken it down.

        Timers set by a render can fire while the app exits.
        """
        main = self._main_screen
        return main if main is not None and main.is_attached else None

    def _fatal_error(self) -> None:
        """Exit after an unhandled exception, with a traceback that contains no token.

        Textual's own version shows the local variables of each frame, and a
        local can hold a join token or an unlock key. This traceback shows the
        code and the errors only, with anything shaped like a token redacted.
        """
        import rich
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        traceback = Traceback(show_locals=False, width=None, suppress=[rich])
        _redact_trace(traceback.trace)
        self._exit_renderables.append(
            Segments(self.console.render(traceback, self.console.options))
        )
        self._close_messages_no_wait()

    def compose(self) -> ComposeResult:
        yield self._header
        yield self.ca_banner
        with self._body:
            yield self._loading
            # Until the first read, only #loading shows. _render switches the
            # states with `display`, because a class on #body would make
            # Textual restyle every widget inside it.
            for pane in self._panes.values():
                pane.display = False
                yield pane
        yield self._status
        yield ConsoleFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        if self.worker_executor is not None:
            loop.set_default_executor(self.worker_executor)
        if self.quit_on_sigterm:
            # Without this, either signal ends the process with the terminal still
            # in the alternate screen and with mouse reporting on.
            for signum in QUIT_SIGNALS:
                loop.add_signal_handler(signum, self.terminate, signum)
            if self.quit_signal is not None:
                self.terminate(self.quit_signal)
        self.screen_change_signal.subscribe(self, self._screen_changed)
        self._mark_short_screen()
        self._apply_theme(self.settings.theme)
        self._render_header()
        if self.config_error is not None:
            unusable = set()
            if self.settings.theme not in self.available_themes:
                unusable.add("theme")
            note = fallback_note(
                self.config_error,
                default_audit_path(config_path=self.config_path),
                unusable,
                self.setting_options,
            )
            self.notify(
                f"{self.config_error} {note} The file was left as it is.",
                title=self.config_error.title,
                severity="error",
                timeout=15,
            )
        with self._warnings_lock:
            early_warnings, self._held_warnings = self._held_warnings, []
            self._warnings_shown_now = True
        for text in early_warnings:
            self._notify_warning(text)
        self._start_read(background=False)
        if self.gc_paused:
            # A first read that hangs must not keep the collector off.
            self.set_timer(GC_RESUME_SECONDS, self._resume_gc)

    def show_logged_warning(self, text: str) -> None:
        """Show a warning that swarmtui logged, once the console is mounted.

        Any thread may call this, as the log records of engine calls come
        from worker threads.
        """
        with self._warnings_lock:
            if not self._warnings_shown_now:
                self._held_warnings.append(text)
                return
        self._notify_warning(text)

    def _notify_warning(self, text: str) -> None:
        self.notify(
            text[:1].upper() + text[1:],
            title="Warning",
            severity="warning",
            timeout=15,
            markup=False,
        )

    def on_resize(self, event: Any) -> None:
        # The event carries the new size; self.size can still be the old one.
        self._mark_short_screen(event.size.height)

    def _mark_short_screen(self, rows: int | None = None) -> None:
        screen = self.screen
        rows = self.size.height if rows is None else rows
        screen.set_class(rows < SHORT_TERMINAL_ROWS, "-short")
        compact = rows < COMPACT_FIELD_ROWS
        if isinstance(screen, ModalScreen):
            for field in screen.query("Input, Select"):
                if isinstance(field, Input | Select):
                    field.compact = compact

    # -- the service ----------------------------------------------------------

    def _get_service(self) -> TokenService:
        """Return the service, building it on first use (in a worker thread)."""
        with self._service_lock:
            if self._service is None:
                assert self._service_factory is not None
                self._service = self._service_factory()
                self.post_message(ServiceReady(self._service.endpoint))
            return self._service

    @property
    def service(self) -> TokenService | None:
        return self._service

    # -- reading ------------------------------------------------------------

    def _start_read(self, background: bool) -> bool:
        """Start a read unless one is running; return whether it started."""
        if self._reading:
            return False
        self._reading = True
        self._sequence += 1
        text = self._reading_text()
        if self._rotating is not None or self._windows_closing or self._unlock_rotating:
            # The status line keeps naming the rotation or the close, since
            # the user waits for that, and the read's end shows it again.
            pass
        elif background:
            self._wait_quietly(text)
        else:
            self._set_waiting(text)
        self._read_swarm(self._sequence)
        return True

    @work(
        thread=True,
        exclusive=True,
        group="read",
        exit_on_error=False,
        description="Read the swarm's tokens",
    )
    def _read_swarm(self, sequence: int) -> None:
        worker = get_current_worker()
        try:
            with self._service_lock:
                early, self._early_read = self._early_read, None
            view = early.take() if early else self._get_service().read()
        except SwarmTuiError as error:
            failure: SwarmTuiError = error
        except Exception as error:  # an unexpected failure must not kill the UI
            log.exception("reading the swarm failed")
            failure = EngineError(
                f"Reading the swarm failed unexpectedly: {redact(str(error))}",
                "Retry; if it keeps failing, run with -vv and report the log.",
            )
        else:
            if not worker.is_cancelled:
                self.post_message(SwarmRead(sequence, view))
            return
        if not worker.is_cancelled:
            self.post_message(ReadFailed(sequence, failure))

    def on_service_ready(self, message: ServiceReady) -> None:
        self.endpoint_label = message.endpoint
        if self._waiting.startswith("Reading swarm"):
            self._set_waiting(f"Reading swarm from {message.endpoint}…")
        self._render_header()

    def _read_after_current(self) -> None:
        """Start a read now, or when the running one ends.

        A running read may have started before a change it must show, and
        its result is dropped then.
        """
        # A read whose result was handled can still have a worker that is
        # ending, and a new read worker would cancel it.
        ending = any(
            worker.group == "read" and not worker.is_finished for worker in self.workers
        )
        if ending or not self._start_read(background=True):
            self._read_again = True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The read that must follow waits for the running read's worker to
        # end, because a new read worker would cancel it.
        worker = event.worker
        if worker.group == "read" and worker.is_finished and self._read_again:
            self._read_again = False
            self._start_read(background=True)

    def _reading_text(self) -> str:
        return f"Reading swarm from {self.endpoint_label or 'the engine'}…"

    def _rotation_finished(self, succeeded: bool = True, unknown: bool = False) -> None:
        """Clear the rotation's status, and quit if q was pressed during it.

        `unknown` is True when a failed rotation may still have taken effect.
        """
        self._rotating = None
        self._show_calls_running()
        if self._quit_after_rotation:
            self._quit_after_rotation = False
            if succeeded:
                # After the frame with the new token, through the quit action,
                # which shows the dialog about open join windows.
                self.call_after_refresh(self.action_quit)
            elif unknown:
                self.notify(
                    "The console stays open, because whether the rotation went "
                    "through is unknown: the next reads of the swarm show it.",
                    severity="warning",
                )
            else:
                self.notify(
                    "The console stays open, because the rotation did not go through.",
                    severity="warning",
                )

    def _read_finished(self) -> None:
        """Clear the read's status; a rotation still running keeps its own."""
        self._reading = False
        self._show_calls_running()

    def _show_calls_running(self) -> None:
        """Show the rotation or read still running, or clear the status line."""
        if self._rotating is not None:
            self._set_waiting(f"Rotating {self._rotating} token…")
        elif self._unlock_rotating:
            self._set_waiting("Rotating the unlock key…")
        elif self._windows_closing:
            self._set_waiting(self._closing_text())
        elif self._reading:
            self._set_waiting(self._reading_text())
        else:
            self._set_waiting("")

    def _rotation_in_flight(self) -> bool:
        """Return whether a rotation by this console has not reported back yet.

        A read meanwhile can see the new token before the rotation's reply
        does, and would report it as rotated outside the console. Each kind
        of rotation reads the swarm again when it ends.
        """
        return (
            bool(self._roles_rotating())
            or self._rotating_leak_dialog() is not None
            or self._unlock_rotating
        )

    def on_swarm_read(self, message: SwarmRead) -> None:
        self._read_finished()
        self._arm_poll()
        if message.sequence < self._accept_from or self._rotation_in_flight():
            return
        old, view = self.view, message.view
        had_error = self.error is not None
        self.view = view
        self.error = None
        if old is not None and old.cluster_id != view.cluster_id:
            replaced = (
                "The demo swarm was reset: it is now another swarm"
                if self.can_try_join()
                else f"The engine at {view.endpoint} now serves another swarm"
            )
            self.notify(
                f"{replaced} (cluster {view.cluster_id[:12]}).", severity="warning"
            )
            self._forget_old_swarm()
            self._look_up_origins(view, settle_earlier=True)
        elif old is None:
            if had_error:
                # Reads failed before this one, and the swarm may not have
                # existed when the console started.
                self._swarm_since = self._clock()
            self._look_up_origins(view, settle_earlier=True)
        else:
            outside_change = False
            for role in Role:
                if self._settle_unconfirmed(role, old, view):
                    continue
                if old.token_fingerprint(role) != view.token_fingerprint(role):
                    outside_change = True
                    self._token_changed(role, view, outside=True)
                    self._notify_outside_rotation(role, view)
            refresh_notice = (
                not outside_change
                and message.sequence == self._refresh_sequence
                and not had_error
            )
            if old.autolock != view.autolock and not refresh_notice:
                # The console cannot turn autolock on or off, so someone else did.
                # The ctrl+r notice below names the change itself.
                self._notify_autolock_change(view)
            if outside_change:
                # The audit record stores the time when another swarmtui rotated.
                self._look_up_origins(view)
            elif refresh_notice:
                # The screen would not change, so a notice shows that ctrl+r read it.
                read_at = self._clock().astimezone(UTC).strftime("%H:%M:%S UTC")
                changes = "".join(f"; {change}" for change in other_changes(old, view))
                self.notify(
                    f"Read the swarm again at {read_at}: the tokens did not "
                    f"change{changes}."
                )
        self._render()

    def _forget_old_swarm(self) -> None:
        """Drop what the console knew of the swarm that another one replaced."""
        self.seen_changes.clear()
        # A reveal was of the old swarm's tokens and key, so the new swarm's
        # start masked, and its key is no rotation of the old one.
        for role in Role:
            self.revealed[role] = not self.settings.mask_tokens
        self.unlock_revealed = False
        self.unlock_key_text = ""
        # A rotation of the old swarm whose outcome was unknown cannot be
        # settled by reads of the new one.
        self._unconfirmed.clear()
        self._unlock_unsettled = False
        self._unlock_key_before = ""
        self._unlock_pending_since = None
        self.refresh_bindings()
        self._swarm_since = self._clock()
        self.token_origins.clear()

    def _record_outcome(
        self, role: Role, view: SwarmView, before: str, after: str, **fields: Any
    ) -> None:
        """Record what a read shows of a rotation whose outcome was unknown."""
        self._record(
            "rotate-outcome",
            role,
            view,
            result="took-effect" if after != before else "not-rotated",
            old_fingerprints={role.value: before},
            new_fingerprints={role.value: after},
            **fields,
        )

    def _notify_autolock_change(self, view: SwarmView) -> None:
        if view.autolock:
            text = (
                "Autolock was turned on outside this console: a restarted "
                "manager now stays locked until it gets the unlock key shown "
                "below."
            )
        else:
            text = (
                "Autolock was turned off outside this console: restarted "
                "managers no longer need the unlock key."
            )
        self.notify(text, title="Autolock changed", severity="warning", timeout=12)

    def _notify_outside_rotation(self, role: Role, view: SwarmView) -> None:
        self.notify(
            f"The {role} token was rotated outside this console "
            f"(now {view.token_fingerprint(role)}).",
            title="Token rotated elsewhere",
            severity="warning",
        )

    def _settle_unconfirmed(self, role: Role, old: SwarmView, view: SwarmView) -> bool:
        """Report what a read shows of a rotation whose outcome was unknown.

        Return True when the role had such a rotation, which this handles.
        """
        unconfirmed = self._unconfirmed.pop(role, None)
        if unconfirmed is None or old.token_fingerprint(role) != unconfirmed[0]:
            return False
        before, started, pending = unconfirmed
        now = view.token_fingerprint(role)
        waited = self._clock() - started
        if now == before and pending and waited < PENDING_ROTATION_WAIT:
            # A timed-out update can still be applied, as by managers that
            # regain quorum, so an unchanged token settles nothing yet.
            self._unconfirmed[role] = unconfirmed
            return True
        # The rotation's own event has the result "unknown"; this one records
        # the outcome.
        self._record_outcome(role, view, before, now)
        if now != before:
            # Dated by the rotation, not by the read that showed it.
            self._token_changed(role, view, outside=False, at=started)
            self.notify(
                f"The {role} token rotation took effect: the swarm now shows {now}.",
                title="Token rotated",
            )
        else:
            within = ""
            if pending:
                minutes = int(PENDING_ROTATION_WAIT.total_seconds() // 60)
                within = f" within {minutes} minutes of timing out"
            self.notify(
                f"The {role} token rotation did not take effect{within}: the swarm "
                f"still shows {now}. Rotate it again.",
                title="Token not rotated",
                severity="warning",
                timeout=12,
            )
        return True

    def on_read_failed(self, message: ReadFailed) -> None:
        self._read_finished()
        self._arm_poll()
        if message.sequence < self._accept_from or self._rotation_in_flight():
            return
        previous = self.error
        if previous is None or str(previous) != str(message.error):
            # Logged once per distinct failure, not on every poll.
            log.info(
                "reading the swarm failed: %s: %s", message.error.title, message.error
            )
        self.error = message.error
        # The panes are hidden now, and a token or unlock key shown again
        # after the failure starts masked, as at start-up.
        for role in Role:
            self.revealed[role] = not self.settings.mask_tokens
        if previous is None:
            # Only as the reads start failing: while the swarm stays locked,
            # the key pane stays, and a key revealed to type it stays so.
            self.unlock_revealed = False
        self._render()

    def _token_changed(
        self, role: Role, view: SwarmView, outside: bool, at: datetime | None = None
    ) -> None:
        self.seen_changes[role] = SeenChange(
            view.token_fingerprint(role), at or self._clock(), outside
        )
        revealed = not self.settings.mask_tokens
        if self.revealed[role] != revealed:
            self.revealed[role] = revealed
            # Only then can the v key's label change. A rotation draws
            # sooner without the bindings refresh.
            self.refresh_bindings()

    @work(
        thread=True,
        group="token-origins",
        exit_on_error=False,
        description="Look up when the tokens were issued",
    )
    def _look_up_origins(self, view: SwarmView, settle_earlier: bool = False) -> None:
        """Read when the tokens were issued, from the audit record and history.

        With `settle_earlier`, on the first read of a swarm, also record the
        outcome of each rotation that the audit record lists as unknown,
        which a console that quit, or the CLI, left there.
        """
        service = self._service
        if service is None:
            return
        audit_path = getattr(service.audit, "path", None)
        settled: list[SettledRotation] = []
        try:
            events = read_events_quietly(
                Path(audit_path) if audit_path else None, view.cluster_id
            )
            origins = token_origins(service, view, events=events)
            if settle_earlier:
                pending = unsettled_rotations(events, view.cluster_id)
                for role in Role:
                    # A rotation of this console's own is settled by its reads.
                    if role.value in pending and role not in self._unconfirmed:
                        before, recorded_at = pending[role.value]
                        # NOTE: a changed token may also come from a later
                        # rotation by another tool, which the record cannot show.
                        after = view.token_fingerprint(role)
                        outcome = SettledRotation(role, before, after, recorded_at)
                        settled.append(outcome)
                        known = origins.get(role)
                        if (
                            outcome.took_effect
                            and recorded_at is not None
                            and (known is None or known.source != "audit")
                        ):
                            # The record written below dates the token by the
                            # rotation, as the next lookup will find it.
                            origins[role] = TokenOrigin(after, recorded_at, "audit")
                        self._record_outcome(
                            role,
                            view,
                            before,
                            after,
                            unknown_since=format_utc(recorded_at)
                            if recorded_at
                            else None,
                        )
            if settle_earlier and view.autolock:
                unlock = self._settle_earlier_unlock(service, view, events)
                if unlock is not None:
                    settled.append(unlock)
        except Exception:  # the origins only add detail; never fail the UI
            log.exception("looking up when the tokens were issued failed")
            return
        self.post_message(TokenOriginsFound(view.cluster_id, origins, settled))

    def _settle_earlier_unlock(
        self, service: TokenService, view: SwarmView, events: list[dict[str, Any]]
    ) -> SettledRotation | None:
        """Record what became of an unlock key rotation recorded as unknown.

        A console that quit while it rotated the key leaves such a record.
        The key is read here, in the lookup's worker thread.
        """
        pending = unsettled_unlock_rotation(events, view.cluster_id)
        if pending is None or self._unlock_rotating:
            return None
        before, recorded_at = pending
        try:
            after = unlock_key_fingerprint(service.unlock_key())
        except SwarmTuiError as error:
            log.info("unlock key not read to settle its rotation: %s", error)
            return None
        service.record(
            "rotate-outcome",
            view=view,
            result="took-effect" if after != before else "not-rotated",
            old_key_fingerprint=before,
            new_key_fingerprint=after,
            unknown_since=format_utc(recorded_at) if recorded_at else None,
        )
        return SettledRotation(None, before, after, recorded_at)

    def on_token_origins_found(self, message: TokenOriginsFound) -> None:
        for rotation in message.settled:
            self._show_settled(rotation)
        view = self.view
        if view is None or view.cluster_id != message.cluster_id:
            return
        self.token_origins.update(
            (role, origin)
            for role, origin in message.origins.items()
            if origin.source != "seen" or origin.at < self._history_since
        )
        self._render_panes()

    def _show_settled(self, rotation: SettledRotation) -> None:
        """Say what became of a rotation that was recorded as unknown."""
        when = ""
        if rotation.recorded_at is not None:
            when = f" at {format_utc(rotation.recorded_at)}"
        subject = (
            "An unlock key" if rotation.role is None else f"A {rotation.role} token"
        )
        thing = "key" if rotation.role is None else "token"
        earlier = (
            f"{subject} rotation recorded{when} as unknown (swarmtui could not "
            "tell whether it took effect)"
        )
        if rotation.took_effect:
            store = " Store the key shown now." if rotation.role is None else ""
            self.notify(
                f"{earlier} took effect, or the {thing} was rotated again since: "
                f"the swarm shows {rotation.after}, not {rotation.before}.{store}",
                title="Earlier rotation settled",
                timeout=15,
            )
        else:
            self.notify(
                f"{earlier} did not take effect: the swarm still shows "
                f"{rotation.after}. Rotate it again.",
                title="Earlier rotation not done",
                severity="warning",
                timeout=20,
            )

    # -- polling --------------------------------------------------------------

    def _arm_poll(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
        self._poll_timer = self.set_timer(self.settings.poll_interval, self._poll)

    def _modal_open(self) -> bool:
        """Whether a dialog or the help screen covers the panes.

        The command palette does not count: its commands act on the panes.
        """
        covering = [
            screen
            for screen in self.screen_stack[1:]
            if not isinstance(screen, CommandPalette)
        ]
        return bool(covering)

    def _poll(self) -> None:
        self._poll_timer = None
        if (
            self._modal_open()
            or self._rotating is not None
            or self._unlock_rotating
            or self._reading
        ):
            self._arm_poll()
            return
        self._start_read(background=True)

    # -- waiting state ----------------------------------------------------------

    def _set_waiting(self, text: str) -> None:
        if self._quiet_timer is not None:
            self._quiet_timer.stop()
            self._quiet_timer = None
        self._waiting = text
        self._render_status()

    def _wait_quietly(self, text: str, delay: float = POLL_QUIET_SECONDS) -> None:
        """Show what the console waits for only if the call takes `delay` seconds."""
        if self._quiet_timer is not None:
            self._quiet_timer.stop()
        self._quiet_timer = self.set_timer(delay, lambda: self._set_waiting(text))

    # -- rendering ----------------------------------------------------------

    def _render(self) -> None:
        if self.error is not None:
            self._show_error(self.error)
        elif self._error_state is not None:
            self._error_state.display = False
        self._loading.display = self.error is None and self.view is None
        ready = self.error is None and self.view is not None
        for pane in self._panes.values():
            pane.display = ready
        self._render_header()
        self._render_panes()
        self._render_status()
        self._move_focus_off_hidden()
        if not self._first_read_rendered and (ready or self.error is not None):
            self._first_read_rendered = True
            self.set_timer(AFTER_FRAME_SECONDS, self._after_first_frame)
        # Refreshing the bindings recomposes the footer, which costs start-up
        # time and, on a poll that changed nothing, output to the terminal.
        # So refresh only when what check_action reads has changed.
        binding_state = self.error is not None
        if binding_state != self._binding_state:
            self._binding_state = binding_state
            self.refresh_bindings()

    def _move_focus_off_hidden(self) -> None:
        """Focus Retry or the body when a state change hid the focused widget.

        A read that fails hides the panes, and one that recovers hides the
        error pane. Without this, keys would go to a widget that is no longer
        on screen.
        """
        main = self._attached_main_screen()
        if main is None or not _hidden(main.focused):
            return
        if self.error is None or self._error_state is None:
            main.set_focus(self._body)
            return
        retry = self._error_state.retry

        def focus_retry() -> None:
            # The error pane may have been mounted by this render, and Textual
            # may have moved focus to another hidden widget meanwhile.
            if retry.is_mounted and _hidden(main.focused):
                main.set_focus(retry)

        self.set_timer(AFTER_FRAME_SECONDS, focus_retry)

    def _show_error(self, error: SwarmTuiError) -> None:
        state = self._error_state
        if state is None:
            state = self._error_state = ErrorState(id="error-state")
            self._body.mount(state, after=self._loading)
        state.show(error)
        state.display = True

    def _after_first_frame(self) -> None:
        """Turn the collector back on, then focus the body if nothing has focus."""
        self._resume_gc()
        main = self._attached_main_screen()
        if main is not None and main.focused is None:
            main.set_focus(self._body)

    def _resume_gc(self) -> None:
        if self.gc_paused:
            self.gc_paused = False
            gc.enable()

    def _render_header(self) -> None:
        self._header.show(self.endpoint_label, self.view, stale=self.error is not None)

    def _render_panes(self, roles: Iterable[Role] = tuple(Role)) -> None:
        view = self.view
        if view is None:
            return
        for role in roles:
            pane = self._panes[role]
            fingerprint = view.token_fingerprint(role)
            seen = self.seen_changes.get(role)
            changed = change_text(
                fingerprint, seen, self.token_origins.get(role), self._swarm_since
            )
            outside = seen is not None and seen.outside
            revealed = self.revealed[role]
            if revealed and not self.settings.mask_tokens:
                self._record_unmasked(role, view, fingerprint)
            pane.show(view, revealed, changed, outside)

    def _record_unmasked(self, role: Role, view: SwarmView, fingerprint: str) -> None:
        """Audit a token that the settings show unmasked, once per token."""
        if fingerprint in self._unmasked_recorded:
            return
        self._unmasked_recorded.add(fingerprint)
        self._record_in_thread(
            "reveal", role, view, reason="masking is off in the settings"
        )

    @work(thread=True, group="audit", exit_on_error=False, description="Audit")
    def _record_declined(
        self,
        request: str,
        roles: tuple[Role, ...],
        view: SwarmView | None,
        **fields: Any,
    ) -> None:
        """Record a rotation declined at its confirmation, off the UI thread."""
        service = self._service
        if service is not None:
            service.record_declined(request, roles, view, **fields)

    @work(thread=True, group="audit", exit_on_error=False, description="Audit")
    def _record_in_thread(
        self, action: str, role: Role, view: SwarmView, **fields: Any
    ) -> None:
        # Off the UI thread, because each record is synced to disk and this
        # one can come with the frame of a rotation.
        self._record(action, role, view, **fields)

    def _render_status(self) -> None:
        if self._waiting:
            text = self._waiting
        elif self.error is not None:
            text = (
                f"Retrying every {self.settings.poll_interval:g} s; "
                "press ctrl+r to retry now."
            )
        elif self.view is not None:
            text = f"Tokens read from {self.view.endpoint}."
        else:
            text = ""
        self._status.show(text)
        self._loading.show(self._waiting or "Starting…")

    # -- helpers for actions -------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self._exiting:
            # Keys typed with the quit key would open dialogs on an app that is
            # closing, whose widgets are gone before the dialogs mount.
            return False
        if isinstance(self.screen, HelpScreen) and action not in {"quit", "help_quit"}:
            # The help screen is a plain screen, not a modal one, so the app's
            # keys reach it. None of them may act on the panes it covers.
            return False
        if action in DIALOG_BLOCKED_ACTIONS and self._modal_open():
            # Textual keeps the app's keys from a dialog; the footer behind
            # it shows them dimmed.
            return None
        if action in PANE_ACTIONS and self._modal_open():
            return False
        if action in TOKEN_ACTIONS and self.error is not None:
            # None shows the key dimmed in the footer: known but unavailable.
            # Before the first read the keys stay lit, and the action reports
            # that the swarm is still being read.
            return None
        if action in {"toggle_reveal", "hide_token"} and not parameters:
            # v shows as Reveal or Hide, whichever it does to the chosen pane.
            # A pane's button names its role and keeps the toggle.
            return self.revealed[self._focused_role()] == (action == "hide_token")
        return True

    async def on_event(self, event: events.Event) -> None:
        """Drop keys that were typed before the screen on top was shown.

        A terminal hands over keys typed together in one read, as from a
        script, a paste or fast typing. Without this check they would act in
        the dialog that the key before them opened, so r, Tab, Enter would
        confirm a manager rotation that no one saw.
        """
        if isinstance(event, events.Key) and self._typed_before_screen(event):
            log.debug("dropped a key typed before the screen on top was shown")
            return
        await super().on_event(event)

    def _typed_before_screen(self, event: events.Key) -> bool:
        """Tell whether a key was typed before the dialog, palette or help on top.

        Textual stamps each event with time.monotonic on Linux and macOS.
        Its parser waits ESCAPE_DELAY after an Escape to tell it from the
        start of a key sequence, which delays the keys after it, so a key
        that comes within that time of a dropped one is dropped too.
        """
        if isinstance(self.screen, MainScreen):
            return False
        if event.time >= max(self._screen_shown_at, self._drop_keys_until):
            return False
        self._drop_keys_until = time.monotonic() + KEY_BURST_GAP
        return True

    async def on_key(self, event: events.Key) -> None:
        """Explain a token key dimmed by a failed read.

        Textual skips a binding whose check_action returns None, so the key
        reaches the app as a plain key event.
        """
        error = self.error
        if error is None or event.key not in TOKEN_KEYS or self._modal_open():
            return
        event.stop()
        self._explain_failed_read(error)

    def explain_unavailable(self) -> None:
        """Show why a command from the palette did not run, after a failed read."""
        if self.error is not None:
            self._explain_failed_read(self.error)

    def _explain_failed_read(self, error: SwarmTuiError) -> None:
        """Show that the swarm cannot be read, once while that notice is on screen."""
        now = time.monotonic()
        last = self._explained_error
        if (
            last is not None
            and last[0] is error
            and now - last[1] < self.NOTIFICATION_TIMEOUT
        ):
            return
        self._explained_error = (error, now)
        self.notify(
            f"The swarm cannot be read: {error.title_in_sentence}. The message "
            "on screen says what to do; ctrl+r reads the swarm again.",
            severity="warning",
        )

    def can_try_join(self) -> bool:
        """Return whether the backend is the demo swarm, where joins can be tried."""
        return self._service is not None and hasattr(self._service.backend, "join")

    def offers_in_palette(self, action: str) -> bool:
        """Tell whether the palette lists `action` for the swarm on screen.

        A join can be tried only on the demo swarm, and the unlock key exists
        only while autolock is on.
        """
        if action == "try_join":
            return self.can_try_join()
        if action.startswith("unlock_"):
            return self.view is not None and self.view.autolock
        return True

    def _focused_role(self) -> Role:
        """Return the pane that w, m, Tab or a click chose last.

        It is tracked rather than read from `focused`, because focus moves
        on the next message-loop turn: "m" then "r" typed at once must
        still rotate the manager token.
        """
        return self._last_role

    def on_descendant_focus(self, event: Any) -> None:
        self._choose_pane_of(event.widget)

    def on_click(self, event: events.Click) -> None:
        """Choose the pane that was clicked, also on its text or border."""
        self._choose_pane_of(event.widget)

    def action_focus_next(self) -> None:
        """Move the focus on, as Tab does, and choose its pane at once.

        The focus event that also chooses the pane arrives after a key typed
        right behind Tab, so r would otherwise act on the pane Tab left.
        """
        super().action_focus_next()
        self._choose_pane_of(self.screen.focused)

    def action_focus_previous(self) -> None:
        """Move the focus back, as shift+Tab does, and choose its pane at once."""
        super().action_focus_previous()
        self._choose_pane_of(self.screen.focused)

    def _choose_pane_of(self, node: DOMNode | None) -> None:
        """Choose the token pane that contains `node`, if any does."""
        while node is not None:
            if isinstance(node, TokenPane):
                self._choose_role(node.role)
                return
            node = node.parent

    def _choose_role(self, role: Role) -> None:
        """Make `role` the pane that the token keys act on, and mark it."""
        if role is self._last_role:
            return
        previous = self._last_role
        self._panes[previous].remove_class("-current")
        self._panes[role].add_class("-current")
        self._last_role = role
        if self.revealed[role] != self.revealed[previous]:
            self.refresh_bindings()

    def _view_or_explain(self) -> SwarmView | None:
        if self.view is None and self.error is None and self._reading:
            self.notify(
                "The swarm is still being read. Try again once the tokens show.",
                severity="warning",
            )
            return None
        if self.error is not None:
            self._explain_failed_read(self.error)
            return None
        if self.view is None:
            self.notify(
                "No swarm has been read yet. Press ctrl+r to retry.",
                severity="warning",
            )
            return None
        return self.view

    @work(thread=True, group="audit", exit_on_error=False, description="Audit")
    def _record(self, action: str, role: Role, view: SwarmView, **fields: Any) -> None:
        service = self._service
        if service is not None:
            service.record(action, roles=[role], view=view, **fields)

    # -- actions: copy, reveal -----------------------------------------------

    def action_copy_command(self, role: str | None = None) -> None:
        chosen = _role(role) or self._focused_role()
        view = self._view_or_explain()
        if view is not None:
            self._scroll_to_pane(chosen)
            self._copy(view, chosen, view.join_command(chosen), "join command")

    def action_copy_token(self, role: str | None = None) -> None:
        chosen = _role(role) or self._focused_role()
        view = self._view_or_explain()
        if view is not None:
            self._scroll_to_pane(chosen)
            self._copy(view, chosen, view.token(chosen), "token")

    def _scroll_to_pane(self, role: Role) -> None:
        """Scroll the token pane that a token key acts on into view.

        With the focus in the unlock key pane on a small terminal, the chosen
        token pane can be scrolled away, and the key would act out of sight.
        """
        self._panes[role].scroll_visible(animate=False)

    def _token_in_flux(self, role: Role, verb: str) -> bool:
        """Return True, after a notice, while the token on screen is being replaced.

        The token on screen stops working when the rotation ends, so it is
        neither copied nor revealed then. `verb` names the refused action.
        """
        if role in self._roles_rotating():
            self.notify(
                f"The {role} token is still being rotated; {verb} it when the "
                "new one is shown.",
                severity="warning",
            )
            return True
        if role in self._unconfirmed:
            self.notify(
                f"The {role} token on screen may have been rotated; {verb} it "
                "when a read of the swarm shows whether it was.",
                severity="warning",
            )
            return True
        return False

    def _copy(self, view: SwarmView, role: Role, text: str, what: str) -> None:
        if self._token_in_flux(role, "copy"):
            return
        method = self.settings.clipboard
        subject = f"{role.capitalize()} {what}"
        if method == "off":
            self.notify(
                "Copying is off in the settings. Press v to reveal the token, "
                "then select it with the mouse (shift+drag in most terminals).",
                severity="warning",
            )
            return
        tool = None
        if method in ("local", "both"):
            tool = clipboard.local_tool(self.environment)
        if method == "local" and tool is None:
            self.notify(
                "No local clipboard tool is usable: it needs a display "
                "(WAYLAND_DISPLAY or DISPLAY) and wl-copy, xclip, xsel or pbcopy. "
                "Choose OSC 52 in the settings (s), or reveal and select.",
                severity="error",
            )
            return
        if method in ("osc52", "both"):
            self.copy_to_clipboard(text)
        self._record("copy", role, view, item=what.replace(" ", "-"))
        if tool is not None:
            self._copy_local(tool, text, subject, osc52=method == "both")
        else:
            self._notify_osc52_sent(subject)

    def _notify_osc52_sent(self, subject: str) -> None:
        if clipboard.in_tmux(self.environment):
            self._notify_sent_through_tmux(subject)
        else:
            self.notify(f"{subject} sent to the terminal's clipboard (OSC 52).")

    @work(thread=True, group="clipboard", exit_on_error=False, description="Copy")
    def _notify_sent_through_tmux(self, subject: str) -> None:
        note = self._tmux_note()
        self.call_from_thread(
            self.notify, f"{subject} sent to the terminal's clipboard (OSC 52).{note}"
        )

    def _tmux_note(self) -> str:
        """Return the tmux options that OSC 52 needs, unless tmux passes it on.

        Asks the tmux server each time, since the user may have just set the
        option that the note names. Blocks, so call it from a thread.
        """
        if not clipboard.in_tmux(self.environment):
            return ""
        if clipboard.tmux_forwards_osc52(self.environment):
            return ""
        return (
            " tmux passes it on only with 'set -g set-clipboard on' or "
            "'set -g allow-passthrough on'."
        )

    def copy_to_clipboard(self, text: str) -> None:
        """Send OSC 52, and inside tmux also through tmux's passthrough."""
        super().copy_to_clipboard(text)
        # NOTE: App has no public way to write raw output; _driver is the one
        # Textual itself uses for OSC 52.
        driver = self._driver
        if driver is not None and clipboard.in_tmux(self.environment):
            driver.write(clipboard.tmux_passthrough(clipboard.osc52_sequence(text)))

    @work(thread=True, group="clipboard", exit_on_error=False, description="Copy")
    def _copy_local(
        self, tool: tuple[str, ...], text: str, subject: str, osc52: bool
    ) -> None:
        name = Path(tool[0]).name
        try:
            clipboard.copy_with_tool(tool, text)
        except Exception as error:  # OSError, CalledProcessError, TimeoutExpired
            failure = type(error).__name__
        else:
            failure = ""
        note = self._tmux_note() if osc52 and not failure else ""
        self.post_message(LocalCopyFinished(name, failure, subject, osc52, note))

    def on_local_copy_finished(self, message: LocalCopyFinished) -> None:
        if message.error:
            extra = " It was sent through OSC 52 only." if message.osc52 else ""
            self.notify(
                f"{message.tool} failed ({message.error}).{extra}",
                severity="warning" if message.osc52 else "error",
            )
            return
        if message.osc52:
            self.notify(
                f"{message.subject} sent to the terminal's clipboard (OSC 52) and "
                f"copied with {message.tool}.{message.tmux_note}"
            )
        else:
            self.notify(f"{message.subject} copied with {message.tool}.")

    def action_toggle_reveal(self, role: str | None = None) -> None:
        chosen = _role(role) or self._focused_role()
        view = self._view_or_explain()
        if view is None:
            return
        if not self.revealed[chosen] and self._token_in_flux(chosen, "reveal"):
            return
        self._scroll_to_pane(chosen)
        self.revealed[chosen] = not self.revealed[chosen]
        if self.revealed[chosen]:
            self._record("reveal", chosen, view)
        self._render_panes()
        self.refresh_bindings()

    def action_hide_token(self) -> None:
        if self.revealed[self._focused_role()]:
            self.action_toggle_reveal()

    def action_focus_pane(self, role: str) -> None:
        chosen = Role(role)
        self._choose_role(chosen)
        main = self._attached_main_screen()
        if main is not None:
            # At once, unlike Widget.focus, so that a Tab typed right after
            # the key moves on from this pane. The whole pane is scrolled into
            # view, not just its row of buttons.
            main.set_focus(self._panes[chosen].first_button, scroll_visible=False)
            self._scroll_to_pane(chosen)

    # -- actions: rotate --------------------------------------------------------

    def action_rotate(self, role: str | None = None) -> None:
        self._request_rotation(_role(role) or self._focused_role())

    def _request_rotation(self, chosen: Role, action: str = "rotate") -> None:
        """Rotate a role's token, after the confirmation that it needs.

        `action` names the rotation in the audit record.
        """
        view = self._view_or_explain()
        if view is None:
            return
        rotating = self._roles_rotating()
        if rotating:
            self.notify(
                f"The {rotating[0]} token is still being rotated.",
                severity="warning",
            )
            return
        if chosen is Role.MANAGER or self.settings.confirm_worker_rotation:

            def confirmed(answer: bool | None) -> None:
                if answer:
                    self._begin_rotation(chosen, view, action)
                else:
                    self._record_declined(action, (chosen,), view)

            self._scroll_to_pane(chosen)
            self.push_screen(ConfirmRotateScreen(chosen, view), confirmed)
            return
        self._begin_rotation(chosen, view, action)
        # After the rotation has started, so that it waits for nothing.
        self._scroll_to_pane(chosen)

    def _begin_rotation(
        self, role: Role, expected: SwarmView, action: str = "rotate"
    ) -> None:
        self._rotating = role
        # A read that started before the rotation ends must not overwrite it.
        self._accept_from = self._sequence + 1
        with self._rotation_lock:
            self._unstarted_rotation = (role, expected, action)
        # The worker first: its task then runs before the timer's.
        self._rotate(role, expected, action)
        self._rotation_started_at = self._clock()
        self._wait_quietly(f"Rotating {role} token…", ROTATION_QUIET_SECONDS)

    def take_unstarted_rotation(self) -> tuple[Role, SwarmView, str] | None:
        """Return the rotation requested but not started yet, and cancel it.

        The exit calls this: a key press just before q can leave a rotation
        that no worker thread ran.
        """
        with self._rotation_lock:
            unstarted, self._unstarted_rotation = self._unstarted_rotation, None
        return unstarted

    @work(
        thread=True,
        exclusive=True,
        group="rotate",
        exit_on_error=False,
        description="Rotate a join token",
    )
    def _rotate(self, role: Role, expected: SwarmView, action: str = "rotate") -> None:
        if self.take_unstarted_rotation() is None:
            return  # the exit cancelled it and recorded it
        # The previous rotation's worker may still wait for its frame: it
        # writes its records now, and this rotation waits for them, so that
        # the records follow the order of the rotations.
        self._rotation_drawn.set()
        with self._records_lock:
            self._rotate_in_order(role, expected, action)

    def _rotate_in_order(self, role: Role, expected: SwarmView, action: str) -> None:
        def announce(result: RotationResult) -> None:
            # The new token goes to the screen before the token history and
            # the audit record are written (about 1.5 ms with fsync), and
            # the exit waits for them through wait_for_records. Writing them
            # while the UI thread draws the token made the two threads take
            # turns at the GIL, so the worker waits for that frame.
            self._records_written.clear()
            self._rotation_drawn.clear()
            self.post_message(Rotated(result, own=True))
            self._rotation_drawn.wait(RECORDS_AFTER_FRAME_SECONDS)

        try:
            self._get_service().rotate(
                [role], expected=expected, action=action, announce=announce
            )
        except RotationConflictError as error:
            self.post_message(RotationConflicted(role, error, action))
        except SwarmTuiError as error:
            self.post_message(RotationFailed(role, error))
        except Exception as error:  # an unexpected failure must not kill the UI
            log.exception("rotation failed")
            self.post_message(
                RotationFailed(
                    role,
                    EngineError(
                        f"The rotation failed unexpectedly: {redact(str(error))}",
                        "Read the tokens again (ctrl+r) to see their state.",
                    ),
                )
            )
        finally:
            self._records_written.set()

    def terminate(self, signum: int = signal.SIGTERM) -> None:
        """Quit as q does, with the exit code of a process ended by `signum`.

        The first signal sets the exit code, as in the CLI.
        """
        if self.quit_signal is None:
            self.quit_signal = signum
        if self.on_quit_signal is not None:
            self.on_quit_signal(signum)
        self.exit(128 + self.quit_signal)

    def exit(
        self,
        result: int | None = None,
        return_code: int = 0,
        message: RenderableType | None = None,
    ) -> None:
        """Hide revealed secrets, then exit after the frame that hides them.

        Some terminals show the alternate screen's last frame again after
        the console quits, as tmux does once the window was resized, which
        would leave a revealed token in the shell's window.
        """
        # A rotation's worker writes its records now, not after a frame.
        self._rotation_drawn.set()
        self._exiting = True
        revealed = any(self.revealed.values()) or self.unlock_revealed
        # After SIGHUP the terminal is gone. Drawing the masked frame then left
        # Textual's exit blocked on its output queue when a tmux window closed.
        hung_up = self.quit_signal == signal.SIGHUP
        if not revealed or hung_up or self._attached_main_screen() is None:
            super().exit(result, return_code, message)
            return
        self.revealed = dict.fromkeys(self.revealed, False)
        self.unlock_revealed = False
        self._render_panes()
        self._show_extras()
        self.set_timer(
            AFTER_FRAME_SECONDS,
            lambda: super(SwarmConsole, self).exit(result, return_code, message),
        )

    def wait_for_records(self, timeout: float) -> bool:
        """Wait for the records of a rotation already on screen to be written.

        Return False when the token history or the audit record was still
        being written after `timeout` seconds.
        """
        return self._records_written.wait(timeout)

    def on_rotated(self, message: Rotated) -> None:
        if message.own:
            self._rotation_finished()
        self._accept_from = self._sequence + 1
        result = message.result
        old, after = self.view, result.after
        if (
            old is not None
            and old.cluster_id == after.cluster_id
            and after.version < old.version
        ):
            # A read or another rotation already showed a newer state of the
            # swarm than this rotation's result, so read the swarm again.
            self._rotation_drawn.set()
            if message.announce:
                text, title = rotation_notice(result)
                self.notify(text, title=title)
            self._read_after_current()
            return
        # Without an error before, the panes and the error pane stay shown,
        # so only the header and the changed panes need drawing.
        changes_only = self.error is None and old is not None
        self.view = after
        self.error = None
        if self._notices_after_rotation is None:
            self._notices_after_rotation = []
        for role in result.roles:
            self._token_changed(role, after, outside=False)
        # A rotation that read the swarm itself, as a join window's close
        # does, can bring a change of the other token made elsewhere.
        elsewhere = []
        for role in Role:
            if role in result.roles or old is None:
                continue
            if self._settle_unconfirmed(role, old, after):
                elsewhere.append(role)
            elif old.token_fingerprint(role) != after.token_fingerprint(role):
                elsewhere.append(role)
                self._token_changed(role, after, outside=True)
                self._notify_after_rotation(
                    partial(self._notify_outside_rotation, role, after)
                )
                # The audit record stores the time when another swarmtui rotated.
                self._look_up_origins(after)
        roles = sorted(result.roles, key=list(Role).index)
        text, title = rotation_notice(result)
        if changes_only:
            self._render_header()
            self._render_panes([*roles, *elsewhere])
        else:
            self._render()
        # The toast and the read below start after the frame with the new
        # token is written, so that neither delays it. call_after_refresh is
        # not enough: the screen can run its callbacks before it draws the
        # change. The read is needed because a rotation reuses the last
        # read's node state: it updates the node counts and the join address.

        def after_frame() -> None:
            self._rotation_drawn.set()
            if message.announce:
                self.notify(text, title=title)
            waiting, self._notices_after_rotation = self._notices_after_rotation, None
            for notice in waiting or []:
                notice()
            self._read_after_current()

        self.set_timer(AFTER_FRAME_SECONDS, after_frame)

    def _notify_after_rotation(self, notice: Callable[[], None]) -> None:
        """Call `notice` now, or after the notice of a rotation still to be shown."""
        if self._notices_after_rotation is None:
            notice()
        else:
            self._notices_after_rotation.append(notice)

    def on_rotation_failed(self, message: RotationFailed) -> None:
        error = message.error
        unknown = isinstance(error, RotationOutcomeUnknownError)
        self._rotation_finished(succeeded=False, unknown=unknown)
        log.info(
            "rotating the %s token failed: %s: %s", message.role, error.title, error
        )
        text = f"Rotating the {message.role} token failed. {error}"
        if isinstance(error, RotationOutcomeUnknownError):
            # The error's message names what failed; the next read decides.
            text = str(error)
            if self.view is not None:
                before = self.view.token_fingerprint(message.role)
                started = self._rotation_started_at or self._clock()
                self._unconfirmed[message.role] = (before, started, error.pending)
        # The engine may be down or no longer a manager, which the read shows
        # at once, instead of the last good read until the next poll.
        self._read_after_current()
        self.notify(text, title=error.title, severity="error", timeout=12)

    def on_leak_outcome_unknown(self, message: LeakOutcomeUnknown) -> None:
        """Hold both tokens after a leak response whose outcome is unknown."""
        if self.view is not None:
            started = self._clock()
            for role in Role:
                before = self.view.token_fingerprint(role)
                self._unconfirmed[role] = (before, started, message.error.pending)
        self._read_after_current()

    def on_rotation_conflicted(self, message: RotationConflicted) -> None:
        self._rotation_finished(succeeded=False)
        fresh = message.error.fresh
        old = self.view
        self.view = fresh
        if old is not None and old.cluster_id != fresh.cluster_id:
            # Another swarm's tokens are not rotations of this one's.
            self._forget_old_swarm()
            self._look_up_origins(fresh)
        elif old is not None:
            for role in Role:
                if self._settle_unconfirmed(role, old, fresh):
                    continue
                if old.token_fingerprint(role) != fresh.token_fingerprint(role):
                    self._token_changed(role, fresh, outside=True)
        self._render()
        role = message.role
        if message.action == "rotate-checked-token":
            checked = self._checked_token
            if checked is None or checked != (role, fresh.token_fingerprint(role)):
                # A second attempt would replace a token other than the
                # checked one.
                self.notify(
                    f"The checked {role} token is no longer the current one: "
                    f"the swarm now shows {fresh.token_fingerprint(role)}, so "
                    f"nothing was rotated. Check the token again, or press r in "
                    f"the {role} pane to rotate the current one.",
                    title="Checked token replaced",
                    severity="warning",
                    timeout=12,
                )
                return

        def answered(answer: bool | None) -> None:
            if answer:
                # Asked again, the rotation keeps the action it was asked for.
                self._begin_rotation(role, fresh, message.action)
            else:
                self._record_declined(message.action, (role,), fresh)

        self.push_screen(ConflictScreen(role, message.error.changes, fresh), answered)

    # -- actions: other ---------------------------------------------------------

    def action_refresh(self) -> None:
        if self._start_read(background=False):
            self._refresh_sequence = self._sequence
            return
        message = (
            f"Still waiting for {self.endpoint_label or 'the engine'}; the "
            "call times out on its own."
        )
        # Repeated ctrl+r presses while a call hangs show one toast, not a stack.
        if not any(item.message == message for item in self._notifications):
            self.notify(message, severity="warning")

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        # One screen, composed at the first press: composing and styling it
        # is most of the time it takes to show. A screen outside the stack
        # keeps the styles it had, so a new theme gets a new screen, and so
        # does a change in whether the j key applies.
        key = (self.theme, self.can_try_join())
        if self._help_screen is None or self._help_key != key:
            if self._help_screen is not None:
                self.uninstall_screen(self._help_screen)
            self._help_screen = HelpScreen()
            self.install_screen(self._help_screen, name="help")
            self._help_key = key
        self.push_screen(self._help_screen)

    def action_settings(self) -> None:
        if isinstance(self.screen, SettingsScreen):
            return
        path = str(self.config_path) if self.config_path else "(no config file)"
        self.push_screen(
            SettingsScreen(
                self.settings, path, self.config_error, write=self._write_settings
            ),
            self._settings_saved,
        )

    def _write_settings(self, settings: Settings) -> None:
        """Write `settings` to the config file; raise ConfigError when it fails.

        The settings screen calls this before it closes, so that a failure is
        shown in the dialog with the values still in it.
        """
        if self.config_path is None:
            return
        _, backup = save_shown_settings(self.config_path, settings, SettingsScreen.KEYS)
        self.config_error = None
        note = f" The file's previous text was kept as {backup}." if backup else ""
        self.notify(f"Settings saved to {self.config_path}.{note}")

    def _settings_saved(self, settings: Settings | None) -> None:
        if settings is None:
            return
        old = self.settings
        self.settings = settings
        if settings.theme != old.theme:
            self._apply_theme(settings.theme)
        if settings.mask_tokens != old.mask_tokens:
            self.revealed = {role: not settings.mask_tokens for role in Role}
            self._unmasked_recorded.clear()
            self._render_panes()
            self.refresh_bindings()
        if settings.poll_interval != old.poll_interval and self._poll_timer:
            self._arm_poll()

    def _apply_theme(self, name: str) -> None:
        if name == self.theme:
            return
        if name not in self.available_themes:
            where = ""
            if self.config_path is not None:
                where = f" in {setting_location(self.config_path, 'theme')}"
            self.notify(
                f"Unknown theme {name!r}{where}; using {self.theme}.",
                severity="warning",
            )
            return
        self.theme = name

    def action_check_token(self) -> None:
        if self._service is None:
            self.notify("The engine has not answered yet.", severity="warning")
            return

        screen = CheckTokenScreen(self._service)

        def answered(role: Role | None) -> None:
            checked = screen.live_fingerprint
            if role is None or checked is None:
                return
            on_screen = self.view.token_fingerprint(role) if self.view else None
            if on_screen != checked:
                # The rotation would replace the token on screen, which is not
                # the one checked. A read shows which one is current.
                self._start_read(background=True)
                self.notify(
                    f"The checked {role} token ({checked}) is not the one this "
                    f"console shows ({on_screen or 'none'}), so nothing was rotated. "
                    "Check the token again once the panes show the current one.",
                    title="Checked token not shown",
                    severity="warning",
                    timeout=12,
                )
                return
            self._checked_token = (role, checked)
            self._request_rotation(role, "rotate-checked-token")

        self.push_screen(screen, answered)

    def action_try_join(self) -> None:
        service = self._service
        if service is None or not self.can_try_join():
            self.notify(
                "Trying a join works only on the demo swarm (swarmtui --demo). "
                "On a real swarm, run the copied join command on the new host.",
                severity="warning",
            )
            return

        def closed(joined: bool | None) -> None:
            if joined:
                self._start_read(background=False)

        self.push_screen(TryJoinScreen(service), closed)

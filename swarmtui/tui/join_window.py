"""Join window dialogs and the bar that counts down on the main screen.

The bar only displays what the app hands it. The app polls the node list
and rotates the token in thread workers; see swarmtui.windows for the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from swarmtui.models import NodeInfo, Role
from swarmtui.numbertext import parse_decimal, parse_whole_number
from swarmtui.timetext import format_utc
from swarmtui.tokens import quote_input, redact
from swarmtui.tui.screens import FIELD_FOCUS_BINDINGS, DialogScreen, modal_css
from swarmtui.tui.widgets import ChangeAwareStatic, FieldInput
from swarmtui.windows import (
    MAX_WINDOW_MINUTES,
    MIN_WINDOW_MINUTES,
    MIN_WINDOW_MINUTES_TEXT,
    JoinWindow,
)


@dataclass(frozen=True, slots=True)
class WindowRequest:
    """The user's request: a role, and minutes, a number of joins, or both."""

    role: Role
    minutes: float | None
    max_joins: int | None


def countdown_text(seconds: float) -> str:
    """Write whole seconds left as M:SS, or H:MM:SS from one hour on."""
    whole = max(0, int(seconds + 0.999))
    hours, rest = divmod(whole, 3600)
    minutes, seconds_left = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds_left:02d}"
    return f"{minutes}:{seconds_left:02d}"


def window_line(window: JoinWindow, joined: tuple[NodeInfo, ...], now: datetime) -> str:
    """Describe an open window in one line: time left, joins, who joined."""
    parts = [f"{window.role.capitalize()} join window open"]
    remaining = window.remaining(now)
    if remaining is not None:
        parts.append(f"{countdown_text(remaining.total_seconds())} left")
    if window.max_joins is not None:
        parts.append(f"{len(joined)} of {window.max_joins} join(s)")
    else:
        parts.append(f"{len(joined)} joined")
    line = "  ·  ".join(parts)
    if joined:
        names = ", ".join(
            f"{node.hostname or node.id[:12]} ({node.address or '?'})"
            for node in joined
        )
        line += f"\nJoined: {names}"
    return line


class JoinWindowBar(Vertical):
    """One open join window: countdown, joins so far and a Close button."""

    DEFAULT_CSS = """
    JoinWindowBar {
        height: auto;
        border: round $accent;
        border-title-color: $accent;
        border-title-style: bold;
        padding: 0 1;
        margin-top: 1;
    }
    JoinWindowBar.-manager { border: round $error; border-title-color: $error; }
    JoinWindowBar .line { height: auto; }
    JoinWindowBar.-poll-failed { border-subtitle-color: $warning; }
    JoinWindowBar.-due { border: round $warning; border-title-color: $warning; }
    JoinWindowBar .buttons { height: auto; }
    JoinWindowBar .buttons Button { min-width: 0; width: auto; }
    """

    def __init__(self, window: JoinWindow) -> None:
        super().__init__(id=f"window-{window.id}", classes=f"-{window.role}")
        self.window = window
        self.border_title = f"{window.role.capitalize()} join window"
        self._until = ""
        if window.until is not None:
            self._until = f"until {format_utc(window.until)}"
        self.border_subtitle = self._until
        # Kept by reference: the once-a-second tick can show a line before
        # the bar's children are mounted, when a query would find none.
        self._line = ChangeAwareStatic("", classes="line", markup=False)

    def compose(self) -> ComposeResult:
        yield self._line
        with Horizontal(classes="buttons"):
            yield Button(
                "Close now and rotate",
                id=f"window-close-{self.window.id}",
                action=f"app.close_join_window('{self.window.id}')",
                compact=True,
                variant="warning",
            )

    def show(
        self, joined: tuple[NodeInfo, ...], now: datetime, poll_error: str = ""
    ) -> bool:
        """Update the text if it changed; return whether it did.

        `poll_error` names why the last node list could not be read, in a
        few words such as an error's title, or is empty.
        """
        # The failure goes in the bottom border, so that the bar keeps its
        # height and an 80x24 screen its layout.
        subtitle = self._until
        if poll_error:
            subtitle = f"joins not counted: {poll_error}"
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle
            self.set_class(bool(poll_error), "-poll-failed")
        line = window_line(self.window, joined, now)
        self.remove_class("-due")
        return self._line.show(line)

    def show_due(self, reason: str) -> bool:
        """Show a window past its limit that an earlier console left open.

        `reason` is why it is due, such as "its time ran out".
        """
        self.add_class("-due")
        self.border_subtitle = "due"
        role = self.window.role
        line = (
            f"{role.capitalize()} join window due: {reason}. The {role} token "
            "still joins until the window is closed."
        )
        return self._line.show(line)


MANAGER_NOTE = (
    "Nodes that join with the manager token become managers, and a manager "
    "controls the whole swarm. Press Open window to hand it out."
)


class OpenWindowScreen(DialogScreen[WindowRequest | None]):
    """Ask for the role and the limits of a new join window."""

    DEFAULT_CSS = modal_css(
        "OpenWindowScreen",
        """
        OpenWindowScreen .hint { color: $text-muted; }
        OpenWindowScreen #window-error { color: $error; }
        OpenWindowScreen #window-manager-note { color: $error; display: none; }
        OpenWindowScreen.-manager #window-manager-note { display: block; }
        OpenWindowScreen Input, OpenWindowScreen Select { width: 30; }
        OpenWindowScreen .row { height: auto; }
        OpenWindowScreen .row Label { width: 24; padding-top: 1; }
        OpenWindowScreen.-short .row Label { padding-top: 0; }
        """,
    )
    AUTO_FOCUS = "#window-minutes"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="window-cancel"),
        # q closes every dialog, as escape does; a text field takes it as text.
        Binding("q", "cancel", "Cancel", show=False),
        *FIELD_FOCUS_BINDINGS,
    ]

    def __init__(self, role: Role = Role.WORKER) -> None:
        super().__init__()
        self.role = role

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", can_focus=False):
            yield Label("Open a join window", classes="dialog-title")
            yield Static(
                "Swarm tokens never expire. A join window rotates the role's "
                "token when the time is up or when the number of nodes has "
                "joined, whichever comes first. Keep the console running: the "
                "window is stored, and a console started later offers to close "
                "it if this one stops first.",
                classes="hint",
            )
            with Horizontal(classes="row"):
                yield Label("Role")
                yield Select(
                    [(role.capitalize(), role.value) for role in Role],
                    value=self.role.value,
                    allow_blank=False,
                    id="window-role",
                )
            with Horizontal(classes="row"):
                yield Label("Minutes (blank: none)")
                yield FieldInput(value="10", id="window-minutes")
            with Horizontal(classes="row"):
                yield Label("Joins (blank: none)")
                yield FieldInput(value="", id="window-joins")
            yield Static(MANAGER_NOTE, id="window-manager-note")
            yield Static("", id="window-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="window-cancel-button", compact=True)
                yield Button(
                    "Open window", id="window-open", variant="primary", compact=True
                )

    def on_mount(self) -> None:
        self._show_role(self.role)

    @on(Select.Changed, "#window-role")
    def _role_changed(self, event: Select.Changed) -> None:
        self._show_role(Role(str(event.value)))

    def _show_role(self, role: Role) -> None:
        """Warn about the manager token, and colour the Open button to match."""
        manager = role is Role.MANAGER
        self.set_class(manager, "-manager")
        self.query_one("#window-open", Button).variant = (
            "error" if manager else "primary"
        )

    def read_form(self) -> WindowRequest | str:
        """Return the request, or a sentence naming the invalid field."""
        role = Role(str(self.query_one("#window-role", Select).value))
        minutes_text = self.query_one("#window-minutes", Input).value.strip()
        joins_text = self.query_one("#window-joins", Input).value.strip()
        minutes = None
        max_joins = None
        if minutes_text:
            # As with --minutes, the exponent form of the minimum is accepted.
            minutes = parse_decimal(minutes_text, exponent=True)
            if (
                minutes is None
                or not MIN_WINDOW_MINUTES <= minutes <= MAX_WINDOW_MINUTES
            ):
                return (
                    f"Minutes must be from {MIN_WINDOW_MINUTES_TEXT} (one "
                    f"microsecond) to {MAX_WINDOW_MINUTES} (a year), not "
                    f"{quote_input(minutes_text)}."
                )
        if joins_text:
            max_joins = parse_whole_number(joins_text)
            if max_joins is None and joins_text.isascii() and joins_text.isdigit():
                return (
                    f"Joins has {len(joins_text)} digits, more than a count can "
                    "have: use a smaller number."
                )
            if max_joins is None or max_joins < 1:
                return (
                    "Joins must be a whole number of 1 or more, not "
                    f"{quote_input(joins_text)}."
                )
        if minutes is None and max_joins is None:
            return "Give a number of minutes, a number of joins, or both."
        return WindowRequest(role=role, minutes=minutes, max_joins=max_joins)

    @on(Button.Pressed, "#window-open")
    def _open(self) -> None:
        request = self.read_form()
        if isinstance(request, str):
            self.query_one("#window-error", Static).update(redact(request))
            return
        self.dismiss(request)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        """Open a worker window, or move to the Open button for a manager window.

        The manager token hands out control of the swarm, so Enter in a
        field does not open its window: the button takes a second Enter.
        """
        request = self.read_form()
        if isinstance(request, str):
            # A field's text is quoted, and may be a token pasted by mistake.
            self.query_one("#window-error", Static).update(redact(request))
            return
        if request.role is Role.MANAGER:
            self.query_one("#window-error", Static).update("")
            self.query_one("#window-open", Button).focus()
            return
        self.dismiss(request)

    @on(Button.Pressed, "#window-cancel-button")
    def action_cancel(self) -> None:
        self.dismiss(None)


def initial_focus(first: bool) -> str:
    """Return the class that marks the button to focus first, or no class."""
    return "initial-focus" if first else ""


def open_windows_text(windows: list[JoinWindow], closing: frozenset[str]) -> str:
    """Return the quit dialog's text about the open windows, with its question."""
    roles = sorted({str(window.role) for window in windows})
    if len(windows) == 1:
        text = f"The join window for the {roles[0]} token is open."
    else:
        tokens = " and ".join(roles) + (" tokens" if len(roles) > 1 else " token")
        text = f"{len(windows)} join windows, for the {tokens}, are open."
    running = [window for window in windows if window.id in closing]
    if running and len(running) == len(windows):
        return (
            f"{text} The console is rotating to close it already and waits for "
            "the engine. Rotate and quit waits for that rotation."
            if len(windows) == 1
            else f"{text} The console is rotating to close them already and waits "
            "for the engine. Rotate and quit waits for those rotations."
        )
    if running:
        return (
            f"{text} The console is closing {len(running)} of them already. "
            "Rotate the others now, so the handed-out tokens stop working?"
        )
    if len(windows) == 1:
        return f"{text} Rotate now, so the handed-out token stops working?"
    return f"{text} Rotate now, so the handed-out tokens stop working?"


class QuitWithWindowScreen(DialogScreen[str | None]):
    """Ask what to do with open join windows when the console quits.

    Dismisses with "rotate" (close them now, then quit), "keep" (quit and
    leave them stored) or None (stay).
    """

    DEFAULT_CSS = modal_css("QuitWithWindowScreen")
    # The button that compose marks to have the focus first.
    AUTO_FOCUS = ".initial-focus"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stay", "Stay", id="quit-window-stay"),
        # As in the confirmations, q does what Escape does.
        Binding("q", "stay", "Stay", show=False),
    ]

    def __init__(
        self,
        windows: list[JoinWindow],
        cli_command: str = "swarmtui",
        closing: frozenset[str] = frozenset(),
        due: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.windows = windows
        self.cli_command = cli_command
        # The ids of the windows whose closing rotation is running.
        self.closing = closing
        # The ids of the windows that are due already.
        self.due = due
        # As in every confirmation of a manager rotation, Enter alone does
        # not rotate the manager token.
        self.rotates_manager = any(window.role is Role.MANAGER for window in windows)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", can_focus=False):
            title = (
                "A join window is still open"
                if len(self.windows) == 1
                else f"{len(self.windows)} join windows are still open"
            )
            yield Label(title, classes="dialog-title")
            due = sum(window.id in self.due for window in self.windows)
            if len(self.windows) == 1:
                stored = "the window stays stored: " + (
                    "it is due already, so" if due else "once it is due,"
                )
            elif due == len(self.windows):
                stored = "the windows stay stored: they are due already, so"
            else:
                stored = "the windows stay stored: once each is due,"
            yield Static(
                f"{open_windows_text(self.windows, self.closing)} If you quit "
                f"without rotating, {stored} the next console start offers to "
                f"rotate, and '{self.cli_command} join-window close-expired' "
                "rotates without asking."
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    "Stay",
                    id="quit-stay",
                    classes=initial_focus(self.rotates_manager),
                    compact=True,
                )
                yield Button("Quit, keep open", id="quit-keep", compact=True)
                yield Button(
                    "Rotate and quit",
                    id="quit-rotate",
                    classes=initial_focus(not self.rotates_manager),
                    variant="error",
                    compact=True,
                )

    @on(Button.Pressed, "#quit-rotate")
    def _rotate(self) -> None:
        self.dismiss("rotate")

    @on(Button.Pressed, "#quit-keep")
    def _keep(self) -> None:
        self.dismiss("keep")

    @on(Button.Pressed, "#quit-stay")
    def action_stay(self) -> None:
        self.dismiss(None)


class DueWindowsScreen(DialogScreen[bool]):
    """Offer to close join windows that fell due while no console watched them."""

    DEFAULT_CSS = modal_css("DueWindowsScreen")
    # The button that compose marks to have the focus first.
    AUTO_FOCUS = ".initial-focus"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "later", "Later", id="due-later"),
        # As in the confirmations, q does what Escape does.
        Binding("q", "later", "Later", show=False),
    ]

    def __init__(self, windows: list[tuple[JoinWindow, str]]) -> None:
        super().__init__()
        self.windows = windows
        # As in every confirmation of a manager rotation, Enter alone does
        # not rotate the manager token.
        self.rotates_manager = any(window.role is Role.MANAGER for window, _ in windows)

    def compose(self) -> ComposeResult:
        lines = "\n".join(
            f"· {window.role} window {window.id}, opened "
            f"{format_utc(window.opened_at)}: {reason}"
            for window, reason in self.windows
        )
        with VerticalScroll(classes="dialog", can_focus=False):
            title = (
                "A join window is due"
                if len(self.windows) == 1
                else f"{len(self.windows)} join windows are due"
            )
            yield Label(title, classes="dialog-title")
            yield Static(
                "These join windows should have closed while no console was "
                "watching them, so their tokens are still live:"
            )
            yield Static(lines, markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    "Later",
                    id="due-later-button",
                    classes=initial_focus(self.rotates_manager),
                    compact=True,
                )
                yield Button(
                    "Rotate now",
                    id="due-rotate",
                    classes=initial_focus(not self.rotates_manager),
                    variant="error",
                    compact=True,
                )

    @on(Button.Pressed, "#due-rotate")
    def _rotate(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#due-later-button")
    def action_later(self) -> None:
        self.dismiss(False)

"""Modal screens of the console: help, confirmations, settings and token dialogs.

Screens that call the service do it in thread workers of their own and
handle the result in message handlers, like the app does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from swarmtui.config import (
    CLIPBOARD_METHODS,
    MAX_POLL_INTERVAL,
    MIN_POLL_INTERVAL,
    Settings,
    salvage_settings,
    unreadable_cause,
    with_changes,
)
from swarmtui.errors import ConfigError, SwarmTuiError
from swarmtui.models import Role, SwarmView, TokenCheck
from swarmtui.numbertext import parse_decimal
from swarmtui.tokens import quote_input, redact
from swarmtui.tui.actions import help_sections
from swarmtui.tui.widgets import ConsoleFooter, FieldInput

if TYPE_CHECKING:
    from swarmtui.service import TokenService

MODAL_CSS = """
{name} {{
    align: center middle;
}}
{name} > .dialog {{
    width: 76;
    max-width: 100%;
    height: auto;
    max-height: 100%;
    border: thick $primary;
    background: $surface;
    padding: 0 1;
}}
{name} > VerticalScroll.dialog:focus {{ border: thick $accent; }}
{name} .dialog-title {{ text-style: bold; margin-bottom: 1; }}
{name} .dialog-buttons {{ height: auto; margin-top: 1; align-horizontal: right; }}
{name} .dialog-buttons Button {{ margin-left: 1; }}
{name}.-short .dialog-title {{ margin-bottom: 0; }}
{name}.-short Input {{ margin-bottom: 0; }}
{name}.-short .dialog-buttons Button {{ min-width: 0; }}
{name} Input.-textual-compact {{ background: $panel; padding: 0 1; }}
{name} Input.-textual-compact:focus {{ background: $panel-lighten-2; }}
"""


DialogResult = TypeVar("DialogResult")


class DialogScreen(ModalScreen[DialogResult]):
    """A modal dialog with a footer that lists the dialog's own keys.

    The console's footer behind a dialog lists the console's keys, which the
    dialog does not pass on: q, for one, closes a dialog instead of quitting.
    Textual runs the mount handler of each class, so subclasses may have
    their own.
    """

    def on_mount(self) -> None:
        # A quit key typed with the key that opened the dialog can end the
        # app first, and then the dialog is no longer attached.
        if self.is_attached:
            self.mount(ConsoleFooter(compact=True, show_command_palette=False))
        # A smaller terminal wraps the text into more lines, which can push
        # the focused button, such as the manager confirmation's Cancel at
        # 40x12, out of view. The new height is known once the text wrapped.
        for body in self.query(".dialog"):
            # A scroll bar that appears also takes a line or a column.
            for name in ("virtual_size", "show_horizontal_scrollbar"):
                self.watch(body, name, self._keep_focus_visible, init=False)

    def _keep_focus_visible(self) -> None:
        focused = self.focused
        if focused is not None:
            focused.scroll_visible(animate=False)
            # Once more after the layout that the change brings.
            self.call_after_refresh(focused.scroll_visible, animate=False)


# Characters a token field takes: a whole 'docker swarm join' line with its
# options fits, and a paste of megabytes does not.
TOKEN_FIELD_MAX_LENGTH = 2000


class TokenField(FieldInput):
    """A masked field for a pasted token that keeps every line of a paste.

    Textual's Input keeps the first line of a paste only, so a paste of an
    old join line above the current one would check the old token alone.
    The lines are joined with spaces, and the check then reports both
    tokens.
    """

    hides_all_text = True

    def __init__(self, **options: Any) -> None:
        super().__init__(
            placeholder="SWMTKN-1-…",
            password=True,
            max_length=TOKEN_FIELD_MAX_LENGTH,
            **options,
        )

    def _on_paste(self, event: events.Paste) -> None:
        # NOTE: Input has no public hook to change how a paste is inserted.
        # Textual also runs the handler of each base class unless the default
        # is prevented, and Input's would insert the first line again.
        event.prevent_default()
        text = " ".join(line for line in event.text.splitlines() if line.strip())
        if len(self.value) + len(text) > TOKEN_FIELD_MAX_LENGTH:
            # Input would drop the whole paste without a word.
            self.notify(
                f"The paste has {len(text)} characters, more than the "
                f"{TOKEN_FIELD_MAX_LENGTH} this field takes; a join token has "
                "85 to 87. Paste only the token or its 'docker swarm join' line.",
                severity="error",
            )
            event.stop()
            return
        if text:
            selection = self.selection
            if selection.is_empty:
                self.insert_text_at_cursor(text)
            else:
                self.replace(text, *selection)
        event.stop()


# Tab and shift+Tab in dialogs with text fields. As priority bindings they
# move the focus as the key arrives: otherwise the key waits its turn behind
# the field, which takes the characters typed right after it first.
FIELD_FOCUS_BINDINGS: list[BindingType] = [
    Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
    Binding(
        "shift+tab", "app.focus_previous", "Previous field", show=False, priority=True
    ),
]


def modal_css(name: str, extra: str = "") -> str:
    return MODAL_CSS.format(name=name) + extra


class KeyTable:
    """Two columns of keys and descriptions, each description wrapped under itself.

    The output matches a two-column Rich grid, which is slower to draw because
    it measures every cell first. The help screen draws it on every `?` press.
    """

    def __init__(self, rows: list[tuple[str, str | Text]]) -> None:
        self.rows = rows
        self.key_width = max(cell_len(key) for key, _ in rows) + 2

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> RenderResult:
        text_width = max(options.max_width - self.key_width, 10)
        indent = " " * self.key_width
        for key, text in self.rows:
            lines = Text(text) if isinstance(text, str) else text
            wrapped = lines.wrap(console, text_width) if lines else [Text()]
            for number, line in enumerate(wrapped):
                row = Text()
                if number:
                    row.append(indent)
                else:
                    row.append(key.ljust(self.key_width), style="bold")
                row.append_text(line)
                yield row

    def __rich_measure__(
        self, console: Console, options: ConsoleOptions
    ) -> Measurement:
        widest = max(cell_len(str(text)) for _, text in self.rows)
        return Measurement(self.key_width + 10, self.key_width + widest)


class HelpScreen(Screen[None]):
    """Screen that lists the console's keys, generated from the action registry.

    A full screen, not a modal one, so that opening it does not redraw the
    panes under a tint.
    """

    DEFAULT_CSS = modal_css(
        "HelpScreen", "HelpScreen #help-table { height: auto; width: 1fr; }"
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", id="help-close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        rows: list[tuple[str, str | Text]] = []
        # A join can be tried on the demo swarm only.
        can_try_join = getattr(self.app, "can_try_join", lambda: True)
        for number, (name, members) in enumerate(help_sections()):
            if number:
                rows.append(("", ""))
            rows.append(("", Text(name, style="bold underline")))
            for item in members:
                if item.action == "try_join" and not can_try_join():
                    continue
                rows.append((self.app.get_key_display(item.binding()), item.help))
        rows.append(("ctrl+p", "Open the command palette with the same actions."))
        rows.append(("tab", "Move between buttons; enter presses one."))
        table = KeyTable(rows)
        with VerticalScroll(classes="dialog"):
            yield Static(
                "Keys (escape, ? or q closes this screen)", classes="dialog-title"
            )
            yield Static(table, id="help-table")
            yield Static(
                Text(
                    "Tokens stay masked until revealed. By default, copies go "
                    "to the terminal's clipboard (OSC 52), which works over "
                    "SSH, and to a local clipboard tool when there is a "
                    "display; the clipboard setting changes that.",
                    style="italic",
                )
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="help-close-button", compact=True)

    def on_screen_resume(self) -> None:
        # The console keeps this screen, so each opening starts at the top.
        self.query_one(VerticalScroll).scroll_home(animate=False)

    @on(Button.Pressed, "#help-close-button")
    def _close(self) -> None:
        self.dismiss(None)


class FormError(Static):
    """The error line of a form, kept in view with the focused widget.

    A message makes the form taller, which can push the focused button out
    of a small dialog's view. The new size is known once the line resizes.
    """

    def on_resize(self) -> None:
        if not str(self.content):
            return
        self.scroll_visible(animate=False)
        focused = self.screen.focused
        if focused is not None:
            focused.scroll_visible(animate=False)


class ConfirmScreen(DialogScreen[bool]):
    """Base of the yes/no dialogs: Cancel has the focus, Escape and q cancel.

    Subclasses compose a Button with id "cancel" and one with id "confirm".
    """

    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog-cancel"),
        # q cancels here, so that the app's "q Quit" is neither shown nor dead.
        Binding("q", "cancel", "Cancel", show=False),
    ]

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self.dismiss(True)


class ConfirmRotateScreen(ConfirmScreen):
    """Ask before rotating a token; Cancel has the focus."""

    DEFAULT_CSS = modal_css(
        "ConfirmRotateScreen",
        """
        ConfirmRotateScreen > .dialog.-manager { border: thick $error; }
        ConfirmRotateScreen .danger { color: $error; text-style: bold; }
        ConfirmRotateScreen .where { color: $text-muted; }
        """,
    )

    def __init__(self, role: Role, view: SwarmView) -> None:
        super().__init__()
        self.role = role
        self.view = view

    def compose(self) -> ComposeResult:
        role = self.role
        with VerticalScroll(classes=f"dialog -{role}", can_focus=False):
            yield Label(f"Rotate the {role} token?", classes="dialog-title")
            yield Static(
                f"Cluster {self.view.cluster_id}\nEndpoint {self.view.endpoint}",
                classes="where",
                markup=False,
            )
            yield Static(
                f"Nodes that have not joined yet will need the new {role} token: "
                "the current one stops working at once. Nodes already in the "
                "swarm are not affected."
            )
            if role is Role.MANAGER:
                yield Static(
                    "The manager token grants control of the swarm.",
                    classes="danger",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(
                    f"Rotate {role} token",
                    id="confirm",
                    variant="error",
                    compact=True,
                )


class ConflictScreen(ConfirmScreen):
    """Show what another admin changed before our rotation, and ask again."""

    DEFAULT_CSS = modal_css(
        "ConflictScreen",
        """
        ConflictScreen > .dialog { border: thick $warning; }
        ConflictScreen .danger { color: $error; text-style: bold; }
        """,
    )

    def __init__(self, role: Role, changes: tuple[str, ...], fresh: SwarmView) -> None:
        super().__init__()
        self.role = role
        self.changes = changes
        self.fresh = fresh

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", can_focus=False):
            yield Label("The swarm changed before the rotation", classes="dialog-title")
            yield Static(
                "Nothing was rotated, because the swarm changed after the "
                f"console read it. Changes in cluster {self.fresh.cluster_id[:12]} "
                f"at {self.fresh.endpoint}:",
                markup=False,
            )
            yield Static(
                "\n".join(f"  • {change}" for change in self.changes),
                id="conflict-changes",
                markup=False,
            )
            yield Static(
                f"Rotate the {self.role} token now, based on the state shown "
                "above? Nodes that have not joined yet will need the new token."
            )
            if self.role is Role.MANAGER:
                yield Static(
                    "The manager token grants control of the swarm.",
                    classes="danger",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Rotate now", id="confirm", variant="error", compact=True)


THEMES = (
    "textual-dark",
    "textual-light",
    "nord",
    "gruvbox",
    "dracula",
    "tokyo-night",
    "monokai",
    "solarized-light",
)


# Descriptions of the clipboard settings, as the settings screen lists them.
CLIPBOARD_CHOICES = {
    "osc52": "osc52: terminal clipboard, over SSH too",
    "local": "local: wl-copy, xclip, xsel or pbcopy",
    "both": "both: the terminal and a local tool",
    "off": "off: no copies",
}


class MarkedCheckbox(Checkbox):
    """A checkbox that shows X when on and a blank when off.

    Textual's checkbox shows X in both states and tells them apart by colour
    only, which NO_COLOR and monochrome terminals lose.
    """

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "X" if self.value else " "


class SettingsScreen(DialogScreen[Settings | None]):
    """Edit the settings; Save validates them and returns them to the app."""

    # The settings that the form shows; Save keeps the file's other values.
    KEYS = (
        "poll_interval",
        "confirm_worker_rotation",
        "mask_tokens",
        "clipboard",
        "theme",
    )

    DEFAULT_CSS = modal_css(
        "SettingsScreen",
        """
        SettingsScreen .row { height: auto; margin-bottom: 1; }
        SettingsScreen .row Label { width: 26; }
        SettingsScreen .row Input { width: 14; }
        SettingsScreen .row Select { width: 1fr; }
        SettingsScreen #settings-error { color: $error; height: auto; }
        SettingsScreen #settings-warning { color: $warning; height: auto; }
        SettingsScreen #settings-path { color: $text-muted; }
        """,
    )
    AUTO_FOCUS = "#poll-interval"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="settings-cancel"),
        Binding("q", "cancel", "Cancel", show=False),
        *FIELD_FOCUS_BINDINGS,
    ]

    def __init__(
        self,
        settings: Settings,
        path: str,
        broken_file: ConfigError | None,
        write: Callable[[Settings], None] | None = None,
    ) -> None:
        super().__init__()
        # Writes the file before the dialog closes; raises ConfigError.
        self.write = write
        if broken_file is not None and broken_file.path:
            # The app runs on defaults, but saving must keep every valid
            # value of the broken file, shown here or not (timeout, audit_file).
            settings = salvage_settings(Path(broken_file.path))
        self.settings = settings
        self.path = path
        self.broken_file = broken_file
        # Why the file could not be read when the screen opened, or "". The
        # fields then show defaults, which Save must not write over the file
        # once it can be read again.
        self.unreadable = ""
        if broken_file is not None and broken_file.path:
            self.unreadable = unreadable_cause(Path(broken_file.path))

    def compose(self) -> ComposeResult:
        # A theme name that Textual does not know was replaced at start-up,
        # so the list shows the theme in use, and Save writes that one.
        theme = self.settings.theme
        if theme not in self.app.available_themes:
            theme = self.app.theme
        theme_names = list(THEMES)
        if theme not in theme_names:
            theme_names.insert(0, theme)
        with VerticalScroll(classes="dialog"):
            yield Label("Settings", classes="dialog-title")
            yield Static(f"Save writes {self.path}", id="settings-path", markup=False)
            if self.unreadable:
                yield Static(
                    f"The config file cannot be read ({self.unreadable}), so the "
                    "fields show the defaults, and Save is off: it would write "
                    "them over the file's settings. Fix the file, then close and "
                    "open the settings again.",
                    id="settings-warning",
                    markup=False,
                )
            elif self.broken_file is not None:
                yield Static(
                    "The config file has an error, so its bad settings use "
                    "their defaults. The fields show the file's valid "
                    "values, which take effect when saved. Saving keeps a copy "
                    "of the old file next to it (.bak) before writing the new "
                    "one.",
                    id="settings-warning",
                )
            with Horizontal(classes="row"):
                yield Label("Poll interval (seconds)")
                yield FieldInput(
                    f"{self.settings.poll_interval:g}",
                    id="poll-interval",
                    compact=True,
                )
            yield MarkedCheckbox(
                "Confirm worker rotation too",
                self.settings.confirm_worker_rotation,
                id="confirm-worker",
                compact=True,
                classes="row",
            )
            yield MarkedCheckbox(
                "Mask tokens by default",
                self.settings.mask_tokens,
                id="mask-tokens",
                compact=True,
                classes="row",
            )
            with Horizontal(classes="row"):
                yield Label("Clipboard")
                yield Select(
                    [
                        (CLIPBOARD_CHOICES[method], method)
                        for method in CLIPBOARD_METHODS
                    ],
                    value=self.settings.clipboard,
                    allow_blank=False,
                    id="clipboard",
                    compact=True,
                )
            with Horizontal(classes="row"):
                yield Label("Theme")
                yield Select(
                    [(name, name) for name in theme_names],
                    value=theme,
                    allow_blank=False,
                    id="theme",
                    compact=True,
                )
            yield FormError("", id="settings-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Save", id="save", variant="primary", compact=True)

    def read_form(self) -> Settings:
        """Build Settings from the form; raise ConfigError on a bad value."""
        text = self.query_one("#poll-interval", Input).value.strip()
        interval = parse_decimal(text)
        if interval is None or not MIN_POLL_INTERVAL <= interval <= MAX_POLL_INTERVAL:
            raise ConfigError(
                f"Invalid poll interval {quote_input(text)}.",
                f"Type a number of seconds from {MIN_POLL_INTERVAL:g} to "
                f"{MAX_POLL_INTERVAL:g}, such as 10.",
            )
        return with_changes(
            self.settings,
            poll_interval=interval,
            confirm_worker_rotation=self.query_one("#confirm-worker", Checkbox).value,
            mask_tokens=self.query_one("#mask-tokens", Checkbox).value,
            clipboard=self.query_one("#clipboard", Select).value,
            theme=self.query_one("#theme", Select).value,
        )

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#poll-interval")
    def _save(self) -> None:
        if self.unreadable:
            self.query_one("#settings-error", FormError).update(
                "Not saved: the fields show defaults, because the config file "
                "could not be read when the settings opened. Close them and "
                "open them again."
            )
            return
        try:
            settings = self.read_form()
            if self.write is not None:
                self.write(settings)
        except ConfigError as error:
            self.query_one("#settings-error", FormError).update(str(error))
            return
        self.dismiss(settings)

    @on(Input.Changed, "#poll-interval")
    def _clear_error(self) -> None:
        self.query_one("#settings-error", Static).update("")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class CheckTokenScreen(DialogScreen[Role | None]):
    """Paste a token and learn whether it is live; offer to rotate a live one.

    Dismisses with the role to rotate when the user asks for it, else None.
    """

    DEFAULT_CSS = modal_css(
        "CheckTokenScreen",
        """
        CheckTokenScreen #check-result { height: auto; margin-top: 1; }
        CheckTokenScreen #check-result.-live { color: $error; text-style: bold; }
        CheckTokenScreen #check-rotate { display: none; }
        CheckTokenScreen.-live #check-rotate { display: block; }
        """,
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="check-close"),
        Binding("q", "close", "Close", show=False),
        *FIELD_FOCUS_BINDINGS,
    ]

    class Checked(Message):
        """A token check finished; `generation` is the check's number."""

        def __init__(self, check: TokenCheck, generation: int) -> None:
            super().__init__()
            self.check = check
            self.generation = generation

    class CheckFailed(Message):
        """A token check could not read the swarm."""

        def __init__(self, error: SwarmTuiError, generation: int) -> None:
            super().__init__()
            self.error = error
            self.generation = generation

    def __init__(self, service: TokenService) -> None:
        super().__init__()
        self.service = service
        self.live_role: Role | None = None
        # The fingerprint of the live token that the rotate button rotates.
        self.live_fingerprint: str | None = None
        # The number of the latest check, raised by each check and each edit
        # of the field, so that a result of older text is dropped.
        self._generation = 0
        # The field's text when the latest check started, None after an edit.
        self._checked_text: str | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", can_focus=False):
            yield Label("Check a token", classes="dialog-title")
            yield Static(
                "Paste a join token to find out whether it is live in this swarm "
                "and for which role. Only its fingerprint is recorded."
            )
            yield TokenField(id="check-input")
            yield Static("", id="check-result", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", compact=True)
                yield Button(
                    "Rotate it now", id="check-rotate", variant="error", compact=True
                )
                yield Button("Check", id="check", variant="primary", compact=True)

    @on(Input.Submitted, "#check-input")
    @on(Button.Pressed, "#check")
    def _start_check(self) -> None:
        text = self.query_one("#check-input", Input).value
        if not text.strip():
            self._show("Paste a token first.", live=False)
            return
        self._generation += 1
        self._checked_text = text
        self._show("Checking…", live=False)
        self._check(text, self._generation)

    @on(Input.Changed, "#check-input")
    def _clear_verdict(self, event: Input.Changed) -> None:
        """Drop the verdict and the rotate button once the field is edited.

        They describe the text that was checked, not the text now in the field.
        """
        if event.value == self._checked_text:
            # The change that put the checked text in the field, handled late.
            return
        self._generation += 1
        self._checked_text = None
        self.live_role = None
        self._show("", live=False)

    @work(
        thread=True,
        exclusive=True,
        group="check-token",
        exit_on_error=False,
        description="Check a pasted token",
    )
    def _check(self, text: str, generation: int) -> None:
        try:
            check = self.service.check_token(text)
        except SwarmTuiError as error:
            self.post_message(self.CheckFailed(error, generation))
            return
        self.post_message(self.Checked(check, generation))

    def _show(self, text: str, live: bool) -> None:
        result = self.query_one("#check-result", Static)
        result.update(text)
        result.set_class(live, "-live")
        self.set_class(live, "-live")

    def on_check_token_screen_checked(self, message: Checked) -> None:
        if message.generation != self._generation:
            return
        check = message.check
        lines = [check.reason]
        if check.fingerprint:
            lines.append(f"Fingerprint {check.fingerprint}")
        self.live_role = check.role if check.live else None
        self.live_fingerprint = check.fingerprint if check.live else None
        if check.live and check.role is not None:
            button = self.query_one("#check-rotate", Button)
            button.label = f"Rotate the {check.role} token now"
        self._show("\n".join(lines), live=check.live)

    def on_check_token_screen_check_failed(self, message: CheckFailed) -> None:
        if message.generation != self._generation:
            return
        self.live_role = None
        error = message.error
        self._show(f"{error.title}: {error}", live=False)

    @on(Button.Pressed, "#check-rotate")
    def _rotate(self) -> None:
        self.dismiss(self.live_role)

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)


class TryJoinScreen(DialogScreen[bool]):
    """Join a simulated node to the demo swarm; dismisses True after a join."""

    DEFAULT_CSS = modal_css(
        "TryJoinScreen",
        """
        TryJoinScreen Input { margin-bottom: 1; }
        TryJoinScreen #join-result { height: auto; }
        TryJoinScreen #join-result.-rejected { color: $error; }
        TryJoinScreen #join-result.-joined { color: $success; }
        """,
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="join-close"),
        Binding("q", "close", "Close", show=False),
        *FIELD_FOCUS_BINDINGS,
    ]

    class Finished(Message):
        """A join attempt ended: `node` on success, `error` when rejected."""

        def __init__(self, text: str, joined: bool) -> None:
            super().__init__()
            self.text = text
            self.joined = joined

    def __init__(self, service: TokenService) -> None:
        super().__init__()
        self.service = service
        self.joined = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", can_focus=False):
            yield Label("Try a join (demo swarm)", classes="dialog-title")
            yield Static(
                "Paste a token and name the new node; the demo swarm accepts or "
                "rejects it as a manager would."
            )
            yield TokenField(id="join-token")
            yield FieldInput(
                placeholder="hostname, such as demo-worker-9", id="join-host"
            )
            yield Static("", id="join-result", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", compact=True)
                yield Button("Join", id="join", variant="primary", compact=True)

    @on(Input.Submitted)
    @on(Button.Pressed, "#join")
    def _start_join(self) -> None:
        token_field = self.query_one("#join-token", Input)
        host_field = self.query_one("#join-host", Input)
        token = token_field.value
        hostname = host_field.value.strip()
        # Enter in a field moves on to the first empty one, as a form does.
        if not token.strip():
            self._show("Paste a join token first.", None)
            self.set_focus(token_field)
            return
        if not hostname:
            self._show("Enter a hostname for the new node.", None)
            self.set_focus(host_field)
            return
        self._show("Joining…", None)
        self._join(token, hostname)

    @work(
        thread=True,
        exclusive=True,
        group="try-join",
        exit_on_error=False,
        description="Join a demo node",
    )
    def _join(self, token: str, hostname: str) -> None:
        try:
            node = self.service.try_join(token, hostname)
        except SwarmTuiError as error:
            self.post_message(self.Finished(f"Rejected: {error}", joined=False))
            return
        self.post_message(
            self.Finished(
                f"Joined: {node.hostname} is now a {node.role} at {node.address} "
                f"(node {node.id[:12]}).",
                joined=True,
            )
        )

    def _show(self, text: str, joined: bool | None) -> None:
        result = self.query_one("#join-result", Static)
        # The hostname is quoted as typed, and may be a token pasted by mistake.
        result.update(redact(text))
        result.set_class(joined is True, "-joined")
        result.set_class(joined is False, "-rejected")

    def on_try_join_screen_finished(self, message: Finished) -> None:
        self.joined = self.joined or message.joined
        self._show(message.text, message.joined)

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(self.joined)

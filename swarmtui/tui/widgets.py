"""Widgets of the console's main screen: the swarm header, token panes, error state.

Widgets only display what the app hands them; they never call the service.
Each `show` method compares with what is on screen and updates nothing when
the text is the same, so a poll that finds no change redraws nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static
from textual.widgets._footer import FooterKey

from swarmtui.errors import NotAManagerError, SwarmTuiError
from swarmtui.models import Role, SwarmView
from swarmtui.tokens import looks_secret, mask_token


def relative_time(moment: datetime, now: datetime) -> str:
    """Describe how long ago `moment` was, to the minute at best."""
    seconds = max(0.0, (now - moment).total_seconds())
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute ago"
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h ago"
    return f"{hours // 24} days ago"


def _same_content(new: str | Text | Content, old: str | Text | Content) -> bool:
    """Return whether two contents show the same text in the same styles.

    `Content` compares its text alone with `==`, so its styles are compared
    with `is_same`.
    """
    if isinstance(new, Content) and isinstance(old, Content):
        return new.is_same(old)
    return type(new) is type(old) and new == old


class ChangeAwareStatic(Static):
    """A Static that skips the update when the new content equals the old.

    When the old and the new content each fit on one row, the widget keeps
    its size, so the update repaints it without laying out the screen again.
    A rotation changes only such rows, and a layout of the main screen costs
    about 3 ms.
    """

    def __init__(self, content: str | Text | Content = "", **kwargs: object) -> None:
        super().__init__(content, **kwargs)  # type: ignore[arg-type]
        self._shown: str | Text | Content = content

    def show(self, content: str | Text | Content) -> bool:
        """Update the content if it differs; return whether it did."""
        if _same_content(content, self._shown):
            return False
        same_size = self._fits_one_row(self._shown) and self._fits_one_row(content)
        self._shown = content
        self.update(content, layout=not same_size)
        return True

    def _fits_one_row(self, content: str | Text | Content) -> bool:
        """Tell whether `content` takes one row at the width the widget has now.

        Only a width set apart from the content counts: with `width: auto`,
        new content of another length resizes the widget.
        """
        width = self.styles.width
        if width is not None and width.is_auto:
            return False
        plain = content if isinstance(content, str) else content.plain
        # The size from the last layout. content_size looks the region up in
        # the compositor, which rebuilds its map of the screen after any
        # change, such as a notification (about 1 ms in a profile).
        columns = self.outer_size.width - self.styles.gutter.width
        return 0 < cell_len(plain) <= columns and "\n" not in plain


class SwarmHeader(Vertical):
    """Header with the endpoint the console uses and the swarm it reads."""

    DEFAULT_CSS = """
    SwarmHeader {
        height: auto;
        padding: 0 1;
        background: $panel;
    }
    SwarmHeader .line { width: 1fr; height: auto; }
    SwarmHeader.-stale { background: $warning-muted; }
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._endpoint = ChangeAwareStatic(
            id="header-endpoint", classes="line", markup=False
        )
        self._swarm = ChangeAwareStatic(id="header-swarm", classes="line", markup=False)
        self._items: tuple[list[HeaderItem], list[HeaderItem]] = ([], [])

    def compose(self) -> ComposeResult:
        yield self._endpoint
        yield self._swarm

    def show(self, endpoint: str, view: SwarmView | None, stale: bool) -> None:
        top: list[HeaderItem] = [("endpoint", endpoint or "?", "bold")]
        bottom: list[HeaderItem] = []
        if view is None:
            message = "The last read failed." if stale else "No swarm read yet."
            bottom.append(("", message, "dim"))
        else:
            # After a failed read, the facts of the read before are dimmed.
            value = "dim" if stale else "bold"
            top.append(("cluster", view.cluster_id[:12], value))
            bottom += [
                ("node", view.node_hostname, value),
                ("join", view.join_address, value),
                ("managers", str(view.managers), value),
                ("nodes", str(view.nodes), value),
                ("CA digest", f"{view.ca_digest[:10]}…", value),
            ]
            if view.autolock:
                bottom.append(("autolock", "on", "dim"))
        if stale and view is not None:
            bottom.append(("", "last read failed: dimmed facts are older", "bold"))
        self._items = (top, bottom)
        self._draw()
        self.set_class(stale, "-stale")

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        top, bottom = self._items
        width = self._swarm.size.width
        self._endpoint.show(wrap_items(top, width))
        self._swarm.show(wrap_items(bottom, width))


# A label, its value, and the value's style, as the header shows them.
HeaderItem = tuple[str, str, str]


# Minimum width, in cells, of a header value shortened to fit its row.
MIN_SHORTENED_CELLS = 12


def shorten_middle(value: str, cells: int) -> str:
    """Return `value` cut to `cells` cells with "…" in place of its middle.

    The start and the end stay: for an endpoint, its scheme and host, and the
    socket or file it names.
    """
    if cell_len(value) <= cells:
        return value
    room = cells - 1
    head_cells = (room + 1) // 2
    head = ""
    for character in value:
        if cell_len(head + character) > head_cells:
            break
        head += character
    tail = ""
    for character in reversed(value):
        if cell_len(head) + cell_len(character + tail) > room:
            break
        tail = character + tail
    return f"{head}…{tail}"


def wrap_items(items: list[HeaderItem], width: int) -> Text:
    """Join "label value" items two spaces apart, breaking lines between items.

    Textual wraps at any space, which could leave a label at the end of one
    row and its value at the start of the next. A value too long for a row
    of its own loses its middle, down to MIN_SHORTENED_CELLS, and is wrapped
    beyond that. A `width` of 0 (before the first layout) puts every item on
    one line.
    """
    text = Text()
    column = 0
    for label, original, style in items:
        label_width = cell_len(label) + 1 if label else 0
        value = original
        if width:
            value = shorten_middle(
                original, max(width - label_width, MIN_SHORTENED_CELLS)
            )
        item_width = cell_len(value) + label_width
        if column and width and column + 2 + item_width > width:
            text.append("\n")
            column = 0
        elif column:
            text.append("  ", style="dim")
            column += 2
        if label:
            text.append(f"{label} ", style="dim")
        text.append(value, style=style)
        column += item_width
    return text


# Text styles of a revealed secret and of a token last changed outside the console.
REVEALED_STYLE = "bold $warning"
CHANGED_STYLE = "$warning"


class TokenPane(Vertical):
    """One role's join command, masked until revealed, with its buttons.

    The class `-current` marks the pane that the token keys act on.
    """

    DEFAULT_CSS = """
    TokenPane {
        height: auto;
        border: round $primary;
        border-title-style: bold;
        padding: 0 1;
    }
    TokenPane.-current { border: heavy $primary; }
    TokenPane.-manager { border: round $warning; border-title-color: $warning; }
    TokenPane.-manager.-current { border: heavy $error; }
    TokenPane .danger { color: $error; text-style: bold; }
    TokenPane .command { height: auto; }
    TokenPane .meta { color: $text-muted; }
    TokenPane .buttons { height: auto; }
    TokenPane .buttons Button { margin-right: 1; min-width: 0; width: auto; }
    """

    def __init__(self, role: Role) -> None:
        super().__init__(id=f"{role}-pane", classes=f"-{role}")
        self.role = role
        self.border_title = f"{role.capitalize()} token"
        if role is Role.MANAGER:
            self.border_subtitle = "grants control of the swarm"
        self._command = ChangeAwareStatic(
            id=f"{role}-command", classes="command", markup=False
        )
        self._meta = ChangeAwareStatic(id=f"{role}-meta", classes="meta", markup=False)
        self._reveal = Button(
            "Reveal",
            id=f"{role}-reveal",
            action=f"app.toggle_reveal('{role}')",
            compact=True,
            tooltip="Show or hide the secret (v)",
        )
        self._copy_command = Button(
            "Copy join command",
            id=f"{role}-copy-command",
            action=f"app.copy_command('{role}')",
            compact=True,
            tooltip="Copy the whole join command (c)",
        )

    def compose(self) -> ComposeResult:
        role = self.role
        if role is Role.MANAGER:
            yield Static(
                "Joining with it makes a host a manager of the swarm.",
                classes="danger",
            )
        yield self._command
        yield self._meta
        with Horizontal(classes="buttons"):
            yield self._copy_command
            yield Button(
                "Copy token",
                id=f"{role}-copy-token",
                action=f"app.copy_token('{role}')",
                compact=True,
                tooltip="Copy the token alone (t)",
            )
            yield self._reveal
            yield Button(
                "Rotate",
                id=f"{role}-rotate",
                action=f"app.rotate('{role}')",
                compact=True,
                variant="error" if role is Role.MANAGER else "warning",
                tooltip=f"Issue a new {role} token (r)",
            )

    def show(
        self, view: SwarmView, revealed: bool, changed: str, outside: bool
    ) -> None:
        """Display `view`'s token for this role, revealed or masked."""
        token = view.token(self.role)
        shown = token if revealed else mask_token(token)
        command = f"docker swarm join --token {shown} {view.join_address}"
        meta = f"{view.token_fingerprint(self.role)}"
        if changed:
            meta += f"  ·  {changed}"
        # Styles of the text, not classes on the lines, because a class change
        # restyles the widget (about 1 ms in a headless profile).
        self._command.show(Content.styled(command, REVEALED_STYLE if revealed else ""))
        self._meta.show(Content.styled(meta, CHANGED_STYLE if outside else ""))
        button = self._reveal
        label = "Hide" if revealed else "Reveal"
        if str(button.label) != label:
            button.label = label
            # Textual 8.2.8 repaints a new label in the button's old width,
            # which would cut "Reveal" to the width of "Hide".
            button.refresh(layout=True)

    @property
    def first_button(self) -> Button:
        return self._copy_command


class ErrorState(Vertical):
    """Explanation of why the swarm cannot be shown, the next step, and Retry."""

    DEFAULT_CSS = """
    ErrorState {
        height: auto;
        border: round $error;
        border-title-color: $error;
        border-title-style: bold;
        padding: 0 1;
    }
    ErrorState .hint { margin-top: 1; }
    ErrorState .managers { margin-top: 1; color: $text-muted; }
    ErrorState Button { margin-top: 1; }
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._message = ChangeAwareStatic(id="error-message", markup=False)
        self._hint = ChangeAwareStatic(id="error-hint", classes="hint", markup=False)
        self._managers = ChangeAwareStatic(
            id="error-managers", classes="managers", markup=False
        )
        self.retry = Button("Retry", id="retry", action="app.refresh", compact=True)

    def compose(self) -> ComposeResult:
        yield self._message
        yield self._hint
        yield self._managers
        yield self.retry

    def show(self, error: SwarmTuiError) -> None:
        self.border_title = error.title
        self._message.show(error.message)
        hint = error.hint or "Press ctrl+r or Retry to try again."
        managers = ""
        if isinstance(error, NotAManagerError) and error.manager_addresses:
            known = ", ".join(error.manager_addresses)
            managers = (
                f"Managers this node knows, by swarm address: {known}. Run "
                "swarmtui on one of them, or point -H or -c at its Docker engine "
                "(the swarm port is not the Docker API)."
            )
        # The hint of a worker node's error lists the same managers, so the
        # pane shows the managers line in its place.
        self._hint.show(hint)
        self._hint.display = not managers
        self._managers.show(managers)
        self._managers.display = bool(managers)


class ConsoleFooter(Footer):
    """A Footer that rebuilds its keys only when the keys it would show change.

    Textual's Footer rebuilds after every bindings signal: a focus change,
    the terminal gaining focus, a refresh_bindings call. At start-up two or
    three arrive, and each rebuild mounts and restyles a dozen widgets and
    redraws the bottom line, even when the keys are the same.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._keys_shown: tuple[tuple[str, str, str, bool, str], ...] | None = None

    @staticmethod
    def _keys(screen: Screen[Any]) -> tuple[tuple[str, str, str, bool, str], ...]:
        return tuple(
            (binding.key, binding.description, binding.action, enabled, tooltip)
            for _, binding, enabled, tooltip in screen.active_bindings.values()
            if binding.show
        )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        shown_here = self.is_attached and screen is self.screen
        if not screen.app.app_focus or not shown_here:
            return
        if self._keys(screen) != self._keys_shown:
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        # Several signals in one refresh queue several calls; the first one
        # rebuilds, and the others find the keys shown already.
        if self._keys(self.screen) != self._keys_shown:
            await self.recompose()

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._keys_shown = self._keys(self.screen)
        yield from super().compose()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Press the key of a dimmed footer key that was clicked.

        Textual's footer only rings the bell for a dimmed key, and the key
        press shows why the action is unavailable.
        """
        key = event.widget
        if isinstance(key, FooterKey) and key.has_class("-disabled"):
            self.app.simulate_key(key.key)


class FieldInput(Input):
    """Textual's Input, with its editing keys applied in the order typed.

    Input inserts a typed character as its key arrives, but runs the binding
    of an editing key (Backspace, Ctrl+U, Home) only after the key has passed
    up to the app. In Textual 8.2.8 a character typed right after such a key,
    in the same read from the terminal, as over a slow SSH link, was inserted
    before the edit ran. Here the field runs its own binding as the key arrives.
    """

    # True for a field that hides all of its text, as a token field does.
    hides_all_text = False

    def watch_value(self, value: str) -> None:
        # Other fields take no token or unlock key, so one pasted by mistake
        # is hidden as a password field hides its text.
        self.password = self.hides_all_text or looks_secret(value)

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            # NOTE: _bindings is Textual's private map of this widget's keys.
            for binding in self._bindings.key_to_bindings.get(event.key, []):
                # Input's handler, and the app's bindings, skip the key then.
                event.stop()
                event.prevent_default()
                await self.run_action(binding.action)
                return

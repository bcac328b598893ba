"""The root CA: a banner on the main screen and a dialog with its details."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Label, Static

from swarmtui.ca import CaInfo, describe_ca, mismatched_token_roles
from swarmtui.errors import SwarmTuiError
from swarmtui.models import SwarmView
from swarmtui.text import terminal_safe
from swarmtui.timetext import format_utc
from swarmtui.tui.screens import DialogScreen, modal_css
from swarmtui.tui.widgets import ChangeAwareStatic


def ca_warnings(view: SwarmView) -> list[str]:
    """Return the sentences the CA banner shows for `view`, none when all is well."""
    warnings = []
    if view.root_rotation_in_progress:
        warnings.append(
            "A root CA rotation is in progress: node certificates are being "
            "reissued, and tokens will change when it completes."
        )
    roles = mismatched_token_roles(view)
    if roles:
        names = " and ".join(str(role) for role in roles)
        warnings.append(
            f"The {names} token's CA digest does not match the current root CA; "
            "nodes that join with it may be rejected. Read the tokens again "
            "after the CA rotation finishes."
        )
    return warnings


class CaBanner(ChangeAwareStatic):
    """A warning line under the header while the CA needs attention."""

    DEFAULT_CSS = """
    CaBanner {
        height: auto;
        padding: 0 1;
        background: $warning-muted;
        color: $text;
        text-style: bold;
        display: none;
    }
    CaBanner.-shown { display: block; }
    """

    def __init__(self) -> None:
        super().__init__("", id="ca-banner", markup=False)

    def show_view(self, view: SwarmView | None) -> None:
        warnings = ca_warnings(view) if view is not None else []
        self.show("\n".join(warnings))
        self.set_class(bool(warnings), "-shown")


def grouped_fingerprint(fingerprint: str) -> str:
    """Put a space after every eighth byte, so a narrow dialog wraps between bytes."""
    octets = fingerprint.split(":")
    groups = [":".join(octets[start : start + 8]) for start in range(0, len(octets), 8)]
    return " ".join(groups)


def fingerprint_lines(fingerprint: str, width: int) -> list[str]:
    """Wrap a colon-separated fingerprint to `width` columns, only between bytes.

    Where a group of eight bytes fits on a line, whole groups share each
    line, separated by spaces. Otherwise each line takes as many bytes as fit
    with a colon after each, so that no byte is split across lines.
    """
    groups = grouped_fingerprint(fingerprint).split(" ")
    if all(len(group) <= width for group in groups):
        lines: list[str] = []
        for group in groups:
            if lines and len(lines[-1]) + 1 + len(group) <= width:
                lines[-1] += " " + group
            else:
                lines.append(group)
        return lines
    octets = fingerprint.split(":")
    # Each byte takes two hex digits and a colon.
    per_line = max(1, width // 3)
    chunks = [
        ":".join(octets[start : start + per_line])
        for start in range(0, len(octets), per_line)
    ]
    return [chunk + ":" for chunk in chunks[:-1]] + chunks[-1:]


class FingerprintText:
    """A fingerprint for a table cell that wraps to the cell's width between bytes.

    Rich wraps text at spaces and folds a longer word at any character, which
    splits a byte's two hex digits when a group of eight bytes does not fit.
    """

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint

    def __rich_measure__(
        self, console: Console, options: ConsoleOptions
    ) -> Measurement:
        widest = len(self.fingerprint)
        # The narrowest line is one byte and its colon.
        return Measurement(min(3, widest), widest)

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> RenderResult:
        lines = fingerprint_lines(self.fingerprint, options.max_width)
        yield Text("\n".join(lines))


class CaScreen(DialogScreen[None]):
    """The swarm's root CA: subject, SHA-256 fingerprint, validity, CA digest."""

    DEFAULT_CSS = modal_css(
        "CaScreen",
        """
        CaScreen > .dialog { width: 100; }
        CaScreen .warning { color: $warning; text-style: bold; margin-top: 1; }
        """,
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="ca-close"),
        # q closes a viewer, as it closes the help screen, rather than quit.
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(
        self, view: SwarmView, now: datetime, docker_cli: str = "docker"
    ) -> None:
        super().__init__()
        self.view = view
        self.now = now
        # The docker CLI with the options that reach the swarm's engine.
        self.docker_cli = docker_cli
        self.info: CaInfo | None = None

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        try:
            info = describe_ca(self.view.ca_pem, self.docker_cli)
        except SwarmTuiError as error:
            details: Static = Static(str(error), markup=False)
        else:
            self.info = info
            days = info.expires_in_days(self.now)
            expiry = format_utc(info.not_after)
            expiry += (
                f" (in {days:.0f} days)"
                if days >= 0
                else f" (EXPIRED {-days:.0f} days ago)"
            )
            # Text cells, because a Rich table reads a str cell as markup.
            table.add_row("Subject", Text(terminal_safe(info.subject)))
            table.add_row("Issuer", Text(terminal_safe(info.issuer)))
            table.add_row("SHA-256", FingerprintText(info.fingerprint))
            table.add_row("Valid from", format_utc(info.not_before))
            table.add_row("Expires", expiry)
            table.add_row("CA digest", info.token_digest)
            details = Static(table, id="ca-details")
        with VerticalScroll(classes="dialog", can_focus=False):
            yield Label("Root CA of the swarm", classes="dialog-title")
            yield details
            for warning in ca_warnings(self.view):
                yield Static(warning, classes="warning", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="ca-close-button", compact=True)

    @on(Button.Pressed, "#ca-close-button")
    def action_close(self) -> None:
        self.dismiss(None)

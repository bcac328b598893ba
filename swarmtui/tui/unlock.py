"""The unlock key pane of an autolocked swarm, and its rotation confirmation.

The pane only displays what the app hands it; the app reads, copies and
rotates the key in thread workers.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from swarmtui.models import SwarmView
from swarmtui.tui.screens import ConfirmScreen, modal_css
from swarmtui.tui.widgets import ChangeAwareStatic
from swarmtui.unlock import mask_unlock_key, unlock_key_fingerprint


class UnlockKeyPane(Vertical):
    """The manager unlock key: masked until revealed, with copy and rotate."""

    DEFAULT_CSS = """
    UnlockKeyPane {
        height: auto;
        border: round $warning;
        border-title-color: $warning;
        border-title-style: bold;
        padding: 0 1;
        margin-top: 1;
    }
    /* Heavy marks the token pane that the token keys act on, so not this one. */
    UnlockKeyPane:focus-within { border: double $warning; }
    UnlockKeyPane .key { height: auto; }
    UnlockKeyPane .key.-revealed { color: $warning; text-style: bold; }
    UnlockKeyPane .meta { color: $text-muted; }
    UnlockKeyPane .buttons { height: auto; margin-top: 1; }
    UnlockKeyPane .buttons Button { margin-right: 1; min-width: 0; width: auto; }
    """

    def __init__(self, unlock_command: str = "docker swarm unlock") -> None:
        super().__init__(id="unlock-pane")
        self.border_title = "Unlock key"
        self.border_subtitle = "decrypts the managers' Raft data"
        # With the options that reach the engine, such as -H.
        self.unlock_command = unlock_command

    def compose(self) -> ComposeResult:
        yield Static(
            "Autolock is on: a restarted manager stays locked until this key "
            f"is given to '{self.unlock_command}'.",
            markup=False,
        )
        yield ChangeAwareStatic(
            "Reading the unlock key…", id="unlock-key", classes="key", markup=False
        )
        yield ChangeAwareStatic("", id="unlock-meta", classes="meta", markup=False)
        with Horizontal(classes="buttons"):
            yield Button(
                "Copy key",
                id="unlock-copy",
                action="app.unlock_copy",
                compact=True,
                tooltip="Copy the unlock key to the clipboard",
            )
            yield Button(
                "Reveal",
                id="unlock-reveal",
                action="app.unlock_reveal",
                compact=True,
                tooltip="Show or hide the unlock key",
            )
            yield Button(
                "Rotate key",
                id="unlock-rotate",
                action="app.unlock_rotate",
                compact=True,
                variant="error",
                tooltip="Issue a new unlock key",
            )

    def show(self, key: str, revealed: bool, note: str = "") -> None:
        """Display `key`, masked unless `revealed`; an empty key shows `note`."""
        if key:
            shown = key if revealed else mask_unlock_key(key)
            meta = unlock_key_fingerprint(key)
            if note:
                meta += f"  ·  {note}"
        else:
            shown = note or "Reading the unlock key…"
            meta = ""
        key_line = self.query_one("#unlock-key", ChangeAwareStatic)
        key_line.show(shown)
        self.query_one("#unlock-meta", ChangeAwareStatic).show(meta)
        button = self.query_one("#unlock-reveal", Button)
        label = "Hide" if revealed else "Reveal"
        if str(button.label) != label:
            button.label = label
            # Textual 8.2.8 repaints a new label in the button's old width.
            button.refresh(layout=True)
        key_line.set_class(revealed and bool(key), "-revealed")


class ConfirmUnlockRotateScreen(ConfirmScreen):
    """Ask before rotating the unlock key; Cancel has the focus."""

    DEFAULT_CSS = modal_css(
        "ConfirmUnlockRotateScreen",
        """
        ConfirmUnlockRotateScreen > .dialog { border: thick $error; }
        ConfirmUnlockRotateScreen .danger { color: $error; text-style: bold; }
        ConfirmUnlockRotateScreen .where { color: $text-muted; }
        """,
    )

    def __init__(self, view: SwarmView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", can_focus=False):
            yield Label("Rotate the unlock key?", classes="dialog-title")
            yield Static(
                f"Cluster {self.view.cluster_id}\nEndpoint {self.view.endpoint}",
                classes="where",
                markup=False,
            )
            yield Static(
                "The swarm issues a new unlock key; the join tokens do not "
                "change. Store the new key before a manager restarts: a manager "
                "that has not received the new key yet may still need the old "
                "one, so keep the old key for a while too."
            )
            yield Static(
                "A manager that restarts without the right key stays locked.",
                classes="danger",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(
                    "Rotate unlock key",
                    id="confirm",
                    variant="error",
                    compact=True,
                )

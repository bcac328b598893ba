"""The console's actions: one registry that the bindings, help and palette share.

To add a console action, add a ConsoleAction here and an ``action_<name>``
method on the app (or on a mixin the app uses). The footer, the help screen
and the command palette are generated from this list.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

TOKENS = "Tokens"
CONSOLE = "Console"
MORE = "More"


@dataclass(frozen=True, slots=True)
class ConsoleAction:
    """One user action with its key, footer label and help text."""

    id: str
    key: str
    action: str
    label: str
    help: str
    footer: bool = True
    palette: bool = True
    priority: bool = False
    group: str = MORE
    """Section of the help screen: TOKENS first, CONSOLE last, others between."""
    listed_in_help: bool = True

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.label,
            show=self.footer,
            id=self.id,
            tooltip=self.help,
            priority=self.priority,
        )


CONSOLE_ACTIONS: tuple[ConsoleAction, ...] = (
    ConsoleAction(
        "help", "question_mark", "help", "Help", "Show the keys.", group=CONSOLE
    ),
    ConsoleAction(
        "copy-command",
        "c",
        "copy_command",
        "Copy command",
        "Copy the join command of the chosen pane (heavy border) to the clipboard.",
        group=TOKENS,
    ),
    ConsoleAction(
        "copy-token",
        "t",
        "copy_token",
        "Copy token",
        "Copy the token alone of the chosen pane to the clipboard.",
        footer=False,
        group=TOKENS,
    ),
    ConsoleAction(
        "reveal",
        "v",
        "toggle_reveal",
        "Reveal",
        "Show or hide the secret of the chosen pane's token.",
        group=TOKENS,
    ),
    # The same key while the chosen pane's token is revealed: the footer and
    # the palette then offer Hide.
    ConsoleAction(
        "hide",
        "v",
        "hide_token",
        "Hide",
        "Mask the chosen pane's token again.",
        group=TOKENS,
        listed_in_help=False,
    ),
    ConsoleAction(
        "rotate",
        "r",
        "rotate",
        "Rotate",
        "Rotate the chosen pane's token; the manager token always asks first.",
        group=TOKENS,
    ),
    ConsoleAction(
        "focus-worker",
        "w",
        "focus_pane('worker')",
        "Worker",
        "Focus the worker pane.",
        footer=False,
        group=TOKENS,
    ),
    ConsoleAction(
        "focus-manager",
        "m",
        "focus_pane('manager')",
        "Manager",
        "Focus the manager pane.",
        footer=False,
        group=TOKENS,
    ),
    ConsoleAction(
        "refresh",
        "ctrl+r",
        "refresh",
        "Refresh",
        "Read the swarm again now, or retry after an error.",
        group=CONSOLE,
    ),
    ConsoleAction(
        "check-token",
        "k",
        "check_token",
        "Check token",
        "Paste a token and find out whether it is live, and for which role.",
        footer=False,
        group=TOKENS,
    ),
    ConsoleAction(
        "try-join",
        "j",
        "try_join",
        "Try a join",
        "Join a simulated node to the demo swarm with a pasted token.",
        footer=False,
        group=TOKENS,
    ),
    ConsoleAction(
        "settings",
        "s",
        "settings",
        "Settings",
        "Change the poll interval, confirmations, masking, clipboard and theme.",
        footer=False,
        group=CONSOLE,
    ),
    ConsoleAction(
        "leak-response",
        "L",
        "leak_response",
        "A token leaked",
        "Rotate both tokens in one update and list the nodes that joined since "
        "the leak may have started.",
        footer=False,
    ),
    ConsoleAction(
        "join-window",
        "o",
        "open_join_window",
        "Open a join window",
        "Hand out a token that is rotated after some minutes or some joins.",
        footer=False,
    ),
    ConsoleAction(
        "close-join-window",
        "O",
        "close_join_window",
        "Close join windows",
        "Close every open join window now and rotate its token.",
        footer=False,
    ),
    ConsoleAction(
        "unlock-reveal",
        "u",
        "unlock_reveal",
        "Reveal unlock key",
        "Show or hide the manager unlock key (autolock only).",
        footer=False,
    ),
    ConsoleAction(
        "unlock-copy",
        "y",
        "unlock_copy",
        "Copy unlock key",
        "Copy the manager unlock key to the clipboard (autolock only).",
        footer=False,
    ),
    ConsoleAction(
        "unlock-rotate",
        "U",
        "unlock_rotate",
        "Rotate unlock key",
        "Issue a new manager unlock key after a confirmation (autolock only).",
        footer=False,
    ),
    ConsoleAction(
        "root-ca",
        "a",
        "show_ca",
        "Root CA",
        "Show the root CA: subject, SHA-256 fingerprint, expiry, CA digest.",
        footer=False,
    ),
    ConsoleAction(
        "audit-record",
        "l",
        "show_audit",
        "Audit record",
        "Show the latest events of the audit record.",
        footer=False,
    ),
    ConsoleAction("quit", "q", "quit", "Quit", "Leave the console.", group=CONSOLE),
)


def console_bindings() -> list[Binding]:
    return [item.binding() for item in CONSOLE_ACTIONS]


def help_sections() -> list[tuple[str, list[ConsoleAction]]]:
    """Group the actions for the help screen: tokens first, console last."""
    names = [TOKENS]
    for item in CONSOLE_ACTIONS:
        if item.group not in names and item.group != CONSOLE:
            names.append(item.group)
    names.append(CONSOLE)
    sections = []
    for name in names:
        members = [
            item
            for item in CONSOLE_ACTIONS
            if item.group == name and item.listed_in_help
        ]
        if members:
            sections.append((name, members))
    return sections

"""The baseline for start-up time, memory and key response: a one-line Textual app.

`?` opens a modal screen with one line and escape closes it, so that the
time from a key press to a new screen has a baseline too.

With `--with-docker-sdk` it imports the docker SDK before it starts, the
way the console does (paramiko deferred), so that the start-up and memory
that any Textual app reading the engine through the SDK needs are measured
as well.

With `--rotate-socket PATH`, `r` rotates the worker token of the engine at
that unix socket with stdlib_floor's raw calls, in a thread. The app then
shows the new token's fingerprint on its line. That is the least a Textual
app does from a key press to a rotated token on screen.
"""

import sys
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

# Functions for `r`, imported only with --rotate-socket, so that the
# start-up and memory baselines load nothing beyond Textual.
rotation_calls: dict[str, Any] = {}

LINE = "minimal textual app ready"
HELP_LINE = "minimal help screen"


class MinimalHelp(ModalScreen[None]):
    """A modal screen with one line of text."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        yield Static(HELP_LINE)


class MinimalApp(App[None]):
    """One Static with one line of text; ctrl+q quits, as in every Textual app."""

    BINDINGS: ClassVar[list[BindingType]] = [
        ("question_mark", "help", "Help"),
        ("r", "rotate", "Rotate"),
    ]

    def __init__(self, rotate_socket: str | None = None) -> None:
        super().__init__()
        self.rotate_socket = rotate_socket

    def compose(self) -> ComposeResult:
        yield Static(LINE)

    def action_help(self) -> None:
        self.push_screen(MinimalHelp())

    def action_rotate(self) -> None:
        if self.rotate_socket is not None:
            self.rotate(self.rotate_socket)

    @work(thread=True)
    def rotate(self, path: str) -> None:
        swarm = rotation_calls["rotate"](path, "worker")
        new = rotation_calls["fingerprint"](swarm["JoinTokens"]["Worker"])
        self.call_from_thread(self.query_one(Static).update, f"{LINE}, worker {new}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if "--with-docker-sdk" in arguments:
        from swarmtui.sdk_imports import defer_paramiko

        defer_paramiko()
        import docker  # noqa: F401

    socket_path = None
    if "--rotate-socket" in arguments:
        socket_path = arguments[arguments.index("--rotate-socket") + 1]
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import stdlib_floor

        from swarmtui.tokens import fingerprint

        rotation_calls.update(rotate=stdlib_floor.rotate, fingerprint=fingerprint)
    MinimalApp(socket_path).run()

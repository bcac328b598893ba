"""The baseline for start-up time, memory and key response: a one-line Textual app.

`?` opens a modal screen with one line and escape closes it, so that the
time from a key press to a new screen has a baseline too.

With `--with-docker-sdk` it imports the docker SDK before it starts, the
way the console does (paramiko deferred), so that the start-up and memory
that any Textual app reading the engine through the SDK needs are measured
as well.
"""

import sys
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

LINE = "minimal textual app ready"
HELP_LINE = "minimal help screen"


class MinimalHelp(ModalScreen[None]):
    """A modal screen with one line of text."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        yield Static(HELP_LINE)


class MinimalApp(App[None]):
    """One Static with one line of text; ctrl+q quits, as in every Textual app."""

    BINDINGS: ClassVar[list[BindingType]] = [("question_mark", "help", "Help")]

    def compose(self) -> ComposeResult:
        yield Static(LINE)

    def action_help(self) -> None:
        self.push_screen(MinimalHelp())


if __name__ == "__main__":
    if "--with-docker-sdk" in sys.argv[1:]:
        from swarmtui.sdk_imports import defer_paramiko

        defer_paramiko()
        import docker  # noqa: F401

    MinimalApp().run()

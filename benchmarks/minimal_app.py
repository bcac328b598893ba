"""The baseline for start-up time and memory: a Textual app that shows one line."""

from textual.app import App, ComposeResult
from textual.widgets import Static

LINE = "minimal textual app ready"


class MinimalApp(App[None]):
    """One Static with one line of text; ctrl+q quits, as in every Textual app."""

    def compose(self) -> ComposeResult:
        yield Static(LINE)


if __name__ == "__main__":
    MinimalApp().run()

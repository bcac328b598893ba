"""Widgets that change size, or do not, when their text changes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import Button
from tui_support import demo_backend

from swarmtui.service import TokenService
from swarmtui.tui.app import SwarmConsole
from swarmtui.tui.widgets import ChangeAwareStatic

WIDTH = 40


class RecordingStatic(ChangeAwareStatic):
    """A ChangeAwareStatic that records the `layout` flag of each refresh."""

    def __init__(self, content: str) -> None:
        super().__init__(content, markup=False)
        self.layouts: list[bool] = []

    def refresh(self, *regions: Any, layout: bool = False, **options: Any) -> Any:
        self.layouts.append(layout)
        return super().refresh(*regions, layout=layout, **options)


class LineApp(App[None]):
    def __init__(self, content: str) -> None:
        super().__init__()
        self.line = RecordingStatic(content)

    def compose(self) -> ComposeResult:
        yield self.line


async def show(app: LineApp, pilot: Any, content: str | Content) -> bool:
    app.line.layouts.clear()
    changed = app.line.show(content)
    await pilot.pause()
    return changed


async def test_one_row_change_repaints_without_layout() -> None:
    app = LineApp("fp:aaaa-bbbb-cccc")
    async with app.run_test(size=(WIDTH, 6)) as pilot:
        await pilot.pause()
        assert await show(app, pilot, "fp:dddd-eeee-ffff  ·  rotated just now")
        assert app.line.layouts[:1] == [False]
        assert app.line.size.height == 1
        assert "fp:dddd-eeee-ffff" in str(app.line.render())


async def test_wrapping_text_gets_a_layout_and_grows() -> None:
    app = LineApp("short")
    async with app.run_test(size=(WIDTH, 6)) as pilot:
        await pilot.pause()
        long = "word " * 15
        assert await show(app, pilot, long)
        assert app.line.layouts[:1] == [True]
        assert app.line.size.height == 2

        assert await show(app, pilot, "short again")
        assert app.line.layouts[:1] == [True]
        assert app.line.size.height == 1


async def test_line_break_and_empty_text_get_a_layout() -> None:
    app = LineApp("one")
    async with app.run_test(size=(WIDTH, 6)) as pilot:
        await pilot.pause()
        assert await show(app, pilot, "one\ntwo")
        assert app.line.layouts[:1] == [True]
        assert app.line.size.height == 2

        assert await show(app, pilot, "")
        assert app.line.layouts[:1] == [True]


async def test_same_text_changes_nothing() -> None:
    app = LineApp("same")
    async with app.run_test(size=(WIDTH, 6)) as pilot:
        await pilot.pause()
        assert not await show(app, pilot, "same")
        assert app.line.layouts == []


async def test_auto_width_gets_a_layout() -> None:
    app = LineApp("narrow")
    async with app.run_test(size=(WIDTH, 6)) as pilot:
        app.line.styles.width = "auto"
        await pilot.pause()
        assert await show(app, pilot, "a little wider")
        assert app.line.layouts[:1] == [True]
        assert app.line.size.width == len("a little wider")


async def test_reveal_label_keeps_full_width(tmp_path: Path) -> None:
    app = SwarmConsole(service=TokenService(demo_backend(tmp_path)), environment={})
    async with app.run_test(size=(150, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        button = app.query_one("#worker-reveal", Button)
        shown_width = button.size.width

        await pilot.press("v")
        await pilot.pause()
        assert str(button.label) == "Hide"
        await pilot.resize_terminal(148, 30)
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()

        assert str(button.label) == "Reveal"
        assert button.size.width == shown_width
        assert button.size.width >= len("Reveal")


async def test_style_change_alone_repaints_the_line() -> None:
    app = LineApp("fp:aaaa-bbbb-cccc")
    async with app.run_test(size=(WIDTH, 6)) as pilot:
        await pilot.pause()
        plain = Content("fp:aaaa-bbbb-cccc")
        assert await show(app, pilot, plain)
        assert not await show(app, pilot, Content("fp:aaaa-bbbb-cccc"))
        coloured = Content.styled("fp:aaaa-bbbb-cccc", "$warning")
        assert await show(app, pilot, coloured)
        assert app.line.layouts[:1] == [False]
        assert not await show(
            app, pilot, Content.styled("fp:aaaa-bbbb-cccc", "$warning")
        )
        assert await show(app, pilot, plain)


async def test_unlock_reveal_label_keeps_width(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    snapshot = backend.inspect_swarm()
    spec = copy.deepcopy(snapshot.spec)
    spec.setdefault("EncryptionConfig", {})["AutoLockManagers"] = True
    backend.update_swarm(snapshot.version, spec)
    app = SwarmConsole(service=TokenService(backend), environment={})
    async with app.run_test(size=(150, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        button = app.query_one("#unlock-reveal", Button)
        shown_width = button.size.width

        await pilot.press("u")
        await pilot.pause()
        assert str(button.label) == "Hide"
        await pilot.resize_terminal(148, 36)
        await pilot.pause()
        await pilot.press("u")
        await pilot.pause()

        assert str(button.label) == "Reveal"
        assert button.size.width == shown_width

"""The console's keys and focus: the footer, ctrl+c, and focus after a state change."""

from __future__ import annotations

from pathlib import Path

from textual.widgets._footer import FooterKey
from tui_support import FailingBackend, demo_backend, fixed_clock

from swarmtui.errors import EngineUnreachableError
from swarmtui.service import TokenService
from swarmtui.tui.app import SwarmConsole
from swarmtui.tui.widgets import ConsoleFooter


def footer_keys(app: SwarmConsole) -> list[FooterKey]:
    return list(app.query_one(ConsoleFooter).query(FooterKey))


async def test_focus_change_keeps_footer_keys(tmp_path: Path) -> None:
    app = SwarmConsole(
        service=TokenService(demo_backend(tmp_path)), clock=fixed_clock, environment={}
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        before = footer_keys(app)

        await pilot.press("m")
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()

        assert before
        assert app.focused is not None
        assert app.focused.id == "worker-copy-command"
        assert [id(key) for key in footer_keys(app)] == [id(key) for key in before]


async def test_error_rebuilds_footer_keys(tmp_path: Path) -> None:
    backend = FailingBackend(demo_backend(tmp_path), None)
    app = SwarmConsole(service=TokenService(backend), clock=fixed_clock, environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        before = footer_keys(app)
        assert not any(key.has_class("-disabled") for key in before)

        backend.error = EngineUnreachableError("Cannot connect.", "Start dockerd.")
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()

        after = footer_keys(app)
        assert app.error is backend.error
        assert {id(key) for key in after}.isdisjoint(id(key) for key in before)
        dimmed = {key.action for key in after if key.has_class("-disabled")}
        assert dimmed == {"copy_command", "toggle_reveal", "rotate"}


async def test_ctrl_c_names_quit_key(tmp_path: Path) -> None:
    app = SwarmConsole(
        service=TokenService(demo_backend(tmp_path)), clock=fixed_clock, environment={}
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+c")
        await pilot.pause()

        notes = [(note.title, note.message) for note in app._notifications]
        assert notes == [("Do you want to quit?", "Press q to quit.")]


async def test_focus_leaves_panes_hidden_by_error(tmp_path: Path) -> None:
    backend = FailingBackend(demo_backend(tmp_path), None)
    app = SwarmConsole(service=TokenService(backend), environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        assert app.focused is not None
        assert app.focused.id == "worker-copy-command"

        backend.error = EngineUnreachableError("Cannot connect.", "Start it.")
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert app.error is not None
        assert app.focused is not None
        assert app.focused.id == "retry"

        backend.error = None
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert app.error is None
        assert app.focused is not None
        assert app.focused.id == "body"

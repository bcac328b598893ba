"""The console's keys and focus: the footer, ctrl+c, and focus after a state change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.widgets import Button, Input
from textual.widgets._footer import FooterKey
from tui_support import FailingBackend, demo_backend, fixed_clock

from swarmtui.errors import EngineUnreachableError
from swarmtui.models import Role
from swarmtui.service import TokenService
from swarmtui.tokens import fingerprint
from swarmtui.tui.app import MainScreen, SwarmConsole
from swarmtui.tui.audit_screen import AuditScreen
from swarmtui.tui.ca import CaScreen
from swarmtui.tui.commands import ConsoleCommands
from swarmtui.tui.join_window import OpenWindowScreen
from swarmtui.tui.leak import LeakScreen
from swarmtui.tui.screens import (
    CheckTokenScreen,
    ConfirmRotateScreen,
    SettingsScreen,
    TryJoinScreen,
)
from swarmtui.tui.widgets import ConsoleFooter


def footer_keys(app: SwarmConsole) -> list[FooterKey]:
    return list(app.query_one(ConsoleFooter).query(FooterKey))


def console_on(backend: Any) -> SwarmConsole:
    return SwarmConsole(
        service=TokenService(backend), clock=fixed_clock, environment={}
    )


def demo_console(tmp_path: Path) -> SwarmConsole:
    return console_on(demo_backend(tmp_path))


async def test_focus_change_keeps_footer_keys(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
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
    app = console_on(backend)
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
    app = demo_console(tmp_path)
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


async def fail_next_read(
    app: SwarmConsole, pilot: Any, backend: FailingBackend
) -> None:
    """Read the swarm again with the engine unreachable."""
    backend.error = EngineUnreachableError("Cannot connect.", "Start dockerd.")
    await pilot.press("ctrl+r")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_dimmed_token_key_explains_error(tmp_path: Path) -> None:
    backend = FailingBackend(demo_backend(tmp_path), None)
    app = console_on(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await fail_next_read(app, pilot, backend)
        assert app.error is backend.error
        assert list(app._notifications) == []

        await pilot.press("c", "r", "v")
        await pilot.pause()

        notes = [(note.severity, note.message) for note in app._notifications]
        expected = (
            "The swarm cannot be read: engine unreachable. The message on screen "
            "says what to do; ctrl+r reads the swarm again."
        )
        assert notes == [("warning", expected)]

        # The other actions that need the swarm share that one notice.
        await pilot.press("L", "o")
        await pilot.pause()
        assert len(list(app._notifications)) == 1
        assert app.clipboard == ""


async def test_dimmed_footer_click_explains_error(tmp_path: Path) -> None:
    backend = FailingBackend(demo_backend(tmp_path), None)
    app = console_on(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await fail_next_read(app, pilot, backend)
        await pilot.pause()
        rotate = next(key for key in footer_keys(app) if key.action == "rotate")
        assert rotate.has_class("-disabled")

        await pilot.click(rotate)
        await pilot.pause()

        notes = [(note.severity, note.message) for note in app._notifications]
        expected = (
            "The swarm cannot be read: engine unreachable. The message on screen "
            "says what to do; ctrl+r reads the swarm again."
        )
        assert notes == [("warning", expected)]


async def test_dimmed_token_key_quiet_under_help(tmp_path: Path) -> None:
    backend = FailingBackend(demo_backend(tmp_path), None)
    backend.error = EngineUnreachableError("Cannot connect.", "Start dockerd.")
    app = console_on(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.error is backend.error

        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()

        assert list(app._notifications) == []


async def test_palette_hides_dimmed_token_commands(tmp_path: Path) -> None:
    backend = FailingBackend(demo_backend(tmp_path), None)
    app = console_on(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        provider = ConsoleCommands(app.screen)
        before = {item.action for item in provider._available()}
        assert {"copy_command", "rotate", "help"} <= before

        await fail_next_read(app, pilot, backend)

        after = {item.action for item in provider._available()}
        assert app.error is backend.error
        assert "copy_command" not in after
        assert "rotate" not in after
        assert "toggle_reveal" not in after
        assert {"help", "refresh", "quit"} <= after


async def test_current_pane_marked_from_start(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        worker = app.query_one("#worker-pane")
        manager = app.query_one("#manager-pane")
        assert app.focused is None or not manager.has_focus_within
        assert worker.has_class("-current")
        assert not manager.has_class("-current")

        await pilot.press("m")
        await pilot.pause()
        assert manager.has_class("-current")
        assert not worker.has_class("-current")

        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert manager.has_class("-current")
        assert not worker.has_class("-current")


async def test_palette_has_one_quit(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        system = [command.title for command in app.get_system_commands(app.screen)]
        console = [item.label for item in ConsoleCommands(app.screen)._available()]

        assert "Theme" in system
        assert "Quit" not in system
        assert "Keys" not in system
        assert "Screenshot" not in system
        assert console.count("Quit") == 1
        assert console.count("Help") == 1


async def test_palette_offers_no_maximize(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.focused, Button)
        system = [command.title for command in app.get_system_commands(app.screen)]

        assert "Theme" in system
        assert "Maximize" not in system


async def test_notice_shows_token_as_fingerprint(tmp_path: Path) -> None:
    token = "SWMTKN-1-" + "4" * 50 + "-" + "q7" * 12 + "z"
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.notify(f"theme: {token!r} is not a theme.", title=token, severity="error")
        await pilot.pause()

        notes = [(note.title, note.message) for note in app._notifications]
        redacted = f"<token {fingerprint(token)}>"
        assert notes == [(redacted, f"theme: '{redacted}' is not a theme.")]


async def test_q_in_dialog_closes_it(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, CheckTokenScreen)
        app.screen.query(Button).first().focus()
        await pilot.pause()
        footer = {key.action: key for key in footer_keys(app)}
        assert footer["help"].has_class("-disabled")
        assert footer["refresh"].has_class("-disabled")

        await pilot.press("q")
        await pilot.pause()

        assert app.is_running
        assert isinstance(app.screen, MainScreen)
        assert app.return_code is None


@pytest.mark.parametrize(
    ("key", "viewer"),
    [
        ("a", CaScreen),
        ("l", AuditScreen),
        ("k", CheckTokenScreen),
        ("j", TryJoinScreen),
        ("o", OpenWindowScreen),
        ("s", SettingsScreen),
    ],
)
async def test_q_closes_viewer(tmp_path: Path, key: str, viewer: type) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, viewer)
        # A text field takes q as text, so a button has the focus.
        app.screen.query(Button).first().focus()
        await pilot.pause()

        await pilot.press("q")
        await pilot.pause()

        assert app.is_running
        assert isinstance(app.screen, MainScreen)
        assert app.return_code is None


@pytest.mark.parametrize(
    ("keys", "dialog", "label"),
    [
        (("a",), CaScreen, "Close"),
        (("l",), AuditScreen, "Close"),
        (("k",), CheckTokenScreen, "Close"),
        (("j",), TryJoinScreen, "Close"),
        (("o",), OpenWindowScreen, "Cancel"),
        (("s",), SettingsScreen, "Cancel"),
        (("L",), LeakScreen, "Cancel"),
        (("m", "r"), ConfirmRotateScreen, "Cancel"),
    ],
)
async def test_dialog_footer_lists_dialog_keys(
    tmp_path: Path, keys: tuple[str, ...], dialog: type, label: str
) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()
        assert isinstance(app.screen, dialog)

        footers = list(app.screen.query(ConsoleFooter))
        assert len(footers) == 1
        labels = {key.key: key.description for key in footers[0].query(FooterKey)}
        assert labels["escape"] == label
        assert "q" not in labels
        assert "question_mark" not in labels
        assert footers[0].region.y == 29


def dialog_footer_labels(app: SwarmConsole) -> dict[str, str]:
    footer = app.screen.query_one(ConsoleFooter)
    return {key.key: key.description for key in footer.query(FooterKey)}


async def open_leak_dialog(app: SwarmConsole, pilot: Any) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("L")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_leak_escape_label_matches_button(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_leak_dialog(app, pilot)
        assert dialog_footer_labels(app)["escape"] == "Cancel"

        await pilot.press("enter", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LeakScreen)
        assert screen.report is not None
        assert dialog_footer_labels(app)["escape"] == "Close"

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LeakScreen)


@pytest.mark.parametrize("key", ["escape", "q"])
async def test_leak_closes_before_response(tmp_path: Path, key: str) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_leak_dialog(app, pilot)
        app.screen.query_one("#leak-cancel").focus()
        await pilot.pause()

        await pilot.press(key)
        await pilot.pause()

        assert not isinstance(app.screen, LeakScreen)
        assert app.is_running


async def test_q_in_dialog_field_is_text(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, CheckTokenScreen)
        field = app.screen.query_one(Input)
        field.focus()
        await pilot.pause()

        await pilot.press("q")
        await pilot.pause()

        assert app.is_running
        assert isinstance(app.screen, CheckTokenScreen)
        assert field.value.endswith("q")


async def test_palette_over_dialog_lists_no_token_commands(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("m", "r")
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()

        actions = {item.action for item in ConsoleCommands(app.screen)._available()}

        assert "toggle_reveal" not in actions
        assert "rotate" not in actions
        for opens_dialog in ("settings", "check_token", "leak_response", "show_ca"):
            assert opens_dialog not in actions
        assert actions == {"quit"}


async def test_palette_command_dimmed_after_listing(tmp_path: Path) -> None:
    backend = FailingBackend(demo_backend(tmp_path), None)
    app = console_on(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        provider = ConsoleCommands(app.screen)
        reveal = next(
            item for item in provider._available() if item.action == "toggle_reveal"
        )
        run_reveal = provider._run(reveal)

        await fail_next_read(app, pilot, backend)
        await run_reveal()
        await pilot.pause()

        messages = [note.message for note in app._notifications]
        assert messages == [
            "The swarm cannot be read: engine unreachable. The message on screen "
            "says what to do; ctrl+r reads the swarm again."
        ]
        assert not any(app.revealed.values())


def footer_label(app: SwarmConsole, key: str) -> str:
    labels = [item.description for item in footer_keys(app) if item.key == key]
    assert len(labels) == 1, labels
    return labels[0]


async def test_footer_reveal_key_follows_pane(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert footer_label(app, "v") == "Reveal"

        await pilot.press("v")
        await pilot.pause()
        assert app.revealed[Role.WORKER]
        assert footer_label(app, "v") == "Hide"

        # The manager pane is still masked, so v there reveals.
        await pilot.press("m")
        await pilot.pause()
        assert footer_label(app, "v") == "Reveal"

        await pilot.press("w")
        await pilot.pause()
        assert footer_label(app, "v") == "Hide"

        await pilot.press("v")
        await pilot.pause()
        assert not app.revealed[Role.WORKER]
        assert footer_label(app, "v") == "Reveal"


async def test_palette_offers_hide_when_revealed(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        provider = ConsoleCommands(app.screen)
        masked = {item.label for item in provider._available()}
        assert "Reveal" in masked
        assert "Hide" not in masked

        await pilot.press("v")
        await pilot.pause()
        revealed = {item.label: item for item in provider._available()}
        assert "Hide" in revealed
        assert "Reveal" not in revealed

        await provider._run(revealed["Hide"])()
        await pilot.pause()
        assert not app.revealed[Role.WORKER]


async def test_pane_button_still_toggles_reveal(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()

        await pilot.click("#manager-reveal")
        await pilot.pause()

        assert app.revealed[Role.MANAGER]
        assert app.revealed[Role.WORKER]
        assert footer_label(app, "v") == "Hide"


async def test_click_on_pane_text_chooses_it(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        worker = app.query_one("#worker-pane")
        manager = app.query_one("#manager-pane")
        assert worker.has_class("-current")

        await pilot.click("#manager-meta")
        await pilot.pause()
        assert manager.has_class("-current")
        assert not worker.has_class("-current")

        await pilot.click("#worker-command")
        await pilot.pause()
        assert worker.has_class("-current")
        assert not manager.has_class("-current")


async def test_dimmed_key_explains_again_after_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = FailingBackend(demo_backend(tmp_path), None)
    app = console_on(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await fail_next_read(app, pilot, backend)
        explained: list[str] = []
        original = app.notify

        def notify(message: str, **options: Any) -> None:
            explained.append(message)
            original(message, **options)

        monkeypatch.setattr(app, "notify", notify)

        await pilot.press("c")
        await pilot.press("c")
        assert app.error is not None
        assert app._explained_error is not None
        # As if the first notice had timed out.
        expired_at = app._explained_error[1] - app.NOTIFICATION_TIMEOUT - 1
        app._explained_error = (app.error, expired_at)
        await pilot.press("c")
        await pilot.pause()

    assert len(explained) == 2
    assert explained[0] == explained[1]


async def test_rotation_masks_and_relabels_v(tmp_path: Path) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        assert footer_label(app, "v") == "Hide"

        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()

        assert not app.revealed[Role.WORKER]
        assert footer_label(app, "v") == "Reveal"


@pytest.mark.parametrize("key", ["s", "k", "L", "o"])
async def test_quit_then_dialog_key_exits(tmp_path: Path, key: str) -> None:
    app = demo_console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        # Both keys in one read, as from a fast typist or a paste.
        for name in ("q", key):
            app.post_message(events.Key(name, name))
        for _ in range(40):
            if not app.is_running:
                break
            await pilot.pause(0.05)

    assert app.return_code == 0

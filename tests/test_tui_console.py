"""Pilot tests of the console on a seeded demo swarm and on failing backends."""

from __future__ import annotations

import asyncio
import io
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual import events
from textual.color import Color
from textual.command import CommandInput, CommandPalette
from textual.constants import ESCAPE_DELAY
from textual.containers import ScrollableContainer
from textual.widgets import Button, Input, OptionList, Select, Static
from tui_support import (
    SEED,
    DelegatingBackend,
    FailingBackend,
    HangingBackend,
    HangingUpdateBackend,
    RecordingAudit,
    capture_notifications,
    demo_backend,
    demo_service,
    fake_tmux,
    fixed_clock,
)

from swarmtui.config import Settings, load_settings
from swarmtui.errors import (
    ApiTooOldError,
    ConfigError,
    EngineError,
    EngineUnreachableError,
    NotAManagerError,
    NotInSwarmError,
    PermissionDeniedError,
    RequestTimeoutError,
    SwarmLockedError,
    SwarmTuiError,
)
from swarmtui.models import EngineInfo, Role, SwarmSnapshot
from swarmtui.service import TokenService
from swarmtui.tokens import mask_token, parse_token
from swarmtui.tui import clipboard
from swarmtui.tui.app import MainScreen, SwarmConsole
from swarmtui.tui.events import Rotated
from swarmtui.tui.join_window import OpenWindowScreen
from swarmtui.tui.screens import (
    CheckTokenScreen,
    ConfirmRotateScreen,
    ConflictScreen,
    HelpScreen,
    SettingsScreen,
    TryJoinScreen,
)
from swarmtui.tui.widgets import ChangeAwareStatic, ErrorState, TokenPane


def make_app(service: TokenService, **kwargs: Any) -> SwarmConsole:
    kwargs.setdefault("environment", {})
    return SwarmConsole(service=service, clock=fixed_clock, **kwargs)


async def settle(app: SwarmConsole, pilot: Any) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def command_text(app: SwarmConsole, role: Role) -> str:
    return str(app.query_one(f"#{role}-command", Static).content)


def text_colours(widget: Static) -> set[Any]:
    """Return the foreground colours of the characters on the widget's first row."""
    strip = widget.render_line(0)
    return {
        segment.style.color
        for segment in strip
        if segment.text.strip() and segment.style is not None
    }


def current_tokens(tmp_path: Path) -> tuple[str, str]:
    view = demo_service(tmp_path).read()
    return view.worker_token, view.manager_token


# -- showing --------------------------------------------------------------


async def test_console_shows_masked_tokens(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, manager = current_tokens(tmp_path)
        for role, token in ((Role.WORKER, worker), (Role.MANAGER, manager)):
            text = command_text(app, role)
            assert mask_token(token) in text
            assert parse_token(token).secret not in text
            assert app.view is not None
            meta = str(app.query_one(f"#{role}-meta", Static).content)
            assert app.view.token_fingerprint(role) in meta
        header = app.query_one("#header-endpoint", Static).content
        assert "demo:" in str(header)
        assert app.view.cluster_id[:12] in str(header)


async def test_header_shows_counts_and_join_address(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.view is not None
        line = str(app.query_one("#header-swarm", Static).content)
        assert app.view.join_address in line
        assert f"managers {app.view.managers}" in line
        assert f"nodes {app.view.nodes}" in line
        assert app.view.node_hostname in line


async def test_unchanged_poll_redraws_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        updates: list[str] = []
        original = ChangeAwareStatic.update

        def counting(self: ChangeAwareStatic, *args: Any, **kwargs: Any) -> None:
            updates.append(str(self.id))
            original(self, *args, **kwargs)

        monkeypatch.setattr(ChangeAwareStatic, "update", counting)
        app._poll()
        await settle(app, pilot)
        assert updates == []


# -- rotation ---------------------------------------------------------------


async def test_rotate_worker_key_rotates_at_once(tmp_path: Path) -> None:
    worker_before, manager_before = current_tokens(tmp_path)
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("w", "r")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmRotateScreen)
        worker_after, manager_after = current_tokens(tmp_path)
        assert worker_after != worker_before
        assert manager_after == manager_before
        assert mask_token(worker_after) in command_text(app, Role.WORKER)
        meta = str(app.query_one("#worker-meta", Static).content)
        assert "rotated by this console at 2026-12-04 12:00 UTC" in meta


async def test_rotate_worker_button(tmp_path: Path) -> None:
    worker_before, _ = current_tokens(tmp_path)
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.click("#worker-rotate")
        await settle(app, pilot)
        assert current_tokens(tmp_path)[0] != worker_before


async def test_worker_rotation_confirms_when_set(tmp_path: Path) -> None:
    worker_before, _ = current_tokens(tmp_path)
    settings = Settings(confirm_worker_rotation=True)
    app = make_app(demo_service(tmp_path), settings=settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("w", "r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmRotateScreen)
        await pilot.press("enter")
        await settle(app, pilot)
        assert current_tokens(tmp_path)[0] == worker_before
        await pilot.press("r")
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(app, pilot)
        assert current_tokens(tmp_path)[0] != worker_before


async def test_manager_modal_cancel_keeps_token(tmp_path: Path) -> None:
    _, manager_before = current_tokens(tmp_path)
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("m", "r")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfirmRotateScreen)
        assert app.focused is not None
        assert app.focused.id == "cancel"
        text = " ".join(str(widget.content) for widget in screen.query(Static))
        assert app.view is not None
        assert app.view.cluster_id in text
        assert app.view.endpoint in text
        assert "have not joined yet" in text
        assert "not affected" in text
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmRotateScreen)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("escape")
        await settle(app, pilot)
        assert current_tokens(tmp_path)[1] == manager_before


async def test_declined_rotations_audited(tmp_path: Path) -> None:
    audit = RecordingAudit()
    app = make_app(demo_service(tmp_path, audit))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.view is not None
        manager_fingerprint = app.view.manager_fingerprint
        await pilot.press("m", "r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmRotateScreen)
        await pilot.press("escape")
        await settle(app, pilot)

        demo_service(tmp_path).rotate([Role.WORKER])
        outside_worker = demo_service(tmp_path).read().worker_fingerprint
        await pilot.press("w", "r")
        await settle(app, pilot)
        assert isinstance(app.screen, ConflictScreen)
        await pilot.click("#cancel")
        await settle(app, pilot)

    declined = [
        fields for action, fields in audit.events if action == "rotation-declined"
    ]
    assert len(declined) == 2
    assert declined[0]["request"] == "rotate"
    assert declined[0]["role"] == "manager"
    assert declined[0]["result"] == "declined"
    assert declined[0]["fingerprints"] == {"manager": manager_fingerprint}
    assert declined[1]["request"] == "rotate"
    assert declined[1]["role"] == "worker"
    assert declined[1]["fingerprints"] == {"worker": outside_worker}
    rotations = [
        fields["result"] for action, fields in audit.events if action == "rotate"
    ]
    assert rotations == ["failed"]


async def test_manager_modal_confirm_rotates(tmp_path: Path) -> None:
    worker_before, manager_before = current_tokens(tmp_path)
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.click("#manager-rotate")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmRotateScreen)
        await pilot.press("tab", "enter")
        await settle(app, pilot)
        worker_after, manager_after = current_tokens(tmp_path)
        assert manager_after != manager_before
        assert worker_after == worker_before
        assert mask_token(manager_after) in command_text(app, Role.MANAGER)


async def test_rotation_passes_viewed_state(tmp_path: Path) -> None:
    service = demo_service(tmp_path)
    seen: list[Any] = []
    original = service.rotate

    def spy(roles: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("expected"))
        return original(roles, **kwargs)

    service.rotate = spy  # type: ignore[method-assign]
    app = make_app(service)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        shown = app.view
        await pilot.press("r")
        await settle(app, pilot)
        assert seen == [shown]


async def test_conflict_cancel_and_rotate_now(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        demo_service(tmp_path).rotate([Role.WORKER])
        outside_worker, _ = current_tokens(tmp_path)
        await pilot.press("r")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ConflictScreen)
        changes = str(screen.query_one("#conflict-changes", Static).content)
        assert "worker token changed" in changes
        assert app.focused is not None
        assert app.focused.id == "cancel"
        await pilot.press("enter")
        await settle(app, pilot)
        assert current_tokens(tmp_path)[0] == outside_worker
        assert mask_token(outside_worker) in command_text(app, Role.WORKER)

        demo_service(tmp_path).rotate([Role.WORKER])
        second_outside, _ = current_tokens(tmp_path)
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, ConflictScreen)
        await pilot.click("#confirm")
        await settle(app, pilot)
        final_worker, _ = current_tokens(tmp_path)
        assert final_worker != second_outside
        assert mask_token(final_worker) in command_text(app, Role.WORKER)


async def test_refresh_without_change_answers(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        messages = capture_notifications(app)
        await settle(app, pilot)
        app._poll()
        await settle(app, pilot)
        assert messages == []

        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert messages == [
            "Read the swarm again at 12:00:00 UTC: the tokens did not change."
        ]

        demo_service(tmp_path).rotate([Role.MANAGER])
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert len(messages) == 2
        assert "manager token was rotated outside this console" in messages[1]


async def test_refresh_names_other_changes(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        messages = capture_notifications(app)
        await settle(app, pilot)
        backend = demo_service(tmp_path).backend
        snapshot = backend.inspect_swarm()
        spec = dict(snapshot.spec)
        spec["EncryptionConfig"] = {"AutoLockManagers": True}
        backend.update_swarm(snapshot.version, spec)
        worker, _ = current_tokens(tmp_path)
        backend.join(worker, "late-01")

        await pilot.press("ctrl+r")
        await settle(app, pilot)

        assert messages == [
            "Read the swarm again at 12:00:00 UTC: the tokens did not change; "
            "autolock is now on; nodes 7 -> 8."
        ]


@pytest.mark.parametrize("enabled", [True, False])
async def test_poll_notices_autolock_change(tmp_path: Path, enabled: bool) -> None:
    backend = demo_service(tmp_path).backend

    def set_autolock(value: bool) -> None:
        snapshot = backend.inspect_swarm()
        spec = dict(snapshot.spec)
        spec["EncryptionConfig"] = {"AutoLockManagers": value}
        backend.update_swarm(snapshot.version, spec)

    set_autolock(not enabled)
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        messages = capture_notifications(app)
        await settle(app, pilot)
        set_autolock(enabled)

        app._start_read(background=True)
        await settle(app, pilot)

        state = "on" if enabled else "off"
        changed = [note for note in messages if "Autolock was turned" in note]
        assert len(changed) == 1
        assert changed[0].startswith(f"Autolock was turned {state} outside")
        assert not any(note.startswith("Read the swarm again") for note in messages)


async def test_outside_rotation_is_noticed(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        messages = capture_notifications(app)
        await settle(app, pilot)
        demo_service(tmp_path).rotate([Role.MANAGER])
        _, manager = current_tokens(tmp_path)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert any(
            "manager token was rotated outside this console" in message
            for message in messages
        )
        assert mask_token(manager) in command_text(app, Role.MANAGER)
        warning = Color.parse(app.theme_variables["warning"]).rich_color
        assert warning in text_colours(app.query_one("#manager-meta", Static))
        assert warning not in text_colours(app.query_one("#worker-meta", Static))


async def test_poll_skipped_while_modal_open(tmp_path: Path) -> None:
    backend = FailingBackend(demo_backend(tmp_path), None)
    app = make_app(TokenService(backend))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        calls = backend.calls
        await pilot.press("question_mark")
        await pilot.pause()
        app._poll()
        await settle(app, pilot)
        assert backend.calls == calls
        await pilot.press("escape")
        await pilot.pause()
        app._poll()
        await settle(app, pilot)
        assert backend.calls == calls + 1


# -- copy and reveal ----------------------------------------------------------


async def test_unmasked_by_settings_is_audited(tmp_path: Path) -> None:
    audit = RecordingAudit()
    app = make_app(demo_service(tmp_path, audit), settings=Settings(mask_tokens=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        reveals = [fields for action, fields in audit.events if action == "reveal"]
        assert sorted(str(fields["role"]) for fields in reveals) == [
            "manager",
            "worker",
        ]
        assert all(
            fields["reason"] == "masking is off in the settings" for fields in reveals
        )

        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert audit.actions().count("reveal") == 2

        await pilot.press("w", "r")
        await settle(app, pilot)
        assert audit.actions().count("reveal") == 3


async def test_unmasking_in_settings_is_audited(tmp_path: Path) -> None:
    audit = RecordingAudit()
    app = make_app(demo_service(tmp_path, audit))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert "reveal" not in audit.actions()

        app._settings_saved(Settings(mask_tokens=False))
        await settle(app, pilot)

        assert audit.actions().count("reveal") == 2


async def test_copy_command_and_token(tmp_path: Path) -> None:
    audit = RecordingAudit()
    app = make_app(demo_service(tmp_path, audit), settings=Settings(clipboard="osc52"))
    async with app.run_test(size=(100, 30)) as pilot:
        messages = capture_notifications(app)
        await settle(app, pilot)
        worker, manager = current_tokens(tmp_path)
        assert app.view is not None
        await pilot.press("w", "c")
        await settle(app, pilot)
        assert app.clipboard == app.view.join_command(Role.WORKER)
        await pilot.press("m", "t")
        await settle(app, pilot)
        assert app.clipboard == manager
        await pilot.click("#worker-copy-token")
        await settle(app, pilot)
        assert app.clipboard == worker
        await pilot.click("#manager-copy-command")
        await settle(app, pilot)
        assert app.clipboard == app.view.join_command(Role.MANAGER)
        assert "sent to the terminal's clipboard (OSC 52)" in messages[-1]
        assert "tmux" not in messages[-1]
        copies = [fields for action, fields in audit.events if action == "copy"]
        assert [entry["role"] for entry in copies] == [
            "worker",
            "manager",
            "worker",
            "manager",
        ]
        for entry in copies:
            role = Role(entry["role"])
            assert entry["fingerprints"] == {role: app.view.token_fingerprint(role)}
        for _, fields in audit.events:
            assert worker not in repr(fields)
            assert manager not in repr(fields)


async def test_copy_off_explains_reveal(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path), settings=Settings(clipboard="off"))
    async with app.run_test(size=(100, 30)) as pilot:
        messages = capture_notifications(app)
        await settle(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        assert app.clipboard == ""
        assert "Copying is off" in messages[-1]
        assert "reveal" in messages[-1]


def fake_tool(folder: Path, name: str) -> Path:
    """Write a clipboard tool that stores its stdin and its arguments."""
    script = folder / name
    script.write_text(
        f'#!/bin/sh\ncat > "{folder}/clip.out"\necho "$@" > "{folder}/clip.args"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


async def test_copy_uses_local_tool_stdin(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    fake_tool(tools, "xclip")
    environment = {"DISPLAY": ":9", "PATH": str(tools)}
    app = make_app(
        demo_service(tmp_path),
        settings=Settings(clipboard="local"),
        environment=environment,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        messages = capture_notifications(app)
        await settle(app, pilot)
        worker, _ = current_tokens(tmp_path)
        await pilot.press("t")
        await settle(app, pilot)
        assert (tools / "clip.out").read_text() == worker
        arguments = (tools / "clip.args").read_text()
        assert worker not in arguments
        assert "-selection clipboard" in arguments
        assert app.clipboard == ""
        assert "copied with xclip" in messages[-1]


async def test_copy_inside_tmux_wraps_osc52(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    fake_tmux(tools, "external|0")
    app = make_app(
        demo_service(tmp_path),
        settings=Settings(clipboard="osc52"),
        environment={
            "TMUX": "/tmp/tmux-0/default,1,0",
            "TMUX_PANE": "%3",
            "PATH": str(tools),
        },
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        written: list[str] = []
        driver = app._driver
        assert driver is not None
        original = driver.write

        def record(data: str) -> None:
            written.append(data)
            original(data)

        driver.write = record  # type: ignore[method-assign]
        worker, _ = current_tokens(tmp_path)
        await pilot.press("t")
        await settle(app, pilot)
        wrapped = clipboard.tmux_passthrough(clipboard.osc52_sequence(worker))
        assert wrapped in written
        assert clipboard.osc52_sequence(worker) in written
        await app.workers.wait_for_complete()
        await settle(app, pilot)
        notes = [note.message for note in app._notifications]
        assert notes[-1] == (
            "Worker token sent to the terminal's clipboard (OSC 52). tmux passes it "
            "on only with 'set -g set-clipboard on' or 'set -g allow-passthrough on'."
        )
        arguments = (tools / "tmux.args").read_text()
        assert arguments.startswith("display-message -p -t %3 ")
        assert worker not in arguments


@pytest.mark.parametrize(
    ("reply", "advice"),
    [
        ("on|0", False),
        ("external|1", False),
        ("off|all", False),
        ("external|", False),
        ("external|0", True),
        ("off|0", True),
        ("no server running", True),
    ],
)
async def test_copy_inside_tmux_advises_only_when_needed(
    tmp_path: Path, reply: str, advice: bool
) -> None:
    tools = tmp_path / "bin"
    fake_tmux(tools, reply)
    app = make_app(
        demo_service(tmp_path),
        settings=Settings(clipboard="osc52"),
        environment={"TMUX": "/tmp/tmux-0/default,1,0", "PATH": str(tools)},
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await settle(app, pilot)
        notes = [note.message for note in app._notifications]
        assert notes[-1].startswith(
            "Worker join command sent to the terminal's clipboard (OSC 52)."
        )
        assert ("set-clipboard on" in notes[-1]) is advice


def test_tmux_passthrough_doubles_escapes() -> None:
    sequence = clipboard.osc52_sequence("abc")
    assert sequence == "\x1b]52;c;YWJj\a"
    assert (
        clipboard.tmux_passthrough(sequence) == "\x1bPtmux;\x1b\x1b]52;c;YWJj\a\x1b\\"
    )


def test_local_tool_needs_display(tmp_path: Path) -> None:
    fake_tool(tmp_path, "wl-copy")
    fake_tool(tmp_path, "xclip")
    path = str(tmp_path)
    assert clipboard.local_tool({"PATH": path}, platform="linux") is None
    wayland = clipboard.local_tool({"PATH": path, "WAYLAND_DISPLAY": "w"}, "linux")
    assert wayland == (str(tmp_path / "wl-copy"),)
    x11 = clipboard.local_tool({"PATH": path, "DISPLAY": ":0"}, "linux")
    assert x11 == (str(tmp_path / "xclip"), "-selection", "clipboard")


async def test_reveal_toggles_and_records(tmp_path: Path) -> None:
    audit = RecordingAudit()
    app = make_app(demo_service(tmp_path, audit))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, manager = current_tokens(tmp_path)
        await pilot.press("w", "v")
        await settle(app, pilot)
        assert worker in command_text(app, Role.WORKER)
        assert manager not in command_text(app, Role.MANAGER)
        assert str(app.query_one("#worker-reveal", Button).label) == "Hide"
        warning = Color.parse(app.theme_variables["warning"]).rich_color
        assert text_colours(app.query_one("#worker-command", Static)) == {warning}
        assert warning not in text_colours(app.query_one("#manager-command", Static))
        await pilot.press("v")
        await settle(app, pilot)
        assert worker not in command_text(app, Role.WORKER)
        assert warning not in text_colours(app.query_one("#worker-command", Static))
        await pilot.click("#manager-reveal")
        await settle(app, pilot)
        assert manager in command_text(app, Role.MANAGER)
        reveals = [
            fields["role"] for action, fields in audit.events if action == "reveal"
        ]
        assert reveals == ["worker", "manager"]


async def test_quit_hides_revealed_token_first(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, _ = current_tokens(tmp_path)
        await pilot.press("w", "v")
        await settle(app, pilot)
        assert worker in command_text(app, Role.WORKER)

        await pilot.press("q")
        await pilot.pause()

        assert worker not in command_text(app, Role.WORKER)
        assert mask_token(worker) in command_text(app, Role.WORKER)
        assert not any(app.revealed.values())
        for _ in range(40):
            if not app.is_running:
                break
            await pilot.pause(0.05)
        assert not app.is_running


async def test_focus_keys_pick_pane(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("m")
        assert app.focused is not None
        assert app.focused.id == "manager-copy-command"
        await pilot.press("w")
        assert app.focused.id == "worker-copy-command"


# -- screens, palette -----------------------------------------------------------


async def test_confirm_keeps_cancel_visible_after_resize(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("m", "r")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ConfirmRotateScreen)

        await pilot.resize_terminal(40, 12)
        await settle(app, pilot)

        cancel = screen.query_one("#cancel", Button)
        visible = screen.query_one(".dialog").scrollable_content_region
        assert screen.focused is cancel
        assert visible.contains_region(cancel.region)


async def test_confirm_keeps_cancel_visible_at_30x10(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("m", "r")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ConfirmRotateScreen)

        await pilot.resize_terminal(40, 12)
        await settle(app, pilot)
        await pilot.resize_terminal(30, 10)
        await settle(app, pilot)

        cancel = screen.query_one("#cancel", Button)
        visible = screen.query_one(".dialog").scrollable_content_region
        assert visible.contains_region(cancel.region)


async def test_small_confirm_shows_buttons(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(40, 12)) as pilot:
        await settle(app, pilot)
        await pilot.press("m", "r")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ConfirmRotateScreen)
        cancel = screen.query_one("#cancel", Button)
        confirm = screen.query_one("#confirm", Button)
        visible = screen.query_one(".dialog").scrollable_content_region

        assert screen.focused is cancel
        assert visible.contains_region(cancel.region)
        assert visible.contains_region(confirm.region)


async def open_help_text(app: SwarmConsole, pilot: Any) -> str:
    """Open the help screen and return its table of keys as plain text."""
    from rich.console import Console

    await pilot.press("question_mark")
    await pilot.pause()
    assert isinstance(app.screen, HelpScreen)
    table = app.screen.query_one("#help-table", Static).content
    # Printed to a buffer, so that the table does not reach the test's output.
    console = Console(file=io.StringIO(), width=100, record=True)
    console.print(table)
    return console.export_text()


async def test_help_lists_every_key(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        text = await open_help_text(app, pilot)
        for key in ("c ", "t ", "v ", "r ", "w ", "m ", "^r", "? ", "q ", "s ", "k "):
            assert key in text, key
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_help_screen_kept_until_theme_changes(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 12)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        first = app.screen
        assert isinstance(first, HelpScreen)
        scroll = first.query_one(".dialog", ScrollableContainer)
        scroll.scroll_end(animate=False)
        await pilot.pause()
        assert scroll.scroll_y > 0
        await pilot.press("escape")
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen is first
        assert scroll.scroll_y == 0

        await pilot.press("escape")
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert app.screen is not first


@pytest.mark.parametrize("demo", [True, False])
async def test_help_lists_join_on_demo_only(tmp_path: Path, demo: bool) -> None:
    backend = demo_backend(tmp_path)
    service = TokenService(backend if demo else DelegatingBackend(backend))
    app = make_app(service)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        text = await open_help_text(app, pilot)

    assert ("Join a simulated node" in text) is demo
    assert "Paste a token and find out whether it is live" in text


async def test_palette_runs_reveal(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, _ = current_tokens(tmp_path)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Reveal")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert worker in command_text(app, Role.WORKER)


async def test_token_keys_typed_in_palette_are_text(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path), settings=Settings(clipboard="osc52"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, manager = current_tokens(tmp_path)
        await pilot.press("ctrl+p")
        await pilot.pause()

        await pilot.press(*"ctvrwm")
        await settle(app, pilot)

        assert isinstance(app.screen, CommandPalette)
        assert app.screen.query_one(CommandInput).value == "ctvrwm"
        assert current_tokens(tmp_path) == (worker, manager)
        assert app.clipboard == ""
        assert not any(app.revealed.values())
        assert app._focused_role() is Role.WORKER


def post_keys(app: SwarmConsole, *keys: str) -> None:
    """Post key events back to back, as a terminal hands over keys typed together."""
    for key in keys:
        character = {"question_mark": "?"}.get(key, key if len(key) == 1 else None)
        app.post_message(events.Key(key, character))


async def test_field_keys_after_tab_reach_next_field(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        assert isinstance(app.screen, OpenWindowScreen)
        minutes = app.screen.query_one("#window-minutes", Input)
        joins = app.screen.query_one("#window-joins", Input)
        minutes.focus()
        await pilot.pause()

        post_keys(app, "tab", "3")
        await settle(app, pilot)

        assert minutes.value == "10"
        assert joins.value == "3"
        assert app.screen.focused is joins


async def test_keys_in_one_read_keep_order(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, manager = current_tokens(tmp_path)

        post_keys(app, "question_mark", "r")
        await settle(app, pilot)

        assert isinstance(app.screen, HelpScreen)
        assert current_tokens(tmp_path) == (worker, manager)


@pytest.mark.parametrize(
    ("first", "burst"),
    [
        # From the worker pane's first button, the fourth Tab reaches the
        # manager pane.
        (("w",), ("tab", "tab", "tab", "tab", "r")),
        ((), ("m", "tab", "r")),
    ],
    ids=["tab-from-worker", "m-then-tab"],
)
async def test_burst_rotates_pane_chosen_last(
    tmp_path: Path, first: tuple[str, ...], burst: tuple[str, ...]
) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press(*first)
        await pilot.pause()

        post_keys(app, *burst)
        await settle(app, pilot)

        assert isinstance(app.screen, ConfirmRotateScreen)
        assert app.screen.role is Role.MANAGER


async def test_burst_cannot_confirm_manager_rotation(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        before = current_tokens(tmp_path)

        post_keys(app, "m", "r", "tab", "enter")
        await settle(app, pilot)

        assert isinstance(app.screen, ConfirmRotateScreen)
        assert current_tokens(tmp_path) == before
        # Keys typed once the dialog is open reach it, by hand a moment later
        # than the burst.
        await pilot.pause(0.3)
        await pilot.press("tab", "enter")
        await settle(app, pilot)
        assert current_tokens(tmp_path)[0] == before[0]
        assert current_tokens(tmp_path)[1] != before[1]


@pytest.mark.parametrize(
    "burst",
    [
        ("o", "escape", "enter"),
        ("s", "q", "escape", "enter"),
        ("k", "escape", "a", "enter"),
    ],
    ids=["join-window", "settings", "check-token"],
)
async def test_burst_with_escape_dropped(
    tmp_path: Path, isolated_user_folders: Path, burst: tuple[str, ...]
) -> None:
    # Textual's parser waits after an Escape for the rest of a sequence, which
    # delays the keys after it past the dialog's opening.
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        screen = app.screen

        post_keys(app, burst[0])
        post_keys(app, burst[1])
        await pilot.pause(ESCAPE_DELAY / 2)
        post_keys(app, *burst[2:])
        await settle(app, pilot)

        assert app.screen is not screen
        state = isolated_user_folders / "state" / "swarmtui"
        assert not (state / "join-windows.json").exists()
        config = isolated_user_folders / "config" / "swarmtui" / "config.toml"
        assert not config.exists()


async def test_burst_into_palette_dropped(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        before = current_tokens(tmp_path)

        post_keys(app, "ctrl+p", "r", "o", "t", "a", "t", "e", "enter")
        await settle(app, pilot)

        assert isinstance(app.screen, CommandPalette)
        assert current_tokens(tmp_path) == before


async def test_palette_double_enter_runs_once(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        # The palette gathers its commands in the background.
        for _ in range(100):
            if palette.query_one(OptionList).option_count:
                break
            await pilot.pause(0.05)
        assert palette.query_one(OptionList).option_count

        post_keys(app, "enter", "enter")
        await settle(app, pilot)
        await pilot.pause(0.3)

        # Without the guard, the second Enter popped the console's own
        # screen and ended the app.
        assert app.is_running
        assert isinstance(app.screen_stack[0], MainScreen)
        assert len(app.screen_stack) <= 2


async def test_theme_list_double_enter_runs_once(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        # The palette's "Theme" command opens the theme list this way.
        app.action_change_theme()
        await settle(app, pilot)
        themes = app.screen
        assert isinstance(themes, CommandPalette)
        for _ in range(100):
            if themes.query_one(OptionList).option_count:
                break
            await pilot.pause(0.05)
        await pilot.press("down")
        await pilot.pause(0.2)

        post_keys(app, "enter", "enter")
        await settle(app, pilot)
        await pilot.pause(0.3)

        assert app.is_running
        assert isinstance(app.screen_stack[0], MainScreen)
        assert not isinstance(app.screen, CommandPalette)


async def test_burst_into_token_field_dropped(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)

        post_keys(app, "k", "a", "b")
        await settle(app, pilot)
        assert isinstance(app.screen, CheckTokenScreen)
        field = app.screen.query_one(Input)
        assert field.value == ""

        await pilot.pause(0.3)
        await pilot.press("c")
        assert field.value == "c"


async def test_q_behind_dialog_key_keeps_console(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)

        post_keys(app, "k", "q")
        await settle(app, pilot)

        assert app.is_running
        assert isinstance(app.screen, CheckTokenScreen)


async def test_token_in_rotation_not_given_out(tmp_path: Path) -> None:
    backend = HangingUpdateBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend), settings=Settings(clipboard="osc52"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.press("w", "r")
        assert backend.entered.wait(5)

        await pilot.press("t", "c", "v")
        await pilot.pause()
        assert app.revealed[Role.WORKER] is False

        backend.release.set()
        await settle(app, pilot)
        assert app.clipboard == ""
        assert (
            notes.count(
                "The worker token is still being rotated; copy it when the new one "
                "is shown."
            )
            == 2
        )
        assert (
            "The worker token is still being rotated; reveal it when the new one "
            "is shown." in notes
        )


async def test_join_window_waits_for_rotation(tmp_path: Path) -> None:
    backend = HangingUpdateBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.press("w", "r")
        assert backend.entered.wait(5)

        await pilot.press("o")
        await pilot.pause()
        assert not app._modal_open()
        assert (
            "The worker token is still being rotated; open the join window when "
            "the new token is shown." in notes
        )

        backend.release.set()
        await settle(app, pilot)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, OpenWindowScreen)


async def test_other_rotation_keeps_own_in_flight(tmp_path: Path) -> None:
    backend = HangingUpdateBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.press("w", "r")
        assert backend.entered.wait(5)

        # A rotation made by another path of the console, as a join
        # window's close, while the worker rotation waits for the engine.
        other = TokenService(backend.inner).rotate([Role.MANAGER])
        app.post_message(Rotated(other))
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()

        assert app._rotating is Role.WORKER
        assert "The worker token is still being rotated." in notes
        backend.release.set()
        await settle(app, pilot)


class LostReadBack(DelegatingBackend):
    """Holds reads at engine_info while `hold` is set; loses the read after updates."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.hold = threading.Event()
        self.blocked = threading.Event()
        self.release = threading.Event()
        self.updated = False

    def engine_info(self) -> EngineInfo:
        if self.hold.is_set():
            self.blocked.set()
            self.release.wait(timeout=30)
        return self.inner.engine_info()  # type: ignore[no-any-return]

    def inspect_swarm(self) -> SwarmSnapshot:
        if self.updated:
            self.updated = False
            raise EngineUnreachableError("The reply was lost.", "Try again.")
        return self.inner.inspect_swarm()  # type: ignore[no-any-return]

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.inner.update_swarm(version, spec, **flags)
        self.updated = True


async def test_unknown_outcome_settled_after_running_read(tmp_path: Path) -> None:
    backend = LostReadBack(demo_backend(tmp_path))
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        backend.hold.set()
        await pilot.press("ctrl+r")
        assert backend.blocked.wait(5)

        await pilot.press("w", "r")
        for _ in range(50):
            if app._unconfirmed:
                break
            await pilot.pause(0.05)
        backend.hold.clear()
        backend.release.set()
        await settle(app, pilot)
        await settle(app, pilot)

        now = TokenService(backend.inner).read().worker_fingerprint
        assert (
            f"The worker token rotation took effect: the swarm now shows {now}."
            in notes
        )
        assert "rotated by this console" in str(
            app.query_one("#worker-meta", Static).content
        )
        outcomes = [
            fields for action, fields in audit.events if action == "rotate-outcome"
        ]
        assert len(outcomes) == 1
        assert outcomes[0]["result"] == "took-effect"
        assert outcomes[0]["new_fingerprints"] == {"worker": now}


async def test_settled_rotation_proposes_leak_start(tmp_path: Path) -> None:
    from swarmtui.audit import AuditLog, read_audit
    from swarmtui.tui.leak import LeakScreen

    backend = LostReadBack(demo_backend(tmp_path))
    audit_path = tmp_path / "audit.jsonl"
    service = TokenService(backend, audit=AuditLog(audit_path, environment={}))
    # The real clock, which the audit record's times come from.
    app = SwarmConsole(service=service, environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        for role in ("w", "m"):
            await pilot.press(role, "r")
            await settle(app, pilot)
            if isinstance(app.screen, ConfirmRotateScreen):
                await pilot.click("#confirm")
                await settle(app, pilot)
            await pilot.press("ctrl+r")
            await settle(app, pilot)
            await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        assert isinstance(app.screen, LeakScreen)
        since = app.screen.query_one("#leak-since", Input).value
        source = str(app.screen.query_one("#leak-since-source", Static).content)

    events = read_audit(audit_path).events
    unknown = [event for event in events if event.get("result") == "unknown"]
    outcomes = [
        event["result"] for event in events if event["action"] == "rotate-outcome"
    ]
    assert [event["role"] for event in unknown] == ["worker", "manager"]
    assert outcomes == ["took-effect", "took-effect"]
    assert since == unknown[0]["time"]
    # The audit record's times are to the second, on the real clock.
    if unknown[0]["time"] == unknown[1]["time"]:
        expected = "the last rotations of both tokens, at the same time"
    else:
        expected = "the last worker token rotation, the older of the two current tokens"
    assert source == f"Default: {expected}."


async def test_unsettled_rotation_blocks_copy(tmp_path: Path) -> None:
    backend = LostReadBack(demo_backend(tmp_path))
    app = make_app(TokenService(backend), settings=Settings(clipboard="osc52"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        backend.hold.set()
        await pilot.press("w", "r")
        assert backend.blocked.wait(5)

        await pilot.press("c")
        await pilot.pause()

        assert app.clipboard == ""
        assert any("may have been rotated" in note for note in notes)
        backend.hold.clear()
        backend.release.set()
        await settle(app, pilot)


async def test_older_rotation_result_keeps_newer_view(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        older = TokenService(backend).rotate([Role.MANAGER])
        newer = TokenService(backend).rotate([Role.WORKER])
        await pilot.press("ctrl+r")
        await settle(app, pilot)

        app.post_message(Rotated(older))
        await settle(app, pilot)

        worker = str(app.query_one("#worker-meta", Static).content)
        assert worker.startswith(newer.after.worker_fingerprint)
        assert app.view is not None
        assert app.view.version >= newer.after.version


async def test_status_names_read_after_rotation(tmp_path: Path) -> None:
    backend = HangingBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend))
    backend.release.set()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        backend.release.clear()
        backend.entered.clear()
        await pilot.press("ctrl+r")
        assert backend.entered.wait(5)

        await pilot.press("w", "r")
        for _ in range(50):
            if app._rotating is None:
                break
            await pilot.pause(0.05)
        await pilot.pause()

        status = str(app.query_one("#status", Static).content)
        assert status.startswith("Reading swarm from ")
        backend.release.set()
        await settle(app, pilot)


async def test_console_keys_quiet_under_confirmation(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("m", "r")
        await pilot.pause()
        confirmation = app.screen
        assert isinstance(confirmation, ConfirmRotateScreen)

        await pilot.press("k", "j", "c", "v", "w")
        await settle(app, pilot)

        assert app.screen is confirmation
        assert app._focused_role() is Role.MANAGER


async def test_settings_save_writes_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    app = make_app(demo_service(tmp_path), config_path=config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        field = app.screen.query_one("#poll-interval", Input)
        field.value = "30"
        app.screen.query_one("#confirm-worker").value = True  # type: ignore[attr-defined]
        await pilot.click("#save")
        await settle(app, pilot)
        saved = load_settings(config)
        assert saved.poll_interval == 30.0
        assert saved.confirm_worker_rotation is True
        assert app.settings == saved


@pytest.mark.parametrize(
    "typed", ["0", "\u0663", "1e999", "ten", "1_0", "1e1", "nan", "+10"]
)
async def test_settings_rejects_bad_interval(tmp_path: Path, typed: str) -> None:
    config = tmp_path / "config.toml"
    app = make_app(demo_service(tmp_path), config_path=config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#poll-interval", Input).value = typed
        await pilot.click("#save")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        error = str(app.screen.query_one("#settings-error", Static).content)
        assert error.startswith(f"Invalid poll interval {typed!r}.")
        assert "from 1 to 3600" in error
        assert not config.exists()

        app.screen.query_one("#poll-interval", Input).value = "5"
        await pilot.pause()
        assert str(app.screen.query_one("#settings-error", Static).content) == ""


async def test_settings_error_keeps_save_visible(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path), config_path=tmp_path / "config.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#poll-interval", Input).value = "x"
        save = screen.query_one("#save", Button)
        save.focus()
        # Focus scrolls the dialog with an animation, which a key typed at
        # once would interrupt.
        await pilot.wait_for_scheduled_animations()

        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()

        assert isinstance(app.screen, SettingsScreen)
        message = screen.query_one("#settings-error", Static)
        assert str(message.content).startswith("Invalid poll interval 'x'.")
        dialog = screen.query_one(".dialog")
        visible = dialog.scrollable_content_region
        assert visible.contains_region(save.region)
        assert visible.contains_region(message.region)


async def test_settings_interval_keeps_typed_text(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    app = make_app(demo_service(tmp_path), config_path=config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        box = app.screen.query_one("#poll-interval", Input)
        box.value = ""
        box.focus()
        await pilot.press("1", "comma", "5")
        await pilot.click("#save")
        await pilot.pause()

        assert box.value == "1,5"
        assert isinstance(app.screen, SettingsScreen)
        error = str(app.screen.query_one("#settings-error", Static).content)
        assert error.startswith("Invalid poll interval '1,5'.")
        assert not config.exists()


async def test_settings_keep_palette_theme(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    app = make_app(demo_service(tmp_path), config_path=config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.theme == "textual-dark"
        app.theme = "nord"
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        assert app.screen.query_one("#theme", Select).value == "nord"
        await pilot.click("#save")
        await settle(app, pilot)

        assert app.theme == "nord"
        assert load_settings(config).theme == "nord"


async def test_settings_write_failure_keeps_dialog(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    config = tmp_path / "config.toml"
    config.symlink_to(fifo)
    app = make_app(demo_service(tmp_path), config_path=config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        field = app.screen.query_one("#poll-interval", Input)
        field.value = "7"
        await pilot.click("#save")
        await pilot.pause()

        assert isinstance(app.screen, SettingsScreen)
        error = str(app.screen.query_one("#settings-error", Static).content)
        assert "is not a regular file" in error
        assert field.value == "7"
        assert app.settings.poll_interval != 7
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


async def test_settings_enter_in_field_saves(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    app = make_app(demo_service(tmp_path), config_path=config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        field = app.screen.query_one("#poll-interval", Input)
        field.value = "7"
        field.focus()
        await pilot.press("enter")
        await settle(app, pilot)

        assert not isinstance(app.screen, SettingsScreen)
        assert app.settings.poll_interval == 7
    assert "poll_interval = 7" in config.read_text()


async def test_broken_config_reported_and_kept(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    original = 'poll_interval = 10\nclipboard = "fax"\n'
    config.write_text(original)
    try:
        load_settings(config)
    except ConfigError as error:
        config_error = error
    else:
        raise AssertionError("the config file should not load")
    app = make_app(
        demo_service(tmp_path), config_path=config, config_error=config_error
    )
    async with app.run_test(size=(100, 30)) as pilot:
        messages = capture_notifications(app)
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        # The file's warning makes the form taller than the dialog can be.
        app.screen.query_one("#save", Button).scroll_visible(animate=False)
        await pilot.pause()
        await pilot.click("#save")
        await settle(app, pilot)
        backups = list(tmp_path.glob("config.toml.*.bak"))
        assert len(backups) == 1
        assert backups[0].read_text() == original
        assert load_settings(config) == Settings()
        assert any("kept as" in message for message in messages)


async def test_broken_config_notified_on_start(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('poll_interval = 10\nclipboard = "fax"\n')
    config_error = None
    try:
        load_settings(config)
    except ConfigError as error:
        config_error = error
    app = make_app(
        demo_service(tmp_path), config_path=config, config_error=config_error
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        shown = [notification.message for notification in app._notifications]
        assert any(str(config) in message and "line 2" in message for message in shown)
    assert config.read_text() == 'poll_interval = 10\nclipboard = "fax"\n'


async def test_check_token_live_worker_rotates(tmp_path: Path) -> None:
    audit = RecordingAudit()
    app = make_app(TokenService(demo_backend(tmp_path), audit=audit))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, _ = current_tokens(tmp_path)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, CheckTokenScreen)
        field = app.screen.query_one("#check-input", Input)
        assert field.password is True
        field.value = worker
        await pilot.press("enter")
        await settle(app, pilot)
        result = str(app.screen.query_one("#check-result", Static).content)
        assert "current worker token" in result
        assert worker not in result
        await pilot.click("#check-rotate")
        await settle(app, pilot)
        assert current_tokens(tmp_path)[0] != worker
        assert "rotate-checked-token" in audit.actions()
        assert "rotate" not in audit.actions()


@pytest.mark.parametrize("replaced", [True, False], ids=["rotated-elsewhere", "same"])
async def test_checked_token_rotated_elsewhere(tmp_path: Path, replaced: bool) -> None:
    audit = RecordingAudit()
    app = make_app(TokenService(demo_backend(tmp_path), audit=audit))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        worker, _ = current_tokens(tmp_path)
        await pilot.press("k")
        await pilot.pause()
        app.screen.query_one("#check-input", Input).value = worker
        await pilot.press("enter")
        await settle(app, pilot)
        # A change the console has not read yet: the worker token rotated,
        # or only the manager token, which leaves the checked one live.
        demo_service(tmp_path).rotate([Role.WORKER if replaced else Role.MANAGER])
        outside, _ = current_tokens(tmp_path)
        await pilot.click("#check-rotate")
        await settle(app, pilot)

        if replaced:
            assert not isinstance(app.screen, ConflictScreen)
            assert current_tokens(tmp_path)[0] == outside
            assert any("checked worker token is no longer" in note for note in notes)
        else:
            assert isinstance(app.screen, ConflictScreen)
            await pilot.click("#confirm")
            await settle(app, pilot)
            assert current_tokens(tmp_path)[0] != worker
            assert not any("no longer the current" in note for note in notes)


async def test_checked_token_replaced_on_screen(tmp_path: Path) -> None:
    audit = RecordingAudit()
    app = make_app(TokenService(demo_backend(tmp_path), audit=audit))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        worker, _ = current_tokens(tmp_path)
        await pilot.press("k")
        await pilot.pause()
        app.screen.query_one("#check-input", Input).value = worker
        await pilot.press("enter")
        await settle(app, pilot)
        # Another tool rotates the checked token, and the console reads it.
        demo_service(tmp_path).rotate([Role.WORKER])
        outside, _ = current_tokens(tmp_path)
        app.action_refresh()
        await settle(app, pilot)
        await pilot.click("#check-rotate")
        await settle(app, pilot)

    assert current_tokens(tmp_path)[0] == outside
    assert "rotate-checked-token" not in audit.actions()
    assert any(
        "checked worker token" in note and "nothing was rotated" in note
        for note in notes
    )


async def test_token_field_hides_partial_text(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, _ = current_tokens(tmp_path)
        await pilot.press("k")
        await pilot.pause()
        field = app.screen.query_one("#check-input", Input)
        # Typed by hand without the prefix: no token yet.
        typed = worker[9:29]
        await pilot.press(*typed)
        await pilot.pause()

        assert field.value == typed
        assert field.password is True
        assert typed not in app.export_screenshot()


async def test_check_token_edit_clears_verdict(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, _ = current_tokens(tmp_path)
        await pilot.press("k")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CheckTokenScreen)
        field = screen.query_one("#check-input", Input)
        result = screen.query_one("#check-result", Static)
        rotate = screen.query_one("#check-rotate", Button)
        field.value = worker
        await pilot.press("enter")
        await settle(app, pilot)
        assert "current worker token" in str(result.content)
        assert rotate.display

        await pilot.press("backspace")
        await settle(app, pilot)
        assert str(result.content) == ""
        assert not rotate.display
        assert screen.live_role is None

        await pilot.press("x")
        await settle(app, pilot)
        assert str(result.content) == ""
        assert not rotate.display

        await pilot.press("enter")
        await settle(app, pilot)
        assert "current worker token" not in str(result.content)
        assert str(result.content) != ""
        assert not rotate.display


async def test_check_token_result_after_edit_dropped(tmp_path: Path) -> None:
    backend = HangingBackend(demo_backend(tmp_path))
    backend.release.set()
    app = make_app(TokenService(backend))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, _ = current_tokens(tmp_path)
        await pilot.press("k")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CheckTokenScreen)
        field = screen.query_one("#check-input", Input)
        result = screen.query_one("#check-result", Static)
        field.value = worker
        await pilot.pause()
        backend.release.clear()
        backend.entered.clear()
        await pilot.press("enter")
        await pilot.pause()
        assert await asyncio.to_thread(backend.entered.wait, 10)
        assert str(result.content) == "Checking…"

        await pilot.press("backspace")
        await pilot.pause()
        backend.release.set()
        await settle(app, pilot)
        assert str(result.content) == ""
        assert not screen.query_one("#check-rotate", Button).display
        assert screen.live_role is None


async def test_check_token_manager_goes_through_modal(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        _, manager = current_tokens(tmp_path)
        await pilot.press("k")
        await pilot.pause()
        app.screen.query_one("#check-input", Input).value = manager
        await pilot.click("#check")
        await settle(app, pilot)
        await pilot.click("#check-rotate")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmRotateScreen)
        await pilot.press("enter")
        await settle(app, pilot)
        assert current_tokens(tmp_path)[1] == manager


@pytest.mark.parametrize("second", ["manager", "worker"])
async def test_check_token_paste_keeps_every_line(tmp_path: Path, second: str) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, manager = current_tokens(tmp_path)
        other = manager if second == "manager" else worker
        await pilot.press("k")
        await pilot.pause()
        field = app.screen.query_one("#check-input", Input)
        long_line = (
            "docker swarm join --availability drain --advertise-addr 10.0.0.123 "
            f"--listen-addr 0.0.0.0:2377 --token {worker} 192.0.2.10:2377"
        )
        field.post_message(events.Paste(f"{long_line}\n{other}\n"))
        await pilot.pause()
        assert field.value == f"{long_line} {other}"
        await pilot.press("enter")
        await settle(app, pilot)

        result = str(app.screen.query_one("#check-result", Static).content)
        if second == "manager":
            assert "The text has 2 different tokens" in result
        else:
            assert "current worker token" in result
        assert worker not in result
        assert manager not in result


async def test_check_token_paste_too_long_explained(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.press("k")
        await pilot.pause()
        field = app.screen.query_one("#check-input", Input)
        field.post_message(events.Paste("A" * 5000))
        await pilot.pause()

        assert field.value == ""
        assert notes[-1].startswith("The paste has 5000 characters, more than the 2000")


async def test_check_token_invalid_text(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("k")
        await pilot.pause()
        app.screen.query_one("#check-input", Input).value = "SWMTKN-1-nope"
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        result = str(screen.query_one("#check-result", Static).content)
        assert result
        assert not screen.has_class("-live")


async def test_try_join_accepts_and_rejects(tmp_path: Path) -> None:
    audit = RecordingAudit()
    app = make_app(demo_service(tmp_path, audit=audit))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.view is not None
        nodes_before = app.view.nodes
        worker, _ = current_tokens(tmp_path)
        await pilot.press("j")
        await pilot.pause()
        assert isinstance(app.screen, TryJoinScreen)
        app.screen.query_one("#join-token", Input).value = worker
        app.screen.query_one("#join-host", Input).value = "edge-9"
        await pilot.click("#join")
        await settle(app, pilot)
        result = str(app.screen.query_one("#join-result", Static).content)
        assert result.startswith("Joined: edge-9 is now a worker")
        stale = worker[:-1] + ("0" if worker[-1] != "0" else "1")
        app.screen.query_one("#join-token", Input).value = stale
        host = app.screen.query_one("#join-host", Input)
        host.value = "edge-10"
        host.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        result = str(app.screen.query_one("#join-result", Static).content)
        assert result.startswith("Rejected:")
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.view.nodes == nodes_before + 1
    joins = [fields for action, fields in audit.events if action == "demo-join"]
    assert [fields["result"] for fields in joins] == ["ok", "rejected"]
    assert all(fields["cluster_id"] == app.view.cluster_id for fields in joins)
    assert worker not in str(joins)


async def test_try_join_enter_moves_to_empty_field(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, _ = current_tokens(tmp_path)
        await pilot.press("j")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TryJoinScreen)
        token = screen.query_one("#join-token", Input)
        host = screen.query_one("#join-host", Input)
        result = screen.query_one("#join-result", Static)

        await pilot.press("enter")
        await settle(app, pilot)
        assert str(result.content) == "Paste a join token first."
        assert screen.focused is token

        token.value = worker
        await pilot.press("enter")
        await settle(app, pilot)
        assert str(result.content) == "Enter a hostname for the new node."
        assert screen.focused is host

        await pilot.press(*"edge-9", "enter")
        await settle(app, pilot)
        assert str(result.content).startswith("Joined: edge-9 is now a worker")
        assert token.value == worker


# -- error states and hung calls --------------------------------------------------


ERRORS: list[SwarmTuiError] = [
    EngineUnreachableError(
        "Cannot connect to the engine at unix:///nowhere.sock.",
        "Check that dockerd is running.",
    ),
    PermissionDeniedError(
        "Permission denied on the engine socket unix:///x.sock.",
        "Run as root or as a member of the docker group.",
    ),
    NotAManagerError(
        "The engine at unix:///x.sock is a worker node.",
        "Run the command against a manager node.",
        manager_addresses=("127.0.3.1:2377", "127.0.3.2:2377"),
    ),
    SwarmLockedError("The swarm manager is locked.", "Unlock it."),
    NotInSwarmError("The engine is not part of a swarm.", "Run docker swarm init."),
    ApiTooOldError("The engine speaks API 1.12.", "Upgrade Docker Engine."),
    RequestTimeoutError("The engine did not respond within 5 seconds.", "Retry."),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
async def test_error_state_and_retry(tmp_path: Path, error: SwarmTuiError) -> None:
    backend = FailingBackend(demo_backend(tmp_path), error)
    app = make_app(TokenService(backend))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        state = app.query_one(ErrorState)
        assert state.display
        assert state.border_title == error.title
        assert str(app.query_one("#error-message", Static).content) == error.message
        assert str(app.query_one("#error-hint", Static).content) == error.hint
        assert not app.query_one("#worker-pane", TokenPane).display
        if isinstance(error, NotAManagerError):
            managers = str(app.query_one("#error-managers", Static).content)
            assert "127.0.3.1:2377" in managers
        calls = backend.calls
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert backend.calls == calls + 1
        assert state.display
        backend.error = None
        await pilot.click("#retry")
        await settle(app, pilot)
        assert not state.display
        assert app.query_one("#worker-pane", TokenPane).display
        assert app.view is not None


async def test_failed_read_dims_header_facts(tmp_path: Path) -> None:
    backend = FailingBackend(demo_backend(tmp_path), None)
    app = make_app(TokenService(backend))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        swarm_line = app.query_one("#header-swarm", Static)

        def value_styles() -> set[str]:
            content = swarm_line.content
            assert isinstance(content, Text)
            return {
                str(span.style)
                for span in content.spans
                if content.plain[span.start : span.end].isdigit()
            }

        assert value_styles() == {"bold"}
        backend.error = RequestTimeoutError("The engine did not answer.", "Retry.")
        await pilot.press("ctrl+r")
        await settle(app, pilot)

        assert "last read failed: dimmed facts are older" in str(swarm_line.content)
        assert value_styles() == {"dim"}


async def test_hung_call_keeps_keys_working(tmp_path: Path) -> None:
    backend = HangingBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert backend.entered.wait(timeout=10)
            status = str(app.query_one("#status", Static).content)
            assert status.startswith("Reading swarm from demo:")
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await pilot.press("ctrl+r")
            await pilot.pause()
            assert app.view is None
            backend.release.set()
            await settle(app, pilot)
            assert app.view is not None
            assert str(app.query_one("#status", Static).content).startswith(
                "Tokens read"
            )
    finally:
        backend.release.set()


async def test_quit_key_exits(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_small_terminal_keeps_every_button(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(app, pilot)
        for role in Role:
            for action in ("copy-command", "copy-token", "reveal", "rotate"):
                button = app.query_one(f"#{role}-{action}", Button)
                assert button.region.right <= 60, button.id
        worker_before, _ = current_tokens(tmp_path)
        await pilot.press("w", "r")
        await settle(app, pilot)
        assert current_tokens(tmp_path)[0] != worker_before


async def test_no_color_turns_monochrome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual.filter import Monochrome, NoColor

    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(demo_service(tmp_path))
    assert app.no_color
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        filters = app._filters
        assert any(isinstance(item, Monochrome | NoColor) for item in filters)
        assert app.query_one("#manager-pane", TokenPane).border_subtitle == (
            "grants control of the swarm"
        )


async def test_focus_then_rotate_in_one_burst(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        app.action_focus_pane("manager")
        app.action_rotate()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfirmRotateScreen)
        assert screen.role is Role.MANAGER


async def test_hung_rotation_shows_status(tmp_path: Path) -> None:
    backend = HangingUpdateBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            assert app.view is not None
            before = app.view.worker_fingerprint
            status = app.query_one("#status", Static)
            await pilot.press("w", "r")
            assert backend.entered.wait(timeout=10)
            for _ in range(100):
                if str(status.content).startswith("Rotating"):
                    break
                await pilot.pause(0.05)
            assert str(status.content) == "Rotating worker token…"
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            backend.release.set()
            await settle(app, pilot)
            assert not str(status.content).startswith("Rotating")
            assert app.view.worker_fingerprint != before
    finally:
        backend.release.set()


async def test_first_read_pending_shows_loading(tmp_path: Path) -> None:
    backend = HangingBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            notices = capture_notifications(app)
            await pilot.pause()
            assert backend.entered.wait(timeout=10)
            await pilot.pause()
            assert app.query_one("#loading", Static).display
            assert not any(state.display for state in app.query(ErrorState))
            for pane in app.query(TokenPane):
                assert not pane.display
            assert app.check_action("rotate", ()) is True
            await pilot.press("r")
            await pilot.pause()
            assert notices == [
                "The swarm is still being read. Try again once the tokens show."
            ]
            backend.release.set()
            await settle(app, pilot)
            assert not app.query_one("#loading", Static).display
            for pane in app.query(TokenPane):
                assert pane.display
    finally:
        backend.release.set()


async def test_rotation_refreshes_node_counts(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.view is not None
        nodes_before = app.view.nodes
        backend.join(app.view.worker_token, "late-node", "127.0.4.92")
        await pilot.press("w", "r")
        await settle(app, pilot)
        await settle(app, pilot)
        assert app.view.nodes == nodes_before + 1
        header = str(app.query_one("#header-swarm", Static).content)
        assert f"nodes {nodes_before + 1}" in header


async def test_quit_waits_for_rotation(tmp_path: Path) -> None:
    backend = HangingUpdateBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            assert app.view is not None
            before = app.view.worker_fingerprint
            notes = capture_notifications(app)
            await pilot.press("w", "r")
            assert backend.entered.wait(timeout=10)
            await pilot.press("q")
            await pilot.pause()
            assert app.is_running
            assert notes == [
                "The console quits when the worker token is rotated. Press q "
                "again to quit now."
            ]

            backend.release.set()
            for _ in range(100):
                if not app.is_running:
                    break
                await pilot.pause(0.05)
            assert not app.is_running
        assert TokenService(backend.inner).read().worker_fingerprint != before
    finally:
        backend.release.set()


async def test_second_quit_leaves_rotation(tmp_path: Path) -> None:
    backend = HangingUpdateBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await pilot.press("w", "r")
            assert backend.entered.wait(timeout=10)
            await pilot.press("q")
            await pilot.pause()
            assert app.is_running
            await pilot.press("q")
            for _ in range(100):
                if not app.is_running:
                    break
                await pilot.pause(0.05)
            assert not app.is_running
    finally:
        backend.release.set()


@pytest.mark.parametrize(
    ("error", "note"),
    [
        (
            EngineError("The engine returned an error (500): boom", "Retry."),
            "The console stays open, because the rotation did not go through.",
        ),
        (
            RequestTimeoutError("The engine did not answer.", "Try again."),
            "The console stays open, because whether the rotation went through "
            "is unknown: the next reads of the swarm show it.",
        ),
    ],
    ids=["failed", "unknown"],
)
async def test_failed_rotation_cancels_quit(
    tmp_path: Path, error: SwarmTuiError, note: str
) -> None:
    backend = FailingUpdate(demo_backend(tmp_path), error)
    app = make_app(TokenService(backend))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            notes = capture_notifications(app)
            await pilot.press("w", "r")
            assert backend.entered.wait(timeout=10)
            await pilot.press("q")
            await pilot.pause()
            backend.release.set()
            await settle(app, pilot)
            assert app.is_running
            assert note in notes
    finally:
        backend.release.set()


class FailingUpdate(HangingUpdateBackend):
    """An update that waits until released, then fails with `error`."""

    def __init__(self, inner: Any, error: SwarmTuiError | None = None) -> None:
        super().__init__(inner)
        self.error = error or RequestTimeoutError(
            "The engine did not answer.", "Try again."
        )

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.entered.set()
        self.release.wait(timeout=60)
        raise self.error


class EngineGoneOnUpdate(DelegatingBackend):
    """An engine that goes down during the update and stays down."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.down = False

    def engine_info(self) -> EngineInfo:
        if self.down:
            raise EngineUnreachableError("Cannot connect.", "Start dockerd.")
        return super().engine_info()

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.down = True
        raise EngineUnreachableError("Cannot connect.", "Start dockerd.")


async def test_failed_rotation_reads_swarm_again(tmp_path: Path) -> None:
    backend = EngineGoneOnUpdate(demo_backend(tmp_path))
    app = make_app(TokenService(backend), settings=Settings(poll_interval=3600))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.error is None
        notes = capture_notifications(app)

        await pilot.press("w", "r")
        await settle(app, pilot)

        failed = "Rotating the worker token failed."
        assert any(note.startswith(failed) for note in notes)
        assert isinstance(app.error, EngineUnreachableError)
        status = str(app.query_one("#status", Static).content)
        assert not status.startswith("Tokens read from")


async def test_refresh_keeps_rotation_status(tmp_path: Path) -> None:
    backend = HangingUpdateBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            status = app.query_one("#status", Static)
            await pilot.press("w", "r")
            assert backend.entered.wait(timeout=10)
            await pilot.press("ctrl+r")
            for _ in range(100):
                await pilot.pause(0.05)
                if not app._reading:
                    break
            await pilot.pause()
            assert str(status.content) == "Rotating worker token…"
            backend.release.set()
            await settle(app, pilot)
            assert not str(status.content).startswith("Rotating")
    finally:
        backend.release.set()


class SlowUpdateReply(DelegatingBackend):
    """An engine that applies the update at once but replies when released."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.release = threading.Event()
        self.applied = threading.Event()

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        super().update_swarm(version, spec, **flags)
        self.applied.set()
        self.release.wait(timeout=60)


async def test_read_during_rotation_not_outside(tmp_path: Path) -> None:
    backend = SlowUpdateReply(demo_backend(tmp_path))
    app = make_app(TokenService(backend))
    notes = capture_notifications(app)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await pilot.press("w", "r")
            assert backend.applied.wait(timeout=10)
            await pilot.press("ctrl+r")
            for _ in range(100):
                await pilot.pause(0.05)
                if not app._reading:
                    break
            await pilot.pause()
            assert not any("rotated outside" in note for note in notes)
            assert Role.WORKER not in app.seen_changes

            backend.release.set()
            await settle(app, pilot)

            assert not any("rotated outside" in note for note in notes)
            assert app.seen_changes[Role.WORKER].outside is False
            meta = str(app.query_one("#worker-meta", Static).content)
            assert "rotated by this console" in meta
    finally:
        backend.release.set()


async def test_resize_marks_short_screen(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert not app.screen.has_class("-short")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.screen.has_class("-short")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not app.screen.has_class("-short")


async def test_conflict_new_swarm_no_outside_marks(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.view is not None
        old_cluster = app.view.cluster_id
        demo_backend(tmp_path, seed=SEED + 1).reset()
        await pilot.press("w", "r")
        await settle(app, pilot)
        assert isinstance(app.screen, ConflictScreen)
        assert app.view.cluster_id != old_cluster
        assert app.seen_changes == {}
        for role in Role:
            pane_text = " ".join(
                str(widget.content) for widget in app.query(f"#{role}-pane Static")
            )
            assert "outside this console" not in pane_text


async def test_long_status_ends_in_ellipsis(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(40, 20)) as pilot:
        await settle(app, pilot)
        status = app.query_one("#status", Static)
        full = str(status.content)
        assert len(full) > 38
        row = "".join(segment.text for segment in status.render_line(0)).strip()
        assert row.endswith("…")
        assert full.startswith(row[:-1])
        assert status.size.height == 1


async def test_crash_traceback_hides_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from rich.console import Console

    def reveal_and_fail(self: SwarmConsole, role: str | None = None) -> None:
        secret = self.view.worker_token if self.view else ""
        raise RuntimeError(f"failed with {secret}")

    monkeypatch.setattr(SwarmConsole, "action_toggle_reveal", reveal_and_fail)
    app = make_app(demo_service(tmp_path))
    error_output = io.StringIO()
    app.error_console = Console(file=error_output, width=100, color_system=None)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            token = app.view.worker_token if app.view else ""
            await pilot.press("v")
            await pilot.pause()

    printed = error_output.getvalue()
    # Rich wraps long lines, which could split the secret.
    unwrapped = printed.replace("\n", "")
    assert token.startswith("SWMTKN-1-")
    assert "RuntimeError" in printed
    assert "reveal_and_fail" in printed
    assert token.rsplit("-", 1)[1] not in unwrapped
    assert "<token fp:" in printed
    assert "'SWMTKN" not in printed


@pytest.mark.parametrize(
    ("key", "module", "command"),
    [
        ("l", "swarmtui.tui.audit_screen", "audit"),
        ("L", "swarmtui.tui.leak", "leak-response"),
    ],
)
async def test_screen_import_failure_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, module: str, command: str
) -> None:
    import sys

    # A None entry makes the next import of the module raise ImportError.
    monkeypatch.setitem(sys.modules, module, None)
    app = make_app(demo_service(tmp_path), cli_command="swarmtui --demo")
    messages = capture_notifications(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press(key)
        await pilot.pause()

        assert app.is_running
        assert not app.screen.is_modal
    failures = [message for message in messages if "could not be loaded" in message]
    assert len(failures) == 1
    assert f"run 'swarmtui --demo {command}' in another terminal" in failures[0]


async def test_focused_settings_dialog_shows_border(tmp_path: Path) -> None:
    from textual.containers import VerticalScroll

    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        dialog = app.screen.query_one(".dialog", VerticalScroll)
        unfocused = dialog.styles.border_top[1]
        dialog.focus()
        await pilot.pause()

        focused = dialog.styles.border_top[1]
        assert app.focused is dialog
        assert focused != unfocused
        accent = Color.parse(app.current_theme.accent or "")
        # The theme's colours go through a blend, which can move a channel by 1.
        distance = [abs(a - b) for a, b in zip(focused.rgb, accent.rgb, strict=True)]
        assert max(distance) <= 2


@pytest.mark.parametrize("took_effect", [True, False])
async def test_earlier_unknown_rotation_settled(
    tmp_path: Path, took_effect: bool
) -> None:
    import json

    from swarmtui.audit import AuditLog, read_audit

    backend = demo_backend(tmp_path)
    view = TokenService(backend).read()
    old = "fp:aaaa-bbbb-cccc" if took_effect else view.worker_fingerprint
    audit_path = tmp_path / "audit.jsonl"
    earlier = {
        "time": "2026-12-04T11:00:00Z",
        "action": "rotate",
        "cluster_id": view.cluster_id,
        "role": "worker",
        "old_fingerprints": {"worker": old},
        "result": "unknown",
        "error": "Abandoned at exit",
    }
    audit_path.write_text(json.dumps(earlier) + "\n")
    service = TokenService(backend, audit=AuditLog(audit_path, environment={}))
    app = make_app(service)
    messages = capture_notifications(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await settle(app, pilot)
        worker_meta = str(app.query_one("#worker-meta", Static).content)

    outcomes = [
        event
        for event in read_audit(audit_path).events
        if event["action"] == "rotate-outcome"
    ]
    notices = [message for message in messages if "recorded at" in message]
    assert len(outcomes) == 1
    assert outcomes[0]["old_fingerprints"] == {"worker": old}
    assert outcomes[0]["new_fingerprints"] == {"worker": view.worker_fingerprint}
    assert outcomes[0]["unknown_since"] == "2026-12-04T11:00:00Z"
    assert len(notices) == 1
    assert "A worker token rotation recorded at 2026-12-04T11:00:00Z" in notices[0]
    assert "swarmtui could not tell whether it took effect" in notices[0]
    if took_effect:
        assert outcomes[0]["result"] == "took-effect"
        assert "took effect, or the token was rotated again since" in notices[0]
        assert "rotated at 2026-12-04 11:00 UTC (audit record)" in worker_meta
    else:
        assert "audit record" not in worker_meta
        assert outcomes[0]["result"] == "not-rotated"
        assert "did not take effect" in notices[0]


async def test_settled_rotation_not_reported_twice(tmp_path: Path) -> None:
    from swarmtui.audit import AuditLog, read_audit

    backend = demo_backend(tmp_path)
    view = TokenService(backend).read()
    audit_path = tmp_path / "audit.jsonl"
    audit = AuditLog(audit_path, environment={})
    audit.record(
        "rotate",
        cluster_id=view.cluster_id,
        role="worker",
        old_fingerprints={"worker": view.worker_fingerprint},
        result="unknown",
    )
    for _ in range(2):
        app = make_app(TokenService(backend, audit=audit))
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await settle(app, pilot)

    outcomes = [
        event
        for event in read_audit(audit_path).events
        if event["action"] == "rotate-outcome"
    ]
    assert [event["result"] for event in outcomes] == ["not-rotated"]


async def test_settings_clipboard_choices_explained(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    app = make_app(demo_service(tmp_path), config_path=config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        clipboard = app.screen.query_one("#clipboard", Select)
        clipboard.value = "osc52"
        await pilot.pause()
        label = clipboard.query_one("Static#label", Static)
        label_text = str(label.render())
        app.screen.query_one("#save", Button).press()
        await pilot.pause()
        await pilot.pause()

    assert label_text == "osc52: terminal clipboard, over SSH too"
    assert load_settings(config).clipboard == "osc52"


async def test_swarm_read_after_failures_dated_by_read(tmp_path: Path) -> None:
    backend = FailingBackend(
        demo_backend(tmp_path),
        NotInSwarmError("The engine is not part of a swarm.", "Run swarm init."),
    )
    app = make_app(TokenService(backend))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.error is not None
        backend.error = None

        await pilot.press("ctrl+r")
        await settle(app, pilot)

        meta = str(app.query_one("#worker-meta", Static).content)
        assert "unchanged since first read by this console at " in meta
        assert "since the console started" not in meta


@pytest.mark.parametrize(
    ("start", "keys", "expected"),
    [
        ("", ["1", "2", "backspace", "3"], "13"),
        ("45", ["ctrl+u", "7"], "7"),
        ("45", ["home", "7"], "745"),
        ("45", ["backspace", "backspace", "9", "0"], "90"),
    ],
    ids=["backspace", "ctrl-u", "home", "two-backspaces"],
)
async def test_field_edit_keys_keep_their_order(
    tmp_path: Path, start: str, keys: list[str], expected: str
) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        minutes = app.screen.query_one("#window-minutes", Input)
        minutes.focus()
        minutes.value = start
        minutes.cursor_position = len(start)
        await pilot.pause(0.3)

        post_keys(app, *keys)
        await settle(app, pilot)

        assert minutes.value == expected


async def test_check_token_rotation_keeps_action_until_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, _ = current_tokens(tmp_path)
        # As when q comes before the rotation's worker thread has run.
        monkeypatch.setattr(app, "_rotate", lambda *arguments: None)
        await pilot.press("k")
        await pilot.pause()
        app.screen.query_one("#check-input", Input).value = worker
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.click("#check-rotate")
        await pilot.pause()

        unstarted = app.take_unstarted_rotation()

        assert unstarted is not None
        assert unstarted[0] is Role.WORKER
        assert unstarted[2] == "rotate-checked-token"


async def test_check_token_rotation_after_conflict_keeps_action(
    tmp_path: Path,
) -> None:
    audit = RecordingAudit()
    app = make_app(TokenService(demo_backend(tmp_path), audit=audit))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        worker, _ = current_tokens(tmp_path)
        await pilot.press("k")
        await pilot.pause()
        app.screen.query_one("#check-input", Input).value = worker
        await pilot.press("enter")
        await settle(app, pilot)
        # Someone else changes the swarm between the check and the rotation.
        demo_service(tmp_path).rotate([Role.MANAGER])
        await pilot.click("#check-rotate")
        await settle(app, pilot)
        assert isinstance(app.screen, ConflictScreen)

        await pilot.click("#confirm")
        await settle(app, pilot)

        assert current_tokens(tmp_path)[0] != worker
        rotations = [
            (action, fields["result"])
            for action, fields in audit.events
            if action.startswith("rotate")
        ]
        assert rotations == [
            ("rotate-checked-token", "failed"),
            ("rotate-checked-token", "ok"),
        ]


async def test_conflict_with_replaced_swarm_masks_tokens(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("w", "v")
        await settle(app, pilot)
        assert app.revealed[Role.WORKER]
        demo_backend(tmp_path, seed=8).reset()

        await pilot.press("r")
        await settle(app, pilot)

        assert isinstance(app.screen, ConflictScreen)
        assert not app.revealed[Role.WORKER]
        new_worker, _ = current_tokens(tmp_path)
        assert new_worker not in command_text(app, Role.WORKER)


async def test_close_window_key_explains_failed_read(tmp_path: Path) -> None:
    error = NotAManagerError("The engine at demo is a worker node.", "Use a manager.")
    app = make_app(TokenService(FailingBackend(demo_backend(tmp_path), error)))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)

        await pilot.press("O")
        await pilot.pause()

        assert notes
        assert "No join window is open." not in notes
        assert any("worker node" in note for note in notes)

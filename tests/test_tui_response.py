"""Pilot tests of the console's leak, join window, unlock key, CA and audit screens."""

from __future__ import annotations

import asyncio
import copy
import inspect
import os
import re
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, DataTable, Input, Label, Select, Static
from textual.widgets._footer import FooterKey
from tui_support import (
    FIXED_NOW,
    DelegatingBackend,
    FailingBackend,
    HangingUpdateBackend,
    RecordingAudit,
    capture_notifications,
    demo_backend,
    fake_tmux,
    fixed_clock,
)

from swarmtui.audit import AuditLog, read_audit
from swarmtui.backends.demo import DemoBackend
from swarmtui.ca import describe_ca
from swarmtui.errors import (
    EngineUnreachableError,
    RequestTimeoutError,
    SwarmLockedError,
)
from swarmtui.models import EngineInfo, NodeInfo, Role, SwarmSnapshot, SwarmView
from swarmtui.service import TokenService
from swarmtui.tokens import parse_token
from swarmtui.tui import window_actions
from swarmtui.tui.app import SwarmConsole
from swarmtui.tui.audit_screen import AuditScreen
from swarmtui.tui.ca import CaBanner, CaScreen
from swarmtui.tui.commands import ConsoleCommands
from swarmtui.tui.join_window import (
    DueWindowsScreen,
    JoinWindowBar,
    OpenWindowScreen,
    QuitWithWindowScreen,
    window_line,
)
from swarmtui.tui.leak import LeakScreen
from swarmtui.tui.screens import ConflictScreen
from swarmtui.tui.unlock import ConfirmUnlockRotateScreen, UnlockKeyPane
from swarmtui.tui.unlock_actions import UnlockKeyRead
from swarmtui.tui.widgets import ConsoleFooter, TokenPane
from swarmtui.unlock import mask_unlock_key, unlock_key_fingerprint
from swarmtui.windows import CLOSE_ACTION, JoinWindow, WindowStore


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = FIXED_NOW

    def __call__(self) -> datetime:
        return self.now


def make_app(
    service: TokenService, tmp_path: Path, clock: Clock | None = None
) -> SwarmConsole:
    environment = {"SWARMTUI_WINDOWS_FILE": str(tmp_path / "windows.json")}
    return SwarmConsole(
        service=service, clock=clock or Clock(), environment=environment
    )


async def settle(app: SwarmConsole, pilot: Any) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def set_autolock(backend: DemoBackend, enabled: bool) -> None:
    snapshot = backend.inspect_swarm()
    spec = copy.deepcopy(snapshot.spec)
    spec.setdefault("EncryptionConfig", {})["AutoLockManagers"] = enabled
    backend.update_swarm(snapshot.version, spec)


def enable_autolock(backend: DemoBackend) -> None:
    set_autolock(backend, True)


def fingerprints(backend: DemoBackend) -> tuple[str, str]:
    view = TokenService(backend).read()
    return view.worker_fingerprint, view.manager_fingerprint


# -- leak response ------------------------------------------------------------


async def test_leak_rotates_both_and_lists_joins(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    audit = RecordingAudit()
    service = TokenService(backend, audit=audit)
    view = service.read()
    rogue = backend.join(view.manager_token, "rogue-mgr", "127.0.4.90")
    before = fingerprints(backend)
    app = make_app(service, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        assert isinstance(app.screen, LeakScreen)
        field = app.screen.query_one("#leak-since", Input)
        assert field.value == "2026-12-03T12:00:00Z"
        source = str(app.screen.query_one("#leak-since-source", Static).content)
        assert "24 hours ago" in source

        await pilot.press("enter")
        await settle(app, pilot)
        assert fingerprints(backend) == before
        assert app.screen.focused is app.screen.query_one("#leak-confirm")

        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LeakScreen)
        table = screen.query_one("#leak-nodes", DataTable)
        assert table.row_count == 1
        row = [str(cell) for cell in table.get_row(rogue.id)]
        assert row[0] == "!"
        assert row[1] == "rogue-mgr"
        assert row[2] == "MANAGER"
        summary = str(screen.query_one("#leak-summary", Static).content)
        assert "1 of them is a manager now (marked !): check each one." in summary

        after = fingerprints(backend)
        assert after[0] != before[0]
        assert after[1] != before[1]
        assert audit.actions().count("leak-response") == 1

        await pilot.click("#leak-done")
        await settle(app, pilot)
        assert not isinstance(app.screen, LeakScreen)
        assert app.view is not None
        assert (app.view.worker_fingerprint, app.view.manager_fingerprint) == after


async def test_leak_conflict_then_cancel_reads_swarm(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        # Another admin rotates the worker token while the dialog is open.
        TokenService(demo_backend(tmp_path)).rotate([Role.WORKER])
        changed = fingerprints(backend)
        await pilot.click("#leak-confirm")
        await settle(app, pilot)
        error = str(app.screen.query_one("#leak-error", Static).content)
        assert "nothing was rotated" in error

        await pilot.click("#leak-cancel")
        await settle(app, pilot)

        assert not isinstance(app.screen, LeakScreen)
        assert app.view is not None
        assert app.view.worker_fingerprint == changed[0]
        assert fingerprints(backend) == changed


async def test_leak_rotation_counted_as_own(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        await pilot.click("#leak-confirm")
        await settle(app, pilot)
        assert isinstance(app.screen, LeakScreen)
        # A read while the dialog still shows the result.
        app._start_read(background=True)
        await settle(app, pilot)

        for role in Role:
            seen = app.seen_changes[role]
            assert seen.fingerprint == fingerprints(backend)[list(Role).index(role)]
            assert seen.outside is False


async def test_leak_conflict_keeps_rotate_focused(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.focused is not None
        assert app.screen.focused.id == "leak-confirm"
        TokenService(demo_backend(tmp_path)).rotate([Role.WORKER])
        changed = fingerprints(backend)

        await pilot.press("enter")
        await settle(app, pilot)
        error = str(app.screen.query_one("#leak-error", Static).content)
        assert "changed by someone else" in error
        assert app.screen.focused is not None
        assert app.screen.focused.id == "leak-confirm"
        assert not app.screen.query_one("#leak-cancel", Button).disabled
        assert not app.screen.query_one("#leak-since", Input).disabled

        # A button ignores presses during its 0.2 s press effect.
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        after = fingerprints(backend)
        assert after[0] != changed[0]
        assert after[1] != changed[1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("yesterday-ish", "neither a time nor a duration"),
        # leak-response --since rejects these forms with the same message.
        (
            "2H",
            "'2H' is not a valid duration. Write its units in "
            "lowercase and without spaces, as in 2h.",
        ),
        (
            "1h 30m",
            "'1h 30m' is not a valid duration. Write its units "
            "in lowercase and without spaces, as in 1h30m.",
        ),
        # The test clock is 2026-12-04 12:00 UTC.
        ("2026-12-04T13:00Z", "The start time 2026-12-04T13:00:00Z is in the future"),
    ],
)
async def test_leak_bad_time_rotates_nothing(
    tmp_path: Path, text: str, message: str
) -> None:
    backend = demo_backend(tmp_path)
    before = fingerprints(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        field = app.screen.query_one("#leak-since", Input)
        field.value = text
        await pilot.click("#leak-confirm")
        await settle(app, pilot)
        error = str(app.screen.query_one("#leak-error", Static).content)
        assert message in error
        await pilot.click("#leak-cancel")
        await settle(app, pilot)
        assert not isinstance(app.screen, LeakScreen)
    assert fingerprints(backend) == before


class UnlistedNodesEngine(DelegatingBackend):
    """An engine-named demo swarm whose node list times out."""

    @property
    def endpoint(self) -> str:
        return "unix:///run/x.sock"

    @property
    def docker_cli(self) -> str:
        return "docker -H unix:///run/x.sock"

    def list_nodes(self) -> list[NodeInfo]:
        raise RequestTimeoutError("The engine did not respond.", "Retry.")


async def test_leak_unlisted_nodes_hint_names_engine(tmp_path: Path) -> None:
    backend = UnlistedNodesEngine(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        assert isinstance(app.screen, LeakScreen)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen.has_class("-done")
        summary = str(app.screen.query_one("#leak-summary", Static).content)

    assert "could not be listed" in summary
    assert summary.endswith("List them with 'docker -H unix:///run/x.sock node ls'.")


async def test_leak_default_young_swarm(tmp_path: Path) -> None:
    # A demo swarm is created 42 days before its backend's clock.
    created = FIXED_NOW - timedelta(hours=2)
    backend = DemoBackend(
        path=tmp_path / "demo.toml",
        seed=7,
        now=lambda: created + timedelta(days=42),
    )
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        assert isinstance(app.screen, LeakScreen)
        field = app.screen.query_one("#leak-since", Input)
        source = str(app.screen.query_one("#leak-since-source", Static).content)
        assert field.value == "2026-12-04T10:00:00Z"
        assert source.startswith("Default: the swarm's creation, less than 24 hours")


async def test_leak_default_from_audit_file(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    audit = AuditLog(tmp_path / "audit.jsonl", environment={})
    service = TokenService(backend, audit=audit)
    app = make_app(service, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        source = str(app.screen.query_one("#leak-since-source", Static).content)
        assert "24 hours ago" in source
        assert "manager" in source
        events = read_audit(audit.path).events
        assert [event["action"] for event in events] == ["rotate"]


# -- join windows -------------------------------------------------------------


async def open_window(
    app: SwarmConsole, pilot: Any, minutes: str, joins: str, role: Role = Role.WORKER
) -> None:
    await pilot.press("o")
    await settle(app, pilot)
    assert isinstance(app.screen, OpenWindowScreen)
    app.screen.query_one("#window-role", Select).value = role
    app.screen.query_one("#window-minutes", Input).value = minutes
    app.screen.query_one("#window-joins", Input).value = joins
    # The manager note appears after the role change, and moves the button.
    await settle(app, pilot)
    await pilot.click("#window-open")
    await settle(app, pilot)


async def wait_for_windows_closed(app: SwarmConsole, pilot: Any) -> None:
    """Wait up to 5 s for every join window to close, then settle."""
    for _ in range(100):
        if not app.join_windows:
            break
        await pilot.pause(0.05)
    await settle(app, pilot)


async def test_window_bar_shows_before_mount(tmp_path: Path) -> None:
    view = TokenService(demo_backend(tmp_path)).read()
    window = JoinWindow(
        role=Role.WORKER,
        opened_at=FIXED_NOW,
        until=FIXED_NOW + timedelta(minutes=5),
        max_joins=None,
        baseline_node_ids=frozenset(),
        cluster_id=view.cluster_id,
        endpoint=view.endpoint,
        token_fingerprint=view.worker_fingerprint,
    )
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)):
        bar = JoinWindowBar(window)
        # The tick can reach a bar whose children are not mounted yet.
        assert bar.show((), FIXED_NOW)
        await app.screen.mount(bar)
        line = bar.query_one(".line", Static)
        assert str(line.content) == window_line(window, (), FIXED_NOW)


async def test_window_opened_during_poll_kept(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        manager_before = TokenService(backend).read().manager_fingerprint
        store = app.window_store
        load = store.load
        read = threading.Event()
        release = threading.Event()

        def load_then_wait() -> list[JoinWindow]:
            windows = load()
            # Only the poll's read waits, as if its thread were descheduled.
            polling = any(
                frame.function == "_list_nodes_for_windows" for frame in inspect.stack()
            )
            if polling and not read.is_set():
                read.set()
                release.wait(10)
            return windows

        store.load = load_then_wait  # type: ignore[method-assign]
        app._poll_windows()
        assert await asyncio.to_thread(read.wait, 5)
        # A window opened after the poll read the file. The helper's settle
        # would wait for the held poll, so the steps here only pause.
        await pilot.press("o")
        await pilot.pause(0.3)
        assert isinstance(app.screen, OpenWindowScreen)
        app.screen.query_one("#window-role", Select).value = Role.MANAGER
        app.screen.query_one("#window-minutes", Input).value = "10"
        await pilot.pause(0.3)
        await pilot.click("#window-open")
        for _ in range(100):
            if len(app.join_windows) == 2:
                break
            await pilot.pause(0.05)
        assert len(app.join_windows) == 2
        release.set()
        await settle(app, pilot)
        await pilot.pause(0.3)
        await settle(app, pilot)

        roles = sorted(window.role for window in app.join_windows.values())
    assert roles == [Role.MANAGER, Role.WORKER]
    assert TokenService(backend).read().manager_fingerprint == manager_before


async def test_forgotten_window_left_live_named(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        (window,) = app.join_windows.values()
        notes = capture_notifications(app)
        # 'join-window forget' from another shell.
        WindowStore(tmp_path / "windows.json").pop(window.id)
        app._poll_windows()
        await wait_for_windows_closed(app, pilot)

    assert app.join_windows == {}
    removed = [note for note in notes if "is still current" in note]
    assert len(removed) == 1
    assert "Press r on the worker pane to rotate it." in removed[0]
    current = TokenService(backend).read().worker_fingerprint
    assert current == window.token_fingerprint
    closes = [fields for action, fields in audit.events if action == CLOSE_ACTION]
    assert [fields["result"] for fields in closes] == ["failed"]


async def test_forgotten_window_of_left_swarm(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        (window,) = app.join_windows.values()
        notes = capture_notifications(app)
        WindowStore(tmp_path / "windows.json").pop(window.id)
        demo_backend(tmp_path, seed=8).reset()
        app._poll_windows()
        await wait_for_windows_closed(app, pilot)

    removed = [note for note in notes if "now serves another swarm" in note]
    assert len(removed) == 1
    assert f"manager of swarm {window.cluster_id[:12]}" in removed[0]
    assert "Press r on the" not in removed[0]


async def test_window_closes_by_count(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    service = TokenService(backend)
    before = fingerprints(backend)
    app = make_app(service, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="", joins="1")
        bars = list(app.query(JoinWindowBar))
        assert len(bars) == 1
        line = str(bars[0].query_one(".line", Static).content)
        assert "0 of 1 join(s)" in line
        assert len(WindowStore(tmp_path / "windows.json").load()) == 1

        assert app.view is not None
        backend.join(app.view.worker_token, "window-node", "127.0.4.91")
        app._poll_windows()
        await settle(app, pilot)

        assert list(app.query(JoinWindowBar)) == []
        after = fingerprints(backend)
        assert after[0] != before[0]
        assert after[1] == before[1]
        assert WindowStore(tmp_path / "windows.json").load() == []
        assert app.view.worker_fingerprint == after[0]


async def test_window_shows_failed_node_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="", joins="1")
        bar = app.query_one(JoinWindowBar)
        height = bar.size.height
        assert bar.border_subtitle == ""

        def down() -> None:
            raise EngineUnreachableError(
                "Cannot connect to the engine.", "Check that dockerd is running."
            )

        listing = backend.list_nodes
        monkeypatch.setattr(backend, "list_nodes", down)
        app._poll_windows()
        await settle(app, pilot)
        assert bar.border_subtitle == "joins not counted: Engine unreachable"
        assert bar.has_class("-poll-failed")
        assert bar.size.height == height

        monkeypatch.setattr(backend, "list_nodes", listing)
        app._poll_windows()
        await settle(app, pilot)
        assert bar.border_subtitle == ""
        assert not bar.has_class("-poll-failed")
        assert len(app.query(JoinWindowBar)) == 1


class StalledNodeList(DelegatingBackend):
    """Blocks the node list until released, then reports a timed-out request."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.release = threading.Event()
        self.entered = threading.Event()

    def list_nodes(self) -> list[NodeInfo]:
        self.entered.set()
        self.release.wait(timeout=60)
        raise RequestTimeoutError("The engine did not answer.", "Try again later.")


async def test_window_open_shows_wait_and_failure(tmp_path: Path) -> None:
    backend = StalledNodeList(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, OpenWindowScreen)
        app.screen.query_one("#window-minutes", Input).value = "10"
        await pilot.click("#window-open")
        assert await asyncio.to_thread(backend.entered.wait, 5)
        await pilot.pause(0.4)
        status = app.query_one("#status", Static)
        assert str(status.content) == "Opening the worker join window…"

        backend.release.set()
        await settle(app, pilot)
        assert str(status.content) != "Opening the worker join window…"
        assert app.join_windows == {}
        assert WindowStore(tmp_path / "windows.json").load() == []
        failures = [
            note.message for note in app._notifications if note.severity == "error"
        ]
        assert failures == [
            "Opening the worker join window failed. The engine did not answer."
            " Try again later."
        ]


async def test_help_screen_blocks_console_keys(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    before = fingerprints(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        await pilot.press("question_mark")
        await pilot.pause()
        help_stack = [type(screen).__name__ for screen in app.screen_stack]
        assert help_stack[-1] == "HelpScreen"
        for key in ("O", "k", "s", "j", "o", "L", "a", "l", "r", "ctrl+r", "ctrl+p"):
            await pilot.press(key)
            await settle(app, pilot)
            stack = [type(screen).__name__ for screen in app.screen_stack]
            assert stack == help_stack, key
        assert fingerprints(backend) == before
        assert len(WindowStore(tmp_path / "windows.json").load()) == 1
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen_stack) == 1


async def test_window_closes_by_time(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    clock = Clock()
    before = fingerprints(backend)
    app = make_app(TokenService(backend), tmp_path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="2", joins="")
        bar = app.query_one(JoinWindowBar)
        assert "2:00 left" in str(bar.query_one(".line", Static).content)
        clock.now += timedelta(seconds=75)
        app._tick_windows()
        await pilot.pause()
        assert "0:45 left" in str(bar.query_one(".line", Static).content)
        assert fingerprints(backend) == before

        clock.now += timedelta(minutes=1)
        app._tick_windows()
        await settle(app, pilot)
        assert list(app.query(JoinWindowBar)) == []
        assert fingerprints(backend)[0] != before[0]
        titles = [note.title for note in app._notifications]
        assert titles.count("Join window closed") == 1
        assert "Token rotated" not in titles


@pytest.mark.parametrize(
    "minutes", ["0", "1e-10", "-1", "nan", "527041", "1_0", "\u0661\u0660"]
)
async def test_window_form_rejects_minutes(tmp_path: Path, minutes: str) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes=minutes, joins="")
        assert isinstance(app.screen, OpenWindowScreen)
        error = str(app.screen.query_one("#window-error", Static).content)
        assert error == (
            "Minutes must be from 1.67e-08 (one microsecond) to 527040 (a year), "
            f"not {minutes!r}."
        )
        assert WindowStore(tmp_path / "windows.json").load() == []


@pytest.mark.parametrize(
    ("field", "keys", "shown"),
    [
        ("#window-minutes", ["1", "comma", "5"], "Minutes must be from"),
        ("#window-minutes", ["0", "x", "1", "0"], "Minutes must be from"),
        ("#window-joins", ["2", "full_stop", "5"], "Joins must be a whole number"),
        ("#window-joins", ["1", "space", "0", "0", "0"], "Joins must be a whole"),
    ],
)
async def test_window_form_keeps_typed_text(
    tmp_path: Path, field: str, keys: list[str], shown: str
) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        assert isinstance(app.screen, OpenWindowScreen)
        box = app.screen.query_one(field, Input)
        box.value = ""
        box.focus()
        await pilot.press(*keys, "enter")
        await settle(app, pilot)

        assert isinstance(app.screen, OpenWindowScreen)
        error = str(app.screen.query_one("#window-error", Static).content)
        assert error.startswith(shown)
        assert repr(box.value) in error
        assert WindowStore(tmp_path / "windows.json").load() == []


@pytest.mark.parametrize("joins", ["0", "-1", "1_0", "\u0661", "2.0", "1e1"])
async def test_window_form_rejects_joins(tmp_path: Path, joins: str) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="", joins=joins)
        assert isinstance(app.screen, OpenWindowScreen)
        error = str(app.screen.query_one("#window-error", Static).content)
        assert error == f"Joins must be a whole number of 1 or more, not {joins!r}."
        assert WindowStore(tmp_path / "windows.json").load() == []


async def test_window_form_accepts_exponent_minutes(tmp_path: Path) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="1e1", joins="")
        assert not isinstance(app.screen, OpenWindowScreen)
        (window,) = WindowStore(tmp_path / "windows.json").load()
        assert window.until is not None
        assert window.until - window.opened_at == timedelta(minutes=10)


async def test_window_form_rejects_no_limit(tmp_path: Path) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="", joins="")
        assert isinstance(app.screen, OpenWindowScreen)
        error = str(app.screen.query_one("#window-error", Static).content)
        assert "minutes, a number of joins, or both" in error


async def test_quit_with_window_rotates(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    before = fingerprints(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        await pilot.press("q")
        await settle(app, pilot)
        assert isinstance(app.screen, QuitWithWindowScreen)
        await pilot.click("#quit-rotate")
        await settle(app, pilot)
    after = fingerprints(backend)
    assert after[0] != before[0]
    assert WindowStore(tmp_path / "windows.json").load() == []
    assert len(app.closed_at_quit) == 1
    assert f"({before[0]} -> {after[0]})" in app.closed_at_quit[0]


async def test_quit_with_window_of_reset_demo(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await open_window(app, pilot, minutes="10", joins="")
        window = next(iter(app.join_windows.values()))
        # demo-reset in another shell, before the console reads the swarm.
        demo_backend(tmp_path, seed=9).reset()
        await pilot.press("q")
        await settle(app, pilot)
        assert isinstance(app.screen, QuitWithWindowScreen)
        await pilot.click("#quit-rotate")
        await settle(app, pilot)

    assert app.return_code is not None
    assert not any("could not be closed" in note for note in notes)
    assert len(app.closed_at_quit) == 1
    assert app.closed_at_quit[0].startswith("The demo swarm was reset, so the worker")
    assert window.id in app.closed_at_quit[0]


async def test_quit_dialog_title_counts_windows(tmp_path: Path) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        await open_window(app, pilot, minutes="10", joins="", role=Role.MANAGER)
        await pilot.press("q")
        await settle(app, pilot)

        assert isinstance(app.screen, QuitWithWindowScreen)
        title = app.screen.query_one(".dialog-title", Label)
        assert str(title.content) == "2 join windows are still open"


class StallingReads(DelegatingBackend):
    """Reads that wait, once `stall` is set, until released, then time out."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.stall = threading.Event()
        self.release = threading.Event()
        self.entered = threading.Event()

    def engine_info(self) -> EngineInfo:
        if self.stall.is_set():
            self.entered.set()
            self.release.wait(timeout=60)
            raise RequestTimeoutError("The engine did not answer.", "Try again.")
        return super().engine_info()


async def test_window_close_waits_in_status(tmp_path: Path) -> None:
    backend = StallingReads(demo_backend(tmp_path))
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit), tmp_path)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        window = next(iter(app.join_windows.values()))
        backend.stall.set()
        await pilot.press("O")
        assert await asyncio.to_thread(backend.entered.wait, 5)
        await pilot.pause(0.4)
        status = str(app.query_one("#status", Static).content)
        assert status == "Closing the worker join window and rotating its token…"

        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, QuitWithWindowScreen)
        text = " ".join(str(item.content) for item in app.screen.query(Static))
        assert "The join window for the worker token is open." in text
        assert "rotating to close it already" in text

        assert app.record_abandoned_closes() == [Role.WORKER]
        action, fields = audit.events[-1]
        assert action == CLOSE_ACTION
        assert fields["result"] == "failed"
        assert fields["error"] == "Abandoned at exit"
        assert fields["cluster_id"] == window.cluster_id
        assert fields["window_id"] == window.id

        backend.release.set()
        await settle(app, pilot)
        failed = audit.events[-1][1]
        assert failed["result"] == "failed"
        assert failed["error"] == "Request timed out"
        assert failed["cluster_id"] == window.cluster_id
        assert app.record_abandoned_closes() == []
        backend.stall.clear()


@pytest.mark.parametrize("background", [True, False])
async def test_read_keeps_close_in_status(tmp_path: Path, background: bool) -> None:
    backend = StallingReads(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)  # type: ignore[arg-type]
    closing = "Closing the worker join window and rotating its token…"
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await open_window(app, pilot, minutes="10", joins="")
            backend.stall.set()
            await pilot.press("O")
            assert await asyncio.to_thread(backend.entered.wait, 5)

            # A poll, or ctrl+r, starts a read while the close waits.
            assert app._start_read(background=background)
            await pilot.pause(0.6)
            during_read = str(app.query_one("#status", Static).content)

            backend.release.set()
            await settle(app, pilot)
            after_failure = str(app.query_one("#status", Static).content)
    finally:
        backend.release.set()
        backend.stall.clear()

    assert during_read == closing
    # The engine still fails, and a read after the close shows the failure.
    assert after_failure.startswith("Retrying every")


async def test_two_window_closes_status_names_none(tmp_path: Path) -> None:
    backend = StallingReads(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        await open_window(app, pilot, minutes="10", joins="", role=Role.MANAGER)
        backend.stall.set()
        await pilot.press("O")
        assert await asyncio.to_thread(backend.entered.wait, 5)
        await pilot.pause(0.4)

        status = str(app.query_one("#status", Static).content)
        backend.release.set()
        backend.stall.clear()
        await settle(app, pilot)
    assert status == "Closing 2 join windows and rotating their tokens…"


async def test_q_in_quit_question_stays(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    before = fingerprints(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        await pilot.press("q")
        await settle(app, pilot)
        assert isinstance(app.screen, QuitWithWindowScreen)

        await pilot.press("q")
        await settle(app, pilot)

        assert not isinstance(app.screen, QuitWithWindowScreen)
        assert app.is_running
        assert len(app.join_windows) == 1
    assert fingerprints(backend) == before


async def test_leak_start_checked_on_enter(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    before = fingerprints(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        field = app.screen.query_one("#leak-since", Input)
        field.value = "garbage"
        await pilot.press("enter")
        await settle(app, pilot)

        error = str(app.screen.query_one("#leak-error", Static).content)
        assert "'garbage' is neither a time nor a duration" in error
        assert app.screen.focused is field
    assert fingerprints(backend) == before


async def start_hung_leak_rotation(
    app: SwarmConsole, pilot: Any, backend: HangingUpdateBackend
) -> None:
    """Start the leak response's rotation, which waits for `backend.release`."""
    await settle(app, pilot)
    await pilot.press("L")
    await settle(app, pilot)
    await pilot.press("enter", "enter")
    assert backend.entered.wait(5)


async def test_q_waits_for_leak_rotation(tmp_path: Path) -> None:
    backend = HangingUpdateBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_hung_leak_rotation(app, pilot, backend)

        await pilot.press("q")
        await pilot.pause()

        assert app.is_running
        assert isinstance(app.screen, LeakScreen)
        footer = app.screen.query_one(ConsoleFooter)
        escape = [key for key in footer.query(FooterKey) if key.key == "escape"]
        assert [key.description for key in escape] == ["Cancel"]
        assert escape[0].has_class("-disabled")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LeakScreen)
        assert app.screen.query_one("#leak-cancel", Button).disabled
        assert app.screen.query_one("#leak-since", Input).disabled
        assert app.screen.focused is None or not app.screen.focused.disabled
        backend.release.set()
        await settle(app, pilot)
        assert app.screen.report is not None


async def test_ctrl_q_waits_for_leak_rotation(tmp_path: Path) -> None:
    backend = HangingUpdateBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)
    notes = capture_notifications(app)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await start_hung_leak_rotation(app, pilot, backend)

            await pilot.press("ctrl+q")
            await pilot.pause()

            assert app.is_running
            assert any("Press ctrl+q again to quit now" in note for note in notes)
            backend.release.set()
            await settle(app, pilot)
            assert isinstance(app.screen, LeakScreen)
            assert app.screen.report is not None
            assert app.is_running
            visible = [note.message for note in app._notifications]
            assert not any("Press ctrl+q again" in note for note in visible)

            # After the rotation, one ctrl+q quits.
            await pilot.press("ctrl+q")
            for _ in range(100):
                if not app.is_running:
                    break
                await pilot.pause(0.05)
            assert not app.is_running
    finally:
        backend.release.set()


async def test_second_ctrl_q_quits_during_leak_rotation(tmp_path: Path) -> None:
    backend = HangingUpdateBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await start_hung_leak_rotation(app, pilot, backend)

            await pilot.press("ctrl+q")
            await pilot.pause()
            assert app.is_running
            await pilot.press("ctrl+q")
            for _ in range(100):
                if not app.is_running:
                    break
                await pilot.pause(0.05)

            assert not app.is_running
    finally:
        backend.release.set()


class CountingHangingUpdate(HangingUpdateBackend):
    """Counts the updates it receives; each waits for `release`."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.updates = 0

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.updates += 1
        super().update_swarm(version, spec, **flags)


async def test_rotate_and_quit_closes_once(tmp_path: Path) -> None:
    backend = CountingHangingUpdate(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await open_window(app, pilot, minutes="10", joins="")
            await pilot.press("q")
            await pilot.pause()
            await pilot.click("#quit-rotate")
            await pilot.pause()
            assert backend.entered.wait(10)
            # Asking again while the window closes starts no second rotation.
            await pilot.press("q")
            await pilot.pause()
            assert not isinstance(app.screen, QuitWithWindowScreen)
            await pilot.press("O")
            await pilot.pause()
            assert backend.updates == 1
            backend.release.set()
            for _ in range(100):
                if not app.join_windows:
                    break
                await pilot.pause(0.05)
            await pilot.pause()
        assert backend.updates == 1
        assert app.return_code == 0
        assert WindowStore(tmp_path / "windows.json").load() == []
    finally:
        backend.release.set()


async def test_second_q_quits_while_windows_close(tmp_path: Path) -> None:
    backend = HangingUpdateBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)
    messages = capture_notifications(app)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await open_window(app, pilot, minutes="10", joins="")
            await pilot.press("q")
            await pilot.pause()
            await pilot.click("#quit-rotate")
            await pilot.pause()
            assert backend.entered.wait(10)
            await pilot.press("q")
            await pilot.pause()
            assert app.is_running
            await pilot.press("q")
            await pilot.pause()
            assert not app.is_running
        # The close still waits for the engine, so the window stays stored.
        stored = WindowStore(tmp_path / "windows.json").load()
    finally:
        backend.release.set()
    offers = [message for message in messages if "Press q again to quit now" in message]
    assert len(offers) == 1
    assert len(stored) == 1


async def test_second_q_in_rotation_skips_window_dialog(tmp_path: Path) -> None:
    backend = CountingHangingUpdate(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await open_window(app, pilot, minutes="10", joins="")
            await pilot.press("w", "r")
            assert backend.entered.wait(10)
            await pilot.press("q")
            await pilot.pause()
            assert app.is_running
            await pilot.press("q")
            await pilot.pause()

            assert not isinstance(app.screen, QuitWithWindowScreen)
            assert not app.is_running
        stored = WindowStore(tmp_path / "windows.json").load()
    finally:
        backend.release.set()
    assert backend.updates == 1
    assert len(stored) == 1


class SlowFirstUpdate(DelegatingBackend):
    """Takes 0.3 s over its first update, so that a second close can read meanwhile."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.updates = 0

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.updates += 1
        if self.updates == 1:
            time.sleep(0.3)
        super().update_swarm(version, spec, **flags)


async def test_two_windows_close_without_conflict(tmp_path: Path) -> None:
    backend = SlowFirstUpdate(demo_backend(tmp_path))
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        await open_window(app, pilot, minutes="10", joins="", role=Role.MANAGER)
        assert len(app.join_windows) == 2

        await pilot.press("O")
        await wait_for_windows_closed(app, pilot)

    closes = [fields for action, fields in audit.events if action == CLOSE_ACTION]
    closed = [
        fields["result"]
        for action, fields in audit.events
        if action == "join-window-closed"
    ]
    # The second close reads the swarm after the first update, so it does
    # not meet a conflict.
    assert backend.updates == 2
    assert [fields["result"] for fields in closes] == ["ok", "ok"]
    assert closed == ["rotated", "rotated"]


async def test_window_ends_when_rotated_elsewhere(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        handed_out = fingerprints(backend)[0]
        notes = capture_notifications(app)
        TokenService(demo_backend(tmp_path)).rotate([Role.WORKER])
        current = fingerprints(backend)

        app._poll_windows()
        await wait_for_windows_closed(app, pilot)

        assert app.join_windows == {}
        assert not app.query(JoinWindowBar)
        assert any(
            f"the worker token it handed out ({handed_out}) was rotated and" in note
            for note in notes
        )
        assert fingerprints(backend) == current
        assert WindowStore(tmp_path / "windows.json").load() == []


async def test_window_ends_after_own_rotation(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        await pilot.press("w", "r")
        await wait_for_windows_closed(app, pilot)
        after_rotation = fingerprints(backend)

        assert app.join_windows == {}
        assert WindowStore(tmp_path / "windows.json").load() == []
        await settle(app, pilot)
        assert fingerprints(backend) == after_rotation


class WithoutJoin:
    """A demo backend that the console takes for an engine, which has no join."""

    def __init__(self, backend: DemoBackend) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> Any:
        if name == "join":
            raise AttributeError(name)
        return getattr(self._backend, name)


async def test_window_of_reset_demo_swarm_ends(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        old_cluster = app.view.cluster_id if app.view else ""
        notes = capture_notifications(app)
        demo_backend(tmp_path, seed=8).reset()

        await pilot.press("ctrl+r")
        await settle(app, pilot)

        assert app.view is not None
        assert app.view.cluster_id != old_cluster
        assert app.join_windows == {}
        cluster = app.view.cluster_id[:12]
        reset = "The demo swarm was reset: it is now another swarm"
        assert f"{reset} (cluster {cluster})." in notes
        ended = [note for note in notes if "join window of the old swarm" in note]
        assert len(ended) == 1
        assert ended[0].startswith("The demo swarm was reset, so the worker join")
        assert "join-window forget" in ended[0]
        assert not any("engine" in note.lower() for note in notes)
        meta = str(app.query_one("#worker-meta", Static).content)
        assert "unchanged since first read by this console at " in meta
        assert "since the console started" not in meta
        # At 100 columns the line fits on one row, its time included.
        assert app.query_one("#worker-meta", Static).size.height == 1
        stored = WindowStore(tmp_path / "windows.json").load()
        assert [window.cluster_id for window in stored] == [old_cluster]


async def test_window_of_replaced_swarm_stays_stored(tmp_path: Path) -> None:
    backend = WithoutJoin(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert not app.can_try_join()
        await open_window(app, pilot, minutes="10", joins="")
        old_cluster = app.view.cluster_id if app.view else ""
        notes = capture_notifications(app)
        demo_backend(tmp_path, seed=8).reset()

        await pilot.press("ctrl+r")
        await settle(app, pilot)

        assert app.view is not None
        assert app.view.cluster_id != old_cluster
        assert app.join_windows == {}
        replaced = [note for note in notes if "now serves another swarm" in note]
        assert len(replaced) == 1
        assert replaced[0].startswith("The engine at ")
        assert any("stops watching the worker join window" in note for note in notes)
        assert any("join-window forget" in note for note in notes)
        stored = WindowStore(tmp_path / "windows.json").load()
        assert [window.cluster_id for window in stored] == [old_cluster]


async def test_open_window_role_follows_pane(tmp_path: Path) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("m", "o")
        await settle(app, pilot)
        assert isinstance(app.screen, OpenWindowScreen)
        assert app.screen.query_one("#window-role", Select).value == Role.MANAGER
        await pilot.press("escape")
        await pilot.press("w", "o")
        await settle(app, pilot)
        assert isinstance(app.screen, OpenWindowScreen)
        assert app.screen.query_one("#window-role", Select).value == Role.WORKER


async def test_manager_window_enter_goes_to_button(tmp_path: Path) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("m", "o")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, OpenWindowScreen)
        note = screen.query_one("#window-manager-note", Static)
        assert note.display
        assert screen.query_one("#window-open", Button).variant == "error"

        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is screen
        assert app.focused is screen.query_one("#window-open", Button)
        assert WindowStore(tmp_path / "windows.json").load() == []

        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, OpenWindowScreen)
        (window,) = WindowStore(tmp_path / "windows.json").load()
        assert window.role is Role.MANAGER


async def test_worker_window_opens_on_enter(tmp_path: Path) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("w", "o")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, OpenWindowScreen)
        assert not screen.query_one("#window-manager-note", Static).display
        assert screen.query_one("#window-open", Button).variant == "primary"

        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, OpenWindowScreen)
        (window,) = WindowStore(tmp_path / "windows.json").load()
        assert window.role is Role.WORKER


async def test_window_role_change_shows_note(tmp_path: Path) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("w", "o")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, OpenWindowScreen)
        screen.query_one("#window-role", Select).value = Role.MANAGER
        await settle(app, pilot)
        assert screen.query_one("#window-manager-note", Static).display
        assert screen.query_one("#window-open", Button).variant == "error"

        screen.query_one("#window-role", Select).value = Role.WORKER
        await settle(app, pilot)
        assert not screen.query_one("#window-manager-note", Static).display
        assert screen.query_one("#window-open", Button).variant == "primary"


async def test_new_window_bar_scrolled_into_view(tmp_path: Path) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(app, pilot)
        await pilot.press("m")
        await settle(app, pilot)
        body = app.query_one("#body")
        assert body.scroll_y > 0
        await open_window(app, pilot, minutes="10", joins="", role=Role.MANAGER)
        await settle(app, pilot)

        bar = app.query_one(JoinWindowBar)
        assert body.scroll_y == 0
        assert bar.region.y >= body.region.y


async def test_second_window_for_role_refused(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        notes = capture_notifications(app)
        await open_window(app, pilot, minutes="5", joins="")

        assert len(app.join_windows) == 1
        assert any("is already open" in note for note in notes)
        assert len(WindowStore(tmp_path / "windows.json").load()) == 1


async def test_window_close_shows_other_token_change(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        notes = capture_notifications(app)
        TokenService(backend).rotate([Role.MANAGER])
        manager = fingerprints(backend)[1]

        await pilot.press("O")
        await wait_for_windows_closed(app, pilot)

        meta = str(app.query_one("#manager-meta", Static).content)
        assert meta.startswith(manager)
        outside = f"The manager token was rotated outside this console (now {manager})."
        assert outside in notes


async def test_window_close_after_outside_rotation_reads(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        TokenService(backend).rotate([Role.WORKER])
        worker = fingerprints(backend)[0]

        await pilot.press("O")
        await wait_for_windows_closed(app, pilot)

        meta = str(app.query_one("#worker-meta", Static).content)
        assert meta.startswith(worker)


async def test_window_close_in_flight_blocks_copy(tmp_path: Path) -> None:
    backend = CountingHangingUpdate(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        notes = capture_notifications(app)
        backend.entered.clear()
        await pilot.press("O")
        assert backend.entered.wait(5)

        await pilot.press("w", "t")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()

        rejection = (
            "The worker token is still being rotated; copy it when the new one "
            "is shown."
        )
        assert rejection in notes
        assert "The worker token is still being rotated." in notes
        assert not app._modal_open()
        assert (
            "The worker token is still being rotated; open the join window when "
            "the new token is shown." in notes
        )
        backend.release.set()
        await wait_for_windows_closed(app, pilot)
        assert backend.updates == 1


class RejectedUpdates(DelegatingBackend):
    """Rejects the first `rejections` updates (all with None), as a down engine."""

    def __init__(self, inner: Any, rejections: int | None = None) -> None:
        super().__init__(inner)
        self.rejections = rejections
        self.updates = 0

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.updates += 1
        if self.rejections is None or self.updates <= self.rejections:
            raise EngineUnreachableError("The engine is down.", "Start it.")
        super().update_swarm(version, spec, **flags)


async def test_failed_close_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(window_actions, "WINDOW_RETRY_SECONDS", 0.2)
    backend = RejectedUpdates(demo_backend(tmp_path), rejections=1)
    before = fingerprints(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        await pilot.press("O")
        await settle(app, pilot)
        assert backend.updates == 1
        assert len(app.join_windows) == 1
        for _ in range(40):
            if not app.join_windows:
                break
            await pilot.pause(0.05)
        await settle(app, pilot)
        assert backend.updates == 2
        assert app.join_windows == {}
    assert fingerprints(backend)[0] != before[0]
    assert WindowStore(tmp_path / "windows.json").load() == []


async def test_repeated_close_keeps_one_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(window_actions, "WINDOW_RETRY_SECONDS", 0.3)
    backend = RejectedUpdates(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        await pilot.press("O")
        await settle(app, pilot)
        await pilot.press("O")
        await settle(app, pilot)
        assert backend.updates == 2
        await pilot.pause(0.8)
        await settle(app, pilot)
        # One retry every 0.3 s from the second failure on: two or three in
        # 0.8 s. A second chain of retries would add as many again.
        assert 2 <= backend.updates - 2 <= 3
        assert len(app.join_windows) == 1


async def test_quit_keep_leaves_window_stored(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    before = fingerprints(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, minutes="10", joins="")
        await pilot.press("q")
        await settle(app, pilot)
        await pilot.click("#quit-keep")
        await settle(app, pilot)
    assert fingerprints(backend) == before
    assert len(WindowStore(tmp_path / "windows.json").load()) == 1


def store_due_window(
    backend: DemoBackend, tmp_path: Path, role: Role
) -> tuple[SwarmView, WindowStore]:
    """Store a join window for `role` whose time ran out an hour ago."""
    view = TokenService(backend).read()
    store = WindowStore(tmp_path / "windows.json")
    opened = FIXED_NOW - timedelta(hours=1)
    store.add(
        JoinWindow(
            role=role,
            opened_at=opened,
            until=opened + timedelta(minutes=5),
            max_joins=None,
            baseline_node_ids=frozenset(),
            cluster_id=view.cluster_id,
            endpoint=view.endpoint,
            token_fingerprint=view.token_fingerprint(role),
        )
    )
    return view, store


async def test_due_window_offered_on_start(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    view, store = store_due_window(backend, tmp_path, Role.MANAGER)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, DueWindowsScreen)
        await pilot.click("#due-rotate")
        await settle(app, pilot)
        assert fingerprints(backend)[1] != view.manager_fingerprint
        assert store.load() == []


@pytest.mark.parametrize(
    ("role", "focused"),
    [(Role.WORKER, "due-rotate"), (Role.MANAGER, "due-later-button")],
)
async def test_due_dialog_default_button(
    tmp_path: Path, role: Role, focused: str
) -> None:
    backend = demo_backend(tmp_path)
    view, store = store_due_window(backend, tmp_path, role)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, DueWindowsScreen)
        assert app.screen.focused is not None
        assert app.screen.focused.id == focused

        await pilot.press("enter")
        await settle(app, pilot)
        rotated = fingerprints(backend) != (
            view.worker_fingerprint,
            view.manager_fingerprint,
        )
        assert rotated is (role is Role.WORKER)
        assert len(store.load()) == (0 if role is Role.WORKER else 1)


@pytest.mark.parametrize(
    ("count", "title", "question"),
    [
        (1, "A join window is due", "the handed-out token stops working?"),
        (2, "2 join windows are due", "the handed-out tokens stop working?"),
    ],
)
async def test_window_dialogs_count_windows(
    tmp_path: Path, count: int, title: str, question: str
) -> None:
    from swarmtui.tui.join_window import open_windows_text

    backend = demo_backend(tmp_path)
    roles = [Role.WORKER, Role.MANAGER][:count]
    windows = []
    for role in roles:
        _, store = store_due_window(backend, tmp_path, role)
        windows.append(store.load()[-1])
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, DueWindowsScreen)
        title_text = str(app.screen.query_one(".dialog-title", Label).content)

    assert title_text == title
    assert open_windows_text(windows, frozenset()).endswith(question)


@pytest.mark.parametrize(
    ("roles", "focused"),
    [
        ((Role.WORKER,), "quit-rotate"),
        ((Role.MANAGER,), "quit-stay"),
        ((Role.WORKER, Role.MANAGER), "quit-stay"),
    ],
)
async def test_quit_dialog_default_button(
    tmp_path: Path, roles: tuple[Role, ...], focused: str
) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        for role in roles:
            await open_window(app, pilot, minutes="10", joins="", role=role)
        before = fingerprints(backend)

        await pilot.press("q")
        await settle(app, pilot)
        assert isinstance(app.screen, QuitWithWindowScreen)
        assert app.screen.focused is not None
        assert app.screen.focused.id == focused

        if focused == "quit-stay":
            await pilot.press("enter")
            await settle(app, pilot)
            assert app.is_running
            assert not isinstance(app.screen, QuitWithWindowScreen)
            assert fingerprints(backend) == before


async def test_due_window_later_names_cli_command(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    _, store = store_due_window(backend, tmp_path, Role.WORKER)
    app = make_app(TokenService(backend), tmp_path)
    app.cli_command = "swarmtui --demo --demo-state /tmp/x.toml"
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        assert isinstance(app.screen, DueWindowsScreen)
        await pilot.click("#due-later-button")
        await settle(app, pilot)
        assert any(
            "'swarmtui --demo --demo-state /tmp/x.toml join-window close-expired'"
            in note
            for note in notes
        )
        assert not any("later here" in note for note in notes)
        assert len(store.load()) == 1


async def test_due_window_later_closed_by_key(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    view, store = store_due_window(backend, tmp_path, Role.WORKER)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.click("#due-later-button")
        await settle(app, pilot)
        assert any("Press O to close them" in note for note in notes)
        assert fingerprints(backend)[0] == view.worker_fingerprint

        await pilot.press("O")
        await settle(app, pilot)

        assert fingerprints(backend)[0] != view.worker_fingerprint
        assert store.load() == []
        assert not any("No join window is open" in note for note in notes)


async def test_window_stored_elsewhere_is_watched(tmp_path: Path) -> None:
    from swarmtui.windows import open_window as store_window

    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        assert app.join_windows == {}

        window, _ = store_window(
            TokenService(demo_backend(tmp_path)),
            Role.WORKER,
            minutes=30,
            store=WindowStore(tmp_path / "windows.json"),
            now=FIXED_NOW,
        )
        await pilot.press("ctrl+r")
        await settle(app, pilot)

        assert list(app.join_windows) == [window.id]
        assert len(app.query(JoinWindowBar)) == 1
        resumed = [note for note in notes if "now watches them" in note]
        assert resumed == [
            "1 join window(s) stored for this swarm are open; this console now "
            "watches them."
        ]

        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert len(app.query(JoinWindowBar)) == 1
        assert len([note for note in notes if "now watches them" in note]) == 1


async def test_due_window_stored_elsewhere_offered(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        store_due_window(backend, tmp_path, Role.WORKER)

        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert isinstance(app.screen, DueWindowsScreen)
        await pilot.click("#due-later-button")
        await settle(app, pilot)
        # A later change of the file does not offer the same window again.
        path = tmp_path / "windows.json"
        later = path.stat().st_mtime_ns + 10**9
        os.utime(path, ns=(later, later))

        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert not isinstance(app.screen, DueWindowsScreen)
        assert len(app.query(JoinWindowBar)) == 1


async def test_quit_asks_about_due_later_window(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    view, store = store_due_window(backend, tmp_path, Role.WORKER)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.click("#due-later-button")
        await settle(app, pilot)

        await pilot.press("q")
        await settle(app, pilot)
        assert isinstance(app.screen, QuitWithWindowScreen)
        assert [window.role for window in app.screen.windows] == [Role.WORKER]
        text = " ".join(str(item.content) for item in app.screen.query(Static))
        assert "the window stays stored: it is due already, so the next" in text
        assert "once it is due" not in text
        await pilot.click("#quit-rotate")
        for _ in range(40):
            if app.return_code is not None:
                break
            await pilot.pause(0.05)

        assert app.return_code == 0
    assert fingerprints(backend)[0] != view.worker_fingerprint
    assert store.load() == []


async def test_stored_window_of_rotated_token_ends(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    view = TokenService(backend).read()
    store = WindowStore(tmp_path / "windows.json")
    store.add(
        JoinWindow(
            role=Role.WORKER,
            opened_at=FIXED_NOW - timedelta(minutes=1),
            until=FIXED_NOW + timedelta(hours=1),
            max_joins=None,
            baseline_node_ids=frozenset(),
            cluster_id=view.cluster_id,
            endpoint=view.endpoint,
            token_fingerprint=view.worker_fingerprint,
        )
    )
    TokenService(backend).rotate([Role.WORKER])
    rotated = fingerprints(backend)
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    notes = capture_notifications(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await wait_for_windows_closed(app, pilot)

        assert not isinstance(app.screen, DueWindowsScreen)
    assert not any("Join windows resumed" in note for note in notes)
    assert not any("still open; this console now watches" in note for note in notes)
    assert store.load() == []
    assert fingerprints(backend) == rotated
    closed = [
        fields for action, fields in audit.events if action == "join-window-closed"
    ]
    assert [fields["result"] for fields in closed] == ["already-rotated"]


async def test_due_later_window_shown_with_close(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    view, store = store_due_window(backend, tmp_path, Role.WORKER)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.click("#due-later-button")
        await settle(app, pilot)

        (bar,) = app.query(JoinWindowBar)
        line = str(bar.query_one(".line", Static).content)
        assert bar.has_class("-due")
        assert line.startswith("Worker join window due: its time ran out.")
        assert "The worker token still joins until the window is closed." in line

        await pilot.click(f"#window-close-{bar.window.id}")
        await wait_for_windows_closed(app, pilot)
        assert list(app.query(JoinWindowBar)) == []
    assert fingerprints(backend)[0] != view.worker_fingerprint
    assert store.load() == []


async def test_due_later_window_ends_on_rotation(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    _, store = store_due_window(backend, tmp_path, Role.WORKER)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.click("#due-later-button")
        await settle(app, pilot)
        notes = capture_notifications(app)
        TokenService(demo_backend(tmp_path)).rotate([Role.WORKER])
        rotated = fingerprints(backend)

        await pilot.press("ctrl+r")
        await wait_for_windows_closed(app, pilot)

        assert store.load() == []
        assert app.windows_left_open == []
        assert fingerprints(backend) == rotated
        assert any("was rotated and can no longer join" in note for note in notes)
        await pilot.press("q")
        await settle(app, pilot)
        assert app.return_code == 0


async def test_second_window_names_due_time(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    store_due_window(backend, tmp_path, Role.WORKER)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.click("#due-later-button")
        await settle(app, pilot)
        notes = capture_notifications(app)
        await open_window(app, pilot, minutes="5", joins="")

        assert any(
            "is already open (due since 2026-12-04T11:05:00Z)" in note for note in notes
        )


async def test_open_window_resumed_on_start(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    view = TokenService(backend).read()
    store = WindowStore(tmp_path / "windows.json")
    store.add(
        JoinWindow(
            role=Role.WORKER,
            opened_at=FIXED_NOW,
            until=FIXED_NOW + timedelta(minutes=5),
            max_joins=None,
            baseline_node_ids=frozenset(),
            cluster_id=view.cluster_id,
            endpoint=view.endpoint,
            token_fingerprint=view.worker_fingerprint,
        )
    )
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert len(app.query(JoinWindowBar)) == 1
        assert fingerprints(backend)[0] == view.worker_fingerprint


# -- unlock key ---------------------------------------------------------------


async def test_repeated_warning_shown_once(tmp_path: Path) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("u", "y", "u")
        await settle(app, pilot)
        shown = [
            note.message
            for note in app._notifications
            if note.message.startswith("Autolock is off")
        ]
        assert len(shown) == 1


async def test_unlock_pane_hidden_without_autolock(tmp_path: Path) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert not [pane for pane in app.query(UnlockKeyPane) if pane.display]
        notes = capture_notifications(app)
        await pilot.press("u")
        await pilot.pause()
        assert any("Autolock is off" in note for note in notes)
        assert any("demo-autolock on" in note for note in notes)
        assert not any("docker swarm update" in note for note in notes)


class EngineNamed(DelegatingBackend):
    """A demo swarm that names itself as an engine reached with -H."""

    @property
    def endpoint(self) -> str:
        return "unix:///run/x.sock"

    @property
    def docker_cli(self) -> str:
        return "docker -H unix:///run/x.sock"


@pytest.mark.parametrize("key", ["u", "y", "U"])
async def test_autolock_off_hint_names_engine(tmp_path: Path, key: str) -> None:
    backend = EngineNamed(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.press(key)
        await settle(app, pilot)

    assert any(note.startswith("Autolock is off") for note in notes)
    command = "'docker -H unix:///run/x.sock swarm update --autolock=true'"
    assert any(command in note for note in notes)


async def test_unlock_pane_follows_autolock(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        assert len(app.query(UnlockKeyPane)) == 0

        set_autolock(backend, True)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        await settle(app, pilot)
        panes = list(app.query(UnlockKeyPane))
        assert len(panes) == 1
        assert panes[0].display is True
        key_text = str(panes[0].query_one("#unlock-key", Static).content)
        assert key_text == mask_unlock_key(backend.unlock_key())
        body = list(app.query_one("#body").children)
        assert body.index(panes[0]) == body.index(app.query_one("#manager-pane")) + 1

        old_key = backend.unlock_key()
        set_autolock(backend, False)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert len(app.query(UnlockKeyPane)) == 1
        assert panes[0].display is False

        # Turning autolock on again makes a new key, not a rotation.
        notes = capture_notifications(app)
        set_autolock(backend, True)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        await settle(app, pilot)
        assert panes[0].display is True
        new_key = backend.unlock_key()
        assert new_key != old_key
        meta = str(panes[0].query_one("#unlock-meta", Static).content)
        assert meta.startswith(unlock_key_fingerprint(new_key))
        assert not any("rotated outside this console" in note for note in notes)


async def test_palette_lists_unlock_only_with_autolock(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        provider = ConsoleCommands(app.screen)
        unlocked = {item.action for item in provider._available()}
        assert not {name for name in unlocked if name.startswith("unlock_")}
        assert "try_join" in unlocked

        set_autolock(backend, True)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        locked = {item.action for item in provider._available()}
        assert {"unlock_reveal", "unlock_copy", "unlock_rotate"} <= locked


async def test_unlock_reveal_and_rotate(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    old_key = backend.unlock_key()
    before = fingerprints(backend)
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        pane = app.query_one(UnlockKeyPane)
        assert pane.display is True
        shown = str(pane.query_one("#unlock-key", Static).content)
        assert shown == mask_unlock_key(old_key)

        await pilot.press("u")
        await settle(app, pilot)
        assert str(pane.query_one("#unlock-key", Static).content) == old_key
        assert "reveal-unlock-key" in audit.actions()

        await pilot.press("U")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmUnlockRotateScreen)
        await pilot.click("#confirm")
        await settle(app, pilot)

        new_key = backend.unlock_key()
        assert new_key != old_key
        assert fingerprints(backend) == before
        shown = str(pane.query_one("#unlock-key", Static).content)
        assert shown == mask_unlock_key(new_key)
        assert "rotate-unlock-key" in audit.actions()
        meta = str(pane.query_one("#unlock-meta", Static).content)
        assert meta.endswith("  ·  rotated by this console at 2026-12-04 12:00 UTC")
        notes = [note.message for note in app._notifications]
        assert not any(note.startswith("Rotating") for note in notes)
        for _, fields in audit.events:
            assert old_key not in str(fields)
            assert new_key not in str(fields)


async def test_unlock_key_copy_inside_tmux_checks_tmux(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    fake_tmux(tools, "external|0")
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    app = SwarmConsole(
        service=TokenService(backend),
        clock=Clock(),
        environment={
            "SWARMTUI_WINDOWS_FILE": str(tmp_path / "windows.json"),
            "TMUX": "/tmp/tmux-0/default,1,0",
            "PATH": str(tools),
        },
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await app.workers.wait_for_complete()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await settle(app, pilot)
        notes = [note.message for note in app._notifications]
        assert notes[-1].startswith("Unlock key sent to the terminal's clipboard")
        assert "set-clipboard on" in notes[-1]


def in_view(app: SwarmConsole, widget: Any) -> bool:
    """Return whether all of `widget` lies in the visible part of the body."""
    body = app.query_one("#body")
    top = widget.virtual_region.y
    return body.scroll_y <= top and top + widget.outer_size.height <= (
        body.scroll_y + body.scrollable_content_region.height
    )


@pytest.mark.parametrize("key", ["v", "c", "t", "r"])
async def test_token_key_from_unlock_pane_shows_pane(tmp_path: Path, key: str) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(app, pilot)
        manager = app.query_one("#manager-pane", TokenPane)
        unlock = app.query_one(UnlockKeyPane)
        await pilot.press("m")
        await settle(app, pilot)
        app.screen.set_focus(unlock.query(Button).first())
        await settle(app, pilot)
        assert not in_view(app, manager)
        assert unlock.styles.border_top[0] == "double"
        assert manager.styles.border_top[0] == "heavy"

        await pilot.press(key)
        await settle(app, pilot)

        assert in_view(app, manager)


async def test_unlock_rotation_note_survives_reads(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        pane = app.query_one(UnlockKeyPane)
        await pilot.press("U")
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.click("#confirm")
        await settle(app, pilot)
        note = "rotated by this console at 2026-12-04 12:00 UTC"

        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert str(pane.query_one("#unlock-meta", Static).content).endswith(note)
        await pilot.press("u")
        await settle(app, pilot)
        assert str(pane.query_one("#unlock-meta", Static).content).endswith(note)

        # A rotation made elsewhere replaces the key, and the note goes.
        snapshot = backend.inspect_swarm()
        backend.update_swarm(snapshot.version, snapshot.spec, rotate_unlock_key=True)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        meta = str(pane.query_one("#unlock-meta", Static).content)
        assert "rotated by this console" not in meta
        assert meta == unlock_key_fingerprint(backend.unlock_key())
        outside = [note for note in notes if "rotated outside this console" in note]
        assert len(outside) == 1
        assert unlock_key_fingerprint(backend.unlock_key()) in outside[0]


class LostUnlockReply(DelegatingBackend):
    """Loses the reply to the next update, after applying it when `applies` is set.

    The key reads in between fail too, so the rotation's outcome is unknown
    until `recovered` is set.
    """

    def __init__(self, inner: Any, applies: bool) -> None:
        super().__init__(inner)
        self.applies = applies
        self.lost = False
        self.recovered = False

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        if self.applies:
            super().update_swarm(version, spec, **flags)
        self.lost = True
        raise RequestTimeoutError("The engine did not respond.", "Retry.")

    def unlock_key(self) -> str:
        if self.lost and not self.recovered:
            raise RequestTimeoutError("The engine did not respond.", "Retry.")
        return str(self.inner.unlock_key())


@pytest.mark.parametrize("applies", [True, False], ids=["took-effect", "not-rotated"])
async def test_unknown_unlock_rotation_settled(tmp_path: Path, applies: bool) -> None:
    inner = demo_backend(tmp_path)
    enable_autolock(inner)
    old_key = inner.unlock_key()
    backend = LostUnlockReply(inner, applies)
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.press("U")
        await settle(app, pilot)
        await pilot.click("#confirm")
        await settle(app, pilot)
        assert any("whether the key changed is unknown" in note for note in notes)

        backend.recovered = True
        await pilot.press("ctrl+r")
        await settle(app, pilot)

    new_key = inner.unlock_key()
    assert (new_key != old_key) is applies
    outcome = "took effect" if applies else "did not take effect"
    settled = [note for note in notes if "whose outcome was unknown" in note]
    assert len(settled) == 1
    assert outcome in settled[0]
    assert not any("rotated outside this console" in note for note in notes)
    recorded = [fields for action, fields in audit.events if action == "rotate-outcome"]
    assert len(recorded) == 1
    assert recorded[0]["result"] == ("took-effect" if applies else "not-rotated")
    assert recorded[0]["old_key_fingerprint"] == unlock_key_fingerprint(old_key)
    assert recorded[0]["new_key_fingerprint"] == unlock_key_fingerprint(new_key)


class SwarmUnreadableAfterUnlockUpdate(DelegatingBackend):
    """Applies the unlock key update, then fails swarm reads until `recovered`."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.updated = False
        self.recovered = False

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        super().update_swarm(version, spec, **flags)
        self.updated = bool(flags.get("rotate_unlock_key"))

    def inspect_swarm(self) -> Any:
        if self.updated and not self.recovered:
            raise RequestTimeoutError("The engine did not respond.", "Retry.")
        return self.inner.inspect_swarm()


async def test_unlock_rotation_unread_after_update_settled(tmp_path: Path) -> None:
    inner = demo_backend(tmp_path)
    enable_autolock(inner)
    old_key = inner.unlock_key()
    backend = SwarmUnreadableAfterUnlockUpdate(inner)
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.press("U")
        await settle(app, pilot)
        await pilot.click("#confirm")
        await settle(app, pilot)
        assert not any(
            note.startswith("Rotating the unlock key failed") for note in notes
        )
        assert any("accepted the unlock key rotation" in note for note in notes)

        backend.recovered = True
        await pilot.press("ctrl+r")
        await settle(app, pilot)

    new_key = inner.unlock_key()
    assert new_key != old_key
    settled = [note for note in notes if "whose outcome was unknown" in note]
    assert len(settled) == 1
    assert "took effect" in settled[0]
    assert not any("rotated outside this console" in note for note in notes)
    recorded = [fields for action, fields in audit.events if action == "rotate-outcome"]
    assert [fields["result"] for fields in recorded] == ["took-effect"]


class AppliedUpdateHeld(HangingUpdateBackend):
    """Apply each update, then delay its reply until `release` is set."""

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.inner.update_swarm(version, spec, **flags)
        self.entered.set()
        self.release.wait(timeout=60)


async def test_read_during_unlock_rotation_dropped(tmp_path: Path) -> None:
    inner = demo_backend(tmp_path)
    enable_autolock(inner)
    backend = AppliedUpdateHeld(inner)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.press("U")
        await settle(app, pilot)
        await pilot.click("#confirm")
        assert await asyncio.to_thread(backend.entered.wait, 5)
        # A read while the reply is delayed already returns the new key.
        await pilot.press("ctrl+r")
        await pilot.pause(0.5)
        status = str(app.query_one("#status", Static).content)
        assert status == "Rotating the unlock key…"

        backend.release.set()
        await settle(app, pilot)

    assert not any("rotated outside this console" in note for note in notes)
    assert sum("The unlock key was rotated (" in note for note in notes) == 1


async def test_failed_read_masks_unlock_key(tmp_path: Path) -> None:
    inner = demo_backend(tmp_path)
    enable_autolock(inner)
    backend = FailingBackend(inner, None)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
        assert app.unlock_revealed

        backend.error = EngineUnreachableError("The engine is gone.", "Start it.")
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        backend.error = None
        await pilot.press("ctrl+r")
        await settle(app, pilot)

        assert app.error is None
        assert not app.unlock_revealed
        shown = " ".join(
            str(item.content) for item in app.query_one(UnlockKeyPane).query(Static)
        )
        assert inner.unlock_key() not in shown
        assert mask_unlock_key(inner.unlock_key()) in shown


async def test_failed_read_masks_revealed_token(tmp_path: Path) -> None:
    backend = FailingBackend(demo_backend(tmp_path), None)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        assert app.revealed[Role.WORKER]

        backend.error = EngineUnreachableError("The engine is gone.", "Start it.")
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        backend.error = None
        await pilot.press("ctrl+r")
        await settle(app, pilot)

        assert app.error is None
        assert not app.revealed[Role.WORKER]
        command = str(app.query_one("#worker-command", Static).content)
        assert app.view is not None
        assert app.view.worker_token not in command


@pytest.mark.parametrize("took_effect", [True, False], ids=["changed", "unchanged"])
async def test_earlier_unknown_unlock_rotation_settled(
    tmp_path: Path, took_effect: bool
) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    key_now = unlock_key_fingerprint(backend.unlock_key())
    before = "kfp:aaaa-bbbb-cccc" if took_effect else key_now
    audit_path = tmp_path / "audit.jsonl"
    audit = AuditLog(audit_path, environment={})
    cluster_id = TokenService(backend).read().cluster_id
    audit.record(
        "rotate-unlock-key",
        cluster_id=cluster_id,
        result="unknown",
        error="Abandoned at exit",
        old_key_fingerprint=before,
    )
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    notes = capture_notifications(app)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)

    settled = [note for note in notes if note.startswith("An unlock key rotation")]
    assert len(settled) == 1
    if took_effect:
        assert f"the swarm shows {key_now}, not {before}" in settled[0]
    else:
        assert f"did not take effect: the swarm still shows {key_now}" in settled[0]
    outcomes = [
        event
        for event in read_audit(audit_path).events
        if event["action"] == "rotate-outcome"
    ]
    assert len(outcomes) == 1
    assert outcomes[0]["result"] == ("took-effect" if took_effect else "not-rotated")
    assert outcomes[0]["old_key_fingerprint"] == before
    assert outcomes[0]["new_key_fingerprint"] == key_now


class FailingSocketBackend(FailingBackend):
    """A FailingBackend that names the unlock command of an engine on a socket."""

    @property
    def unlock_command(self) -> str:
        return "docker -H unix:///tmp/engine.sock swarm unlock"


async def test_locked_swarm_keeps_last_unlock_key(tmp_path: Path) -> None:
    inner = demo_backend(tmp_path)
    enable_autolock(inner)
    key = inner.unlock_key()
    backend = FailingSocketBackend(inner, None)
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        pane = app.query_one(UnlockKeyPane)
        backend.error = SwarmLockedError(
            "The swarm manager at demo is locked.", "Unlock it, then retry."
        )
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert app.error is backend.error
        assert pane.display is True
        assert str(pane.query_one("#unlock-key", Static).content) == (
            mask_unlock_key(key)
        )
        meta = str(pane.query_one("#unlock-meta", Static).content)
        assert "the swarm is locked: this console read this key at " in meta
        assert (
            "Press y to copy it, then run 'docker -H unix:///tmp/engine.sock swarm "
            "unlock' and paste" in meta
        )
        intro = str(pane.query(Static).first().content)
        assert "given to 'docker -H unix:///tmp/engine.sock swarm unlock'" in intro
        assert "Each restarted manager needs the same." in meta
        assert "or a newer key if it was rotated since." in meta

        await pilot.press("u")
        await settle(app, pilot)
        assert str(pane.query_one("#unlock-key", Static).content) == key
        assert "reveal-unlock-key" in audit.actions()

        notes = capture_notifications(app)
        await pilot.press("U")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmUnlockRotateScreen)
        rejected = [note for note in notes if "cannot be rotated now" in note]
        assert len(rejected) == 1
        assert "'docker -H unix:///tmp/engine.sock swarm unlock'" in rejected[0]
        assert inner.unlock_key() == key


async def start_hung_unlock_rotation(
    app: SwarmConsole, pilot: Any, backend: HangingUpdateBackend
) -> None:
    """Start the unlock key rotation, which waits for `backend.release`."""
    await settle(app, pilot)
    await pilot.press("U")
    await settle(app, pilot)
    assert isinstance(app.screen, ConfirmUnlockRotateScreen)
    await pilot.click("#confirm")
    assert await asyncio.to_thread(backend.entered.wait, 5)


async def test_quit_waits_for_unlock_rotation(tmp_path: Path) -> None:
    inner = demo_backend(tmp_path)
    enable_autolock(inner)
    old_key = inner.unlock_key()
    backend = HangingUpdateBackend(inner)
    app = make_app(TokenService(backend), tmp_path)
    notes = capture_notifications(app)
    try:
        async with app.run_test(size=(100, 36)) as pilot:
            await start_hung_unlock_rotation(app, pilot, backend)

            await pilot.press("q")
            await pilot.pause()
            assert app.is_running
            assert any("Press q again to quit now" in note for note in notes)

            backend.release.set()
            await settle(app, pilot)
            assert app.is_running
            assert inner.unlock_key() != old_key

            # Once the rotation has ended, q quits as usual.
            await pilot.press("q")
            await pilot.pause()
            assert not app.is_running
    finally:
        backend.release.set()


async def test_second_quit_ends_unlock_rotation(tmp_path: Path) -> None:
    inner = demo_backend(tmp_path)
    enable_autolock(inner)
    backend = HangingUpdateBackend(inner)
    app = make_app(TokenService(backend), tmp_path)
    try:
        async with app.run_test(size=(100, 36)) as pilot:
            await start_hung_unlock_rotation(app, pilot, backend)

            await pilot.press("q")
            await pilot.pause()
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert not app.is_running
    finally:
        backend.release.set()


async def test_locked_swarm_without_key_hides_pane(tmp_path: Path) -> None:
    inner = demo_backend(tmp_path)
    backend = FailingBackend(inner, None)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        backend.error = SwarmLockedError("The swarm is locked.", "Unlock it.")
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert not [pane for pane in app.query(UnlockKeyPane) if pane.display]


async def test_unlock_reveal_scrolls_pane_into_view(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(app, pilot)
        pane = app.query_one(UnlockKeyPane)
        body = app.query_one("#body")
        assert not body.region.contains_region(pane.region)

        await pilot.press("u")
        await settle(app, pilot)
        key_line = pane.query_one("#unlock-key", Static)
        assert str(key_line.content) == backend.unlock_key()
        assert body.region.contains_region(key_line.region)


@pytest.mark.parametrize(("key", "role"), [("w", Role.WORKER), ("m", Role.MANAGER)])
async def test_pane_key_shows_whole_pane(tmp_path: Path, key: str, role: Role) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
        pane = app.query_one(f"#{role}-pane", TokenPane)
        assert not in_view(app, pane)

        await pilot.press(key)
        await settle(app, pilot)

        assert in_view(app, pane)
        assert app.focused is pane.first_button


async def test_new_unlock_key_is_masked(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    old_key = backend.unlock_key()
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        pane = app.query_one(UnlockKeyPane)
        await pilot.press("u")
        await settle(app, pilot)
        assert str(pane.query_one("#unlock-key", Static).content) == old_key

        snapshot = backend.inspect_swarm()
        backend.update_swarm(snapshot.version, snapshot.spec, rotate_unlock_key=True)
        await pilot.press("ctrl+r")
        await settle(app, pilot)

        new_key = backend.unlock_key()
        assert new_key != old_key
        key_text = str(pane.query_one("#unlock-key", Static).content)
        assert key_text == mask_unlock_key(new_key)
        assert app.unlock_revealed is False


class SlowUnlockKey(DelegatingBackend):
    """Blocks unlock key reads while `hold` is set, as a slow engine does."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.hold = threading.Event()
        self.released = threading.Event()

    def unlock_key(self) -> str:
        if self.hold.is_set():
            self.released.wait(timeout=30)
        return str(self.inner.unlock_key())


async def test_unlock_key_hidden_while_read_again(tmp_path: Path) -> None:
    backend = SlowUnlockKey(demo_backend(tmp_path))
    enable_autolock(backend.inner)
    old_key = backend.inner.unlock_key()
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        pane = app.query_one(UnlockKeyPane)
        await pilot.press("u")
        await settle(app, pilot)
        assert str(pane.query_one("#unlock-key", Static).content) == old_key

        backend.hold.set()
        snapshot = backend.inner.inspect_swarm()
        backend.inner.update_swarm(
            snapshot.version, snapshot.spec, rotate_unlock_key=True
        )
        notes = capture_notifications(app)
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        await pilot.press("y")
        await pilot.pause()

        key_text = str(pane.query_one("#unlock-key", Static).content)
        assert key_text == mask_unlock_key(old_key)
        assert app.clipboard == ""
        assert any("being read again" in note for note in notes)
        backend.released.set()
        await settle(app, pilot)


async def test_late_unlock_key_read_is_dropped(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    old_key = backend.unlock_key()
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        old_version = app._unlock_version
        snapshot = backend.inspect_swarm()
        backend.update_swarm(snapshot.version, snapshot.spec, rotate_unlock_key=True)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        new_key = backend.unlock_key()

        # The reply to a read made for the older version arrives last.
        app.post_message(UnlockKeyRead(old_key, None, old_version))
        await settle(app, pilot)

        assert app.unlock_key_text == new_key
        key_text = str(app.query_one("#unlock-key", Static).content)
        assert key_text == mask_unlock_key(new_key)


async def test_hidden_unlock_pane_gives_up_focus(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        copy_key = app.query_one("#unlock-copy", Button)
        copy_key.focus()
        await pilot.pause()

        set_autolock(backend, False)
        await pilot.press("ctrl+r")
        await settle(app, pilot)

        assert app.query_one(UnlockKeyPane).display is False
        assert app.focused is not None
        assert app.focused.id == "body"


async def test_conflict_hides_unlock_pane(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        pane = app.query_one(UnlockKeyPane)
        assert pane.display is True

        set_autolock(backend, False)
        await pilot.press("w", "r")
        await settle(app, pilot)

        assert isinstance(app.screen, ConflictScreen)
        assert pane.display is False


async def test_unlock_rotate_cancel(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    old_key = backend.unlock_key()
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        await pilot.click("#unlock-rotate")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmUnlockRotateScreen)
        await pilot.press("escape")
        await settle(app, pilot)
    assert backend.unlock_key() == old_key


# -- CA ---------------------------------------------------------------------------


class RotatingCaBackend(DemoBackend):
    """A demo swarm that reports a root CA rotation in progress."""

    def inspect_swarm(self) -> SwarmSnapshot:
        import dataclasses

        snapshot = super().inspect_swarm()
        return dataclasses.replace(snapshot, root_rotation_in_progress=True)


async def test_ca_screen_and_banner(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        banner = app.query_one(CaBanner)
        assert not banner.has_class("-shown")
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, CaScreen)
        assert app.view is not None
        expected = describe_ca(app.view.ca_pem)
        assert app.screen.info == expected
        assert app.screen.query_one("#ca-details", Static) is not None
        await pilot.press("escape")


async def test_ca_screen_narrow_keeps_bytes_whole(tmp_path: Path) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(40, 12)) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CaScreen)
        assert screen.info is not None
        details = screen.query_one("#ca-details", Static)
        rows = [
            "".join(segment.text for segment in details.render_line(y))
            for y in range(details.size.height)
        ]
        start = next(i for i, row in enumerate(rows) if row.startswith("SHA-256"))
        end = next(i for i, row in enumerate(rows) if row.startswith("Valid from"))
        lines = [row.removeprefix("SHA-256").strip() for row in rows[start:end]]

    assert len(lines) > 1
    for line in lines:
        assert re.fullmatch(r"[0-9A-F]{2}([: ][0-9A-F]{2})*:?", line), line
    rejoined = ":".join(line.rstrip(":") for line in lines).replace(" ", ":")
    assert rejoined == screen.info.fingerprint


class BrokenCaEngine(EngineNamed):
    """An engine-named demo swarm whose root CA is not a certificate."""

    def inspect_swarm(self) -> SwarmSnapshot:
        import dataclasses

        snapshot = super().inspect_swarm()
        return dataclasses.replace(snapshot, ca_pem="not a certificate\n")


async def test_ca_screen_error_names_engine(tmp_path: Path) -> None:
    backend = BrokenCaEngine(demo_backend(tmp_path))
    app = make_app(TokenService(backend), tmp_path)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, CaScreen)
        assert screen.info is None
        text = " ".join(str(widget.content) for widget in screen.query(Static))

    assert "could not be parsed" in text
    assert "Check 'docker -H unix:///run/x.sock info'" in text


async def test_ca_banner_during_rotation(tmp_path: Path) -> None:
    backend = RotatingCaBackend(path=tmp_path / "demo.toml", seed=7, now=Clock())
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        banner = app.query_one(CaBanner)
        assert banner.has_class("-shown")
        assert "root CA rotation is in progress" in str(banner.content)


# -- audit ---------------------------------------------------------------------------


async def test_audit_screen_lists_events(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl", environment={})
    app = make_app(TokenService(demo_backend(tmp_path), audit=audit), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("w", "r")
        await settle(app, pilot)
        await pilot.press("l")
        await settle(app, pilot)
        assert isinstance(app.screen, AuditScreen)
        table = app.screen.query_one("#audit-table", DataTable)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[2]) == "rotate"


async def test_audit_failure_is_notified(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    audit = AuditLog(blocker / "audit.jsonl", environment={})
    backend = demo_backend(tmp_path)
    before = fingerprints(backend)
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.press("w", "r")
        await settle(app, pilot)
        assert fingerprints(backend)[0] != before[0]
        assert any("audit file" in note for note in notes)


@pytest.mark.parametrize(
    "key", ["L", "o", "a", "l"], ids=["leak", "window", "ca", "audit"]
)
async def test_actions_ignored_under_modal(tmp_path: Path, key: str) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        screen = app.screen
        await pilot.press(key)
        await settle(app, pilot)
        assert app.screen is screen


async def test_unlock_buttons_exist(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        labels = [
            str(button.label)
            for button in app.query(UnlockKeyPane).first().query(Button)
        ]
        assert labels == ["Copy key", "Reveal", "Rotate key"]


class ForeignWorkerTokenBackend(DemoBackend):
    """A demo swarm whose worker token carries another CA's digest."""

    def inspect_swarm(self) -> SwarmSnapshot:
        import dataclasses

        from swarmtui.tokens import make_token

        snapshot = super().inspect_swarm()
        return dataclasses.replace(snapshot, worker_token=make_token("1" * 50))


async def test_ca_banner_on_digest_mismatch(tmp_path: Path) -> None:
    backend = ForeignWorkerTokenBackend(
        path=tmp_path / "demo.toml", seed=7, now=Clock()
    )
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        banner = app.query_one(CaBanner)
        assert banner.has_class("-shown")
        text = str(banner.content)
        assert "The worker token's CA digest does not match" in text
        assert "manager" not in text


def autolock_on(backend: DemoBackend) -> None:
    """Turn autolock on in the demo swarm of `backend`."""
    snapshot = backend.inspect_swarm()
    spec = copy.deepcopy(snapshot.spec)
    spec.setdefault("EncryptionConfig", {})["AutoLockManagers"] = True
    backend.update_swarm(snapshot.version, spec)


async def test_reveal_ends_with_replaced_swarm(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    autolock_on(backend)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("w", "v", "u")
        await settle(app, pilot)
        assert app.revealed[Role.WORKER]
        assert app.unlock_revealed
        old_token = backend.inspect_swarm().worker_token
        assert old_token in str(app.query_one("#worker-command", Static).content)
        notes = capture_notifications(app)
        replacement = demo_backend(tmp_path, seed=8)
        replacement.reset()
        autolock_on(replacement)

        await pilot.press("ctrl+r")
        await settle(app, pilot)
        await settle(app, pilot)

        assert app.view is not None
        new_token = replacement.inspect_swarm().worker_token
        assert not app.revealed[Role.WORKER]
        assert not app.unlock_revealed
        assert new_token not in str(app.query_one("#worker-command", Static).content)
        assert app.unlock_key_text == replacement.unlock_key()
        assert not [note for note in notes if "Unlock key rotated" in note]
        assert not [note for note in notes if "rotated outside" in note]


class TimedOutUpdate(DelegatingBackend):
    """Times out every update without applying it."""

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        raise RequestTimeoutError("The engine did not respond.", "Retry.")


async def test_replaced_swarm_drops_unknown_token_rotation(tmp_path: Path) -> None:
    backend = TimedOutUpdate(demo_backend(tmp_path))
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.press("w", "r")
        await settle(app, pilot)
        assert Role.WORKER in app._unconfirmed
        demo_backend(tmp_path, seed=8).reset()

        await pilot.press("ctrl+r")
        await settle(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)

    assert not [note for note in notes if "may have been rotated" in note]
    assert notes[-1].startswith("Worker join command sent to the terminal's clipboard")
    assert not [note for note in notes if "rotation took effect" in note]
    assert not [action for action, _ in audit.events if action == "rotate-outcome"]


async def test_replaced_swarm_drops_unknown_unlock_rotation(tmp_path: Path) -> None:
    inner = demo_backend(tmp_path)
    enable_autolock(inner)
    backend = LostUnlockReply(inner, applies=False)
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        notes = capture_notifications(app)
        await pilot.press("U")
        await settle(app, pilot)
        await pilot.click("#confirm")
        await settle(app, pilot)
        assert any("whether the key changed is unknown" in note for note in notes)
        replacement = demo_backend(tmp_path, seed=8)
        replacement.reset()
        autolock_on(replacement)
        backend.recovered = True

        await pilot.press("ctrl+r")
        await settle(app, pilot)
        await settle(app, pilot)
        assert app.unlock_key_text == replacement.unlock_key()
        await pilot.press("u")
        await settle(app, pilot)
        assert app.unlock_revealed

    assert not [note for note in notes if "whose outcome was unknown" in note]
    assert not [action for action, _ in audit.events if action == "rotate-outcome"]


async def test_declined_unlock_and_leak_audited(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    enable_autolock(backend)
    key = backend.unlock_key()
    before = TokenService(backend).read()
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("U")
        await settle(app, pilot)
        await pilot.click("#cancel")
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        assert isinstance(app.screen, LeakScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, LeakScreen)

    declined = [
        fields for action, fields in audit.events if action == "rotation-declined"
    ]
    assert len(declined) == 2
    assert declined[0]["request"] == "rotate-unlock-key"
    assert declined[0]["key_fingerprint"] == unlock_key_fingerprint(key)
    assert declined[1]["request"] == "leak-response"
    assert declined[1]["role"] == "manager+worker"
    assert declined[1]["fingerprints"] == {
        "manager": before.manager_fingerprint,
        "worker": before.worker_fingerprint,
    }
    assert backend.unlock_key() == key
    assert TokenService(backend).read().worker_fingerprint == before.worker_fingerprint


async def test_leak_after_rotation_not_declined(tmp_path: Path) -> None:
    audit = RecordingAudit()
    app = make_app(TokenService(demo_backend(tmp_path), audit=audit), tmp_path)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen.has_class("-done")
        await pilot.press("escape")
        await settle(app, pilot)

    assert "leak-response" in audit.actions()
    assert "rotation-declined" not in audit.actions()


async def test_token_in_window_field_hidden(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    token = backend.inspect_swarm().worker_token
    secret = parse_token(token).secret
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, token, "")

        assert isinstance(app.screen, OpenWindowScreen)
        field = app.screen.query_one("#window-minutes", Input)
        assert field.password
        error = str(app.screen.query_one("#window-error", Static).content)
        assert error.startswith("Minutes must be from ")
        assert f"(a text of {len(token)} characters that may hold a secret)" in error
        assert secret not in error
        assert secret[:12] not in app.export_screenshot()

        field.value = "10"
        await settle(app, pilot)
        assert not field.password


async def test_leak_conflict_with_replaced_swarm(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        old_cluster = TokenService(backend).read().cluster_id
        await pilot.press("L")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LeakScreen)
        field = screen.query_one("#leak-since", Input)
        old_start = field.value
        # demo-reset in another shell: a new swarm, made 12 hours ago.
        replacement = DemoBackend(
            path=tmp_path / "demo.toml",
            seed=9,
            now=lambda: fixed_clock() + timedelta(days=41, hours=12),
        )
        replacement.reset()
        new_cluster = TokenService(replacement).read().cluster_id

        await pilot.click("#leak-confirm")
        await settle(app, pilot)

        heading = str(screen.query_one("#leak-swarm", Static).content)
        assert f"Cluster {new_cluster}" in heading
        assert old_cluster not in heading
        assert field.value != old_start
        error = str(screen.query_one("#leak-error", Static).content)
        assert "the cluster itself is a different one" in error


async def test_joins_with_too_many_digits(tmp_path: Path) -> None:
    app = make_app(TokenService(demo_backend(tmp_path)), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, "", "9" * 5000)

        assert isinstance(app.screen, OpenWindowScreen)
        error = str(app.screen.query_one("#window-error", Static).content)
        assert error.startswith("Joins has 5000 digits, more than a count can have")


@pytest.mark.parametrize("part", ["body-cut", "secret"])
async def test_secret_part_in_window_field_hidden(tmp_path: Path, part: str) -> None:
    backend = demo_backend(tmp_path)
    token = backend.inspect_swarm().worker_token
    secret = parse_token(token).secret
    text = token[9:-1] if part == "body-cut" else secret
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await open_window(app, pilot, text, "")

        assert isinstance(app.screen, OpenWindowScreen)
        assert app.screen.query_one("#window-minutes", Input).password
        error = str(app.screen.query_one("#window-error", Static).content)
        assert error.endswith(
            f"not (a text of {len(text)} characters that may hold a secret)."
        )
        assert secret[:12] not in app.export_screenshot()


async def test_leak_conflict_then_cancel_declined(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path)
    audit = RecordingAudit()
    app = make_app(TokenService(backend, audit=audit), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        TokenService(demo_backend(tmp_path)).rotate([Role.WORKER])
        await pilot.click("#leak-confirm")
        await settle(app, pilot)
        assert "changed by someone else" in str(
            app.screen.query_one("#leak-error", Static).content
        )
        await pilot.click("#leak-cancel")
        await settle(app, pilot)

    declined = [
        fields for action, fields in audit.events if action == "rotation-declined"
    ]
    assert len(declined) == 1
    assert declined[0]["request"] == "leak-response"
    assert declined[0]["fingerprints"]["worker"] == fingerprints(backend)[0]

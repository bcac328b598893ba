"""Pilot tests of the token panes' change lines, toasts over dialogs and small sizes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Button, DataTable, Input, Static
from tui_support import FIXED_NOW, demo_backend, demo_service, fixed_clock

from swarmtui.audit import AuditLog
from swarmtui.config import load_settings
from swarmtui.history import FileTokenHistory
from swarmtui.models import Role
from swarmtui.service import TokenService
from swarmtui.tui.app import SwarmConsole
from swarmtui.tui.audit_screen import AuditScreen
from swarmtui.tui.join_window import OpenWindowScreen
from swarmtui.tui.leak import LeakScreen
from swarmtui.tui.screens import (
    ConfirmRotateScreen,
    HelpScreen,
    KeyTable,
    MarkedCheckbox,
    SettingsScreen,
)

UNCHANGED = "unchanged since the console started"


def make_app(service: TokenService, tmp_path: Path) -> SwarmConsole:
    environment = {"SWARMTUI_WINDOWS_FILE": str(tmp_path / "windows.json")}
    return SwarmConsole(service=service, clock=fixed_clock, environment=environment)


async def settle(app: SwarmConsole, pilot: Any) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def meta(app: SwarmConsole, role: Role) -> str:
    return str(app.query_one(f"#{role}-meta", Static).content)


def capture_notifications(app: SwarmConsole) -> list[tuple[str, str]]:
    """Record (title, message) of every notification the app shows."""
    shown: list[tuple[str, str]] = []
    original = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        shown.append((str(kwargs.get("title", "")), message))
        original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return shown


# -- the change line of each token pane -----------------------------------------


async def test_manager_rotation_leaves_worker_line(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert UNCHANGED in meta(app, Role.WORKER)
        assert UNCHANGED in meta(app, Role.MANAGER)
        await pilot.press("m", "r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmRotateScreen)
        await pilot.click("#confirm")
        await settle(app, pilot)
        worker = meta(app, Role.WORKER)
        manager = meta(app, Role.MANAGER)
        assert UNCHANGED in worker
        assert "updated" not in worker
        assert "rotated by this console at 2026-12-04 12:00 UTC" in manager


async def test_outside_rotation_names_one_pane(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        demo_service(tmp_path).rotate([Role.WORKER])
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert "rotated outside this console" in meta(app, Role.WORKER)
        assert UNCHANGED in meta(app, Role.MANAGER)


def app_with_worker_rotation(tmp_path: Path, time: str) -> SwarmConsole:
    """Return a console whose audit record has a worker rotation at `time`."""
    audit_path = tmp_path / "audit.jsonl"
    view = demo_service(tmp_path).read()
    event = {
        "time": time,
        "action": "rotate",
        "result": "ok",
        "cluster_id": view.cluster_id,
        "role": "worker",
        "new_fingerprints": {"worker": view.worker_fingerprint},
    }
    audit_path.write_text(json.dumps(event) + "\n", encoding="utf-8")
    service = TokenService(demo_backend(tmp_path), audit=AuditLog(audit_path))
    return make_app(service, tmp_path)


async def test_audit_record_dates_token(tmp_path: Path) -> None:
    time = (FIXED_NOW - timedelta(hours=2)).isoformat()
    app = app_with_worker_rotation(tmp_path, time)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert "rotated at 2026-12-04 10:00 UTC (audit record)" in meta(
            app, Role.WORKER
        )
        assert UNCHANGED in meta(app, Role.MANAGER)


async def test_unusable_audit_time_ignored(tmp_path: Path) -> None:
    app = app_with_worker_rotation(tmp_path, "0001-01-01T00:00:00+01:00")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert UNCHANGED in meta(app, Role.WORKER)


async def test_history_dates_first_sight(tmp_path: Path) -> None:
    view = demo_service(tmp_path).read()
    history_path = tmp_path / "history.json"
    earlier = FileTokenHistory(history_path, now=lambda: FIXED_NOW - timedelta(hours=3))
    earlier.remember(view.cluster_id, Role.MANAGER, "fp:aaaa-bbbb-cccc")
    earlier.remember(view.cluster_id, Role.MANAGER, view.manager_fingerprint)
    earlier.remember(view.cluster_id, Role.WORKER, view.worker_fingerprint)
    service = TokenService(
        demo_backend(tmp_path), history=FileTokenHistory(history_path)
    )
    app = make_app(service, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert "changed, first seen at 2026-12-04 09:00 UTC (token history)" in meta(
            app, Role.MANAGER
        )
        assert "unchanged since first seen at 2026-12-04 09:00 UTC" in meta(
            app, Role.WORKER
        )


async def test_own_first_sight_reads_unchanged(tmp_path: Path) -> None:
    history_path = tmp_path / "history.json"
    service = TokenService(
        demo_backend(tmp_path), history=FileTokenHistory(history_path)
    )
    app = make_app(service, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.view is not None
        for role in Role:
            assert UNCHANGED in meta(app, role)
        cluster = json.loads(history_path.read_text())["clusters"][app.view.cluster_id]
        assert set(cluster["seen"]) == {"worker", "manager"}

    restarted = make_app(
        TokenService(demo_backend(tmp_path), history=FileTokenHistory(history_path)),
        tmp_path,
    )
    async with restarted.run_test(size=(100, 30)) as pilot:
        await settle(restarted, pilot)
        for role in Role:
            assert "unchanged since first seen at" in meta(restarted, role)


# -- one notice for one update ------------------------------------------------------


async def test_leak_response_notifies_once(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        assert isinstance(app.screen, LeakScreen)
        await pilot.click("#leak-confirm")
        await settle(app, pilot)
        # The notice waits while the dialog is open, then shows once.
        assert not [note for note in app._notifications if "rotated" in note.title]
        await pilot.click("#leak-done")
        await settle(app, pilot)
        rotated = [note for note in app._notifications if "rotated" in note.title]
        assert len(rotated) == 1
        assert rotated[0].title == "Tokens rotated"
        assert "Both tokens were rotated in one update" in rotated[0].message
        for role in Role:
            assert "rotated by this console" in meta(app, role)


# -- settings --------------------------------------------------------------------


async def test_settings_focus_interval_first(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        assert app.focused is not None
        assert app.focused.id == "poll-interval"


@pytest.mark.parametrize(
    ("typed", "written"),
    [("30", "poll_interval = 30\n"), ("2.5", "poll_interval = 2.5\n")],
)
async def test_settings_write_whole_numbers(
    tmp_path: Path, typed: str, written: str
) -> None:
    config = tmp_path / "config.toml"
    app = SwarmConsole(
        service=demo_service(tmp_path),
        clock=fixed_clock,
        environment={},
        config_path=config,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#poll-interval", Input).value = typed
        await pilot.click("#save")
        await settle(app, pilot)
    text = config.read_text(encoding="utf-8")
    assert written in text
    assert "timeout = 10\n" in text
    assert load_settings(config).poll_interval == float(typed)


async def test_checkbox_marks_state_without_colour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(demo_service(tmp_path), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        box = app.screen.query_one("#mask-tokens", MarkedCheckbox)
        assert box.value is True
        assert str(box.render()).startswith("▐X▌")
        box.value = False
        await pilot.pause()
        assert str(box.render()).startswith("▐ ▌")


# -- toasts and dialogs ---------------------------------------------------------------


def toast_texts(app: SwarmConsole) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query("Toast")]


async def test_shown_toast_leaves_help_screen(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path), tmp_path)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("w", "c")
        await settle(app, pilot)
        assert any("clipboard" in text for text in toast_texts(app))
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        assert toast_texts(app) == []
        await pilot.press("escape")
        await settle(app, pilot)
        assert any("clipboard" in text for text in toast_texts(app))


async def test_toast_waits_for_dialog_to_close(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path), tmp_path)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        assert isinstance(app.screen, OpenWindowScreen)
        app.notify("A join window closed elsewhere.")
        app.notify("The engine stopped answering.", severity="warning")
        await settle(app, pilot)
        shown = toast_texts(app)
        assert not any("closed elsewhere" in text for text in shown)
        assert any("stopped answering" in text for text in shown)
        await pilot.press("escape")
        await settle(app, pilot)
        assert any("closed elsewhere" in text for text in toast_texts(app))


# -- small terminals ------------------------------------------------------------------

SMALL_SIZES = [(80, 24), (60, 20)]


def buttons_off_screen(app: SwarmConsole, size: tuple[int, int]) -> list[str]:
    """Name the shown buttons of the current screen that lie outside the terminal."""
    width, height = size
    outside = []
    for button in app.screen.query(Button):
        if not all(node.display for node in button.ancestors_with_self[:-2]):
            continue
        region = button.region
        if region.width == 0 or region.bottom > height or region.right > width:
            outside.append(str(button.id))
    return outside


@pytest.mark.parametrize("size", SMALL_SIZES)
async def test_footer_shows_quit(tmp_path: Path, size: tuple[int, int]) -> None:
    app = make_app(demo_service(tmp_path), tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        keys = [key for key in app.screen.query("FooterKey") if key.key == "q"]
        assert len(keys) == 1
        region = keys[0].region
        assert region.width > 0
        assert region.right <= size[0]


@pytest.mark.parametrize("size", SMALL_SIZES)
@pytest.mark.parametrize("keys", [("k",), ("j",), ("s",), ("o",), ("L",), ("m", "r")])
async def test_dialog_buttons_fit(
    tmp_path: Path, size: tuple[int, int], keys: tuple[str, ...]
) -> None:
    app = make_app(demo_service(tmp_path), tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press(*keys)
        await settle(app, pilot)
        assert app._modal_open()
        assert list(app.screen.query(Button))
        assert buttons_off_screen(app, size) == []


@pytest.mark.parametrize("keys", [("k",), ("j",), ("s",), ("o",), ("L",)])
async def test_compact_fields_stand_out(tmp_path: Path, keys: tuple[str, ...]) -> None:
    app = make_app(demo_service(tmp_path), tmp_path)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(app, pilot)
        await pilot.press(*keys)
        await settle(app, pilot)
        dialog = app.screen.query_one(".dialog")
        fields = list(app.screen.query(Input))
        assert fields
        for field in fields:
            assert field.compact
            assert field.styles.background != dialog.styles.background


@pytest.mark.parametrize("size", SMALL_SIZES)
async def test_leak_result_fits(tmp_path: Path, size: tuple[int, int]) -> None:
    backend = demo_backend(tmp_path)
    view = TokenService(backend).read()
    for number in range(8):
        backend.join(view.worker_token, f"late-{number}", f"127.0.4.{number + 10}")
    backend.join(view.manager_token, "rogue-mgr", "127.0.4.90")
    app = make_app(TokenService(backend), tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        await pilot.click("#leak-confirm")
        await settle(app, pilot)
        assert isinstance(app.screen, LeakScreen)
        table = app.screen.query_one("#leak-nodes", DataTable)
        assert table.display
        assert buttons_off_screen(app, size) == []
        ids = {str(table.get_row(row_key)[-1]) for row_key in table.rows}
        assert len(ids) == 9
        assert all(len(node_id) == 12 for node_id in ids)


@pytest.mark.parametrize("size", SMALL_SIZES)
async def test_live_check_result_fits(tmp_path: Path, size: tuple[int, int]) -> None:
    service = demo_service(tmp_path)
    manager_token = service.read().manager_token
    app = make_app(service, tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("k")
        await settle(app, pilot)
        app.screen.query_one("#check-input", Input).value = manager_token
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen.query_one("#check-rotate", Button).display
        assert buttons_off_screen(app, size) == []


# -- audit screen -------------------------------------------------------------------


async def test_audit_screen_filters_cluster(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    foreign = {
        "time": "2026-01-01T00:00:00Z",
        "action": "copy",
        "cluster_id": "zzzz9999other",
        "endpoint": "unix:///elsewhere.sock",
    }
    audit_path.write_text(json.dumps(foreign) + "\n", encoding="utf-8")
    audit = AuditLog(audit_path, environment={})
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
        status = str(app.screen.query_one("#audit-status", Static).content)
        assert "of this swarm" in status
        labels = [str(column.label) for column in table.columns.values()]
        assert "Swarm" not in labels
        await pilot.press("f")
        await settle(app, pilot)
        assert table.row_count == 2
        labels = [str(column.label) for column in table.columns.values()]
        assert labels[:3] == ["Time (UTC)", "Swarm", "User"]
        assert str(table.get_row_at(1)[1]) == "zzzz9999othe"
        assert app.view is not None
        assert str(table.get_row_at(0)[1]) == app.view.cluster_id[:12]
        assert str(table.get_row_at(1)[3]) == "copy"
        status = str(app.screen.query_one("#audit-status", Static).content)
        assert "of every swarm and endpoint" in status
        await pilot.press("f")
        await settle(app, pilot)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[2]) == "rotate"


def test_key_table_bolds_only_keys() -> None:
    text = "Rotate the focused pane's token; the manager token always asks first."
    table = KeyTable([("r", text), ("ctrl+p", "Open the command palette.")])
    console = Console(width=40, color_system=None)
    lines = console.render_lines(table, console.options.update_width(40), pad=False)

    rendered = ["".join(segment.text for segment in line) for line in lines]
    assert rendered[0].startswith("r       Rotate the focused pane's")
    assert rendered[1].startswith("        ")
    assert rendered[-1].startswith("ctrl+p  Open the command palette.")
    for line in lines:
        for segment in line:
            bold = bool(segment.style and segment.style.bold)
            is_key = segment.text.strip() in ("r", "ctrl+p")
            assert bold == is_key, segment


async def test_audit_row_details_show_whole_row(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl", environment={})
    app = make_app(TokenService(demo_backend(tmp_path), audit=audit), tmp_path)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(app, pilot)
        await pilot.press("w", "r")
        await settle(app, pilot)
        await pilot.press("w", "v")
        await settle(app, pilot)
        await pilot.press("l")
        await settle(app, pilot)
        assert isinstance(app.screen, AuditScreen)
        table = app.screen.query_one("#audit-table", DataTable)
        details = app.screen.query_one("#audit-row-details", Static)
        assert app.focused is table
        newest = str(details.content)
        assert "reveal" in newest
        await pilot.press("down")
        await pilot.pause()
        rotation = str(details.content)
        assert app.view is not None
        assert "rotate" in rotation
        assert rotation.endswith(f"-> {app.view.worker_fingerprint}")


async def test_audit_long_event_scrolls(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    long_item = "x" * 3000
    audit = AuditLog(audit_path, environment={})
    app = make_app(TokenService(demo_backend(tmp_path), audit=audit), tmp_path)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(app, pilot)
        assert app.view is not None
        event = {
            "time": "2026-12-04T11:00:00Z",
            "action": "copy",
            "cluster_id": app.view.cluster_id,
            "item": long_item,
        }
        audit_path.write_text(json.dumps(event) + "\n", encoding="utf-8")
        await pilot.press("l")
        await settle(app, pilot)
        assert isinstance(app.screen, AuditScreen)
        details = app.screen.query_one("#audit-row-details", Static)
        assert str(details.content).endswith(long_item)
        scroll = app.screen.query_one("#audit-row-scroll")
        assert scroll.max_scroll_y > 0

        await pilot.press("tab")
        await pilot.pause()
        assert app.focused is scroll
        await pilot.press("end")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y


async def test_logged_warnings_shown_after_mount(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path), tmp_path)
    shown = capture_notifications(app)
    app.show_logged_warning("the demo state file [x] was made with seed 7")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.show_logged_warning("the audit file had mode 644")
        await settle(app, pilot)
    warnings = [message for title, message in shown if title == "Warning"]
    assert warnings == [
        "The demo state file [x] was made with seed 7",
        "The audit file had mode 644",
    ]

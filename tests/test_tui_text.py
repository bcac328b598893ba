"""Console text: plain notifications, one waiting toast, q in dialogs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.widgets import Static
from tui_support import (
    DelegatingBackend,
    HangingBackend,
    demo_backend,
    demo_service,
    fixed_clock,
)

from swarmtui.models import EngineInfo
from swarmtui.service import TokenService
from swarmtui.tui.app import SwarmConsole
from swarmtui.tui.screens import ConfirmRotateScreen
from swarmtui.tui.widgets import shorten_middle, wrap_items


def make_app(service: TokenService) -> SwarmConsole:
    return SwarmConsole(service=service, clock=fixed_clock, environment={})


async def settle(app: SwarmConsole, pilot: Any) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


class WorkerNodeBackend(DelegatingBackend):
    """A demo swarm seen through one of its worker nodes."""

    def engine_info(self) -> EngineInfo:
        info = super().engine_info()
        return dataclasses.replace(
            info,
            control_available=False,
            remote_managers=("127.0.3.1:2377", "127.0.3.2:2377"),
        )


async def test_notification_is_plain_text(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.notify("node [bold]x[/bold] joined")
        await pilot.pause()
        shown = [item for item in app._notifications if "joined" in item.message]
        assert len(shown) == 1
        assert shown[0].markup is False
        assert shown[0].message == "node [bold]x[/bold] joined"


async def test_worker_pane_lists_managers_once(tmp_path: Path) -> None:
    app = make_app(TokenService(WorkerNodeBackend(demo_backend(tmp_path))))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        visible = [
            str(widget.content)
            for widget in app.query("ErrorState Static")
            if isinstance(widget, Static) and widget.display
        ]
        text = "\n".join(visible)
        assert text.count("127.0.3.1:2377") == 1
        assert "by swarm address: 127.0.3.1:2377" in text
        assert "the swarm port is not the Docker API" in text


async def test_repeated_refresh_shows_one_toast(tmp_path: Path) -> None:
    backend = HangingBackend(demo_backend(tmp_path))
    app = make_app(TokenService(backend))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert backend.entered.wait(timeout=10)
            for _ in range(20):
                await pilot.press("ctrl+r")
            await pilot.pause()
            waiting = [
                item
                for item in app._notifications
                if item.message.startswith("Still waiting")
            ]
            assert len(waiting) == 1
            backend.release.set()
            await settle(app, pilot)
    finally:
        backend.release.set()


async def test_q_cancels_confirm_dialog(tmp_path: Path) -> None:
    service = demo_service(tmp_path)
    app = make_app(service)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        before = app.view
        assert before is not None
        await pilot.press("m", "r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmRotateScreen)
        assert app.active_bindings["q"].binding.show is False
        await pilot.press("q")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmRotateScreen)
        assert app.return_code is None
        assert app.view is not None
        assert app.view.manager_token == before.manager_token


ITEMS = [
    ("node", "mgr-01", "bold"),
    ("join", "192.0.2.10:2377", "bold"),
    ("managers", "3", "bold"),
    ("CA", "5ttdzoynw4…", "bold"),
    ("autolock", "on", "dim"),
]


@pytest.mark.parametrize("width", [0, 20, 30, 44, 200])
def test_header_items_break_between_items(width: int) -> None:
    lines = wrap_items(ITEMS, width).plain.split("\n")
    expected = [f"{label} {value}" for label, value, _ in ITEMS]
    found = [item for line in lines for item in line.split("  ")]
    assert found == expected
    if width:
        assert all(len(line) <= width for line in lines)
    else:
        assert len(lines) == 1


LONG_ENDPOINT = "unix:///run/user/1000/" + "nested/" * 12 + "docker.sock"


@pytest.mark.parametrize(
    ("value", "cells", "expected"),
    [
        ("unix:///var/run/docker.sock", 40, "unix:///var/run/docker.sock"),
        ("unix:///var/run/docker.sock", 15, "unix://…er.sock"),
        ("abcdefghij", 10, "abcdefghij"),
        ("abcdefghij", 9, "abcd…ghij"),
        ("日本語のパス名です", 11, "日本…名です"),
    ],
)
def test_shorten_middle_cases(value: str, cells: int, expected: str) -> None:
    shortened = shorten_middle(value, cells)
    assert shortened == expected
    assert cell_len(shortened) <= cells


@pytest.mark.parametrize("width", [30, 60, 80])
def test_header_shortens_long_endpoint(width: int) -> None:
    items = [("endpoint", LONG_ENDPOINT, "bold"), ("cluster", "5snh7ngrbi2s", "bold")]
    lines = wrap_items(items, width).plain.split("\n")
    assert lines[0].startswith("endpoint unix:///")
    assert "…" in lines[0]
    assert lines[0].endswith("ker.sock")
    assert cell_len(lines[0]) <= width
    assert lines[1] == "cluster 5snh7ngrbi2s"


def test_header_keeps_shortest_value() -> None:
    text = wrap_items([("endpoint", LONG_ENDPOINT, "bold")], 10).plain
    assert text == "endpoint unix:/….sock"


async def test_header_keeps_label_with_value_at_60(tmp_path: Path) -> None:
    app = make_app(demo_service(tmp_path))
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(app, pilot)
        swarm_line = app.query_one("#header-swarm", Static)
        rows = [
            "".join(segment.text for segment in swarm_line.render_line(y)).rstrip()
            for y in range(swarm_line.size.height)
        ]
        assert len(rows) == 2
        assert not any(row.endswith((" CA", " CA digest")) for row in rows)
        assert rows[1].startswith("CA digest ")

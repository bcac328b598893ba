"""SVG snapshots of the leak, join window, unlock key and CA screens.

They run on the seeded demo swarm with a fixed clock. Regenerate the
baselines with ``pytest tests/test_tui_response_snapshots.py
--snapshot-update`` and look at the SVGs before committing them.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input
from tui_support import demo_backend, fixed_clock

from swarmtui.backends.demo import DemoBackend
from swarmtui.service import TokenService
from swarmtui.tui.app import SwarmConsole


@pytest.fixture
def demo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME at tmp_path so the endpoint label reads demo:~/demo.toml."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def console(backend: DemoBackend, home: Path) -> SwarmConsole:
    environment = {"SWARMTUI_WINDOWS_FILE": str(home / "windows.json")}
    return SwarmConsole(
        service=TokenService(backend), clock=fixed_clock, environment=environment
    )


async def settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def test_leak_result_100x30(snap_compare: Any, demo_home: Path) -> None:
    backend = demo_backend(demo_home)
    view = TokenService(backend).read()
    backend.join(view.manager_token, "rogue-mgr", "127.0.4.90")
    backend.join(view.worker_token, "rogue-wrk", "127.0.4.91")

    async def respond(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        await pilot.click("#leak-confirm")
        await settle(pilot)

    app = console(backend, demo_home)
    assert snap_compare(app, terminal_size=(100, 30), run_before=respond)


def test_leak_question_100x30(snap_compare: Any, demo_home: Path) -> None:
    async def ask(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)

    app = console(demo_backend(demo_home), demo_home)
    assert snap_compare(app, terminal_size=(100, 30), run_before=ask)


def test_join_window_open_100x30(snap_compare: Any, demo_home: Path) -> None:
    backend = demo_backend(demo_home)

    async def open_window(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        pilot.app.screen.query_one("#window-minutes", Input).value = "5"
        pilot.app.screen.query_one("#window-joins", Input).value = "2"
        await pilot.click("#window-open")
        await settle(pilot)
        view = pilot.app.view
        backend.join(view.worker_token, "web-09", "127.0.4.92")
        pilot.app._poll_windows()
        await settle(pilot)

    app = console(backend, demo_home)
    assert snap_compare(app, terminal_size=(100, 30), run_before=open_window)


def test_unlock_pane_100x36(snap_compare: Any, demo_home: Path) -> None:
    backend = demo_backend(demo_home)
    snapshot = backend.inspect_swarm()
    spec = copy.deepcopy(snapshot.spec)
    spec.setdefault("EncryptionConfig", {})["AutoLockManagers"] = True
    backend.update_swarm(snapshot.version, spec)
    app = console(backend, demo_home)
    assert snap_compare(app, terminal_size=(100, 36), run_before=settle)


def test_ca_screen_100x30(snap_compare: Any, demo_home: Path) -> None:
    async def show(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)

    app = console(demo_backend(demo_home), demo_home)
    assert snap_compare(app, terminal_size=(100, 30), run_before=show)


def test_open_window_form_100x30(snap_compare: Any, demo_home: Path) -> None:
    async def ask(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)

    app = console(demo_backend(demo_home), demo_home)
    assert snap_compare(app, terminal_size=(100, 30), run_before=ask)


def test_open_manager_window_form_100x30(snap_compare: Any, demo_home: Path) -> None:
    async def ask(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("m", "o")
        await settle(pilot)

    app = console(demo_backend(demo_home), demo_home)
    assert snap_compare(app, terminal_size=(100, 30), run_before=ask)


def test_quit_with_window_100x30(snap_compare: Any, demo_home: Path) -> None:
    async def quit_with_window(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        await pilot.click("#window-open")
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)

    app = console(demo_backend(demo_home), demo_home)
    assert snap_compare(app, terminal_size=(100, 30), run_before=quit_with_window)


def test_due_windows_100x30(snap_compare: Any, demo_home: Path) -> None:
    from datetime import timedelta

    from tui_support import FIXED_NOW

    from swarmtui.models import Role
    from swarmtui.windows import JoinWindow, WindowStore

    backend = demo_backend(demo_home)
    view = TokenService(backend).read()
    opened = FIXED_NOW - timedelta(hours=2)
    WindowStore(demo_home / "windows.json").add(
        JoinWindow(
            role=Role.WORKER,
            opened_at=opened,
            until=opened + timedelta(minutes=15),
            max_joins=None,
            baseline_node_ids=frozenset(),
            cluster_id=view.cluster_id,
            endpoint=view.endpoint,
            token_fingerprint=view.worker_fingerprint,
            id="0a1b2c3d4e5f",
        )
    )
    app = console(backend, demo_home)
    assert snap_compare(app, terminal_size=(100, 30), run_before=settle)

"""SVG snapshots of the console on the seeded demo swarm, with a fixed clock.

Regenerate the baselines with ``pytest tests/test_tui_snapshots.py
--snapshot-update`` and look at the SVGs before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tui_support import demo_service, fixed_clock

from swarmtui.backends.engine import EngineBackend
from swarmtui.endpoint import EndpointChoice
from swarmtui.models import Role
from swarmtui.service import TokenService
from swarmtui.tui.app import SwarmConsole

MISSING_SOCKET = "unix:///tmp/swarmtui-snapshot-missing/docker.sock"


@pytest.fixture
def demo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME at tmp_path so the endpoint label reads demo:~/demo.toml."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def console(service: TokenService) -> SwarmConsole:
    return SwarmConsole(service=service, clock=fixed_clock, environment={})


async def settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_both_panes_100x30(snap_compare: Any, demo_home: Path) -> None:
    app = console(demo_service(demo_home))
    assert snap_compare(app, terminal_size=(100, 30), run_before=settle)


def test_both_panes_80x24(snap_compare: Any, demo_home: Path) -> None:
    app = console(demo_service(demo_home))
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_both_panes_60x20(snap_compare: Any, demo_home: Path) -> None:
    app = console(demo_service(demo_home))
    assert snap_compare(app, terminal_size=(60, 20), run_before=settle)


def test_worker_revealed_100x30(snap_compare: Any, demo_home: Path) -> None:
    app = console(demo_service(demo_home))

    async def reveal(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("w", "v")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=reveal)


def test_manager_confirmation_100x30(snap_compare: Any, demo_home: Path) -> None:
    app = console(demo_service(demo_home))

    async def ask(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("m", "r")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=ask)


def test_conflict_80x24(snap_compare: Any, demo_home: Path) -> None:
    app = console(demo_service(demo_home))

    async def conflict(pilot: Any) -> None:
        await settle(pilot)
        demo_service(demo_home).rotate([Role.WORKER])
        await pilot.press("w", "r")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=conflict)


def test_help_80x24(snap_compare: Any, demo_home: Path) -> None:
    app = console(demo_service(demo_home))

    async def help_screen(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=help_screen)


def test_engine_unreachable_100x30(snap_compare: Any) -> None:
    backend = EngineBackend(EndpointChoice(host=MISSING_SOCKET, environment={}))
    app = console(TokenService(backend))
    assert snap_compare(app, terminal_size=(100, 30), run_before=settle)

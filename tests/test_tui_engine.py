"""The console against a real dockerd: rotate from the console, check with the CLI."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from engine_fixtures import (
    CLI_TIMEOUT,
    Daemon,
    DaemonPool,
    clean_environment,
    docker_cli,
    join_token,
)
from textual.widgets import Static

from swarmtui.backends.engine import EngineBackend
from swarmtui.endpoint import EndpointChoice
from swarmtui.errors import SwarmLockedError
from swarmtui.models import Role
from swarmtui.service import TokenService
from swarmtui.tokens import mask_token
from swarmtui.tui.app import SwarmConsole
from swarmtui.tui.unlock import UnlockKeyPane
from swarmtui.unlock import mask_unlock_key

pytestmark = pytest.mark.engine


def engine_console(daemon: Daemon) -> SwarmConsole:
    backend = EngineBackend(EndpointChoice(host=daemon.host, environment={}))
    return SwarmConsole(service=TokenService(backend), environment={})


async def settle(app: SwarmConsole, pilot: Any) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


def command_text(app: SwarmConsole, role: Role) -> str:
    return str(app.query_one(f"#{role}-command", Static).content)


async def test_console_rotates_worker_on_engine(manager: Daemon) -> None:
    worker_before = join_token(manager, "worker")
    manager_before = join_token(manager, "manager")
    app = engine_console(manager)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.view is not None
        assert app.view.worker_token == worker_before
        assert manager.host in str(app.query_one("#header-endpoint", Static).content)
        await pilot.press("w", "r")
        await settle(app, pilot)
        worker_after = join_token(manager, "worker")
        assert worker_after != worker_before
        assert join_token(manager, "manager") == manager_before
        assert app.view.worker_token == worker_after
        assert mask_token(worker_after) in command_text(app, Role.WORKER)
        assert worker_after not in command_text(app, Role.WORKER)
    app.service.backend.close()  # type: ignore[union-attr]


async def test_console_notices_cli_rotation(manager: Daemon) -> None:
    app = engine_console(manager)
    notes: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        original = app.notify

        def notify(message: str, **kwargs: Any) -> None:
            notes.append(message)
            original(message, **kwargs)

        app.notify = notify  # type: ignore[method-assign]
        await settle(app, pilot)
        manager.docker("swarm", "join-token", "--rotate", "-q", "manager")
        rotated = join_token(manager, "manager")
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert any(
            "manager token was rotated outside this console" in note for note in notes
        )
        assert mask_token(rotated) in command_text(app, Role.MANAGER)
    app.service.backend.close()  # type: ignore[union-attr]


async def test_console_shows_engine_unlock_key(daemons: DaemonPool) -> None:
    swarm = daemons.swarm()
    swarm.docker("swarm", "update", "--autolock=true")
    key = swarm.docker("swarm", "unlock-key", "-q").stdout.strip()
    app = engine_console(swarm)
    async with app.run_test(size=(100, 36)) as pilot:
        await settle(app, pilot)
        await settle(app, pilot)
        pane = app.query_one(UnlockKeyPane)
        assert pane.display is True
        key_text = str(pane.query_one("#unlock-key", Static).content)
        assert key_text == mask_unlock_key(key)
        assert key not in key_text
    app.service.backend.close()  # type: ignore[union-attr]


async def test_locked_engine_keeps_unlock_key(daemons: DaemonPool) -> None:
    swarm = daemons.swarm()
    swarm.docker("swarm", "update", "--autolock=true")
    key = swarm.docker("swarm", "unlock-key", "-q").stdout.strip()
    app = engine_console(swarm)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await settle(app, pilot)
        pane = app.query_one(UnlockKeyPane)
        assert pane.display is True

        swarm.restart()
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert isinstance(app.error, SwarmLockedError)
        assert pane.display is True
        await pilot.press("u")
        await settle(app, pilot)
        assert str(pane.query_one("#unlock-key", Static).content) == key

        unlocked = subprocess.run(
            [docker_cli(), "-H", swarm.host, "swarm", "unlock"],
            input=f"{key}\n",
            capture_output=True,
            text=True,
            env=clean_environment(DOCKER_CONFIG=str(swarm.directory / "cli")),
            timeout=CLI_TIMEOUT,
        )
        assert unlocked.returncode == 0, unlocked.stderr
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        await settle(app, pilot)
        assert app.error is None
    app.service.backend.close()  # type: ignore[union-attr]


async def test_try_join_key_explains_on_engine(manager: Daemon) -> None:
    app = engine_console(manager)
    notes: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        original = app.notify

        def notify(message: str, **kwargs: Any) -> None:
            notes.append(message)
            original(message, **kwargs)

        app.notify = notify  # type: ignore[method-assign]
        await settle(app, pilot)
        await pilot.press("j")
        await pilot.pause()
        assert len(app.screen_stack) == 1
        assert any("only on the demo swarm" in note for note in notes)
        assert not app.can_try_join()
    app.service.backend.close()  # type: ignore[union-attr]

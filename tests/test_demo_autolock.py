"""`demo-autolock`: autolock on the demo swarm, from the CLI to the console."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static
from tui_support import fixed_clock

from swarmtui.backends.base import UpdateOutOfSequence
from swarmtui.backends.demo import DemoBackend
from swarmtui.cli import main
from swarmtui.errors import ExitCode
from swarmtui.service import TokenService
from swarmtui.tui.app import SwarmConsole
from swarmtui.tui.unlock import UnlockKeyPane
from swarmtui.unlock import mask_unlock_key


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    return tmp_path / "demo.toml"


def demo(state: Path, *arguments: str) -> list[str]:
    return ["--demo", "--demo-state", str(state), "--demo-seed", "3", *arguments]


def autolock(state: Path) -> bool:
    return DemoBackend(path=state).inspect_swarm().autolock


def test_autolock_on_then_off(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(demo(state, "demo-autolock", "on")) == ExitCode.OK
    turned_on = capsys.readouterr()
    assert autolock(state)
    key = DemoBackend(path=state).unlock_key()
    assert key.startswith("SWMKEY-1-")
    assert "is now on" in turned_on.out
    assert key not in turned_on.out + turned_on.err

    assert main(demo(state, "demo-autolock", "on")) == ExitCode.OK
    assert "already on" in capsys.readouterr().out
    assert DemoBackend(path=state).unlock_key() == key

    assert main(demo(state, "demo-autolock", "off")) == ExitCode.OK
    assert "is now off" in capsys.readouterr().out
    assert not autolock(state)


def test_autolock_keeps_other_settings(state: Path) -> None:
    before = DemoBackend(path=state, seed=3).inspect_swarm()

    assert main(demo(state, "demo-autolock", "on")) == ExitCode.OK

    after = DemoBackend(path=state).inspect_swarm()
    assert after.version > before.version
    assert after.spec["EncryptionConfig"] == {"AutoLockManagers": True}
    unchanged = dict(after.spec)
    unchanged["EncryptionConfig"] = before.spec["EncryptionConfig"]
    assert unchanged == before.spec
    assert after.worker_token == before.worker_token
    assert after.manager_token == before.manager_token


def test_autolock_needs_demo(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["-H", "unix:///nonexistent/d.sock", "demo-autolock", "on"])

    stderr = capsys.readouterr().err
    assert status == ExitCode.FAILURE
    assert "Only the demo swarm" in stderr
    assert "docker swarm update --autolock=true" in stderr


def test_autolock_conflict_leaves_swarm(
    state: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = DemoBackend(path=state, seed=3).inspect_swarm()
    attempts = []

    def stale(self: DemoBackend, version: int, spec: object, **flags: bool) -> None:
        attempts.append(version)
        raise UpdateOutOfSequence("update out of sequence")

    monkeypatch.setattr(DemoBackend, "update_swarm", stale)

    status = main(demo(state, "demo-autolock", "on"))

    assert status == ExitCode.CONFLICT
    assert len(attempts) == 3
    assert "Run 'demo-autolock on' again" in capsys.readouterr().err
    assert DemoBackend(path=state).inspect_swarm().version == before.version


async def test_console_shows_unlock_pane_after_cli(state: Path) -> None:
    assert main(demo(state, "demo-autolock", "on")) == ExitCode.OK
    backend = DemoBackend(path=state)
    app = SwarmConsole(service=TokenService(backend), clock=fixed_clock, environment={})
    async with app.run_test(size=(100, 36)) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        panes = [pane for pane in app.query(UnlockKeyPane) if pane.display]
        assert len(panes) == 1
        key_text = str(panes[0].query_one("#unlock-key", Static).content)
        assert key_text == mask_unlock_key(backend.unlock_key())

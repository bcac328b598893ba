"""Backends and helpers for the console tests: a seeded demo swarm and fakes."""

from __future__ import annotations

import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swarmtui.backends.demo import DemoBackend
from swarmtui.errors import SwarmTuiError
from swarmtui.models import EngineInfo, NodeInfo, SwarmSnapshot
from swarmtui.service import TokenService

if TYPE_CHECKING:
    from swarmtui.tui.app import SwarmConsole

FIXED_NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SEED = 7


def fixed_clock() -> datetime:
    return FIXED_NOW


class RecordingAudit:
    """An audit sink that keeps every event in memory."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def record(self, action: str, **fields: Any) -> None:
        self.events.append((action, fields))

    def actions(self) -> list[str]:
        return [action for action, _ in self.events]


def demo_backend(tmp_path: Path, seed: int = SEED) -> DemoBackend:
    return DemoBackend(path=tmp_path / "demo.toml", seed=seed, now=fixed_clock)


def demo_service(tmp_path: Path, audit: RecordingAudit | None = None) -> TokenService:
    return TokenService(demo_backend(tmp_path), audit=audit)


class DelegatingBackend:
    """A backend that forwards to another one; subclasses change one call."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def endpoint(self) -> str:
        return str(self.inner.endpoint)

    @property
    def timeout(self) -> float:
        return float(self.inner.timeout)

    @property
    def unlock_command(self) -> str:
        return str(self.inner.unlock_command)

    @property
    def docker_cli(self) -> str:
        return str(self.inner.docker_cli)

    def engine_info(self) -> EngineInfo:
        return self.inner.engine_info()  # type: ignore[no-any-return]

    def inspect_swarm(self) -> SwarmSnapshot:
        return self.inner.inspect_swarm()  # type: ignore[no-any-return]

    def inspect_node(self, node_id: str) -> NodeInfo:
        return self.inner.inspect_node(node_id)  # type: ignore[no-any-return]

    def list_nodes(self) -> list[NodeInfo]:
        return self.inner.list_nodes()  # type: ignore[no-any-return]

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.inner.update_swarm(version, spec, **flags)

    def unlock_key(self) -> str:
        return self.inner.unlock_key()  # type: ignore[no-any-return]

    def close(self) -> None:
        self.inner.close()


class FailingBackend(DelegatingBackend):
    """Raises `error` from engine_info while it is set; reads work once cleared."""

    def __init__(self, inner: Any, error: SwarmTuiError | None) -> None:
        super().__init__(inner)
        self.error = error
        self.calls = 0

    def engine_info(self) -> EngineInfo:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return super().engine_info()


class HangingBackend(DelegatingBackend):
    """Blocks in engine_info until `release` is set, like an engine that hangs."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.release = threading.Event()
        self.entered = threading.Event()

    def engine_info(self) -> EngineInfo:
        self.entered.set()
        self.release.wait(timeout=60)
        return super().engine_info()


class HangingUpdateBackend(DelegatingBackend):
    """Blocks in update_swarm until `release` is set, like a stalled rotation."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.release = threading.Event()
        self.entered = threading.Event()

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.entered.set()
        self.release.wait(timeout=60)
        super().update_swarm(version, spec, **flags)


def capture_notifications(app: SwarmConsole) -> list[str]:
    """Return the list that each notification of `app` is appended to, as shown."""
    messages: list[str] = []
    original = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        messages.append(message)
        original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return messages


def fake_tmux(folder: Path, reply: str) -> Path:
    """Write a tmux that prints `reply` and stores its arguments."""
    folder.mkdir(exist_ok=True)
    script = folder / "tmux"
    script.write_text(
        f'#!/bin/sh\necho "$@" > "{folder}/tmux.args"\nprintf "%s\\n" \'{reply}\'\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script

"""Docker commands in the service's hints carry the options that reach the engine."""

from __future__ import annotations

import argparse
import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from tui_support import DelegatingBackend, demo_backend

from swarmtui.errors import (
    EngineError,
    RequestTimeoutError,
    RotationOutcomeUnknownError,
    UnsupportedError,
)
from swarmtui.models import EngineInfo, NodeInfo, SwarmSnapshot
from swarmtui.service import TokenService

DOCKER_CLI = "docker -H unix:///run/x.sock"


class EngineNamed(DelegatingBackend):
    """A demo swarm that names itself as an engine reached with -H."""

    @property
    def endpoint(self) -> str:
        return "unix:///run/x.sock"

    @property
    def docker_cli(self) -> str:
        return DOCKER_CLI


def with_autolock(backend: Any) -> Any:
    snapshot = backend.inspect_swarm()
    spec = copy.deepcopy(snapshot.spec)
    spec.setdefault("EncryptionConfig", {})["AutoLockManagers"] = True
    backend.update_swarm(snapshot.version, spec)
    return backend


class LostUnlockReply(EngineNamed):
    """Applies the next update, loses its reply, then fails key reads."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.lost = False

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        super().update_swarm(version, spec, **flags)
        self.lost = True
        raise RequestTimeoutError("The engine did not respond.", "Retry.")

    def unlock_key(self) -> str:
        if self.lost:
            raise RequestTimeoutError("The engine did not respond.", "Retry.")
        return str(self.inner.unlock_key())


class UnreadableAfterUpdate(EngineNamed):
    """Applies the next update, then fails every read of the swarm."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.updated = False

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        super().update_swarm(version, spec, **flags)
        self.updated = True

    def inspect_swarm(self) -> SwarmSnapshot:
        if self.updated:
            raise RequestTimeoutError("The engine did not respond.", "Retry.")
        return super().inspect_swarm()


class ErrorState(EngineNamed):
    def engine_info(self) -> EngineInfo:
        return dataclasses.replace(super().engine_info(), local_node_state="error")


class EmptyTokens(EngineNamed):
    def inspect_swarm(self) -> SwarmSnapshot:
        return dataclasses.replace(super().inspect_swarm(), worker_token="")


class NoManagerAddress(EngineNamed):
    def inspect_node(self, node_id: str) -> NodeInfo:
        return dataclasses.replace(super().inspect_node(node_id), manager_address="")


def test_unlock_rotation_without_autolock_hint(tmp_path: Path) -> None:
    service = TokenService(EngineNamed(demo_backend(tmp_path)))  # type: ignore[arg-type]

    with pytest.raises(UnsupportedError) as caught:
        service.rotate_unlock_key()

    assert f"'{DOCKER_CLI} swarm update --autolock=true'" in caught.value.hint


@pytest.mark.parametrize("backend_type", [LostUnlockReply, UnreadableAfterUpdate])
def test_unknown_unlock_rotation_hint(tmp_path: Path, backend_type: type) -> None:
    backend = backend_type(with_autolock(demo_backend(tmp_path)))
    service = TokenService(backend)

    with pytest.raises(RotationOutcomeUnknownError) as caught:
        service.rotate_unlock_key()

    assert f"('{DOCKER_CLI} swarm unlock-key -q'" in caught.value.hint


@pytest.mark.parametrize(
    ("backend_type", "command"),
    [
        (ErrorState, "info"),
        (EmptyTokens, "node ls"),
        (NoManagerAddress, "node inspect self"),
    ],
)
def test_engine_error_hint(tmp_path: Path, backend_type: type, command: str) -> None:
    service = TokenService(backend_type(demo_backend(tmp_path)))

    with pytest.raises(EngineError) as caught:
        service.read()

    assert f"'{DOCKER_CLI} {command}'" in caught.value.hint


class NodesUnlisted(EngineNamed):
    """Rotates, then fails to list the nodes."""

    def list_nodes(self) -> list[NodeInfo]:
        raise EngineError("The node list could not be read.", "Retry.")


def test_cli_leak_unlisted_nodes_names_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from swarmtui.cli import leak

    service = TokenService(NodesUnlisted(demo_backend(tmp_path)))
    args = argparse.Namespace(
        since="1h",
        yes=True,
        json=False,
        audit_file=None,
        demo=False,
        host=None,
        context=None,
        config=None,
    )

    code = leak.run(args, service)

    out = capsys.readouterr().out
    # The rotation took effect, and exit code 1 reports the missing node list.
    assert code == 1
    assert f"List them with '{DOCKER_CLI} node ls'." in out

"""Token rotation against a real dockerd, proven by nodes that try to join."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import (
    Daemon,
    DaemonPool,
    get_json,
    join,
    join_token,
    lease_address,
    post_json,
    run_swarmtui,
)

from swarmtui.audit import read_audit
from swarmtui.backends.engine import EngineBackend
from swarmtui.cli import main
from swarmtui.endpoint import EndpointChoice
from swarmtui.errors import ExitCode, NotInSwarmError, RotationConflictError
from swarmtui.models import EngineInfo, NodeInfo, Role, RotationResult, SwarmSnapshot
from swarmtui.service import TokenService

pytestmark = pytest.mark.engine

STALE_TOKEN_MESSAGE = "A valid join token is necessary"


def engine_backend(daemon: Daemon) -> EngineBackend:
    return EngineBackend(EndpointChoice(host=daemon.host, environment={}), timeout=30.0)


def test_worker_rotation_rejects_old_token(
    manager: Daemon, daemons: DaemonPool
) -> None:
    old_worker = join_token(manager, "worker")
    old_manager = join_token(manager, "manager")

    result = run_swarmtui("join-token", "--rotate", "worker", host=manager.host)

    assert result.returncode == 0, result.stderr
    new_worker = join_token(manager, "worker")
    assert new_worker != old_worker
    assert join_token(manager, "manager") == old_manager
    assert result.stdout.startswith("Rotated the worker join token")
    assert f"--token {new_worker} {manager.swarm_address}" in result.stdout
    assert old_worker not in result.stdout

    node = daemons.daemon()
    joined, stderr = join(node, manager, old_worker)
    assert not joined
    assert STALE_TOKEN_MESSAGE in stderr
    joined, stderr = join(node, manager, new_worker)
    assert joined, stderr


def test_manager_rotation_rejects_old_token(daemons: DaemonPool) -> None:
    first = daemons.swarm()
    old_manager = join_token(first, "manager")
    old_worker = join_token(first, "worker")

    result = run_swarmtui("join-token", "--rotate", "-q", "manager", host=first.host)

    assert result.returncode == 0, result.stderr
    new_manager = join_token(first, "manager")
    assert new_manager != old_manager
    assert join_token(first, "worker") == old_worker
    assert result.stdout == new_manager + "\n"
    assert "Rotated the manager join token" in result.stderr

    node = daemons.daemon()
    joined, stderr = join(node, first, old_manager)
    assert not joined
    assert STALE_TOKEN_MESSAGE in stderr
    joined, stderr = join(node, first, new_manager)
    assert joined, stderr
    roles = node.docker("info", "--format", "{{.Swarm.ControlAvailable}}")
    assert roles.stdout.strip() == "true"


def configure_non_default_swarm(daemon: Daemon) -> None:
    """Turn on autolock and change settings that an empty Spec would reset."""
    daemon.docker(
        "swarm",
        "update",
        "--autolock=true",
        "--task-history-limit",
        "7",
        "--cert-expiry",
        "100h0m0s",
        "--dispatcher-heartbeat",
        "9s",
    )
    swarm = get_json(daemon, "/v1.41/swarm")
    spec = copy.deepcopy(swarm["Spec"])
    spec["Labels"] = {"com.example.team": "platform"}
    version = swarm["Version"]["Index"]
    post_json(daemon, f"/v1.41/swarm/update?version={version}", spec)


def spec_and_unlock_key(daemon: Daemon) -> tuple[dict[str, Any], str, int]:
    swarm = get_json(daemon, "/v1.41/swarm")
    unlock = get_json(daemon, "/v1.41/swarm/unlockkey")["UnlockKey"]
    return swarm["Spec"], unlock, swarm["Version"]["Index"]


def test_rotation_keeps_non_default_spec(daemons: DaemonPool) -> None:
    swarm = daemons.swarm()
    configure_non_default_swarm(swarm)
    spec_before, unlock_before, version_before = spec_and_unlock_key(swarm)
    assert spec_before["EncryptionConfig"]["AutoLockManagers"] is True
    assert spec_before["Orchestration"]["TaskHistoryRetentionLimit"] == 7
    assert spec_before["Labels"] == {"com.example.team": "platform"}
    assert unlock_before.startswith("SWMKEY-1-")
    worker_before = join_token(swarm, "worker")
    manager_before = join_token(swarm, "manager")

    cli = run_swarmtui("join-token", "--rotate", "-q", "worker", host=swarm.host)
    assert cli.returncode == 0, cli.stderr
    service = TokenService(engine_backend(swarm))
    try:
        service.rotate([Role.WORKER, Role.MANAGER])
    finally:
        service.backend.close()

    spec_after, unlock_after, version_after = spec_and_unlock_key(swarm)
    assert json.dumps(spec_after, sort_keys=True) == json.dumps(
        spec_before, sort_keys=True
    )
    assert unlock_after == unlock_before
    assert version_after > version_before
    assert join_token(swarm, "worker") not in (worker_before, cli.stdout.strip())
    assert join_token(swarm, "manager") != manager_before


class ConcurrentChangeBackend(EngineBackend):
    """An engine backend that lets the docker CLI change the swarm right after
    the rotation has read it, as a second administrator would."""

    def __init__(self, daemon: Daemon, change: list[str]) -> None:
        super().__init__(EndpointChoice(host=daemon.host, environment={}), timeout=30.0)
        self.daemon = daemon
        self.change = change
        self.changes_made = 0
        self.updates_sent = 0

    def inspect_swarm(self) -> SwarmSnapshot:
        snapshot = super().inspect_swarm()
        if self.changes_made == 0:
            self.daemon.docker(*self.change)
            self.changes_made += 1
        return snapshot

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.updates_sent += 1
        super().update_swarm(version, spec, **flags)


def test_concurrent_change_raises_conflict(daemons: DaemonPool) -> None:
    swarm = daemons.swarm()
    worker_before = join_token(swarm, "worker")
    backend = ConcurrentChangeBackend(
        swarm, ["swarm", "update", "--task-history-limit", "11"]
    )
    service = TokenService(backend)

    with pytest.raises(RotationConflictError) as caught:
        service.rotate([Role.WORKER])
    backend.close()

    conflict = caught.value
    assert backend.updates_sent == 1
    assert conflict.fresh.worker_token == join_token(swarm, "worker")
    assert conflict.fresh.worker_token == worker_before
    assert conflict.fresh.spec["Orchestration"]["TaskHistoryRetentionLimit"] == 11
    assert any("Orchestration" in change for change in conflict.changes)
    assert worker_before not in str(conflict)


def test_concurrent_change_exits_with_conflict_code(
    daemons: DaemonPool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    swarm = daemons.swarm()
    worker_before = join_token(swarm, "worker")
    backend = ConcurrentChangeBackend(
        swarm, ["swarm", "update", "--dispatcher-heartbeat", "7s"]
    )
    monkeypatch.setattr("swarmtui.backends.make_backend", lambda **options: backend)

    status = main(["join-token", "--rotate", "worker"])

    captured = capsys.readouterr()
    assert status == ExitCode.CONFLICT
    assert captured.out == ""
    assert "changed by someone else" in captured.err
    assert join_token(swarm, "worker") == worker_before
    assert worker_before not in captured.err


class RecordingBackend(EngineBackend):
    """An engine backend that records the name of each call it makes."""

    def __init__(self, daemon: Daemon) -> None:
        super().__init__(EndpointChoice(host=daemon.host, environment={}), timeout=30.0)
        self.calls: list[str] = []

    def engine_info(self) -> EngineInfo:
        self.calls.append("engine_info")
        return super().engine_info()

    def inspect_swarm(self) -> SwarmSnapshot:
        self.calls.append("inspect_swarm")
        return super().inspect_swarm()

    def inspect_node(self, node_id: str) -> NodeInfo:
        self.calls.append("inspect_node")
        return super().inspect_node(node_id)

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.calls.append("update_swarm")
        super().update_swarm(version, spec, **flags)


def test_rotation_after_read_skips_node_calls(manager: Daemon) -> None:
    backend = RecordingBackend(manager)
    service = TokenService(backend)
    try:
        seen = service.read()
        backend.calls.clear()
        announced: list[RotationResult] = []
        result = service.rotate([Role.WORKER], expected=seen, announce=announced.append)
    finally:
        backend.close()

    assert announced == [result]
    assert backend.calls == ["inspect_swarm", "update_swarm", "inspect_swarm"]
    assert result.after.worker_token == join_token(manager, "worker")
    assert result.after.worker_token != seen.worker_token
    assert result.after.manager_token == seen.manager_token
    assert result.after.join_address == seen.join_address
    assert result.after.node_id == seen.node_id


def test_rotation_after_leaving_swarm_explains(daemons: DaemonPool) -> None:
    swarm = daemons.swarm()
    backend = RecordingBackend(swarm)
    service = TokenService(backend)
    try:
        seen = service.read()
        swarm.docker("swarm", "leave", "--force")
        backend.calls.clear()
        with pytest.raises(NotInSwarmError) as caught:
            service.rotate([Role.WORKER], expected=seen)
        backend.calls.append("-- second attempt")
        with pytest.raises(NotInSwarmError):
            service.rotate([Role.WORKER], expected=seen)
    finally:
        backend.close()

    assert backend.calls == [
        "inspect_swarm",
        "engine_info",
        "-- second attempt",
        "engine_info",
    ]
    assert "not part of a swarm" in str(caught.value)
    assert f"create a swarm with 'docker -H {swarm.host} swarm init'" in (
        caught.value.hint
    )


def test_new_swarm_conflict_reports_fresh_node(daemons: DaemonPool) -> None:
    swarm = daemons.swarm()
    backend = RecordingBackend(swarm)
    service = TokenService(backend)
    lease = lease_address()
    try:
        seen = service.read()
        swarm.docker("swarm", "leave", "--force")
        new_address = f"{lease.address}:{lease.port}"
        swarm.docker(
            "swarm",
            "init",
            "--advertise-addr",
            lease.address,
            "--listen-addr",
            new_address,
        )
        with pytest.raises(RotationConflictError) as caught:
            service.rotate([Role.WORKER], expected=seen)
        fresh = caught.value.fresh
        worker_now = join_token(swarm, "worker")
    finally:
        backend.close()
        lease.release()

    assert fresh.cluster_id != seen.cluster_id
    assert fresh.join_address == new_address
    assert fresh.node_id == swarm.node_id()
    assert fresh.node_id != seen.node_id
    assert fresh.worker_token == worker_now
    assert any(new_address in change for change in caught.value.changes)
    assert backend.calls.count("update_swarm") == 0


def test_rotation_without_quorum_is_unknown(
    daemons: DaemonPool, tmp_path: Path
) -> None:
    swarm = daemons.swarm()
    second = daemons.daemon()
    joined, errors = join(second, swarm, join_token(swarm, "manager"))
    assert joined, errors
    before = join_token(swarm, "worker")
    audit = tmp_path / "audit.jsonl"
    # Of two managers, one alone has no quorum, so the leader cannot commit
    # the update and the request times out.
    second.stop()

    result = run_swarmtui(
        "--timeout",
        "2",
        "join-token",
        "--rotate",
        "-q",
        "worker",
        host=swarm.host,
        environment={"SWARMTUI_AUDIT_FILE": str(audit)},
    )

    assert result.returncode == ExitCode.ENGINE_UNREACHABLE, result.stderr
    assert "rotation outcome unknown: Rotating the worker token timed out" in (
        result.stderr
    )
    assert "may still apply the update" in result.stderr
    assert result.stdout == ""
    assert [event["result"] for event in read_audit(audit).events] == ["unknown"]

    # Once quorum returns, the leader commits the update it still holds.
    second.restart()
    rotated = before
    for _ in range(120):
        rotated = join_token(swarm, "worker")
        if rotated and rotated != before:
            break
        time.sleep(0.5)
    assert rotated != before
    node = daemons.daemon()
    assert not join(node, swarm, before)[0]

"""Each engine failure reaches the user as a message on stderr and an exit code."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_fixtures import (
    Daemon,
    DaemonPool,
    assert_failure,
    get_json,
    join,
    join_token,
    run_swarmtui,
)

from swarmtui.backends.engine import EngineBackend
from swarmtui.endpoint import EndpointChoice
from swarmtui.errors import (
    ApiTooOldError,
    ExitCode,
    NotAManagerError,
    NotInSwarmError,
    SwarmLockedError,
)
from swarmtui.service import TokenService

pytestmark = pytest.mark.engine


def test_worker_node_names_managers(manager: Daemon, daemons: DaemonPool) -> None:
    node = daemons.daemon()
    joined, stderr = join(node, manager, join_token(manager, "worker"))
    assert joined, stderr

    result = run_swarmtui("join-token", "worker", host=node.host)

    assert_failure(result, ExitCode.NODE_STATE, "worker node", manager.swarm_address)

    # The engine's own error for a worker maps to the same exception.
    backend = EngineBackend(EndpointChoice(host=node.host, environment={}))
    try:
        with pytest.raises(NotAManagerError):
            backend.inspect_swarm()
    finally:
        backend.close()


def test_node_outside_swarm(daemons: DaemonPool) -> None:
    lone = daemons.daemon()

    result = run_swarmtui("join-token", "-q", "worker", host=lone.host)

    assert_failure(result, ExitCode.NODE_STATE, "not part of a swarm", lone.host)
    assert f"'docker -H {lone.host} swarm init'" in result.stderr
    assert f"'docker -H {lone.host} swarm join'" in result.stderr

    backend = EngineBackend(EndpointChoice(host=lone.host, environment={}))
    try:
        with pytest.raises(NotInSwarmError):
            backend.inspect_swarm()
    finally:
        backend.close()


def test_rotation_outside_swarm(daemons: DaemonPool) -> None:
    lone = daemons.daemon()

    result = run_swarmtui("join-token", "--rotate", "manager", host=lone.host)

    assert_failure(result, ExitCode.NODE_STATE, "not part of a swarm")


def test_missing_socket_is_unreachable(tmp_path: Path) -> None:
    host = f"unix://{tmp_path}/missing.sock"

    result = run_swarmtui("join-token", "worker", host=host)

    assert_failure(result, ExitCode.ENGINE_UNREACHABLE, "Cannot connect", host)


def test_socket_without_permission(manager: Daemon) -> None:
    socket_path = manager.socket_path
    status = os.stat(socket_path)
    directory_mode = os.stat(manager.directory).st_mode & 0o7777
    os.chmod(manager.directory, 0o711)
    os.chown(socket_path, 65534, 65534)
    os.chmod(socket_path, 0o600)
    try:
        result = run_swarmtui(
            "join-token", "worker", host=manager.host, without_file_override=True
        )
    finally:
        os.chown(socket_path, status.st_uid, status.st_gid)
        os.chmod(socket_path, status.st_mode & 0o7777)
        os.chmod(manager.directory, directory_mode)

    assert_failure(
        result, ExitCode.ENGINE_UNREACHABLE, "Permission denied", socket_path
    )


@pytest.fixture
def silent_socket() -> Iterator[str]:
    """A unix socket that accepts connections and never sends a byte."""
    directory = tempfile.mkdtemp(prefix="stuih", dir=tempfile.gettempdir())
    path = os.path.join(directory, "silent.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    try:
        yield f"unix://{path}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        server.close()
        shutil.rmtree(directory, ignore_errors=True)


def test_silent_endpoint_times_out(silent_socket: str) -> None:
    result = run_swarmtui(
        "--timeout", "2", "join-token", "worker", host=silent_socket, timeout=60
    )

    assert_failure(
        result, ExitCode.ENGINE_UNREACHABLE, "did not respond within 2 seconds"
    )


def test_locked_swarm(daemons: DaemonPool) -> None:
    swarm = daemons.swarm()
    swarm.docker("swarm", "update", "--autolock=true")
    unlock_key = swarm.docker("swarm", "unlock-key", "-q").stdout.strip()
    swarm.restart()

    result = run_swarmtui("join-token", "-q", "worker", host=swarm.host)
    assert_failure(result, ExitCode.NODE_STATE, "locked", "swarm unlock")
    command = f"docker -H {swarm.host} swarm unlock"
    assert f"Unlock it with '{command}' and the unlock key" in result.stderr

    # The engine returns the same error when the node check is skipped.
    backend = EngineBackend(EndpointChoice(host=swarm.host, environment={}))
    try:
        with pytest.raises(SwarmLockedError) as raised:
            backend.inspect_swarm()
        assert raised.value.hint.startswith(f"Unlock it with '{command}'")
        with pytest.raises(SwarmLockedError):
            TokenService(backend).rotate(["worker"])  # type: ignore[list-item]
    finally:
        backend.close()

    # The command that the message names unlocks this engine.
    unlocked = subprocess.run(
        shlex.split(command),
        input=unlock_key + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unlocked.returncode == 0, unlocked.stderr
    after = run_swarmtui("join-token", "-q", "worker", host=swarm.host)
    assert after.returncode == 0, after.stderr


def test_api_too_old_message(manager: Daemon) -> None:
    import docker
    from docker.errors import APIError

    backend = EngineBackend(EndpointChoice(host=manager.host, environment={}))
    client = docker.APIClient(base_url=manager.host, version="1.24")
    try:
        response = client._get(client.base_url + "/v1.11/info")
        with pytest.raises(APIError) as caught:
            client._raise_for_status(response)
    finally:
        client.close()

    error = backend._translate(caught.value)

    assert isinstance(error, ApiTooOldError)
    assert error.exit_code == ExitCode.API_TOO_OLD
    assert "1.11" in str(error)
    assert error.message.endswith(".")
    assert "Update swarmtui and its docker package" in error.hint


def test_swarm_without_quorum(daemons: DaemonPool) -> None:
    first = daemons.swarm()
    second = daemons.daemon()
    joined, stderr = join(second, first, join_token(first, "manager"))
    assert joined, stderr
    second.stop()
    deadline = time.monotonic() + 120
    error = ""
    while "does not have a leader" not in error and time.monotonic() < deadline:
        time.sleep(1)
        error = get_json(first, "/v1.41/info")["Swarm"].get("Error", "")
    assert "does not have a leader" in error

    printed = run_swarmtui("join-token", "worker", host=first.host)
    rotated = run_swarmtui("join-token", "--rotate", "-q", "worker", host=first.host)

    assert_failure(printed, ExitCode.NODE_STATE, "no leader", first.host)
    assert_failure(rotated, ExitCode.NODE_STATE, "no leader")


def test_debug_line_per_engine_call(manager: Daemon) -> None:
    result = run_swarmtui("-vv", "join-token", "-q", "worker", host=manager.host)

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    lines = [line for line in result.stderr.splitlines() if "engine call" in line]
    assert any("GET /version: HTTP 200 after" in line for line in lines), lines
    assert any("/swarm: HTTP 200 after" in line for line in lines), lines
    assert all(line.endswith(" ms") for line in lines), lines
    assert token not in result.stderr

"""The CLI and the engine backend against a real dockerd reached over tcp://.

A unix socket and a tcp:// host go through different client code. So the
behaviours that the unix tests prove are proven here again on a daemon's
plain-HTTP listener: the tokens, the join line, a rotation that a second
daemon confirms, the node-state and connection errors, and the debug lines.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from engine_fixtures import (
    AddressLease,
    Daemon,
    DaemonPool,
    assert_failure,
    clean_environment,
    docker_cli,
    get_json,
    join,
    join_token,
    lease_address,
    run_swarmtui,
)

from swarmtui.backends.engine import EngineBackend
from swarmtui.endpoint import EndpointChoice
from swarmtui.errors import ExitCode, NotInSwarmError, RequestTimeoutError
from swarmtui.tokens import parse_token

pytestmark = pytest.mark.engine

STALE_TOKEN_MESSAGE = "A valid join token is necessary"
# The runs that pass -H set DOCKER_HOST to a socket that does not exist, so a
# run that ignored -H would fail.
UNUSED_SOCKET = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def swarmtui_over(host: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run `swarmtui -H HOST ARGUMENTS...` through the installed console script."""
    return run_swarmtui("-H", host, *arguments, environment=UNUSED_SOCKET, timeout=60)


def docker_token(daemon: Daemon, role: str) -> str:
    """Return `docker -H tcp://... swarm join-token -q ROLE`."""
    result = daemon.docker("swarm", "join-token", "-q", role, host=daemon.tcp_host)
    return result.stdout.strip()


def runnable_line(output: str) -> str:
    """Return the one line of `output` that is indented by four spaces."""
    lines = [line for line in output.splitlines() if line.startswith("    ")]
    assert len(lines) == 1, f"expected one indented line in: {output!r}"
    return lines[0].strip()


def engine_call_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "engine call" in line]


def tcp_backend(host: str, timeout: float = 30.0) -> EngineBackend:
    return EngineBackend(EndpointChoice(host=host, environment={}), timeout=timeout)


@pytest.fixture
def loopback_lease() -> Iterator[AddressLease]:
    """A loopback address of the test range, leased so that no test daemon uses it."""
    lease = lease_address()
    try:
        yield lease
    finally:
        lease.release()


@pytest.fixture
def closed_port(loopback_lease: AddressLease) -> Iterator[str]:
    """A tcp:// host whose port is bound but not listening, so connects fail.

    Holding the bound socket keeps any other process off the port, and the
    kernel rejects each connection attempt to it.
    """
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind((loopback_lease.address, 0))
    port = holder.getsockname()[1]
    try:
        yield f"tcp://{loopback_lease.address}:{port}"
    finally:
        holder.close()


@dataclass
class SilentListener:
    """A tcp:// host that accepts connections and never sends a byte."""

    host: str
    accepted: list[socket.socket] = field(default_factory=list)


@pytest.fixture
def silent_listener(loopback_lease: AddressLease) -> Iterator[SilentListener]:
    """Accept connections on the leased address until the test ends, sending nothing."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((loopback_lease.address, 0))
    server.listen(8)
    server.settimeout(0.2)
    listener = SilentListener(
        f"tcp://{loopback_lease.address}:{server.getsockname()[1]}"
    )
    stop = threading.Event()

    def accept_until_stopped() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            listener.accepted.append(connection)

    thread = threading.Thread(target=accept_until_stopped, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in listener.accepted:
            connection.close()
        server.close()


def pump(source: socket.socket, target: socket.socket) -> None:
    """Copy bytes from `source` to `target` until either end closes."""
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            target.sendall(chunk)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


@pytest.fixture
def default_port_relay(loopback_lease: AddressLease, manager: Daemon) -> Iterator[str]:
    """Relay port 2375 of the leased address to the manager's unix socket.

    Yield the tcp:// host of the leased address without a port.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((loopback_lease.address, 2375))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()
    opened: list[socket.socket] = []

    def accept_until_stopped() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(manager.socket_path)
            opened.extend((connection, upstream))
            for ends in ((connection, upstream), (upstream, connection)):
                threading.Thread(target=pump, args=ends, daemon=True).start()

    thread = threading.Thread(target=accept_until_stopped, daemon=True)
    thread.start()
    try:
        yield f"tcp://{loopback_lease.address}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in opened:
            connection.close()
        server.close()


# -- a swarm manager over tcp ----------------------------------------------


@pytest.mark.parametrize("role", ["worker", "manager"])
def test_quiet_token_over_tcp(
    manager: Daemon, manager_tcp_host: str, role: str
) -> None:
    expected = docker_token(manager, role)

    result = swarmtui_over(manager_tcp_host, "join-token", "-q", role)

    assert result.returncode == 0, result.stderr
    assert result.stdout == expected + "\n"
    assert result.stderr == ""
    assert expected == join_token(manager, role)


def test_docker_host_variable_over_tcp(manager: Daemon, manager_tcp_host: str) -> None:
    result = run_swarmtui("join-token", "-q", "worker", host=manager_tcp_host)

    assert result.returncode == 0, result.stderr
    assert result.stdout == docker_token(manager, "worker") + "\n"


def test_docker_context_over_tcp(
    manager: Daemon, manager_tcp_host: str, tmp_path: Path
) -> None:
    config = tmp_path / "docker-config"
    created = subprocess.run(
        [
            docker_cli(),
            "context",
            "create",
            "swarm-tcp",
            "--docker",
            f"host={manager_tcp_host}",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=clean_environment(DOCKER_CONFIG=str(config)),
        timeout=60,
    )
    assert created.returncode == 0, created.stderr

    result = run_swarmtui(
        "-c",
        "swarm-tcp",
        "join-token",
        "-q",
        "manager",
        environment={"DOCKER_CONFIG": str(config)},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == docker_token(manager, "manager") + "\n"


def test_host_without_port_uses_2375(manager: Daemon, default_port_relay: str) -> None:
    expected = join_token(manager, "worker")

    from_flag = swarmtui_over(default_port_relay, "join-token", "-q", "worker")
    from_variable = run_swarmtui(
        "join-token", "-q", "worker", host=default_port_relay, timeout=60
    )

    assert from_flag.returncode == 0, from_flag.stderr
    assert from_flag.stdout == expected + "\n"
    assert from_variable.returncode == 0, from_variable.stderr
    assert from_variable.stdout == expected + "\n"


def test_join_line_over_tcp(manager: Daemon, manager_tcp_host: str) -> None:
    ours = swarmtui_over(manager_tcp_host, "join-token", "worker")
    theirs = manager.docker("swarm", "join-token", "worker", host=manager_tcp_host)

    assert ours.returncode == 0, ours.stderr
    line = runnable_line(ours.stdout)
    assert shlex.split(line) == shlex.split(runnable_line(theirs.stdout))
    assert line.endswith(" " + manager.swarm_address)
    assert f"--token {docker_token(manager, 'worker')} " in line
    assert ours.stdout.splitlines()[1] == ""


def test_backend_snapshot_over_tcp(manager: Daemon, manager_tcp_host: str) -> None:
    backend = tcp_backend(manager_tcp_host)
    try:
        snapshot = backend.inspect_swarm()
        endpoint = backend.endpoint
    finally:
        backend.close()
    swarm = get_json(manager, "/v1.41/swarm")

    assert endpoint == manager_tcp_host
    assert snapshot.worker_token == docker_token(manager, "worker")
    assert snapshot.manager_token == docker_token(manager, "manager")
    assert snapshot.version == swarm["Version"]["Index"]
    assert snapshot.spec == swarm["Spec"]
    assert snapshot.ca_pem == swarm["TLSInfo"]["TrustRoot"]


def test_debug_lines_over_tcp(manager: Daemon, manager_tcp_host: str) -> None:
    result = swarmtui_over(manager_tcp_host, "-vv", "join-token", "worker")

    assert result.returncode == 0, result.stderr
    lines = engine_call_lines(result.stderr)
    node_id = manager.node_id()
    assert any("GET /version: HTTP 200 after" in line for line in lines), lines
    assert any("GET /v1." in line and "/info: HTTP 200" in line for line in lines), (
        lines
    )
    assert any("/swarm: HTTP 200 after" in line for line in lines), lines
    assert any(f"/nodes/{node_id}: HTTP 200" in line for line in lines), lines
    assert all(line.endswith(" ms") for line in lines), lines
    assert docker_token(manager, "worker") in result.stdout
    assert docker_token(manager, "worker") not in result.stderr
    assert docker_token(manager, "manager") not in result.stderr
    assert "SWMTKN" not in result.stderr


# -- rotation, proven by a second daemon -----------------------------------


def test_worker_rotation_over_tcp(daemons: DaemonPool) -> None:
    first = daemons.swarm(tcp=True)
    before = get_json(first, "/v1.41/swarm")
    old_worker = docker_token(first, "worker")
    old_manager = docker_token(first, "manager")

    result = swarmtui_over(first.tcp_host, "-vv", "join-token", "--rotate", "worker")

    assert result.returncode == 0, result.stderr
    new_worker = docker_token(first, "worker")
    assert new_worker != old_worker
    assert docker_token(first, "manager") == old_manager
    assert parse_token(new_worker).digest == parse_token(old_worker).digest
    assert result.stdout.startswith("Rotated the worker join token")
    assert f"--token {new_worker} {first.swarm_address}" in result.stdout
    assert old_worker not in result.stdout

    lines = engine_call_lines(result.stderr)
    assert any("POST /v1." in line and "/swarm/update?" in line for line in lines)
    for token in (old_worker, new_worker, old_manager):
        assert token not in result.stderr
    assert "SWMTKN" not in result.stderr

    after = get_json(first, "/v1.41/swarm")
    assert json.dumps(after["Spec"], sort_keys=True) == json.dumps(
        before["Spec"], sort_keys=True
    )
    assert after["TLSInfo"] == before["TLSInfo"]
    assert after["Version"]["Index"] > before["Version"]["Index"]

    node = daemons.daemon()
    joined, stderr = join(node, first, old_worker)
    assert not joined
    assert STALE_TOKEN_MESSAGE in stderr
    joined, stderr = join(node, first, new_worker)
    assert joined, stderr
    control = node.docker("info", "--format", "{{.Swarm.ControlAvailable}}")
    assert control.stdout.strip() == "false"


# -- failures --------------------------------------------------------------


def test_node_outside_swarm_over_tcp(daemons: DaemonPool) -> None:
    lone = daemons.daemon(tcp=True)

    printed = swarmtui_over(lone.tcp_host, "join-token", "-q", "worker")
    rotated = swarmtui_over(lone.tcp_host, "join-token", "--rotate", "manager")

    assert_failure(printed, ExitCode.NODE_STATE, "not part of a swarm", lone.tcp_host)
    assert_failure(rotated, ExitCode.NODE_STATE, "not part of a swarm")

    backend = tcp_backend(lone.tcp_host)
    try:
        with pytest.raises(NotInSwarmError):
            backend.inspect_swarm()
    finally:
        backend.close()


def test_closed_port_is_unreachable(closed_port: str) -> None:
    result = swarmtui_over(closed_port, "join-token", "worker")

    assert_failure(result, ExitCode.ENGINE_UNREACHABLE, "Cannot connect", closed_port)


def test_silent_listener_times_out(silent_listener: SilentListener) -> None:
    host = silent_listener.host

    result = swarmtui_over(host, "--timeout", "2", "join-token", "worker")

    assert_failure(
        result, ExitCode.ENGINE_UNREACHABLE, "did not respond within 2 seconds", host
    )
    assert len(silent_listener.accepted) >= 1

    backend = tcp_backend(host, timeout=2.0)
    try:
        with pytest.raises(RequestTimeoutError, match="within 2 seconds"):
            backend.inspect_swarm()
    finally:
        backend.close()
    assert len(silent_listener.accepted) >= 2

"""Engine calls end within --timeout, and a wrong endpoint gets a plain message.

The servers here are fakes on unix sockets made by each test: they respond
slowly, with too much, or with something that is not the Docker Engine API.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from engine_fixtures import clean_environment, run_swarmtui, started_swarmtui
from fake_engine import (
    VERSION_BODY,
    Handler,
    answer_version_then,
    drip_forever,
    fake_server,
    http_response,
    read_head,
)

from swarmtui.backends.engine import MAX_RESPONSE_BYTES, EngineBackend
from swarmtui.endpoint import EndpointChoice
from swarmtui.errors import (
    ApiTooOldError,
    EngineError,
    ExitCode,
    RequestTimeoutError,
)


def backend_for(address: str, timeout: float) -> EngineBackend:
    return EngineBackend(EndpointChoice(host=address, environment={}), timeout=timeout)


def test_slow_drip_times_out_and_releases_socket() -> None:
    released = threading.Event()
    with fake_server(answer_version_then(drip_forever(released))) as address:
        backend = backend_for(address, timeout=1)
        with pytest.raises(RequestTimeoutError) as caught:
            backend.inspect_swarm()
        # The stuck connection is shut down, so the server's next send fails.
        assert released.wait(30)
        backend.close()

    assert "did not respond within 1 second." in caught.value.message


def test_slow_drip_cli_exits_with_timeout() -> None:
    released = threading.Event()
    with fake_server(answer_version_then(drip_forever(released))) as address:
        result = run_swarmtui("--timeout", "1", "join-token", "worker", host=address)

    assert result.returncode == ExitCode.ENGINE_UNREACHABLE, result.stderr
    assert "did not respond within 1 second." in result.stderr
    # A manager without quorum delays requests too.
    assert "managers have quorum" in result.stderr
    assert "Traceback" not in result.stderr


def test_slow_version_probe_times_out() -> None:
    released = threading.Event()
    with fake_server(drip_forever(released)) as address:
        backend = backend_for(address, timeout=1)
        with pytest.raises(RequestTimeoutError):
            backend.engine_info()
        assert released.wait(30)


def test_new_client_after_timeout() -> None:
    released = threading.Event()
    calls: list[int] = []

    def first_slow(connection: socket.socket, head: bytes) -> None:
        calls.append(1)
        if len(calls) == 1:
            drip_forever(released)(connection, head)
            return
        body = b'{"ID": "abc", "Version": {"Index": 7}, "Spec": {"Name": "default"}}'
        connection.sendall(http_response("200 OK", body, "application/json"))

    with fake_server(answer_version_then(first_slow)) as address:
        backend = backend_for(address, timeout=1)
        with pytest.raises(RequestTimeoutError):
            backend.inspect_swarm()
        snapshot = backend.inspect_swarm()
        backend.close()

    assert snapshot.cluster_id == "abc"
    assert snapshot.version == 7


def late_replies(delay: float) -> Handler:
    """Reply to each request on a connection `delay` seconds late, as a busy engine."""
    swarm = b'{"ID": "abc", "Version": {"Index": 7}, "Spec": {"Name": "default"}}'

    def handle(connection: socket.socket, head: bytes) -> None:
        while head:
            time.sleep(delay)
            body = VERSION_BODY if head.startswith(b"GET /version") else swarm
            connection.sendall(http_response("200 OK", body, "application/json"))
            head = read_head(connection)

    return handle


@pytest.mark.parametrize("tcp", [False, True], ids=["unix", "sdk-tcp"])
def test_version_check_own_deadline(tcp: bool) -> None:
    # Each reply comes within the timeout, but the version check and the
    # call together take longer than it.
    with fake_server(late_replies(1.3), tcp=tcp) as address:
        backend = backend_for(address, timeout=2)
        started = time.monotonic()
        snapshot = backend.inspect_swarm()
        elapsed = time.monotonic() - started
        backend.close()

    assert snapshot.version == 7
    assert elapsed > 2


def oversized_chunks(connection: socket.socket, head: bytes) -> None:
    connection.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"[" + b" " * (1024 * 1024 - 1)
    with contextlib.suppress(OSError):
        for _ in range(MAX_RESPONSE_BYTES // len(piece) + 8):
            connection.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        connection.sendall(b"0\r\n\r\n")


def huge_length(connection: socket.socket, head: bytes) -> None:
    connection.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2000000000\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        for _ in range(100):
            connection.sendall(b" " * 65536)


@pytest.mark.parametrize("handler", [oversized_chunks, huge_length])
def test_oversized_response_rejected(handler: Handler) -> None:
    with fake_server(answer_version_then(handler)) as address:
        backend = backend_for(address, timeout=60)
        with pytest.raises(EngineError) as caught:
            backend.inspect_swarm()
        backend.close()

    message = str(caught.value)
    assert "responded, but not as a Docker Engine API" in message
    assert "larger than 64 MiB" in message


def close_at_once(connection: socket.socket, head: bytes) -> None:
    connection.close()


def speak_ssh(connection: socket.socket, head: bytes) -> None:
    connection.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")


def bad_json(connection: socket.socket, head: bytes) -> None:
    body = b'{"ApiVersion": "1.41", "Version": oops}'
    connection.sendall(http_response("200 OK", body, "application/json"))


@pytest.mark.parametrize(
    ("handler", "verb", "detail"),
    [
        (
            close_at_once,
            "accepted the connection",
            "closed the connection without a response",
        ),
        (speak_ssh, "responded", "the response is not HTTP"),
        (bad_json, "responded", "the response body is not JSON"),
    ],
)
def test_not_an_engine_message(handler: Handler, verb: str, detail: str) -> None:
    with fake_server(handler) as address:
        result = run_swarmtui("--timeout", "20", "join-token", "worker", host=address)

    assert result.returncode == ExitCode.FAILURE, result.stderr
    assert f"The endpoint {address} {verb}, but not as a Docker Engine API" in (
        result.stderr
    )
    assert detail in result.stderr
    assert "Check that the address points at dockerd" in result.stderr
    assert "Cannot connect" not in result.stderr
    assert "Expecting" not in result.stderr
    assert "Traceback" not in result.stderr


def test_long_error_body_shortened() -> None:
    def long_error(connection: socket.socket, head: bytes) -> None:
        body = b'{"message": "' + b"x" * 100_000 + b'"}'
        connection.sendall(http_response("500 Internal Server Error", body))

    with fake_server(answer_version_then(long_error)) as address:
        backend = backend_for(address, timeout=20)
        with pytest.raises(EngineError) as caught:
            backend.inspect_swarm()
        backend.close()

    message = caught.value.message
    assert len(message) < 500
    assert message.endswith("x\u2026")


def test_too_new_api_says_upgrade_engine() -> None:
    def too_new(connection: socket.socket, head: bytes) -> None:
        body = (
            b'{"message": "client version 1.41 is too new. '
            b'Maximum supported API version is 1.23"}'
        )
        connection.sendall(http_response("400 Bad Request", body))

    with fake_server(answer_version_then(too_new)) as address:
        backend = backend_for(address, timeout=20)
        with pytest.raises(ApiTooOldError) as caught:
            backend.inspect_swarm()
        backend.close()

    assert caught.value.message.endswith("Maximum supported API version is 1.23.")
    assert caught.value.hint == "Upgrade Docker Engine on that host."


@pytest.fixture
def silent_tcp_listener() -> Iterator[tuple[str, int]]:
    """A loopback TCP port that accepts connections and never sends a byte."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.8.5", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        server.close()


def test_silent_ssh_host_times_out(silent_tcp_listener: tuple[str, int]) -> None:
    host, port = silent_tcp_listener
    result = run_swarmtui(
        "--timeout", "2", "-H", f"ssh://nobody@{host}:{port}", "join-token", "worker"
    )

    assert result.returncode == ExitCode.ENGINE_UNREACHABLE, result.stderr
    assert "did not respond within 2 seconds, so ssh had not logged in" in (
        result.stderr
    )
    assert "paramiko" not in result.stderr


def test_ssh_client_builds_on_install() -> None:
    from importlib.metadata import requires

    import docker

    # The docker SDK imports paramiko for ssh:// even when it shells out to ssh.
    client = docker.APIClient(
        base_url="ssh://nobody@127.0.8.5:1", version="1.41", use_ssh_client=True
    )
    client.close()
    required = [
        line.split(">")[0].split("=")[0].strip() for line in requires("swarmtui") or []
    ]

    assert client.base_url == "http+docker://ssh"
    assert "paramiko" in required


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_quit_signal_during_hung_read(signum: signal.Signals) -> None:
    released = threading.Event()
    requested = threading.Event()
    drip = drip_forever(released)

    def handle(connection: socket.socket, head: bytes) -> None:
        requested.set()
        drip(connection, head)

    with fake_server(answer_version_then(handle)) as address:
        arguments = ("--timeout", "30", "join-token", "-q", "worker")
        environment = clean_environment(DOCKER_HOST=address)
        with started_swarmtui(*arguments, environment=environment) as process:
            assert requested.wait(20)
            process.send_signal(signum)
            stdout, stderr = process.communicate(timeout=20)

    assert process.returncode == 128 + signum
    assert stdout == ""
    assert stderr == f"swarmtui: stopped by {signum.name}\n"

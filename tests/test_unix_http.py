"""The standard-library client for an engine on a unix socket.

Each test serves a fake engine on a unix socket of its own (fake_engine.py)
and checks what the client sends and how it reads the response.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_fixtures import Daemon, clean_environment
from fake_engine import (
    Handler,
    answer_version_then,
    drip_forever,
    fake_server,
    http_response,
    read_head,
)

from swarmtui.backends.engine import CALL_THREAD_NAME, EngineBackend
from swarmtui.backends.unix_http import (
    EngineHTTPError,
    ResponseTooLargeError,
    UnixSocketClient,
)
from swarmtui.endpoint import EndpointChoice


def client_for(address: str, **options: object) -> UnixSocketClient:
    settings: dict[str, object] = {"timeout": 5.0, "max_response_bytes": 4096}
    settings.update(options)
    return UnixSocketClient(
        address.removeprefix("unix://"),
        "1.41",
        **settings,  # type: ignore[arg-type]
    )


def json_answers(
    seen: list[bytes], *, close_after: int = 0, connections: list[int] | None = None
) -> Handler:
    """Return a handler that sends {"n": count} as JSON for each request.

    With `close_after`, the server closes each connection after that many
    responses, as an engine that restarts between calls does.
    """

    def handle(connection: socket.socket, head: bytes) -> None:
        if connections is not None:
            connections.append(1)
        answered = 0
        while head:
            seen.append(head)
            answered += 1
            body = json.dumps({"n": len(seen)}).encode()
            connection.sendall(http_response("200 OK", body, "application/json"))
            if close_after and answered >= close_after:
                return
            head = read_head(connection)

    return handle


def test_calls_keep_one_connection() -> None:
    seen: list[bytes] = []
    opened: list[int] = []
    with fake_server(json_answers(seen, connections=opened)) as address:
        client = client_for(address)
        client.info()
        client.inspect_node("node/1")
        client.version(api_version=False)
        client.close()

    request_lines = [head.split(b"\r\n", 1)[0] for head in seen]
    assert request_lines == [
        b"GET /v1.41/info HTTP/1.1",
        b"GET /v1.41/nodes/node%2F1 HTTP/1.1",
        b"GET /version HTTP/1.1",
    ]
    assert len(opened) == 1
    assert b"User-Agent: swarmtui/" in seen[0]


def test_idle_closed_connection_replaced() -> None:
    seen: list[bytes] = []
    opened: list[int] = []
    handler = json_answers(seen, close_after=1, connections=opened)
    with fake_server(handler) as address:
        client = client_for(address)
        first = client.inspect_swarm()
        # Let the server's close reach the idle connection before the next call.
        threading.Event().wait(0.2)
        second = client.inspect_swarm()
        client.close()

    assert (first, second) == ({"n": 1}, {"n": 2})
    assert len(opened) == 2


def test_update_sends_spec_and_flags() -> None:
    bodies: list[bytes] = []

    def handle(connection: socket.socket, head: bytes) -> None:
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        body = head.split(b"\r\n\r\n", 1)[1]
        while len(body) < length:
            body += connection.recv(4096)
        bodies.append(head.split(b"\r\n", 1)[0])
        bodies.append(body)
        connection.sendall(http_response("200 OK", b""))

    spec = {"Name": "default", "Labels": {"a": "b"}, "CAConfig": {"NodeCertExpiry": 1}}
    with fake_server(handle) as address:
        client = client_for(address)
        client.update_swarm(version=42, swarm_spec=spec, rotate_worker_token=True)
        client.close()

    assert bodies[0] == (
        b"POST /v1.41/swarm/update?version=42&rotateWorkerToken=true"
        b"&rotateManagerToken=false HTTP/1.1"
    )
    assert json.loads(bodies[1]) == spec


def test_chunked_body_is_read() -> None:
    def handle(connection: socket.socket, head: bytes) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            b'5\r\n{"ID"\r\n7\r\n: "abc"\r\n1\r\n}\r\n0\r\n\r\n'
        )

    with fake_server(handle) as address:
        client = client_for(address)
        assert client.inspect_swarm() == {"ID": "abc"}
        client.close()


@pytest.mark.parametrize(
    ("body", "content_type", "explanation"),
    [
        (
            b'{"message": "This node is not a swarm manager."}',
            "application/json",
            "This node is not a swarm manager.",
        ),
        (b"page not found\n", "text/plain", "page not found"),
    ],
)
def test_error_status_has_engine_message(
    body: bytes, content_type: str, explanation: str
) -> None:
    def handle(connection: socket.socket, head: bytes) -> None:
        connection.sendall(http_response("503 Service Unavailable", body, content_type))

    with fake_server(handle) as address:
        client = client_for(address)
        with pytest.raises(EngineHTTPError) as caught:
            client.inspect_swarm()
        client.close()

    assert caught.value.status_code == 503
    assert caught.value.explanation == explanation


def chunked_body(size: int) -> Handler:
    def handle(connection: socket.socket, head: bytes) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n" % size
            + b" " * size
            + b"\r\n0\r\n\r\n"
        )

    return handle


def long_content(size: int) -> Handler:
    def handle(connection: socket.socket, head: bytes) -> None:
        connection.sendall(http_response("200 OK", b" " * size))

    return handle


@pytest.mark.parametrize("make", [chunked_body, long_content])
def test_body_over_limit_rejected(make: Callable[[int], Handler]) -> None:
    with fake_server(make(5000)) as address:
        client = client_for(address, max_response_bytes=4096)
        with pytest.raises(ResponseTooLargeError):
            client.info()
        client.close()


def endless_body(chunked: bool) -> Handler:
    """Return a handler that sends a body without end, until the client closes."""

    def handle(connection: socket.socket, head: bytes) -> None:
        framing = b"Transfer-Encoding: chunked" if chunked else b"Connection: close"
        connection.sendall(b"HTTP/1.1 200 OK\r\n" + framing + b"\r\n\r\n")
        piece = b" " * 65536
        if chunked:
            piece = b"10000\r\n" + piece + b"\r\n"
        while True:
            connection.sendall(piece)

    return handle


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "until-close"])
def test_endless_body_memory_bounded(chunked: bool) -> None:
    limit = 8 * 1024 * 1024
    with fake_server(endless_body(chunked)) as address:
        client = client_for(address, max_response_bytes=limit, timeout=20.0)
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError):
                client.info()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        client.close()

    # The body read so far, not a second copy of it or a buffer of the limit.
    assert peak < limit * 1.5


def test_body_at_limit_read() -> None:
    with fake_server(chunked_body(4096)) as address:
        client = client_for(address, max_response_bytes=4096)
        # 4096 spaces are an empty JSON document once stripped.
        assert client.info() is None
        client.close()


def test_threads_share_one_client() -> None:
    seen: list[bytes] = []
    opened: list[int] = []
    results: list[object] = []
    with fake_server(json_answers(seen, connections=opened)) as address:
        client = client_for(address)

        def call() -> None:
            for _ in range(20):
                results.append(client.nodes())

        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        client.close()

    assert len(results) == 80
    assert all(isinstance(result, dict) for result in results)
    assert len(seen) == 80
    assert 1 <= len(opened) <= 4


def test_each_request_reports_its_connection() -> None:
    seen: list[bytes] = []
    reported: list[object] = []
    with fake_server(json_answers(seen)) as address:
        client = client_for(address, on_connection=reported.append)
        client.info()
        client.inspect_swarm()
        client.close()

    assert len(reported) == 2
    assert reported[0] is reported[1]
    assert getattr(reported[0], "sock", "missing") is None


def test_deadline_ends_dripping_response() -> None:
    released = threading.Event()
    # One byte every 0.3 s keeps each read under the 5 s timeout, so only
    # the deadline ends the call.
    with fake_server(drip_forever(released)) as address:
        client = client_for(address, timeout=5.0)
        bounded = client.with_deadline(time.monotonic() + 1.0)
        with pytest.raises(TimeoutError):
            bounded.info()
        client.close()
        assert released.wait(30)


def test_passed_deadline_sends_nothing() -> None:
    seen: list[bytes] = []
    with fake_server(json_answers(seen)) as address:
        client = client_for(address)
        with pytest.raises(TimeoutError):
            client.with_deadline(time.monotonic() - 1.0).info()
        client.close()

    assert seen == []


def test_deadline_view_shares_connection() -> None:
    seen: list[bytes] = []
    opened: list[int] = []
    with fake_server(json_answers(seen, connections=opened)) as address:
        client = client_for(address)
        first = client.with_deadline(time.monotonic() + 5.0).info()
        second = client.info()
        client.close()

    assert first == {"n": 1}
    assert second == {"n": 2}
    assert len(opened) == 1


def test_timeout_restored_after_deadline() -> None:
    seen: list[bytes] = []

    def slow_second(connection: socket.socket, head: bytes) -> None:
        for delay in (0.0, 1.5):
            time.sleep(delay)
            seen.append(head)
            connection.sendall(http_response("200 OK", b"{}", "application/json"))
            head = read_head(connection)

    with fake_server(slow_second) as address:
        client = client_for(address, timeout=5.0)
        client.with_deadline(time.monotonic() + 1.0).info()
        # The same kept-alive connection, now under its own 5 s timeout.
        second = client.info()
        client.close()

    assert second == {}
    assert len(seen) == 2


def test_closed_client_keeps_no_connection() -> None:
    seen: list[bytes] = []
    with fake_server(json_answers(seen)) as address:
        client = client_for(address)
        view = client.with_deadline(time.monotonic() + 5.0)
        client.close()
        view.info()

    assert seen
    assert client._pool.idle == []


def test_engine_socket_call_in_caller_thread() -> None:
    threads_during_call: list[str] = []
    swarm = b'{"ID": "abc", "Version": {"Index": 7}, "Spec": {"Name": "default"}}'

    def answer(connection: socket.socket, head: bytes) -> None:
        threads_during_call.extend(thread.name for thread in threading.enumerate())
        connection.sendall(http_response("200 OK", swarm, "application/json"))

    with fake_server(answer_version_then(answer)) as address:
        choice = EndpointChoice(host=address, environment={})
        backend = EngineBackend(choice, timeout=5.0)
        snapshot = backend.inspect_swarm()
        backend.close()

    assert snapshot.cluster_id == "abc"
    assert threads_during_call
    assert CALL_THREAD_NAME not in threads_during_call


@pytest.mark.engine
def test_socket_join_token_skips_sdk(manager: Daemon) -> None:
    script = (
        "import sys\n"
        "from swarmtui.cli import main\n"
        "code = main(['join-token', '-q', 'worker'])\n"
        "loaded = sorted(name for name in sys.modules\n"
        "    if name.split('.')[0] in ('docker', 'requests', 'urllib3'))\n"
        "print(code, loaded, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=clean_environment(DOCKER_HOST=manager.host),
        stdin=subprocess.DEVNULL,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("SWMTKN-1-")
    assert result.stderr.strip() == "0 []"


def full_queue(path: str) -> tuple[socket.socket, list[socket.socket]]:
    """Listen on `path` and connect until its accept queue refuses more."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(0)
    fillers: list[socket.socket] = []
    for _ in range(8):
        filler = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        filler.settimeout(1)
        try:
            filler.connect(path)
        except BlockingIOError:
            filler.close()
            return server, fillers
        fillers.append(filler)
    raise AssertionError("the accept queue never filled")


def test_full_accept_queue_waited_out(tmp_path: Path) -> None:
    path = str(tmp_path / "busy.sock")
    server, fillers = full_queue(path)
    answered: list[bytes] = []

    def serve_later() -> None:
        threading.Event().wait(0.5)
        # The fillers are first in the queue; closed, they read as empty.
        for filler in fillers:
            filler.close()
        for _ in range(len(fillers) + 1):
            connection, _ = server.accept()
            head = read_head(connection)
            if head:
                answered.append(head)
                connection.sendall(http_response("200 OK", b'{"ID": "x"}'))

    thread = threading.Thread(target=serve_later, daemon=True)
    thread.start()
    client = UnixSocketClient(path, "1.41", timeout=10, max_response_bytes=4096)
    try:
        assert client.inspect_swarm() == {"ID": "x"}
    finally:
        client.close()
        for filler in fillers:
            filler.close()
        thread.join(10)
        server.close()

    assert len(answered) == 1


def test_full_accept_queue_times_out(tmp_path: Path) -> None:
    path = str(tmp_path / "stuck.sock")
    server, fillers = full_queue(path)
    client = UnixSocketClient(path, "1.41", timeout=0.5, max_response_bytes=4096)
    try:
        with pytest.raises(TimeoutError):
            client.inspect_swarm()
    finally:
        client.close()
        for filler in fillers:
            filler.close()
        server.close()

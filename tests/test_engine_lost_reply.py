"""A rotation whose reply never arrives, against a real engine.

A proxy on a unix socket passes each request to a real dockerd and sends
the reply back, except the reply to the swarm update, which it holds. The
engine has applied the update, so the rotation must be reported as done.
"""

from __future__ import annotations

import http.client
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_fixtures import (
    Daemon,
    _UnixConnection,
    clean_environment,
    join_token,
    run_swarmtui,
    started_swarmtui,
)
from fake_engine import fake_server, read_head

from swarmtui.audit import read_audit
from swarmtui.errors import ExitCode

pytestmark = pytest.mark.engine


def read_body(connection: socket.socket, head: bytes) -> tuple[bytes, bytes]:
    """Split a request into its head and its body, reading the rest of the body."""
    header, _, body = head.partition(b"\r\n\r\n")
    length = 0
    for line in header.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return header, body


def holding_proxy(
    daemon: Daemon, reply_withheld: threading.Event, *, then_close: bool
) -> object:
    """Return a handler that relays to `daemon` and withholds the reply to the update.

    With `then_close`, each request after the update gets its connection
    closed without a reply, as an engine that went away would.
    """

    def handle(connection: socket.socket, head: bytes) -> None:
        while head:
            if then_close and reply_withheld.is_set():
                return
            header, body = read_body(connection, head)
            request_line = header.split(b"\r\n", 1)[0].decode()
            method, target, _ = request_line.split(" ", 2)
            upstream = _UnixConnection(daemon.socket_path, 30)
            headers = {"Content-Type": "application/json"} if body else {}
            upstream.request(method, target, body=body or None, headers=headers)
            reply = upstream.getresponse()
            data = reply.read()
            upstream.close()
            if method == "POST" and "/swarm/update" in target:
                reply_withheld.set()
                # Keep the connection open and silent, as a hung engine would.
                threading.Event().wait(30)
                return
            status = f"HTTP/1.1 {reply.status} {http.client.responses[reply.status]}"
            connection.sendall(
                f"{status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n".encode()
                + data
            )
            head = read_head(connection)

    return handle


@pytest.fixture(params=[False, True], ids=["engine-stays", "engine-goes"])
def proxy(
    manager: Daemon, request: pytest.FixtureRequest
) -> Iterator[tuple[str, threading.Event, bool]]:
    reply_withheld = threading.Event()
    handler = holding_proxy(manager, reply_withheld, then_close=request.param)
    with fake_server(handler) as address:  # type: ignore[arg-type]
        yield address, reply_withheld, request.param


def test_lost_update_reply(
    manager: Daemon, proxy: tuple[str, threading.Event, bool]
) -> None:
    address, reply_withheld, engine_goes = proxy
    before = join_token(manager, "worker")

    result = run_swarmtui(
        "--timeout", "3", "join-token", "--rotate", "-q", "worker", host=address
    )

    after = join_token(manager, "worker")
    assert reply_withheld.is_set()
    assert after != before
    assert before not in result.stderr + result.stdout
    assert after not in result.stderr
    if engine_goes:
        assert result.returncode == ExitCode.ENGINE_UNREACHABLE
        assert result.stdout == ""
        assert "rotation outcome unknown" in result.stderr
        assert "whether the token changed is unknown" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout == after + "\n"
        assert result.stderr.startswith("Rotated the worker join token")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_quit_signal_after_update_sent(
    manager: Daemon, tmp_path: Path, signum: signal.Signals
) -> None:
    reply_withheld = threading.Event()
    handler = holding_proxy(manager, reply_withheld, then_close=False)
    audit_file = tmp_path / "audit.jsonl"
    before = join_token(manager, "worker")

    with fake_server(handler) as address:  # type: ignore[arg-type]
        environment = clean_environment(
            DOCKER_HOST=address, SWARMTUI_AUDIT_FILE=str(audit_file)
        )
        arguments = ("--timeout", "20", "join-token", "--rotate", "worker")
        with started_swarmtui(*arguments, environment=environment) as process:
            # The engine has applied the update, and the proxy withholds its reply.
            assert reply_withheld.wait(20)
            process.send_signal(signum)
            stdout, stderr = process.communicate(timeout=20)

    after = join_token(manager, "worker")
    assert after != before
    assert process.returncode == 128 + signum
    assert stdout == ""
    assert f"stopped by {signum.name} during a rotation" in stderr
    assert "may have applied" in stderr
    assert "SWMTKN" not in stderr
    events = read_audit(audit_file).events
    assert [event["action"] for event in events] == ["rotate"]
    assert events[0]["result"] == "unknown"
    assert events[0]["error"] == "Interrupted"
    assert "SWMTKN" not in audit_file.read_text()

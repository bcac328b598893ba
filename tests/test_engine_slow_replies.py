"""A real engine whose every reply comes late, but within --timeout.

A relay passes each request to a real dockerd after a delay, on a unix
socket (swarmtui's own http.client) and on a loopback TCP port (the docker
SDK). The version check and the first call each get the whole timeout.
"""

from __future__ import annotations

import http.client
import socket
import time

import pytest
from engine_fixtures import Daemon, _UnixConnection, join_token, run_swarmtui
from fake_engine import Handler, fake_server, read_head

from swarmtui.errors import ExitCode

pytestmark = pytest.mark.engine

DELAY_SECONDS = 2.0
TIMEOUT_SECONDS = "3"


def late_relay(daemon: Daemon, delay: float) -> Handler:
    """Relay each GET request to `daemon` and send its reply `delay` seconds late."""

    def handle(connection: socket.socket, head: bytes) -> None:
        while head:
            request_line = head.split(b"\r\n", 1)[0].decode()
            method, target, _ = request_line.split(" ", 2)
            # join-token sends only GET requests, which have no body.
            assert method == "GET", request_line
            time.sleep(delay)
            upstream = _UnixConnection(daemon.socket_path, 30)
            upstream.request(method, target)
            reply = upstream.getresponse()
            data = reply.read()
            upstream.close()
            status = f"HTTP/1.1 {reply.status} {http.client.responses[reply.status]}"
            connection.sendall(
                f"{status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n".encode()
                + data
            )
            head = read_head(connection)

    return handle


@pytest.mark.parametrize("tcp", [False, True], ids=["unix", "sdk-tcp"])
def test_late_replies_within_timeout(manager: Daemon, tcp: bool) -> None:
    expected = join_token(manager, "worker")

    with fake_server(late_relay(manager, DELAY_SECONDS), tcp=tcp) as address:
        result = run_swarmtui(
            "--timeout", TIMEOUT_SECONDS, "join-token", "-q", "worker", host=address
        )

    assert result.returncode == ExitCode.OK, result.stderr
    assert result.stdout == expected + "\n"

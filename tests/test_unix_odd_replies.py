"""Replies from a unix-socket endpoint that must not be misread.

Each test serves one reply on a fake unix socket and checks how the client
or EngineBackend reads it.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from fake_engine import answer_version_then, fake_server, http_response

from swarmtui.backends.engine import EngineBackend
from swarmtui.endpoint import EndpointChoice
from swarmtui.errors import (
    ApiTooOldError,
    EngineError,
    EngineUnreachableError,
    ExitCode,
    ManagerNotReadyError,
    SwarmTuiError,
)

NGINX_400 = (
    b"<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n"
    b"<center><h1>400 Bad Request</h1></center>\r\n"
    b"<hr><center>nginx version 1.18.0</center>\r\n</body>\r\n</html>\r\n"
)


def head_then_close(connection: socket.socket, head: bytes) -> None:
    """Send headers for an 80-byte body, then close the connection without the body."""
    connection.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: 80\r\n\r\n"
    )


def html_bad_request(connection: socket.socket, head: bytes) -> None:
    connection.sendall(http_response("400 Bad Request", NGINX_400, "text/html"))


def deeply_nested_json(connection: socket.socket, head: bytes) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    connection.sendall(http_response("200 OK", body, "application/json"))


def close_at_once(connection: socket.socket, head: bytes) -> None:
    """Close the connection without a response, as an engine that crashes does."""


def test_engine_closing_mid_call_unreachable() -> None:
    with fake_server(answer_version_then(close_at_once)) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(EngineUnreachableError) as caught:
            backend.engine_info()
        backend.close()

    assert "closed the connection without a response" in caught.value.message
    assert "may have stopped or restarted" in caught.value.message
    assert "not as a Docker Engine API" not in caught.value.message


def test_endpoint_closing_at_once_not_engine() -> None:
    with fake_server(close_at_once) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(SwarmTuiError) as caught:
            backend.engine_info()
        backend.close()

    assert not isinstance(caught.value, EngineUnreachableError)
    assert "not as a Docker Engine API" in caught.value.message


def test_body_cut_short_after_version_unreachable() -> None:
    with fake_server(answer_version_then(head_then_close)) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(EngineUnreachableError) as caught:
            backend.unlock_key()
        backend.close()

    assert "closed the connection in the middle of a response" in str(caught.value)
    assert "may have stopped or restarted" in str(caught.value)


def test_version_body_cut_short_not_engine() -> None:
    with fake_server(head_then_close) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(SwarmTuiError) as caught:
            backend.unlock_key()
        backend.close()

    assert not isinstance(caught.value, EngineUnreachableError)
    assert "the response body ended before its stated length" in str(caught.value)


def test_html_400_not_api_too_old() -> None:
    with fake_server(answer_version_then(html_bad_request)) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(SwarmTuiError) as caught:
            backend.engine_info()
        backend.close()

    assert not isinstance(caught.value, ApiTooOldError)
    assert "not as a Docker Engine API: HTTP 400 with an HTML page" in str(caught.value)
    assert "\r" not in caught.value.message
    assert "nginx" not in caught.value.message


def invalid_length(connection: socket.socket, head: bytes) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}")


def text_error(connection: socket.socket, head: bytes) -> None:
    body = b"page not found\r\nsecond line\r\n"
    connection.sendall(http_response("404 Not Found", body, "text/plain"))


def test_invalid_length_not_http() -> None:
    with fake_server(answer_version_then(invalid_length)) as address:
        backend = EngineBackend(
            EndpointChoice(host=address, environment={}), timeout=30
        )
        with pytest.raises(EngineError) as caught:
            backend.inspect_swarm()
        backend.close()

    assert "the response is not HTTP" in str(caught.value)


def many_headers(connection: socket.socket, head: bytes) -> None:
    lines = b"".join(b"X-Filler-%d: x\r\n" % number for number in range(200))
    connection.sendall(b"HTTP/1.1 200 OK\r\n" + lines + b"\r\n{}")


def long_header(connection: socket.socket, head: bytes) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nX-Filler: " + b"x" * 70000 + b"\r\n\r\n")


@pytest.mark.parametrize("reply", [many_headers, long_header], ids=["many", "long"])
def test_oversized_headers_named(reply: Any) -> None:
    with fake_server(answer_version_then(reply)) as address:
        backend = EngineBackend(
            EndpointChoice(host=address, environment={}), timeout=30
        )
        with pytest.raises(EngineError) as caught:
            backend.inspect_swarm()
        backend.close()

    assert "the response headers are too long" in str(caught.value)


def test_text_error_on_one_line() -> None:
    with fake_server(answer_version_then(text_error)) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(EngineError) as caught:
            backend.inspect_swarm()
        backend.close()

    assert caught.value.message.endswith("(404): page not found second line.")


def test_deep_json_named_not_json() -> None:
    with fake_server(deeply_nested_json) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(EngineError) as caught:
            backend.engine_info()
        backend.close()

    assert "recursion" not in str(caught.value)
    assert "not as a Docker Engine API" in str(caught.value)


CONTROL_SOCKET_GONE = (
    b'{"message":"rpc error: code = Unavailable desc = connection error: desc = '
    b'\\"transport: Error while dialing dial unix '
    b'/var/run/docker/swarm/control.sock: connect: no such file or directory\\""}'
)


def control_socket_gone(connection: socket.socket, head: bytes) -> None:
    """Send the 503 reply that dockerd 20.10 sent right after its node was demoted."""
    connection.sendall(
        http_response(
            "503 Service Unavailable", CONTROL_SOCKET_GONE, "application/json"
        )
    )


def test_unavailable_manager_not_ready() -> None:
    with fake_server(answer_version_then(control_socket_gone)) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(ManagerNotReadyError) as caught:
            backend.inspect_swarm()
        backend.close()

    assert caught.value.exit_code == ExitCode.NODE_STATE
    assert "is not available right now" in caught.value.message
    assert "code = Unavailable" in caught.value.message
    assert "Wait a few seconds and retry" in caught.value.hint


def reply_with(status: str, body: bytes) -> Any:
    """Return a handler that sends `status` with `body` as a JSON reply."""

    def handle(connection: socket.socket, head: bytes) -> None:
        connection.sendall(http_response(status, body, "application/json"))

    return handle


@pytest.mark.parametrize(
    "body", [b"", b"  \r\n", b'{"message": ""}'], ids=["empty", "spaces", "json"]
)
def test_error_without_message_named(body: bytes) -> None:
    handler = reply_with("500 Internal Server Error", body)
    with fake_server(answer_version_then(handler)) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(EngineError) as caught:
            backend.inspect_swarm()
        backend.close()

    assert caught.value.message == (
        f"The engine at {address} returned an error (500) with no message."
    )


def test_error_message_ends_sentence() -> None:
    handler = reply_with("403 Forbidden", b'{"message": "denied"}')
    with fake_server(answer_version_then(handler)) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(EngineError) as caught:
            backend.inspect_swarm()
        backend.close()

    assert caught.value.message == (
        f"The engine at {address} returned an error (403): denied."
    )


def test_unavailable_without_message_named() -> None:
    handler = reply_with("503 Service Unavailable", b"")
    with fake_server(answer_version_then(handler)) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(ManagerNotReadyError) as caught:
            backend.inspect_swarm()
        backend.close()

    assert caught.value.message == (
        f"The swarm manager at {address} is not available right now (503)."
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"message": "rpc error: code = Unknown desc = raft: failed to process '
        b'the request: node lost leader status"}',
        b'{"message": "rpc error: code = DeadlineExceeded desc = context deadline '
        b'exceeded"}',
    ],
    ids=["lost-leader", "deadline"],
)
def test_quorum_loss_update_may_apply(body: bytes) -> None:
    # dockerd 20.10 sent these once its managers had lost quorum; Raft may
    # still commit the update once quorum returns.
    handler = reply_with("500 Internal Server Error", body)
    with fake_server(answer_version_then(handler)) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(ManagerNotReadyError) as caught:
            backend.inspect_swarm()
        backend.close()

    assert caught.value.update_may_apply
    assert "they may have lost quorum" in caught.value.message


def test_plain_engine_error_update_failed() -> None:
    handler = reply_with("500 Internal Server Error", b'{"message": "boom"}')
    with fake_server(answer_version_then(handler)) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(EngineError) as caught:
            backend.inspect_swarm()
        backend.close()

    assert not caught.value.update_may_apply

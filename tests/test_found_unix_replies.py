"""Replies from a unix-socket endpoint that the standard-library client misreads.

Each test serves one reply on a fake unix socket and checks how the client
or EngineBackend reads it.
"""

from __future__ import annotations

import socket

import pytest
from fake_engine import answer_version_then, fake_server, http_response

from swarmtui.backends.engine import EngineBackend
from swarmtui.endpoint import EndpointChoice
from swarmtui.errors import ApiTooOldError, EngineError, SwarmTuiError

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


@pytest.mark.xfail(
    strict=True,
    reason="http.client's read(amount) returns a body cut short without "
    "IncompleteRead, so an empty unlock key is returned as if autolock were off",
)
def test_body_cut_short_raises() -> None:
    with fake_server(answer_version_then(head_then_close)) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(SwarmTuiError):
            backend.unlock_key()
        backend.close()


@pytest.mark.xfail(
    strict=True,
    reason="any 400 whose body contains 'version' is reported as API too old, "
    "with advice to upgrade the docker Python package",
)
def test_html_400_not_api_too_old() -> None:
    with fake_server(answer_version_then(html_bad_request)) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(SwarmTuiError) as caught:
            backend.engine_info()
        backend.close()

    assert not isinstance(caught.value, ApiTooOldError)


@pytest.mark.xfail(
    strict=True,
    reason="json's RecursionError reaches the user as "
    "'maximum recursion depth exceeded while decoding a JSON array'",
)
def test_deep_json_named_not_json() -> None:
    with fake_server(deeply_nested_json) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        with pytest.raises(EngineError) as caught:
            backend.engine_info()
        backend.close()

    assert "recursion" not in str(caught.value)
    assert "not as a Docker Engine API" in str(caught.value)

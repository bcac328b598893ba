"""API version checks, against a small HTTP server that plays an old engine.

The server listens on a unix socket and returns a chosen API version for
`GET /version`, as an engine older than swarm mode would.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socketserver
import tempfile
import threading
from collections.abc import Callable, Iterator

import pytest
from engine_fixtures import run_swarmtui

from swarmtui.errors import ExitCode


class _VersionHandler(http.server.BaseHTTPRequestHandler):
    # None leaves ApiVersion out of the reply.
    api_version: str | None = "1.41"
    requests_seen: list[str]

    def do_GET(self) -> None:
        self.requests_seen.append(self.path)
        if self.path.rstrip("/").endswith("/version"):
            reply = {"Version": "1.11.2"}
            if self.api_version is not None:
                reply["ApiVersion"] = self.api_version
            body = json.dumps(reply).encode()
            self.send_response(200)
        else:
            body = b'{"message":"page not found"}'
            self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def fake_engine() -> Iterator[Callable[[str | None], tuple[str, list[str]]]]:
    """Start servers that report a given API version; return (host, paths seen)."""
    servers: list[tuple[_UnixHTTPServer, str]] = []

    def start(api_version: str | None) -> tuple[str, list[str]]:
        directory = tempfile.mkdtemp(prefix="stuiv", dir=tempfile.gettempdir())
        path = os.path.join(directory, "engine.sock")
        seen: list[str] = []
        handler = type(
            "Handler",
            (_VersionHandler,),
            {"api_version": api_version, "requests_seen": seen},
        )
        server = _UnixHTTPServer(path, handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, directory))
        return f"unix://{path}", seen

    yield start
    for server, directory in servers:
        server.shutdown()
        server.server_close()
        shutil.rmtree(directory, ignore_errors=True)


def test_engine_before_swarm_mode(
    fake_engine: Callable[[str | None], tuple[str, list[str]]],
) -> None:
    host, seen = fake_engine("1.23")

    result = run_swarmtui("join-token", "worker", host=host, timeout=60)

    assert result.returncode == ExitCode.API_TOO_OLD, result.stderr
    assert result.stdout == ""
    assert "API 1.23" in result.stderr
    assert "1.24 or newer" in result.stderr
    assert seen == ["/version"]


def test_unreadable_api_version(
    fake_engine: Callable[[str | None], tuple[str, list[str]]],
) -> None:
    host, _ = fake_engine("banana")

    result = run_swarmtui("join-token", "-q", "manager", host=host, timeout=60)

    assert result.returncode == ExitCode.FAILURE, result.stderr
    assert result.stdout == ""
    assert "unreadable API version 'banana'" in result.stderr
    assert "Traceback" not in result.stderr


def test_version_without_api_version(
    fake_engine: Callable[[str | None], tuple[str, list[str]]],
) -> None:
    host, seen = fake_engine(None)

    result = run_swarmtui("join-token", "-q", "worker", host=host, timeout=60)

    assert result.returncode == ExitCode.FAILURE, result.stderr
    assert result.stdout == ""
    assert "but not as a Docker Engine API" in result.stderr
    assert "names no API version" in result.stderr
    assert seen == ["/version"]

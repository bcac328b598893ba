"""Servers on a unix socket that misbehave the ways a wrong endpoint can.

Each connection is handed to a handler function in its own thread, after
the request head has been read, so a test can answer slowly, wrongly or not
at all. Every loop is bounded, so a server stops by itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator

Handler = Callable[[socket.socket, bytes], None]


def read_head(connection: socket.socket) -> bytes:
    """Read an HTTP request head; return b"" when the client closed first."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = connection.recv(4096)
        if not chunk:
            return b""
        data += chunk
    return data


def http_response(status: str, body: bytes, content_type: str = "") -> bytes:
    """Build a complete HTTP/1.1 response with a Content-Length."""
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + body


VERSION_BODY = b'{"ApiVersion": "1.41", "MinAPIVersion": "1.12", "Version": "20.10"}'


def answer_version_then(handler: Handler) -> Handler:
    """Answer GET /version as dockerd 20.10 does, and pass other requests on."""

    def handle(connection: socket.socket, head: bytes) -> None:
        while head.startswith(b"GET /version"):
            connection.sendall(
                http_response("200 OK", VERSION_BODY, "application/json")
            )
            head = read_head(connection)
            if not head:
                return
        handler(connection, head)

    return handle


# The loopback address of fake_server(tcp=True); its port is a free one.
TCP_FAKE_ADDRESS = "127.0.8.5"


@contextlib.contextmanager
def fake_server(
    handler: Handler, *, read_request: bool = True, tcp: bool = False
) -> Iterator[str]:
    """Serve `handler` on a new unix socket; yield its unix:// address.

    With `tcp`, serve on a free loopback TCP port and yield its tcp://
    address, which the docker SDK's client reaches.
    """
    directory = tempfile.mkdtemp(prefix="stfk", dir=tempfile.gettempdir())
    path = os.path.join(directory, "fake.sock")
    if tcp:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind((TCP_FAKE_ADDRESS, 0))
        address = "tcp://{}:{}".format(*server.getsockname())
    else:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        address = f"unix://{path}"
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve(connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            head = read_head(connection) if read_request else b""
            if head or not read_request:
                handler(connection, head)
        with contextlib.suppress(OSError):
            connection.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(connection)
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield address
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        server.close()
        shutil.rmtree(directory, ignore_errors=True)


def drip_forever(released: threading.Event, drips: int = 200) -> Handler:
    """Answer with a chunked body of one space every 0.3 s, for at most `drips`.

    `released` is set when the client closes or shuts down its end.
    """

    def handle(connection: socket.socket, head: bytes) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        try:
            for _ in range(drips):
                connection.sendall(b"1\r\n \r\n")
                time.sleep(0.3)
            connection.sendall(b"2\r\n{}\r\n0\r\n\r\n")
        except OSError:
            released.set()

    return handle

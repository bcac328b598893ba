"""The engine calls swarmtui makes, over a unix socket, with the standard library.

A local socket is where an admin on a manager node reaches the engine, and
it needs no TLS, proxy or ssh. `http.client` covers it, so the console and
the CLI do not import the docker SDK and `requests` for it: that import
costs more time and memory than reading the swarm. tcp://, TLS and ssh://
engines use the docker SDK's APIClient (see engine.py).

`UnixSocketClient` has the methods of `docker.APIClient` that EngineBackend
calls, with the same results and the same kinds of error. A status of 400 or
more raises EngineHTTPError with the engine's message. A body that is not
JSON raises json.JSONDecodeError, and a socket failure raises OSError.
"""

from __future__ import annotations

import copy
import http.client
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from swarmtui import __version__

log = logging.getLogger(__name__)

USER_AGENT = f"swarmtui/{__version__}"
# Bytes read from a response body at a time.
READ_PIECE_BYTES = 1024 * 1024
# Seconds between attempts to connect while the engine's accept queue is full.
CONNECT_RETRY_SECONDS = 0.05


class ResponseTooLargeError(Exception):
    """An engine response body longer than the client's limit."""


class EngineHTTPError(Exception):
    """An engine response with a status of 400 or more.

    `explanation` is the engine's own message (the JSON `message` field, or
    the start of the body), as `docker.errors.APIError` has it.
    """

    def __init__(self, status_code: int, explanation: str, content_type: str) -> None:
        super().__init__(f"{status_code}: {explanation}")
        self.status_code = status_code
        self.explanation = explanation
        self.content_type = content_type


class _DeadlineSocket(socket.socket):
    """A unix socket whose operations end by the deadline `until`, if it has one.

    `until` is a time.monotonic() value. Each connect, send and read waits
    at most until then, so a server that responds byte by byte cannot
    stretch a call past it. Without a deadline, each operation waits up to
    `operation_timeout`.
    """

    operation_timeout: float | None = None
    until: float | None = None

    def _apply_deadline(self) -> None:
        if self.until is None:
            self.settimeout(self.operation_timeout)
            return
        remaining = self.until - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        self.settimeout(remaining)

    def connect(self, address: Any) -> None:
        self._apply_deadline()
        super().connect(address)

    def recv(self, *args: Any) -> bytes:
        self._apply_deadline()
        return super().recv(*args)

    def recv_into(self, *args: Any) -> int:
        self._apply_deadline()
        return super().recv_into(*args)

    def send(self, *args: Any) -> int:
        self._apply_deadline()
        return super().send(*args)

    def sendall(self, *args: Any) -> None:
        self._apply_deadline()
        super().sendall(*args)


class _Connection(http.client.HTTPConnection):
    """An HTTP/1.1 connection over a unix socket, sent with a fixed Host name."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path
        self.connect_timeout = timeout
        # The deadline of the request that uses the connection now.
        self.until: float | None = None

    def connect(self) -> None:
        give_up_at = time.monotonic() + self.connect_timeout
        if self.until is not None:
            give_up_at = min(give_up_at, self.until)
        while True:
            sock = _DeadlineSocket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.operation_timeout = self.timeout
            sock.until = self.until
            try:
                sock.connect(self.socket_path)
            except BlockingIOError:
                # A unix socket with a full accept queue fails at once with
                # EAGAIN, where TCP would wait. So this waits for the engine.
                sock.close()
                if time.monotonic() + CONNECT_RETRY_SECONDS > give_up_at:
                    raise TimeoutError(
                        "the engine's accept queue stayed full"
                    ) from None
                time.sleep(CONNECT_RETRY_SECONDS)
                continue
            except BaseException:
                sock.close()
                raise
            self.sock = sock
            return


def _dropped(connection: _Connection) -> bool:
    """Return True when the engine closed a kept-alive connection while it was idle."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    # An idle connection has nothing to read. Readable means end of file (the
    # engine restarted or closed it) or stray bytes, so it cannot carry a request.
    return bool(readable)


@dataclass
class _Pool:
    """The idle connections of a client, and whether it is closed."""

    idle: list[_Connection] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False


class UnixSocketClient:
    """A keep-alive HTTP client for the Docker Engine API on a unix socket.

    Several threads may call it at once: each request takes an idle
    connection or opens one, and puts it back once the whole response is
    read. `on_connection` receives each connection a request uses, so that
    a caller past its deadline can shut that connection down.
    """

    def __init__(
        self,
        socket_path: str,
        version: str,
        *,
        timeout: float,
        max_response_bytes: int,
        on_connection: Callable[[_Connection], None] | None = None,
    ) -> None:
        self.socket_path = socket_path
        self.api_version = version
        self._timeout = timeout
        self._limit = max_response_bytes
        self._on_connection = on_connection
        # Shared with the views that with_deadline returns.
        self._pool = _Pool()
        self._until: float | None = None

    def with_deadline(self, until: float) -> UnixSocketClient:
        """Return a view of this client whose requests end by `until`.

        `until` is a time.monotonic() value, and a request past it raises
        TimeoutError. The view shares this client's connections.
        """
        view = copy.copy(self)
        view._until = until
        return view

    # -- requests ---------------------------------------------------------

    def _take(self) -> _Connection:
        pool = self._pool
        with pool.lock:
            while pool.idle:
                connection = pool.idle.pop()
                if not _dropped(connection):
                    return connection
                connection.close()
        return _Connection(self.socket_path, self._timeout)

    def _give_back(self, connection: _Connection) -> None:
        pool = self._pool
        with pool.lock:
            if not pool.closed:
                pool.idle.append(connection)
                return
        connection.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        versioned: bool = True,
    ) -> Any:
        """Send one request and return its decoded JSON body, or None if empty."""
        url = f"/v{self.api_version}{path}" if versioned else path
        if params:
            url += "?" + urlencode(params)
        headers = {"User-Agent": USER_AGENT}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"

        connection = self._take()
        connection.until = self._until
        if isinstance(connection.sock, _DeadlineSocket):
            connection.sock.until = self._until
        if self._on_connection is not None:
            self._on_connection(connection)
        started = time.monotonic()
        try:
            connection.request(method, url, body=payload, headers=headers)
            response = connection.getresponse()
            log.debug(
                "engine call %s %s: HTTP %s after %.0f ms",
                method,
                url,
                response.status,
                (time.monotonic() - started) * 1000,
            )
            data = self._read_body(response)
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self._give_back(connection)

        if response.status >= 400:
            content_type = response.getheader("Content-Type", "")
            raise EngineHTTPError(response.status, _explanation(data), content_type)
        if not data.strip():
            return None
        # NOTE: the deadline bounds the I/O, not the decoding. A 60 MiB body of
        # empty JSON objects took 1 to 3 s to decode on a 2-core machine.
        return _decode_json(data)

    def _read_body(self, response: http.client.HTTPResponse) -> bytes:
        length = response.getheader("Content-Length", "").strip()
        if length and not length.isdigit():
            raise http.client.HTTPException("invalid Content-Length header")
        if length and int(length) > self._limit:
            raise ResponseTooLargeError(int(length))
        # Pieces, so that a body over the limit costs no more memory than the
        # limit, and none of it stays referenced by the error's traceback.
        pieces: list[bytes] = []
        size = 0
        while piece := response.read(min(READ_PIECE_BYTES, self._limit + 1 - size)):
            pieces.append(piece)
            size += len(piece)
            if size > self._limit:
                pieces.clear()
                raise ResponseTooLargeError(size)
        data = b"".join(pieces)
        if length and size < int(length):
            # read(amount) returns a body cut short without IncompleteRead.
            raise http.client.IncompleteRead(data, int(length) - size)
        return data

    def close(self) -> None:
        pool = self._pool
        with pool.lock:
            pool.closed = True
            idle, pool.idle = pool.idle, []
        for connection in idle:
            connection.close()

    # -- the calls EngineBackend makes, named as in docker.APIClient -------

    def version(self, api_version: bool = True) -> Any:
        return self.request("GET", "/version", versioned=api_version)

    def info(self) -> Any:
        return self.request("GET", "/info")

    def inspect_swarm(self) -> Any:
        return self.request("GET", "/swarm")

    def inspect_node(self, node_id: str) -> Any:
        return self.request("GET", f"/nodes/{quote(node_id, safe='')}")

    def nodes(self) -> Any:
        return self.request("GET", "/nodes")

    def get_unlock_key(self) -> Any:
        return self.request("GET", "/swarm/unlockkey")

    def update_swarm(
        self,
        *,
        version: int,
        swarm_spec: dict[str, Any],
        rotate_worker_token: bool = False,
        rotate_manager_token: bool = False,
        rotate_manager_unlock_key: bool = False,
    ) -> None:
        params = {
            "version": str(version),
            "rotateWorkerToken": _flag(rotate_worker_token),
            "rotateManagerToken": _flag(rotate_manager_token),
        }
        if rotate_manager_unlock_key:
            params["rotateManagerUnlockKey"] = "true"
        self.request("POST", "/swarm/update", params=params, body=swarm_spec)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _decode_json(data: bytes) -> Any:
    """Decode a JSON body; a body nested too deeply to decode is invalid JSON."""
    try:
        return json.loads(data)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "", 0) from None


def _explanation(data: bytes) -> str:
    """Return the engine's error message: the JSON `message` field, else the body."""
    text = data.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return text.strip()[:1000]
    if isinstance(document, dict) and isinstance(document.get("message"), str):
        return str(document["message"])
    return text.strip()[:1000]

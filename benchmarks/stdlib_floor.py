"""Engine calls made with the standard library alone, as a floor for the benchmarks.

Run as a script, it prints the worker or manager join token, like
`swarmtui join-token -q ROLE`, over the unix socket named by DOCKER_HOST.
Imported, it provides the raw calls that the benchmark harness uses to set
up its daemon and to time a rotation without any swarmtui code.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sys
from typing import Any

API = "/v1.41"


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP/1.1 connection over a unix socket, as dockerd serves its API."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class EngineCallError(RuntimeError):
    """The engine returned an HTTP error status."""


def socket_path_from_env() -> str:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        raise SystemExit(f"DOCKER_HOST must be a unix:// socket, not {host!r}")
    return host[len("unix://") :]


def request(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any = None,
) -> Any:
    """Send one request on a kept-alive connection and decode its JSON response."""
    headers = {"Host": "docker"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    data = response.read()
    if response.status >= 400:
        raise EngineCallError(f"{method} {path} failed ({response.status}): {data!r}")
    if not data:
        return None
    return json.loads(data)


def read_tokens(path: str, calls: str = "swarmtui") -> dict[str, Any]:
    """Make the calls that print one token; return the GET /swarm document.

    calls="swarmtui" repeats what `swarmtui join-token -q` sends: GET /version,
    GET /info, GET /swarm and GET /nodes/{id}. calls="docker" repeats what
    `docker swarm join-token -q` (CLI 28.2, engine 20.10) sends: HEAD /_ping
    for version negotiation, then GET /swarm.
    """
    connection = UnixHTTPConnection(path)
    try:
        if calls == "docker":
            connection.request("HEAD", "/_ping", headers={"Host": "docker"})
            connection.getresponse().read()
            return dict(request(connection, "GET", f"{API}/swarm"))
        request(connection, "GET", "/version")
        info = request(connection, "GET", f"{API}/info")
        swarm = dict(request(connection, "GET", f"{API}/swarm"))
        request(connection, "GET", f"{API}/nodes/{info['Swarm']['NodeID']}")
        return swarm
    finally:
        connection.close()


def rotate(path: str, role: str = "worker") -> dict[str, Any]:
    """Rotate one role's token with the Spec sent back unchanged; return the new state.

    The calls are the ones a rotation cannot do without: GET /swarm for the
    version and Spec, POST /swarm/update, and GET /swarm to read the new token.
    """
    flag = "rotateWorkerToken" if role == "worker" else "rotateManagerToken"
    connection = UnixHTTPConnection(path)
    try:
        swarm = request(connection, "GET", f"{API}/swarm")
        version = swarm["Version"]["Index"]
        request(
            connection,
            "POST",
            f"{API}/swarm/update?version={version}&{flag}=true",
            body=swarm["Spec"],
        )
        return dict(request(connection, "GET", f"{API}/swarm"))
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=["worker", "manager"])
    parser.add_argument(
        "--calls",
        choices=["swarmtui", "docker"],
        default="swarmtui",
        help="which client's sequence of engine calls to repeat",
    )
    args = parser.parse_args()
    swarm = read_tokens(socket_path_from_env(), args.calls)
    print(swarm["JoinTokens"][args.role.capitalize()])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Engine replies whose fields have the wrong JSON type get a plain message.

A fake engine serves replies shaped like dockerd 20.10's, with one field
replaced, on a unix socket (swarmtui's own http.client) and on a loopback
TCP port (the docker SDK).
"""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable
from typing import Any

import pytest
from engine_fixtures import run_swarmtui
from fake_engine import Handler, fake_server, http_response, read_head

from swarmtui.backends.engine import EngineBackend
from swarmtui.backends.replies import MAX_SECRET_CHARACTERS
from swarmtui.endpoint import EndpointChoice
from swarmtui.errors import EngineError, ExitCode
from swarmtui.models import SwarmSnapshot
from swarmtui.tokens import redact

WORKER_TOKEN = (
    "SWMTKN-1-365epy3idl5ahjyp50eesrwy32zn2djqz8hkyzhamvx55kev8w-"
    "5wnwcnjp2zb2g79zyxnp3k76v"
)
MANAGER_TOKEN = (
    "SWMTKN-1-365epy3idl5ahjyp50eesrwy32zn2djqz8hkyzhamvx55kev8w-"
    "2f8v1d0q9kx3m7s5c4b6n1p0z"
)
NODE = {
    "ID": "iac1yv7bhzmgp682flohd7j6a",
    "CreatedAt": "2026-12-05T10:30:24.155095266Z",
    "Spec": {"Labels": {}, "Role": "manager", "Availability": "active"},
    "Description": {"Hostname": "vm", "Engine": {"EngineVersion": "20.10.24"}},
    "Status": {"State": "ready", "Addr": "127.0.8.5"},
    "ManagerStatus": {
        "Leader": True,
        "Reachability": "reachable",
        "Addr": "127.0.8.5:2377",
    },
}
# Replies by path, without the /vN.NN prefix, in the shapes of dockerd 20.10.
REPLIES: dict[str, Any] = {
    "/version": {"Version": "20.10.24", "ApiVersion": "1.41", "MinAPIVersion": "1.12"},
    "/info": {
        "Name": "vm",
        "Swarm": {
            "NodeID": "iac1yv7bhzmgp682flohd7j6a",
            "NodeAddr": "127.0.8.5",
            "LocalNodeState": "active",
            "ControlAvailable": True,
            "Error": "",
            "RemoteManagers": [
                {"NodeID": "iac1yv7bhzmgp682flohd7j6a", "Addr": "127.0.8.5:2377"},
                {"NodeID": "x8f0dq2mz3kq1vb9c4n7t5w2e", "Addr": "127.0.8.6:2377"},
            ],
            "Nodes": 1,
            "Managers": 1,
            "Cluster": {"ID": "v0otu34tz6hlbd64urs6hfhmu"},
        },
    },
    "/swarm": {
        "ID": "v0otu34tz6hlbd64urs6hfhmu",
        "Version": {"Index": 10},
        "CreatedAt": "2026-12-05T10:30:24.155055661Z",
        "UpdatedAt": "2026-12-05T10:30:24.765617153Z",
        "Spec": {
            "Name": "default",
            "Orchestration": {"TaskHistoryRetentionLimit": 5},
            "EncryptionConfig": {"AutoLockManagers": False},
        },
        "TLSInfo": {"TrustRoot": "-----BEGIN CERTIFICATE-----\n"},
        "RootRotationInProgress": False,
        "JoinTokens": {"Worker": WORKER_TOKEN, "Manager": MANAGER_TOKEN},
    },
    "/nodes/iac1yv7bhzmgp682flohd7j6a": NODE,
    "/nodes": [NODE],
    "/swarm/unlockkey": {"UnlockKey": ""},
}
NODE_PATH = "/nodes/iac1yv7bhzmgp682flohd7j6a"

# The backend call that reads each path; GET /version comes before every call.
CALLS: dict[str, Callable[[EngineBackend], object]] = {
    "/version": lambda backend: backend.engine_info(),
    "/info": lambda backend: backend.engine_info(),
    "/swarm": lambda backend: backend.inspect_swarm(),
    NODE_PATH: lambda backend: backend.inspect_node(str(NODE["ID"])),
    "/nodes": lambda backend: backend.list_nodes(),
    "/swarm/unlockkey": lambda backend: backend.unlock_key(),
}


def serve_replies(replies: dict[str, Any]) -> Handler:
    """Reply to each request on a connection with the body stored for its path."""

    def handle(connection: socket.socket, head: bytes) -> None:
        while head:
            target = head.split(b" ", 2)[1].decode().split("?")[0]
            if target.startswith("/v1."):
                target = "/" + target.split("/", 2)[2]
            if target in replies:
                body = json.dumps(replies[target]).encode()
                connection.sendall(http_response("200 OK", body, "application/json"))
            else:
                body = b'{"message": "page not found"}'
                connection.sendall(http_response("404 Not Found", body))
            head = read_head(connection)

    return handle


def replaced(path: str, keys: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """Return REPLIES with the field at `keys` of `path`'s reply set to `value`."""
    replies = copy.deepcopy(REPLIES)
    if not keys:
        replies[path] = value
        return replies
    target = replies[path]
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return replies


def read_with(replies: dict[str, Any], path: str, *, tcp: bool) -> object:
    with fake_server(serve_replies(replies), tcp=tcp) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        try:
            return CALLS[path](backend)
        finally:
            backend.close()


TRANSPORTS = [pytest.param(False, id="unix"), pytest.param(True, id="sdk-tcp")]

# (path, keys of the field, its new value, the field as the message names it)
MALFORMED: list[tuple[str, tuple[str | int, ...], Any, str]] = [
    ("/version", ("ApiVersion",), 1.41, "ApiVersion in the reply to GET /version"),
    ("/version", ("Version",), ["20.10"], "Version in the reply to GET /version"),
    ("/version", (), "1.41", "the reply to GET /version is a string"),
    ("/info", ("Swarm",), "notadict", "Swarm in the reply to GET /info"),
    ("/info", ("Name",), 7, "Name in the reply to GET /info"),
    (
        "/info",
        ("Swarm", "ControlAvailable"),
        "true",
        "Swarm.ControlAvailable in the reply to GET /info is a string",
    ),
    ("/info", ("Swarm", "Nodes"), "1", "Swarm.Nodes in the reply to GET /info"),
    ("/info", ("Swarm", "Managers"), True, "Swarm.Managers in the reply to GET /info"),
    (
        "/info",
        ("Swarm", "RemoteManagers"),
        {"Addr": "127.0.8.5:2377"},
        "Swarm.RemoteManagers in the reply to GET /info",
    ),
    (
        "/info",
        ("Swarm", "RemoteManagers", 0, "Addr"),
        2377,
        "Swarm.RemoteManagers[0].Addr in the reply to GET /info",
    ),
    ("/info", ("Swarm", "Cluster"), [], "Swarm.Cluster in the reply to GET /info"),
    ("/info", ("Swarm", "Cluster", "ID"), 5, "Swarm.Cluster.ID in the reply"),
    ("/info", ("Swarm", "Error"), {}, "Swarm.Error in the reply to GET /info"),
    (
        "/swarm",
        ("JoinTokens", "Worker"),
        12345,
        "JoinTokens.Worker in the reply to GET /swarm is a number, not a string",
    ),
    (
        "/swarm",
        ("JoinTokens", "Manager"),
        [MANAGER_TOKEN],
        "JoinTokens.Manager in the reply to GET /swarm is a list",
    ),
    ("/swarm", ("JoinTokens",), "x", "JoinTokens in the reply to GET /swarm"),
    (
        "/swarm",
        ("Version", "Index"),
        "abc",
        "Version.Index in the reply to GET /swarm is a string, not a whole number",
    ),
    ("/swarm", ("Version", "Index"), -1, "Version.Index in the reply to GET /swarm"),
    ("/swarm", ("Version", "Index"), 1.5, "Version.Index in the reply to GET /swarm"),
    ("/swarm", ("Version", "Index"), True, "Version.Index in the reply to GET /swarm"),
    (
        "/swarm",
        ("Version", "Index"),
        WORKER_TOKEN,
        "Version.Index in the reply to GET /swarm",
    ),
    ("/swarm", ("Version",), 10, "Version in the reply to GET /swarm"),
    (
        "/swarm",
        ("Spec",),
        None,
        "Spec in the reply to GET /swarm is missing or null",
    ),
    ("/swarm", ("Spec",), "default", "Spec in the reply to GET /swarm"),
    (
        "/swarm",
        ("Spec", "EncryptionConfig"),
        "on",
        "Spec.EncryptionConfig in the reply to GET /swarm",
    ),
    (
        "/swarm",
        ("Spec", "EncryptionConfig", "AutoLockManagers"),
        "false",
        "Spec.EncryptionConfig.AutoLockManagers in the reply to GET /swarm",
    ),
    ("/swarm", ("TLSInfo", "TrustRoot"), 1, "TLSInfo.TrustRoot in the reply"),
    ("/swarm", ("ID",), 1, "ID in the reply to GET /swarm"),
    ("/swarm", ("CreatedAt",), 1, "CreatedAt in the reply to GET /swarm"),
    ("/swarm", ("UpdatedAt",), [], "UpdatedAt in the reply to GET /swarm"),
    (
        "/swarm",
        ("RootRotationInProgress",),
        "no",
        "RootRotationInProgress in the reply to GET /swarm",
    ),
    (
        NODE_PATH,
        ("ManagerStatus", "Addr"),
        2377,
        "ManagerStatus.Addr in the reply to GET /nodes/{id}",
    ),
    (NODE_PATH, ("Spec", "Role"), 1, "Spec.Role in the reply to GET /nodes/{id}"),
    (
        NODE_PATH,
        ("Description", "Engine"),
        "20.10",
        "Description.Engine in the reply to GET /nodes/{id}",
    ),
    (NODE_PATH, (), [], "the reply to GET /nodes/{id} is a list"),
    ("/nodes", (), {}, "the reply to GET /nodes is a JSON object, not a list"),
    ("/nodes", (0,), "node", "[0] in the reply to GET /nodes is a string"),
    (
        "/nodes",
        (0, "Status", "State"),
        1,
        "[0].Status.State in the reply to GET /nodes",
    ),
    ("/nodes", (0, "CreatedAt"), 0, "[0].CreatedAt in the reply to GET /nodes"),
    (
        "/nodes",
        (0, "ManagerStatus", "Leader"),
        "yes",
        "[0].ManagerStatus.Leader in the reply to GET /nodes",
    ),
    (
        "/swarm/unlockkey",
        ("UnlockKey",),
        123,
        "UnlockKey in the reply to GET /swarm/unlockkey",
    ),
    ("/swarm/unlockkey", (), "key", "the reply to GET /swarm/unlockkey"),
]


@pytest.mark.parametrize("tcp", TRANSPORTS)
def test_well_formed_replies_read(tcp: bool) -> None:
    with fake_server(serve_replies(REPLIES), tcp=tcp) as address:
        backend = EngineBackend(EndpointChoice(host=address, environment={}))
        info = backend.engine_info()
        snapshot = backend.inspect_swarm()
        node = backend.inspect_node(str(NODE["ID"]))
        nodes = backend.list_nodes()
        unlock_key = backend.unlock_key()
        backend.close()

    assert info.control_available is True
    # The node's own entry is left out: it is no manager to turn to.
    assert info.remote_managers == ("127.0.8.6:2377",)
    assert info.nodes == 1
    assert info.engine_version == "20.10.24"
    assert snapshot.worker_token == WORKER_TOKEN
    assert snapshot.manager_token == MANAGER_TOKEN
    assert snapshot.version == 10
    assert snapshot.autolock is False
    assert node.manager_address == "127.0.8.5:2377"
    assert node.leader is True
    assert [n.hostname for n in nodes] == ["vm"]
    assert unlock_key == ""


@pytest.mark.parametrize("tcp", TRANSPORTS)
@pytest.mark.parametrize(
    ("path", "keys", "value", "named"),
    MALFORMED,
    ids=[f"{case[0]}:{'.'.join(map(str, case[1])) or 'reply'}" for case in MALFORMED],
)
def test_malformed_field_named(
    path: str, keys: tuple[str | int, ...], value: Any, named: str, tcp: bool
) -> None:
    with pytest.raises(EngineError) as caught:
        read_with(replaced(path, keys, value), path, tcp=tcp)

    message = caught.value.message
    assert "responded, but not as a Docker Engine API" in message
    assert named in message
    assert WORKER_TOKEN not in str(caught.value)
    assert "dockerd's API socket or port" in caught.value.hint


@pytest.mark.parametrize("tcp", TRANSPORTS)
@pytest.mark.parametrize(
    ("path", "keys"),
    [
        ("/swarm", ("JoinTokens", "Worker")),
        ("/swarm", ("JoinTokens", "Manager")),
        ("/swarm/unlockkey", ("UnlockKey",)),
    ],
)
def test_overlong_secret_rejected(path: str, keys: tuple[str, ...], tcp: bool) -> None:
    long_value = WORKER_TOKEN + "a" * 5_000_000

    with pytest.raises(EngineError) as caught:
        read_with(replaced(path, keys, long_value), path, tcp=tcp)

    message = caught.value.message
    assert f"{'.'.join(keys)} in the reply to GET {path}" in message
    assert f"is {len(long_value)} characters long" in message
    assert f"more than the {MAX_SECRET_CHARACTERS} allowed" in message
    assert WORKER_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "hello " + WORKER_TOKEN,
        WORKER_TOKEN + "\n",
        WORKER_TOKEN + "\x1b[2J",
        WORKER_TOKEN.replace("-", "\u2010", 1),
    ],
    ids=["space", "newline", "escape", "unicode-dash"],
)
def test_secret_with_odd_characters_rejected(value: str) -> None:
    with pytest.raises(EngineError) as caught:
        read_with(
            replaced("/swarm", ("JoinTokens", "Worker"), value), "/swarm", tcp=False
        )

    message = caught.value.message
    assert "JoinTokens.Worker in the reply to GET /swarm contains a space" in message
    assert WORKER_TOKEN not in str(caught.value)


def test_secret_at_limit_accepted() -> None:
    longest = WORKER_TOKEN + "a" * (MAX_SECRET_CHARACTERS - len(WORKER_TOKEN))
    replies = replaced("/swarm", ("JoinTokens", "Worker"), longest)

    snapshot = read_with(replies, "/swarm", tcp=False)

    assert isinstance(snapshot, SwarmSnapshot)
    assert snapshot.worker_token == longest


@pytest.mark.parametrize(
    ("path", "keys"),
    [
        ("/info", ("Swarm", "RemoteManagers")),
        ("/info", ("Swarm", "Cluster")),
        ("/swarm", ("JoinTokens",)),
        ("/swarm", ("Version",)),
        ("/swarm", ("Spec", "EncryptionConfig")),
        (NODE_PATH, ("ManagerStatus",)),
        ("/nodes", (0, "Description")),
    ],
)
def test_null_field_read_as_empty(path: str, keys: tuple[str | int, ...]) -> None:
    # dockerd 20.10 sends null for some empty fields, as DefaultAddrPool in GET /swarm.
    read_with(replaced(path, keys, None), path, tcp=False)


def test_malformed_token_cli_message() -> None:
    replies = replaced("/swarm", ("JoinTokens", "Worker"), 12345)
    with fake_server(serve_replies(replies)) as address:
        result = run_swarmtui("join-token", "-q", "worker", host=address, timeout=60)

    assert result.returncode == ExitCode.FAILURE, result.stderr
    assert result.stdout == ""
    assert "JoinTokens.Worker in the reply to GET /swarm is a number" in result.stderr
    assert "unexpected error" not in result.stderr
    assert "Traceback" not in result.stderr


def test_token_as_hostname_redacted() -> None:
    replies = replaced("/nodes", (0, "Description", "Hostname"), WORKER_TOKEN)

    nodes = read_with(replies, "/nodes", tcp=False)

    assert isinstance(nodes, list)
    assert nodes[0].hostname == redact(WORKER_TOKEN)
    assert nodes[0].hostname.startswith("<token fp:")


def test_garbage_token_cli_message() -> None:
    replies = replaced("/swarm", ("JoinTokens", "Worker"), "garbage")
    with fake_server(serve_replies(replies)) as address:
        result = run_swarmtui("join-token", "worker", host=address, timeout=60)

    assert result.returncode == ExitCode.FAILURE, result.stderr
    assert result.stdout == ""
    assert "returned a worker join token that is not well formed" in result.stderr

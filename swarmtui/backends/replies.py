"""Read the Docker Engine API's JSON replies into swarmtui's models.

Each field that swarmtui uses is checked for the JSON type the API gives it.
A missing or null field gets its default, because dockerd leaves empty
fields out. A field of another type raises ReplyShapeError, which names
the call and the field but never the value, since that value may be a token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from swarmtui.models import EngineInfo, NodeInfo, Role, SwarmSnapshot
from swarmtui.tokens import redact

# Maximum length of a join token or unlock key read from an engine. Docker
# Engine 20.10 issues 85-character tokens (the SWMTKN-2 form has 87) and
# 52-character unlock keys. The limit leaves room for a longer future format,
# and keeps a token of megabytes from a faulty server out of the console,
# which would spend CPU time on it at every redraw.
MAX_SECRET_CHARACTERS = 1024


class ReplyShapeError(Exception):
    """An engine reply with a field of a type that the Docker Engine API never sends.

    The message names the field and the call, as "JoinTokens.Worker in the
    reply to GET /swarm is a number, not a string", and never the value.
    """


def json_type(value: Any) -> str:
    """Name the JSON type of a decoded value."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a JSON object"
    return "null"


class Fields:
    """A JSON object from one engine call, read field by field with type checks.

    `call` names the request, as "GET /swarm", and `path` the object's place
    in the reply, as "JoinTokens", for the messages of ReplyShapeError.
    """

    def __init__(self, data: Any, call: str, path: str = "") -> None:
        self.call = call
        self.path = path
        if not isinstance(data, dict):
            where = f"{path} in the reply to {call}" if path else f"the reply to {call}"
            raise ReplyShapeError(f"{where} is {json_type(data)}, not a JSON object")
        self.data: dict[str, Any] = data

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _where(self, key: str) -> str:
        return f"{self._name(key)} in the reply to {self.call}"

    def _wrong(self, key: str, value: Any, expected: str) -> ReplyShapeError:
        return ReplyShapeError(
            f"{self._where(key)} is {json_type(value)}, not {expected}"
        )

    def text(self, key: str) -> str:
        """Return a string field, or "" when it is missing or null."""
        value = self.data.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self._wrong(key, value, "a string")
        return value

    def secret(self, key: str) -> str:
        """Return a token or key field: one word of printable ASCII, not too long.

        A join command is built by pasting the token between spaces, so a
        space or a control character in it would give a broken command.
        """
        value = self.text(key)
        if len(value) > MAX_SECRET_CHARACTERS:
            raise ReplyShapeError(
                f"{self._where(key)} is {len(value)} characters "
                f"long, more than the {MAX_SECRET_CHARACTERS} allowed"
            )
        if not all("!" <= character <= "~" for character in value):
            raise ReplyShapeError(
                f"{self._where(key)} contains a space, a control character or a "
                "character outside ASCII"
            )
        return value

    def flag(self, key: str) -> bool:
        """Return a boolean field, or False when it is missing or null."""
        value = self.data.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._wrong(key, value, "a boolean")
        return value

    def count(self, key: str) -> int:
        """Return a whole number of zero or more, or 0 when it is missing or null."""
        value = self.data.get(key)
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(key, value, "a whole number")
        if value < 0:
            raise ReplyShapeError(f"{self._where(key)} is negative")
        return value

    def child(self, key: str, *, required: bool = False) -> Fields:
        """Return an object field; a missing or null one is empty unless `required`."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise ReplyShapeError(f"{self._where(key)} is missing or null")
            value = {}
        return Fields(value, self.call, self._name(key))

    def children(self, key: str) -> list[Fields]:
        """Return a list of objects, or [] when it is missing or null."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._wrong(key, value, "a list")
        name = self._name(key)
        return [Fields(item, self.call, f"{name}[{i}]") for i, item in enumerate(value)]


def parse_time(text: str | None) -> datetime | None:
    """Parse the engine's RFC 3339 times, which carry nanoseconds."""
    if not text:
        return None
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    head, sep, zone = value.partition("+")
    if "." in head:
        seconds, _, fraction = head.partition(".")
        head = f"{seconds}.{fraction[:6]}"
    try:
        return datetime.fromisoformat(head + sep + zone)
    except ValueError:
        return None


def version_fields(data: Any) -> tuple[str, str]:
    """Return `ApiVersion` and `Version` from GET /version's reply.

    Raises ReplyShapeError when the reply names no API version.
    """
    fields = Fields(data, "GET /version")
    api_version = fields.text("ApiVersion")
    if not api_version:
        raise ReplyShapeError("the reply to GET /version names no API version")
    return api_version, fields.text("Version")


def engine_info_from_api(
    data: Any, *, api_version: str, engine_version: str
) -> EngineInfo:
    """Build EngineInfo from GET /info's reply and the negotiated versions."""
    info = Fields(data, "GET /info")
    swarm = info.child("Swarm")
    node_id = swarm.text("NodeID")
    # A demoted manager still lists its own old address among the managers.
    remote = tuple(
        address
        for manager in swarm.children("RemoteManagers")
        if (address := manager.text("Addr")) and manager.text("NodeID") != node_id
    )
    return EngineInfo(
        node_id=node_id,
        local_node_state=swarm.text("LocalNodeState"),
        control_available=swarm.flag("ControlAvailable"),
        node_address=swarm.text("NodeAddr"),
        remote_managers=remote,
        nodes=swarm.count("Nodes"),
        managers=swarm.count("Managers"),
        cluster_id=swarm.child("Cluster").text("ID"),
        api_version=api_version,
        engine_version=engine_version,
        hostname=redact(info.text("Name")),
        error=redact(swarm.text("Error")),
    )


def snapshot_from_api(data: Any) -> SwarmSnapshot:
    """Build SwarmSnapshot from GET /swarm's reply.

    The Spec is required, because a rotation sends it back and an update
    with an empty Spec resets autolock, the CA expiry and the Raft settings.
    """
    swarm = Fields(data, "GET /swarm")
    spec = swarm.child("Spec", required=True)
    # SwarmSnapshot.autolock reads these two fields.
    spec.child("EncryptionConfig").flag("AutoLockManagers")
    tokens = swarm.child("JoinTokens")
    return SwarmSnapshot(
        cluster_id=swarm.text("ID"),
        version=swarm.child("Version").count("Index"),
        spec=spec.data,
        worker_token=tokens.secret("Worker"),
        manager_token=tokens.secret("Manager"),
        ca_pem=swarm.child("TLSInfo").text("TrustRoot"),
        root_rotation_in_progress=swarm.flag("RootRotationInProgress"),
        created_at=parse_time(swarm.text("CreatedAt")),
        updated_at=parse_time(swarm.text("UpdatedAt")),
    )


def node_from_api(data: Any, call: str) -> NodeInfo:
    """Build NodeInfo from one node of GET /nodes or GET /nodes/{id}."""
    node = Fields(data, call)
    return _node(node)


def nodes_from_api(data: Any) -> list[NodeInfo]:
    """Build the NodeInfo list from GET /nodes's reply."""
    if not isinstance(data, list):
        raise ReplyShapeError(
            f"the reply to GET /nodes is {json_type(data)}, not a list"
        )
    return [_node(Fields(item, "GET /nodes", f"[{i}]")) for i, item in enumerate(data)]


def _node(node: Fields) -> NodeInfo:
    spec = node.child("Spec")
    description = node.child("Description")
    status = node.child("Status")
    manager = node.child("ManagerStatus")
    role = Role.MANAGER if spec.text("Role") == "manager" else Role.WORKER
    return NodeInfo(
        id=node.text("ID"),
        # Set on the node itself, so a joined node chooses it, even a token.
        hostname=redact(description.text("Hostname")),
        role=role,
        address=status.text("Addr"),
        status=status.text("State") or "unknown",
        availability=spec.text("Availability"),
        created_at=parse_time(node.text("CreatedAt")),
        engine_version=description.child("Engine").text("EngineVersion"),
        leader=manager.flag("Leader"),
        manager_address=manager.text("Addr"),
        reachability=manager.text("Reachability"),
    )


def unlock_key_from_api(data: Any) -> str:
    """Return GET /swarm/unlockkey's `UnlockKey`; empty when autolock is off."""
    if data is None:
        return ""
    return Fields(data, "GET /swarm/unlockkey").secret("UnlockKey")

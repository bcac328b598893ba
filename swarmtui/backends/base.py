"""The interface that every backend (real engine, demo swarm, test fakes) implements.

Backends translate their own failures into `swarmtui.errors` exceptions and
never put a token into an exception message or a log record.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from swarmtui.models import EngineInfo, NodeInfo, Role, SwarmSnapshot


@runtime_checkable
class Backend(Protocol):
    """The calls the token service needs from a swarm."""

    @property
    def endpoint(self) -> str:
        """A short label for where the swarm is: a context name, host or file."""
        ...

    @property
    def timeout(self) -> float:
        """Seconds each call may take before it fails with RequestTimeoutError."""
        ...

    @property
    def unlock_command(self) -> str:
        """The docker CLI command that unlocks this swarm's manager when locked."""
        ...

    @property
    def docker_cli(self) -> str:
        """The docker CLI with the options that reach this engine, for hints."""
        ...

    def engine_info(self) -> EngineInfo:
        """Read the node's state (`GET /info` and `GET /version`)."""
        ...

    def inspect_swarm(self) -> SwarmSnapshot:
        """Read the swarm's tokens, Spec, version and CA (`GET /swarm`)."""
        ...

    def inspect_node(self, node_id: str) -> NodeInfo:
        """Read one node (`GET /nodes/{id}`)."""
        ...

    def list_nodes(self) -> list[NodeInfo]:
        """Read every node of the swarm (`GET /nodes`)."""
        ...

    def update_swarm(
        self,
        version: int,
        spec: dict[str, Any],
        *,
        rotate_worker_token: bool = False,
        rotate_manager_token: bool = False,
        rotate_unlock_key: bool = False,
    ) -> None:
        """Send `spec` back with `version` and the rotation flags.

        Raises RotationConflictError's cause, UpdateOutOfSequence, when the
        version is stale.
        """
        ...

    def unlock_key(self) -> str:
        """Read the manager unlock key; empty when autolock is off."""
        ...

    def close(self) -> None: ...


class UpdateOutOfSequence(Exception):
    """The swarm version sent with an update was stale: someone else changed it."""


@runtime_checkable
class JoinableBackend(Backend, Protocol):
    """A backend that can simulate a node joining (only the demo swarm can)."""

    def join(self, token: str, hostname: str, address: str = "") -> NodeInfo:
        """Add a node with the role that `token` grants, or reject the token."""
        ...

    def rotate_ca(self) -> None:
        """Replace the root CA, which changes the digest of both tokens."""
        ...


ROLE_FLAGS: dict[Role, str] = {
    Role.WORKER: "rotate_worker_token",
    Role.MANAGER: "rotate_manager_token",
}

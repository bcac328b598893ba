"""Plain data shared by the backends, the token service and both faces."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from swarmtui.text import terminal_safe


def _make_fields_terminal_safe(instance: Any, names: tuple[str, ...]) -> None:
    """Escape control characters in the named text fields of a frozen dataclass."""
    for name in names:
        value = getattr(instance, name)
        if isinstance(value, str):
            object.__setattr__(instance, name, terminal_safe(value))


class Role(enum.StrEnum):
    WORKER = "worker"
    MANAGER = "manager"


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """Node state from `GET /info` and `GET /version`."""

    node_id: str
    local_node_state: str
    control_available: bool
    node_address: str
    remote_managers: tuple[str, ...]
    nodes: int
    managers: int
    cluster_id: str
    api_version: str
    engine_version: str
    hostname: str
    error: str = ""

    def __post_init__(self) -> None:
        # Every text field comes from the engine or the demo state file.
        _make_fields_terminal_safe(
            self,
            (
                "node_id",
                "local_node_state",
                "node_address",
                "cluster_id",
                "api_version",
                "engine_version",
                "hostname",
                "error",
            ),
        )
        managers = tuple(terminal_safe(str(item)) for item in self.remote_managers)
        object.__setattr__(self, "remote_managers", managers)


@dataclass(frozen=True, slots=True)
class SwarmSnapshot:
    """What `GET /swarm` returns: the tokens, the Spec and the CA.

    `spec` is kept exactly as the engine returned it, because a rotation must
    send it back unchanged. `repr` hides the tokens.
    """

    cluster_id: str
    version: int
    spec: dict[str, Any]
    worker_token: str = field(repr=False)
    manager_token: str = field(repr=False)
    ca_pem: str
    root_rotation_in_progress: bool
    created_at: datetime | None
    updated_at: datetime | None

    def __post_init__(self) -> None:
        # A well-formed token has no control character, so escaping changes
        # only a damaged one, which then prints harmlessly. The CA PEM keeps
        # its line breaks because its exact bytes give the token digest.
        _make_fields_terminal_safe(
            self, ("cluster_id", "worker_token", "manager_token")
        )
        pem = terminal_safe(self.ca_pem, keep_newlines=True)
        object.__setattr__(self, "ca_pem", pem)

    @property
    def autolock(self) -> bool:
        encryption = self.spec.get("EncryptionConfig") or {}
        return bool(encryption.get("AutoLockManagers", False))

    def token(self, role: Role) -> str:
        return self.worker_token if role is Role.WORKER else self.manager_token


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One node of the swarm, as `GET /nodes` lists it."""

    id: str
    hostname: str
    role: Role
    address: str
    status: str
    availability: str
    created_at: datetime | None
    engine_version: str
    leader: bool = False
    manager_address: str = ""
    reachability: str = ""

    def __post_init__(self) -> None:
        # Every text field comes from the engine or the demo state file.
        _make_fields_terminal_safe(
            self,
            (
                "id",
                "hostname",
                "address",
                "status",
                "availability",
                "engine_version",
                "manager_address",
                "reachability",
            ),
        )


@dataclass(frozen=True, slots=True)
class SwarmView:
    """Everything the console and the CLI show about one swarm at one moment.

    `repr` hides the tokens; use the fingerprints to tell them apart in logs.
    """

    endpoint: str
    cluster_id: str
    version: int
    node_id: str
    node_hostname: str
    join_address: str
    worker_token: str = field(repr=False)
    manager_token: str = field(repr=False)
    worker_fingerprint: str
    manager_fingerprint: str
    ca_digest: str
    ca_pem: str = field(repr=False)
    nodes: int
    managers: int
    api_version: str
    engine_version: str
    autolock: bool
    root_rotation_in_progress: bool
    read_at: datetime
    updated_at: datetime | None = None
    spec: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    created_at: datetime | None = None

    def token(self, role: Role) -> str:
        return self.worker_token if role is Role.WORKER else self.manager_token

    def token_fingerprint(self, role: Role) -> str:
        if role is Role.WORKER:
            return self.worker_fingerprint
        return self.manager_fingerprint

    def join_command(self, role: Role) -> str:
        return f"docker swarm join --token {self.token(role)} {self.join_address}"


@dataclass(frozen=True, slots=True)
class RotationResult:
    """A finished rotation: the swarm before and after, and the roles rotated."""

    roles: frozenset[Role]
    before: SwarmView
    after: SwarmView
    unlock_key_rotated: bool = False


class TokenStatus(enum.StrEnum):
    """Outcome of checking a pasted token against a swarm."""

    LIVE_WORKER = "live-worker"
    LIVE_MANAGER = "live-manager"
    OLD = "old"
    THIS_SWARM_UNKNOWN = "this-swarm-not-current"
    OTHER_SWARM = "other-swarm"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """Result of a token check. It carries a fingerprint, never the token."""

    status: TokenStatus
    fingerprint: str
    reason: str
    version: int | None = None
    fips: bool | None = None
    digest_matches: bool | None = None
    role: Role | None = None
    # The time the token history or the demo swarm recorded the token retired.
    # For a rotation by another tool, that is when swarmtui first saw it replaced.
    retired_at: datetime | None = None
    retired_role: Role | None = None
    # The time of the rotation that retired the token, or None when unknown.
    rotated_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.status in (TokenStatus.LIVE_WORKER, TokenStatus.LIVE_MANAGER)

"""A real Docker Engine, reached through the docker SDK's low-level APIClient.

The docker SDK is imported only when the first call is made, so that a
command that never talks to an engine does not pay for the import.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from swarmtui.backends.base import UpdateOutOfSequence
from swarmtui.endpoint import EndpointChoice, ResolvedEndpoint, resolve_endpoint
from swarmtui.errors import (
    ApiTooOldError,
    EngineError,
    EngineUnreachableError,
    ManagerNotReadyError,
    NotAManagerError,
    NotInSwarmError,
    PermissionDeniedError,
    RequestTimeoutError,
    SwarmLockedError,
    SwarmTuiError,
)
from swarmtui.models import EngineInfo, NodeInfo, Role, SwarmSnapshot
from swarmtui.tokens import redact

if TYPE_CHECKING:
    from docker import APIClient

log = logging.getLogger(__name__)

SWARM_MIN_API = (1, 24)
UNLOCK_KEY_MIN_API = (1, 25)
DEFAULT_TIMEOUT = 10.0


def parse_api_version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


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


def node_from_api(data: dict[str, Any]) -> NodeInfo:
    spec = data.get("Spec") or {}
    description = data.get("Description") or {}
    status = data.get("Status") or {}
    manager = data.get("ManagerStatus") or {}
    role = Role.MANAGER if spec.get("Role") == "manager" else Role.WORKER
    return NodeInfo(
        id=data.get("ID", ""),
        hostname=description.get("Hostname", ""),
        role=role,
        address=status.get("Addr", ""),
        status=status.get("State", "unknown"),
        availability=spec.get("Availability", ""),
        created_at=parse_time(data.get("CreatedAt")),
        engine_version=(description.get("Engine") or {}).get("EngineVersion", ""),
        leader=bool(manager.get("Leader", False)),
        manager_address=manager.get("Addr", ""),
        reachability=manager.get("Reachability", ""),
    )


class EngineBackend:
    """The token service's view of one Docker Engine; every call has a timeout."""

    def __init__(
        self,
        choice: EndpointChoice | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._choice = choice or EndpointChoice()
        self._timeout = timeout
        self._resolved: ResolvedEndpoint | None = None
        self._client: APIClient | None = None
        self._api_version: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._label: str | None = None

    # -- connection -------------------------------------------------------

    @property
    def endpoint(self) -> str:
        if self._label is None:
            self._label = self._resolve().label
        return self._label

    @property
    def timeout(self) -> float:
        return self._timeout

    def _resolve(self) -> ResolvedEndpoint:
        if self._resolved is None:
            self._resolved = resolve_endpoint(self._choice)
        return self._resolved

    def _api(self) -> APIClient:
        """Return a client whose API version is negotiated with the daemon."""
        with self._lock:
            if self._client is not None:
                return self._client
            import docker

            resolved = self._resolve()
            try:
                probe = docker.APIClient(
                    base_url=resolved.base_url,
                    version="1.24",
                    timeout=self._timeout,
                    tls=resolved.tls,
                    use_ssh_client=resolved.use_ssh_client,
                )
            except Exception as error:  # the SDK raises many types at set-up
                raise self._translate(error) from None
            try:
                version = self._call(lambda: probe.version(api_version=False))
            finally:
                probe.close()
            server_api = str(version.get("ApiVersion", "0.0"))
            try:
                server_version = parse_api_version(server_api)
            except ValueError:
                raise EngineError(
                    f"The engine at {resolved.label} reported an unreadable API "
                    f"version {server_api[:20]!r}.",
                    "Check that the address points at a Docker engine.",
                ) from None
            if server_version < SWARM_MIN_API:
                raise ApiTooOldError(
                    f"The engine at {resolved.label} speaks API {server_api}; "
                    "swarm join tokens need API 1.24 or newer.",
                    "Upgrade Docker Engine on that host.",
                )
            from docker.constants import DEFAULT_DOCKER_API_VERSION

            chosen = min(server_version, parse_api_version(DEFAULT_DOCKER_API_VERSION))
            self._api_version = chosen
            self._engine_version = str(version.get("Version", ""))
            self._client = docker.APIClient(
                base_url=resolved.base_url,
                version=f"{chosen[0]}.{chosen[1]}",
                timeout=self._timeout,
                tls=resolved.tls,
                use_ssh_client=resolved.use_ssh_client,
            )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- error translation ------------------------------------------------

    def _call(self, function: Any) -> Any:
        try:
            return function()
        except SwarmTuiError:
            raise
        except Exception as error:
            raise self._translate(error) from None

    def _translate(self, error: BaseException) -> SwarmTuiError:
        """Map an SDK, requests or socket failure to a user-facing error."""
        import requests

        label = self._label or (self._resolved.label if self._resolved else "?")
        text = redact(str(error))
        log.debug("engine call to %s failed: %s", label, text)

        if isinstance(error, requests.exceptions.Timeout | TimeoutError):
            return RequestTimeoutError(
                f"The engine at {label} did not answer within "
                f"{self._timeout:g} seconds.",
                "Check that dockerd is running and not overloaded, then retry, "
                "or raise the timeout with --timeout.",
            )
        if "Permission denied" in text or isinstance(error, PermissionError):
            return PermissionDeniedError(
                f"Permission denied on the engine socket {label}.",
                "Run as root or as a member of the docker group.",
            )
        if isinstance(error, requests.exceptions.ConnectionError | ConnectionError):
            if "timed out" in text.lower():
                return RequestTimeoutError(
                    f"The engine at {label} did not answer within "
                    f"{self._timeout:g} seconds.",
                    "Check that dockerd is running, then retry.",
                )
            return EngineUnreachableError(
                f"Cannot connect to the Docker engine at {label}.",
                "Check that dockerd is running there, or choose another engine "
                "with -H, -c, DOCKER_HOST or DOCKER_CONTEXT.",
            )

        from docker.errors import APIError, DockerException

        if isinstance(error, APIError):
            return self._translate_api_error(error, label)
        if isinstance(error, DockerException):
            return EngineUnreachableError(
                f"Cannot use the Docker engine at {label}: {text}",
                "Check the host, context and TLS settings.",
            )
        return EngineError(f"The engine call to {label} failed: {text}")

    def _translate_api_error(self, error: Any, label: str) -> SwarmTuiError:
        explanation = redact(str(getattr(error, "explanation", "") or error))
        lowered = explanation.lower()
        status = getattr(error, "status_code", None)

        if "update out of sequence" in lowered:
            return _OutOfSequence(explanation)
        if "worker nodes can't be used" in lowered:
            return NotAManagerError(
                f"The engine at {label} is a worker node; only managers can read "
                "or rotate join tokens.",
                "Run the command against a manager node.",
            )
        if "needs to be unlocked" in lowered:
            return SwarmLockedError(
                f"The swarm manager at {label} is locked.",
                "Unlock it with 'docker swarm unlock' and the unlock key, then retry.",
            )
        if "not a swarm manager" in lowered:
            return NotInSwarmError(
                f"The engine at {label} is not part of a swarm.",
                "Create one with 'docker swarm init' or join one with "
                "'docker swarm join', or choose another engine.",
            )
        if "does not have a leader" in lowered or "no leader" in lowered:
            return ManagerNotReadyError(
                f"The swarm at {label} has no leader right now.",
                "Bring enough managers back online for a majority, or wait for "
                "an election, then retry.",
            )
        if "deadline exceeded" in lowered:
            # Seen from dockerd 20.10 on GET /swarm once a manager has lost
            # quorum: the Raft store cannot respond within the engine's deadline.
            return ManagerNotReadyError(
                f"The swarm managers behind {label} did not finish the request "
                "in time; they may have lost quorum.",
                "Check 'docker node ls' on a manager, then read the tokens again "
                "before you retry a rotation.",
            )
        if "is too old" in lowered or (status == 400 and "version" in lowered):
            return ApiTooOldError(
                f"The engine at {label} rejected the API version: {explanation}",
                "Upgrade the docker SDK or the engine.",
            )
        return EngineError(
            f"The engine at {label} returned an error ({status}): {explanation}"
        )

    # -- calls ------------------------------------------------------------

    def engine_info(self) -> EngineInfo:
        api = self._api()
        info = self._call(api.info)
        swarm = info.get("Swarm") or {}
        remote = tuple(
            manager.get("Addr", "")
            for manager in swarm.get("RemoteManagers") or ()
            if manager.get("Addr")
        )
        return EngineInfo(
            node_id=swarm.get("NodeID", ""),
            local_node_state=swarm.get("LocalNodeState", ""),
            control_available=bool(swarm.get("ControlAvailable", False)),
            node_address=swarm.get("NodeAddr", ""),
            remote_managers=remote,
            nodes=int(swarm.get("Nodes") or 0),
            managers=int(swarm.get("Managers") or 0),
            cluster_id=(swarm.get("Cluster") or {}).get("ID", ""),
            api_version=".".join(str(part) for part in self._api_version or (0, 0)),
            engine_version=getattr(self, "_engine_version", ""),
            hostname=info.get("Name", ""),
            error=redact(swarm.get("Error", "") or ""),
        )

    def inspect_swarm(self) -> SwarmSnapshot:
        api = self._api()
        data = self._call(api.inspect_swarm)
        tokens = data.get("JoinTokens") or {}
        return SwarmSnapshot(
            cluster_id=data.get("ID", ""),
            version=int((data.get("Version") or {}).get("Index", 0)),
            spec=data.get("Spec") or {},
            worker_token=tokens.get("Worker", ""),
            manager_token=tokens.get("Manager", ""),
            ca_pem=(data.get("TLSInfo") or {}).get("TrustRoot", ""),
            root_rotation_in_progress=bool(data.get("RootRotationInProgress")),
            created_at=parse_time(data.get("CreatedAt")),
            updated_at=parse_time(data.get("UpdatedAt")),
        )

    def inspect_node(self, node_id: str) -> NodeInfo:
        api = self._api()
        return node_from_api(self._call(lambda: api.inspect_node(node_id)))

    def list_nodes(self) -> list[NodeInfo]:
        api = self._api()
        return [node_from_api(node) for node in self._call(api.nodes)]

    def update_swarm(
        self,
        version: int,
        spec: dict[str, Any],
        *,
        rotate_worker_token: bool = False,
        rotate_manager_token: bool = False,
        rotate_unlock_key: bool = False,
    ) -> None:
        api = self._api()
        if rotate_unlock_key and (self._api_version or (0, 0)) < UNLOCK_KEY_MIN_API:
            raise ApiTooOldError(
                "Rotating the unlock key needs API 1.25 or newer; the engine "
                f"speaks {self._api_version}.",
                "Upgrade Docker Engine on that host.",
            )
        try:
            # The Spec read by inspect_swarm goes back unchanged: an empty or
            # rebuilt Spec would reset autolock, CA expiry, Raft and more.
            self._call(
                lambda: api.update_swarm(
                    version=version,
                    swarm_spec=spec,
                    rotate_worker_token=rotate_worker_token,
                    rotate_manager_token=rotate_manager_token,
                    rotate_manager_unlock_key=rotate_unlock_key,
                )
            )
        except _OutOfSequence as error:
            raise UpdateOutOfSequence(error.message) from None

    def unlock_key(self) -> str:
        api = self._api()
        data = self._call(api.get_unlock_key)
        return str((data or {}).get("UnlockKey", "") or "")


class _OutOfSequence(SwarmTuiError):
    """Internal marker turned into UpdateOutOfSequence by update_swarm."""

"""The token service: the one API that the console and the CLI call.

It reads the swarm through a backend, rotates tokens without touching
anything else in the Spec, checks pasted tokens, lists recent joins and
writes the audit record. It never imports Textual.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from swarmtui.audit import DECLINED_ACTION, read_rotation_events, token_retired_at
from swarmtui.backends.base import Backend, JoinableBackend, UpdateOutOfSequence
from swarmtui.errors import (
    AuditWriteError,
    EngineError,
    ManagerNotReadyError,
    NotAManagerError,
    NotInSwarmError,
    RequestTimeoutError,
    RotationConflictError,
    RotationOutcomeUnknownError,
    RotationVerifyError,
    SwarmLockedError,
    SwarmTuiError,
    TokenFormatError,
    UnsupportedError,
    not_in_swarm_hint,
)
from swarmtui.models import (
    EngineInfo,
    NodeInfo,
    Role,
    RotationResult,
    SwarmSnapshot,
    SwarmView,
    TokenCheck,
    TokenStatus,
)
from swarmtui.text import shorten_long_words
from swarmtui.tokens import (
    JoinToken,
    ca_digest,
    extract_token,
    fingerprint,
    is_other_form_of,
    parse_token,
    tokens_equal,
)
from swarmtui.unlock import unlock_key_fingerprint

log = logging.getLogger(__name__)


class AuditSink(Protocol):
    """The destination of audit events; swarmtui.audit implements it."""

    def record(self, action: str, **fields: Any) -> None: ...


class TokenHistory(Protocol):
    """Fingerprints of tokens seen earlier, to recognise an old token."""

    def remember(self, cluster_id: str, role: Role, fingerprint: str) -> None: ...

    def retire(self, cluster_id: str, role: Role, fingerprint: str) -> None: ...

    def update(
        self,
        cluster_id: str,
        *,
        current: Mapping[Role, str] | None = None,
        retired: Mapping[Role, str] | None = None,
    ) -> None:
        """Retire the `retired` tokens, then record the `current` ones."""
        ...

    def lookup(self, cluster_id: str, fingerprint: str) -> tuple[Role, datetime] | None:
        """Return the role and retirement time of a retired token, if known."""
        ...


class MemoryTokenHistory:
    """A TokenHistory kept in memory, for one process."""

    def __init__(self) -> None:
        self._retired: dict[tuple[str, str], tuple[Role, datetime]] = {}

    def remember(self, cluster_id: str, role: Role, fingerprint: str) -> None:
        return None

    def retire(self, cluster_id: str, role: Role, fingerprint: str) -> None:
        self._retired[(cluster_id, fingerprint)] = (role, datetime.now(UTC))

    def update(
        self,
        cluster_id: str,
        *,
        current: Mapping[Role, str] | None = None,
        retired: Mapping[Role, str] | None = None,
    ) -> None:
        for role, retired_fingerprint in (retired or {}).items():
            self.retire(cluster_id, role, retired_fingerprint)

    def lookup(self, cluster_id: str, fingerprint: str) -> tuple[Role, datetime] | None:
        return self._retired.get((cluster_id, fingerprint))


def _fingerprints(view: SwarmView) -> dict[Role, str]:
    return {role: view.token_fingerprint(role) for role in Role}


# A join address as HOST:PORT: an IPv4 address or a host name, or an IPv6
# address in brackets (with a zone after %), then the port.
JOIN_ADDRESS_PATTERN = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+(?:%[0-9A-Za-z_.-]+)?\]|[0-9A-Za-z_.-]+):[1-9][0-9]{0,4}"
)
# A label of a host name: letters, digits, hyphens and underscores, neither
# first nor last a hyphen, which a command line would take for an option.
HOST_LABEL_PATTERN = re.compile(r"[0-9A-Za-z_](?:[0-9A-Za-z_-]{0,61}[0-9A-Za-z_])?")


def valid_join_address(address: str) -> bool:
    """Return whether a join address is HOST:PORT, with a port of 1 to 65535.

    An unspecified host (0.0.0.0, or :: as the engine's ::1 becomes once
    its last group is taken for the port, also as ::ffff:0.0.0.0) is no
    address to join. A host name has labels of 1 to 63 characters and 253
    characters at most. A host of digits and dots must be a dotted IPv4
    address: a resolver reads 0 or 127.1 as another one.
    """
    if not JOIN_ADDRESS_PATTERN.fullmatch(address):
        return False
    host, _, port = address.rpartition(":")
    if not 1 <= int(port) <= 65535:
        return False
    if host.startswith("["):
        try:
            ip6 = ipaddress.IPv6Address(host[1:-1].partition("%")[0])
        except ValueError:
            return False
        mapped = ip6.ipv4_mapped
        if mapped is not None:
            return _joinable_ipv4(mapped)
        return not (ip6.is_unspecified or ip6.is_multicast)
    if re.fullmatch(r"[0-9.]+", host):
        try:
            return _joinable_ipv4(ipaddress.IPv4Address(host))
        except ValueError:
            return False
    with contextlib.suppress(OSError):
        # A resolver reads 0x7f000001 or 0x7f.1 as an IPv4 address.
        socket.inet_aton(host)
        return False
    return len(host) <= 253 and all(
        HOST_LABEL_PATTERN.fullmatch(label) for label in host.split(".")
    )


def _joinable_ipv4(ip: ipaddress.IPv4Address) -> bool:
    """Tell whether a node can join a manager at `ip`: one host, not a group."""
    return not (
        ip.is_unspecified
        or ip.is_multicast
        or ip == ipaddress.IPv4Address("255.255.255.255")
    )


def token_names(roles: Iterable[Role]) -> str:
    """Name the tokens of `roles`: "worker token", or "manager and worker tokens"."""
    names = sorted(str(role) for role in roles)
    noun = "token" if len(names) == 1 else "tokens"
    return f"{' and '.join(names)} {noun}"


def format_join_address(address: str) -> str:
    """Put an IPv6 host in brackets, as `docker swarm join` expects."""
    if address.startswith("[") or address.count(":") <= 1:
        return address
    host, _, port = address.rpartition(":")
    return f"[{host}]:{port}"


def describe_changes(before: SwarmView, after: SwarmView) -> tuple[str, ...]:
    """List, in words, what differs between two reads of one swarm."""
    changes: list[str] = []
    if before.cluster_id != after.cluster_id:
        changes.append("the cluster itself is a different one")
    if before.worker_fingerprint != after.worker_fingerprint:
        changes.append(
            f"worker token changed ({before.worker_fingerprint} -> "
            f"{after.worker_fingerprint})"
        )
    if before.manager_fingerprint != after.manager_fingerprint:
        changes.append(
            f"manager token changed ({before.manager_fingerprint} -> "
            f"{after.manager_fingerprint})"
        )
    if before.ca_digest != after.ca_digest:
        changes.append("root CA changed")
    if before.autolock != after.autolock:
        state = "on" if after.autolock else "off"
        changes.append(f"autolock turned {state}")
    if before.spec and after.spec and before.spec != after.spec:
        keys = sorted(
            key
            for key in set(before.spec) | set(after.spec)
            if before.spec.get(key) != after.spec.get(key)
        )
        changes.append("swarm settings changed: " + ", ".join(keys))
    if before.join_address != after.join_address:
        changes.append(f"join address changed to {after.join_address}")
    if not changes and before.version != after.version:
        changes.append(
            f"swarm version moved from {before.version} to {after.version} "
            "(a change outside the tokens and settings, such as a node update "
            "or an unlock key rotation)"
        )
    return tuple(changes)


# How far back a leak response looks when no earlier rotation is known.
DEFAULT_LEAK_LOOKBACK = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class LeakReport:
    """The result of a leak response: the rotation and the nodes that joined.

    `nodes_error` is set when both tokens were rotated but the node list could
    not be read afterwards; `nodes` is then empty.
    """

    since: datetime
    rotation: RotationResult
    nodes: tuple[NodeInfo, ...]
    nodes_error: str = ""

    @property
    def managers(self) -> tuple[NodeInfo, ...]:
        return tuple(node for node in self.nodes if node.role is Role.MANAGER)


@dataclass(frozen=True, slots=True)
class UnlockKeyRotation:
    """A finished unlock key rotation, with fingerprints of the old and new key.

    `new_key` is the key read back after the rotation, for the caller to
    show where the user asked for it; repr() leaves it out.
    """

    before: SwarmView
    after: SwarmView
    old_key_fingerprint: str
    new_key_fingerprint: str
    new_key: str = field(default="", repr=False)


def not_current_reason(
    token: JoinToken, view: SwarmView, docker_cli: str = "docker"
) -> str:
    """Explain why a token with this swarm's CA digest is not a current token.

    `docker_cli` is the docker command with the options that reach the
    engine, for the command that prints the token.
    """
    worker_form = is_other_form_of(token, view.worker_token)
    manager_form = is_other_form_of(token, view.manager_token)
    if worker_form or manager_form:
        role = Role.WORKER if worker_form else Role.MANAGER
        return (
            f"This is a version {token.version} form of the current {role} "
            "token: same CA digest and secret, but another version or FIPS "
            "flag. The engine compares the whole token text, so it cannot "
            f"join. Use the {role} token exactly as '{docker_cli} swarm "
            f"join-token {role}' prints it."
        )
    return (
        "The token has this swarm's CA digest but is not a current token of "
        "this swarm (never issued, or rotated before swarmtui recorded it); "
        "it cannot join."
    )


@dataclass(frozen=True)
class AbandonedRotation:
    """The audit result written at exit for a rotation, and what it rotated."""

    result: str
    subject: str


def _rotation_subject(action: str, roles: frozenset[Role]) -> str:
    """Return what a rotation of `action` on `roles` rotates, for a message."""
    if action == "rotate-unlock-key":
        return "the unlock key"
    if len(roles) == 1:
        (role,) = roles
        return f"the {role} token"
    return "both join tokens"


@dataclass
class _RotationProgress:
    """How far a rotation got, for the audit record of a failure or an interrupt."""

    before: SwarmView | None = None
    update_sent: bool = False
    # The fingerprint of the unlock key before an unlock key rotation.
    old_key_fingerprint: str | None = None

    def key_fields(self) -> dict[str, str]:
        """Return the old key's fingerprint as an audit field, when known."""
        if self.old_key_fingerprint is None:
            return {}
        return {"old_key_fingerprint": self.old_key_fingerprint}


@dataclass
class _InFlight:
    """A rotation that is running or whose audit record is not written yet.

    `done` contains the fields of the "ok" record once the engine confirmed the
    rotation, so that a process that exits early can still write it. The
    first writer of the record sets `recorded`, so there is one record.
    """

    action: str
    roles: frozenset[Role]
    expected: SwarmView | None
    fields: dict[str, Any]
    progress: _RotationProgress
    done: dict[str, Any] | None = None
    recorded: bool = False


def _unexpected_after_update(
    subject: str, error: BaseException, hint: str
) -> RotationOutcomeUnknownError:
    """Return the error for a rotation that failed unexpectedly after its update.

    `subject` names what was rotated, such as "the worker token", and `hint`
    how to find out whether it took effect. The engine may have applied the
    update, so the audit record lists the rotation as unknown.
    """
    # The error's message reaches the user, so this line is for -v logs.
    log.info(
        "rotation failed unexpectedly after its update was sent: %s",
        type(error).__name__,
    )
    return RotationOutcomeUnknownError(
        f"Rotating {subject} failed unexpectedly after the update was sent, so "
        "the engine may have applied it.",
        hint,
    )


# How many IDs of the nodes that joined since a leak, per role, its audit
# event lists; the counts cover every node.
LISTED_NODE_IDS = 100


class TokenService:
    """Reads, rotates and checks the join tokens of one swarm."""

    def __init__(
        self,
        backend: Backend,
        *,
        audit: AuditSink | None = None,
        history: TokenHistory | None = None,
    ) -> None:
        self.backend = backend
        self.audit = audit
        self.history: TokenHistory = history or MemoryTokenHistory()
        # Audit writes that failed; the action went ahead. The faces show them.
        self.audit_failures: list[AuditWriteError] = []
        self.on_audit_error: Callable[[AuditWriteError], None] | None = None
        # Set when an interrupt stopped a rotation that may have sent its update.
        self.interrupted_during_update = False
        # Set when an interrupt came after the engine confirmed a rotation.
        self.interrupted_after_rotation = False
        # When this process last rotated each role, per cluster.
        self.rotated_at: dict[tuple[str, Role], datetime] = {}
        # When each swarm that this process read was created, per cluster.
        self.swarm_created_at: dict[str, datetime] = {}
        # The node state of the last successful read, reused by rotations.
        self._node_state: tuple[EngineInfo, NodeInfo] | None = None
        # Rotations whose engine calls are running, by the id of their entry.
        self._in_flight: dict[int, _InFlight] = {}
        self._in_flight_lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return self.backend.endpoint

    # -- reading ----------------------------------------------------------

    def check_manager(self) -> EngineInfo:
        """Read the node state, or raise the error that explains why it cannot serve."""
        info = self.backend.engine_info()
        endpoint = self.backend.endpoint
        state = info.local_node_state
        if state == "locked":
            raise SwarmLockedError(
                f"The swarm manager at {endpoint} is locked.",
                f"Unlock it with '{self.backend.unlock_command}' and the unlock "
                "key, then retry.",
            )
        if state == "pending":
            raise ManagerNotReadyError(
                f"The node at {endpoint} is still joining its swarm.",
                "Wait a few seconds and retry.",
            )
        if state == "error":
            detail = f" ({info.error})" if info.error else ""
            raise EngineError(
                f"The swarm at {endpoint} is in an error state{detail}.",
                f"Check '{self.backend.docker_cli} info'.",
            )
        if state != "active":
            raise NotInSwarmError(
                f"The engine at {endpoint} is not part of a swarm.",
                not_in_swarm_hint(self.backend.docker_cli),
            )
        if not info.control_available:
            known = ", ".join(info.remote_managers)
            hint = (
                "Run swarmtui on a manager node, or point -H or -c at its "
                "Docker engine."
            )
            if known:
                hint += (
                    f" This node knows these managers by their swarm addresses: "
                    f"{known} (the swarm port is not the Docker API)."
                )
            raise NotAManagerError(
                f"The engine at {endpoint} is a worker node; only managers can "
                "read or rotate join tokens.",
                hint,
                manager_addresses=info.remote_managers,
            )
        if "does not have a leader" in info.error.lower():
            raise ManagerNotReadyError(
                f"The swarm at {endpoint} has no leader right now.",
                "Bring enough managers back online for a majority, or wait for "
                "an election, then retry.",
            )
        return info

    def read(self) -> SwarmView:
        """Read both tokens, the join address and the swarm's state."""
        info, snapshot, node = self._read_parts()
        view = self._view(info, snapshot, node)
        self._remember(view)
        return view

    def _read_parts(self) -> tuple[EngineInfo, SwarmSnapshot, NodeInfo]:
        """Read the node state, the swarm and this node, and keep the node state."""
        info = self.check_manager()
        snapshot = self.backend.inspect_swarm()
        node = self.backend.inspect_node(info.node_id)
        self._node_state = (info, node)
        return info, snapshot, node

    def _view(
        self, info: EngineInfo, snapshot: SwarmSnapshot, node: NodeInfo
    ) -> SwarmView:
        endpoint = self.backend.endpoint
        if not snapshot.worker_token or not snapshot.manager_token:
            raise EngineError(
                f"The swarm at {endpoint} returned an empty join token.",
                "Check that the node is a healthy manager "
                f"('{self.backend.docker_cli} node ls').",
            )
        for role in Role:
            text = snapshot.token(role)
            try:
                parse_token(text)
            except TokenFormatError as error:
                # It goes into the join command, which would fail on every node.
                raise EngineError(
                    f"The swarm at {endpoint} returned a {role} join token that "
                    f"is not well formed: {error.message}",
                    "Check the engine, or what stands between it and swarmtui "
                    f"(a proxy), with '{self.backend.docker_cli} swarm join-token "
                    f"{role}'.",
                ) from None
        address = format_join_address(node.manager_address)
        if not address:
            raise EngineError(
                f"The node at {endpoint} reports no manager address to join.",
                f"Check '{self.backend.docker_cli} node inspect self'.",
            )
        if not valid_join_address(address):
            # It goes into a command line that users paste into a shell.
            raise EngineError(
                f"The node at {endpoint} reports a manager address that cannot "
                f"be joined: {address!r}. A join address is HOST:PORT, with a "
                "port from 1 to 65535 and a host other than 0.0.0.0 or ::.",
                f"Check '{self.backend.docker_cli} node inspect self'; the "
                "engine may not be a Docker Engine.",
            )
        return SwarmView(
            endpoint=endpoint,
            cluster_id=snapshot.cluster_id,
            version=snapshot.version,
            node_id=info.node_id,
            node_hostname=node.hostname or info.hostname,
            join_address=address,
            worker_token=snapshot.worker_token,
            manager_token=snapshot.manager_token,
            worker_fingerprint=fingerprint(snapshot.worker_token),
            manager_fingerprint=fingerprint(snapshot.manager_token),
            ca_digest=ca_digest(snapshot.ca_pem) if snapshot.ca_pem else "",
            ca_pem=snapshot.ca_pem,
            nodes=info.nodes,
            managers=info.managers,
            api_version=info.api_version,
            engine_version=info.engine_version,
            autolock=snapshot.autolock,
            root_rotation_in_progress=snapshot.root_rotation_in_progress,
            read_at=datetime.now(UTC),
            updated_at=snapshot.updated_at,
            created_at=snapshot.created_at,
            spec=snapshot.spec,
        )

    def _remember(self, view: SwarmView) -> None:
        if view.created_at is not None:
            self.swarm_created_at[view.cluster_id] = view.created_at
        self.history.update(view.cluster_id, current=_fingerprints(view))

    # -- rotation ---------------------------------------------------------

    def rotate(
        self,
        roles: Iterable[Role],
        *,
        expected: SwarmView | None = None,
        action: str = "rotate",
        announce: Callable[[RotationResult], None] | None = None,
        audit_fields: Mapping[str, Any] | None = None,
    ) -> RotationResult:
        """Rotate the tokens of `roles` in one update, changing nothing else.

        `expected` is the state the user saw when they asked. When the swarm
        has moved on since then, or another admin updates it between our read
        and our update, RotationConflictError carries the fresh state and no
        second attempt is made.

        `announce` receives the verified result before the token history and
        the audit record are written, so that a console can show the new
        token without waiting for those files. They are written even when
        `announce` raises. `audit_fields`, such as a join window's id, go
        into the rotation's audit record, whatever its result.
        """
        requested = frozenset(Role(role) for role in roles)
        if not requested:
            raise ValueError("rotate needs at least one role")
        extra = dict(audit_fields or {})
        with self._tracked(action, requested, expected, **extra) as entry:
            result = self._audited_rotation(entry)
            entry.done = {
                "result": "ok",
                "old": result.before,
                "new": result.after,
                **extra,
            }
            try:
                if announce is not None:
                    announce(result)
            except KeyboardInterrupt:
                self.interrupted_after_rotation = True
                raise
            finally:
                # The audit record is written even when an interrupt stops the
                # token history, which can wait for another process's lock.
                try:
                    self._remember_rotation(result)
                except KeyboardInterrupt:
                    self.interrupted_after_rotation = True
                    raise
                finally:
                    self._record_confirmed(entry)
        return result

    def record_abandoned_rotations(self) -> list[AbandonedRotation]:
        """Write the audit record of each rotation that has none yet, at exit.

        A process that exits while a worker thread still rotates calls this.
        A rotation that the engine confirmed is recorded as "ok", and one whose
        update was sent without a response as "unknown". One stopped before
        its update is recorded as "failed". Return the records written.
        """
        with self._in_flight_lock:
            pending = list(self._in_flight.values())
        results = []
        for entry in pending:
            if entry.done is not None:
                fields = dict(entry.done)
            else:
                sent = entry.progress.update_sent
                fields = {
                    "result": "unknown" if sent else "failed",
                    "error": "Abandoned at exit",
                    "old": entry.expected or entry.progress.before,
                    **entry.progress.key_fields(),
                    **entry.fields,
                }
            if self._record_once(entry, **fields):
                subject = _rotation_subject(entry.action, entry.roles)
                results.append(AbandonedRotation(fields["result"], subject))
        return results

    def rotations_running(self, action: str) -> set[Role]:
        """Return the roles of the rotations of `action` whose calls are running."""
        with self._in_flight_lock:
            return {
                role
                for entry in self._in_flight.values()
                if entry.action == action
                for role in entry.roles
            }

    @contextmanager
    def _tracked(
        self,
        action: str,
        roles: frozenset[Role],
        expected: SwarmView | None,
        **fields: Any,
    ) -> Iterator[_InFlight]:
        """Count a rotation as running until the block ends."""
        entry = _InFlight(action, roles, expected, fields, _RotationProgress())
        with self._in_flight_lock:
            self._in_flight[id(entry)] = entry
        try:
            yield entry
        finally:
            with self._in_flight_lock:
                del self._in_flight[id(entry)]

    def _record_once(self, entry: _InFlight, **fields: Any) -> bool:
        """Write the rotation's audit record unless it was written; return whether."""
        with self._in_flight_lock:
            if entry.recorded:
                return False
            entry.recorded = True
        self._audit(entry.action, roles=entry.roles, **fields)
        return True

    def _record_confirmed(self, entry: _InFlight) -> None:
        """Write the "ok" record of a rotation that the engine confirmed.

        A caller may defer an interrupt until the record is written, as the
        CLI does, and raise it then: the rotation took effect before it.
        """
        assert entry.done is not None
        try:
            self._record_once(entry, **entry.done)
        except KeyboardInterrupt:
            self.interrupted_after_rotation = True
            raise

    def _audited_rotation(self, entry: _InFlight) -> RotationResult:
        """Rotate, and audit a failed or interrupted rotation before re-raising."""
        try:
            return self._rotate(entry.roles, entry.expected, entry.progress)
        except (Exception, KeyboardInterrupt) as error:
            # A failed update was read back already, so of the engine errors
            # only RotationOutcomeUnknownError leaves the outcome open.
            self._record_failure(entry, error, engine_error_unknown=False)
            unexpected = not isinstance(error, (SwarmTuiError, KeyboardInterrupt))
            if unexpected and entry.progress.update_sent:
                # A reply of an unexpected shape, or a bug, after the update.
                names = " and ".join(sorted(str(role) for role in entry.roles))
                hint = (
                    "Read the tokens again before you hand one out or rotate "
                    "again: a fingerprint other than the one before the "
                    "rotation means it took effect."
                )
                noun = "token" if len(entry.roles) == 1 else "tokens"
                raise _unexpected_after_update(
                    f"the {names} {noun}", error, hint
                ) from None
            raise

    def _record_failure(
        self,
        entry: _InFlight,
        error: BaseException,
        *,
        engine_error_unknown: bool,
    ) -> None:
        """Write the audit record of a rotation that `error` stopped.

        An interrupt or an unexpected error after the update was sent leaves
        the outcome unknown, and so does an engine error when
        `engine_error_unknown` is set.
        """
        sent = entry.progress.update_sent
        if isinstance(error, SwarmTuiError):
            title = error.title
            unknown = isinstance(error, RotationOutcomeUnknownError) or (
                engine_error_unknown and sent
            )
        elif isinstance(error, KeyboardInterrupt):
            title = "Interrupted"
            unknown = sent
            self.interrupted_during_update = unknown
        else:
            # An engine reply of an unexpected shape, or a bug.
            title = f"Unexpected error ({type(error).__name__})"
            unknown = sent
        self._record_once(
            entry,
            result="unknown" if unknown else "failed",
            error=title,
            old=entry.expected or entry.progress.before,
            **entry.progress.key_fields(),
            **entry.fields,
        )

    def _rotate(
        self,
        requested: frozenset[Role],
        expected: SwarmView | None,
        progress: _RotationProgress,
    ) -> RotationResult:
        info, snapshot, node = self._read_for_rotation(expected)
        before = self._view(info, snapshot, node)
        progress.before = before

        if expected is not None and (
            expected.cluster_id != before.cluster_id
            or expected.version != before.version
        ):
            # The node state may be reused from an earlier read, and what
            # changed may be the node itself (it left, rejoined or was
            # replaced), so the caller gets a full fresh read.
            self._node_state = None
            raise self._conflict(expected, self.read())

        progress.update_sent = True
        try:
            self.backend.update_swarm(
                snapshot.version,
                snapshot.spec,
                rotate_worker_token=Role.WORKER in requested,
                rotate_manager_token=Role.MANAGER in requested,
            )
        except UpdateOutOfSequence:
            # The engine rejected the update, so an interrupt in the read
            # below leaves the tokens as they were.
            progress.update_sent = False
            log.info(
                "rotation on cluster %s hit a concurrent update; not retried",
                before.cluster_id,
            )
            raise self._conflict(before, self.read()) from None
        except SwarmTuiError as error:
            # A timeout or a lost connection can come after the engine applied
            # the update, so the read-back below decides what happened.
            after = self._view(info, self._read_back(requested, error, before), node)
            if all(
                after.token_fingerprint(role) == before.token_fingerprint(role)
                for role in requested
            ):
                log.info(
                    "rotation on cluster %s failed and the tokens are unchanged",
                    before.cluster_id,
                )
                if error.update_may_apply:
                    raise self._pending_update(requested, error, before) from None
                raise
            log.info(
                "the update on cluster %s failed (%s), but the swarm read "
                "afterwards shows the rotation",
                before.cluster_id,
                error.title,
            )
        else:
            # A token rotation changes neither this node nor its address, so
            # the read-back only reads the swarm again. GET /info and GET
            # /nodes/{id} would add 10 to 40 ms (dockerd 20.10, 2-core machine).
            try:
                after = self._view(info, self.backend.inspect_swarm(), node)
            except SwarmTuiError as error:
                roles = token_names(requested)
                raise RotationOutcomeUnknownError(
                    f"The engine accepted the rotation of the {roles}, but "
                    f"reading the swarm afterwards failed ({error.message}), so "
                    "the new token could not be checked.",
                    "Read the tokens again before you rotate again.",
                ) from None
        if after.cluster_id != before.cluster_id:
            # The swarm was left and another one created or joined meanwhile.
            # The new swarm's tokens are no rotation of the old one's. Two
            # swarms made by swarm init share their first version numbers, so
            # the new swarm may have taken the update meant for the old one.
            self._node_state = None
            roles = token_names(requested)
            old = before.cluster_id[:12]
            raise RotationOutcomeUnknownError(
                f"The engine at {self.endpoint} serves another swarm now "
                f"({after.cluster_id[:12]}), so whether the {roles} of swarm "
                f"{old} was rotated is unknown.",
                f"Read the tokens on a manager of swarm {old}, if it still exists. "
                f"The update may have gone to swarm {after.cluster_id[:12]} instead, "
                f"rotating its {roles} and giving it the settings of swarm "
                f"{old}: check its tokens and settings before you hand out a token.",
            )
        result = RotationResult(roles=requested, before=before, after=after)
        try:
            self._verify(requested, before, after)
        except RotationVerifyError:
            # The update went through, so the history records it anyway. A
            # token that did not change is current again after this update,
            # so the record leaves no false retired entry.
            self._remember_rotation(result)
            raise
        for role in requested:
            self.rotated_at[(after.cluster_id, role)] = after.read_at
        log.info(
            "rotated %s token(s) on cluster %s: %s",
            "+".join(sorted(requested)),
            after.cluster_id,
            ", ".join(
                f"{role} {before.token_fingerprint(role)} -> "
                f"{after.token_fingerprint(role)}"
                for role in sorted(requested)
            ),
        )
        return result

    def _remember_rotation(self, result: RotationResult) -> None:
        """Record the retired and the new fingerprints in the token history."""
        # NOTE: when two processes rotate the same role at once, the slower
        # one can record an older token as current; the next read fixes it.
        self.history.update(
            result.after.cluster_id,
            retired={
                role: result.before.token_fingerprint(role) for role in result.roles
            },
            current=_fingerprints(result.after),
        )

    @staticmethod
    def _pending_update(
        requested: frozenset[Role], failure: SwarmTuiError, before: SwarmView
    ) -> RotationOutcomeUnknownError:
        """Return the error for an update that timed out with the tokens unchanged.

        A manager that timed out may still apply the update: managers that
        lost quorum commit it once quorum returns, so the unchanged tokens
        read right after do not show that the rotation failed.
        """
        roles = " and ".join(sorted(requested))
        old = ", ".join(
            f"{role} {before.token_fingerprint(role)}" for role in sorted(requested)
        )
        failed = "timed out" if isinstance(failure, RequestTimeoutError) else "failed"
        tokens, unchanged = "token", "The token is"
        if len(requested) > 1:
            tokens, unchanged = "tokens", "The tokens are"
        return RotationOutcomeUnknownError(
            f"Rotating the {roles} {tokens} {failed} "
            f"({failure.message.rstrip('.')}). {unchanged} "
            "unchanged so far, but the engine may still apply the update, as "
            "managers that lost quorum do once it returns.",
            "Read the tokens again in a minute, before you hand one out or rotate "
            f"again: a fingerprint other than the one before the rotation ({old}) "
            "means it took effect.",
            pending=True,
        )

    def _read_back(
        self, requested: frozenset[Role], failure: SwarmTuiError, before: SwarmView
    ) -> SwarmSnapshot:
        """Read the swarm after a failed update.

        Raise RotationOutcomeUnknownError when that read fails too.
        """
        try:
            return self.backend.inspect_swarm()
        except SwarmTuiError as error:
            roles = token_names(requested)
            old = ", ".join(
                f"{role} {before.token_fingerprint(role)}" for role in sorted(requested)
            )
            raise RotationOutcomeUnknownError(
                f"Rotating the {roles} failed ({failure.message}), and "
                f"reading the swarm afterwards failed too ({error.message}), so "
                "whether the token changed is unknown.",
                "Read the tokens again before you rotate again (the console and "
                "'join-token --json' show their fingerprints): a fingerprint "
                f"other than the one before the rotation ({old}) means it took "
                "effect.",
            ) from None

    def _read_for_rotation(
        self, expected: SwarmView | None
    ) -> tuple[EngineInfo, SwarmSnapshot, NodeInfo]:
        """Read what a rotation starts from: node state, swarm and this node.

        When the caller saw a view of this same node, the node state of the
        last read is reused and only GET /swarm is made. GET /info is the
        slowest call of a rotation: 9 to 15 ms in traces on dockerd 20.10.
        GET /swarm fails when the node is no longer a usable manager, and
        then the node state is read to explain why.
        """
        cached = self._node_state
        if expected is None or cached is None or cached[0].node_id != expected.node_id:
            return self._read_parts()
        info, node = cached
        try:
            snapshot = self.backend.inspect_swarm()
        except (
            NotAManagerError,
            NotInSwarmError,
            SwarmLockedError,
            ManagerNotReadyError,
        ):
            self._node_state = None
            # check_manager raises the error with the node's own details, such
            # as the manager addresses that a worker reports.
            self.check_manager()
            raise
        return info, snapshot, node

    def _conflict(self, seen: SwarmView, fresh: SwarmView) -> RotationConflictError:
        changes = describe_changes(seen, fresh)
        return RotationConflictError(
            "The swarm was changed by someone else after it was read, so the "
            "rotation was not done.",
            "Review the changes, then rotate again if it is still needed.",
            fresh=fresh,
            changes=changes or ("the swarm version moved on",),
        )

    def _verify(
        self, requested: frozenset[Role], before: SwarmView, after: SwarmView
    ) -> None:
        problems = []
        for role in Role:
            changed = before.token_fingerprint(role) != after.token_fingerprint(role)
            if role in requested and not changed:
                problems.append(f"the {role} token did not change")
            if role not in requested and changed:
                problems.append(f"the {role} token changed too")
        if before.ca_digest != after.ca_digest:
            problems.append("the root CA changed at the same time")
        if problems:
            raise RotationVerifyError(
                "The engine accepted the rotation, but reading the swarm back "
                "shows that " + " and ".join(problems) + ".",
                "Read the tokens again; another admin may be rotating too.",
            )

    # -- token check ------------------------------------------------------

    def check_token(self, text: str) -> TokenCheck:
        """Check whether pasted text is a live token of this swarm, and its role.

        The answer is one of: invalid text, the current worker or manager
        token, an old token of this swarm (with its role and retirement time
        when the token history or the backend lists it), or another swarm's
        token. The token itself is never logged or audited, only its
        fingerprint.
        """
        try:
            token = parse_token(extract_token(text))
        except TokenFormatError as error:
            check = TokenCheck(
                status=TokenStatus.INVALID,
                fingerprint="",
                reason=error.message,
            )
            self._audit("check-token", result=check.status.value)
            return check

        view = self.read()
        token_text = str(token)
        token_fingerprint = fingerprint(token_text)
        digest_matches = tokens_equal(token.digest, view.ca_digest)

        # Compare with both current tokens every time, so that the time taken
        # does not tell which comparison matched.
        is_worker = tokens_equal(token_text, view.worker_token)
        is_manager = tokens_equal(token_text, view.manager_token)

        common: dict[str, Any] = {
            "fingerprint": token_fingerprint,
            "version": token.version,
            "fips": token.fips,
            "digest_matches": digest_matches,
        }
        retired = None
        if not (is_worker or is_manager):
            retired = self._retired(view.cluster_id, token_fingerprint)
        if is_worker:
            check = TokenCheck(
                status=TokenStatus.LIVE_WORKER,
                reason="This is the current worker token: it lets any host join "
                "as a worker.",
                role=Role.WORKER,
                **common,
            )
        elif is_manager:
            check = TokenCheck(
                status=TokenStatus.LIVE_MANAGER,
                reason="This is the current manager token: it lets any host join "
                "as a manager and take control of the swarm.",
                role=Role.MANAGER,
                **common,
            )
        elif retired is not None:
            role, retired_at, rotated_at = retired
            before_ca = "" if digest_matches else " (before a root CA rotation)"
            if rotated_at is not None:
                when = f"rotated at {rotated_at:%Y-%m-%d %H:%M} UTC"
            else:
                when = (
                    f"replaced by {retired_at:%Y-%m-%d %H:%M} UTC, when swarmtui "
                    "first saw it replaced"
                )
            check = TokenCheck(
                status=TokenStatus.OLD,
                reason=f"This is an old {role} token of this swarm{before_ca}, "
                f"{when}. It can no longer join.",
                retired_role=role,
                retired_at=retired_at,
                rotated_at=rotated_at,
                **common,
            )
        elif not digest_matches:
            check = TokenCheck(
                status=TokenStatus.OTHER_SWARM,
                reason="The token's CA digest does not match this swarm's root "
                "CA: it belongs to another swarm, or was issued before a CA "
                "rotation. It cannot join this swarm.",
                **common,
            )
        else:
            check = TokenCheck(
                status=TokenStatus.THIS_SWARM_UNKNOWN,
                reason=not_current_reason(token, view, self.backend.docker_cli),
                **common,
            )
        # The role of a current or an old token, when the check found one.
        known_role = check.role or check.retired_role
        role_field: dict[str, Any] = {"role": str(known_role)} if known_role else {}
        self._audit(
            "check-token",
            result=check.status.value,
            fingerprint=token_fingerprint,
            view=view,
            **role_field,
        )
        return check

    def _retired(
        self, cluster_id: str, token_fingerprint: str
    ) -> tuple[Role, datetime, datetime | None] | None:
        """Return a retired token's role, retirement time and rotation time.

        The role and retirement time come from the token history, else from
        a backend that lists its own retired tokens as
        `retired_token(fingerprint)`, as the demo swarm does. A real engine
        keeps no such list. The history records when swarmtui first saw the
        token replaced, which for a rotation by another tool is later than
        the rotation. The rotation time comes from the audit record for a
        rotation by swarmtui, else from the backend's list, and is None when
        neither has it.
        """
        listed: tuple[Role, datetime] | None = None
        lookup = getattr(self.backend, "retired_token", None)
        if callable(lookup):
            listed = lookup(token_fingerprint)
        retired = self.history.lookup(cluster_id, token_fingerprint) or listed
        if retired is None:
            return None
        role, retired_at = retired
        rotated_at = self._audited_retirement(cluster_id, role, token_fingerprint)
        if rotated_at is None and listed is not None:
            rotated_at = listed[1]
        return role, retired_at, rotated_at

    def _audited_retirement(
        self, cluster_id: str, role: Role, token_fingerprint: str
    ) -> datetime | None:
        """Return when a rotation in the audit record retired the token, if any."""
        path = getattr(self.audit, "path", None)
        if path is None:
            return None
        try:
            events = read_rotation_events(path, cluster_id)
        except SwarmTuiError as error:
            log.info("audit file not read for the retirement time: %s", error)
            return None
        return token_retired_at(events, cluster_id, str(role), token_fingerprint)

    # -- nodes ------------------------------------------------------------

    def nodes_since(
        self, since: datetime, swarm_created_at: datetime | None = None
    ) -> list[NodeInfo]:
        """List nodes created at or after `since`, oldest first.

        With `swarm_created_at`, the node that created the swarm is left out:
        it joined with no token. The engine creates it within a millisecond
        of the swarm (0.1 ms apart on dockerd 20.10).
        """
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        nodes = [
            node
            for node in self.backend.list_nodes()
            if node.created_at is not None
            and node.created_at >= since
            and not _created_the_swarm(node, swarm_created_at)
        ]
        return sorted(nodes, key=lambda node: node.created_at or since)

    def unlock_key(self) -> str:
        self.check_manager()
        return self.backend.unlock_key()

    # -- leak response ----------------------------------------------------

    def respond_to_leak(
        self, since: datetime, *, expected: SwarmView | None = None
    ) -> LeakReport:
        """Rotate both tokens in one update, then list the nodes that joined since.

        One "leak-response" audit event records the old and new fingerprints
        and the number of nodes found. A conflict raises RotationConflictError
        as in `rotate`. When the rotation succeeds but the node list cannot
        be read, the report carries `nodes_error` instead of raising, so the
        caller still learns that the tokens were rotated.
        """
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        both = frozenset(Role)
        with self._tracked("leak-response", both, expected, since=since) as entry:
            rotation = self._audited_rotation(entry)
            # The record written if the process exits or is interrupted before
            # the node list is read.
            entry.done = {
                "result": "ok",
                "old": rotation.before,
                "new": rotation.after,
                "since": since,
                "nodes_error": "Not listed: stopped first",
            }
            nodes: tuple[NodeInfo, ...] = ()
            nodes_error = ""
            try:
                self._remember_rotation(rotation)
                try:
                    nodes = tuple(self.nodes_since(since, rotation.after.created_at))
                except SwarmTuiError as error:
                    nodes_error = str(error)
            except KeyboardInterrupt:
                self.interrupted_after_rotation = True
                self._record_once(entry, **entry.done)
                raise
            managers = [node.id for node in nodes if node.role is Role.MANAGER]
            self._record_once(
                entry,
                result="ok",
                old=rotation.before,
                new=rotation.after,
                since=since,
                nodes_joined=None if nodes_error else len(nodes),
                managers_joined=None if nodes_error else len(managers),
                nodes_error=nodes_error or None,
                # The IDs of the nodes to check, so that the record names them
                # after the output is gone. The first ones only, to keep a
                # record line short on a large swarm.
                joined_manager_ids=managers[:LISTED_NODE_IDS],
                joined_worker_ids=[
                    node.id for node in nodes if node.role is not Role.MANAGER
                ][:LISTED_NODE_IDS],
            )
        return LeakReport(
            since=since, rotation=rotation, nodes=nodes, nodes_error=nodes_error
        )

    # -- unlock key -------------------------------------------------------

    def rotate_unlock_key(self, expected: SwarmView | None = None) -> UnlockKeyRotation:
        """Rotate the manager unlock key, sending the Spec back unchanged.

        The key must change and the join tokens and CA must not; otherwise
        RotationVerifyError is raised. The audit event carries key
        fingerprints, never the key.
        """
        with self._tracked("rotate-unlock-key", frozenset(), expected) as entry:
            try:
                result = self._rotate_unlock_key(expected, entry.progress)
            except (Exception, KeyboardInterrupt) as error:
                # A failed update whose key read back is unchanged is marked
                # as not sent. Any other error after the update leaves the
                # outcome open.
                self._record_failure(entry, error, engine_error_unknown=True)
                unexpected = not isinstance(error, (SwarmTuiError, KeyboardInterrupt))
                if unexpected and entry.progress.update_sent:
                    hint = (
                        f"Read the key again ('{self.backend.docker_cli} swarm "
                        "unlock-key -q', or the console's unlock key pane): a "
                        "fingerprint other than the one before the rotation "
                        f"({entry.progress.old_key_fingerprint}) means it took "
                        "effect, and that key is the one to store."
                    )
                    raise _unexpected_after_update(
                        "the unlock key", error, hint
                    ) from None
                raise
            entry.done = {
                "result": "ok",
                "view": result.after,
                "old_key_fingerprint": result.old_key_fingerprint,
                "new_key_fingerprint": result.new_key_fingerprint,
            }
            self._record_confirmed(entry)
        return result

    def _rotate_unlock_key(
        self, expected: SwarmView | None, progress: _RotationProgress
    ) -> UnlockKeyRotation:
        info = self.check_manager()
        snapshot = self.backend.inspect_swarm()
        node = self.backend.inspect_node(info.node_id)
        before = self._view(info, snapshot, node)
        progress.before = before
        if expected is not None and (
            expected.cluster_id != before.cluster_id
            or expected.version != before.version
        ):
            raise self._conflict(expected, before)

        if not before.autolock:
            raise UnsupportedError(
                f"Autolock is off on the swarm at {self.endpoint}, so it has no "
                "unlock key to rotate.",
                f"Turn it on with '{self.backend.docker_cli} swarm update "
                "--autolock=true' first.",
            )
        old_key = self.backend.unlock_key()
        progress.old_key_fingerprint = unlock_key_fingerprint(old_key)

        progress.update_sent = True
        new_key = ""
        try:
            self.backend.update_swarm(
                snapshot.version, snapshot.spec, rotate_unlock_key=True
            )
        except UpdateOutOfSequence:
            progress.update_sent = False
            raise self._conflict(before, self.read()) from None
        except SwarmTuiError as error:
            # A timeout or a lost connection can come after the engine applied
            # the update, so the key read afterwards decides what happened.
            new_key = self._read_back_key(error, progress.old_key_fingerprint)
            if new_key == old_key:
                if error.update_may_apply:
                    # As for a token rotation, the update may still apply.
                    failed = (
                        "timed out"
                        if isinstance(error, RequestTimeoutError)
                        else "failed"
                    )
                    raise RotationOutcomeUnknownError(
                        f"Rotating the unlock key {failed} "
                        f"({error.message.rstrip('.')}). The key is unchanged so "
                        "far, but the engine may still apply the update, as "
                        "managers that lost quorum do once it returns.",
                        "Read the key again in a minute ('"
                        f"{self.backend.docker_cli} swarm unlock-key -q', or the "
                        "console's unlock key pane): a fingerprint "
                        "other than the one before the rotation "
                        f"({progress.old_key_fingerprint}) means it took effect, "
                        "and that key is the one to store.",
                        pending=True,
                    ) from None
                progress.update_sent = False
                raise
            log.info(
                "the unlock key update on cluster %s failed (%s), but the key "
                "read afterwards changed",
                before.cluster_id,
                error.title,
            )
        try:
            after = self.read()
            new_key = new_key or self.backend.unlock_key()
        except SwarmTuiError as error:
            raise RotationOutcomeUnknownError(
                "The engine accepted the unlock key rotation, but reading the "
                f"swarm afterwards failed ({error.message}), so the new key could "
                "not be checked.",
                f"Read the key again ('{self.backend.docker_cli} swarm "
                "unlock-key -q', or the console's unlock key pane): a fingerprint "
                "other than the one before the rotation "
                f"({progress.old_key_fingerprint}) means it took effect, and that "
                "key is the one to store.",
            ) from None

        problems = []
        if not new_key or new_key == old_key:
            problems.append("the unlock key did not change")
        for role in Role:
            if before.token_fingerprint(role) != after.token_fingerprint(role):
                problems.append(f"the {role} token changed too")
        if before.ca_digest != after.ca_digest:
            problems.append("the root CA changed at the same time")
        if not after.autolock:
            problems.append("autolock is now off")
        if problems:
            raise RotationVerifyError(
                "The engine accepted the unlock key rotation, but reading the "
                "swarm back shows that " + " and ".join(problems) + ".",
                "Read the swarm again; another admin may be changing it too.",
            )
        log.info(
            "rotated the unlock key on cluster %s: %s -> %s",
            after.cluster_id,
            unlock_key_fingerprint(old_key),
            unlock_key_fingerprint(new_key),
        )
        return UnlockKeyRotation(
            before=before,
            after=after,
            old_key_fingerprint=unlock_key_fingerprint(old_key),
            new_key_fingerprint=unlock_key_fingerprint(new_key),
            new_key=new_key,
        )

    def _read_back_key(self, failure: SwarmTuiError, old_fingerprint: str) -> str:
        """Read the unlock key after a failed update.

        Raise RotationOutcomeUnknownError when that read fails too.
        """
        try:
            return self.backend.unlock_key()
        except SwarmTuiError as error:
            raise RotationOutcomeUnknownError(
                f"Rotating the unlock key failed ({failure.message}), and reading "
                f"the key afterwards failed too ({error.message}), so whether the "
                "key changed is unknown.",
                "Read the key again before you rotate it again "
                f"('{self.backend.docker_cli} swarm unlock-key -q', or the "
                "console's unlock key pane): a fingerprint other than the one "
                f"before the rotation ({old_fingerprint}) means it took effect, "
                "and that key is the one to store.",
            ) from None

    # -- audit ------------------------------------------------------------

    def record(self, action: str, **fields: Any) -> None:
        """Append a console or CLI event, such as a copy or reveal, to the audit."""
        self._audit(action, **fields)

    def record_declined(
        self,
        request: str,
        roles: Iterable[Role] = (),
        view: SwarmView | None = None,
        **fields: Any,
    ) -> None:
        """Append a rotation that was declined at its confirmation to the audit.

        `request` is the action that the rotation would have been recorded
        as, such as rotate or leak-response. The event lists the tokens
        that stay live.
        """
        self._audit(
            DECLINED_ACTION,
            roles=roles,
            view=view,
            request=request,
            result="declined",
            **fields,
        )

    def joinable_backend(self) -> JoinableBackend:
        """Return the backend if it can simulate joins (the demo swarm), or raise."""
        backend = self.backend
        if not isinstance(backend, JoinableBackend):
            raise UnsupportedError(
                f"Only the demo swarm can simulate a join; {backend.endpoint} is "
                "a real engine.",
                "Add --demo, or join a real node with 'docker swarm join'.",
            )
        return backend

    def try_join(self, token: str, hostname: str, address: str = "") -> NodeInfo:
        """Join a simulated node to the demo swarm, and audit the attempt.

        A rejected token is audited too, with the error's title. The event
        carries the token's fingerprint when the text is a token, never the
        token itself.
        """
        backend = self.joinable_backend()
        cluster_id = backend.inspect_swarm().cluster_id
        try:
            token_fingerprint = fingerprint(parse_token(extract_token(token)).text)
        except TokenFormatError:
            token_fingerprint = None
        fields: dict[str, Any] = {"cluster_id": cluster_id}
        if token_fingerprint is not None:
            fields["token_fingerprint"] = token_fingerprint
        try:
            node = backend.join(token, hostname, address)
        except SwarmTuiError as error:
            self._audit(
                "demo-join",
                result="rejected",
                error=error.title,
                reason=error.message,
                **fields,
            )
            raise
        self._audit(
            "demo-join", roles=[node.role], result="ok", node_id=node.id, **fields
        )
        return node

    def _audit(
        self,
        action: str,
        *,
        roles: Iterable[Role] = (),
        old: SwarmView | None = None,
        new: SwarmView | None = None,
        view: SwarmView | None = None,
        **fields: Any,
    ) -> None:
        if self.audit is None:
            return
        reference = new or old or view
        role_list = sorted(str(role) for role in roles)
        entry: dict[str, Any] = {
            "endpoint": self.backend.endpoint,
            "cluster_id": reference.cluster_id if reference else None,
        }
        if role_list:
            entry["role"] = "+".join(role_list)
        if old is not None and role_list:
            entry["old_fingerprints"] = {
                role: old.token_fingerprint(Role(role)) for role in role_list
            }
        if new is not None and role_list:
            entry["new_fingerprints"] = {
                role: new.token_fingerprint(Role(role)) for role in role_list
            }
        if view is not None and old is None and new is None and role_list:
            # A copy, reveal or display: the token it was about.
            entry["fingerprints"] = {
                role: view.token_fingerprint(Role(role)) for role in role_list
            }
        entry.update(fields)
        try:
            self.audit.record(action, **entry)
        except Exception as error:  # an audit failure never blocks the action
            # Callers report audit_failures to the user, so the log line is
            # for -v only; a WARNING would print the failure twice.
            log.info("audit record for %s failed: %s", action, error)
            failure = (
                error
                if isinstance(error, AuditWriteError)
                else self._unexpected_audit_failure(action, error)
            )
            self.audit_failures.append(failure)
            if self.on_audit_error is not None:
                try:
                    self.on_audit_error(failure)
                except Exception as callback_error:
                    log.warning("audit error callback failed: %s", callback_error)

    def _unexpected_audit_failure(
        self, action: str, error: Exception
    ) -> AuditWriteError:
        """Describe an audit write that failed outside the audit log's own checks.

        An OSError names its cause and the file, such as a path too long for
        the file system, which fails before the file is opened.
        """
        cause = type(error).__name__
        where = ""
        if isinstance(error, OSError):
            cause = (error.strerror or str(error)).lower()
            path = getattr(self.audit, "path", None)
            if path is not None:
                where = f" to {shorten_long_words(str(path))}"
        return AuditWriteError(
            f"The audit event for the {action} could not be written{where} "
            f"({cause}); the {action} itself went ahead.",
            "Check the audit file settings: SWARMTUI_AUDIT_FILE, or audit_file "
            "in the config file.",
        )


# Further apart than this, a node was not made by 'docker swarm init'. A
# node that joins needs a TLS handshake and a certificate first, which took
# about a second on dockerd 20.10 with both daemons on one machine.
FOUNDING_NODE_WINDOW = timedelta(milliseconds=100)


def _created_the_swarm(node: NodeInfo, swarm_created_at: datetime | None) -> bool:
    if node.created_at is None or swarm_created_at is None:
        return False
    return abs(node.created_at - swarm_created_at) < FOUNDING_NODE_WINDOW

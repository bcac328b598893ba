"""The embedded demo swarm: a realistic swarm with no Docker engine at all.

The swarm lives in one TOML file (mode 0600) that contains its root CA
certificate, both join tokens, the Spec, the nodes and the fingerprints of
retired tokens. Because the file is the swarm, it is the one place outside an
engine where tokens are written down. Every call re-reads the file when it
changed on disk, and every change happens under an exclusive lock on a side
file, so two consoles on one file behave like two admins on one swarm: a
writer with a stale version gets UpdateOutOfSequence.

With a seed, the ids, the CA key and certificate, the tokens and the node
times are the same on every run, which keeps snapshot tests and screenshots
stable. Without one, every secret comes from the operating system's CSPRNG.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import ipaddress
import json
import logging
import os
import random
import re
import secrets
import stat
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import tomli_w

from swarmtui.atomicfile import (
    OTHER_PATH_STEP,
    FileRejected,
    LockTimeout,
    ensure_folder,
    exclusive_lock,
    explain_file_error,
    file_type_text,
    fsync_folder,
    read_private_file,
    write_atomic,
)
from swarmtui.backends.base import UpdateOutOfSequence
from swarmtui.errors import (
    EngineError,
    JoinRejectedError,
    RequestTimeoutError,
    StateFileError,
    SwarmReplacedError,
    TokenFormatError,
)
from swarmtui.models import EngineInfo, NodeInfo, Role, SwarmSnapshot
from swarmtui.timetext import seconds_text
from swarmtui.tokens import (
    SECRET_LENGTH,
    JoinToken,
    ca_digest,
    extract_token,
    fingerprint,
    generate_secret,
    is_other_form_of,
    make_token,
    parse_token,
    quote_input,
    redact,
    to_base36,
    tokens_equal,
)

log = logging.getLogger(__name__)

STATE_FORMAT = 1
DEFAULT_FILE_NAME = "demo-swarm.toml"
DEFAULT_TIMEOUT = 10.0

# The demo swarm reports itself as the engine whose behaviour it copies.
DEMO_API_VERSION = "1.41"
DEMO_ENGINE_VERSION = "20.10.24"

# Addresses from TEST-NET-1 (RFC 5737), reserved for documentation: nothing
# ever connects to them.
JOIN_HOST = "192.0.2.10"
JOIN_PORT = 2377

# With a seed and no clock from the caller, the new swarm's history is laid
# out before this fixed moment, so that a seeded swarm is identical on every
# run. Later changes (rotations, joins) take their times from the clock.
SEEDED_EPOCH = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

# The engine's root CA (20.10) is valid for 20 years of 365 days and starts
# five minutes in the past, on a whole minute.
CA_VALIDITY = timedelta(days=20 * 365)
CA_BACKDATE = timedelta(minutes=5)

# Order of the P-256 group: a private key is an integer in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

# A new swarm's Spec, as Docker Engine 20.10 returns it after `swarm init`.
DEFAULT_SPEC: dict[str, Any] = {
    "Name": "default",
    "Labels": {},
    "Orchestration": {"TaskHistoryRetentionLimit": 5},
    "Raft": {
        "SnapshotInterval": 10000,
        "KeepOldSnapshots": 0,
        "LogEntriesForSlowFollowers": 500,
        "ElectionTick": 10,
        "HeartbeatTick": 1,
    },
    "Dispatcher": {"HeartbeatPeriod": 5000000000},
    "CAConfig": {"NodeCertExpiry": 7776000000000000},
    "TaskDefaults": {},
    "EncryptionConfig": {"AutoLockManagers": False},
}

# The state file lists at most this many retired tokens, the newest ones.
MAX_RETIRED_TOKENS = 200

# The rejection the engine sends when the secret of a token is not current.
STALE_TOKEN_MESSAGE = "A valid join token is necessary to join this cluster"

_NODE_ROLES = {role.value for role in Role}
_VERSION_LINE = re.compile(r"^version\s*=\s*(\d{1,18})\s*$", re.MULTILINE)
HOSTNAME_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$")


@dataclass(frozen=True, slots=True)
class _NodeTemplate:
    hostname: str
    role: Role
    status: str
    availability: str
    engine_version: str
    age: timedelta
    reachability: str = ""


# The initial nodes: 3 managers (the first one leads) and 4 workers.
_INITIAL_NODES = (
    _NodeTemplate(
        "mgr-01",
        Role.MANAGER,
        "ready",
        "active",
        "20.10.24",
        timedelta(days=41),
        "reachable",
    ),
    _NodeTemplate(
        "mgr-02",
        Role.MANAGER,
        "ready",
        "active",
        "20.10.24",
        timedelta(days=40, hours=3),
        "reachable",
    ),
    _NodeTemplate(
        "mgr-03",
        Role.MANAGER,
        "down",
        "active",
        "20.10.21",
        timedelta(days=26, hours=5),
        "unreachable",
    ),
    _NodeTemplate(
        "web-01",
        Role.WORKER,
        "ready",
        "active",
        "20.10.24",
        timedelta(days=39, hours=20),
    ),
    _NodeTemplate(
        "web-02", Role.WORKER, "ready", "drain", "23.0.6", timedelta(days=18, hours=2)
    ),
    _NodeTemplate(
        "batch-01",
        Role.WORKER,
        "down",
        "active",
        "20.10.21",
        timedelta(days=9, hours=7),
    ),
    _NodeTemplate(
        "batch-02", Role.WORKER, "ready", "active", "24.0.7", timedelta(days=2, hours=4)
    ),
)


def default_state_path() -> Path:
    """Return the demo state file in the platform's user data folder."""
    import platformdirs

    return platformdirs.user_data_path("swarmtui") / DEFAULT_FILE_NAME


def display_path(path: Path) -> str:
    """Write a path with the home folder shortened to ~."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


# -- randomness -------------------------------------------------------------


class _Entropy:
    """Random bytes for one change of the swarm: seeded, or from the CSPRNG.

    A seeded source is derived from the seed, a counter stored in the state
    file and a purpose label, so the same sequence of changes gives the same
    ids and secrets in any process.
    """

    def __init__(self, seed: int | None, counter: int) -> None:
        self.seed = seed
        self.counter = counter

    def _rng(self, purpose: str) -> random.Random:
        return random.Random(f"swarmtui-demo/{self.seed}/{self.counter}/{purpose}")

    def value(self, purpose: str, bits: int) -> int:
        if self.seed is None:
            return secrets.randbits(bits)
        return self._rng(purpose).getrandbits(bits)

    def identifier(self, purpose: str) -> str:
        """Make a swarm object id: 128 random bits in base 36, 25 characters."""
        return to_base36(self.value(purpose, 128), 25)

    def secret(self, purpose: str) -> str:
        if self.seed is None:
            return generate_secret()
        return to_base36(self.value(purpose, 128), SECRET_LENGTH)

    def unlock_key(self, purpose: str) -> str:
        """Make a manager unlock key: SWMKEY-1- and 32 bytes in unpadded base64."""
        raw = self.value(purpose, 256).to_bytes(32, "big")
        return "SWMKEY-1-" + base64.b64encode(raw).decode("ascii").rstrip("=")

    def private_key_value(self, purpose: str) -> int | None:
        """Return a P-256 private key number, or None for a fresh random key."""
        if self.seed is None:
            return None
        label = f"swarmtui-demo-ca/{self.seed}/{self.counter}/{purpose}"
        digest = hashlib.sha512(label.encode("utf-8")).digest()
        return int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1


def make_root_ca(entropy: _Entropy, not_before: datetime) -> str:
    """Make a root CA certificate like swarm's: self-signed P-256, CN swarm-ca.

    The private key is dropped at once, because the demo never signs node
    certificates. Returns the certificate in PEM form with one trailing
    newline, the exact bytes the token digest is computed from.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key_value = entropy.private_key_value("ca-key")
    if key_value is None:
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = ec.derive_private_key(key_value, ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "swarm-ca")])
    # A serial number is positive and at most 20 bytes long (RFC 5280).
    serial = entropy.value("ca-serial", 152) | 1
    start = not_before.astimezone(UTC).replace(second=0, microsecond=0)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
            critical=False,
        )
        # ECDSA signatures are randomised unless RFC 6979 nonces are used, and
        # a seeded swarm needs the same certificate bytes on every run.
        .sign(key, hashes.SHA256(), ecdsa_deterministic=entropy.seed is not None)
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


# -- state ------------------------------------------------------------------


@dataclass(slots=True)
class _Retired:
    """A token that no longer joins: its fingerprint only, never the token."""

    fingerprint: str
    role: Role
    retired_at: datetime
    reason: str


@dataclass(slots=True)
class _State:
    """The whole demo swarm, as stored in the state file."""

    cluster_id: str
    version: int
    created_at: datetime
    updated_at: datetime
    spec: dict[str, Any]
    worker_token: str = field(repr=False)
    manager_token: str = field(repr=False)
    unlock_key: str = field(repr=False)
    ca_cert_pem: str
    root_rotation_in_progress: bool
    join_address: str
    node_id: str
    nodes: list[NodeInfo]
    retired: list[_Retired]
    seed: int | None
    counter: int

    def entropy(self) -> _Entropy:
        """Return the randomness for the next change and advance the counter."""
        self.counter += 1
        return _Entropy(self.seed, self.counter)

    def token(self, role: Role) -> str:
        return self.worker_token if role is Role.WORKER else self.manager_token

    def set_token(self, role: Role, token: str) -> None:
        if role is Role.WORKER:
            self.worker_token = token
        else:
            self.manager_token = token

    def retire(self, role: Role, at: datetime, reason: str) -> None:
        """List the current token of `role` as retired, dropping the oldest entries."""
        self.retired.append(_Retired(fingerprint(self.token(role)), role, at, reason))
        del self.retired[:-MAX_RETIRED_TOKENS]


def _cache_key(info: os.stat_result) -> tuple[int, ...]:
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode)


def _new_state(seed: int | None, base: datetime) -> _State:
    """Create a new swarm whose history ends at `base`."""
    entropy = _Entropy(seed, 0)
    created_at = base - timedelta(days=42)
    ca_pem = make_root_ca(entropy, created_at - CA_BACKDATE)
    digest = ca_digest(ca_pem)
    nodes: list[NodeInfo] = []
    for index, template in enumerate(_INITIAL_NODES):
        address = f"192.0.2.{10 + index}"
        manager = template.role is Role.MANAGER
        nodes.append(
            NodeInfo(
                id=entropy.identifier(f"node-{index}"),
                hostname=template.hostname,
                role=template.role,
                address=address,
                status=template.status,
                availability=template.availability,
                created_at=base - template.age,
                engine_version=template.engine_version,
                leader=index == 0,
                manager_address=f"{address}:{JOIN_PORT}" if manager else "",
                reachability=template.reachability,
            )
        )
    return _State(
        cluster_id=entropy.identifier("cluster"),
        version=11,
        created_at=created_at,
        updated_at=created_at,
        spec=copy.deepcopy(DEFAULT_SPEC),
        worker_token=make_token(digest, entropy.secret("worker-token")),
        manager_token=make_token(digest, entropy.secret("manager-token")),
        unlock_key="",
        ca_cert_pem=ca_pem,
        root_rotation_in_progress=False,
        join_address=f"{JOIN_HOST}:{JOIN_PORT}",
        node_id=nodes[0].id,
        nodes=nodes,
        retired=[],
        seed=seed,
        counter=0,
    )


# -- reading and checking the file ------------------------------------------


class _Invalid(Exception):
    """A problem in the state file's content, with the key it is about."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.key = key


def _get(
    table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str
) -> Any:
    if key not in table:
        raise _Invalid(f"the key '{where}{key}' is missing", key)
    value = table[key]
    # A TOML boolean is a Python bool, which is also an int: keep them apart.
    if isinstance(value, bool) and kind is int:
        raise _Invalid(f"'{where}{key}' must be an integer, not a boolean", key)
    if not isinstance(value, kind):
        expected = _type_name(kind)
        raise _Invalid(
            f"'{where}{key}' must be {expected}, not {_type_name(type(value))}", key
        )
    return value


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        bool: "a boolean",
        list: "an array",
        dict: "a table",
        datetime: "a date-time",
        float: "a number",
    }
    if isinstance(kind, tuple):
        return " or ".join(names.get(item, item.__name__) for item in kind)
    return names.get(kind, kind.__name__)


def _get_time(table: dict[str, Any], key: str, where: str) -> datetime:
    value: datetime = _get(table, key, datetime, where)
    if value.tzinfo is None:
        raise _Invalid(
            f"'{where}{key}' must be a date-time with a time zone, such as "
            "2026-01-02T03:04:05Z",
            key,
        )
    return value.astimezone(UTC)


def _get_token(table: dict[str, Any], key: str) -> str:
    value: str = _get(table, key, str, "")
    try:
        parse_token(value)
    except TokenFormatError as error:
        raise _Invalid(
            f"'{key}' is not a well-formed join token: {error.message}", key
        ) from None
    return value


def _parse_node(table: Any, index: int) -> NodeInfo:
    where = f"nodes[{index}]."
    if not isinstance(table, dict):
        raise _Invalid(f"'nodes[{index}]' must be a table", "nodes")
    role = _get(table, "role", str, where)
    if role not in _NODE_ROLES:
        raise _Invalid(
            f"'{where}role' must be 'worker' or 'manager', not '{role}'", "role"
        )
    return NodeInfo(
        id=_get(table, "id", str, where),
        hostname=_get(table, "hostname", str, where),
        role=Role(role),
        address=_get(table, "address", str, where),
        status=_get(table, "status", str, where),
        availability=_get(table, "availability", str, where),
        created_at=_get_time(table, "created_at", where),
        engine_version=_get(table, "engine_version", str, where),
        leader=_get(table, "leader", bool, where),
        manager_address=_get(table, "manager_address", str, where),
        reachability=_get(table, "reachability", str, where),
    )


def _parse_retired(table: Any, index: int) -> _Retired:
    where = f"retired_tokens[{index}]."
    if not isinstance(table, dict):
        raise _Invalid(f"'retired_tokens[{index}]' must be a table", "retired_tokens")
    role = _get(table, "role", str, where)
    if role not in _NODE_ROLES:
        raise _Invalid(
            f"'{where}role' must be 'worker' or 'manager', not '{role}'", "role"
        )
    value = _get(table, "fingerprint", str, where)
    if not re.fullmatch(r"fp:[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}", value):
        raise _Invalid(
            f"'{where}fingerprint' must be a token fingerprint such as "
            "fp:3kq9-x0ab-77mz, not a token or other text",
            "fingerprint",
        )
    return _Retired(
        fingerprint=value,
        role=Role(role),
        retired_at=_get_time(table, "retired_at", where),
        reason=_get(table, "reason", str, where),
    )


def _parse_state(document: dict[str, Any]) -> _State:
    """Check every key of a parsed state file and build the state from it."""
    file_format = _get(document, "format", int, "")
    if file_format != STATE_FORMAT:
        raise _Invalid(
            f"'format' is {file_format}, but this version of swarmtui reads "
            f"format {STATE_FORMAT}",
            "format",
        )
    seed = document.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise _Invalid("'seed' must be an integer", "seed")

    spec_text = _get(document, "spec_json", str, "")
    try:
        spec = json.loads(spec_text)
    except json.JSONDecodeError as error:
        raise _Invalid(
            f"'spec_json' is not valid JSON ({error.msg})", "spec_json"
        ) from None
    except (ValueError, RecursionError):
        raise _Invalid(
            "'spec_json' has a number too long or nesting too deep to read",
            "spec_json",
        ) from None
    if not isinstance(spec, dict):
        raise _Invalid("'spec_json' must hold a JSON object", "spec_json")

    ca_pem = _get(document, "ca_cert_pem", str, "")
    _check_certificate(ca_pem)
    digest = ca_digest(ca_pem)
    worker_token = _get_token(document, "worker_token")
    manager_token = _get_token(document, "manager_token")
    for key, token in (
        ("worker_token", worker_token),
        ("manager_token", manager_token),
    ):
        if not tokens_equal(parse_token(token).digest, digest):
            raise _Invalid(
                f"the digest in '{key}' does not match 'ca_cert_pem'; the token "
                "and the root CA must belong together",
                key,
            )
    if tokens_equal(worker_token, manager_token):
        raise _Invalid(
            "'worker_token' and 'manager_token' must differ", "manager_token"
        )

    unlock_key = _get(document, "unlock_key", str, "")
    if unlock_key and not unlock_key.startswith("SWMKEY-1-"):
        raise _Invalid(
            "'unlock_key' must be empty or start with SWMKEY-1-", "unlock_key"
        )

    nodes = [
        _parse_node(item, index)
        for index, item in enumerate(_get(document, "nodes", list, ""))
    ]
    node_id = _get(document, "node_id", str, "")
    local = [node for node in nodes if node.id == node_id]
    if not local:
        raise _Invalid("'node_id' names no node listed under [[nodes]]", "node_id")
    if local[0].role is not Role.MANAGER:
        raise _Invalid("'node_id' must name a manager node", "node_id")

    retired = [
        _parse_retired(item, index)
        for index, item in enumerate(_get(document, "retired_tokens", list, ""))
    ]
    version = _get(document, "version", int, "")
    if version < 1:
        raise _Invalid("'version' must be a positive integer", "version")
    counter = _get(document, "counter", int, "")
    return _State(
        cluster_id=_get(document, "cluster_id", str, ""),
        version=version,
        created_at=_get_time(document, "created_at", ""),
        updated_at=_get_time(document, "updated_at", ""),
        spec=spec,
        worker_token=worker_token,
        manager_token=manager_token,
        unlock_key=unlock_key,
        ca_cert_pem=ca_pem,
        root_rotation_in_progress=_get(document, "root_rotation_in_progress", bool, ""),
        join_address=_get(document, "join_address", str, ""),
        node_id=node_id,
        nodes=nodes,
        retired=retired,
        seed=seed,
        counter=counter,
    )


def _check_certificate(pem: str) -> None:
    from cryptography import x509

    if not pem.endswith("-----END CERTIFICATE-----\n"):
        raise _Invalid(
            "'ca_cert_pem' must be one PEM certificate ending with a single newline",
            "ca_cert_pem",
        )
    try:
        x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise _Invalid(
            "'ca_cert_pem' is not a readable PEM certificate", "ca_cert_pem"
        ) from None


def _dump_state(state: _State) -> dict[str, Any]:
    document: dict[str, Any] = {"format": STATE_FORMAT}
    if state.seed is not None:
        document["seed"] = state.seed
    document.update(
        {
            "cluster_id": state.cluster_id,
            "version": state.version,
            "counter": state.counter,
            "created_at": state.created_at,
            "updated_at": state.updated_at,
            "join_address": state.join_address,
            "node_id": state.node_id,
            "root_rotation_in_progress": state.root_rotation_in_progress,
            "worker_token": state.worker_token,
            "manager_token": state.manager_token,
            "unlock_key": state.unlock_key,
            # JSON keeps the Spec exactly as sent, nulls and key order included,
            # which TOML tables cannot.
            "spec_json": json.dumps(state.spec),
            "ca_cert_pem": state.ca_cert_pem,
            "nodes": [
                {
                    "id": node.id,
                    "hostname": node.hostname,
                    "role": node.role.value,
                    "address": node.address,
                    "status": node.status,
                    "availability": node.availability,
                    "created_at": node.created_at,
                    "engine_version": node.engine_version,
                    "leader": node.leader,
                    "manager_address": node.manager_address,
                    "reachability": node.reachability,
                }
                for node in state.nodes
            ],
            "retired_tokens": [
                {
                    "fingerprint": item.fingerprint,
                    "role": item.role.value,
                    "retired_at": item.retired_at,
                    "reason": item.reason,
                }
                for item in state.retired
            ],
        }
    )
    return document


def _line_of_key(text: str, key: str | None) -> int | None:
    """Find the line that sets `key`, when exactly one line does."""
    if not key:
        return None
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    lines = [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if pattern.match(line)
    ]
    return lines[0] if len(lines) == 1 else None


_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


def _quoted_input(value: str) -> str:
    """Quote user input for a message, or name its length if it may hold a secret.

    A token pasted into the wrong field must not be repeated, also in part:
    the message goes to the audit record too.
    """
    return quote_input(value)


# -- the backend ------------------------------------------------------------


class DemoBackend:
    """A swarm kept in a TOML file, for demos, tests and screenshots.

    `path` defaults to demo-swarm.toml in the user data folder. `seed` is
    used when the file is created (a missing file makes a new swarm) and is
    stored in it, so later changes stay deterministic. An existing file keeps
    the seed it was made with. `now` replaces the clock for tests.
    """

    def __init__(
        self,
        path: Path | None = None,
        seed: int | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._default_path = path is None
        self.path = (
            Path(path).expanduser() if path is not None else default_state_path()
        )
        self.seed = seed
        self._clock = now
        self._timeout = timeout
        self._cache: _State | None = None
        self._cache_key: tuple[int, ...] | None = None
        self._seed_warned = False
        # The cluster that engine_info returned last, so that inspect_node can
        # tell a reset between the two calls from an unknown node id.
        self._info_cluster_id = ""

    # -- Backend properties -------------------------------------------------

    @property
    def endpoint(self) -> str:
        return redact("demo:" + display_path(self.path))

    @property
    def timeout(self) -> float:
        return self._timeout

    @property
    def unlock_command(self) -> str:
        # The demo swarm is never locked, so this is the plain command.
        return "docker swarm unlock"

    @property
    def docker_cli(self) -> str:
        return "docker"

    @property
    def lock_path(self) -> Path:
        # Next to the file that is written, so that a path through a symbolic
        # link and the real path take the same lock. A link to something that
        # is not a regular file, such as /dev/zero, is never written through,
        # so its lock stays beside the link, not in the device's folder.
        real = Path(os.path.realpath(self.path))
        with contextlib.suppress(OSError):
            if not stat.S_ISREG(os.stat(real).st_mode):
                real = self.path
        return real.with_name(real.name + ".lock")

    def _now(self) -> datetime:
        if self._clock is not None:
            value = self._clock()
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return datetime.now(UTC)

    def _creation_time(self) -> datetime:
        if self._clock is None and self.seed is not None:
            return SEEDED_EPOCH
        return self._now()

    # -- file access ----------------------------------------------------------

    @property
    def cli_options(self) -> str:
        """Return the options that select this demo swarm on the command line."""
        if self._default_path:
            return "--demo"
        return f"--demo --demo-state {display_path(self.path)}"

    def _error(
        self, message: str, hint: str = "", line: int | None = None
    ) -> StateFileError:
        where = display_path(self.path)
        at = f" at line {line}" if line else ""
        default_hint = (
            f"Fix the file, or run 'swarmtui {self.cli_options} demo-reset' to "
            "back it up and start a new demo swarm, or choose another file with "
            "--demo-state."
        )
        return StateFileError(
            f"The demo state file {where} is invalid{at}: {message.rstrip('.')}.",
            hint or default_hint,
            path=str(self.path),
            line=line,
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the exclusive lock on the side lock file, up to the timeout.

        A folder, a FIFO or a device at the path raises StateFileError before
        a lock file is made, so that /dev/null, for one, gets none in /dev.
        """
        info = self._stat()
        if info is not None and not stat.S_ISREG(info.st_mode):
            raise self._special_file_error(self._file_type(info.st_mode))
        self._ensure_folder()
        try:
            with exclusive_lock(self.lock_path, self._timeout):
                yield
        except LockTimeout:
            raise RequestTimeoutError(
                f"The demo state file {display_path(self.path)} stayed locked by "
                f"another process for {seconds_text(self._timeout)}.",
                "Close the other swarmtui that uses it, then retry.",
                sent=False,
            ) from None
        except OSError as error:
            raise self._os_error("lock", self.lock_path, error) from None

    def _ensure_folder(self) -> None:
        try:
            ensure_folder(self.path.parent)
        except OSError as error:
            raise self._os_error("create the folder", self.path.parent, error) from None

    def _os_error(self, action: str, path: Path, error: OSError) -> StateFileError:
        cause, fix = explain_file_error(error, path)
        if fix == OTHER_PATH_STEP:
            hint = (
                "Choose another path with --demo-state: a regular file, or one "
                "that does not exist yet."
            )
        else:
            hint = f"{fix} Or choose another file with --demo-state."
        return StateFileError(
            f"Cannot {action} {display_path(path)} for the demo swarm: {cause}.",
            hint,
            path=str(path),
        )

    def _stat(self) -> os.stat_result | None:
        try:
            return os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise self._os_error("read", self.path, error) from None

    def _load(self) -> _State:
        """Return the current state, reading the file only when it changed."""
        info = self._stat()
        if info is None:
            with self._locked():
                info = self._stat()
                if info is None:
                    state = _new_state(self.seed, self._creation_time())
                    self._write(state)
                    log.info("created a new demo swarm in %s", display_path(self.path))
                    return copy.deepcopy(state)
        state = self._read(info)
        if self.seed is not None and state.seed != self.seed and not self._seed_warned:
            self._seed_warned = True
            made_with = (
                "without a seed" if state.seed is None else f"with seed {state.seed}"
            )
            log.warning(
                "the demo state file %s was made %s, so seed %s is not used; run "
                "'swarmtui %s --demo-seed %s demo-reset' to start over from it",
                display_path(self.path),
                made_with,
                self.seed,
                self.cli_options,
                self.seed,
            )
        return copy.deepcopy(state)

    def _read(self, info: os.stat_result) -> _State:
        """Return the state in the file, from the cache when the file is unchanged.

        The change time is part of the key because no program can set it back,
        unlike the modification time; it also moves on a chmod.
        """
        key = _cache_key(info)
        if self._cache is not None and self._cache_key == key:
            return self._cache

        self._check_file_mode(info)
        try:
            data = read_private_file(self.path)
        except FileRejected as error:
            with contextlib.suppress(OSError):
                mode = os.stat(self.path).st_mode
                if not stat.S_ISREG(mode):
                    raise self._special_file_error(self._file_type(mode)) from None
            raise self._error(str(error)) from None
        except OSError as error:
            raise self._os_error("read", self.path, error) from None
        state = self._parse(data)
        log.debug(
            "read demo swarm %s, version %d, from %s",
            state.cluster_id,
            state.version,
            display_path(self.path),
        )

        self._cache = state
        self._cache_key = key
        return state

    def _file_type(self, mode: int) -> str:
        """Name the file type of `mode`, as a link to it when the path is a link."""
        return file_type_text(mode, through_link=self.path.is_symlink())

    def _special_file_error(self, file_type: str) -> StateFileError:
        """Return the error for a path that names `file_type`, such as "a FIFO".

        Its next step is another path, because a device such as /dev/null may
        be in use by the whole system.
        """
        return StateFileError(
            f"The demo state file {display_path(self.path)} cannot be used: it is "
            f"{file_type}, not a regular file.",
            "Choose another path with --demo-state: a regular file, or one that "
            "does not exist yet.",
            path=str(self.path),
        )

    def _check_file_mode(self, info: os.stat_result) -> None:
        if not stat.S_ISREG(info.st_mode):
            raise self._special_file_error(self._file_type(info.st_mode))
        if info.st_mode & 0o077:
            where = display_path(self.path)
            raise StateFileError(
                f"The demo state file {where} can be read by other users "
                f"(mode {stat.S_IMODE(info.st_mode):04o}), and it contains join "
                "tokens.",
                f"Run 'chmod 600 {where}' and retry.",
                path=str(self.path),
            )

    def _parse(self, data: bytes) -> _State:
        """Parse and check the file's bytes; raise StateFileError naming the line."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise self._error("it is not UTF-8 text", line=line) from None
        if not text.strip():
            raise self._error("it is empty")

        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            # Python 3.11's TOMLDecodeError carries the position only in its text.
            message = str(error)
            match = _TOML_POSITION.search(message)
            line_number: int | None = int(match.group(1)) if match else None
            detail = _TOML_POSITION.sub("", message).strip()
            if line_number is None and "end of document" in detail:
                line_number = text.count("\n") + (0 if text.endswith("\n") else 1)
            raise self._error(
                f"TOML syntax error ({detail})", line=line_number
            ) from None
        except (ValueError, RecursionError):
            # tomllib raises these, not TOMLDecodeError, for an integer too
            # long to convert and for arrays or tables nested too deeply.
            raise self._error(
                "it has a number too long or nesting too deep to read"
            ) from None

        try:
            return _parse_state(document)
        except _Invalid as error:
            line_number = _line_of_key(text, error.key)
            raise self._error(error.message, line=line_number) from None

    def _write(self, state: _State) -> None:
        """Replace the state file atomically; a new file is created with mode 0600."""
        self._ensure_folder()
        data = tomli_w.dumps(_dump_state(state), multiline_strings=True)
        try:
            write_atomic(self.path, data.encode("utf-8"))
            info = os.stat(self.path)
        except OSError as error:
            raise self._os_error("write", self.path, error) from None
        self._cache = copy.deepcopy(state)
        self._cache_key = _cache_key(info)

    @contextlib.contextmanager
    def _change(self) -> Iterator[_State]:
        """Read the newest state under the lock, let the caller change it, write it."""
        with self._locked():
            info = self._stat()
            state = (
                _new_state(self.seed, self._creation_time())
                if info is None
                else copy.deepcopy(self._read(info))
            )
            yield state
            self._write(state)

    def _backup_names(self) -> Iterator[Path]:
        """Yield the free backup paths `<name>.bak-<UTC time>[-N]`, in order.

        Raises StateFileError once 100 of them exist.
        """
        stamp = self._now().strftime("%Y%m%dT%H%M%SZ")
        for number in range(100):
            suffix = f".bak-{stamp}" + (f"-{number}" if number else "")
            backup = self.path.with_name(self.path.name + suffix)
            if not os.path.lexists(backup):
                yield backup
        raise StateFileError(
            f"Cannot back up {display_path(self.path)}: 100 backups named "
            f"{self.path.name}.bak-{stamp}-N exist already.",
            "Remove old backups, then retry.",
            path=str(self.path),
        )

    def _copy_aside(self, data: bytes) -> Path:
        """Write `data`, the state file's bytes, to a new backup file (mode 0600)."""
        try:
            for backup in self._backup_names():
                try:
                    descriptor = os.open(
                        backup,
                        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                        0o600,
                    )
                except FileExistsError:
                    continue
                try:
                    with os.fdopen(descriptor, "wb") as handle:
                        handle.write(data)
                        handle.flush()
                        os.fsync(handle.fileno())
                except OSError:
                    # A partial copy, as on a full disk, would pass for a backup.
                    with contextlib.suppress(OSError):
                        backup.unlink()
                    raise
                return backup
        except OSError as error:
            raise self._os_error("back up", self.path, error) from None
        raise AssertionError("_backup_names ends with an error")

    def _check_regular_file(self) -> bool:
        """Raise StateFileError unless the path names a regular file or nothing.

        A symbolic link is followed. Returns False when nothing is there,
        or the link's target is missing.
        """
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            return False
        except OSError as error:
            cause, fix = explain_file_error(error, self.path)
            raise StateFileError(
                f"The demo swarm was not reset: {display_path(self.path)} could "
                f"not be examined ({cause}), so it was left as it is.",
                f"{fix} Or choose another file with --demo-state.",
                path=str(self.path),
            ) from None
        if not stat.S_ISREG(mode):
            raise StateFileError(
                f"The demo swarm was not reset: {display_path(self.path)} is "
                f"{self._file_type(mode)}, not a regular file, so it was left as "
                "it is.",
                "Choose another path with --demo-state: a regular file, or one "
                "that does not exist yet.",
                path=str(self.path),
            )
        return True

    def _move_aside(self) -> Path:
        """Rename the regular file at the path to a backup name, without reading it.

        The file, such as one too large to read, gets mode 0600 because it
        may contain tokens. Raises StateFileError for anything but a regular
        file or a link to one, which stays where it is.
        """
        self._check_regular_file()
        backup = next(self._backup_names())
        try:
            os.rename(self.path, backup)
            if stat.S_ISREG(os.lstat(backup).st_mode):
                os.chmod(backup, 0o600)
            fsync_folder(self.path.parent)
        except OSError as error:
            folder = display_path(self.path.parent)
            cause = (error.strerror or str(error)).lower()
            raise StateFileError(
                f"The demo swarm was not reset: {display_path(self.path)} could "
                f"not be moved to {display_path(backup)} ({cause}).",
                f"Check the owner and permissions of {folder} and whether it is "
                f"immutable ('lsattr -d {folder}'), or move {display_path(self.path)} "
                "away yourself, or choose another file with --demo-state.",
                path=str(self.path),
            ) from None
        return backup

    # -- Backend calls --------------------------------------------------------

    def engine_info(self) -> EngineInfo:
        state = self._load()
        local = self._local_node(state)
        managers = [node for node in state.nodes if node.role is Role.MANAGER]
        self._info_cluster_id = state.cluster_id
        return EngineInfo(
            node_id=local.id,
            local_node_state="active",
            control_available=True,
            node_address=local.address,
            remote_managers=tuple(node.manager_address for node in managers),
            nodes=len(state.nodes),
            managers=len(managers),
            cluster_id=state.cluster_id,
            api_version=DEMO_API_VERSION,
            engine_version=local.engine_version,
            hostname=local.hostname,
        )

    def _local_node(self, state: _State) -> NodeInfo:
        for node in state.nodes:
            if node.id == state.node_id:
                return node
        raise self._error("'node_id' names no node listed under [[nodes]]")

    def inspect_swarm(self) -> SwarmSnapshot:
        state = self._load()
        return SwarmSnapshot(
            cluster_id=state.cluster_id,
            version=state.version,
            spec=state.spec,
            worker_token=state.worker_token,
            manager_token=state.manager_token,
            ca_pem=state.ca_cert_pem,
            root_rotation_in_progress=state.root_rotation_in_progress,
            created_at=state.created_at,
            updated_at=state.updated_at,
        )

    def inspect_node(self, node_id: str) -> NodeInfo:
        state = self._load()
        for node in state.nodes:
            if node.id == node_id or node.hostname == node_id:
                return node
        if self._info_cluster_id and self._info_cluster_id != state.cluster_id:
            raise SwarmReplacedError(
                f"The demo swarm {self.endpoint} was reset while reading; retry.",
                "A demo-reset replaced the swarm between two reads; read it again.",
            )
        raise EngineError(
            f"The demo swarm {self.endpoint} has no node {node_id}.",
            "List the nodes to see their ids.",
        )

    def list_nodes(self) -> list[NodeInfo]:
        return list(self._load().nodes)

    def update_swarm(
        self,
        version: int,
        spec: dict[str, Any],
        *,
        rotate_worker_token: bool = False,
        rotate_manager_token: bool = False,
        rotate_unlock_key: bool = False,
    ) -> None:
        if not isinstance(spec, dict):
            raise EngineError("The swarm Spec sent to the demo swarm is not an object.")
        try:
            stored_spec = json.loads(json.dumps(spec))
        except (TypeError, ValueError) as error:
            raise EngineError(
                f"The swarm Spec sent to the demo swarm cannot be stored: {error}."
            ) from None
        with self._change() as state:
            if version != state.version:
                # The engine's words for a stale version, as the engine backend
                # passes them on.
                raise UpdateOutOfSequence(
                    "rpc error: code = Unknown desc = update out of sequence"
                )
            now = self._now()
            entropy = state.entropy()
            old_force = _force_rotate(state.spec)
            new_force = _force_rotate(stored_spec)
            for role, requested in (
                (Role.WORKER, rotate_worker_token),
                (Role.MANAGER, rotate_manager_token),
            ):
                if requested:
                    state.retire(role, now, "token rotation")
                    digest = parse_token(state.token(role)).digest
                    state.set_token(
                        role, make_token(digest, entropy.secret(f"{role}-token"))
                    )
            was_locked = _autolock(state.spec)
            state.spec = stored_spec
            locked = _autolock(stored_spec)
            if locked and (not was_locked or rotate_unlock_key or not state.unlock_key):
                state.unlock_key = entropy.unlock_key("unlock-key")
            elif not locked:
                state.unlock_key = ""
            if new_force != old_force:
                self._replace_ca(state, entropy, now)
            state.version += 1
            state.updated_at = now
        log.info("demo swarm %s updated to version %d", state.cluster_id, state.version)

    def unlock_key(self) -> str:
        return self._load().unlock_key

    def close(self) -> None:
        self._cache = None
        self._cache_key = None

    def reset(self) -> Path | None:
        """Replace the swarm with a new one, after setting the old file aside.

        Returns the backup path, or None when there was no file. A file that
        can be read is copied byte for byte, even when it is broken, to
        `<name>.bak-<UTC time>` with mode 0600, before anything is written.
        A regular file that cannot be read (over the size limit, or with no
        read permission) is renamed to that name instead. Anything else at
        the path (a folder, a FIFO, a device, or a link to one of them)
        raises StateFileError and is left as it is.
        """
        # Checked before the lock too, so that a reset of a device such as
        # /dev/null creates no lock file in /dev.
        if self._lstat() is not None:
            self._check_regular_file()
        with self._locked():
            backup = None
            old_version = 0
            # A link to a missing file is not checked: the new swarm is
            # written at its target, as when the file is missing.
            if self._lstat() is not None and self._check_regular_file():
                try:
                    data: bytes | None = read_private_file(self.path)
                except FileNotFoundError:
                    data = None
                except (FileRejected, OSError):
                    data = None
                    backup = self._move_aside()
                if data is not None:
                    backup = self._copy_aside(data)
                    old_version = self._stored_version(data)
            state = _new_state(self.seed, self._creation_time())
            # Versions never repeat in one file, so an update prepared on the
            # old swarm is out of sequence on the new one, as on an engine.
            state.version = max(state.version, old_version + 1)
            self._write(state)
        log.info(
            "replaced the demo swarm in %s with a new one (backup: %s)",
            display_path(self.path),
            display_path(backup) if backup else "none",
        )
        return backup

    def _lstat(self) -> os.stat_result | None:
        """Return the status of the path itself, a symbolic link not followed."""
        try:
            return os.lstat(self.path)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise self._os_error("read", self.path, error) from None

    def _stored_version(self, data: bytes) -> int:
        """Return the version in the state file's bytes, read leniently if broken."""
        try:
            return self._parse(data).version
        except StateFileError:
            pass
        found = _VERSION_LINE.search(data.decode("utf-8", "replace"))
        return int(found.group(1)) if found else 0

    # -- demo-only calls ----------------------------------------------------------

    def rotate_ca(self) -> None:
        """Rotate the root CA as `docker swarm ca --rotate` does.

        The docker CLI raises `CAConfig.ForceRotate` in the Spec. The engine
        then makes a new CA and new join tokens, which carry the new digest.
        """
        with self._change() as state:
            now = self._now()
            entropy = state.entropy()
            spec = copy.deepcopy(state.spec)
            ca_config = spec.get("CAConfig")
            if not isinstance(ca_config, dict):
                ca_config = spec["CAConfig"] = {}
            ca_config["ForceRotate"] = _force_rotate(state.spec) + 1
            state.spec = spec
            self._replace_ca(state, entropy, now)
            state.version += 1
            state.updated_at = now

    def _replace_ca(self, state: _State, entropy: _Entropy, now: datetime) -> None:
        # Docker Engine 20.10 keeps the old CA and tokens while
        # RootRotationInProgress is true (about 2 s on a one-node swarm), then
        # switches to the new CA and new secrets at once. `docker swarm ca
        # --rotate` waits for that by default, and the demo swarm has no nodes
        # to wait for, so it switches here and never reports a rotation running.
        state.ca_cert_pem = make_root_ca(entropy, now - CA_BACKDATE)
        digest = ca_digest(state.ca_cert_pem)
        for role in Role:
            state.retire(role, now, "root CA rotation")
            state.set_token(
                role, make_token(digest, entropy.secret(f"ca-{role}-token"))
            )
        state.root_rotation_in_progress = False

    def retired_token(self, token_fingerprint: str) -> tuple[Role, datetime] | None:
        """Return the role and time of a retired token of this swarm, if listed."""
        found = None
        for item in self._load().retired:
            if tokens_equal(item.fingerprint, token_fingerprint):
                found = (item.role, item.retired_at)
        return found

    def join(self, token: str, hostname: str, address: str = "") -> NodeInfo:
        """Add a node with the role `token` grants, or reject it as a manager would.

        The checks run in the engine's order: the token's format, then its CA
        digest against the swarm's root CA (the joining node does this), then
        its secret against the current tokens (the manager does this).
        """
        if not HOSTNAME_PATTERN.match(hostname or ""):
            raise JoinRejectedError(
                f"The hostname {_quoted_input(hostname)} is not valid for a demo node.",
                "Use letters, digits, dots and dashes, at most 63 characters.",
            )
        if address:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise JoinRejectedError(
                    f"The address {_quoted_input(address)} is not an IPv4 or IPv6 "
                    "address.",
                    "Give the new node an address such as 192.0.2.50.",
                ) from None
        try:
            parsed = parse_token(extract_token(token))
        except TokenFormatError as error:
            raise JoinRejectedError(
                f"Invalid join token: {error.message}", error.hint
            ) from None
        text = str(parsed)
        with self._change() as state:
            digest = ca_digest(state.ca_cert_pem)
            is_worker = tokens_equal(text, state.worker_token)
            is_manager = tokens_equal(text, state.manager_token)
            if not tokens_equal(parsed.digest, digest):
                raise JoinRejectedError(
                    f"The root CA of the swarm at {state.join_address} does not "
                    "match the CA digest in the token, so the joining node stops "
                    "before it sends the token (the engine reports 'remote CA "
                    "does not match fingerprint').",
                    self._retired_hint(state, text)
                    or "The token belongs to another swarm, or to this swarm "
                    "before its root CA was rotated. Get the current token with "
                    f"'swarmtui {self.cli_options} join-token worker' (or manager).",
                )
            if not (is_worker or is_manager):
                raise JoinRejectedError(
                    STALE_TOKEN_MESSAGE + ".",
                    self._retired_hint(state, text)
                    or _not_current_hint(parsed, state, self.cli_options),
                )
            role = Role.WORKER if is_worker else Role.MANAGER
            if address:
                self._check_address_free(state, address)
            entropy = state.entropy()
            node_address = address or self._free_address(state)
            node = NodeInfo(
                id=entropy.identifier("node"),
                hostname=hostname,
                role=role,
                address=node_address,
                status="ready",
                availability="active",
                created_at=self._now(),
                engine_version=DEMO_ENGINE_VERSION,
                leader=False,
                manager_address=f"{node_address}:{JOIN_PORT}"
                if role is Role.MANAGER
                else "",
                reachability="reachable" if role is Role.MANAGER else "",
            )
            state.nodes.append(node)
        log.info(
            "node %s (%s) joined demo swarm %s as a %s",
            node.hostname,
            node.id,
            state.cluster_id,
            role,
        )
        return node

    def _retired_hint(self, state: _State, token: str) -> str:
        token_fingerprint = fingerprint(token)
        for item in reversed(state.retired):
            if tokens_equal(item.fingerprint, token_fingerprint):
                return (
                    f"This was the {item.role} token of this swarm until "
                    f"{item.retired_at:%Y-%m-%d %H:%M} UTC ({item.reason}). Get the "
                    f"current one with 'swarmtui {self.cli_options} join-token "
                    f"{item.role}'."
                )
        return ""

    def _check_address_free(self, state: _State, address: str) -> None:
        requested = ipaddress.ip_address(address)
        for node in state.nodes:
            try:
                existing = ipaddress.ip_address(node.address)
            except ValueError:
                continue
            if existing == requested:
                raise JoinRejectedError(
                    f"The address {address} is already the address of node "
                    f"{node.hostname} ({node.id[:12]}) in the demo swarm.",
                    "Give the new node another address, or leave --address out "
                    "to get a free one.",
                )

    def _free_address(self, state: _State) -> str:
        used = {node.address for node in state.nodes}
        for last in range(10, 255):
            candidate = f"192.0.2.{last}"
            if candidate not in used:
                return candidate
        raise JoinRejectedError(
            "The demo swarm has no free address left in 192.0.2.0/24.",
            "Pass an address for the new node.",
        )


def _not_current_hint(token: JoinToken, state: _State, options: str) -> str:
    """Explain a rejected token that has the swarm's CA digest."""
    for role, current in (
        (Role.WORKER, state.worker_token),
        (Role.MANAGER, state.manager_token),
    ):
        if is_other_form_of(token, current):
            return (
                f"The token is a version {token.version} form of the current "
                f"{role} token (same secret, another version or FIPS flag), and "
                "a manager compares the whole token text. Use the token exactly "
                f"as 'swarmtui {options} join-token {role}' prints it."
            )
    return (
        "The token is not a current token of this swarm (never issued, or "
        "rotated before swarmtui recorded it). Get the current one with "
        f"'swarmtui {options} join-token worker' (or manager)."
    )


def _force_rotate(spec: dict[str, Any]) -> int:
    ca_config = spec.get("CAConfig")
    if not isinstance(ca_config, dict):
        return 0
    value = ca_config.get("ForceRotate")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _autolock(spec: dict[str, Any]) -> bool:
    encryption = spec.get("EncryptionConfig")
    return isinstance(encryption, dict) and bool(encryption.get("AutoLockManagers"))

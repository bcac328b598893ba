"""The demo swarm backend: its CA, tokens, rotation, joins and concurrent writers."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from demo_support import FIXED_NOW, Clock, make_demo
from tui_support import DelegatingBackend

from swarmtui.backends.base import JoinableBackend, UpdateOutOfSequence
from swarmtui.backends.demo import (
    DEFAULT_SPEC,
    MAX_RETIRED_TOKENS,
    SEEDED_EPOCH,
    STALE_TOKEN_MESSAGE,
    DemoBackend,
)
from swarmtui.errors import JoinRejectedError, NotAManagerError, RotationConflictError
from swarmtui.models import EngineInfo, Role, SwarmSnapshot
from swarmtui.service import TokenService
from swarmtui.tokens import BASE36_ALPHABET, ca_digest, fingerprint, parse_token


def is_object_id(value: str) -> bool:
    return len(value) == 25 and all(c in BASE36_ALPHABET for c in value)


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "swarm" / "demo.toml"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def demo(state_path: Path, clock: Clock) -> DemoBackend:
    return make_demo(state_path, seed=1, clock=clock)


# -- a new swarm ------------------------------------------------------------


def test_demo_backend_is_joinable(demo: DemoBackend) -> None:
    assert isinstance(demo, JoinableBackend)


def test_new_swarm_nodes(demo: DemoBackend) -> None:
    nodes = demo.list_nodes()
    managers = [node for node in nodes if node.role is Role.MANAGER]
    workers = [node for node in nodes if node.role is Role.WORKER]
    assert len(managers) == 3
    assert len(workers) == 4
    assert [node.leader for node in nodes].count(True) == 1
    assert {node.status for node in nodes} == {"ready", "down"}
    assert len({node.engine_version for node in nodes}) > 1
    assert len({node.hostname for node in nodes}) == len(nodes)
    for node in nodes:
        assert is_object_id(node.id), node.id
        assert node.address.startswith("192.0.2."), node.address
        assert node.created_at is not None
        assert node.created_at <= FIXED_NOW
        assert node.created_at >= FIXED_NOW - timedelta(days=60)
    times = sorted(node.created_at for node in nodes if node.created_at)
    assert times[-1] - times[0] > timedelta(days=14)
    for manager in managers:
        assert manager.manager_address == f"{manager.address}:2377"


def test_new_swarm_engine_info(demo: DemoBackend) -> None:
    info = demo.engine_info()
    assert info.local_node_state == "active"
    assert info.control_available is True
    assert info.nodes == 7
    assert info.managers == 3
    assert is_object_id(info.cluster_id)
    local = demo.inspect_node(info.node_id)
    assert local.leader is True
    assert local.manager_address == "192.0.2.10:2377"


def test_root_ca_is_like_swarms(demo: DemoBackend) -> None:
    snapshot = demo.inspect_swarm()
    pem = snapshot.ca_pem
    assert pem.startswith("-----BEGIN CERTIFICATE-----\n")
    assert pem.endswith("-----END CERTIFICATE-----\n")
    assert not pem.endswith("\n\n")
    certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    common_names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert [name.value for name in common_names] == ["swarm-ca"]
    assert certificate.issuer == certificate.subject
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert public_key.curve.name == "secp256r1"
    certificate.verify_directly_issued_by(certificate)
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca is True
    assert constraints.critical is True
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert lifetime == timedelta(days=20 * 365)
    assert certificate.not_valid_before_utc.second == 0


def test_tokens_have_the_real_format(demo: DemoBackend) -> None:
    snapshot = demo.inspect_swarm()
    worker = parse_token(snapshot.worker_token)
    manager = parse_token(snapshot.manager_token)
    digest = ca_digest(snapshot.ca_pem)
    assert worker.version == 1
    assert worker.fips is False
    assert worker.digest == digest
    assert manager.digest == digest
    assert worker.secret != manager.secret
    assert str(worker) == snapshot.worker_token


def test_spec_is_the_engines_default(demo: DemoBackend) -> None:
    assert demo.inspect_swarm().spec == DEFAULT_SPEC
    assert demo.inspect_swarm().autolock is False
    assert demo.unlock_key() == ""


def test_endpoint_names_the_file(demo: DemoBackend, state_path: Path) -> None:
    assert demo.endpoint == f"demo:{state_path}"


def test_endpoint_shortens_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    backend = DemoBackend(path=tmp_path / "sub" / "s.toml", seed=1)
    assert backend.endpoint == "demo:~/sub/s.toml"


def test_default_path_in_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    backend = DemoBackend(seed=1, now=Clock())
    backend.inspect_swarm()
    assert backend.path == tmp_path / "data" / "swarmtui" / "demo-swarm.toml"
    assert backend.path.exists()


# -- determinism ----------------------------------------------------------------


def test_same_seed_gives_identical_state(tmp_path: Path) -> None:
    first = make_demo(tmp_path / "a.toml", seed=42)
    second = make_demo(tmp_path / "b.toml", seed=42)
    assert first.inspect_swarm() == second.inspect_swarm()
    assert first.list_nodes() == second.list_nodes()
    assert (tmp_path / "a.toml").read_bytes() == (tmp_path / "b.toml").read_bytes()


def test_same_seed_same_rotations(tmp_path: Path) -> None:
    backends = [make_demo(tmp_path / f"{name}.toml", seed=9) for name in "ab"]
    for backend in backends:
        version = backend.inspect_swarm().version
        backend.update_swarm(
            version, backend.inspect_swarm().spec, rotate_worker_token=True
        )
        backend.rotate_ca()
    first, second = (backend.inspect_swarm() for backend in backends)
    assert first.worker_token == second.worker_token
    assert first.manager_token == second.manager_token
    assert first.ca_pem == second.ca_pem


def test_different_seeds_differ(tmp_path: Path) -> None:
    first = make_demo(tmp_path / "a.toml", seed=1).inspect_swarm()
    second = make_demo(tmp_path / "b.toml", seed=2).inspect_swarm()
    assert first.cluster_id != second.cluster_id
    assert first.ca_pem != second.ca_pem
    assert first.worker_token != second.worker_token
    assert first.manager_token != second.manager_token


def test_seed_without_clock_uses_fixed_dates(tmp_path: Path) -> None:
    first = DemoBackend(path=tmp_path / "a.toml", seed=5)
    second = DemoBackend(path=tmp_path / "b.toml", seed=5)
    assert first.list_nodes() == second.list_nodes()
    newest = max(node.created_at for node in first.list_nodes() if node.created_at)
    assert newest < SEEDED_EPOCH
    assert newest > SEEDED_EPOCH - timedelta(days=7)


def test_unseeded_swarms_differ(tmp_path: Path) -> None:
    first = DemoBackend(path=tmp_path / "a.toml").inspect_swarm()
    second = DemoBackend(path=tmp_path / "b.toml").inspect_swarm()
    assert first.cluster_id != second.cluster_id
    assert first.ca_pem != second.ca_pem
    assert first.worker_token != second.worker_token


# -- updates ------------------------------------------------------------------


@pytest.mark.parametrize(
    "roles",
    [{Role.WORKER}, {Role.MANAGER}, {Role.WORKER, Role.MANAGER}],
    ids=["worker", "manager", "both"],
)
def test_rotation_keeps_digest_bumps_version(
    demo: DemoBackend, roles: set[Role]
) -> None:
    before = demo.inspect_swarm()
    demo.update_swarm(
        before.version,
        before.spec,
        rotate_worker_token=Role.WORKER in roles,
        rotate_manager_token=Role.MANAGER in roles,
    )
    after = demo.inspect_swarm()
    assert after.version > before.version
    assert after.ca_pem == before.ca_pem
    for role in Role:
        old, new = parse_token(before.token(role)), parse_token(after.token(role))
        assert new.digest == old.digest
        if role in roles:
            assert new.secret != old.secret
        else:
            assert new.secret == old.secret
    assert after.spec == before.spec


def test_stale_version_is_out_of_sequence(demo: DemoBackend) -> None:
    snapshot = demo.inspect_swarm()
    demo.update_swarm(snapshot.version, snapshot.spec, rotate_worker_token=True)
    after_first = demo.inspect_swarm()
    with pytest.raises(UpdateOutOfSequence):
        demo.update_swarm(snapshot.version, snapshot.spec, rotate_manager_token=True)
    assert demo.inspect_swarm() == after_first


def test_spec_stored_exactly_as_sent(demo: DemoBackend) -> None:
    snapshot = demo.inspect_swarm()
    spec = {
        "Name": "default",
        "Labels": {"team": "ops", "note": "ünïcode"},
        "Raft": {"SnapshotInterval": 10000, "KeepOldSnapshots": None},
        "TaskDefaults": {"LogDriver": None},
        "CAConfig": {"NodeCertExpiry": 7776000000000000, "ExternalCAs": []},
        "EncryptionConfig": {"AutoLockManagers": False},
        "Extra": [1, 2.5, "three", {"four": True}],
    }
    demo.update_swarm(snapshot.version, spec)
    returned = demo.inspect_swarm().spec
    assert returned == spec
    assert list(returned) == list(spec)
    returned["Labels"]["team"] = "changed"
    assert demo.inspect_swarm().spec == spec


def test_autolock_unlock_key(demo: DemoBackend) -> None:
    snapshot = demo.inspect_swarm()
    spec = dict(snapshot.spec, EncryptionConfig={"AutoLockManagers": True})
    demo.update_swarm(snapshot.version, spec)
    key = demo.unlock_key()
    assert key.startswith("SWMKEY-1-")
    assert len(key.removeprefix("SWMKEY-1-")) == 43
    assert demo.inspect_swarm().autolock is True

    snapshot = demo.inspect_swarm()
    demo.update_swarm(snapshot.version, snapshot.spec, rotate_unlock_key=True)
    rotated = demo.unlock_key()
    assert rotated.startswith("SWMKEY-1-")
    assert rotated != key

    snapshot = demo.inspect_swarm()
    demo.update_swarm(snapshot.version, snapshot.spec, rotate_worker_token=True)
    assert demo.unlock_key() == rotated

    snapshot = demo.inspect_swarm()
    off = dict(snapshot.spec, EncryptionConfig={"AutoLockManagers": False})
    demo.update_swarm(snapshot.version, off)
    assert demo.unlock_key() == ""


def test_rotate_ca_changes_both_digests(demo: DemoBackend) -> None:
    before = demo.inspect_swarm()
    demo.rotate_ca()
    after = demo.inspect_swarm()
    new_digest = ca_digest(after.ca_pem)
    assert after.ca_pem != before.ca_pem
    assert new_digest != ca_digest(before.ca_pem)
    for role in Role:
        token = parse_token(after.token(role))
        assert token.digest == new_digest
        assert token.secret != parse_token(before.token(role)).secret
    assert after.version > before.version
    assert after.spec["CAConfig"]["ForceRotate"] == 1
    assert after.root_rotation_in_progress is False
    certificate = x509.load_pem_x509_certificate(after.ca_pem.encode("ascii"))
    certificate.verify_directly_issued_by(certificate)


def test_force_rotate_in_spec_rotates_ca(demo: DemoBackend) -> None:
    before = demo.inspect_swarm()
    spec = dict(before.spec)
    spec["CAConfig"] = dict(spec["CAConfig"], ForceRotate=1)
    demo.update_swarm(before.version, spec)
    after = demo.inspect_swarm()
    assert ca_digest(after.ca_pem) != ca_digest(before.ca_pem)
    assert parse_token(after.worker_token).digest == ca_digest(after.ca_pem)


def test_retired_token_lookup(demo: DemoBackend, clock: Clock) -> None:
    before = demo.inspect_swarm()
    rotated_at = clock.advance(hours=1)
    demo.update_swarm(before.version, before.spec, rotate_manager_token=True)
    found = demo.retired_token(fingerprint(before.manager_token))
    assert found == (Role.MANAGER, rotated_at)
    assert demo.retired_token(fingerprint(before.worker_token)) is None


def test_retired_list_holds_no_token(demo: DemoBackend, state_path: Path) -> None:
    before = demo.inspect_swarm()
    demo.update_swarm(
        before.version,
        before.spec,
        rotate_worker_token=True,
        rotate_manager_token=True,
    )
    text = state_path.read_text()
    assert before.worker_token not in text
    assert before.manager_token not in text
    assert parse_token(before.worker_token).secret not in text
    assert fingerprint(before.worker_token) in text


# -- joins ----------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_join_with_current_token(
    demo: DemoBackend, clock: Clock, state_path: Path, role: Role
) -> None:
    joined_at = clock.advance(minutes=5)
    node = demo.join(demo.inspect_swarm().token(role), "new-node")
    assert node.role is role
    assert node.hostname == "new-node"
    assert node.created_at == joined_at
    assert is_object_id(node.id)
    reopened = DemoBackend(path=state_path)
    assert node in reopened.list_nodes()
    assert reopened.engine_info().nodes == 8
    if role is Role.MANAGER:
        assert reopened.engine_info().managers == 4


def test_join_does_not_change_version(demo: DemoBackend) -> None:
    version = demo.inspect_swarm().version
    demo.join(demo.inspect_swarm().worker_token, "n1", "192.0.2.200")
    assert demo.inspect_swarm().version == version
    assert demo.list_nodes()[-1].address == "192.0.2.200"


def test_join_with_old_token_rejected(demo: DemoBackend) -> None:
    before = demo.inspect_swarm()
    demo.update_swarm(before.version, before.spec, rotate_worker_token=True)
    with pytest.raises(JoinRejectedError) as caught:
        demo.join(before.worker_token, "late-node")
    message = str(caught.value)
    assert message.startswith(STALE_TOKEN_MESSAGE)
    assert "worker token of this swarm until" in message
    assert before.worker_token not in message
    assert parse_token(before.worker_token).secret not in message
    assert len(demo.list_nodes()) == 7


def test_join_with_unknown_secret_rejected(demo: DemoBackend) -> None:
    digest = parse_token(demo.inspect_swarm().worker_token).digest
    token = f"SWMTKN-1-{digest}-{'a' * 25}"
    with pytest.raises(JoinRejectedError) as caught:
        demo.join(token, "guess")
    assert str(caught.value).startswith(STALE_TOKEN_MESSAGE)
    assert token not in str(caught.value)


def test_join_with_other_swarms_token(demo: DemoBackend, tmp_path: Path) -> None:
    other = make_demo(tmp_path / "other.toml", seed=2).inspect_swarm()
    with pytest.raises(JoinRejectedError) as caught:
        demo.join(other.worker_token, "stranger")
    message = str(caught.value)
    assert "does not match" in message
    assert "root CA" in message
    assert other.worker_token not in message
    assert len(demo.list_nodes()) == 7


def test_join_after_ca_rotation_rejected(demo: DemoBackend) -> None:
    before = demo.inspect_swarm()
    demo.rotate_ca()
    with pytest.raises(JoinRejectedError) as caught:
        demo.join(before.manager_token, "old-manager")
    message = str(caught.value)
    assert "does not match" in message
    assert "root CA rotation" in message
    assert before.manager_token not in message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a token",
        "SWMTKN-1-abc-def",
        "SWMTKN-3-" + "a" * 50 + "-" + "b" * 25,
    ],
)
def test_join_with_malformed_token(demo: DemoBackend, text: str) -> None:
    with pytest.raises(JoinRejectedError) as caught:
        demo.join(text, "bad")
    assert str(caught.value).startswith("Invalid join token")
    if text:
        assert text not in str(caught.value)


@pytest.mark.parametrize(
    ("taken", "spelling"),
    [("192.0.2.77", "192.0.2.77"), ("2001:db8::7", "2001:0db8:0::7")],
)
def test_join_rejects_taken_address(
    demo: DemoBackend, taken: str, spelling: str
) -> None:
    token = demo.inspect_swarm().worker_token
    first = demo.join(token, "first", taken)
    before = demo.list_nodes()
    with pytest.raises(JoinRejectedError) as caught:
        demo.join(token, "second", spelling)
    assert f"{spelling} is already the address of node first" in caught.value.message
    assert first.id[:12] in caught.value.message
    assert demo.list_nodes() == before


def test_join_with_fips_variant_rejected(demo: DemoBackend) -> None:
    worker = parse_token(demo.inspect_swarm().worker_token)
    token = f"SWMTKN-2-0-{worker.digest}-{worker.secret}"
    with pytest.raises(JoinRejectedError) as caught:
        demo.join(token, "fips")
    assert str(caught.value).startswith(STALE_TOKEN_MESSAGE)


@pytest.mark.parametrize("hostname", ["", "-leading", "has space", "x" * 70])
def test_join_rejects_bad_hostname(demo: DemoBackend, hostname: str) -> None:
    with pytest.raises(JoinRejectedError):
        demo.join(demo.inspect_swarm().worker_token, hostname)


def test_join_accepts_pasted_token(demo: DemoBackend) -> None:
    token = demo.inspect_swarm().worker_token
    node = demo.join(f"  {token} \\\r\n", "pasted")
    assert node.role is Role.WORKER


# -- several writers on one file ------------------------------------------------


def test_second_writer_gets_conflict(state_path: Path, clock: Clock) -> None:
    first = make_demo(state_path, clock=clock)
    second = make_demo(state_path, clock=clock)
    seen_by_first = first.inspect_swarm()
    seen_by_second = second.inspect_swarm()
    assert seen_by_first == seen_by_second

    first.update_swarm(
        seen_by_first.version, seen_by_first.spec, rotate_worker_token=True
    )
    with pytest.raises(UpdateOutOfSequence):
        second.update_swarm(
            seen_by_second.version, seen_by_second.spec, rotate_manager_token=True
        )
    fresh = second.inspect_swarm()
    assert fresh.worker_token != seen_by_first.worker_token
    assert fresh.manager_token == seen_by_first.manager_token

    second.update_swarm(fresh.version, fresh.spec, rotate_manager_token=True)
    final = first.inspect_swarm()
    assert final.worker_token == fresh.worker_token
    assert final.manager_token != fresh.manager_token
    assert final.version == seen_by_first.version + 2
    assert first.retired_token(fingerprint(seen_by_first.worker_token)) is not None
    assert first.retired_token(fingerprint(seen_by_first.manager_token)) is not None


def test_service_reports_conflict_between_consoles(state_path: Path) -> None:
    first = TokenService(make_demo(state_path))
    second = TokenService(make_demo(state_path))
    seen = first.read()
    second.rotate([Role.WORKER])
    with pytest.raises(RotationConflictError) as caught:
        first.rotate([Role.MANAGER], expected=seen)
    assert any("worker token changed" in change for change in caught.value.changes)
    assert first.read().manager_fingerprint == seen.manager_fingerprint


def test_reader_sees_other_writers_change(state_path: Path) -> None:
    reader = make_demo(state_path)
    writer = make_demo(state_path)
    before = reader.inspect_swarm()
    writer.update_swarm(before.version, before.spec, rotate_worker_token=True)
    assert reader.inspect_swarm().worker_token == writer.inspect_swarm().worker_token
    assert reader.inspect_swarm().worker_token != before.worker_token


def test_processes_lose_no_update(state_path: Path) -> None:
    make_demo(state_path, seed=None)
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from swarmtui.backends.base import UpdateOutOfSequence
        from swarmtui.backends.demo import DemoBackend

        backend = DemoBackend(path=Path(sys.argv[1]))
        name = sys.argv[2]
        rotations = 0
        for index in range(8):
            backend.join(backend.inspect_swarm().worker_token, f"{name}-{index}")
            while True:
                snapshot = backend.inspect_swarm()
                try:
                    backend.update_swarm(
                        snapshot.version, snapshot.spec, rotate_manager_token=True
                    )
                except UpdateOutOfSequence:
                    continue
                rotations += 1
                break
        print(rotations)
        """
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(state_path), f"p{number}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in range(4)
    ]
    rotations = 0
    for process in processes:
        output, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors
        rotations += int(output)
    backend = DemoBackend(path=state_path)
    hostnames = {node.hostname for node in backend.list_nodes()}
    expected = {f"p{number}-{index}" for number in range(4) for index in range(8)}
    assert expected <= hostnames
    assert len(backend.list_nodes()) == 7 + 32
    assert rotations == 32
    assert backend.inspect_swarm().version == 11 + 32


def test_other_seed_on_existing_file_warns(
    state_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    original = make_demo(state_path, seed=1).inspect_swarm()
    caplog.set_level(logging.WARNING)
    reopened = make_demo(state_path, seed=2)
    assert reopened.inspect_swarm() == original
    reopened.inspect_swarm()
    warnings = [r for r in caplog.records if "made with seed 1" in r.getMessage()]
    assert len(warnings) == 1
    command = f"'swarmtui --demo --demo-state {state_path} --demo-seed 2 demo-reset'"
    assert command in warnings[0].getMessage()


def test_retired_list_is_bounded(demo: DemoBackend) -> None:
    first = demo.inspect_swarm().worker_token
    for _ in range(MAX_RETIRED_TOKENS + 5):
        snapshot = demo.inspect_swarm()
        demo.update_swarm(snapshot.version, snapshot.spec, rotate_worker_token=True)
    assert demo.retired_token(fingerprint(first)) is None
    snapshot = demo.inspect_swarm()
    previous = snapshot.worker_token
    demo.update_swarm(snapshot.version, snapshot.spec, rotate_worker_token=True)
    assert demo.retired_token(fingerprint(previous)) is not None


def test_odd_spec_shapes_accepted(demo: DemoBackend) -> None:
    snapshot = demo.inspect_swarm()
    spec = {"Name": "default", "EncryptionConfig": None, "CAConfig": [1]}
    demo.update_swarm(snapshot.version, spec, rotate_worker_token=True)
    assert demo.inspect_swarm().spec == spec
    assert demo.unlock_key() == ""
    demo.rotate_ca()
    assert demo.inspect_swarm().spec["CAConfig"] == {"ForceRotate": 1}


class DemotedBackend(DelegatingBackend):
    """A demo swarm whose node turns into a worker once `demoted` is set."""

    def __init__(self, inner: DemoBackend) -> None:
        super().__init__(inner)
        self.demoted = False

    def engine_info(self) -> EngineInfo:
        info = super().engine_info()
        if not self.demoted:
            return info
        return dataclasses.replace(
            info, control_available=False, remote_managers=("127.0.3.2:2377",)
        )

    def inspect_swarm(self) -> SwarmSnapshot:
        if self.demoted:
            raise NotAManagerError("The engine at demo is a worker node.")
        return super().inspect_swarm()


def test_rotation_after_demotion_names_managers(demo: DemoBackend) -> None:
    backend = DemotedBackend(demo)
    service = TokenService(backend)
    seen = service.read()
    backend.demoted = True

    with pytest.raises(NotAManagerError) as caught:
        service.rotate([Role.WORKER], expected=seen)

    assert caught.value.manager_addresses == ("127.0.3.2:2377",)
    assert "127.0.3.2:2377" in caught.value.hint
    assert demo.inspect_swarm().worker_token == seen.worker_token


def test_join_rejection_hides_pasted_token(demo: DemoBackend) -> None:
    token = demo.inspect_swarm().worker_token

    with pytest.raises(JoinRejectedError) as caught:
        demo.join(token, token)
    message = str(caught.value)
    assert "not valid for a demo node" in message
    assert token not in message
    assert parse_token(token).secret not in message
    assert f"(a text of {len(token)} characters that may hold a secret)" in message

    with pytest.raises(JoinRejectedError) as caught:
        demo.join(token, "edge-1", address=token)
    assert parse_token(token).secret not in str(caught.value)


def test_rejection_hint_names_state_file(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    backend = DemoBackend(path=path, seed=5)
    old = backend.inspect_swarm().worker_token
    TokenService(backend).rotate([Role.WORKER])

    with pytest.raises(JoinRejectedError) as caught:
        backend.join(old, "edge-2")

    assert f"'swarmtui --demo --demo-state {path} join-token worker'" in str(
        caught.value
    )
    assert backend.cli_options == f"--demo --demo-state {path}"

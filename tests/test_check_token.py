"""TokenService.check_token on the demo swarm: every status, and no token leaks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from demo_support import Clock, make_demo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tui_support import DelegatingBackend

from swarmtui.audit import AuditLog, event_time, read_audit
from swarmtui.backends.demo import DemoBackend
from swarmtui.history import FileTokenHistory
from swarmtui.models import Role, TokenStatus
from swarmtui.service import TokenService
from swarmtui.tokens import fingerprint, parse_token


class ListAudit:
    """An audit sink that keeps the events in a list."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def record(self, action: str, **fields: Any) -> None:
        self.events.append((action, fields))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backend(tmp_path: Path, clock: Clock) -> DemoBackend:
    return make_demo(tmp_path / "demo.toml", seed=3, clock=clock)


@pytest.fixture
def audit() -> ListAudit:
    return ListAudit()


@pytest.fixture
def service(backend: DemoBackend, audit: ListAudit) -> TokenService:
    return TokenService(backend, audit=audit)


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.WORKER, TokenStatus.LIVE_WORKER), (Role.MANAGER, TokenStatus.LIVE_MANAGER)],
)
def test_current_token_is_live(
    service: TokenService, role: Role, status: TokenStatus
) -> None:
    token = service.read().token(role)
    check = service.check_token(token)
    assert check.status is status
    assert check.live is True
    assert check.role is role
    assert check.fingerprint == fingerprint(token)
    assert check.version == 1
    assert check.fips is False
    assert check.digest_matches is True


@pytest.mark.parametrize(
    "wrap",
    [
        "{}\r\n",
        "   {}   ",
        "\t{}\n\n",
        "{} \\\n",
        "{}\\\r\n",
    ],
    ids=["crlf", "spaces", "tab-newlines", "backslash-break", "backslash-crlf"],
)
def test_pasted_token_is_cleaned(service: TokenService, wrap: str) -> None:
    token = service.read().worker_token
    check = service.check_token(wrap.format(token))
    assert check.status is TokenStatus.LIVE_WORKER
    assert check.fingerprint == fingerprint(token)


def test_check_audit_names_known_role(
    service: TokenService, audit: ListAudit, tmp_path: Path
) -> None:
    old = service.read().manager_token
    service.rotate([Role.MANAGER])
    audit.events.clear()
    service.check_token(service.read().worker_token)
    service.check_token(old)
    service.check_token(
        make_demo(tmp_path / "other.toml", seed=8).inspect_swarm().worker_token
    )
    roles = [fields.get("role") for _, fields in audit.events]
    assert roles == ["worker", "manager", None]


def test_rotated_token_is_old_with_role_and_time(
    service: TokenService, clock: Clock
) -> None:
    old = service.read().manager_token
    clock.advance(hours=2)
    service.rotate([Role.MANAGER])
    check = service.check_token(old)
    assert check.status is TokenStatus.OLD
    assert check.live is False
    assert check.retired_role is Role.MANAGER
    assert check.retired_at is not None
    assert check.digest_matches is True
    assert "old manager token" in check.reason


def test_old_token_known_in_new_process(
    backend: DemoBackend, clock: Clock, tmp_path: Path
) -> None:
    old = backend.inspect_swarm().worker_token
    rotated_at = clock.advance(days=1)
    snapshot = backend.inspect_swarm()
    backend.update_swarm(snapshot.version, snapshot.spec, rotate_worker_token=True)
    # A new backend and service share nothing in memory with the first one.
    fresh = TokenService(DemoBackend(path=backend.path))
    check = fresh.check_token(old)
    assert check.status is TokenStatus.OLD
    assert check.retired_role is Role.WORKER
    assert check.retired_at == rotated_at
    assert check.rotated_at == rotated_at


def test_outside_rotation_dated_by_first_sight(
    backend: DemoBackend, clock: Clock, tmp_path: Path
) -> None:
    # DelegatingBackend lists no retired tokens, as a real engine.
    service = TokenService(
        DelegatingBackend(backend),
        audit=AuditLog(tmp_path / "audit.jsonl", environment={}),
        history=FileTokenHistory(tmp_path / "history.json", now=clock),
    )
    old = service.read().worker_token
    clock.advance(hours=1)
    snapshot = backend.inspect_swarm()
    backend.update_swarm(snapshot.version, snapshot.spec, rotate_worker_token=True)
    seen = clock.advance(hours=2)
    service.read()

    check = service.check_token(old)

    assert check.status is TokenStatus.OLD
    assert check.retired_at == seen
    assert check.rotated_at is None
    assert check.reason == (
        f"This is an old worker token of this swarm, replaced by "
        f"{seen:%Y-%m-%d %H:%M} UTC, when swarmtui first saw it replaced. It "
        "can no longer join."
    )


def test_own_rotation_dated_by_audit_record(
    backend: DemoBackend, clock: Clock, tmp_path: Path
) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl", environment={})
    service = TokenService(
        DelegatingBackend(backend),
        audit=audit,
        history=FileTokenHistory(tmp_path / "history.json", now=clock),
    )
    old = service.read().worker_token
    service.rotate([Role.WORKER])
    events = [e for e in read_audit(audit.path).events if e["action"] == "rotate"]
    rotated_at = event_time(events[-1])

    check = service.check_token(old)

    assert rotated_at is not None
    assert check.rotated_at == rotated_at
    assert check.retired_at == clock()
    assert f"rotated at {rotated_at:%Y-%m-%d %H:%M} UTC." in check.reason


def test_token_before_ca_rotation_is_old(backend: DemoBackend) -> None:
    old = backend.inspect_swarm().manager_token
    backend.rotate_ca()
    check = TokenService(backend).check_token(old)
    assert check.status is TokenStatus.OLD
    assert check.digest_matches is False
    assert check.retired_role is Role.MANAGER
    assert "root CA rotation" in check.reason


def test_other_swarms_token(service: TokenService, tmp_path: Path) -> None:
    other = make_demo(tmp_path / "other.toml", seed=4).inspect_swarm()
    check = service.check_token(other.worker_token)
    assert check.status is TokenStatus.OTHER_SWARM
    assert check.digest_matches is False
    assert check.live is False
    assert check.role is None


def test_unknown_secret_of_this_swarm(service: TokenService) -> None:
    digest = parse_token(service.read().worker_token).digest
    check = service.check_token(f"SWMTKN-1-{digest}-{'0' * 25}")
    assert check.status is TokenStatus.THIS_SWARM_UNKNOWN
    assert check.digest_matches is True
    assert check.live is False


def test_fips_token_reports_flag(service: TokenService) -> None:
    token = parse_token(service.read().worker_token)
    check = service.check_token(f"SWMTKN-2-1-{token.digest}-{token.secret}")
    assert check.version == 2
    assert check.fips is True
    assert check.live is False
    assert check.digest_matches is True


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("", "empty"),
        ("hello", "SWMTKN-"),
        ("SWMTKN-3-abc-def", "version"),
        ("SWMTKN-1-" + "a" * 49 + "-" + "b" * 25, "digest part has 49"),
        ("SWMTKN-1-" + "a" * 50 + "-" + "B" * 25, "invalid character"),
        ("SWMTKN-1-" + "a" * 50 + "-" + "b" * 12 + " " + "b" * 12, "whitespace"),
        ("SWMTKN-1-" + "a" * 50 + "-" + "b" * 12 + "\\\n" + "b" * 13, "line break"),
        ("SWMTKN-2-7-" + "a" * 50 + "-" + "b" * 25, "FIPS flag"),
    ],
)
def test_invalid_text_names_the_problem(
    service: TokenService, audit: ListAudit, text: str, part: str
) -> None:
    check = service.check_token(text)
    assert check.status is TokenStatus.INVALID
    assert check.live is False
    assert check.fingerprint == ""
    assert part in check.reason
    if text:
        assert text not in check.reason
    assert [action for action, _ in audit.events] == ["check-token"]
    assert audit.events[0][1]["result"] == "invalid"
    if text:
        assert text not in repr(audit.events)


def test_no_token_in_audit_or_logs(
    service: TokenService,
    audit: ListAudit,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    view = service.read()
    tokens = [view.worker_token, view.manager_token]
    other = make_demo(tmp_path / "other.toml", seed=8).inspect_swarm()
    tokens.append(other.manager_token)
    for token in tokens:
        service.check_token(token)
    result = service.rotate([Role.WORKER, Role.MANAGER])
    tokens += [result.after.worker_token, result.after.manager_token]
    service.check_token(tokens[0])
    recorded = repr(audit.events) + caplog.text
    for token in tokens:
        assert token not in recorded
        assert parse_token(token).secret not in recorded
    assert len(audit.events) >= 5
    assert fingerprint(tokens[0]) in recorded


PASTE_WHITESPACE = st.text(alphabet=" \t\r\n", max_size=6)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(prefix=PASTE_WHITESPACE, suffix=PASTE_WHITESPACE, backslash=st.booleans())
def test_any_paste_wrapping_is_live(
    service: TokenService, prefix: str, suffix: str, backslash: bool
) -> None:
    token = service.read().manager_token
    text = prefix + token + (" \\" if backslash else "") + suffix
    check = service.check_token(text)
    assert check.status is TokenStatus.LIVE_MANAGER
    assert check.fingerprint == fingerprint(token)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=120))
def test_arbitrary_text_never_echoed(service: TokenService, text: str) -> None:
    check = service.check_token(text)
    assert check.status is TokenStatus.INVALID
    assert check.fingerprint == ""
    # A long input cannot appear in a fixed message by chance.
    if len(text.strip()) >= 20:
        assert text.strip() not in check.reason

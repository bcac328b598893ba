"""Leak response on the demo swarm: one update, both tokens, recent joins, audit."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from swarmtui.audit import AuditLog, read_audit
from swarmtui.backends.demo import DemoBackend
from swarmtui.errors import RotationConflictError, TimeTextError
from swarmtui.leak import (
    default_leak_since,
    leak_since_for,
    nodes_summary,
    parse_leak_start,
)
from swarmtui.models import NodeInfo, Role
from swarmtui.service import TokenService
from swarmtui.tokens import parse_token

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def make_service(
    tmp_path: Path, clock: Clock
) -> Callable[[], tuple[TokenService, DemoBackend]]:
    def build() -> tuple[TokenService, DemoBackend]:
        backend = DemoBackend(path=tmp_path / "demo.toml", seed=5, now=clock)
        audit = AuditLog(tmp_path / "audit.jsonl", environment={})
        return TokenService(backend, audit=audit), backend

    return build


def test_leak_rotates_both_in_one_update(
    make_service: Callable[[], tuple[TokenService, DemoBackend]], clock: Clock
) -> None:
    service, backend = make_service()
    view = service.read()
    early = backend.join(view.worker_token, "early-worker", "127.0.4.50")
    clock.advance(hours=1)
    since = clock.now
    clock.advance(minutes=10)
    late_worker = backend.join(view.worker_token, "late-worker", "127.0.4.51")
    late_manager = backend.join(view.manager_token, "late-manager", "127.0.4.52")
    clock.advance(minutes=5)
    current = service.read()

    report = service.respond_to_leak(since, expected=current)

    assert report.rotation.after.version == current.version + 1
    assert report.rotation.roles == frozenset(Role)
    for role in Role:
        assert report.rotation.after.token_fingerprint(
            role
        ) != current.token_fingerprint(role)
    ids = [node.id for node in report.nodes]
    assert ids == [late_worker.id, late_manager.id]
    assert early.id not in ids
    assert [node.id for node in report.managers] == [late_manager.id]
    assert report.nodes_error == ""


def test_leak_summary_names_current_roles(
    make_service: Callable[[], tuple[TokenService, DemoBackend]], clock: Clock
) -> None:
    service, backend = make_service()
    view = service.read()
    clock.advance(minutes=1)
    backend.join(view.manager_token, "first-manager", "127.0.4.53")
    backend.join(view.worker_token, "some-worker", "127.0.4.54")
    report = service.respond_to_leak(START + timedelta(seconds=30))
    since = "2026-11-20T12:00:30Z"

    assert nodes_summary(report) == (
        f"2 node(s) joined since {since}, 1 of them is a manager now: check each one."
    )

    backend.join(report.rotation.after.manager_token, "second-manager", "127.0.4.55")
    report = service.respond_to_leak(START + timedelta(seconds=30))

    assert nodes_summary(report, " (marked !)") == (
        f"3 node(s) joined since {since}, 2 of them are managers now (marked !): "
        "check each one."
    )


def test_leak_audit_event(
    make_service: Callable[[], tuple[TokenService, DemoBackend]], clock: Clock
) -> None:
    service, backend = make_service()
    view = service.read()
    backend.join(view.manager_token, "intruder", "127.0.4.60")
    report = service.respond_to_leak(START - timedelta(minutes=1))
    assert service.audit is not None
    path = service.audit.path  # type: ignore[attr-defined]
    events = [e for e in read_audit(path).events if e["action"] == "leak-response"]
    assert len(events) == 1
    event = events[0]
    assert event["result"] == "ok"
    assert event["nodes_joined"] == 1
    assert event["managers_joined"] == 1
    for role in Role:
        assert event["old_fingerprints"][role] == view.token_fingerprint(role)
        assert event["new_fingerprints"][role] == (
            report.rotation.after.token_fingerprint(role)
        )
    text = Path(path).read_text()
    for token_view in (view, report.rotation.after):
        for role in Role:
            assert parse_token(token_view.token(role)).secret not in text


def test_leak_conflict_rotates_nothing(
    make_service: Callable[[], tuple[TokenService, DemoBackend]],
) -> None:
    service, _ = make_service()
    seen = service.read()
    service.rotate([Role.WORKER])
    moved = service.read()
    with pytest.raises(RotationConflictError):
        service.respond_to_leak(START, expected=seen)
    after = service.read()
    assert after.manager_fingerprint == moved.manager_fingerprint
    assert after.worker_fingerprint == moved.worker_fingerprint


@pytest.mark.parametrize("text", ["0001-01-01T00:00+01:00", "9999-12-31T23:59-01:00"])
def test_leak_start_outside_utc_years(text: str) -> None:
    with pytest.raises(TimeTextError) as caught:
        parse_leak_start(text, now=START)

    assert caught.value.message == f"{text!r} lies outside the years 1 to 9999 in UTC."


def test_default_since_falls_back_to_24_hours() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    start = default_leak_since("c1", now=now)
    assert start.since == now - timedelta(hours=24)
    assert "24 hours" in start.source


def test_default_since_whole_seconds() -> None:
    now = datetime(2026, 12, 1, 10, 20, 30, 456789, tzinfo=UTC)
    start = default_leak_since("c1", now=now)
    assert start.since == datetime(2026, 11, 30, 10, 20, 30, tzinfo=UTC)


def test_default_since_young_swarm() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    created = now - timedelta(hours=3)

    start = default_leak_since("c1", now=now, swarm_created_at=created)

    assert start.since == created
    assert start.source == (
        "the swarm's creation, less than 24 hours ago, because the audit record "
        "has no rotation of the worker or manager token for this swarm"
    )


def test_default_since_swarm_creation_whole_seconds() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    created = datetime(2026, 11, 30, 17, 58, 5, 610614, tzinfo=UTC)

    start = default_leak_since("c1", now=now, swarm_created_at=created)

    assert start.since == datetime(2026, 11, 30, 17, 58, 5, tzinfo=UTC)


def test_default_since_rotation_whole_seconds() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    known = {
        ("c1", Role.WORKER): datetime(2026, 11, 30, 9, 1, 2, 999999, tzinfo=UTC),
        ("c1", Role.MANAGER): datetime(2026, 11, 30, 12, tzinfo=UTC),
    }

    start = default_leak_since("c1", known=known, now=now)

    assert start.since == datetime(2026, 11, 30, 9, 1, 2, tzinfo=UTC)


def test_default_since_old_swarm() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    created = now - timedelta(days=2)

    start = default_leak_since("c1", now=now, swarm_created_at=created)

    assert start.since == now - timedelta(hours=24)
    assert start.source.startswith("24 hours ago, because")


def test_default_since_uses_older_rotation() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    events = [
        {
            "time": "2026-11-28T00:00:00Z",
            "action": "rotate",
            "result": "ok",
            "cluster_id": "c1",
            "new_fingerprints": {"worker": "fp:1", "manager": "fp:2"},
        }
    ]
    known = {("c1", Role.WORKER): datetime(2026, 11, 30, tzinfo=UTC)}
    start = default_leak_since("c1", known=known, audit_events=events, now=now)
    assert start.since == datetime(2026, 11, 28, tzinfo=UTC)
    assert "manager" in start.source


@pytest.mark.parametrize(
    ("current_worker", "outside"), [("fp:1", False), ("fp:9", True)]
)
def test_default_since_names_outside_token(current_worker: str, outside: bool) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    events = [
        {
            "time": "2026-11-28T00:00:00Z",
            "action": "rotate",
            "result": "ok",
            "cluster_id": "c1",
            "new_fingerprints": {"worker": "fp:1"},
        },
        {
            "time": "2026-11-29T00:00:00Z",
            "action": "rotate",
            "result": "ok",
            "cluster_id": "c1",
            "new_fingerprints": {"manager": "fp:2"},
        },
    ]
    current = {Role.WORKER: current_worker, Role.MANAGER: "fp:2"}

    start = default_leak_since("c1", audit_events=events, now=now, current=current)

    assert start.since == datetime(2026, 11, 28, tzinfo=UTC)
    assert start.source.startswith("the last worker token rotation")
    assert ("another tool made the current worker token since" in start.source) is (
        outside
    )


def settled_manager_rotation(result: str) -> list[dict[str, object]]:
    """Return audit events of a manager rotation whose reply was lost.

    The rotation is recorded as unknown, and a later read settles it with a
    `rotate-outcome` event, as the console records them. The worker token was
    rotated the day after.
    """
    new = "fp:3" if result == "took-effect" else "fp:2"
    return [
        {
            "time": "2026-11-28T00:00:00Z",
            "action": "rotate",
            "role": "manager",
            "result": "unknown",
            "cluster_id": "c1",
            "old_fingerprints": {"manager": "fp:2"},
            "error": "Rotation outcome unknown",
        },
        {
            "time": "2026-11-28T00:00:05Z",
            "action": "rotate-outcome",
            "role": "manager",
            "result": result,
            "cluster_id": "c1",
            "old_fingerprints": {"manager": "fp:2"},
            "new_fingerprints": {"manager": new},
        },
        {
            "time": "2026-11-29T00:00:00Z",
            "action": "rotate",
            "role": "worker",
            "result": "ok",
            "cluster_id": "c1",
            "old_fingerprints": {"worker": "fp:0"},
            "new_fingerprints": {"worker": "fp:1"},
        },
    ]


def test_default_since_counts_settled_rotation() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    events = settled_manager_rotation("took-effect")
    current = {Role.WORKER: "fp:1", Role.MANAGER: "fp:3"}

    start = default_leak_since("c1", audit_events=events, now=now, current=current)

    assert start.since == datetime(2026, 11, 28, tzinfo=UTC)
    assert start.source == (
        "the last manager token rotation, the older of the two current tokens"
    )


def test_default_since_skips_rotation_not_taken() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    events = settled_manager_rotation("not-rotated")
    current = {Role.WORKER: "fp:1", Role.MANAGER: "fp:2"}

    start = default_leak_since("c1", audit_events=events, now=now, current=current)

    assert start.since == now - timedelta(hours=24)
    assert "has no rotation of the manager token for this swarm" in start.source


def test_default_since_skips_future_rotation() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    events = [
        {
            "time": "9999-12-31T23:59:59Z",
            "action": "rotate",
            "result": "ok",
            "cluster_id": "c1",
            "new_fingerprints": {"worker": "fp:1", "manager": "fp:2"},
        }
    ]

    start = default_leak_since("c1", audit_events=events, now=now)

    assert start.since == now - timedelta(hours=24)
    assert "has no rotation of the worker or manager token for" in start.source


def test_default_since_one_role_unknown() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    known = {("c1", Role.WORKER): datetime(2026, 11, 30, 12, tzinfo=UTC)}
    start = default_leak_since("c1", known=known, now=now)
    assert start.since == now - timedelta(hours=24)
    assert "manager" in start.source


def test_leak_since_reads_audit_file(
    make_service: Callable[[], tuple[TokenService, DemoBackend]], tmp_path: Path
) -> None:
    service, _ = make_service()
    view = service.read()
    path = tmp_path / "audit.jsonl"
    line = {
        "time": "2026-11-19T08:00:00Z",
        "action": "leak-response",
        "result": "ok",
        "cluster_id": view.cluster_id,
        "new_fingerprints": {"worker": "fp:1", "manager": "fp:2"},
    }
    with path.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
    start = leak_since_for(service, view.cluster_id, now=START)
    assert start.since == datetime(2026, 11, 19, 8, tzinfo=UTC)


def test_leak_since_uses_swarm_read(tmp_path: Path) -> None:
    # A demo swarm is created 42 days before its backend's clock.
    clock = Clock(START + timedelta(days=42))
    service = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=5, now=clock))
    view = service.read()
    assert view.created_at == START

    start = leak_since_for(service, view.cluster_id, now=START + timedelta(hours=5))

    assert start.since == START
    assert start.source.startswith("the swarm's creation, less than 24 hours ago")


class FoundedBackend(DemoBackend):
    """A demo swarm that also lists the node that created it, as dockerd does."""

    def list_nodes(self) -> list[NodeInfo]:
        created_at = self.inspect_swarm().created_at
        assert created_at is not None
        founder = NodeInfo(
            id="f" * 25,
            hostname="founder",
            role=Role.MANAGER,
            address="192.0.2.200",
            status="ready",
            availability="active",
            created_at=created_at + timedelta(microseconds=100),
            engine_version="20.10.24",
        )
        return [*super().list_nodes(), founder]


def test_leak_skips_node_that_created_swarm(tmp_path: Path) -> None:
    service = TokenService(FoundedBackend(path=tmp_path / "demo.toml", seed=5))
    view = service.read()
    assert view.created_at is not None

    report = service.respond_to_leak(view.created_at - timedelta(days=1), expected=view)

    hostnames = [node.hostname for node in report.nodes]
    assert "founder" not in hostnames
    assert "mgr-01" in hostnames
    assert len(report.nodes) == len(service.backend.list_nodes()) - 1


def listed_node(node_id: str, hostname: str) -> NodeInfo:
    return NodeInfo(
        id=node_id,
        hostname=hostname,
        role=Role.WORKER,
        address="192.0.2.201",
        status="ready",
        availability="active",
        created_at=START,
        engine_version="20.10.24",
    )


def test_shared_hostnames_get_node_ids() -> None:
    from swarmtui.tui.leak import node_rows

    nodes = (
        listed_node("a" * 25, "vm"),
        listed_node("b" * 25, "vm"),
        listed_node("c" * 25, "db-1"),
    )

    names = [str(row[1]) for row in node_rows(nodes, "bold red")]

    assert names == [f"vm ({'a' * 12})", f"vm ({'b' * 12})", "db-1"]


def test_default_since_of_both_tokens_rotated_together() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    events = [
        {
            "time": "2026-11-29T00:00:00Z",
            "action": "leak-response",
            "result": "ok",
            "cluster_id": "c1",
            "old_fingerprints": {"worker": "fp:0", "manager": "fp:2"},
            "new_fingerprints": {"worker": "fp:1", "manager": "fp:3"},
        },
    ]
    current = {Role.WORKER: "fp:1", Role.MANAGER: "fp:3"}

    start = default_leak_since("c1", audit_events=events, now=now, current=current)

    assert start.since == datetime(2026, 11, 29, tzinfo=UTC)
    assert start.source == "the last rotations of both tokens, at the same time"

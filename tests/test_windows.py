"""Join windows: evaluation, storage, closing and the expired-window recovery."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tui_support import DelegatingBackend, HangingUpdateBackend, RecordingAudit

from swarmtui.atomicfile import exclusive_lock
from swarmtui.audit import AuditLog, read_audit
from swarmtui.backends.base import UpdateOutOfSequence
from swarmtui.backends.demo import DemoBackend
from swarmtui.errors import (
    JoinWindowError,
    RequestTimeoutError,
    RotationOutcomeUnknownError,
)
from swarmtui.models import NodeInfo, Role
from swarmtui.service import TokenService
from swarmtui.state_files import same_file
from swarmtui.tokens import fingerprint
from swarmtui.windows import (
    CLOSE_ACTION,
    MIN_WINDOW_MINUTES_TEXT,
    CloseReason,
    JoinWindow,
    WindowClosed,
    WindowStore,
    close_all_windows,
    close_due_windows,
    close_window,
    evaluate,
    open_window,
)

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def node(node_id: str, role: Role = Role.WORKER) -> NodeInfo:
    return NodeInfo(
        id=node_id,
        hostname=node_id,
        role=role,
        address="127.0.4.9",
        status="ready",
        availability="active",
        created_at=T0,
        engine_version="20.10",
    )


def window(**changes: object) -> JoinWindow:
    values: dict[str, object] = {
        "role": Role.WORKER,
        "opened_at": T0,
        "until": T0 + timedelta(minutes=5),
        "max_joins": 2,
        "baseline_node_ids": frozenset({"a", "b"}),
    }
    values.update(changes)
    return JoinWindow(**values)  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_evaluate_open_window() -> None:
    result = evaluate(window(), [node("a"), node("b"), node("c")], T0)
    assert [n.id for n in result.joined] == ["c"]
    assert result.should_close is False
    assert result.reason is None


def test_evaluate_closes_by_count() -> None:
    nodes = [node("a"), node("c"), node("d")]
    result = evaluate(window(), nodes, T0 + timedelta(seconds=1))
    assert result.should_close is True
    assert result.reason is CloseReason.JOINS


def test_evaluate_ignores_other_role() -> None:
    nodes = [node("c", Role.MANAGER), node("d", Role.MANAGER)]
    result = evaluate(window(), nodes, T0)
    assert result.joined == ()
    assert result.should_close is False


def test_evaluate_counts_demoted_manager_join() -> None:
    manager_window = window(role=Role.MANAGER, max_joins=1)
    first_roles: dict[str, Role] = {}

    first = evaluate(
        manager_window, [node("a"), node("c", Role.MANAGER)], T0, first_roles
    )
    demoted = evaluate(manager_window, [node("a"), node("c")], T0, first_roles)

    assert [n.id for n in first.joined] == ["c"]
    assert [n.id for n in demoted.joined] == ["c"]
    assert demoted.reason is CloseReason.JOINS
    assert first_roles == {"c": Role.MANAGER}


def test_evaluate_promoted_worker_stays_worker_join() -> None:
    first_roles: dict[str, Role] = {}
    evaluate(window(max_joins=1), [node("c")], T0, first_roles)

    manager_window = window(role=Role.MANAGER, max_joins=1)
    promoted = evaluate(manager_window, [node("c", Role.MANAGER)], T0, first_roles)
    worker = evaluate(window(max_joins=1), [node("c", Role.MANAGER)], T0, first_roles)

    assert promoted.joined == ()
    assert promoted.should_close is False
    assert [n.id for n in worker.joined] == ["c"]


def test_evaluate_without_first_roles_uses_role_now() -> None:
    manager_window = window(role=Role.MANAGER, max_joins=1)
    result = evaluate(manager_window, [node("c")], T0)
    assert result.joined == ()


def test_evaluate_closes_by_time() -> None:
    result = evaluate(window(max_joins=None), [], T0 + timedelta(minutes=5))
    assert result.should_close is True
    assert result.reason is CloseReason.TIME


def test_window_needs_a_limit() -> None:
    with pytest.raises(JoinWindowError):
        window(until=None, max_joins=None)
    with pytest.raises(JoinWindowError):
        window(max_joins=0)
    with pytest.raises(JoinWindowError):
        window(until=T0)


def test_store_round_trip_and_mode(tmp_path: Path) -> None:
    store = WindowStore(tmp_path / "state" / "windows.json")
    first = window(cluster_id="c1")
    second = window(role=Role.MANAGER, until=None, cluster_id="c2")
    store.add(first)
    store.add(second)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    loaded = store.load()
    assert loaded == [first, second]
    assert store.for_cluster("c2") == [second]
    store.remove(first.id)
    assert store.load() == [second]


@pytest.mark.parametrize(
    "text",
    ["{broken", "[" * 200_000 + "]" * 200_000, '{"format": ' + "9" * 5000 + "}"],
    ids=["syntax", "deep-nesting", "long-number"],
)
def test_store_damaged_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "windows.json"
    path.write_text(text)
    with pytest.raises(JoinWindowError) as caught:
        WindowStore(path).load()
    assert str(path) in caught.value.message
    assert path.read_text() == text


@pytest.fixture
def demo(tmp_path: Path) -> tuple[TokenService, DemoBackend, WindowStore, Clock]:
    clock = Clock()
    backend = DemoBackend(path=tmp_path / "demo.toml", seed=9, now=clock)
    store = WindowStore(tmp_path / "windows.json")
    return TokenService(backend), backend, store, clock


def test_window_closes_by_count_and_rotates(
    demo: tuple[TokenService, DemoBackend, WindowStore, Clock],
) -> None:
    service, backend, store, clock = demo
    _, view = open_window(service, Role.WORKER, max_joins=1, store=store, now=clock.now)
    backend.join(view.worker_token, "new-1", "127.0.4.70")
    due = close_due_windows(service, store, now=clock.now)
    assert len(due) == 1
    closed = due[0]
    assert closed.reason is CloseReason.JOINS
    assert [n.hostname for n in closed.joined] == ["new-1"]
    assert closed.rotation is not None
    after = service.read()
    assert after.worker_fingerprint != view.worker_fingerprint
    assert after.manager_fingerprint == view.manager_fingerprint
    assert store.load() == []
    with pytest.raises(Exception, match="valid join token"):
        backend.join(view.worker_token, "too-late", "127.0.4.71")


def test_expired_window_closed_on_next_start(
    demo: tuple[TokenService, DemoBackend, WindowStore, Clock],
) -> None:
    service, _, store, clock = demo
    _, view = open_window(service, Role.MANAGER, minutes=2, store=store, now=clock.now)
    assert close_due_windows(service, store, now=clock.now) == []
    assert len(store.load()) == 1
    clock.now += timedelta(minutes=3)
    closed = close_due_windows(service, store, now=clock.now)
    assert [item.reason for item in closed] == [CloseReason.TIME]
    assert service.read().manager_fingerprint != view.manager_fingerprint
    assert store.load() == []


def test_close_after_outside_rotation_skips(
    demo: tuple[TokenService, DemoBackend, WindowStore, Clock],
) -> None:
    service, _, store, clock = demo
    opened, _ = open_window(service, Role.WORKER, minutes=1, store=store, now=clock.now)
    rotated = service.rotate([Role.WORKER]).after
    closed = close_window(service, opened, CloseReason.BY_USER, store=store)
    assert closed.rotation is None
    assert "already been rotated" in closed.message
    assert service.read().worker_fingerprint == rotated.worker_fingerprint
    assert store.load() == []


@pytest.mark.parametrize(
    "minutes", [float("nan"), float("inf"), 1e12, -1.0, 0.0, 1e-10]
)
def test_window_minutes_out_of_range(
    minutes: float,
    demo: tuple[TokenService, DemoBackend, WindowStore, Clock],
) -> None:
    service, _, store, clock = demo

    with pytest.raises(JoinWindowError) as caught:
        open_window(service, Role.WORKER, minutes=minutes, store=store, now=clock.now)

    assert (
        f"number of minutes from {MIN_WINDOW_MINUTES_TEXT} (one microsecond) to "
        "527040 (a year)" in caught.value.message
    )
    assert store.load() == []


def test_named_minimum_minutes_accepted(
    demo: tuple[TokenService, DemoBackend, WindowStore, Clock],
) -> None:
    service, _, store, clock = demo
    minutes = float(MIN_WINDOW_MINUTES_TEXT)

    opened, _ = open_window(
        service, Role.WORKER, minutes=minutes, store=store, now=clock.now
    )

    assert opened.until is not None
    assert opened.until > opened.opened_at


@pytest.mark.parametrize(
    ("arguments", "phrase"),
    [
        (
            ["--minutes", "nan"],
            "'nan' is not a number of minutes from 1.67e-08 (one microsecond)",
        ),
        (
            ["--minutes", "inf"],
            "'inf' is not a number of minutes from 1.67e-08 (one microsecond)",
        ),
        (
            ["--minutes", "0_0001"],
            "'0_0001' is not a number of minutes from 1.67e-08 (one microsecond)",
        ),
        (
            ["--minutes", " 0.0001 "],
            "' 0.0001 ' is not a number of minutes from 1.67e-08",
        ),
        (
            ["--minutes", "\u0660.\u0660\u0660\u0660\u0661"],
            "'\u0660.\u0660\u0660\u0660\u0661' is not a number of minutes",
        ),
        (["--minutes", "0.0001", "--joins", "1_0"], "'1_0' is not a whole number"),
        (["--minutes", "0.0001", "--joins", "0"], "'0' is not a whole number of 1"),
        (
            ["--minutes", "1e12"],
            "'1e12' is not a number of minutes from 1.67e-08 (one microsecond) to "
            "527040 (a year)",
        ),
        (
            ["--minutes", "0.0000000001"],
            "'0.0000000001' is not a number of minutes from 1.67e-08 (one "
            "microsecond) to 527040 (a year)",
        ),
        (
            ["--minutes", "0.0001", "--poll", "nan"],
            "'nan' is not a number of seconds from 0.1 to 3600",
        ),
        (
            ["--minutes", "0.0001", "--poll", "0_5"],
            "'0_5' is not a number of seconds from 0.1 to 3600",
        ),
        (
            ["--minutes", "0.0001", "--poll", "1e0"],
            "'1e0' is not a number of seconds from 0.1 to 3600",
        ),
        (
            ["--joins", "1", "--poll", "1e10"],
            "'1e10' is not a number of seconds from 0.1 to 3600",
        ),
        (
            ["--joins", "1", "--poll", "3600.5"],
            "'3600.5' is not a number of seconds from 0.1 to 3600",
        ),
        (
            ["--joins", "1", "--poll", "1e-300"],
            "'1e-300' is not a number of seconds from 0.1 to 3600",
        ),
    ],
)
def test_cli_window_minutes_usage_error(
    arguments: list[str],
    phrase: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from swarmtui.cli import main

    monkeypatch.setenv("SWARMTUI_WINDOWS_FILE", str(tmp_path / "windows.json"))
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    with pytest.raises(SystemExit) as caught:
        main([*demo, "join-window", "open", "worker", *arguments])

    assert caught.value.code == 2
    assert phrase in capsys.readouterr().err
    # Rejected while parsing: no window was opened, stored or audited.
    assert not (tmp_path / "windows.json").exists()
    assert not (tmp_path / "audit.jsonl").exists()


class RotatedMeanwhile(DelegatingBackend):
    """Lets another admin rotate the worker token just before each update."""

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        TokenService(self.inner).rotate([Role.WORKER])
        raise UpdateOutOfSequence


def test_close_after_rotation_elsewhere_names_new_token(tmp_path: Path) -> None:
    inner = DemoBackend(path=tmp_path / "demo.toml", seed=5)
    audit = RecordingAudit()
    service = TokenService(RotatedMeanwhile(inner), audit=audit)
    window, _ = open_window(TokenService(inner), Role.WORKER, minutes=5)

    closed = close_window(service, window, CloseReason.BY_USER)

    current = TokenService(inner).read().worker_fingerprint
    assert closed.rotation is None
    assert current != window.token_fingerprint
    action, fields = audit.events[-1]
    assert action == "join-window-closed"
    assert fields["result"] == "already-rotated"
    assert fields["fingerprints"] == {"worker": current}


class ReadTimesOut(DelegatingBackend):
    """Times out on every GET /swarm, as a paused engine does."""

    def inspect_swarm(self) -> Any:
        raise RequestTimeoutError("The engine did not respond within 3 seconds.")


def test_failed_close_read_is_audited(tmp_path: Path) -> None:
    inner = DemoBackend(path=tmp_path / "demo.toml", seed=5)
    window, _ = open_window(TokenService(inner), Role.WORKER, minutes=5)
    audit = RecordingAudit()
    service = TokenService(ReadTimesOut(inner), audit=audit)

    with pytest.raises(RequestTimeoutError):
        close_window(service, window, CloseReason.BY_USER)

    action, fields = audit.events[-1]
    assert action == "join-window-close"
    assert fields["result"] == "failed"
    assert fields["window_id"] == window.id
    assert fields["error"] == "Request timed out"
    assert fields["role"] == "worker"
    assert fields["old_fingerprints"] == {"worker": window.token_fingerprint}


class UpdateTimesOut(DelegatingBackend):
    """Times out on every swarm update, as an engine that stops responding."""

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        raise RequestTimeoutError("The engine did not respond within 3 seconds.")


@pytest.mark.parametrize("update_fails", [False, True])
def test_close_rotation_record_names_window(tmp_path: Path, update_fails: bool) -> None:
    inner = DemoBackend(path=tmp_path / "demo.toml", seed=5)
    window, _ = open_window(TokenService(inner), Role.WORKER, minutes=5)
    audit = RecordingAudit()
    backend = UpdateTimesOut(inner) if update_fails else inner
    service = TokenService(backend, audit=audit)

    if update_fails:
        # The engine may still apply an update that timed out.
        with pytest.raises(RotationOutcomeUnknownError):
            close_window(service, window, CloseReason.BY_USER)
    else:
        close_window(service, window, CloseReason.BY_USER)

    closes = [fields for action, fields in audit.events if action == CLOSE_ACTION]
    assert len(closes) == 1
    assert closes[0]["window_id"] == window.id
    assert closes[0]["result"] == ("unknown" if update_fails else "ok")


def test_second_close_of_window_not_recorded(tmp_path: Path) -> None:
    audit = RecordingAudit()
    service = TokenService(
        DemoBackend(path=tmp_path / "demo.toml", seed=3), audit=audit
    )
    store = WindowStore(tmp_path / "windows.json")
    window, _ = open_window(service, Role.WORKER, minutes=5, store=store)

    first = close_window(service, window, CloseReason.BY_USER, store=store)
    # A second process that watched the same window closes it after the first.
    second = close_window(service, window, CloseReason.TIME, store=store)

    assert first.rotation is not None
    assert second.rotation is None
    closed = [
        fields for action, fields in audit.events if action == "join-window-closed"
    ]
    assert [fields["result"] for fields in closed] == ["rotated"]
    assert store.load() == []


def stored_entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": "a1b2c3d4e5f6",
        "role": "worker",
        "opened_at": "2026-11-20T12:00:00Z",
        "until": "2026-11-20T12:05:00+00:00",
        "max_joins": None,
        "baseline_node_ids": [],
    }
    entry.update(changes)
    return entry


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        (
            {"until": None, "max_joins": 0},
            "window 1 has a 'max_joins' that is neither null nor a whole number",
        ),
        (
            {"until": None, "max_joins": None},
            "window 1 has neither an end time ('until') nor a number of joins",
        ),
        (
            {"until": "2026-11-20T11:00:00Z"},
            "window 1 ends ('until') before or when it opens ('opened_at')",
        ),
        (
            {"until": "2026-11-20T12:00:00Z"},
            "window 1 ends ('until') before or when it opens ('opened_at')",
        ),
        (
            {"max_joins": float("inf")},
            "window 1 has a 'max_joins' that is neither null nor a whole number",
        ),
        (
            {"max_joins": 2.5},
            "window 1 has a 'max_joins' that is neither null nor a whole number",
        ),
        (
            {"max_joins": True},
            "window 1 has a 'max_joins' that is neither null nor a whole number",
        ),
        ({"max_joins": -3}, "window 1 has a 'max_joins' that is neither null"),
    ],
    ids=[
        "no-limit-zero-joins",
        "no-limit",
        "until-before-opened",
        "until-at-opened",
        "joins-1e400",
        "joins-fraction",
        "joins-true",
        "joins-negative",
    ],
)
def test_store_damaged_entry_names_file(
    tmp_path: Path, changes: dict[str, object], phrase: str
) -> None:
    path = tmp_path / "windows.json"
    # json.dumps writes infinity as Infinity, so it becomes 1e400, which
    # json.loads reads as infinity too.
    text = json.dumps({"windows": [stored_entry(**changes)]})
    path.write_text(text.replace("Infinity", "1e400"))

    with pytest.raises(JoinWindowError) as caught:
        WindowStore(path).load()

    assert caught.value.message.startswith(f"The join window file {path} is damaged: ")
    assert phrase in caught.value.message


def test_stored_entry_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "windows.json"
    path.write_text(json.dumps({"windows": [stored_entry(max_joins=3)]}))

    loaded = WindowStore(path).load()

    assert [(item.id, item.max_joins) for item in loaded] == [("a1b2c3d4e5f6", 3)]
    assert loaded[0].until == T0 + timedelta(minutes=5)


ADD_WINDOWS_SCRIPT = """
import sys
from datetime import UTC, datetime, timedelta

from swarmtui.models import Role
from swarmtui.windows import JoinWindow, WindowStore

store = WindowStore(sys.argv[1])
now = datetime.now(UTC)
sys.stdin.readline()  # every process starts adding at the same signal
for _ in range(int(sys.argv[2])):
    store.add(
        JoinWindow(
            role=Role.WORKER,
            opened_at=now,
            until=now + timedelta(minutes=5),
            max_joins=None,
            baseline_node_ids=frozenset(),
        )
    )
"""


def test_store_concurrent_process_adds(tmp_path: Path) -> None:
    path = tmp_path / "windows.json"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", ADD_WINDOWS_SCRIPT, str(path), "40"],
            stdin=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        process.stdin.close()

    codes = [process.wait(timeout=120) for process in processes]

    assert codes == [0, 0, 0]
    windows = WindowStore(path).load()
    assert len(windows) == 120
    assert len({window.id for window in windows}) == 120


def test_store_concurrent_thread_removes(tmp_path: Path) -> None:
    store = WindowStore(tmp_path / "windows.json")
    windows = [window(until=T0 + timedelta(minutes=minute)) for minute in range(1, 41)]
    store.save(windows)
    remaining = windows[::2]
    removed = [item for item in windows if item not in remaining]
    start = threading.Barrier(4)
    results: list[bool] = []

    def remove_share(share: list[JoinWindow]) -> None:
        start.wait(timeout=60)
        for item in share:
            results.append(store.remove(item.id))

    threads = [
        threading.Thread(target=remove_share, args=(removed[index::4],))
        for index in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert results == [True] * len(removed)
    assert store.load() == remaining


class NodesAfterEveryone(DelegatingBackend):
    """Lists the nodes only once every thread of `barrier` has got that far.

    Each thread has then passed the check for an open window before any of
    them stores its own, as happens when processes open windows at once.
    """

    def __init__(self, inner: DemoBackend, barrier: threading.Barrier) -> None:
        super().__init__(inner)
        self.barrier = barrier

    def list_nodes(self) -> list[NodeInfo]:
        self.barrier.wait(timeout=60)
        return super().list_nodes()


def test_concurrent_opens_store_one_window(tmp_path: Path) -> None:
    store = WindowStore(tmp_path / "windows.json")
    barrier = threading.Barrier(4)
    opened: list[JoinWindow] = []
    rejected: list[JoinWindowError] = []

    def open_one() -> None:
        inner = DemoBackend(path=tmp_path / "demo.toml", seed=6)
        service = TokenService(NodesAfterEveryone(inner, barrier))
        try:
            opened.append(open_window(service, Role.WORKER, minutes=5, store=store)[0])
        except JoinWindowError as error:
            rejected.append(error)

    DemoBackend(path=tmp_path / "demo.toml", seed=6).inspect_swarm()
    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(opened) == 1
    assert len(rejected) == 3
    assert all("is already open" in error.message for error in rejected)
    assert [item.id for item in store.load()] == [opened[0].id]


def test_store_lock_wait_is_bounded(tmp_path: Path) -> None:
    store = WindowStore(tmp_path / "windows.json", lock_timeout=0.1)
    first = window()
    store.add(first)

    with (
        exclusive_lock(store.lock_path, timeout=1),
        pytest.raises(JoinWindowError) as caught,
    ):
        store.add(window(role=Role.MANAGER))

    assert f"The join window file {store.path} stayed locked" in caught.value.message
    assert "for 0.1 seconds" in caught.value.message
    assert store.load() == [first]


def test_store_lock_follows_symbolic_link(tmp_path: Path) -> None:
    real = WindowStore(tmp_path / "real.json")
    linked = tmp_path / "linked.json"
    linked.symlink_to(real.path)

    assert WindowStore(linked).lock_path == tmp_path / "real.json.lock"


def closed_records(path: Path) -> list[dict[str, object]]:
    return [
        event
        for event in read_audit(path).events
        if event["action"] == "join-window-closed"
    ]


def close_records(path: Path) -> list[dict[str, Any]]:
    return [
        event
        for event in read_audit(path).events
        if event["action"] == "join-window-close"
    ]


def test_concurrent_closes_rotate_once(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    state = tmp_path / "demo.toml"
    windows_path = tmp_path / "windows.json"

    def service_on(backend: Any) -> TokenService:
        return TokenService(backend, audit=AuditLog(audit_path, environment={}))

    opened, _ = open_window(
        service_on(DemoBackend(path=state, seed=11)),
        Role.WORKER,
        minutes=30,
        store=WindowStore(windows_path),
    )
    paused = HangingUpdateBackend(DemoBackend(path=state, seed=11))
    results: dict[str, list[WindowClosed]] = {}

    def close_all(name: str, backend: Any) -> None:
        # Each thread has its own store on the same file, as a process would.
        results[name] = close_all_windows(
            service_on(backend), WindowStore(windows_path)
        )[1]

    first = threading.Thread(target=close_all, args=("first", paused))
    first.start()
    assert paused.entered.wait(timeout=60)
    second = threading.Thread(
        target=close_all, args=("second", DemoBackend(path=state, seed=11))
    )
    second.start()
    # The first close waits inside its swarm update. The second gets two
    # seconds to run meanwhile: without the close lock it rotates the token
    # then, and with the lock it waits for the first close to end.
    second.join(timeout=2)
    paused.release.set()
    first.join(timeout=60)
    second.join(timeout=60)

    (closed_first,) = results["first"]
    (closed_second,) = results["second"]
    assert closed_first.rotation is not None
    assert closed_second.rotation is None
    assert closed_second.closed_elsewhere
    assert "was no longer stored" in closed_second.message
    records = close_records(audit_path)
    assert [record["result"] for record in records] == ["ok"]
    assert records[0]["old_fingerprints"] == {"worker": opened.token_fingerprint}
    current = DemoBackend(path=state).inspect_swarm().worker_token
    assert records[0]["new_fingerprints"] == {"worker": fingerprint(current)}
    assert len(closed_records(audit_path)) == 1
    assert WindowStore(windows_path).load() == []


def test_concurrent_close_all_processes(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    state = tmp_path / "demo.toml"
    windows_path = tmp_path / "windows.json"
    service = TokenService(
        DemoBackend(path=state, seed=12), audit=AuditLog(audit_path, environment={})
    )
    opened, _ = open_window(
        service, Role.WORKER, minutes=30, store=WindowStore(windows_path)
    )
    environment = {
        **os.environ,
        "SWARMTUI_AUDIT_FILE": str(audit_path),
        "SWARMTUI_WINDOWS_FILE": str(windows_path),
    }
    command = [
        sys.executable,
        "-m",
        "swarmtui",
        "--demo",
        "--demo-state",
        str(state),
        "join-window",
        "close-all",
    ]
    processes = [
        subprocess.Popen(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    assert [process.returncode for process in processes] == [0, 0]
    text = "".join(out + err for out, err in outputs)
    assert text.count("the worker token was rotated") == 1
    assert "Conflict" not in text
    records = close_records(audit_path)
    assert [record["result"] for record in records] == ["ok"]
    assert records[0]["old_fingerprints"] == {"worker": opened.token_fingerprint}
    assert len(closed_records(audit_path)) == 1


def test_close_lock_wait_is_bounded(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    backend = DemoBackend(path=tmp_path / "demo.toml", seed=13)
    service = TokenService(backend, audit=AuditLog(audit_path, environment={}))
    store = WindowStore(tmp_path / "windows.json", lock_timeout=0.1)
    opened, view = open_window(service, Role.WORKER, minutes=30, store=store)
    # The demo backend's engine timeout is part of the wait, so make it small.
    waiting = TokenService(
        DemoBackend(path=tmp_path / "demo.toml", timeout=0.01),
        audit=AuditLog(audit_path, environment={}),
    )

    with (
        exclusive_lock(store.close_lock_path, timeout=1),
        pytest.raises(JoinWindowError) as caught,
    ):
        close_window(waiting, opened, CloseReason.BY_USER, store=store)

    assert "Another swarmtui process was closing a join window" in caught.value.message
    assert str(store.close_lock_path) in caught.value.message
    assert "its token was not rotated" in caught.value.message
    assert [item.id for item in store.load()] == [opened.id]
    assert backend.inspect_swarm().worker_token == view.worker_token
    records = close_records(audit_path)
    assert [record["result"] for record in records] == ["failed"]
    assert records[0]["error"] == "Join window error"


@pytest.mark.parametrize("close", ["due", "all"])
def test_window_rotated_elsewhere_ends_replaced(tmp_path: Path, close: str) -> None:
    audit_path = tmp_path / "audit.jsonl"
    backend = DemoBackend(path=tmp_path / "demo.toml", seed=8)
    service = TokenService(backend, audit=AuditLog(audit_path, environment={}))
    store = WindowStore(tmp_path / "windows.json")
    opened, _ = open_window(service, Role.WORKER, minutes=30, store=store)
    # The process that opened it died, and another tool rotated the token.
    rotated = TokenService(backend).rotate([Role.WORKER]).after

    if close == "due":
        closed = close_due_windows(service, store)
    else:
        view, closed = close_all_windows(service, store)
        assert view.cluster_id == opened.cluster_id

    assert [item.reason for item in closed] == [CloseReason.REPLACED]
    assert closed[0].rotation is None
    assert "was rotated and can no longer join" in closed[0].message
    assert store.load() == []
    assert service.read().worker_fingerprint == rotated.worker_fingerprint
    records = closed_records(audit_path)
    assert [record["result"] for record in records] == ["already-rotated"]
    assert records[0]["reason"] == str(CloseReason.REPLACED)
    assert records[0]["window_id"] == opened.id
    actions = [event["action"] for event in read_audit(audit_path).events]
    assert "join-window-close" not in actions


def test_close_all_reason_by_user(
    demo: tuple[TokenService, DemoBackend, WindowStore, Clock],
) -> None:
    service, _, store, clock = demo
    _, view = open_window(service, Role.MANAGER, minutes=30, store=store, now=clock.now)

    _, closed = close_all_windows(service, store)

    assert [item.reason for item in closed] == [CloseReason.BY_USER]
    assert closed[0].rotation is not None
    assert service.read().manager_fingerprint != view.manager_fingerprint


def test_watch_waits_at_most_an_hour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from swarmtui.cli import join_window

    backend = DemoBackend(path=tmp_path / "demo.toml", seed=2)
    service = TokenService(backend)
    opened, view = open_window(service, Role.WORKER, max_joins=1)
    pauses: list[float] = []

    def join_instead_of_sleep(seconds: float) -> None:
        pauses.append(seconds)
        backend.join(view.worker_token, "late", "127.0.4.90")

    monkeypatch.setattr(time, "sleep", join_instead_of_sleep)

    watch = join_window._Watch(opened, service, 1e10)
    reason = watch.run()

    assert pauses == [3600.0]
    assert reason is CloseReason.JOINS
    assert [node.hostname for node in watch.joined] == ["late"]


def test_close_counts_joins_since_last_poll(tmp_path: Path) -> None:
    audit = RecordingAudit()
    backend = DemoBackend(path=tmp_path / "demo.toml", seed=2)
    service = TokenService(backend, audit=audit)
    store = WindowStore(tmp_path / "windows.json")
    opened, view = open_window(service, Role.WORKER, minutes=5, store=store)
    backend.join(view.worker_token, "late", "127.0.4.91")

    closed = close_window(service, opened, CloseReason.BY_USER, joined=(), store=store)

    assert [node.hostname for node in closed.joined] == ["late"]
    assert audit.events[-1][0] == "join-window-closed"
    assert audit.events[-1][1]["nodes_joined"] == 1


def test_cli_watch_failure_closes_window(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from swarmtui.cli import join_window, main

    monkeypatch.setenv("SWARMTUI_WINDOWS_FILE", str(tmp_path / "windows.json"))
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    state = tmp_path / "demo.toml"
    before = TokenService(DemoBackend(path=state, seed=3)).read().worker_fingerprint

    def broken_watch(*arguments: Any) -> None:
        raise ZeroDivisionError("a bug in the watch")

    monkeypatch.setattr(join_window._Watch, "run", broken_watch)
    demo = ["--demo", "--demo-state", str(state)]
    code = main([*demo, "join-window", "open", "worker", "--minutes", "5", "-q"])

    assert code == 1
    err = capsys.readouterr().err
    assert "watching the worker join window failed unexpectedly" in err
    assert "(ZeroDivisionError); closing it now." in err
    assert "closed at once because watching it failed unexpectedly" in err
    assert WindowStore(tmp_path / "windows.json").load() == []
    after = TokenService(DemoBackend(path=state)).read().worker_fingerprint
    assert after != before


@pytest.mark.parametrize(
    "recorded", [True, False], ids=["after-record", "before-record"]
)
def test_signal_before_token_printed_forgets_window(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    recorded: bool,
) -> None:
    import signal

    from swarmtui.cli import join_window, main

    monkeypatch.setenv("SWARMTUI_WINDOWS_FILE", str(tmp_path / "windows.json"))
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    state = tmp_path / "demo.toml"
    before = TokenService(DemoBackend(path=state, seed=3)).read().worker_fingerprint
    record = TokenService.record

    def stopped_record(self: TokenService, action: str, **fields: Any) -> None:
        # SIGTERM arrives right after the window was stored.
        if action == "join-window-open":
            if recorded:
                record(self, action, **fields)
            raise join_window._Terminated(signal.SIGTERM)
        record(self, action, **fields)

    monkeypatch.setattr(TokenService, "record", stopped_record)
    # Another process's worker window on another swarm, opened just now.
    store = WindowStore(tmp_path / "windows.json")
    now = datetime.now(UTC).replace(microsecond=0)
    other = window(
        opened_at=now,
        until=now + timedelta(minutes=5),
        cluster_id="othercluster0000000000000",
        endpoint="demo:/elsewhere.toml",
    )
    store.update(lambda windows: [*windows, other])
    demo = ["--demo", "--demo-state", str(state)]
    code = main([*demo, "join-window", "open", "worker", "--minutes", "5", "-q"])

    assert code == 128 + signal.SIGTERM
    assert capsys.readouterr().out == ""
    assert [stored.id for stored in store.load()] == [other.id]
    after = TokenService(DemoBackend(path=state)).read().worker_fingerprint
    assert after == before
    events = read_audit(tmp_path / "audit.jsonl").events
    forgot = [event for event in events if event["action"] == "join-window-forget"]
    assert len(forgot) == 1
    assert forgot[0]["reason"] == "stopped by a signal before the token was printed"
    # As a forget by the command, it cannot fail once it runs.
    assert "result" not in forgot[0]
    opened = [event for event in events if event["action"] == "join-window-open"]
    assert len(opened) == (1 if recorded else 0)


class UnwritableStore(WindowStore):
    """A window store whose removals fail, as when its lock is held elsewhere."""

    def remove(self, window_id: str) -> bool:
        raise JoinWindowError(
            f"The join window file {self.path} stayed locked by another process.",
            "Resume or end that process.",
        )


def test_close_reports_rotation_when_store_fails(tmp_path: Path) -> None:
    audit = RecordingAudit()
    service = TokenService(
        DemoBackend(path=tmp_path / "demo.toml", seed=4), audit=audit
    )
    store = UnwritableStore(tmp_path / "windows.json")
    window, view = open_window(
        service, Role.WORKER, minutes=5, store=WindowStore(store.path)
    )

    closed = close_window(service, window, CloseReason.BY_USER, store=store)

    assert closed.rotation is not None
    assert service.read().worker_fingerprint != view.worker_fingerprint
    assert closed.store_error is not None
    assert "the worker token was rotated" in closed.message
    assert "It could not be removed from the window file" in closed.message
    assert "It ends when the file is next read" in closed.message
    action, fields = audit.events[-1]
    assert action == "join-window-closed"
    assert fields["result"] == "rotated"
    assert len(store.load()) == 1


def test_close_rotates_with_damaged_store(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=14))
    store = WindowStore(tmp_path / "windows.json")
    opened, view = open_window(service, Role.WORKER, minutes=5, store=store)
    store.path.write_text("{damaged")
    caplog.set_level(logging.WARNING)

    closed = close_window(service, opened, CloseReason.BY_USER, store=store)

    assert closed.rotation is not None
    assert not closed.closed_elsewhere
    assert closed.store_error is not None
    assert "is damaged" in closed.message
    assert service.read().worker_fingerprint != view.worker_fingerprint
    # The close's message names the damage, so a warning would repeat it.
    assert caplog.records == []


def test_close_rotates_without_close_lock(tmp_path: Path) -> None:
    service = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=15))
    store = WindowStore(tmp_path / "windows.json")
    opened, view = open_window(service, Role.WORKER, minutes=5, store=store)
    # A folder in place of the lock file makes opening it fail, also for root.
    store.close_lock_path.mkdir()

    closed = close_window(service, opened, CloseReason.BY_USER, store=store)

    assert closed.rotation is not None
    assert closed.store_error is None
    assert service.read().worker_fingerprint != view.worker_fingerprint
    assert store.load() == []


def test_store_lock_in_unwritable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    store = WindowStore(folder / "windows.json")
    # A folder in place of the lock file makes opening it fail, also for
    # root, which can write in a folder of any mode.
    (folder / "windows.json.lock").mkdir()
    window, _ = open_window(
        TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=6)),
        Role.WORKER,
        minutes=5,
    )

    with pytest.raises(JoinWindowError) as caught:
        store.add(window)

    assert f"The lock file {folder}/windows.json.lock" in caught.value.message
    assert caught.value.hint == (
        f"Make {folder} writable, or set SWARMTUI_WINDOWS_FILE to a file in a "
        "writable folder."
    )


@pytest.mark.parametrize("sigint_ignored", [False, True])
def test_open_names_signals_that_work(tmp_path: Path, sigint_ignored: bool) -> None:
    import signal

    environment = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "SWARMTUI_AUDIT_FILE": str(tmp_path / "audit.jsonl"),
        "SWARMTUI_WINDOWS_FILE": str(tmp_path / "windows.json"),
    }

    def ignore_sigint() -> None:
        # Set either way: pytest may itself run with SIGINT ignored, as a
        # background job of a script does, and the child would inherit that.
        signal.signal(
            signal.SIGINT, signal.SIG_IGN if sigint_ignored else signal.SIG_DFL
        )

    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]
    command = ["join-window", "open", "worker", "--minutes", "5", "-q"]
    process = subprocess.Popen(
        [sys.executable, "-m", "swarmtui", *demo, *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        preexec_fn=ignore_sigint,
    )
    try:
        assert process.stderr is not None
        opened = process.stderr.readline()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        closing = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert opened.startswith("Join window ")
    assert code == 0
    if sigint_ignored:
        assert "SIGINT (Ctrl+C) is ignored in this process" in opened
        assert "SIGTERM or SIGHUP closes the window now." in opened
        assert "stopped (SIGTERM)" in closing
    else:
        assert "Ctrl+C (SIGINT, SIGTERM, SIGHUP) closes it now." in opened
        assert "closed on request" in closing


class UnreadableBackend(DelegatingBackend):
    """A backend whose swarm reads time out."""

    def inspect_swarm(self) -> Any:
        raise RequestTimeoutError(
            "The engine did not respond within 3 seconds.", "Check that it runs."
        )


def test_forgotten_window_unreadable_swarm(
    demo: tuple[TokenService, DemoBackend, WindowStore, Clock],
) -> None:
    service, backend, store, clock = demo
    opened, _ = open_window(service, Role.WORKER, minutes=5, store=store, now=clock.now)
    store.pop(opened.id)
    closed = close_window(
        TokenService(UnreadableBackend(backend)),
        opened,
        CloseReason.BY_USER,
        store=store,
    )
    assert closed.closed_elsewhere
    assert closed.token_still_current is None
    assert closed.token_left_live
    assert "did not respond within 3 seconds" in closed.message
    assert opened.token_fingerprint in closed.message


def test_windows_file_variable_folder(tmp_path: Path) -> None:
    from swarmtui.state_files import WINDOWS_FILE_ENV, default_windows_path

    folder = f"{tmp_path}/state/"
    assert default_windows_path({WINDOWS_FILE_ENV: folder}) == (
        tmp_path / "state" / "join-windows.json"
    )
    named = str(tmp_path / "w.json")
    assert default_windows_path({WINDOWS_FILE_ENV: named}) == tmp_path / "w.json"


def test_same_file_through_links(tmp_path: Path) -> None:
    target = tmp_path / "windows.json"
    target.write_text("{}")
    symbolic = tmp_path / "symbolic.json"
    symbolic.symlink_to(target.name)
    hard = tmp_path / "hard.json"
    os.link(target, hard)

    assert same_file(target, tmp_path / "." / "windows.json")
    assert same_file(symbolic, target)
    assert same_file(hard, target)
    assert same_file(tmp_path / "missing.json", tmp_path / "missing.json")
    assert not same_file(target, tmp_path / "missing.json")


@pytest.mark.parametrize(
    "command",
    [
        ["join-window", "open", "worker", "--minutes", "0.02", "-q"],
        ["join-window", "close-all"],
        ["join-window", "close-expired"],
        ["join-window", "forget", "abc"],
        ["join-window", "list"],
        [],
    ],
)
def test_cli_rejects_audit_as_window_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    from swarmtui.cli import main

    shared = tmp_path / "shared" / "f.json"
    monkeypatch.setenv("SWARMTUI_WINDOWS_FILE", str(shared))
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(shared))
    state = tmp_path / "demo.toml"

    code = main(["--demo", "--demo-state", str(state), *command])

    assert code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "are the same file" in captured.err
    assert "change SWARMTUI_WINDOWS_FILE or SWARMTUI_AUDIT_FILE." in captured.err
    assert not shared.parent.exists()
    assert not state.exists()


def test_cli_rejects_audit_link_to_window_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from swarmtui.cli import main

    windows = tmp_path / "join-windows.json"
    windows.write_text('{"windows": []}\n')
    before = windows.read_bytes()
    link = tmp_path / "audit-link.jsonl"
    link.symlink_to(windows.name)
    monkeypatch.setenv("SWARMTUI_WINDOWS_FILE", str(windows))
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(link))
    state = tmp_path / "demo.toml"

    code = main(["--demo", "--demo-state", str(state), "join-window", "close-all"])

    assert code == 1
    err = capsys.readouterr().err
    assert f"the audit file {link} (from SWARMTUI_AUDIT_FILE)" in err
    assert f"are the same file, {windows}," in err
    assert windows.read_bytes() == before
    assert not state.exists()


def test_cli_rejects_config_audit_file_as_window_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from swarmtui.cli import main

    windows = tmp_path / "state" / "join-windows.json"
    config = tmp_path / "config.toml"
    config.write_text('audit_file = "state/join-windows.json"\n')
    monkeypatch.setenv("SWARMTUI_WINDOWS_FILE", str(windows))
    state = tmp_path / "demo.toml"
    demo = ["--demo", "--demo-state", str(state), "--config", str(config)]

    code = main([*demo, "join-window", "list"])

    assert code == 1
    err = capsys.readouterr().err
    assert f"(from audit_file in the config file {config}, line 1)" in err
    assert "so change SWARMTUI_WINDOWS_FILE or audit_file in the config" in err
    assert not windows.exists()

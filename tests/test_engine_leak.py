"""Leak response, unlock key rotation and join windows against a real dockerd.

Each test makes its own swarm, because it rotates tokens and joins nodes.
A rotation is proven by a fresh daemon that the old token no longer lets in.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import (
    CLI_TIMEOUT,
    Daemon,
    DaemonPool,
    clean_environment,
    create_docker_context,
    get_json,
    join,
    join_token,
    run_swarmtui,
    started_swarmtui,
)
from tui_support import HangingUpdateBackend

from swarmtui.audit import AuditLog, read_audit
from swarmtui.backends.engine import EngineBackend
from swarmtui.endpoint import EndpointChoice
from swarmtui.models import Role
from swarmtui.service import TokenService
from swarmtui.tokens import fingerprint, parse_token
from swarmtui.windows import (
    CloseReason,
    WindowClosed,
    WindowStore,
    close_all_windows,
    close_due_windows,
    evaluate,
    open_window,
)

pytestmark = pytest.mark.engine

STALE_TOKEN_MESSAGE = "A valid join token is necessary"


class CountingBackend(EngineBackend):
    """An engine backend that counts the swarm updates it sends."""

    def __init__(self, daemon: Daemon) -> None:
        super().__init__(EndpointChoice(host=daemon.host, environment={}), timeout=30)
        self.updates: list[dict[str, Any]] = []

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: Any) -> None:
        self.updates.append(flags)
        super().update_swarm(version, spec, **flags)


def secret(token: str) -> str:
    return parse_token(token).secret


def swarm_state(daemon: Daemon) -> dict[str, Any]:
    data: dict[str, Any] = get_json(daemon, "/v1.41/swarm")
    return data


def test_leak_response_real_engine(daemons: DaemonPool, tmp_path: Path) -> None:
    manager = daemons.swarm()
    early = daemons.daemon()
    joined, stderr = join(early, manager, join_token(manager, "worker"))
    assert joined, stderr
    # The engine stores node creation times to the nanosecond; a short pause
    # puts the early node strictly before the chosen start.
    time.sleep(1.0)
    since = datetime.now(UTC)
    time.sleep(1.0)
    late = daemons.daemon()
    joined, stderr = join(late, manager, join_token(manager, "worker"))
    assert joined, stderr

    old_worker = join_token(manager, "worker")
    old_manager = join_token(manager, "manager")
    before = swarm_state(manager)
    backend = CountingBackend(manager)
    audit = AuditLog(tmp_path / "audit.jsonl", environment={})
    service = TokenService(backend, audit=audit)
    view = service.read()

    report = service.respond_to_leak(since, expected=view)

    after = swarm_state(manager)
    assert backend.updates == [
        {
            "rotate_worker_token": True,
            "rotate_manager_token": True,
        }
    ]
    assert after["Version"]["Index"] > before["Version"]["Index"]
    assert report.rotation.before.version == before["Version"]["Index"]
    assert report.rotation.after.version == after["Version"]["Index"]
    assert after["Spec"] == before["Spec"]
    new_worker = after["JoinTokens"]["Worker"]
    new_manager = after["JoinTokens"]["Manager"]
    assert new_worker != old_worker
    assert new_manager != old_manager

    listed = {node.id for node in report.nodes}
    assert late.node_id() in listed
    assert early.node_id() not in listed
    assert manager.node_id() not in listed

    text = (tmp_path / "audit.jsonl").read_text()
    for token in (old_worker, old_manager, new_worker, new_manager):
        assert secret(token) not in text
    events = read_audit(tmp_path / "audit.jsonl").events
    leak_events = [event for event in events if event["action"] == "leak-response"]
    assert len(leak_events) == 1
    assert leak_events[0]["nodes_joined"] == len(report.nodes)
    assert leak_events[0]["joined_worker_ids"] == [late.node_id()]
    assert leak_events[0]["joined_manager_ids"] == []

    prober = daemons.daemon()
    joined, stderr = join(prober, manager, old_worker)
    assert not joined
    assert STALE_TOKEN_MESSAGE in stderr


def test_leak_skips_founding_node_real_engine(daemons: DaemonPool) -> None:
    manager = daemons.swarm()
    worker = daemons.daemon()
    joined, stderr = join(worker, manager, join_token(manager, "worker"))
    assert joined, stderr
    service = TokenService(
        EngineBackend(EndpointChoice(host=manager.host, environment={}), timeout=30)
    )
    view = service.read()
    # The swarm was made seconds ago, so a start an hour back covers it.
    since = datetime.now(UTC) - timedelta(hours=1)

    report = service.respond_to_leak(since, expected=view)

    listed = {node.id for node in report.nodes}
    assert worker.node_id() in listed
    assert manager.node_id() not in listed


def test_leak_response_cli_real_engine(daemons: DaemonPool, tmp_path: Path) -> None:
    manager = daemons.swarm()
    old_worker = join_token(manager, "worker")
    environment = {"SWARMTUI_AUDIT_FILE": str(tmp_path / "audit.jsonl")}

    refused = run_swarmtui("leak-response", host=manager.host, environment=environment)
    assert refused.returncode == 2
    assert join_token(manager, "worker") == old_worker

    result = run_swarmtui(
        "leak-response",
        "--yes",
        "--since",
        "10m",
        host=manager.host,
        environment=environment,
    )
    assert result.returncode == 0, result.stderr
    new_worker = join_token(manager, "worker")
    assert new_worker != old_worker
    assert "Rotated both join tokens" in result.stdout
    for stream in (result.stdout, result.stderr):
        assert secret(old_worker) not in stream
        assert secret(new_worker) not in stream
    audit_text = (tmp_path / "audit.jsonl").read_text()
    assert secret(new_worker) not in audit_text
    assert secret(old_worker) not in audit_text


def test_leak_default_starts_at_creation(daemons: DaemonPool, tmp_path: Path) -> None:
    manager = daemons.swarm()
    created = swarm_state(manager)["CreatedAt"]
    environment = {"SWARMTUI_AUDIT_FILE": str(tmp_path / "audit.jsonl")}

    result = run_swarmtui(
        "leak-response", "--yes", "--json", host=manager.host, environment=environment
    )

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    # CreatedAt has nanoseconds, and the start keeps microseconds.
    assert document["since"][:19] == created[:19]
    assert document["since_source"].startswith(
        "the swarm's creation, less than 24 hours ago"
    )
    assert document["nodes"] == []


def test_leak_default_after_docker_rotation(
    daemons: DaemonPool, tmp_path: Path
) -> None:
    manager = daemons.swarm()
    environment = {"SWARMTUI_AUDIT_FILE": str(tmp_path / "audit.jsonl")}
    first = run_swarmtui(
        "leak-response", "--yes", "--json", host=manager.host, environment=environment
    )
    assert first.returncode == 0, first.stderr
    (rotation,) = [
        event
        for event in read_audit(tmp_path / "audit.jsonl").events
        if event.get("new_fingerprints")
    ]
    manager.docker("swarm", "join-token", "--rotate", "-q", "worker")

    result = run_swarmtui(
        "leak-response", "--yes", "--json", host=manager.host, environment=environment
    )

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["since"][:19] == rotation["time"][:19]
    assert (
        "another tool made the current worker token since" in (document["since_source"])
    )


def test_unlock_key_rotation_real_engine(daemons: DaemonPool, tmp_path: Path) -> None:
    manager = daemons.swarm()
    manager.docker("swarm", "update", "--autolock=true")
    old_key = manager.docker("swarm", "unlock-key", "-q").stdout.strip()
    before = swarm_state(manager)
    audit = AuditLog(tmp_path / "audit.jsonl", environment={})
    service = TokenService(
        EngineBackend(EndpointChoice(host=manager.host, environment={}), timeout=30),
        audit=audit,
    )

    result = service.rotate_unlock_key(expected=service.read())

    new_key = manager.docker("swarm", "unlock-key", "-q").stdout.strip()
    after = swarm_state(manager)
    assert new_key != old_key
    assert new_key.startswith("SWMKEY-1-")
    assert after["JoinTokens"] == before["JoinTokens"]
    assert after["Spec"] == before["Spec"]
    assert after["Spec"]["EncryptionConfig"]["AutoLockManagers"] is True
    assert result.old_key_fingerprint != result.new_key_fingerprint
    text = (tmp_path / "audit.jsonl").read_text()
    assert old_key.split("-")[-1] not in text
    assert new_key.split("-")[-1] not in text
    assert result.new_key_fingerprint in text


def test_join_window_closes_by_count_real_engine(
    daemons: DaemonPool, tmp_path: Path
) -> None:
    manager = daemons.swarm()
    store = WindowStore(tmp_path / "windows.json")
    service = TokenService(
        EngineBackend(EndpointChoice(host=manager.host, environment={}), timeout=30)
    )
    _, view = open_window(service, Role.WORKER, max_joins=1, store=store)
    assert close_due_windows(service, store) == []

    newcomer = daemons.daemon()
    joined, stderr = join(newcomer, manager, view.worker_token)
    assert joined, stderr
    closed = close_due_windows(service, store)

    assert [item.reason for item in closed] == [CloseReason.JOINS]
    assert [node.id for node in closed[0].joined] == [newcomer.node_id()]
    assert store.load() == []
    assert join_token(manager, "worker") != view.worker_token
    assert join_token(manager, "manager") == view.manager_token
    prober = daemons.daemon()
    joined, stderr = join(prober, manager, view.worker_token)
    assert not joined
    assert STALE_TOKEN_MESSAGE in stderr


def test_join_window_counts_demoted_manager_real_engine(
    daemons: DaemonPool, tmp_path: Path
) -> None:
    manager = daemons.swarm()
    store = WindowStore(tmp_path / "windows.json")
    service = TokenService(
        EngineBackend(EndpointChoice(host=manager.host, environment={}), timeout=30)
    )
    window, view = open_window(service, Role.MANAGER, max_joins=2, store=store)
    newcomer = daemons.daemon()
    joined, stderr = join(newcomer, manager, view.manager_token)
    assert joined, stderr
    first_roles: dict[str, Role] = {}
    now = datetime.now(UTC)

    seen = evaluate(window, service.backend.list_nodes(), now, first_roles)
    manager.docker("node", "demote", newcomer.node_id())
    nodes = service.backend.list_nodes()
    after_demote = evaluate(window, nodes, now, first_roles)

    assert [node.id for node in seen.joined] == [newcomer.node_id()]
    demoted = [node for node in nodes if node.id == newcomer.node_id()]
    assert [node.role for node in demoted] == [Role.WORKER]
    assert [node.id for node in after_demote.joined] == [newcomer.node_id()]
    assert evaluate(window, nodes, now).joined == ()


def test_concurrent_close_all_real_engine(manager: Daemon, tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    windows_path = tmp_path / "windows.json"

    def service_on(backend: Any) -> TokenService:
        return TokenService(backend, audit=AuditLog(audit_path, environment={}))

    def engine() -> EngineBackend:
        return EngineBackend(
            EndpointChoice(host=manager.host, environment={}), timeout=30
        )

    opened, _ = open_window(
        service_on(engine()), Role.WORKER, minutes=30, store=WindowStore(windows_path)
    )
    worker_before = join_token(manager, "worker")
    manager_before = join_token(manager, "manager")
    paused = HangingUpdateBackend(engine())
    results: dict[str, list[WindowClosed]] = {}

    def close_all(name: str, backend: Any) -> None:
        store = WindowStore(windows_path)
        results[name] = close_all_windows(service_on(backend), store)[1]

    first = threading.Thread(target=close_all, args=("first", paused))
    first.start()
    assert paused.entered.wait(timeout=60)
    second = threading.Thread(target=close_all, args=("second", engine()))
    second.start()
    # Without the close lock, the second close rotates while the first waits
    # in its update. With the lock, it waits until the first close ends.
    second.join(timeout=5)
    paused.release.set()
    first.join(timeout=120)
    second.join(timeout=120)

    worker_after = join_token(manager, "worker")
    assert worker_after != worker_before
    assert join_token(manager, "manager") == manager_before
    (closed_first,) = results["first"]
    (closed_second,) = results["second"]
    assert closed_first.rotation is not None
    assert closed_second.closed_elsewhere
    records = [
        event
        for event in read_audit(audit_path).events
        if event["action"] == "join-window-close"
    ]
    assert [record["result"] for record in records] == ["ok"]
    # One rotation: from the token before the closes to the token now.
    assert records[0]["old_fingerprints"] == {"worker": fingerprint(worker_before)}
    assert records[0]["new_fingerprints"] == {"worker": fingerprint(worker_after)}
    assert opened.token_fingerprint == fingerprint(worker_before)
    assert WindowStore(windows_path).load() == []


def test_join_window_closes_by_time_real_engine(
    daemons: DaemonPool, tmp_path: Path
) -> None:
    manager = daemons.swarm()
    old_worker = join_token(manager, "worker")
    environment = {
        "SWARMTUI_AUDIT_FILE": str(tmp_path / "audit.jsonl"),
        "SWARMTUI_WINDOWS_FILE": str(tmp_path / "windows.json"),
    }
    # 0.05 minutes is a 3 second window; the command blocks until it closes.
    result = run_swarmtui(
        "join-window",
        "open",
        "worker",
        "--minutes",
        "0.05",
        "--poll",
        "0.5",
        "-q",
        host=manager.host,
        environment=environment,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == old_worker
    assert "its time ran out" in result.stderr
    assert join_token(manager, "worker") != old_worker
    assert WindowStore(tmp_path / "windows.json").load() == []
    actions = [event["action"] for event in read_audit(tmp_path / "audit.jsonl").events]
    assert actions == ["join-window-open", "join-window-close", "join-window-closed"]
    prober = daemons.daemon()
    joined, stderr = join(prober, manager, old_worker)
    assert not joined
    assert STALE_TOKEN_MESSAGE in stderr


def test_join_window_outlasts_paused_engine(
    daemons: DaemonPool, tmp_path: Path
) -> None:
    manager = daemons.swarm()
    old_worker = join_token(manager, "worker")
    environment = window_environment(manager, tmp_path)
    # A 9 second window; dockerd is paused for 3 s of it, longer than the
    # 1 s timeout of each poll.
    arguments = (
        "--timeout",
        "1",
        "join-window",
        "open",
        "worker",
        "--minutes",
        "0.15",
        "--poll",
        "0.5",
        "-q",
    )
    assert manager.process is not None

    with started_swarmtui(*arguments, environment=environment) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == old_worker
        manager.process.send_signal(signal.SIGSTOP)
        try:
            time.sleep(3)
        finally:
            manager.process.send_signal(signal.SIGCONT)
        _, stderr = process.communicate(timeout=CLI_TIMEOUT)

    assert process.returncode == 0, stderr
    assert "joins are not counted" in stderr
    assert "its time ran out" in stderr
    assert join_token(manager, "worker") != old_worker
    assert WindowStore(tmp_path / "windows.json").load() == []


def window_environment(manager: Daemon, tmp_path: Path) -> dict[str, str]:
    """Return the environment of a swarmtui that opens windows on `manager`."""
    return clean_environment(
        DOCKER_HOST=manager.host,
        SWARMTUI_AUDIT_FILE=str(tmp_path / "audit.jsonl"),
        SWARMTUI_WINDOWS_FILE=str(tmp_path / "windows.json"),
    )


@pytest.mark.parametrize(
    ("signum", "stopped"),
    [
        (signal.SIGTERM, "swarmtui was stopped (SIGTERM)"),
        (signal.SIGHUP, "its terminal or SSH session ended (SIGHUP)"),
    ],
)
def test_join_window_signal_rotates_real_engine(
    daemons: DaemonPool, tmp_path: Path, signum: signal.Signals, stopped: str
) -> None:
    manager = daemons.swarm()
    old_worker = join_token(manager, "worker")
    environment = window_environment(manager, tmp_path)
    arguments = ("join-window", "open", "worker", "--minutes", "60", "-q")
    with started_swarmtui(*arguments, environment=environment) as process:
        assert process.stdout is not None
        # The token is printed once the window is stored and open.
        printed = process.stdout.readline().strip()
        assert printed == old_worker
        assert len(WindowStore(tmp_path / "windows.json").load()) == 1
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=CLI_TIMEOUT)
    assert process.returncode == 0, stderr
    assert "the worker token was rotated" in stderr
    assert stopped in stderr
    assert join_token(manager, "worker") != old_worker
    assert WindowStore(tmp_path / "windows.json").load() == []
    prober = daemons.daemon()
    joined, stderr = join(prober, manager, old_worker)
    assert not joined
    assert STALE_TOKEN_MESSAGE in stderr


def test_join_window_signal_counts_joins_real_engine(
    daemons: DaemonPool, tmp_path: Path
) -> None:
    manager = daemons.swarm()
    old_worker = join_token(manager, "worker")
    environment = window_environment(manager, tmp_path)
    arguments = ("join-window", "open", "worker", "--minutes", "60", "--poll", "0.2")
    lines: list[str] = []
    joined_line = threading.Event()
    with started_swarmtui(*arguments, "-q", environment=environment) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        stderr = process.stderr

        def read_stderr() -> None:
            for line in stderr:
                lines.append(line)
                if line.startswith("joined:"):
                    joined_line.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        assert process.stdout.readline().strip() == old_worker
        newcomer = daemons.daemon()
        joined, join_error = join(newcomer, manager, old_worker)
        assert joined, join_error
        assert joined_line.wait(CLI_TIMEOUT), "".join(lines)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=CLI_TIMEOUT)
        reader.join(CLI_TIMEOUT)

    output = "".join(lines)
    address = manager.docker(
        "node", "inspect", "--format", "{{.Status.Addr}}", newcomer.node_id()
    ).stdout.strip()
    assert process.returncode == 0, output
    assert address
    assert f"({address}), node {newcomer.node_id()[:12]}, 1 so far" in output, output
    events = read_audit(tmp_path / "audit.jsonl").events
    closed = [event for event in events if event["action"] == "join-window-closed"]
    assert len(closed) == 1
    assert closed[0]["nodes_joined"] == 1
    assert join_token(manager, "worker") != old_worker


def test_join_between_polls_counted_real_engine(
    daemons: DaemonPool, tmp_path: Path
) -> None:
    manager = daemons.swarm()
    old_worker = join_token(manager, "worker")
    environment = window_environment(manager, tmp_path)
    # One poll at the start, the next one after the signal.
    arguments = ("join-window", "open", "worker", "--minutes", "60", "--poll", "60")
    with started_swarmtui(*arguments, "-q", environment=environment) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == old_worker
        newcomer = daemons.daemon()
        joined, join_error = join(newcomer, manager, old_worker)
        assert joined, join_error
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=CLI_TIMEOUT)

    assert process.returncode == 0, stderr
    assert f"node {newcomer.node_id()[:12]}, 1 so far" in stderr
    events = read_audit(tmp_path / "audit.jsonl").events
    closed = [event for event in events if event["action"] == "join-window-closed"]
    assert [event["nodes_joined"] for event in closed] == [1]
    assert join_token(manager, "worker") != old_worker


def test_due_context_window_closer_runs(daemons: DaemonPool, tmp_path: Path) -> None:
    manager = daemons.swarm()
    old_worker = join_token(manager, "worker")
    config = tmp_path / "docker-config"
    create_docker_context(config, "swarm1", manager.host)
    files = {
        "DOCKER_CONFIG": str(config),
        "SWARMTUI_AUDIT_FILE": str(tmp_path / "audit.jsonl"),
        "SWARMTUI_WINDOWS_FILE": str(tmp_path / "windows.json"),
    }
    arguments = ("-c", "swarm1", "join-window", "open", "worker", "--minutes", "0.02")
    with started_swarmtui(
        *arguments, "-q", environment=clean_environment(**files)
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == old_worker
        # Killed without its clean-up, the window stays stored until it is due.
        process.kill()
        process.wait(timeout=CLI_TIMEOUT)
    time.sleep(1.5)

    listed = run_swarmtui("join-window", "list", environment=files)
    closers = re.findall(r"'(swarmtui [^']*close-expired)' closes them", listed.stderr)
    assert closers == ["swarmtui -c swarm1 join-window close-expired"], listed.stderr
    words = shlex.split(closers[0])
    closed = run_swarmtui(*words[1:], environment=files)

    assert closed.returncode == 0, closed.stderr
    assert join_token(manager, "worker") != old_worker
    assert WindowStore(tmp_path / "windows.json").load() == []


def test_join_window_ends_after_docker_rotation(
    daemons: DaemonPool, tmp_path: Path
) -> None:
    manager = daemons.swarm()
    old_worker = join_token(manager, "worker")
    environment = window_environment(manager, tmp_path)
    arguments = ("join-window", "open", "worker", "--minutes", "60", "--poll", "0.2")
    arguments = (*arguments, "-q")
    with started_swarmtui(*arguments, environment=environment) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == old_worker
        manager.docker("swarm", "join-token", "--rotate", "-q", "worker")
        _, stderr = process.communicate(timeout=CLI_TIMEOUT)
    new_worker = join_token(manager, "worker")

    assert process.returncode == 0, stderr
    assert "was rotated and can no longer join" in stderr
    assert new_worker != old_worker
    assert WindowStore(tmp_path / "windows.json").load() == []
    events = read_audit(tmp_path / "audit.jsonl").events
    closed = [event for event in events if event["action"] == "join-window-closed"]
    assert [event["result"] for event in closed] == ["already-rotated"]
    assert secret(new_worker) not in (tmp_path / "audit.jsonl").read_text()


def test_close_expired_rotated_window_real_engine(
    daemons: DaemonPool, tmp_path: Path
) -> None:
    manager = daemons.swarm()
    old_worker = join_token(manager, "worker")
    files = {
        "SWARMTUI_AUDIT_FILE": str(tmp_path / "audit.jsonl"),
        "SWARMTUI_WINDOWS_FILE": str(tmp_path / "windows.json"),
    }
    environment = clean_environment(DOCKER_HOST=manager.host, **files)
    arguments = ("join-window", "open", "worker", "--minutes", "30", "-q")
    with started_swarmtui(*arguments, environment=environment) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == old_worker
        # SIGKILL: the process that opened the window closes nothing.
        process.kill()
        process.wait(timeout=CLI_TIMEOUT)
    stored = WindowStore(tmp_path / "windows.json").load()
    assert len(stored) == 1
    rotated = run_swarmtui(
        "join-token", "--rotate", "-q", "worker", host=manager.host, environment=files
    )
    assert rotated.returncode == 0, rotated.stderr
    new_worker = join_token(manager, "worker")
    assert new_worker != old_worker

    result = run_swarmtui(
        "join-window", "close-expired", host=manager.host, environment=files
    )

    assert result.returncode == 0, result.stderr
    assert "was rotated and can no longer join" in result.stdout
    # The window ended with the other rotation, so nothing was rotated again.
    assert join_token(manager, "worker") == new_worker
    assert WindowStore(tmp_path / "windows.json").load() == []
    events = read_audit(tmp_path / "audit.jsonl").events
    assert [event["action"] for event in events] == [
        "join-window-open",
        "rotate",
        "join-window-closed",
    ]
    assert events[-1]["window_id"] == stored[0].id
    assert events[-1]["result"] == "already-rotated"
    assert events[-1]["reason"] == str(CloseReason.REPLACED)
    listed = run_swarmtui("join-window", "list", environment=files)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == ""
    text = (tmp_path / "audit.jsonl").read_text()
    assert secret(new_worker) not in text
    assert secret(old_worker) not in text


async def test_console_leak_dialog_real_engine(
    daemons: DaemonPool, tmp_path: Path
) -> None:
    from textual.widgets import DataTable, Static

    from swarmtui.tui.app import SwarmConsole
    from swarmtui.tui.leak import LeakScreen

    manager = daemons.swarm()
    old_worker = join_token(manager, "worker")
    old_manager = join_token(manager, "manager")
    newcomer = daemons.daemon()
    joined, stderr = join(newcomer, manager, old_worker)
    assert joined, stderr
    backend = EngineBackend(
        EndpointChoice(host=manager.host, environment={}), timeout=30
    )
    audit = AuditLog(tmp_path / "audit.jsonl", environment={})
    app = SwarmConsole(
        service=TokenService(backend, audit=audit),
        environment={"SWARMTUI_WINDOWS_FILE": str(tmp_path / "windows.json")},
    )
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("L")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert isinstance(app.screen, LeakScreen)
        source = str(app.screen.query_one("#leak-since-source", Static).content)
        assert source.startswith("Default: the swarm's creation, less than 24 hours")
        await pilot.click("#leak-confirm")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        table = app.screen.query_one("#leak-nodes", DataTable)
        # The default start is the swarm's creation, and its own manager
        # created it rather than joined, so that node is left out.
        listed = {str(key.value) for key in table.rows}
        assert listed == {newcomer.node_id()}
        newcomer_row = [str(cell) for cell in table.get_row(newcomer.node_id())]
        assert newcomer_row[0] != "!"
        assert newcomer_row[2] == "worker"
    backend.close()
    assert join_token(manager, "worker") != old_worker
    assert join_token(manager, "manager") != old_manager
    text = (tmp_path / "audit.jsonl").read_text()
    assert secret(old_worker) not in text
    assert secret(old_manager) not in text

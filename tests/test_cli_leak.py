"""The leak-response, join-window and audit commands, run on the demo swarm."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from swarmtui.audit import read_audit
from swarmtui.backends.demo import DemoBackend
from swarmtui.cli import main
from swarmtui.errors import (
    EngineError,
    EngineUnreachableError,
    ExitCode,
    RequestTimeoutError,
)
from swarmtui.models import Role
from swarmtui.service import TokenService
from swarmtui.timetext import format_utc
from swarmtui.tokens import parse_token
from swarmtui.windows import JoinWindow, WindowStore, open_window


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("SWARMTUI_WINDOWS_FILE", str(tmp_path / "windows.json"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def demo_args(path: Path) -> list[str]:
    return ["--demo", "--demo-state", str(path / "demo.toml"), "--demo-seed", "4"]


def demo_service(path: Path) -> TokenService:
    return TokenService(DemoBackend(path=path / "demo.toml", seed=4))


def test_leak_response_refuses_without_tty(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = demo_service(env).read()
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    monkeypatch.setattr("swarmtui.cli.prompt.TERMINAL_PATH", str(env / "no-tty"))
    code = main([*demo_args(env), "leak-response"])
    captured = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert "--yes" in captured.err
    assert captured.out == ""
    after = demo_service(env).read()
    assert after.worker_fingerprint == before.worker_fingerprint


def test_leak_response_rejects_future_start(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = demo_service(env).read()

    code = main([*demo_args(env), "leak-response", "-y", "--since", "2099-01-01"])

    captured = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert "is in the future" in captured.err
    assert captured.out == ""
    after = demo_service(env).read()
    assert after.worker_fingerprint == before.worker_fingerprint
    assert after.manager_fingerprint == before.manager_fingerprint


def test_leak_response_json(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    service = demo_service(env)
    before = service.read()
    assert isinstance(service.backend, DemoBackend)
    joined = service.backend.join(before.manager_token, "rogue", "127.0.4.80")

    code = main([*demo_args(env), "leak-response", "--yes", "--json", "--since", "1h"])

    captured = capsys.readouterr()
    assert code == ExitCode.OK
    document = json.loads(captured.out)
    assert [node["id"] for node in document["nodes"]] == [joined.id]
    assert document["nodes"][0]["manager"] is True
    for role in Role:
        rotated = document["rotated"][role]
        assert rotated["old_fingerprint"] == before.token_fingerprint(role)
        assert rotated["new_fingerprint"] != before.token_fingerprint(role)
    after = demo_service(env).read()
    for role in Role:
        for view in (before, after):
            secret = parse_token(view.token(role)).secret
            assert secret not in captured.out
            assert secret not in captured.err
            assert secret not in (env / "audit.jsonl").read_text()
    assert "Rotated both join tokens" in captured.err
    assert "join-token worker' and '" in captured.err
    assert "join-token manager' print the new join commands." in captured.err
    events = [
        json.loads(line) for line in (env / "audit.jsonl").read_text().splitlines()
    ]
    leak = [event for event in events if event["action"] == "leak-response"]
    assert len(leak) == 1
    assert leak[0]["joined_manager_ids"] == [joined.id]
    assert leak[0]["joined_worker_ids"] == []

    assert main(["audit", "--file", str(env / "audit.jsonl")]) == 0
    listing = capsys.readouterr().out.splitlines()
    leak_line = next(line for line in listing if " leak-response " in line)
    assert leak_line.endswith(
        f"1 node(s) joined since {leak[0]['since']}, managers {joined.id[:12]}"
    )


def test_leak_response_table(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    service = demo_service(env)
    view = service.read()
    assert isinstance(service.backend, DemoBackend)
    service.backend.join(view.worker_token, "fresh-worker", "127.0.4.81")
    code = main([*demo_args(env), "leak-response", "--yes", "--since", "30m"])
    out = capsys.readouterr().out
    assert code == ExitCode.OK
    assert "1 node(s) joined since" in out
    assert "fresh-worker" in out
    assert "HOSTNAME" in out


def test_leak_response_names_current_role(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = demo_service(env)
    view = service.read()
    assert isinstance(service.backend, DemoBackend)
    service.backend.join(view.manager_token, "fresh-manager", "127.0.4.82")

    code = main([*demo_args(env), "leak-response", "--yes", "--since", "30m"])

    summary = capsys.readouterr().out.splitlines()[1]
    assert code == ExitCode.OK
    assert summary.startswith("1 node(s) joined since ")
    assert summary.endswith(", 1 of them is a manager now: check each one.")


def test_leak_response_bad_since(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*demo_args(env), "leak-response", "--yes", "--since", "soon"])
    assert code == ExitCode.USAGE
    assert "neither a time nor a duration" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["leak-response", "audit"])
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" 2h", "' 2h' has spaces around it."),
        ("2h ", "'2h ' has spaces around it."),
        (" 2026-12-04T10:00Z", "' 2026-12-04T10:00Z' has spaces around it."),
        ("2H", "'2H' is not a valid duration."),
        ("1h 30m", "'1h 30m' is not a valid duration."),
    ],
)
def test_since_typed_form_checked(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    text: str,
    message: str,
) -> None:
    before = demo_service(env).read()
    option = "--json" if command == "audit" else "--yes"

    code = main([*demo_args(env), command, option, "--since", text])

    captured = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert f"swarmtui: invalid time: {message}" in captured.err
    assert captured.out == ""
    after = demo_service(env).read()
    assert after.worker_fingerprint == before.worker_fingerprint


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("leak-response", "0001-01-01T00:00+01:00"),
        ("audit", "9999-12-31T23:59-01:00"),
    ],
)
def test_since_outside_utc_years(
    env: Path, capsys: pytest.CaptureFixture[str], command: str, text: str
) -> None:
    before = demo_service(env).read()

    code = main([*demo_args(env), command, "--since", text])

    captured = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert captured.err == (
        f"swarmtui: invalid time: {text!r} lies outside the years 1 to 9999 in "
        "UTC. Give a time within those years, such as 2026-12-04T10:00Z, or a "
        "duration back from now such as 2h.\n"
    )
    assert captured.out == ""
    after = demo_service(env).read()
    assert after.worker_fingerprint == before.worker_fingerprint
    assert after.manager_fingerprint == before.manager_fingerprint


def test_leak_start_skips_unusable_time(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    view = demo_service(env).read()
    line = {
        "time": "0001-01-01T00:00:00+01:00",
        "action": "rotate",
        "result": "ok",
        "cluster_id": view.cluster_id,
        "new_fingerprints": {
            "worker": view.worker_fingerprint,
            "manager": view.manager_fingerprint,
        },
    }
    (env / "audit.jsonl").write_text(json.dumps(line) + "\n")

    code = main([*demo_args(env), "leak-response", "--yes", "--json"])

    captured = capsys.readouterr()
    assert code == ExitCode.OK
    document = json.loads(captured.out)
    assert "no rotation of the worker or manager token" in document["since_source"]
    assert "unexpected error" not in captured.err


def test_audit_command_without_engine(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*demo_args(env), "join-token", "--rotate", "worker", "-q"]) == 0
    capsys.readouterr()
    code = main(["-H", "unix:///nonexistent/docker.sock", "audit", "--json"])
    captured = capsys.readouterr()
    assert code == ExitCode.OK
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert [event["action"] for event in events] == ["rotate"]
    assert events[0]["role"] == "worker"


def test_audit_command_damaged_line(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = env / "audit.jsonl"
    path.write_text('{"time": "2026-01-01T00:00:00Z", "action": "copy"}\nxx\n')
    code = main(["audit", "--limit", "5"])
    captured = capsys.readouterr()
    assert code == ExitCode.OK
    assert "copy" in captured.out
    assert "skipped 1 damaged line(s)" in captured.err
    assert "line 2" in captured.err


def test_audit_failure_warns_on_stderr(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = env / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(blocker / "audit.jsonl"))
    code = main([*demo_args(env), "join-token", "--rotate", "worker", "-q"])
    captured = capsys.readouterr()
    assert code == ExitCode.OK
    assert "warning" in captured.err
    assert "audit file" in captured.err


def test_join_window_close_expired(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    from swarmtui.windows import JoinWindow, WindowStore

    service = demo_service(env)
    view = service.read()
    store = WindowStore()
    opened = datetime.now(UTC) - timedelta(minutes=10)
    store.add(
        JoinWindow(
            role=Role.WORKER,
            opened_at=opened,
            until=opened + timedelta(minutes=5),
            max_joins=None,
            baseline_node_ids=frozenset(),
            cluster_id=view.cluster_id,
            endpoint=view.endpoint,
            token_fingerprint=view.worker_fingerprint,
        )
    )
    assert main(["join-window", "list"]) == 0
    captured = capsys.readouterr()
    assert captured.out.rstrip().endswith("(due)")
    assert "1 window(s) are due" in captured.err
    state = str(env / "demo.toml")
    closer = shlex.join(
        ["--demo", "--demo-state", state, "join-window", "close-expired"]
    )
    assert f"'swarmtui {closer}' closes them" in captured.err
    assert "run against a manager of each window's swarm" in captured.err
    assert "'swarmtui join-window forget WINDOW_ID' removes it" in captured.err

    assert main([*demo_args(env), "join-window", "close-expired"]) == 0
    out = capsys.readouterr().out
    assert "rotated" in out
    assert demo_service(env).read().worker_fingerprint != view.worker_fingerprint
    assert store.load() == []


def test_join_window_open_json(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    view = demo_service(env).read()
    options = ["--minutes", "0.0001", "--json"]
    code = main([*demo_args(env), "join-window", "open", "worker", *options])

    captured = capsys.readouterr()
    assert code == ExitCode.OK, captured.err
    document = json.loads(captured.out)
    assert document["role"] == "worker"
    assert document["token"] == view.worker_token
    assert document["fingerprint"] == view.worker_fingerprint
    assert document["join_address"] == view.join_address
    assert document["command"] == view.join_command(Role.WORKER)
    assert document["cluster_id"] == view.cluster_id
    assert document["endpoint"] == view.endpoint
    assert document["max_joins"] is None
    opened = datetime.fromisoformat(document["opened_at"])
    assert datetime.fromisoformat(document["until"]) >= opened
    assert re.fullmatch(r"[0-9a-f]{12}", document["window_id"])
    # The window closed at once and rotated the token it printed.
    assert demo_service(env).read().worker_token != view.worker_token


def test_due_window_spaced_socket_quoted(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    from swarmtui.windows import JoinWindow, WindowStore

    opened = datetime.now(UTC) - timedelta(minutes=10)
    WindowStore().add(
        JoinWindow(
            role=Role.WORKER,
            opened_at=opened,
            until=opened + timedelta(minutes=5),
            max_joins=None,
            baseline_node_ids=frozenset(),
            cluster_id="c" * 25,
            endpoint="unix:///tmp/a b/d.sock",
            token_fingerprint="0123456789ab",
        )
    )
    assert main(["join-window", "list"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    closer = re.search(r"are due\. '([^']*)' closes them", err)
    assert closer is not None, err
    assert shlex.split(closer[1]) == [
        "swarmtui",
        "-H",
        "unix:///tmp/a b/d.sock",
        "join-window",
        "close-expired",
    ]


@pytest.mark.parametrize(
    ("error", "ending"),
    [
        ("returned an error (500): boom", "returned an error (500): boom. List"),
        ("did not respond within 10 seconds.", "within 10 seconds. List"),
    ],
)
def test_leak_nodes_error_ends_sentence(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    error: str,
    ending: str,
) -> None:
    def failing_list_nodes(self: DemoBackend) -> list[Any]:
        raise EngineError(f"The engine at unix:///x.sock {error}")

    monkeypatch.setattr(DemoBackend, "list_nodes", failing_list_nodes)

    code = main([*demo_args(env), "leak-response", "--yes", "--since", "1h"])

    assert code == ExitCode.FAILURE
    out = capsys.readouterr().out
    assert f"{ending} them with 'docker node ls'." in out


# Windows as a hand edit may leave them, with a terminal title sequence in
# the ID, a colour change in the cluster ID and a screen clear in the endpoint.
EDITED_WINDOW = {
    "id": "w\x1b]0;T\x07x",
    "role": "worker",
    "opened_at": "2026-12-01T00:00:00Z",
    "until": "2026-12-01T01:00:00Z",
    "max_joins": None,
    "cluster_id": "c\x1b[31mred",
    "endpoint": "unix:///x\x1b[2J.sock",
    "token_fingerprint": "fp:aaaa-bbbb-cccc",
}


def test_join_window_list_escapes_controls(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = {"windows": [EDITED_WINDOW]}
    (env / "windows.json").write_text(json.dumps(document), encoding="utf-8")

    assert main(["join-window", "list"]) == 0

    captured = capsys.readouterr()
    assert "\x1b" not in captured.out
    assert "\x07" not in captured.out
    assert "\x1b" not in captured.err
    assert "w\\x1b]0;T\\x07x  worker" in captured.out
    assert "swarm c\\x1b[31mred" in captured.out
    assert "unix:///x\\x1b[2J.sock" in captured.out
    assert "unix:///x\\x1b[2J.sock" in captured.err
    assert "join-window close-expired" in captured.err


def test_close_all_escapes_other_swarms(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = {"windows": [EDITED_WINDOW]}
    (env / "windows.json").write_text(json.dumps(document), encoding="utf-8")

    assert main([*demo_args(env), "join-window", "close-all"]) == 0

    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "w\\x1b]0;T\\x07x  worker  swarm c\\x1b[31mred" in err
    assert "opened at unix:///x\\x1b[2J.sock" in err


def test_close_expired_escapes_open_windows(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    view = demo_service(env).read()
    window = {
        **EDITED_WINDOW,
        "opened_at": format_utc(datetime.now(UTC)),
        "until": "9999-01-01T00:00:00Z",
        "cluster_id": view.cluster_id,
        "endpoint": view.endpoint,
        "token_fingerprint": view.worker_fingerprint,
    }
    (env / "windows.json").write_text(json.dumps({"windows": [window]}))

    assert main([*demo_args(env), "join-window", "close-expired"]) == 0

    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "  w\\x1b]0;T\\x07x  worker  until 9999-01-01" in err


def test_forget_escapes_stored_text(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = {"windows": [EDITED_WINDOW]}
    (env / "windows.json").write_text(json.dumps(document), encoding="utf-8")

    assert main(["join-window", "forget", EDITED_WINDOW["id"]]) == 0

    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "window w\\x1b]0;T\\x07x of swarm c\\x1b[31mre" in out


def test_join_window_list_json(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime, timedelta

    assert main(["join-window", "list", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert "no join window is stored" in captured.err

    service = demo_service(env)
    view = service.read()
    opened = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    store = WindowStore()
    due = JoinWindow(
        role=Role.WORKER,
        opened_at=opened,
        until=opened + timedelta(minutes=5),
        max_joins=None,
        baseline_node_ids=frozenset({"n1"}),
        cluster_id=view.cluster_id,
        endpoint=view.endpoint,
        token_fingerprint=view.worker_fingerprint,
    )
    open_one = JoinWindow(
        role=Role.MANAGER,
        opened_at=datetime.now(UTC),
        until=None,
        max_joins=2,
        baseline_node_ids=frozenset(),
        cluster_id=view.cluster_id,
        endpoint=view.endpoint,
        token_fingerprint=view.manager_fingerprint,
    )
    store.add(due)
    store.add(open_one)

    assert main(["join-window", "list", "--json"]) == 0
    captured = capsys.readouterr()
    listed = {entry["id"]: entry for entry in json.loads(captured.out)}
    assert listed[due.id] == {
        "id": due.id,
        "role": "worker",
        "opened_at": "2026-01-02T03:04:05Z",
        "until": "2026-01-02T03:09:05Z",
        "max_joins": None,
        "cluster_id": view.cluster_id,
        "endpoint": view.endpoint,
        "token_fingerprint": view.worker_fingerprint,
        "due": True,
    }
    assert listed[open_one.id]["role"] == "manager"
    assert listed[open_one.id]["until"] is None
    assert listed[open_one.id]["max_joins"] == 2
    assert listed[open_one.id]["due"] is False
    assert "1 window(s) are due" in captured.err
    assert "SWMTKN" not in captured.out + captured.err


def join_instead_of_sleep(state: Path, address: str) -> Callable[[float], None]:
    """Return a stand-in for time.sleep that joins a demo worker named "scripted".

    Only the first call joins, because the address can be used only once.
    """
    calls: list[float] = []

    def join(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) > 1:
            return
        service = demo_service(state)
        backend = service.backend
        assert isinstance(backend, DemoBackend)
        backend.join(service.read().worker_token, "scripted", address)

    return join


def test_join_window_open_by_count(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setattr(time, "sleep", join_instead_of_sleep(env, "127.0.4.82"))
    before = demo_service(env).read()
    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--joins", "1", "-q"]
    )
    captured = capsys.readouterr()
    assert code == ExitCode.OK
    assert captured.out.strip() == before.worker_token
    assert "joined: scripted" in captured.err
    assert "rotated" in captured.err
    assert demo_service(env).read().worker_fingerprint != before.worker_fingerprint


def test_join_window_open_prints_sentence(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setattr(time, "sleep", join_instead_of_sleep(env, "127.0.4.84"))
    before = demo_service(env).read()
    code = main([*demo_args(env), "join-window", "open", "worker", "--joins", "1"])

    lines = capsys.readouterr().out.splitlines()
    assert code == ExitCode.OK
    assert lines == [
        "Run this command on a host to make it a worker of the swarm:",
        "",
        f"    {before.join_command(Role.WORKER)}",
    ]


def test_join_window_survives_failed_polls(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    list_nodes = DemoBackend.list_nodes
    # The first call lists the nodes that were in the swarm when it opened.
    failures = iter([False, True, True, False])

    def list_nodes_after_two_timeouts(self: DemoBackend) -> Any:
        if next(failures, False):
            raise RequestTimeoutError(
                "The engine did not respond within 3 seconds.", "Check that it runs."
            )
        return list_nodes(self)

    monkeypatch.setattr(DemoBackend, "list_nodes", list_nodes_after_two_timeouts)
    monkeypatch.setattr(time, "sleep", join_instead_of_sleep(env, "127.0.4.83"))
    before = demo_service(env).read()
    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--joins", "1", "-q"]
    )
    captured = capsys.readouterr()
    assert code == ExitCode.OK, captured.err
    assert captured.err.count("joins are not counted") == 1
    assert "did not respond within 3 seconds" in captured.err
    assert "the node list can be read again" in captured.err
    assert "joined: scripted" in captured.err
    assert demo_service(env).read().worker_fingerprint != before.worker_fingerprint
    assert WindowStore(env / "windows.json").load() == []


def test_join_window_interrupt_counts_joins(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    join = join_instead_of_sleep(env, "127.0.4.85")
    pauses: list[float] = []

    def join_then_interrupt(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) > 1:
            raise KeyboardInterrupt
        join(seconds)

    monkeypatch.setattr(time, "sleep", join_then_interrupt)
    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--minutes", "5", "-q"]
    )

    captured = capsys.readouterr()
    assert code == ExitCode.OK, captured.err
    assert "joined: scripted (127.0.4.85), node " in captured.err
    assert ", 1 so far" in captured.err
    closed = [
        event
        for event in read_audit(env / "audit.jsonl").events
        if event["action"] == "join-window-closed"
    ]
    assert len(closed) == 1
    assert closed[0]["reason"] == "closed by the user"
    assert closed[0]["nodes_joined"] == 1


def test_join_line_waits_for_address(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses
    import time

    list_nodes = DemoBackend.list_nodes
    polls: list[int] = []

    def list_nodes_address_late(self: DemoBackend) -> Any:
        """List the nodes, without the address of "scripted" on its first poll."""
        nodes = list(list_nodes(self))
        listed = [node for node in nodes if node.hostname == "scripted"]
        polls.append(len(listed))
        if polls.count(1) == 1 and listed:
            nodes = [
                dataclasses.replace(node, address="")
                if node.hostname == "scripted"
                else node
                for node in nodes
            ]
        return nodes

    join = join_instead_of_sleep(env, "127.0.4.86")
    lines_at_pause: list[str] = []

    def join_then_note(seconds: float) -> None:
        lines_at_pause.append(capsys.readouterr().err)
        join(seconds)
        if len(lines_at_pause) > 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(DemoBackend, "list_nodes", list_nodes_address_late)
    monkeypatch.setattr(time, "sleep", join_then_note)
    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--minutes", "5", "-q"]
    )

    assert code == ExitCode.OK
    # The first pause comes before the join, the second after the poll that
    # lists the node without its address, the third after it has one.
    assert "joined:" not in lines_at_pause[1]
    assert "joined: scripted (127.0.4.86), node " in lines_at_pause[2]
    assert "no address" not in "".join(lines_at_pause)


def test_join_line_without_address_at_close(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses
    import time

    list_nodes = DemoBackend.list_nodes

    def list_nodes_without_addresses(self: DemoBackend) -> Any:
        return [dataclasses.replace(node, address="") for node in list_nodes(self)]

    monkeypatch.setattr(DemoBackend, "list_nodes", list_nodes_without_addresses)
    monkeypatch.setattr(time, "sleep", join_instead_of_sleep(env, "127.0.4.87"))
    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--joins", "1", "-q"]
    )

    captured = capsys.readouterr()
    assert code == ExitCode.OK
    assert "joined: scripted (address not reported yet), node " in captured.err


def test_join_line_at_limit_waits_for_close_list(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses
    import time

    list_nodes = DemoBackend.list_nodes
    listings: list[bool] = []

    def list_nodes_details_late(self: DemoBackend) -> Any:
        """List "scripted" without hostname and address the first time only."""
        nodes = list(list_nodes(self))
        if not any(node.hostname == "scripted" for node in nodes):
            return nodes
        listings.append(True)
        if len(listings) > 1:
            return nodes
        return [
            dataclasses.replace(node, hostname="", address="")
            if node.hostname == "scripted"
            else node
            for node in nodes
        ]

    monkeypatch.setattr(DemoBackend, "list_nodes", list_nodes_details_late)
    monkeypatch.setattr(time, "sleep", join_instead_of_sleep(env, "127.0.4.88"))
    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--joins", "1", "-q"]
    )

    err = capsys.readouterr().err
    assert code == ExitCode.OK
    assert len(listings) >= 2
    assert "joined: scripted (127.0.4.88), node " in err
    assert "not reported yet" not in err


def test_join_line_without_hostname_says_so(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses
    import time

    list_nodes = DemoBackend.list_nodes

    def list_nodes_bare(self: DemoBackend) -> Any:
        return [
            dataclasses.replace(node, hostname="", address="")
            for node in list_nodes(self)
        ]

    monkeypatch.setattr(DemoBackend, "list_nodes", list_nodes_bare)
    monkeypatch.setattr(time, "sleep", join_instead_of_sleep(env, "127.0.4.89"))
    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--joins", "1", "-q"]
    )

    err = capsys.readouterr().err
    assert code == ExitCode.OK
    assert "joined: hostname not reported yet (address not reported yet), node " in err


class TerminalInput(io.StringIO):
    """Standard input that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "rotated"), [("y\n", True), ("n\n", False)])
def test_leak_response_asks_on_terminal(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    rotated: bool,
) -> None:
    before = demo_service(env).read()
    monkeypatch.setattr("sys.stdin", TerminalInput(answer))
    code = main([*demo_args(env), "leak-response"])
    captured = capsys.readouterr()
    assert "Rotate BOTH join tokens" in captured.err
    assert "24 hours ago" in captured.err
    after = demo_service(env).read()
    if rotated:
        assert code == ExitCode.OK
        assert after.worker_fingerprint != before.worker_fingerprint
        assert after.manager_fingerprint != before.manager_fingerprint
    else:
        assert code == ExitCode.FAILURE
        assert "nothing was rotated" in captured.err
        assert after.worker_fingerprint == before.worker_fingerprint


def test_audit_columns_line_up(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = env / "audit.jsonl"
    events = [
        {"time": "2026-01-01T00:00:00Z", "user": "al", "action": "copy"},
        {
            "time": "2026-01-01T00:00:01Z",
            "user": "beatrice",
            "action": "rotate",
            "role": "manager",
            "result": "ok",
            "endpoint": "unix:///var/run/docker.sock",
        },
    ]
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    path.chmod(0o600)

    assert main(["audit", "--file", str(path)]) == ExitCode.OK

    header, *lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert header.index("ACTION") == lines[0].index("copy")
    assert header.index("ENDPOINT") == lines[1].index("unix://")
    assert header.endswith("  DETAILS")
    assert lines[0].index("copy") == lines[1].index("rotate")
    assert lines[0].endswith("-")
    assert lines[0] == lines[0].rstrip()


@pytest.mark.parametrize("user", ["山田太郎", "a\u0301b\u0301c", "emoji\U0001f600"])
def test_audit_columns_count_cells(
    env: Path, capsys: pytest.CaptureFixture[str], user: str
) -> None:
    from rich.cells import cell_len

    path = env / "audit.jsonl"
    events = [
        {"time": "2026-01-01T00:00:00Z", "user": "root", "action": "copy"},
        {"time": "2026-01-01T00:00:01Z", "user": user, "action": "rotate"},
    ]
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    path.chmod(0o600)

    assert main(["audit", "--file", str(path)]) == ExitCode.OK

    _, *lines = capsys.readouterr().out.splitlines()
    assert cell_len(lines[0][: lines[0].index("copy")]) == cell_len(
        lines[1][: lines[1].index("rotate")]
    )


def test_audit_reports_no_match(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = env / "audit.jsonl"
    event = {"time": "2026-01-01T00:00:00Z", "action": "copy", "cluster_id": "abcd12"}
    path.write_text(json.dumps(event) + "\n")
    path.chmod(0o600)

    assert main(["audit", "--file", str(path), "--cluster", "zzzz"]) == ExitCode.OK

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no audit event in" in captured.err
    assert "matches the options given" in captured.err


def test_audit_of_empty_file(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = env / "audit.jsonl"
    path.write_text("")
    path.chmod(0o600)

    assert main(["audit", "--file", str(path)]) == ExitCode.OK

    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"the audit file {path} has no events yet." in captured.err
    assert "options" not in captured.err


def test_join_window_open_needs_limit(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*demo_args(env), "join-window", "open", "worker"])
    assert code == ExitCode.USAGE
    assert "--minutes, --joins, or both" in capsys.readouterr().err


def test_join_window_close_all(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from swarmtui.windows import WindowStore, open_window

    service = demo_service(env)
    window, view = open_window(
        service, Role.MANAGER, minutes=30, max_joins=2, store=WindowStore()
    )
    assert main([*demo_args(env), "join-window", "close-expired"]) == 0
    err = capsys.readouterr().err
    assert "no join window of this swarm had to close" in err
    assert "1 join window(s) of this swarm are not due yet and stay open:" in err
    assert window.until is not None
    assert (
        f"  {window.id}  manager  until {format_utc(window.until)}  max joins 2" in err
    )
    assert "join-window close-all' to close them now" in err
    assert demo_service(env).read().manager_fingerprint == view.manager_fingerprint

    assert main([*demo_args(env), "join-window", "close-all"]) == 0
    output = capsys.readouterr().out
    assert "The manager join window was closed on request;" in output
    assert "closed because it was closed" not in output
    assert demo_service(env).read().manager_fingerprint != view.manager_fingerprint
    assert WindowStore().load() == []


@pytest.mark.parametrize(
    ("endpoint", "words"),
    [
        ("f11 (unix:///tmp/f11/d.sock)", ["swarmtui", "-c", "f11"]),
        ("prod.eu-1 (ssh://admin@127.0.0.2)", ["swarmtui", "-c", "prod.eu-1"]),
        ("f11", ["swarmtui", "-c", "f11"]),
        ("unix:///run/docker.sock", ["swarmtui", "-H", "unix:///run/docker.sock"]),
        (
            "unix:///tmp/a (b://c)/d.sock",
            ["swarmtui", "-H", "unix:///tmp/a (b://c)/d.sock"],
        ),
        ("tcp://127.0.0.2:2376", ["swarmtui", "-H", "tcp://127.0.0.2:2376"]),
    ],
)
def test_window_endpoint_to_options(endpoint: str, words: list[str]) -> None:
    from datetime import UTC, datetime

    from swarmtui.cli.join_window import _swarm_words

    window = JoinWindow(
        role=Role.WORKER,
        opened_at=datetime.now(UTC),
        until=None,
        max_joins=1,
        baseline_node_ids=frozenset(),
        endpoint=endpoint,
    )

    assert _swarm_words(window) == words


def test_join_window_list_empty(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-H", "unix:///nonexistent.sock", "join-window", "list"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no join window is stored" in captured.err


def test_audit_since_filters(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = env / "audit.jsonl"
    path.write_text(
        '{"time": "2020-01-01T00:00:00Z", "action": "old"}\n'
        '{"time": "2999-01-01T00:00:00Z", "action": "future"}\n'
    )
    assert main(["audit", "--since", "1d", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["action"] for line in lines] == ["future"]


def test_audit_lines_for_every_action(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from swarmtui.cli.audit_log import render_line

    events = [
        {"time": "2026-01-01T00:00:00Z", "action": "copy"},
        {"time": "2026-01-01T00:00:00Z", "action": "show", "item": "token"},
        {
            "time": "2026-01-01T00:00:00Z",
            "action": "join-window-closed",
            "nodes_joined": 2,
            "reason": "joins",
        },
        {
            "time": "2026-01-01T00:00:00Z",
            "action": "leak-response",
            "nodes_joined": 0,
            "since": "2025-12-31T00:00:00Z",
        },
        {
            "time": "2026-01-01T00:00:00Z",
            "action": "rotate-unlock-key",
            "old_key_fingerprint": "kfp:a",
            "new_key_fingerprint": "kfp:b",
        },
        {
            "time": "2026-01-01T00:00:00Z",
            "action": "join-window-open",
            "window_id": "e38dcfbe429b",
            "until": "2026-01-01T00:10:00Z",
            "max_joins": None,
        },
        {
            "time": "2026-01-01T00:00:00Z",
            "action": "join-window-open",
            "window_id": "e38dcfbe429c",
            "until": None,
            "max_joins": 3,
        },
    ]
    lines = [render_line(event) for event in events]
    assert lines[0].endswith("copy  -  -  -")
    assert lines[1].endswith("show  -  -  -  item: token")
    assert "2 node(s) joined; reason: joins" in lines[2]
    assert "0 node(s) joined since 2025-12-31T00:00:00Z" in lines[3]
    assert "new key fingerprint kfp:b" in lines[4]
    assert lines[5].endswith(
        "window e38dcfbe429b; until 2026-01-01T00:10:00Z, max joins -"
    )
    assert lines[6].endswith("window e38dcfbe429c; until -, max joins 3")


@pytest.mark.parametrize(
    "burst",
    [
        (signal.SIGHUP, signal.SIGTERM),
        (signal.SIGTERM, signal.SIGHUP, signal.SIGTERM),
        (signal.SIGINT, signal.SIGTERM, signal.SIGINT),
    ],
)
def test_signal_burst_still_closes_window(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    burst: tuple[signal.Signals, ...],
) -> None:
    import time

    def signalled(seconds: float) -> None:
        for signum in burst:
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(time, "sleep", signalled)
    before = demo_service(env).read()

    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--minutes", "5", "-q"]
    )

    err = capsys.readouterr().err
    assert code == ExitCode.OK, err
    assert "Traceback" not in err
    assert "rotated" in err
    assert demo_service(env).read().worker_fingerprint != before.worker_fingerprint
    assert WindowStore(env / "windows.json").load() == []
    actions = [event["action"] for event in read_audit(env / "audit.jsonl").events]
    assert actions.count("join-window-close") == 1
    assert actions.count("join-window-closed") == 1
    for signum in (signal.SIGTERM, signal.SIGHUP):
        assert signal.getsignal(signum) == signal.SIG_DFL


def test_second_signal_keeps_rotation_record(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from swarmtui.audit import AuditLog

    update = DemoBackend.update_swarm
    record = AuditLog.record

    def update_then_hang_up(self: DemoBackend, *args: Any, **kwargs: Any) -> None:
        update(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGHUP)

    def record_under_sigterm(self: AuditLog, action: str, **fields: Any) -> None:
        # A second signal while the first one's record is written.
        os.kill(os.getpid(), signal.SIGTERM)
        record(self, action, **fields)

    monkeypatch.setattr(DemoBackend, "update_swarm", update_then_hang_up)
    monkeypatch.setattr(AuditLog, "record", record_under_sigterm)

    code = main([*demo_args(env), "join-token", "--rotate", "-q", "worker"])

    err = capsys.readouterr().err
    assert code == 128 + signal.SIGHUP
    assert "stopped by SIGHUP during a rotation" in err
    events = read_audit(env / "audit.jsonl").events
    assert [event["action"] for event in events] == ["rotate"]
    assert events[0]["result"] == "unknown"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_during_window_close_ignored(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    signum: signal.Signals,
) -> None:
    import time

    from swarmtui.cli import join_window

    closing = join_window.close_window

    def signalled_while_closing(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signum)
        return closing(*args, **kwargs)

    monkeypatch.setattr(time, "sleep", join_instead_of_sleep(env, "127.0.4.84"))
    monkeypatch.setattr(join_window, "close_window", signalled_while_closing)
    before = demo_service(env).read()

    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--joins", "1", "-q"]
    )

    assert code == ExitCode.OK
    assert "rotated" in capsys.readouterr().err
    assert demo_service(env).read().worker_fingerprint != before.worker_fingerprint
    assert WindowStore(env / "windows.json").load() == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_unexpected_read_back_error_recorded(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    update = DemoBackend.update_swarm
    inspect = DemoBackend.inspect_swarm
    updated: list[bool] = []

    def update_and_note(self: DemoBackend, *args: Any, **kwargs: Any) -> None:
        update(self, *args, **kwargs)
        updated.append(True)

    def inspect_of_odd_shape(self: DemoBackend) -> Any:
        if updated:
            raise ValueError("invalid literal for int() with base 10: 'x'")
        return inspect(self)

    monkeypatch.setattr(DemoBackend, "update_swarm", update_and_note)
    monkeypatch.setattr(DemoBackend, "inspect_swarm", inspect_of_odd_shape)

    code = main([*demo_args(env), "join-token", "--rotate", "-q", "worker"])

    captured = capsys.readouterr()
    assert code == ExitCode.ENGINE_UNREACHABLE
    assert captured.out == ""
    assert "rotation outcome unknown" in captured.err
    assert "failed unexpectedly after the update was sent" in captured.err
    assert "Traceback" not in captured.err
    events = read_audit(env / "audit.jsonl").events
    assert [event["action"] for event in events] == ["rotate"]
    assert events[0]["result"] == "unknown"
    assert events[0]["error"] == "Unexpected error (ValueError)"


def test_late_signal_keeps_exit_code(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import swarmtui.cli as cli

    update = DemoBackend.update_swarm
    report = cli._report

    def update_then_terminate(self: DemoBackend, *args: Any, **kwargs: Any) -> None:
        update(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)

    def report_under_sigint(message: str) -> None:
        # A further signal while the first one's message is written.
        os.kill(os.getpid(), signal.SIGINT)
        report(message)

    monkeypatch.setattr(DemoBackend, "update_swarm", update_then_terminate)
    monkeypatch.setattr(cli, "_report", report_under_sigint)

    code = main([*demo_args(env), "join-token", "--rotate", "-q", "worker"])

    assert code == 128 + signal.SIGTERM
    assert "stopped by SIGTERM during a rotation" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_join_window_ends_when_rotated_elsewhere(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    rotated: list[str] = []

    def rotate_instead_of_sleep(seconds: float) -> None:
        if not rotated:
            result = demo_service(env).rotate([Role.WORKER])
            rotated.append(result.after.worker_fingerprint)

    monkeypatch.setattr(time, "sleep", rotate_instead_of_sleep)
    before = demo_service(env).read()
    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--minutes", "5", "-q"]
    )

    captured = capsys.readouterr()
    assert code == ExitCode.OK, captured.err
    assert f"the worker token it handed out ({before.worker_fingerprint})" in (
        captured.err
    )
    assert "was rotated and can no longer join" in captured.err
    # The token that replaced it is left alone: the window did not hand it out.
    assert demo_service(env).read().worker_fingerprint == rotated[0]
    assert WindowStore(env / "windows.json").load() == []


def test_second_join_window_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = demo_service(env)
    store = WindowStore(env / "windows.json")
    first, view = open_window(service, Role.WORKER, minutes=5, store=store)

    code = main([*demo_args(env), "join-window", "open", "worker", "--minutes", "1"])

    captured = capsys.readouterr()
    assert code == ExitCode.FAILURE
    assert captured.out == ""
    assert f"A worker join window ({first.id}) is already open" in captured.err
    assert "or 'swarmtui --demo --demo-state" in captured.err
    assert "join-window close-all') and open a new one." in captured.err
    assert [window.id for window in store.load()] == [first.id]
    assert demo_service(env).read().worker_fingerprint == view.worker_fingerprint


@pytest.mark.parametrize("command", [["leak-response", "-y"], ["audit"]])
def test_empty_since_rejected(
    env: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    before = demo_service(env).read()

    code = main([*demo_args(env), *command, "--since", ""])

    assert code == ExitCode.USAGE
    assert "'' is neither a time nor a duration" in capsys.readouterr().err
    after = demo_service(env).read()
    assert after.worker_fingerprint == before.worker_fingerprint
    assert after.manager_fingerprint == before.manager_fingerprint


def test_join_window_of_replaced_swarm_named(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    replaced: list[bool] = []

    def replace_instead_of_sleep(seconds: float) -> None:
        if not replaced:
            DemoBackend(path=env / "demo.toml", seed=5).reset()
            replaced.append(True)

    monkeypatch.setattr(time, "sleep", replace_instead_of_sleep)
    code = main([*demo_args(env), "join-window", "open", "worker", "--minutes", "5"])

    captured = capsys.readouterr()
    stored = WindowStore(env / "windows.json").load()
    assert code == ExitCode.FAILURE
    assert len(stored) == 1
    assert f"'join-window forget {stored[0].id}'" in captured.err
    assert "once the engine answers" not in captured.err


def test_join_window_forget(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = WindowStore(env / "windows.json")
    window, _ = open_window(demo_service(env), Role.MANAGER, minutes=5, store=store)

    assert main(["join-window", "forget", "nosuchid"]) == ExitCode.FAILURE
    assert "no join window 'nosuchid' is stored" in capsys.readouterr().err
    assert main(["join-window", "forget", window.id]) == ExitCode.OK

    out = capsys.readouterr().out
    assert f"Forgot the manager join window {window.id}" in out
    assert "was not rotated" in out
    assert store.load() == []
    events = read_audit(env / "audit.jsonl").events
    assert [
        event["window_id"]
        for event in events
        if event["action"] == ("join-window-forget")
    ] == [window.id]


def test_close_names_other_swarm_windows(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = WindowStore(env / "windows.json")
    old, old_view = open_window(demo_service(env), Role.WORKER, minutes=5, store=store)
    # The swarm is replaced, as by 'docker swarm leave' and 'init'.
    reset = ["--demo", "--demo-state", str(env / "demo.toml"), "--demo-seed", "5"]
    assert main([*reset, "demo-reset"]) == ExitCode.OK
    capsys.readouterr()
    assert demo_service(env).read().cluster_id != old_view.cluster_id

    for command in ("close-expired", "close-all"):
        code = main([*demo_args(env), "join-window", command])

        err = capsys.readouterr().err
        assert code == ExitCode.OK
        assert "no join window of this swarm had to close" in err
        assert "1 stored join window(s) belong to another swarm" in err
        assert f"{old.id}  worker  swarm {old.cluster_id[:12]}" in err
        assert "'swarmtui join-window forget WINDOW_ID'" in " ".join(err.split())
    assert [item.id for item in store.load()] == [old.id]


def test_close_expired_ends_rotated_window(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = WindowStore(env / "windows.json")
    opened, view = open_window(demo_service(env), Role.WORKER, minutes=30, store=store)
    assert main([*demo_args(env), "join-token", "--rotate", "worker", "-q"]) == 0
    rotated = demo_service(env).read().worker_fingerprint
    capsys.readouterr()

    code = main([*demo_args(env), "join-window", "close-expired"])

    captured = capsys.readouterr()
    assert code == ExitCode.OK
    assert f"the worker token it handed out ({view.worker_fingerprint})" in (
        captured.out
    )
    assert "was rotated and can no longer join" in captured.out
    assert store.load() == []
    assert demo_service(env).read().worker_fingerprint == rotated
    closed = [
        event
        for event in read_audit(env / "audit.jsonl").events
        if event["action"] == "join-window-closed"
    ]
    assert [event["window_id"] for event in closed] == [opened.id]
    assert closed[0]["reason"] == "token rotated"
    assert closed[0]["result"] == "already-rotated"


def test_forget_names_demo_rotation(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = WindowStore(env / "windows.json")
    window, _ = open_window(demo_service(env), Role.MANAGER, minutes=5, store=store)

    assert main(["join-window", "forget", window.id]) == ExitCode.OK

    out = capsys.readouterr().out
    command = (
        f"'swarmtui --demo --demo-state {env / 'demo.toml'} join-token --rotate "
        "manager'"
    )
    assert f"rotate it there with {command}." in out
    assert "docker swarm" not in out


def test_forget_names_default_demo_rotation(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = WindowStore(env / "windows.json")
    window, _ = open_window(
        TokenService(DemoBackend(seed=4)), Role.WORKER, minutes=5, store=store
    )

    assert main(["join-window", "forget", window.id]) == ExitCode.OK

    out = capsys.readouterr().out
    assert "rotate it there with 'swarmtui --demo join-token --rotate worker'." in out


def test_forget_names_engine_rotation(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    opened = datetime.now(UTC)
    window = JoinWindow(
        role=Role.WORKER,
        opened_at=opened,
        until=opened + timedelta(minutes=5),
        max_joins=None,
        baseline_node_ids=frozenset(),
        cluster_id="7jc0fybwc9k8sw0qz9j1x5ekq",
        endpoint="unix:///var/run/docker.sock",
        token_fingerprint="fp:3kq9-x0ab-77mz",
    )
    WindowStore(env / "windows.json").add(window)

    assert main(["join-window", "forget", window.id]) == ExitCode.OK

    out = capsys.readouterr().out
    assert (
        "rotate it there with 'docker swarm join-token --rotate worker' or "
        "'swarmtui join-token --rotate worker' on a manager of that swarm." in out
    )


def test_forget_full_stdout_says_removed(env: Path) -> None:
    import subprocess
    import sys

    store = WindowStore(env / "windows.json")
    window, _ = open_window(demo_service(env), Role.WORKER, minutes=5, store=store)

    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [sys.executable, "-m", "swarmtui", "join-window", "forget", window.id],
            stdout=full,
            stderr=subprocess.PIPE,
            env=dict(os.environ),
            timeout=120,
        )

    stderr = result.stderr.decode()
    assert result.returncode == ExitCode.FAILURE
    assert "standard output could not be written (No space left on device)" in stderr
    assert "the window was removed all the same" in stderr
    assert f"Forgot the worker join window {window.id}" in stderr
    assert store.load() == []
    forgotten = [
        event["window_id"]
        for event in read_audit(env / "audit.jsonl").events
        if event["action"] == "join-window-forget"
    ]
    assert forgotten == [window.id]


def forget_then_interrupt(env: Path, rotate: bool) -> Callable[[float], None]:
    """Return a time.sleep that removes the open window, then presses Ctrl+C."""

    def sleep(seconds: float) -> None:
        store = WindowStore(env / "windows.json")
        (stored,) = store.load()
        if rotate:
            demo_service(env).rotate([Role.WORKER])
        store.pop(stored.id)
        raise KeyboardInterrupt

    return sleep


def test_join_window_forgotten_while_open_fails(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setattr(time, "sleep", forget_then_interrupt(env, rotate=False))
    before = demo_service(env).read()
    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--minutes", "5", "-q"]
    )

    err = " ".join(capsys.readouterr().err.split())
    assert code == ExitCode.FAILURE
    assert "is still current" in err
    assert "still lets nodes join" in err
    assert "join-token --rotate worker' unless nodes may still join" in err
    assert demo_service(env).read().worker_fingerprint == before.worker_fingerprint
    closes = [
        event
        for event in read_audit(env / "audit.jsonl").events
        if event["action"] == "join-window-close"
    ]
    assert [event["result"] for event in closes] == ["failed"]


def test_join_window_closed_elsewhere_succeeds(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setattr(time, "sleep", forget_then_interrupt(env, rotate=True))
    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--minutes", "5", "-q"]
    )

    err = " ".join(capsys.readouterr().err.split())
    assert code == ExitCode.OK, err
    assert "another swarmtui process closed it first" in err
    assert "no longer joins" in err
    assert "join-token --rotate" not in err


def test_window_forgotten_on_replaced_swarm(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    # Unseeded, so that the reset makes a new cluster ID.
    state = env / "demo.toml"
    opened_on: list[str] = []

    def forget_and_reset(seconds: float) -> None:
        store = WindowStore(env / "windows.json")
        (stored,) = store.load()
        store.pop(stored.id)
        opened_on.append(stored.cluster_id)
        DemoBackend(path=state).reset()
        raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", forget_and_reset)
    demo = ["--demo", "--demo-state", str(state)]
    code = main([*demo, "join-window", "open", "worker", "--minutes", "5", "-q"])

    err = " ".join(capsys.readouterr().err.split())
    after = TokenService(DemoBackend(path=state)).read()
    (before,) = opened_on
    assert after.cluster_id != before
    assert code == ExitCode.FAILURE
    assert f"the engine now serves another swarm ({after.cluster_id[:12]})" in err
    assert f"still lets nodes join swarm {before[:12]} is unknown" in err
    assert "another swarmtui process closed it" not in err
    rotate = "'docker swarm join-token --rotate worker') unless that swarm no longer"
    assert rotate in err
    assert f"manager of swarm {before[:12]}" in err
    assert "join-token --rotate worker' unless nodes may still join" not in err


def test_join_window_forgotten_ends_watch(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    pauses: list[float] = []

    def forget_once(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 1:
            store = WindowStore(env / "windows.json")
            (stored,) = store.load()
            store.pop(stored.id)
        elif len(pauses) > 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", forget_once)
    before = demo_service(env).read()
    code = main(
        [*demo_args(env), "join-window", "open", "worker", "--joins", "5", "-q"]
    )

    err = " ".join(capsys.readouterr().err.split())
    assert code == ExitCode.FAILURE
    # The watch ended at the poll after the forget, not at a later signal.
    assert len(pauses) == 1
    assert "is still current" in err
    assert "join-token --rotate worker' unless nodes may still join" in err
    assert demo_service(env).read().worker_fingerprint == before.worker_fingerprint


class UpdatesFail:
    """Wraps a backend so that every swarm update raises `error`."""

    def __init__(self, inner: Any, error: Exception) -> None:
        self.inner = inner
        self.error = error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (
            RequestTimeoutError("The engine did not respond in 3 s.", "Retry."),
            ExitCode.ENGINE_UNREACHABLE,
            "the engine may still apply the update",
        ),
        (
            EngineUnreachableError("Cannot reach the engine at demo.", "Start it."),
            ExitCode.ENGINE_UNREACHABLE,
            "Cannot reach the engine at demo.",
        ),
    ],
)
def test_join_window_failed_close_keeps_error_code(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    code: int,
    message: str,
) -> None:
    import time

    import swarmtui.cli

    original_make_service = swarmtui.cli.make_service

    def failing_service(args: Any) -> TokenService:
        service: TokenService = original_make_service(args)
        service.backend = UpdatesFail(service.backend, error)  # type: ignore[assignment]
        return service

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(swarmtui.cli, "make_service", failing_service)
    monkeypatch.setattr(time, "sleep", interrupt)
    before = demo_service(env).read()

    exit_code = main(
        [*demo_args(env), "join-window", "open", "worker", "--minutes", "5", "-q"]
    )

    err = " ".join(capsys.readouterr().err.split())
    assert exit_code == code, err
    assert message.lower() in err.lower()
    assert "The window stays stored" in err
    assert "join-window close-all' once the engine answers" in err
    assert len(WindowStore(env / "windows.json").load()) == 1
    assert demo_service(env).read().worker_fingerprint == before.worker_fingerprint

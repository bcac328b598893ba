"""The node ID in leak-response's table and the audit command's filters."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from swarmtui.backends.demo import DemoBackend
from swarmtui.cli import main
from swarmtui.errors import ExitCode
from swarmtui.models import Role
from swarmtui.service import TokenService


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("SWARMTUI_WINDOWS_FILE", str(tmp_path / "windows.json"))
    return tmp_path


def demo_args(path: Path) -> list[str]:
    return ["--demo", "--demo-state", str(path / "demo.toml"), "--demo-seed", "4"]


def test_leak_table_tells_same_hostnames_apart(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = DemoBackend(path=env / "demo.toml", seed=4)
    view = TokenService(backend).read()
    first = backend.join(view.worker_token, "web-1", "127.0.4.81")
    second = backend.join(view.manager_token, "web-1", "127.0.4.82")
    code = main([*demo_args(env), "leak-response", "--yes", "--since", "30m"])
    out = capsys.readouterr().out
    assert code == ExitCode.OK
    header = next(line for line in out.splitlines() if "HOSTNAME" in line)
    assert header.split()[:2] == ["ID", "HOSTNAME"]
    rows = [line for line in out.splitlines() if "web-1" in line]
    assert len(rows) == 2
    assert first.id[:12] in rows[0]
    assert first.id not in rows[0]
    assert second.id[:12] in rows[1]
    assert rows[1].startswith("!")


def test_leak_json_keeps_full_ids(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = DemoBackend(path=env / "demo.toml", seed=4)
    view = TokenService(backend).read()
    node = backend.join(view.worker_token, "web-1", "127.0.4.81")
    code = main([*demo_args(env), "leak-response", "--yes", "--json", "--since", "1h"])
    document = json.loads(capsys.readouterr().out)
    assert code == ExitCode.OK
    assert [item["id"] for item in document["nodes"]] == [node.id]


EVENTS = [
    {"action": "rotate", "cluster_id": "aaaa1111bbbb", "endpoint": "demo:/s.toml"},
    {"action": "copy", "cluster_id": "cccc2222dddd", "endpoint": "unix:///d.sock"},
    {"action": "reveal", "cluster_id": "aaaa1111bbbb", "endpoint": "tcp://h:2376"},
    {"action": "check-token", "cluster_id": None, "endpoint": "demo:/s.toml"},
]


def write_events(path: Path) -> None:
    lines = [
        json.dumps({"time": f"2026-01-01T00:00:0{number}Z", **event})
        for number, event in enumerate(EVENTS)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("options", "actions"),
    [
        (["--cluster", "aaaa1111"], ["rotate", "reveal"]),
        (["--cluster", "aaaa1111bbbb"], ["rotate", "reveal"]),
        (["--endpoint", "demo:"], ["rotate", "check-token"]),
        (["--cluster", "aaaa", "--endpoint", "tcp://"], ["reveal"]),
        (["--cluster", "aaaa", "--limit", "1"], ["reveal"]),
        (["--endpoint", "nowhere"], []),
    ],
)
def test_audit_filters(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    actions: list[str],
) -> None:
    write_events(env / "audit.jsonl")
    assert main(["audit", "--json", *options]) == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["action"] for line in lines] == actions


def test_audit_rejects_short_cluster(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_events(env / "audit.jsonl")
    assert main(["audit", "--cluster", "aa"]) == ExitCode.USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "at least 4 characters" in captured.err


@pytest.mark.parametrize(
    "command",
    [["join-token", "-q", "worker"], ["join-token", "worker"], ["audit"]],
    ids=["join-token-quiet", "join-token", "audit"],
)
def test_closed_stdout_exits_without_traceback(
    tmp_path: Path, command: list[str]
) -> None:
    rotated = run_with_closed_stdout(tmp_path, ["join-token", "--rotate", "worker"])
    assert b"the rotation took effect" in rotated.stderr

    result = run_with_closed_stdout(tmp_path, command)

    assert result.returncode == ExitCode.FAILURE
    assert b"Traceback" not in result.stderr
    assert b"Exception ignored" not in result.stderr
    assert b"unexpected error" not in result.stderr
    assert result.stderr == b""


def test_closed_stdout_after_rotation(tmp_path: Path) -> None:
    before = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()

    result = run_with_closed_stdout(tmp_path, ["join-token", "--rotate", "worker"])

    after = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    stderr = result.stderr.decode()
    assert result.returncode == ExitCode.FAILURE
    assert after.worker_token != before.worker_token
    assert after.manager_token == before.manager_token
    assert "unexpected error" not in stderr
    assert "the rotation took effect" in stderr
    assert "join-token worker'" in stderr
    assert "SWMTKN" not in stderr


def test_audit_named_missing_file_fails(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = env / "elsewhere.jsonl"

    status = main(["audit", "--file", str(missing)])

    captured = capsys.readouterr()
    assert status == ExitCode.FILE_ERROR
    assert captured.out == ""
    assert f"the audit file {missing} given with --file does not exist" in captured.err
    assert not missing.exists()


@pytest.mark.skipif(
    not Path("/proc/self/mem").exists(), reason="needs Linux /proc/self/mem"
)
def test_audit_read_error_is_file_error(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /proc/self/mem opens as a regular file, but reading its first byte
    # fails with EIO, because address 0 is not mapped.
    status = main(["audit", "--file", "/proc/self/mem"])

    captured = capsys.readouterr()
    assert status == ExitCode.FILE_ERROR
    assert captured.out == ""
    assert captured.err == (
        "swarmtui: audit record unreadable: The audit file /proc/self/mem could "
        "not be read (input/output error). Check /proc/self/mem and its folder. "
        "Or pass another file to --file.\n"
    )


@pytest.mark.parametrize("named", [True, False])
def test_audit_folder_hint_names_source(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    named: bool,
) -> None:
    folder = env / "records"
    folder.mkdir()
    if named:
        status = main(["audit", "--file", str(folder)])
    else:
        monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(folder))
        status = main(["audit"])

    stderr = capsys.readouterr().err
    assert status == ExitCode.FILE_ERROR
    assert stderr.count("is a folder") == 1
    assert "Name a file in that folder, such as" in stderr
    assert f"{folder}/audit.jsonl." in stderr
    assert "Make " not in stderr
    if named:
        assert "pass another file to --file" in stderr.lower()
        assert "SWARMTUI_AUDIT_FILE" not in stderr
    else:
        assert "point SWARMTUI_AUDIT_FILE at another file" in stderr


def test_audit_default_missing_file_succeeds(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["audit"])

    assert status == ExitCode.OK
    assert "no audit record yet" in capsys.readouterr().err


def run_with_closed_stdout(
    tmp_path: Path, arguments: list[str], stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    environment = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    # Buffered, as for most users: the write then fails only at the flush.
    environment.pop("PYTHONUNBUFFERED", None)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "swarmtui", *demo_args(tmp_path), *arguments],
            stdout=write_end,
            stderr=subprocess.PIPE,
            input=stdin,
            env=environment,
            timeout=120,
            start_new_session=True,
        )
    finally:
        os.close(write_end)


def test_closed_stdout_still_rotates_checked_token(tmp_path: Path) -> None:
    before = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    result = run_with_closed_stdout(
        tmp_path,
        ["check-token", "--rotate", "--yes"],
        stdin=before.manager_token.encode(),
    )
    after = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    assert result.returncode == 11, result.stderr
    assert after.manager_token != before.manager_token
    assert b"Rotated the manager join token" in result.stderr


def test_closed_stdout_closes_join_window(tmp_path: Path) -> None:
    before = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    result = run_with_closed_stdout(
        tmp_path, ["join-window", "open", "worker", "--minutes", "5", "-q"]
    )
    after = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    stderr = result.stderr.decode()
    assert result.returncode == ExitCode.FAILURE, stderr
    assert (
        "closed at once because the token could not be written to standard "
        "output" in stderr
    )
    assert "closed on request" not in stderr
    assert after.worker_token != before.worker_token
    windows = tmp_path / "state" / "swarmtui" / "join-windows.json"
    assert json.loads(windows.read_text())["windows"] == []


def test_closed_stdout_after_demo_join(tmp_path: Path) -> None:
    token = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    result = run_with_closed_stdout(
        tmp_path,
        ["demo-join", "--hostname", "piped"],
        stdin=token.worker_token.encode(),
    )
    nodes = DemoBackend(path=tmp_path / "demo.toml", seed=4).list_nodes()
    assert result.returncode == ExitCode.FAILURE
    assert "piped" in [node.hostname for node in nodes]
    assert b"the node joined the demo swarm all the same" in result.stderr


def run_with_streams(
    tmp_path: Path, arguments: list[str], close: tuple[int, ...] = (), **streams: Any
) -> subprocess.CompletedProcess[bytes]:
    """Run swarmtui on the demo swarm with the descriptors in `close` closed."""
    environment = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }

    def close_descriptors() -> None:
        for descriptor in close:
            os.close(descriptor)

    if "input" not in streams:
        streams["stdin"] = subprocess.DEVNULL
    return subprocess.run(
        [sys.executable, "-m", "swarmtui", *demo_args(tmp_path), *arguments],
        env=environment,
        timeout=120,
        preexec_fn=close_descriptors,
        **streams,
    )


def test_closed_stderr_keeps_messages_off_stdout(tmp_path: Path) -> None:
    before = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()

    result = run_with_streams(
        tmp_path,
        ["join-token", "--rotate", "-q", "worker"],
        close=(2,),
        stdout=subprocess.PIPE,
    )

    after = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    assert result.returncode == 0
    assert after.worker_token != before.worker_token
    assert result.stdout.decode() == after.worker_token + "\n"


def test_closed_stdout_reports_rotation(tmp_path: Path) -> None:
    before = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()

    result = run_with_streams(
        tmp_path,
        ["join-token", "--rotate", "worker"],
        close=(1,),
        stderr=subprocess.PIPE,
    )

    after = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    stderr = result.stderr.decode()
    assert result.returncode == ExitCode.FAILURE
    assert after.worker_token != before.worker_token
    assert "Traceback" not in stderr
    assert "the rotation took effect and was audited" in stderr
    assert "standard output was closed before swarmtui started" in stderr
    assert "SWMTKN" not in stderr


def test_full_stdout_named_not_unexpected(tmp_path: Path) -> None:
    with open("/dev/full", "wb") as full:
        result = run_with_streams(
            tmp_path, ["join-token", "worker"], stdout=full, stderr=subprocess.PIPE
        )

    stderr = result.stderr.decode()
    assert result.returncode == ExitCode.FAILURE
    assert "unexpected error" not in stderr
    assert "standard output could not be written (No space left on device)" in stderr


def test_check_token_full_stdout_noted(tmp_path: Path) -> None:
    token = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    with open("/dev/full", "wb") as full:
        result = run_with_streams(
            tmp_path,
            ["check-token"],
            stdout=full,
            stderr=subprocess.PIPE,
            input=token.worker_token.encode(),
        )

    stderr = result.stderr.decode()
    assert result.returncode == 10
    assert "standard output could not be written (No space left on device)" in stderr
    assert "SWMTKN" not in stderr


def test_check_token_rotate_full_stdout_noted_once(tmp_path: Path) -> None:
    token = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    with open("/dev/full", "wb") as full:
        result = run_with_streams(
            tmp_path,
            ["check-token", "--rotate"],
            stdout=full,
            stderr=subprocess.PIPE,
            input=token.worker_token.encode(),
        )

    stderr = result.stderr.decode()
    assert result.returncode == 10
    assert stderr.count("standard output could not be written") == 1, stderr
    assert "Rotated the worker join token" in stderr
    assert "SWMTKN" not in stderr


@pytest.mark.parametrize(
    ("index", "code"), [(0, 10), (1, 11)], ids=["worker", "manager"]
)
def test_check_token_json_full_stdout_keeps_code(
    tmp_path: Path, index: int, code: int
) -> None:
    view = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    token = (view.worker_token, view.manager_token)[index]
    with open("/dev/full", "wb") as full:
        result = run_with_streams(
            tmp_path,
            ["check-token", "--json"],
            stdout=full,
            stderr=subprocess.PIPE,
            input=token.encode(),
        )

    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert "standard output could not be written (No space left on device)" in stderr
    assert "SWMTKN" not in stderr


@pytest.mark.parametrize(
    ("text", "code"), [("old", 0), ("not a token", 12)], ids=["old", "invalid"]
)
def test_check_token_json_closed_stdout_keeps_code(
    tmp_path: Path, text: str, code: int
) -> None:
    service = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4))
    old_token = service.read().worker_token
    service.rotate([Role.WORKER])
    result = run_with_streams(
        tmp_path,
        ["check-token", "--json"],
        close=(1,),
        stderr=subprocess.PIPE,
        input=(old_token if text == "old" else text).encode(),
    )

    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert "standard output was closed before swarmtui started" in stderr


def test_check_token_json_rotate_full_stdout(tmp_path: Path) -> None:
    before = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    with open("/dev/full", "wb") as full:
        result = run_with_streams(
            tmp_path,
            ["check-token", "--json", "--rotate"],
            stdout=full,
            stderr=subprocess.PIPE,
            input=before.worker_token.encode(),
        )

    after = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4)).read()
    stderr = result.stderr.decode()
    assert result.returncode == 10, stderr
    assert after.worker_token != before.worker_token
    assert "Rotated the worker join token" in stderr
    assert stderr.count("standard output could not be written") == 1, stderr
    assert "SWMTKN" not in stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ["--help"],
        ["--version"],
        ["join-token", "--help"],
        ["join-window", "open", "-h"],
    ],
    ids=["help", "version", "subcommand-help", "nested-help"],
)
@pytest.mark.parametrize("stdout", ["full", "closed"])
def test_help_unwritable_stdout_fails(
    tmp_path: Path, arguments: list[str], stdout: str
) -> None:
    if stdout == "full":
        with open("/dev/full", "wb") as full:
            result = run_with_streams(
                tmp_path, arguments, stdout=full, stderr=subprocess.PIPE
            )
        reason = "standard output could not be written (No space left on device)."
    else:
        result = run_with_streams(
            tmp_path, arguments, close=(1,), stderr=subprocess.PIPE
        )
        reason = "standard output was closed before swarmtui started."

    stderr = result.stderr.decode()
    assert result.returncode == ExitCode.FAILURE, stderr
    assert stderr == f"swarmtui: {reason}\n"


def test_help_to_pipe_written_whole(tmp_path: Path) -> None:
    result = run_with_streams(
        tmp_path, ["--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )

    assert result.returncode == ExitCode.OK
    assert result.stdout.decode().startswith("usage: swarmtui")
    assert "check-token has its own codes" in result.stdout.decode()
    assert result.stderr == b""


def run_reader_gone(tmp_path: Path, arguments: list[str]) -> str:
    """Run swarmtui with stdout on a pipe whose reader has exited; return stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = run_with_streams(
            tmp_path, arguments, stdout=write_end, stderr=subprocess.PIPE
        )
    finally:
        os.close(write_end)
    stderr = result.stderr.decode()
    assert result.returncode == ExitCode.FAILURE, stderr
    return stderr


def test_rotate_reader_gone_notice_on_stderr(tmp_path: Path) -> None:
    stderr = run_reader_gone(tmp_path, ["join-token", "--rotate", "worker"])

    notice = re.compile(
        r"^Rotated the worker join token \(fp:\S+ -> fp:\S+\); the old token "
        r"can no longer join\.$",
        re.MULTILINE,
    )
    assert notice.search(stderr), stderr
    assert "the rotation took effect and was audited" in stderr
    assert "SWMTKN" not in stderr


def test_leak_reader_gone_notice_on_stderr(tmp_path: Path) -> None:
    stderr = run_reader_gone(tmp_path, ["leak-response", "--yes"])

    assert "Rotated both join tokens in one update (worker fp:" in stderr
    assert "the rotation took effect and was audited" in stderr
    assert "SWMTKN" not in stderr


def test_close_all_reader_gone_notice_on_stderr(tmp_path: Path) -> None:
    from swarmtui.windows import WindowStore, open_window

    service = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=4))
    store = WindowStore(tmp_path / "state" / "swarmtui" / "join-windows.json")
    open_window(service, Role.WORKER, minutes=30, max_joins=None, store=store)

    stderr = run_reader_gone(tmp_path, ["join-window", "close-all"])

    assert "The worker join window was closed on request;" in stderr
    assert "the rotation took effect and was audited" in stderr
    assert store.load() == []


@pytest.mark.parametrize(
    "arguments",
    [["audit", "--since", "1m1h"], ["leak-response", "--yes", "--since", "1d1d"]],
    ids=["audit", "leak-response"],
)
def test_since_units_out_of_order_usage_error(
    env: Path, arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = TokenService(DemoBackend(path=env / "demo.toml", seed=4)).read()

    code = main([*demo_args(env), *arguments])

    after = TokenService(DemoBackend(path=env / "demo.toml", seed=4)).read()
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE, err
    assert f"{arguments[-1]!r} repeats a unit or gives its units out of order." in err
    assert "such as 2h, 1d12h or 1h30m" in err
    assert after.worker_token == before.worker_token


def audit_events(tmp_path: Path) -> list[dict[str, Any]]:
    """Return the events of the audit file that run_with_streams writes to."""
    path = tmp_path / "state" / "swarmtui" / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_closed_stdout_shows_nothing(tmp_path: Path) -> None:
    result = run_with_streams(
        tmp_path,
        ["-vv", "join-token", "-q", "worker"],
        close=(1,),
        stderr=subprocess.PIPE,
    )

    stderr = result.stderr.decode()
    assert result.returncode == ExitCode.FAILURE
    assert "standard output was closed before swarmtui started" in stderr
    assert audit_events(tmp_path) == []
    # A read would have created the demo swarm's state file.
    assert not (tmp_path / "demo.toml").exists()


def test_full_stdout_audits_failed_show(tmp_path: Path) -> None:
    with open("/dev/full", "wb") as full:
        result = run_with_streams(
            tmp_path, ["join-token", "--json", "worker"], stdout=full
        )

    events = audit_events(tmp_path)
    assert result.returncode == ExitCode.FAILURE
    assert [event["action"] for event in events] == ["show"]
    assert events[0]["item"] == "json"
    assert events[0]["result"] == "failed"
    assert events[0]["reason"] == "output closed"
    assert "No space left on device" in events[0]["error"]


def test_shown_token_audited_once(tmp_path: Path) -> None:
    result = run_with_streams(
        tmp_path, ["join-token", "-q", "worker"], stdout=subprocess.PIPE
    )

    events = audit_events(tmp_path)
    assert result.returncode == ExitCode.OK
    assert [event["action"] for event in events] == ["show"]
    assert "result" not in events[0]


def test_leak_names_default_start_source(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*demo_args(env), "leak-response", "--yes"])
    default_lines = capsys.readouterr().out.splitlines()
    main([*demo_args(env), "leak-response", "--yes", "--since", "1h"])
    given_lines = capsys.readouterr().out.splitlines()

    assert code == ExitCode.OK
    assert default_lines[-1].startswith("The start time is ")
    assert default_lines[-1].endswith("; --since TIME picks another.")
    assert not any(line.startswith("The start time is") for line in given_lines)


def test_audit_details_name_node_window() -> None:
    from swarmtui.cli.audit_log import event_details

    joined = {
        "action": "demo-join",
        "result": "ok",
        "node_id": "9yfnst58n9l7abcdefghijklm",
        "token_fingerprint": "fp:aaaa-bbbb-cccc",
    }
    rejected = {
        "action": "demo-join",
        "result": "rejected",
        "token_fingerprint": "fp:dddd-eeee-ffff",
        "reason": "A valid join token is necessary to join this cluster.",
        "error": "Join rejected",
    }
    forgotten = {
        "action": "join-window-forget",
        "window_id": "5e82c86d330f",
        "fingerprint": "fp:gggg-hhhh-iiii",
    }

    assert event_details(joined) == "token fp:aaaa-bbbb-cccc; node 9yfnst58n9l7"
    assert event_details(rejected) == (
        "token fp:dddd-eeee-ffff; reason: A valid join token is necessary to "
        "join this cluster; error: Join rejected"
    )
    assert event_details(forgotten) == (
        "fingerprint fp:gggg-hhhh-iiii; window 5e82c86d330f"
    )


def test_audit_long_value_pads_no_other_line(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [
        {"time": "2026-12-05T23:00:00Z", "user": "ann", "action": "rotate"},
        {
            "time": "2026-12-05T23:01:00Z",
            "user": "ann",
            "action": "rotate",
            "endpoint": "E" * 100_000,
        },
    ]
    (env / "audit.jsonl").write_text(
        "".join(json.dumps(event) + "\n" for event in events)
    )

    assert main(["audit"]) == ExitCode.OK
    header, short, long = capsys.readouterr().out.splitlines()

    assert len(header) < 200
    assert len(short) < 200
    assert "E" * 100_000 in long


def test_version_names_program(tmp_path: Path) -> None:
    from swarmtui import __version__

    result = run_with_streams(
        tmp_path, ["--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )

    assert result.returncode == 0
    assert result.stdout.decode() == f"swarmtui {__version__}\n"

"""`swarmtui check-token` and `demo-join` run as processes on the demo swarm."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from demo_support import make_demo, run_cli

from swarmtui.backends.demo import DemoBackend
from swarmtui.cli.check_token import (
    INVALID_TEXT,
    LIVE_MANAGER,
    LIVE_WORKER,
    NOT_LIVE,
    ROTATION_NOT_CONFIRMED,
    check_document,
    render_report,
)
from swarmtui.errors import ExitCode
from swarmtui.models import Role, TokenCheck, TokenStatus
from swarmtui.tokens import fingerprint, parse_token


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "demo.toml"
    make_demo(path, seed=11).inspect_swarm()
    return path


def demo_cli(
    state: Path, *arguments: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "--demo", "--demo-state", str(state), *arguments, stdin=stdin, home=state.parent
    )


def assert_no_secret(result: subprocess.CompletedProcess[str], token: str) -> None:
    secret = parse_token(token).secret
    for stream in (result.stdout, result.stderr):
        assert token not in stream
        assert secret not in stream


def tokens_of(state: Path) -> tuple[str, str]:
    snapshot = DemoBackend(path=state).inspect_swarm()
    return snapshot.worker_token, snapshot.manager_token


@pytest.mark.parametrize(
    ("index", "code", "status"),
    [(0, LIVE_WORKER, "LIVE: current worker token"), (1, LIVE_MANAGER, "manager")],
)
def test_live_token_exit_code(state: Path, index: int, code: int, status: str) -> None:
    token = tokens_of(state)[index]
    result = demo_cli(state, "check-token", stdin=token + "\n")
    assert result.returncode == code, result.stderr
    assert status in result.stdout
    assert fingerprint(token) in result.stdout
    assert "Swarm:" in result.stdout
    assert_no_secret(result, token)


@pytest.mark.parametrize(("index", "role"), [(0, "worker"), (1, "manager")])
def test_live_token_names_next_step(state: Path, index: int, role: str) -> None:
    token = tokens_of(state)[index]

    result = demo_cli(state, "check-token", stdin=token)

    assert result.returncode in (LIVE_WORKER, LIVE_MANAGER), result.stderr
    command = f"swarmtui --demo --demo-state {state}"
    assert result.stdout.splitlines()[-1] == (
        f"Next step: rotate it with '{command} check-token --rotate' (which reads "
        f"the token again) or '{command} join-token --rotate {role}'. If both tokens "
        f"may have leaked, run '{command} leak-response'."
    )
    assert result.stderr == ""


def test_json_output(state: Path) -> None:
    token = tokens_of(state)[1]
    result = demo_cli(state, "check-token", "--json", stdin=token)
    assert result.returncode == LIVE_MANAGER, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "live-manager"
    assert document["live"] is True
    assert document["role"] == "manager"
    assert document["fingerprint"] == fingerprint(token)
    assert document["version"] == 1
    assert document["fips"] is False
    assert document["digest_matches"] is True
    assert document["rotated"] is False
    assert document["endpoint"] == f"demo:{state}"
    assert_no_secret(result, token)


@pytest.mark.parametrize(
    "template",
    [
        "{}\r\n",
        "   {}   \n",
        "{} \\\n",
        "docker swarm join --token {} 192.0.2.10:2377\n",
        "docker swarm join \\\n    --token {} \\\n    192.0.2.10:2377\r\n",
    ],
    ids=["crlf", "spaces", "backslash", "command", "multi-line-command"],
)
def test_pasted_forms_are_accepted(state: Path, template: str) -> None:
    token = tokens_of(state)[0]
    result = demo_cli(state, "check-token", stdin=template.format(token))
    assert result.returncode == LIVE_WORKER, result.stdout + result.stderr
    assert_no_secret(result, token)


def test_old_token_not_live(state: Path) -> None:
    old = tokens_of(state)[0]
    rotated = demo_cli(state, "join-token", "--rotate", "-q", "worker")
    assert rotated.returncode == 0, rotated.stderr
    result = demo_cli(state, "check-token", "--json", stdin=old)
    assert result.returncode == NOT_LIVE
    document = json.loads(result.stdout)
    assert document["status"] == "old"
    assert document["retired_role"] == "worker"
    assert document["retired_at"] is not None
    assert document["rotated_at"] is not None
    assert_no_secret(result, old)


SEEN = datetime(2026, 12, 5, 15, 49, 30, tzinfo=UTC)
ROTATED = datetime(2026, 12, 5, 15, 40, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rotated_at", "line"),
    [
        (None, "worker token, replaced by 2026-12-05 15:49 UTC (first seen replaced)"),
        (ROTATED, "worker token, rotated 2026-12-05 15:40 UTC"),
    ],
    ids=["first-seen", "audited"],
)
def test_old_token_retired_line(rotated_at: datetime | None, line: str) -> None:
    check = TokenCheck(
        status=TokenStatus.OLD,
        fingerprint="fp:aaaa-bbbb-cccc",
        reason="This is an old worker token of this swarm.",
        version=1,
        fips=False,
        digest_matches=True,
        retired_at=SEEN,
        retired_role=Role.WORKER,
        rotated_at=rotated_at,
    )

    report = render_report(check, "demo:x")
    document = check_document(check, "demo:x")

    assert f"Retired:      {line}\n" in report
    assert document["retired_at"] == "2026-12-05T15:49:30Z"
    expected = "2026-12-05T15:40:10Z" if rotated_at else None
    assert document["rotated_at"] == expected


def test_other_swarms_token_not_live(state: Path, tmp_path: Path) -> None:
    other = make_demo(tmp_path / "other.toml", seed=12).inspect_swarm()
    result = demo_cli(state, "check-token", stdin=other.manager_token)
    assert result.returncode == NOT_LIVE
    assert "another swarm" in result.stdout
    assert "Next step" not in result.stdout
    assert_no_secret(result, other.manager_token)


@pytest.mark.parametrize(
    "text",
    ["", "\n", "garbage", "SWMTKN-1-" + "a" * 50 + "-" + "b" * 24],
    ids=["empty", "newline", "word", "short-secret"],
)
def test_invalid_text_exit_code(state: Path, text: str) -> None:
    result = demo_cli(state, "check-token", stdin=text)
    assert result.returncode == INVALID_TEXT
    assert "invalid" in result.stdout
    # The swarm is not read for text that is not a token.
    assert "Swarm:" not in result.stdout
    if text.strip():
        assert text.strip() not in result.stdout + result.stderr


def test_text_before_token_named(state: Path) -> None:
    worker, _ = tokens_of(state)

    result = demo_cli(state, "check-token", stdin=f'token: "{worker}"\n')

    assert result.returncode == INVALID_TEXT
    assert "the pasted text has other text before the token" in result.stdout.lower()
    assert "at position" not in result.stdout
    assert_no_secret(result, worker)


def test_oversized_input_rejected(state: Path) -> None:
    result = demo_cli(state, "check-token", stdin="x" * 70000)
    assert result.returncode == INVALID_TEXT
    assert "longer than" in result.stderr
    assert result.stdout == ""


def test_token_argument_not_accepted(state: Path) -> None:
    token = tokens_of(state)[0]
    result = demo_cli(state, "check-token", token)
    assert result.returncode == ExitCode.USAGE
    assert result.stdout == ""


def test_rotate_live_worker(state: Path) -> None:
    old = tokens_of(state)[0]
    result = demo_cli(state, "check-token", "--rotate", stdin=old)
    assert result.returncode == LIVE_WORKER, result.stderr
    assert "Rotated the worker join token" in result.stdout
    hint = f"'swarmtui --demo --demo-state {state} join-token worker' prints"
    assert hint in result.stdout
    assert "Next step" not in result.stdout
    assert_no_secret(result, old)
    worker, _ = tokens_of(state)
    assert worker != old
    assert_no_secret(result, worker)
    again = demo_cli(state, "check-token", stdin=old)
    assert again.returncode == NOT_LIVE


def test_rotate_manager_needs_confirmation(state: Path) -> None:
    worker, manager = tokens_of(state)
    before = state.read_bytes()
    result = demo_cli(state, "check-token", "--rotate", stdin=manager)
    assert result.returncode == ROTATION_NOT_CONFIRMED
    assert "--yes" in result.stderr
    assert "not rotated" in result.stderr
    assert tokens_of(state) == (worker, manager)
    assert state.read_bytes() == before


def test_rotate_manager_with_yes(state: Path) -> None:
    worker, manager = tokens_of(state)
    result = demo_cli(
        state, "check-token", "--rotate", "--yes", "--json", stdin=manager
    )
    assert result.returncode == LIVE_MANAGER, result.stderr
    document = json.loads(result.stdout)
    assert document["rotated"] is True
    new_worker, new_manager = tokens_of(state)
    assert new_worker == worker
    assert new_manager != manager
    assert document["new_fingerprint"] == fingerprint(new_manager)
    assert_no_secret(result, manager)
    assert_no_secret(result, new_manager)


def test_rotate_not_live_does_nothing(state: Path, tmp_path: Path) -> None:
    other = make_demo(tmp_path / "other.toml", seed=13).inspect_swarm()
    before = state.read_bytes()
    result = demo_cli(
        state, "check-token", "--rotate", "--yes", stdin=other.worker_token
    )
    assert result.returncode == NOT_LIVE
    assert "the token is not live, so nothing was rotated." in result.stderr
    assert state.read_bytes() == before


@pytest.mark.parametrize("text", ["", "SWMTKN-1-short"])
def test_rotate_invalid_token_says_invalid(state: Path, text: str) -> None:
    before = state.read_bytes()
    result = demo_cli(state, "check-token", "--rotate", "--yes", stdin=text)
    assert result.returncode == INVALID_TEXT
    assert "the token is invalid, so nothing was rotated." in result.stderr
    assert "not live" not in result.stderr
    assert state.read_bytes() == before


def test_help_documents_exit_codes(state: Path) -> None:
    result = demo_cli(state, "check-token", "--help")
    assert result.returncode == 0
    for code in ("10", "11", "12"):
        assert f"  {code}  " in result.stdout


def test_join_token_quiet_on_demo(state: Path) -> None:
    result = demo_cli(state, "join-token", "-q", "worker")
    assert result.returncode == 0, result.stderr
    assert result.stdout == tokens_of(state)[0] + "\n"


# -- demo-join ------------------------------------------------------------------


def test_demo_join_with_current_token(state: Path) -> None:
    _, manager = tokens_of(state)
    result = demo_cli(
        state, "demo-join", "--hostname", "db-01", "--json", stdin=manager
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["role"] == "manager"
    assert document["hostname"] == "db-01"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["created_at"])
    assert any(
        node.hostname == "db-01" for node in DemoBackend(path=state).list_nodes()
    )
    assert_no_secret(result, manager)


def test_demo_join_old_token_rejected(state: Path) -> None:
    old = tokens_of(state)[0]
    assert demo_cli(state, "join-token", "--rotate", "worker").returncode == 0
    result = demo_cli(state, "demo-join", "--hostname", "late", stdin=old + "\r\n")
    assert result.returncode == ExitCode.JOIN_REJECTED
    assert "A valid join token is necessary to join this cluster" in result.stderr
    assert result.stdout == ""
    assert_no_secret(result, old)
    assert not any(
        node.hostname == "late" for node in DemoBackend(path=state).list_nodes()
    )


def test_demo_join_malformed_token(state: Path) -> None:
    result = demo_cli(state, "demo-join", "--hostname", "x", stdin="SWMTKN-1-nope")
    assert result.returncode == ExitCode.JOIN_REJECTED
    assert "Invalid join token" in result.stderr
    assert "SWMTKN-1-nope" not in result.stderr


def test_demo_join_needs_demo(tmp_path: Path) -> None:
    result = run_cli(
        "-H",
        f"unix://{tmp_path}/none.sock",
        "demo-join",
        "--hostname",
        "x",
        stdin="",
        home=tmp_path,
    )
    assert result.returncode == ExitCode.FAILURE
    assert "--demo" in result.stderr


def test_demo_join_help_lists_exit_codes(tmp_path: Path) -> None:
    result = run_cli("demo-join", "--help", stdin="", home=tmp_path)

    assert result.returncode == 0
    codes = [
        line.split()[0]
        for line in result.stdout.split("exit codes:")[1].splitlines()
        if line[:4].strip().isdigit()
    ]
    assert codes == ["0", "1", "7", "9", "12"]
    assert "--address" in result.stdout.split("exit codes:")[1]


def test_broken_state_file_exit_code(state: Path) -> None:
    state.write_text("format = \n")
    state.chmod(0o600)
    result = demo_cli(
        state, "check-token", stdin="SWMTKN-1-" + "a" * 50 + "-" + "b" * 25
    )
    assert result.returncode == ExitCode.FILE_ERROR
    assert str(state) in result.stderr
    assert state.read_text() == "format = \n"


def test_debug_log_holds_no_token(state: Path) -> None:
    worker, manager = tokens_of(state)
    result = run_cli(
        "-vv",
        "--demo",
        "--demo-state",
        str(state),
        "check-token",
        "--rotate",
        "--yes",
        stdin=manager,
        home=state.parent,
    )
    assert result.returncode == LIVE_MANAGER, result.stderr
    assert "DEBUG swarmtui.backends.demo: read demo swarm" in result.stderr
    assert "INFO swarmtui.service: rotated manager token" in result.stderr
    new_worker, new_manager = tokens_of(state)
    for token in (worker, manager, new_worker, new_manager):
        assert_no_secret(result, token)


@pytest.mark.parametrize(
    "command", [["check-token"], ["demo-join", "--hostname", "n9"]]
)
@pytest.mark.parametrize("encoding", ["ascii", "utf-8"])
def test_non_utf8_input_rejected(
    state: Path, command: list[str], encoding: str
) -> None:
    import sys

    from demo_support import cli_environment

    worker, _ = tokens_of(state)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "swarmtui",
            "--demo",
            "--demo-state",
            str(state),
            *command,
        ],
        input=worker.encode() + b"\xff\n",
        capture_output=True,
        env=cli_environment(state.parent, PYTHONIOENCODING=encoding),
        timeout=120,
        start_new_session=True,
    )
    stderr = result.stderr.decode("utf-8", "replace")

    assert result.returncode == INVALID_TEXT, stderr
    assert "Standard input is not UTF-8 text" in stderr
    assert "Traceback" not in stderr
    assert worker not in stderr


def test_yes_without_rotate_is_usage_error(state: Path) -> None:
    worker = tokens_of(state)[0]
    result = demo_cli(state, "check-token", "--yes", stdin=worker)
    assert result.returncode == ExitCode.USAGE
    assert "--yes confirms --rotate, which was not given" in result.stderr
    assert result.stdout == ""
    assert tokens_of(state)[0] == worker

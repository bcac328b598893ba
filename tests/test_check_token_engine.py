"""`swarmtui check-token` against a real dockerd: the statuses of the demo swarm."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from demo_support import run_cli
from engine_fixtures import Daemon, DaemonPool, get_json, join, join_token

from swarmtui.cli.check_token import (
    INVALID_TEXT,
    LIVE_MANAGER,
    LIVE_WORKER,
    NOT_LIVE,
    ROTATION_NOT_CONFIRMED,
)
from swarmtui.tokens import fingerprint, parse_token

pytestmark = pytest.mark.engine

STALE_TOKEN_MESSAGE = "A valid join token is necessary to join this cluster"


def check(
    daemon: Daemon, stdin: str, home: Path, *arguments: str
) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "check-token",
        *arguments,
        stdin=stdin,
        home=home,
        environment={"DOCKER_HOST": daemon.host},
    )


def assert_no_secret(result: subprocess.CompletedProcess[str], token: str) -> None:
    secret = parse_token(token).secret
    for stream in (result.stdout, result.stderr):
        assert token not in stream
        assert secret not in stream


@pytest.mark.parametrize(
    ("role", "code"), [("worker", LIVE_WORKER), ("manager", LIVE_MANAGER)]
)
def test_live_token_on_engine(
    manager: Daemon, tmp_path: Path, role: str, code: int
) -> None:
    token = join_token(manager, role)
    result = check(manager, token + "\n", tmp_path, "--json")
    assert result.returncode == code, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == f"live-{role}"
    assert document["role"] == role
    assert document["fingerprint"] == fingerprint(token)
    assert document["digest_matches"] is True
    assert document["endpoint"]
    assert_no_secret(result, token)


def test_other_swarm_on_engine(manager: Daemon, tmp_path: Path) -> None:
    token = parse_token(join_token(manager, "worker"))
    other_digest = ("1" if token.digest[0] != "1" else "2") + token.digest[1:]
    foreign = f"SWMTKN-1-{other_digest}-{token.secret}"
    result = check(manager, foreign, tmp_path, "--json")
    assert result.returncode == NOT_LIVE, result.stderr
    assert json.loads(result.stdout)["status"] == "other-swarm"
    assert_no_secret(result, foreign)


def test_unknown_secret_on_engine(manager: Daemon, tmp_path: Path) -> None:
    digest = parse_token(join_token(manager, "worker")).digest
    result = check(manager, f"SWMTKN-1-{digest}-{'0' * 25}", tmp_path, "--json")
    assert result.returncode == NOT_LIVE, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "this-swarm-not-current"
    assert document["digest_matches"] is True


def test_invalid_text_on_engine(manager: Daemon, tmp_path: Path) -> None:
    result = check(manager, "SWMTKN-1-short\r\n", tmp_path)
    assert result.returncode == INVALID_TEXT
    assert "invalid" in result.stdout


def test_docker_cli_rotation_noticed(daemons: DaemonPool, tmp_path: Path) -> None:
    swarm = daemons.swarm()
    old = join_token(swarm, "worker")
    first = check(swarm, old, tmp_path)
    assert first.returncode == LIVE_WORKER, first.stderr
    swarm.docker("swarm", "join-token", "--rotate", "-q", "worker")
    result = check(swarm, old, tmp_path, "--json")
    assert result.returncode == NOT_LIVE, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "old"
    assert document["retired_role"] == "worker"
    history = (tmp_path / "state" / "swarmtui" / "token-history.json").read_text()
    assert old not in history
    assert parse_token(old).secret not in history


def test_manager_rotation_refused_without_terminal(
    daemons: DaemonPool, tmp_path: Path
) -> None:
    swarm = daemons.swarm()
    token = join_token(swarm, "manager")
    result = check(swarm, token, tmp_path, "--rotate")
    assert result.returncode == ROTATION_NOT_CONFIRMED
    assert "--yes" in result.stderr
    assert join_token(swarm, "manager") == token


def test_check_and_rotate_on_engine(daemons: DaemonPool, tmp_path: Path) -> None:
    swarm = daemons.swarm()
    spec_before = get_json(swarm, "/v1.41/swarm")["Spec"]
    worker = join_token(swarm, "worker")
    manager = join_token(swarm, "manager")

    result = check(swarm, manager, tmp_path, "--rotate", "--yes")
    assert result.returncode == LIVE_MANAGER, result.stderr
    assert "Rotated the manager join token" in result.stdout
    hint = re.search(r"'([^']*)' prints the new join command", result.stdout)
    assert hint is not None, result.stdout
    # The hint names the engine, so it works without DOCKER_HOST.
    printed = run_cli(*shlex.split(hint[1])[1:], home=tmp_path)
    new_manager = join_token(swarm, "manager")
    assert printed.returncode == 0, printed.stderr
    assert f"--token {new_manager} " in printed.stdout
    assert new_manager != manager
    assert join_token(swarm, "worker") == worker
    assert get_json(swarm, "/v1.41/swarm")["Spec"] == spec_before
    assert_no_secret(result, manager)
    assert_no_secret(result, new_manager)

    again = check(swarm, manager, tmp_path, "--json")
    assert again.returncode == NOT_LIVE
    assert json.loads(again.stdout)["status"] == "old"

    node = daemons.daemon()
    joined, errors = join(node, swarm, manager)
    assert not joined
    assert STALE_TOKEN_MESSAGE in errors


@pytest.mark.parametrize(
    "template",
    ["{}\r\n", "  {} \\\n", "docker swarm join --token {} 127.0.0.1:2377\n"],
    ids=["crlf", "backslash", "command"],
)
def test_pasted_forms_on_engine(manager: Daemon, tmp_path: Path, template: str) -> None:
    token = join_token(manager, "worker")
    result = check(manager, template.format(token), tmp_path)
    assert result.returncode == LIVE_WORKER, result.stderr
    assert_no_secret(result, token)


def test_ca_rotation_on_engine(daemons: DaemonPool, tmp_path: Path) -> None:
    swarm = daemons.swarm()
    old = join_token(swarm, "manager")
    assert check(swarm, old, tmp_path).returncode == LIVE_MANAGER
    swarm.docker("swarm", "ca", "--rotate", "-q")
    new = join_token(swarm, "manager")
    assert parse_token(new).digest != parse_token(old).digest

    result = check(swarm, old, tmp_path, "--json")
    assert result.returncode == NOT_LIVE, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "old"
    assert document["digest_matches"] is False
    assert document["retired_role"] == "manager"
    assert "root CA rotation" in document["reason"]
    assert check(swarm, new, tmp_path).returncode == LIVE_MANAGER

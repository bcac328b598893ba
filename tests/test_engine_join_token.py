"""`swarmtui join-token` against a real dockerd, compared with the docker CLI."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import (
    Daemon,
    DaemonPool,
    clean_environment,
    create_docker_context,
    docker_cli,
    get_json,
    join_token,
    run_swarmtui,
    swarmtui_script,
)

from swarmtui.tokens import ca_digest, parse_token

pytestmark = pytest.mark.engine


def runnable_line(output: str) -> str:
    """Return the one line of `output` that is indented by four spaces."""
    lines = [line for line in output.splitlines() if line.startswith("    ")]
    assert len(lines) == 1, f"expected one indented line in: {output!r}"
    return lines[0].strip()


def run_join_line(line: str, node: Daemon) -> tuple[int, str]:
    """Run a printed `docker swarm join` line against `node`'s daemon."""
    words = shlex.split(line)
    assert words[:3] == ["docker", "swarm", "join"]
    command = [
        docker_cli(),
        "-H",
        node.host,
        *words[1:-1],
        "--listen-addr",
        node.swarm_address,
        "--advertise-addr",
        node.address,
        words[-1],
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=90
    )
    return result.returncode, result.stderr


def node_roles(manager: Daemon) -> dict[str, str]:
    result = manager.docker("node", "ls", "--format", "{{.ID}} {{.ManagerStatus}}")
    roles = {}
    for line in result.stdout.splitlines():
        node_id, _, status = line.partition(" ")
        roles[node_id] = "manager" if status.strip() else "worker"
    return roles


@pytest.mark.parametrize("role", ["worker", "manager"])
def test_quiet_token_matches_docker_cli(manager: Daemon, role: str) -> None:
    expected = join_token(manager, role)

    result = run_swarmtui("join-token", "-q", role, host=manager.host)

    assert result.returncode == 0, result.stderr
    assert result.stdout == expected + "\n"
    assert result.stderr == ""


@pytest.mark.parametrize("role", ["worker", "manager"])
def test_host_flag_matches_docker_cli(manager: Daemon, role: str) -> None:
    expected = join_token(manager, role)

    result = run_swarmtui(
        "-H",
        manager.host,
        "join-token",
        "-q",
        role,
        environment={"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == expected + "\n"


def test_output_layout_matches_docker_cli(manager: Daemon) -> None:
    ours = run_swarmtui("join-token", "worker", host=manager.host)
    theirs = manager.docker("swarm", "join-token", "worker")

    assert ours.returncode == 0, ours.stderr
    assert runnable_line(ours.stdout) == runnable_line(theirs.stdout).replace(
        "\\", ""
    ).replace("  ", " ")
    assert ours.stdout.splitlines()[1] == ""
    assert runnable_line(ours.stdout).endswith(" " + manager.swarm_address)


def test_worker_line_joins_node(manager: Daemon, daemons: DaemonPool) -> None:
    node = daemons.daemon()
    output = run_swarmtui("join-token", "worker", host=manager.host)
    assert output.returncode == 0, output.stderr

    status, stderr = run_join_line(runnable_line(output.stdout), node)

    assert status == 0, stderr
    node.joined_to = manager
    node_id = node.node_id()
    assert node_roles(manager)[node_id] == "worker"


def test_manager_line_joins_node(daemons: DaemonPool) -> None:
    first = daemons.swarm()
    node = daemons.daemon()
    output = run_swarmtui("join-token", "manager", host=first.host)
    assert output.returncode == 0, output.stderr
    assert "to make it a manager" in output.stdout

    status, stderr = run_join_line(runnable_line(output.stdout), node)

    assert status == 0, stderr
    assert node_roles(first)[node.node_id()] == "manager"


def test_json_output_matches_docker_cli(manager: Daemon) -> None:
    import json

    result = run_swarmtui("join-token", "--json", "manager", host=manager.host)

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["role"] == "manager"
    assert document["token"] == join_token(manager, "manager")
    assert document["join_address"] == manager.swarm_address
    assert document["rotated"] is False
    assert document["fingerprint"].startswith("fp:")


def test_token_digest_is_trust_root_digest(manager: Daemon) -> None:
    trust_root = get_json(manager, "/v1.41/swarm")["TLSInfo"]["TrustRoot"]
    worker = parse_token(join_token(manager, "worker"))
    manager_token = parse_token(join_token(manager, "manager"))

    assert ca_digest(trust_root) == worker.digest
    assert manager_token.digest == worker.digest
    assert manager_token.secret != worker.secret


def test_docker_context_selects_engine(manager: Daemon, tmp_path: Path) -> None:
    config = tmp_path / "docker-config"
    create_docker_context(config, "swarm1", manager.host)
    expected = join_token(manager, "worker")

    by_flag = run_swarmtui(
        "-c",
        "swarm1",
        "join-token",
        "-q",
        "worker",
        environment={"DOCKER_CONFIG": str(config)},
    )
    by_variable = run_swarmtui(
        "join-token",
        "-q",
        "worker",
        environment={"DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "swarm1"},
    )

    assert by_flag.returncode == 0, by_flag.stderr
    assert by_flag.stdout == expected + "\n"
    assert by_variable.returncode == 0, by_variable.stderr
    assert by_variable.stdout == expected + "\n"


def test_default_context_option_uses_docker_host(
    manager: Daemon, tmp_path: Path
) -> None:
    variables = {"DOCKER_CONFIG": str(tmp_path / "docker-config")}
    theirs = subprocess.run(
        [docker_cli(), "-c", "default", "swarm", "join-token", "-q", "worker"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=clean_environment(**variables, DOCKER_HOST=manager.host),
        timeout=60,
    )

    result = run_swarmtui(
        "-c",
        "default",
        "join-token",
        "-q",
        "worker",
        host=manager.host,
        environment=variables,
    )

    assert theirs.returncode == 0, theirs.stderr
    assert result.returncode == 0, result.stderr
    assert result.stdout == theirs.stdout
    assert result.stdout == join_token(manager, "worker") + "\n"


@pytest.mark.parametrize("option", ["--rot", "--r"])
def test_abbreviated_rotate_rotates_nothing(manager: Daemon, option: str) -> None:
    worker_before = join_token(manager, "worker")
    manager_before = join_token(manager, "manager")

    result = run_swarmtui("join-token", option, "-q", "worker", host=manager.host)

    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert f"unknown option {option}; options are not shortened" in result.stderr
    assert "write --rotate" in result.stderr
    assert join_token(manager, "worker") == worker_before
    assert join_token(manager, "manager") == manager_before


def run_show_token(
    manager: Daemon, audit: Path, **streams: Any
) -> subprocess.CompletedProcess[bytes]:
    """Run `join-token -q worker -vv` on `manager`, with the audit file `audit`.

    `close_stdout=True` starts the process with descriptor 1 closed.
    """
    close = streams.pop("close_stdout", False)
    return subprocess.run(
        [swarmtui_script(), "-vv", "-H", manager.host, "join-token", "-q", "worker"],
        env=clean_environment(SWARMTUI_AUDIT_FILE=str(audit)),
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=120,
        preexec_fn=(lambda: os.close(1)) if close else None,
        **streams,
    )


def test_closed_stdout_reads_nothing(manager: Daemon, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    control = run_show_token(manager, audit, stdout=subprocess.PIPE)
    assert control.returncode == 0
    assert "engine call GET" in control.stderr.decode()

    audit.unlink()
    result = run_show_token(manager, audit, close_stdout=True)

    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "standard output was closed before swarmtui started" in stderr
    assert "engine call" not in stderr
    assert not audit.exists()


def test_full_stdout_audited_as_failed(manager: Daemon, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    with open("/dev/full", "wb") as full:
        result = run_show_token(manager, audit, stdout=full)

    assert result.returncode == 1
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(events) == 1
    assert events[0]["action"] == "show"
    assert events[0]["item"] == "token"
    assert events[0]["result"] == "failed"
    assert events[0]["reason"] == "output closed"
    assert events[0]["error"] == (
        "standard output could not be written (No space left on device)"
    )

"""Forms of a current token that dockerd rejects, checked with real joins."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from demo_support import run_cli
from engine_fixtures import Daemon, DaemonPool, join, join_token

from swarmtui.cli.check_token import NOT_LIVE
from swarmtui.tokens import parse_token

pytestmark = pytest.mark.engine

STALE_TOKEN_MESSAGE = "A valid join token is necessary to join this cluster"


def check(daemon: Daemon, stdin: str, home: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "check-token",
        "--json",
        stdin=stdin,
        home=home,
        environment={"DOCKER_HOST": daemon.host},
    )


def test_v2_form_of_current_token(daemons: DaemonPool, tmp_path: Path) -> None:
    swarm = daemons.swarm()
    current = parse_token(join_token(swarm, "worker"))
    assert current.version == 1
    v2_form = f"SWMTKN-2-0-{current.digest}-{current.secret}"

    node = daemons.daemon()
    joined, errors = join(node, swarm, v2_form)
    assert not joined
    assert STALE_TOKEN_MESSAGE in errors

    result = check(swarm, v2_form, tmp_path)
    assert result.returncode == NOT_LIVE, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "this-swarm-not-current"
    assert "version 2 form of the current worker token" in document["reason"]
    # The command that prints the token reaches the same engine.
    printing = f"'docker -H {swarm.host} swarm join-token worker'"
    assert printing in document["reason"]
    assert "old" not in document["reason"]

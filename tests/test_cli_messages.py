"""How the CLI writes errors and warnings on stderr."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_support import make_demo, run_cli

from swarmtui.cli import error_message
from swarmtui.errors import RotationConflictError, SwarmTuiError
from swarmtui.models import Role
from swarmtui.service import TokenService


def test_conflict_message_lists_changes(tmp_path: Path) -> None:
    state = tmp_path / "demo.toml"
    first = TokenService(make_demo(state))
    second = TokenService(make_demo(state))
    seen = first.read()
    second.rotate([Role.WORKER])
    with pytest.raises(RotationConflictError) as caught:
        first.rotate([Role.MANAGER], expected=seen)

    lines = error_message(caught.value).splitlines()

    assert lines[0].startswith("swarmtui: conflict with another change: ")
    assert lines[1] == "Changes since the swarm was read:"
    assert any(line.startswith("  - worker token changed (") for line in lines[2:-1]), (
        lines
    )
    assert lines[-1] == caught.value.hint
    assert "ask again" not in lines[-1]
    assert lines[-1] == "Review the changes, then rotate again if it is still needed."


@pytest.mark.parametrize(("verbosity", "info_lines"), [([], 0), (["-v"], 1)])
def test_audit_failure_warned_once(
    tmp_path: Path, verbosity: list[str], info_lines: int
) -> None:
    from demo_support import run_cli

    blocked = tmp_path / "blocked"
    blocked.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'audit_file = "{blocked}"\n')
    state = tmp_path / "demo.toml"

    result = run_cli(
        *verbosity,
        "--config",
        str(config),
        "--demo",
        "--demo-state",
        str(state),
        "join-token",
        "--rotate",
        "-q",
        "worker",
        home=tmp_path,
    )
    warnings = [line for line in result.stderr.splitlines() if "audit" in line]

    assert result.returncode == 0, result.stderr
    assert len([line for line in warnings if "swarmtui: warning:" in line]) == 1
    info = [line for line in warnings if line.startswith("INFO swarmtui.service")]
    assert len(info) == info_lines
    assert not [line for line in warnings if line.startswith("WARNING")]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Engine unreachable", "engine unreachable"),
        ("API too old", "API too old"),
        ("TLS failed", "TLS failed"),
        ("Not in a swarm", "not in a swarm"),
    ],
)
def test_title_in_sentence(title: str, expected: str) -> None:
    error = SwarmTuiError("Something failed.")
    error.title = title

    assert error.title_in_sentence == expected


@pytest.mark.parametrize(
    ("verbosity", "prefix"),
    [([], "swarmtui: warning: the demo state file"), (["-v"], "WARNING swarmtui.")],
)
def test_logged_warning_format(
    tmp_path: Path, verbosity: list[str], prefix: str
) -> None:
    state = tmp_path / "demo.toml"
    make_demo(state, seed=3).inspect_swarm()
    result = run_cli(
        *verbosity,
        *["--demo", "--demo-state", str(state), "--demo-seed", "4"],
        *["join-token", "-q", "worker"],
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "seed 4" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith(prefix)

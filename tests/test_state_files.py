"""The audit file must be no other file of swarmtui, which it would damage."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmtui.cli import main


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_audit_as_token_history_rejected(
    isolated_user_folders: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    history = isolated_user_folders / "state" / "swarmtui" / "token-history.json"
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(history))
    state = tmp_path / "demo.toml"

    code, out, err = run(
        capsys, "--demo", "--demo-state", str(state), "join-token", "-q", "worker"
    )

    assert code == 1
    assert out == ""
    assert f"The token history {history} (from the default path) and the" in err
    assert "(from SWARMTUI_AUDIT_FILE) are the same file" in err
    assert "so change SWARMTUI_AUDIT_FILE." in err
    assert not history.exists()
    assert not state.exists()


def test_audit_as_demo_state_rejected(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    state = tmp_path / "demo.toml"
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(state))

    code, _, err = run(
        capsys, "--demo", "--demo-state", str(state), "join-token", "--rotate", "worker"
    )

    assert code == 1
    assert f"The demo state file {state} (from --demo-state)" in err
    assert "so change --demo-state or SWARMTUI_AUDIT_FILE." in err
    assert not state.exists()


def test_audit_as_config_file_rejected(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("timeout = 5\n")
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(config))
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    code, _, err = run(
        capsys, *demo, "--config", str(config), "join-token", "-q", "worker"
    )

    assert code == 1
    assert f"The config file {config} (from --config)" in err
    assert config.read_text() == "timeout = 5\n"


def test_audit_listing_not_checked(
    isolated_user_folders: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    history = isolated_user_folders / "state" / "swarmtui" / "token-history.json"
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(history))

    code, _, err = run(capsys, "audit")

    assert code == 0
    assert "same file" not in err


def test_separate_files_accepted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "demo.toml"

    code, out, _ = run(
        capsys, "--demo", "--demo-state", str(state), "join-token", "-q", "worker"
    )

    assert code == 0
    assert out.startswith("SWMTKN-1-")

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


def test_window_file_as_token_history_rejected(
    isolated_user_folders: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    history = isolated_user_folders / "state" / "swarmtui" / "token-history.json"
    monkeypatch.setenv("SWARMTUI_WINDOWS_FILE", str(history))
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    code, _, err = run(capsys, *demo, "join-window", "list")

    assert code == 1
    assert "The join window file" in err
    assert f"and the token history {history} (from the default path)" in err
    assert "so change SWARMTUI_WINDOWS_FILE." in err


def test_window_file_as_config_file_rejected(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("timeout = 5\n")
    monkeypatch.setenv("SWARMTUI_WINDOWS_FILE", str(config))
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    code, _, err = run(
        capsys, *demo, "--config", str(config), "join-window", "close-all"
    )

    assert code == 1
    assert f"and the config file {config} (from --config)" in err
    assert config.read_text() == "timeout = 5\n"


def test_audit_as_default_demo_state_rejected_without_demo(
    isolated_user_folders: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = isolated_user_folders / "data" / "swarmtui" / "demo-swarm.toml"
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(state))

    code, _, err = run(capsys, "-H", "unix:///nonexistent.sock", "join-token", "worker")

    assert code == 1
    assert f"The demo state file {state} (from the default path)" in err
    assert not state.exists()


def test_audit_as_lock_file_rejected(
    isolated_user_folders: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    lock = isolated_user_folders / "state" / "swarmtui" / "token-history.json.lock"
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(lock))
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    code, _, err = run(capsys, *demo, "join-token", "-q", "worker")

    assert code == 1
    assert f"The lock file of the token history {lock}" in err
    assert not lock.exists()


def test_window_file_as_demo_lock_rejected(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    state = tmp_path / "demo.toml"
    lock = tmp_path / "demo.toml.lock"
    monkeypatch.setenv("SWARMTUI_WINDOWS_FILE", str(lock))

    code, out, err = run(
        capsys, "--demo", "--demo-state", str(state), "join-token", "-q", "worker"
    )

    assert code == 1
    assert out == ""
    assert f"The lock file of the demo state file {lock} (from --demo-state)" in err
    assert f"the join window file {lock} (from SWARMTUI_WINDOWS_FILE)" in err
    assert "so change --demo-state or SWARMTUI_WINDOWS_FILE." in err
    assert not state.exists()


def test_default_demo_state_named_as_default(
    isolated_user_folders: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = isolated_user_folders / "data" / "swarmtui" / "demo-swarm.toml"
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(state))

    code, _, err = run(capsys, "--demo", "join-token", "-q", "worker")

    assert code == 1
    assert f"The demo state file {state} (from the default path)" in err
    assert "--demo-state" not in err


def test_linked_default_files_name_the_link(
    isolated_user_folders: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    folder = isolated_user_folders / "state" / "swarmtui"
    folder.mkdir(parents=True)
    windows = folder / "join-windows.json"
    windows.write_text('{"windows": []}\n')
    (folder / "token-history.json").symlink_to(windows.name)
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    code, _, err = run(capsys, *demo, "join-token", "-q", "worker")

    assert code == 1
    assert "A symbolic or hard link makes the two paths one file" in err
    assert "XDG_DATA_HOME" not in err


UNKNOWN_HOME = "~swarmtui-no-such-user/file"


@pytest.mark.parametrize(
    ("variable", "arguments"),
    [
        ("SWARMTUI_AUDIT_FILE", ("join-token", "-q", "worker")),
        ("SWARMTUI_WINDOWS_FILE", ("join-token", "-q", "worker")),
        ("SWARMTUI_AUDIT_FILE", ("audit",)),
    ],
)
def test_unknown_home_in_variable_rejected(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    variable: str,
    arguments: tuple[str, ...],
) -> None:
    monkeypatch.setenv(variable, UNKNOWN_HOME)
    state = tmp_path / "demo.toml"

    code, out, err = run(capsys, "--demo", "--demo-state", str(state), *arguments)

    assert code == 2
    assert out == ""
    assert f"The path '{UNKNOWN_HOME}' of {variable} starts with" in err
    assert "no user named 'swarmtui-no-such-user' exists on this machine" in err
    assert "Traceback" not in err
    assert not state.exists()


def test_unknown_home_in_demo_state_rejected(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        run(
            capsys, "--demo", "--demo-state", UNKNOWN_HOME, "join-token", "-q", "worker"
        )

    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"argument --demo-state: {UNKNOWN_HOME} starts with a ~" in captured.err


def test_unknown_home_in_docker_config_rejected(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", UNKNOWN_HOME)

    code, out, err = run(capsys, "join-token", "-q", "worker")

    assert code == 2
    assert out == ""
    assert f"The path '{UNKNOWN_HOME}' of DOCKER_CONFIG starts with" in err
    assert "unexpected error" not in err


def test_unknown_home_in_config_audit_file(
    isolated_user_folders: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    config = isolated_user_folders / "config" / "swarmtui" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'audit_file = "{UNKNOWN_HOME}"\n', encoding="utf-8")
    state = tmp_path / "demo.toml"

    code, out, err = run(
        capsys, "--demo", "--demo-state", str(state), "join-token", "-q", "worker"
    )

    assert code == 0
    assert out.startswith("SWMTKN-1-")
    assert f'line 1: Invalid audit_file "{UNKNOWN_HOME}": its ~ names no home' in err
    assert 'Using the default audit_file = ""' in err
    default_audit = isolated_user_folders / "state" / "swarmtui" / "audit.jsonl"
    assert default_audit.exists()


def test_config_path_home_expanded(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "c.toml").write_text("poll_interval = 0\n", encoding="utf-8")
    state = tmp_path / "demo.toml"

    code, _, err = run(
        capsys,
        "--config",
        "~/c.toml",
        "--demo",
        "--demo-state",
        str(state),
        "join-token",
        "-q",
        "worker",
    )

    assert code == 0
    assert f"The config file {tmp_path / 'c.toml'}" in err
    assert "does not exist" not in err


def test_config_path_unknown_home_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(capsys, "--config", UNKNOWN_HOME, "--demo", "join-token", "-q", "worker")

    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "starts with a ~ that names no known user's home folder" in err

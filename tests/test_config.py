"""Tests of the settings file: defaults, validation, errors with lines, saving."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from demo_support import run_cli

from swarmtui.config import (
    Settings,
    back_up,
    find_key_line,
    load_settings,
    load_usable_settings,
    save_settings,
    with_changes,
)
from swarmtui.errors import ConfigError


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "none.toml") == Settings()


def test_values_are_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "poll_interval = 30\nconfirm_worker_rotation = true\n"
        'mask_tokens = false\nclipboard = "osc52"\ntheme = "nord"\ntimeout = 4.5\n'
    )
    settings = load_settings(path)
    assert settings.poll_interval == 30.0
    assert settings.confirm_worker_rotation is True
    assert settings.mask_tokens is False
    assert settings.clipboard == "osc52"
    assert settings.theme == "nord"
    assert settings.timeout == 4.5


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("poll_interval = 10\nclipboard = \n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    error = caught.value
    assert error.path == str(path)
    assert error.line == 2
    assert str(path) in error.message
    assert "line 2" in error.message


def test_error_at_end_names_last_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("poll_interval = 10\ntheme = [\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.line == 2
    assert f"{path}, line 2 is not valid TOML" in caught.value.message


@pytest.mark.parametrize(
    "text",
    ["poll_interval = " + "9" * 5000 + "\n", "extra = " + "[" * 5000 + "]" * 5000],
    ids=["long-number", "deep-nesting"],
)
def test_unparsable_config_names_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.path == str(path)
    assert str(path) in caught.value.message
    assert "too long or nesting too deep" in caught.value.message
    assert path.read_text() == text


BAD_VALUES = [
    ("poll_interval", "0"),
    ("poll_interval", '"fast"'),
    ("poll_interval", "true"),
    ("timeout", "-1"),
    ("timeout", "1e-9"),
    ("confirm_worker_rotation", '"yes"'),
    ("mask_tokens", "1"),
    ("clipboard", '"fax"'),
    ("theme", '""'),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_bad_value_names_key_and_line(tmp_path: Path, key: str, value: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"# settings\n\n{key} = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    error = caught.value
    assert error.key == key
    assert error.line == 3
    assert error.path == str(path)
    assert key in error.message
    assert error.hint


def test_unknown_key_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("poll_intervall = 5\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.key == "poll_intervall"
    assert caught.value.line == 1
    assert "poll_interval" in caught.value.hint


def test_every_bad_setting_listed(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'mask_tokens = true\npoll_interval = "x"\ncolour = 1\n\ntimeout = -1\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    error = caught.value
    lines = str(error).splitlines()

    assert error.key == "poll_interval"
    assert error.line == 2
    assert [problem.key for problem in error.problems] == [
        "poll_interval",
        "colour",
        "timeout",
    ]
    assert lines[0] == f"The config file {path} has 3 invalid or unknown settings:"
    assert lines[1].startswith('  line 2: Invalid poll_interval "x". Use a number')
    assert lines[2].startswith("  line 3: Unknown setting 'colour'. Known settings:")
    assert lines[3].startswith("  line 5: Invalid timeout -1. Use a number of")
    assert lines[4] == "Fix them, or remove the file to use the defaults."


def test_one_bad_setting_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("timeout = 30\nclipboard = 'fax'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert str(caught.value).count("\n") == 0
    assert str(caught.value).startswith(f"The config file {path}, line 2: Invalid")
    assert len(caught.value.problems) == 1


def test_save_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    settings = Settings(poll_interval=25, clipboard="local", theme="nord")
    save_settings(path, settings)
    assert load_settings(path) == settings
    assert [item.name for item in path.parent.iterdir()] == ["config.toml"]


def test_save_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("poll_interval = 99\n")
    save_settings(path, Settings(poll_interval=5))
    assert load_settings(path).poll_interval == 5.0


def test_back_up_copies_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("broken = [\n")
    backup = back_up(path)
    assert backup is not None
    assert backup.read_text() == "broken = [\n"
    assert backup.stat().st_mode & 0o777 == 0o600
    assert back_up(tmp_path / "absent.toml") is None


@pytest.mark.parametrize("device", ["/dev/zero", "fifo"])
def test_back_up_rejects_special_file(tmp_path: Path, device: str) -> None:
    target = Path(device)
    if device == "fifo":
        target = tmp_path / "fifo"
        os.mkfifo(target)
    path = tmp_path / "config.toml"
    path.symlink_to(target)

    with pytest.raises(ConfigError) as caught:
        back_up(path)

    assert "is not a regular file" in caught.value.message
    assert "were not saved" in caught.value.message
    assert sorted(item.name for item in tmp_path.iterdir()) == sorted(
        ["config.toml"] + (["fifo"] if device == "fifo" else [])
    )


def test_save_keeps_special_file_behind_link(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    path = tmp_path / "config.toml"
    path.symlink_to(fifo)

    with pytest.raises(ConfigError) as caught:
        save_settings(path, Settings())

    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert path.is_symlink()
    assert f"({path} is not a regular file)" in caught.value.message
    assert [item.name for item in tmp_path.iterdir() if item.name.startswith(".")] == []


def test_with_changes_validates() -> None:
    settings = with_changes(Settings(), poll_interval=3, clipboard="off")
    assert settings.poll_interval == 3.0
    assert settings.clipboard == "off"
    with pytest.raises(ConfigError):
        with_changes(Settings(), clipboard="carrier pigeon")


def test_find_key_line_skips_similar_keys() -> None:
    text = "poll_interval_x = 1\n  poll_interval = 2\n"
    assert find_key_line(text, "poll_interval") == 2
    assert find_key_line(text, "theme") is None


def test_cli_timeout_limit_matches_config() -> None:
    from swarmtui.cli import MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS
    from swarmtui.config import MAX_TIMEOUT, MIN_TIMEOUT

    assert MAX_TIMEOUT_SECONDS == MAX_TIMEOUT
    assert MIN_TIMEOUT_SECONDS == MIN_TIMEOUT


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_special_config_names_option(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "config.toml"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    result = run_cli(
        "--demo",
        "--demo-state",
        str(tmp_path / "demo.toml"),
        "--config",
        str(path),
        "join-token",
        "-q",
        "worker",
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"The config file {path} (from --config) cannot be used" in result.stderr
    assert "not a regular file." in result.stderr
    assert "Give --config the path of a TOML file" in result.stderr
    assert "remove" not in result.stderr.lower()
    assert path.exists()


def test_special_default_config_kept(tmp_path: Path) -> None:
    path = tmp_path / "config" / "swarmtui" / "config.toml"
    path.mkdir(parents=True)
    result = run_cli(
        "--demo",
        "--demo-state",
        str(tmp_path / "demo.toml"),
        "join-token",
        "-q",
        "worker",
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"The config file {path} cannot be used: it is a folder" in result.stderr
    assert "Choose another config file with --config." in result.stderr
    assert "remove" not in result.stderr.lower()


def test_config_not_utf8_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'clipboard = "off"\n# \xff\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.message == f"The config file {path}, line 2 is not UTF-8 text."
    assert caught.value.line == 2
    assert "codec" not in caught.value.message


BOM = b"\xef\xbb\xbf"


def test_byte_order_mark_skipped(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(BOM + b'poll_interval = 5\nclipboard = "off"\n')

    settings = load_settings(path)

    assert settings.poll_interval == 5.0
    assert settings.clipboard == "off"


def test_byte_order_mark_keeps_lines(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(BOM + b"poll_interval = 5\ntimeout = 0\n# \xff\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.message == f"The config file {path}, line 3 is not UTF-8 text."

    path.write_bytes(BOM + b"poll_interval = 5\ntimeout = 0\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.line == 2
    assert caught.value.key == "timeout"
    assert load_usable_settings(path)[0].poll_interval == 5.0


def test_byte_order_mark_cli_audit_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(BOM + b'audit_file = "chosen.jsonl"\n')
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    result = run_cli(
        *demo, "--config", str(path), "join-token", "-q", "worker", home=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (tmp_path / "chosen.jsonl").exists()

"""Audit write warnings name where the audit file's path came from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from demo_support import cli_environment, run_cli

from swarmtui.audit import default_audit_path


def show_token(home: Path, *options: str, **environment: str) -> str:
    """Run `join-token -q worker` on the demo swarm; return its stderr."""
    result = run_cli(
        "--demo",
        "--demo-state",
        str(home / "demo.toml"),
        *options,
        "join-token",
        "-q",
        "worker",
        home=home,
        environment=environment,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_config_device_names_setting(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('clipboard = "off"\naudit_file = "/dev/full"\n')

    stderr = show_token(tmp_path, "--config", str(config))

    assert (
        f"The audit file /dev/full (from audit_file in the config file {config}, "
        "line 2) could not be opened for writing (it is not a regular file)"
    ) in stderr
    assert (
        f"In the config file {config}, line 2, set audit_file to a writable file, "
        'or to "" for the default. SWARMTUI_AUDIT_FILE overrides it.'
    ) in stderr
    assert "Make /dev/full" not in stderr


def test_config_folder_names_setting(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    config = tmp_path / "settings.toml"
    config.write_text(f'audit_file = "{folder}"\n')

    stderr = show_token(tmp_path, "--config", str(config))

    assert f"(from audit_file in the config file {config}, line 1)" in stderr
    assert f"({folder} is a folder)" in stderr
    assert f"In the config file {config}, line 1, set audit_file" in stderr
    assert "Move the folder" not in stderr


def test_environment_device_names_variable(tmp_path: Path) -> None:
    stderr = show_token(tmp_path, SWARMTUI_AUDIT_FILE="/dev/full")

    assert "The audit file /dev/full (from SWARMTUI_AUDIT_FILE)" in stderr
    assert (
        "Point SWARMTUI_AUDIT_FILE at a writable file, or unset it to use the default."
    ) in stderr
    assert "Make /dev/full" not in stderr


def test_default_folder_moved_away(tmp_path: Path) -> None:
    default = tmp_path / "state" / "swarmtui" / "audit.jsonl"
    default.mkdir(parents=True)

    stderr = show_token(tmp_path)

    assert f"The audit file {default} (the default)" in stderr
    assert (
        f"Move the folder {default} away. Or set SWARMTUI_AUDIT_FILE, or "
        "audit_file in the config file, to a writable file."
    ) in stderr


def test_relative_audit_file_beside_config(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "settings.toml"
    config.parent.mkdir()
    config.write_text('audit_file = "records/rel.jsonl"\n')
    record = tmp_path / "conf" / "records" / "rel.jsonl"
    for name in ("first", "second"):
        folder = tmp_path / name
        folder.mkdir()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "swarmtui",
                "--demo",
                "--demo-state",
                str(tmp_path / "demo.toml"),
                "--config",
                str(config),
                "join-token",
                "-q",
                "worker",
            ],
            capture_output=True,
            text=True,
            env=cli_environment(tmp_path),
            cwd=folder,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert list(folder.iterdir()) == []
    assert len(record.read_text().splitlines()) == 2

    elsewhere = tmp_path / "third"
    elsewhere.mkdir()
    listing = subprocess.run(
        [sys.executable, "-m", "swarmtui", "--config", str(config), "audit"],
        capture_output=True,
        text=True,
        env=cli_environment(tmp_path),
        cwd=elsewhere,
        timeout=120,
    )
    assert listing.returncode == 0, listing.stderr
    assert len(listing.stdout.splitlines()) == 3


def test_relative_config_path_for_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.toml").write_text('audit_file = "rel.jsonl"\n')
    monkeypatch.chdir(tmp_path)

    path = default_audit_path({}, Path("conf/config.toml"))

    assert path == tmp_path / "conf" / "rel.jsonl"

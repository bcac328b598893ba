"""Broken config files: valid values kept on save, and errors that point at lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Select
from tui_support import capture_notifications, demo_service, fixed_clock

from swarmtui.config import (
    Settings,
    find_key_line,
    load_settings,
    salvage_settings,
    setting_location,
)
from swarmtui.errors import ConfigError
from swarmtui.tui.app import SwarmConsole
from swarmtui.tui.screens import SettingsScreen


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    return raised.value


def test_salvage_keeps_valid_values(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('timeout = 30\nclipboard = "fax"\ntheme = "dracula"\n')
    settings = salvage_settings(path)
    assert settings.timeout == 30.0
    assert settings.theme == "dracula"
    assert settings.clipboard == Settings().clipboard


def test_salvage_of_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('timeout = 30\naudit_file = "/tmp/a.jsonl"\nmask_tokens = \n')
    settings = salvage_settings(path)
    assert settings.timeout == 30.0
    assert settings.audit_file == "/tmp/a.jsonl"
    assert settings.mask_tokens is True


@pytest.mark.parametrize(
    ("text", "expected_line"),
    [
        ("timeout = 30\n[poll_interval]\nx = 1\n", 2),
        ("timeout = 30\n\n[swarmtui]\ntheme = 'x'\n", 3),
        ("timeout = 30\n[[swarmtui]]\n", 2),
        ("timeout = 30\nswarmtui.theme = 'x'\n", 2),
    ],
)
def test_table_error_has_line(tmp_path: Path, text: str, expected_line: int) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    error = load_error(path)
    assert error.line == expected_line
    assert f"{path}, line {expected_line}:" in error.message


def test_find_key_line_table_header() -> None:
    assert find_key_line("a = 1\n[ poll_interval ]\n", "poll_interval") == 2
    assert find_key_line("poll_interval_x = 1\n", "poll_interval") is None


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("timeout = true", "Invalid timeout true."),
        ("mask_tokens = 1", "Invalid mask_tokens 1."),
        ("clipboard = 'fax'", 'Invalid clipboard "fax".'),
        ("poll_interval = [1]", "Invalid poll_interval (an array)."),
    ],
)
def test_values_in_toml_spelling(tmp_path: Path, line: str, shown: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(line + "\n")
    error = load_error(path)
    assert shown in error.message
    assert "True" not in error.message


def test_setting_location_names_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('timeout = 30\ntheme = "nosuch"\n')
    assert setting_location(path, "theme") == f"the config file {path}, line 2"


def make_app(tmp_path: Path, **kwargs: Any) -> SwarmConsole:
    return SwarmConsole(
        service=demo_service(tmp_path), clock=fixed_clock, environment={}, **kwargs
    )


async def test_save_over_broken_file_keeps_timeout(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('timeout = 30\nclipboard = "fax"\nmask_tokens = false\n')
    app = make_app(tmp_path, config_path=config, config_error=load_error(config))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#save", Button).press()
        await pilot.pause()
        await pilot.pause()
    saved = load_settings(config)
    assert saved.timeout == 30.0
    assert saved.mask_tokens is False
    assert saved.clipboard == Settings().clipboard


async def test_unknown_theme_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('timeout = 30\ntheme = "nosuch"\n')
    settings = load_settings(config)
    app = make_app(tmp_path, config_path=config, settings=settings)
    messages = capture_notifications(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
    found = [message for message in messages if "Unknown theme" in message]
    assert len(found) == 1
    assert f"the config file {config}, line 2" in found[0]


async def test_settings_save_theme_in_use(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('timeout = 30\ntheme = "nosuch"\n')
    app = make_app(tmp_path, config_path=config, settings=load_settings(config))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        theme = app.screen.query_one("#theme", Select)
        assert theme.value == app.theme
        app.screen.query_one("#save", Button).press()
        await pilot.pause()
        await pilot.pause()
    saved = load_settings(config)
    assert saved.theme == "textual-dark"
    assert saved.timeout == 30.0

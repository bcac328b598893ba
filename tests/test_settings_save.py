"""Saving from the settings screen over a config file that changed or has comments."""

from __future__ import annotations

import errno
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pytest
from textual.widgets import Button, Static
from tui_support import capture_notifications, demo_service, fixed_clock

from swarmtui.config import (
    Settings,
    load_settings,
    load_usable_settings,
    save_settings,
    save_shown_settings,
)
from swarmtui.errors import ConfigError
from swarmtui.tui.app import SwarmConsole
from swarmtui.tui.screens import SettingsScreen

COMMENTED = '# team settings\npoll_interval = 5  # fast\nclipboard = "off"\n'


async def save_from_screen(config: Path, tmp_path: Path, edit: str = "") -> list[str]:
    """Start the console on `config`, write `edit` to it, then Save; return notices.

    An empty `edit` leaves the file as it is.
    """
    app = SwarmConsole(
        service=demo_service(tmp_path),
        clock=fixed_clock,
        environment={},
        settings=load_settings(config),
        config_path=config,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        messages = capture_notifications(app)
        await app.workers.wait_for_complete()
        await pilot.pause()
        if edit:
            config.write_text(edit)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#save", Button).press()
        await pilot.pause()
        await pilot.pause()
    return messages


async def test_save_keeps_edit_made_while_running(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(COMMENTED)
    edited = COMMENTED.replace("= 5", "= 7") + 'audit_file = "/tmp/x.jsonl"\n'
    edited += "timeout = 42\n"

    messages = await save_from_screen(config, tmp_path, edited)

    saved = load_settings(config)
    assert saved.timeout == 42.0
    assert saved.audit_file == "/tmp/x.jsonl"
    # The form showed 5, read at start; its value wins over the edit.
    assert saved.poll_interval == 5.0
    assert saved.clipboard == "off"
    backups = list(tmp_path.glob("config.toml.*.bak"))
    assert len(backups) == 1
    assert backups[0].read_text() == edited
    assert (
        f"Settings saved to {config}. The file's previous text was kept as "
        f"{backups[0]}."
    ) in messages


async def test_save_over_own_file_keeps_no_backup(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    save_settings(config, Settings(poll_interval=2.5, timeout=30.0))

    messages = await save_from_screen(config, tmp_path)

    assert load_settings(config) == Settings(poll_interval=2.5, timeout=30.0)
    assert list(tmp_path.glob("config.toml.*.bak")) == []
    assert f"Settings saved to {config}." in messages


def test_file_broken_since_start_backed_up(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    broken = 'timeout = 42\nclipboard = "fax"\n'
    config.write_text(broken)
    moment = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    written, backup = save_shown_settings(
        config, Settings(clipboard="osc52"), SettingsScreen.KEYS, now=moment
    )

    assert backup == tmp_path / "config.toml.20261205T120000.bak"
    assert backup.read_text() == broken
    assert written == Settings(clipboard="osc52", timeout=42.0)
    assert load_settings(config) == written


def test_save_creates_missing_file(tmp_path: Path) -> None:
    config = tmp_path / "new" / "config.toml"

    written, backup = save_shown_settings(
        config, Settings(theme="nord", timeout=99.0), SettingsScreen.KEYS
    )

    assert backup is None
    assert written == Settings(theme="nord")
    assert load_settings(config) == written


def test_two_saves_in_one_second_backed_up(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    moment = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    first = "# first\ntimeout = 46\n"
    second = "# second\ntimeout = 47\n"

    config.write_text(first)
    save_shown_settings(config, Settings(), SettingsScreen.KEYS, now=moment)
    config.write_text(second)
    _, backup = save_shown_settings(config, Settings(), SettingsScreen.KEYS, now=moment)

    assert backup == tmp_path / "config.toml.20261205T120000-1.bak"
    assert backup.read_text() == second
    assert (tmp_path / "config.toml.20261205T120000.bak").read_text() == first
    assert load_settings(config).timeout == 47.0


def test_save_keeps_values_after_byte_order_mark(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"\xef\xbb\xbftimeout = 42\npoll_interval = 5\n")

    written, _ = save_shown_settings(
        config, Settings(clipboard="osc52", poll_interval=5.0), SettingsScreen.KEYS
    )

    assert written.timeout == 42.0
    assert load_settings(config) == written


def test_backup_on_full_disk_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(COMMENTED)

    def copy_half(reader: BinaryIO, writer: BinaryIO) -> None:
        writer.write(reader.read(10))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfileobj", copy_half)
    for _ in range(2):
        with pytest.raises(ConfigError) as caught:
            save_shown_settings(config, Settings(poll_interval=7), SettingsScreen.KEYS)
        assert "could not be backed up to" in str(caught.value)
        assert "so the settings were not saved" in str(caught.value)

    assert config.read_text() == COMMENTED
    assert [path.name for path in tmp_path.glob("*.bak")] == []


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        (b"# caf\xe9\ntimeout = 30\n", "it is not UTF-8 text"),
        (b"timeout = 30\n" + b"#" * (1024 * 1024), "it is larger than 1 MiB"),
    ],
    ids=["not-utf8", "too-large"],
)
def test_unreadable_file_not_saved_over(
    tmp_path: Path, content: bytes, cause: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(content)

    with pytest.raises(ConfigError) as raised:
        save_shown_settings(config, Settings(), SettingsScreen.KEYS)

    assert f"({cause}), so the settings were not saved" in raised.value.message
    assert config.read_bytes() == content
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.toml"]


async def test_unreadable_file_warning_says_defaults(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"# caf\xe9\npoll_interval = 5\n")
    settings, error = load_usable_settings(config)
    assert error is not None
    app = SwarmConsole(
        service=demo_service(tmp_path),
        clock=fixed_clock,
        environment={},
        settings=settings,
        config_path=config,
        config_error=error,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        warning = str(app.screen.query_one("#settings-warning", Static).content)
        # The file is fixed while the screen shows the defaults.
        config.write_text("poll_interval = 5\n")
        app.screen.query_one("#save", Button).press()
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        save_error = str(app.screen.query_one("#settings-error", Static).content)

    assert warning.startswith(
        "The config file cannot be read (it is not UTF-8 text), so the fields "
        "show the defaults, and Save is off"
    )
    assert "The fields show the file's valid values" not in warning
    assert save_error.startswith("Not saved: the fields show defaults")
    assert config.read_text() == "poll_interval = 5\n"

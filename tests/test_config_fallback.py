"""A config file with errors: valid settings kept, and the defaults named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from demo_support import run_cli
from tui_support import capture_notifications, demo_service, fixed_clock

from swarmtui.cli import parse_command_line
from swarmtui.config import Settings, fallback_note, load_usable_settings
from swarmtui.tokens import fingerprint, make_token, parse_token
from swarmtui.tui import run as run_module
from swarmtui.tui.app import SwarmConsole

BAD_POLL = 'poll_interval = 0\naudit_file = "{audit}"\ntimeout = 30\n'


def write_config(folder: Path, text: str) -> tuple[Path, Path]:
    """Write `text`, with {audit} replaced, to config.toml; return both paths."""
    audit = folder / "chosen" / "my.jsonl"
    config = folder / "config.toml"
    config.write_text(text.format(audit=audit))
    return config, audit


def test_bad_value_keeps_others(tmp_path: Path) -> None:
    config, audit = write_config(tmp_path, BAD_POLL)

    settings, error = load_usable_settings(config)

    assert error is not None
    assert settings.poll_interval == Settings().poll_interval
    assert settings.audit_file == str(audit)
    assert settings.timeout == 30.0


def test_syntax_error_gives_defaults(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, 'timeout = 30\naudit_file = "{audit}"\nx =\n')

    settings, error = load_usable_settings(config)

    assert error is not None
    assert settings == Settings()


def test_note_names_defaulted_keys(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, BAD_POLL + 'clipboard = "fax"\ncolour = 1\n')
    _, error = load_usable_settings(config)
    assert error is not None

    note = fallback_note(error, tmp_path / "audit.jsonl")

    assert note == (
        'Using the defaults poll_interval = 10 and clipboard = "both". '
        "Ignoring the unknown setting 'colour'. "
        "The file's other settings apply: audit_file and timeout."
    )


def test_note_without_other_settings(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, 'colour = 1\ntimeout = "x"\n')
    settings, error = load_usable_settings(config)
    assert error is not None

    note = fallback_note(error, tmp_path / "audit.jsonl")

    assert settings == Settings()
    assert note == (
        "Using the default timeout = 10. Ignoring the unknown setting 'colour'. "
        "The file sets no other setting."
    )


def test_note_hides_token_as_key(tmp_path: Path) -> None:
    token = make_token("a" * 50)
    config, _ = write_config(tmp_path, f'"{token}" = "x"\npoll_interval = 0\n')
    _, error = load_usable_settings(config)
    assert error is not None

    note = fallback_note(error, tmp_path / "audit.jsonl")

    assert parse_token(token).secret not in note
    assert f"Ignoring the unknown setting '<token {fingerprint(token)}>'." in note


def test_note_with_only_unusable_setting(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, 'colour = 1\ntheme = "nosuch"\n')
    _, error = load_usable_settings(config)
    assert error is not None

    note = fallback_note(error, tmp_path / "audit.jsonl", unusable={"theme"})

    assert note == (
        "Ignoring the unknown setting 'colour'. No other setting of the file applies."
    )


def test_unknown_only_error_says_unknown(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, 'colour = 1\nshade = 2\ntheme = "nord"\n')
    settings, error = load_usable_settings(config)
    assert error is not None

    first_line = str(error).splitlines()[0]
    note = fallback_note(error, tmp_path / "audit.jsonl")

    assert first_line == f"The config file {config} has 2 unknown settings:"
    assert settings.theme == "nord"
    assert note.endswith("The file's other settings apply: theme.")


def test_note_names_audit_file_after_syntax_error(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, "timeout = \n")
    _, error = load_usable_settings(config)
    assert error is not None

    note = fallback_note(error, tmp_path / "audit.jsonl")

    assert note == (
        f"Using the default settings. The audit record goes to {tmp_path}/audit.jsonl."
    )


def test_cli_audits_to_configured_file(tmp_path: Path) -> None:
    config, audit = write_config(tmp_path, BAD_POLL)
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    shown = run_cli(
        *demo, "--config", str(config), "join-token", "-q", "worker", home=tmp_path
    )
    listed = run_cli("--config", str(config), "audit", "--json", home=tmp_path)

    assert shown.returncode == 0, shown.stderr
    assert f"{config}, line 1: Invalid poll_interval 0." in shown.stderr
    assert "Using the default poll_interval = 10." in shown.stderr
    assert "The file's other settings apply: audit_file and timeout." in shown.stderr
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [event["action"] for event in events] == ["show"]
    assert not (tmp_path / "state" / "swarmtui" / "audit.jsonl").exists()
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["action"] == "show"


def test_cli_names_audit_file_after_syntax_error(tmp_path: Path) -> None:
    config, audit = write_config(tmp_path, 'audit_file = "{audit}"\ntimeout = \n')
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    result = run_cli(
        *demo, "--config", str(config), "join-token", "-q", "worker", home=tmp_path
    )

    default_audit = tmp_path / "state" / "swarmtui" / "audit.jsonl"
    assert result.returncode == 0, result.stderr
    assert "is not valid TOML" in result.stderr
    assert (
        f"Using the default settings. The audit record goes to {default_audit}."
        in result.stderr
    )
    assert default_audit.exists()
    assert not audit.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["--timeout", "5", "join-token", "-q", "worker"],
        ["join-token", "-q", "worker", "--timeout", "5"],
        ["join-window", "forget", "w-none"],
    ],
    ids=["timeout-before", "timeout-after", "forget"],
)
def test_config_error_reported_whatever_options(
    tmp_path: Path, command: list[str]
) -> None:
    config, audit = write_config(tmp_path, 'audit_file = "{audit}"\nclipboard = \n')
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    result = run_cli(*demo, "--config", str(config), *command, home=tmp_path)

    default_audit = tmp_path / "state" / "swarmtui" / "audit.jsonl"
    assert f"The config file {config}, line 2 is not valid TOML" in result.stderr
    assert (
        f"Using the default settings. The audit record goes to {default_audit}."
        in result.stderr
    )
    assert result.stderr.count("is not valid TOML") == 1
    assert not audit.exists()


@pytest.mark.parametrize(
    ("text", "note"),
    [
        (BAD_POLL, "Using the default poll_interval = 10."),
        ('audit_file = "{audit}"\ntimeout = \n', "is not valid TOML"),
    ],
    ids=["bad-value", "syntax-error"],
)
def test_cli_audit_reports_config_errors(tmp_path: Path, text: str, note: str) -> None:
    config, _ = write_config(tmp_path, text)

    listed = run_cli("--config", str(config), "audit", home=tmp_path)
    given_file = run_cli(
        "--config", str(config), "audit", "--file", str(config), home=tmp_path
    )

    assert listed.returncode == 0, listed.stderr
    assert note in listed.stderr
    assert note not in given_file.stderr


def test_console_keeps_valid_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, audit = write_config(tmp_path, BAD_POLL)
    started: list[SwarmConsole] = []

    def keep_app(app: SwarmConsole) -> int:
        started.append(app)
        return 0

    monkeypatch.setattr(run_module, "_run_app", keep_app)
    # pytest's streams are not a terminal.
    monkeypatch.setattr(run_module, "terminal_problem", lambda: "")
    _, _, args = parse_command_line(
        ["--demo", "--demo-state", str(tmp_path / "demo.toml"), "--config", str(config)]
    )
    assert run_module.run_console(args) == 0

    assert len(started) == 1
    assert started[0].settings.audit_file == str(audit)
    assert started[0].settings.timeout == 30.0
    assert started[0].config_error is not None


async def console_notices(
    tmp_path: Path, text: str, options: dict[str, str] | None = None
) -> list[str]:
    """Start the console on a config file with `text`; return its notices."""
    config, _ = write_config(tmp_path, text)
    settings, error = load_usable_settings(config)
    app = SwarmConsole(
        service=demo_service(tmp_path),
        clock=fixed_clock,
        environment={},
        settings=settings,
        config_path=config,
        config_error=error,
        setting_options=options,
    )
    messages = capture_notifications(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
    return messages


async def test_console_notice_names_defaults(tmp_path: Path) -> None:
    messages = await console_notices(tmp_path, BAD_POLL)

    found = [message for message in messages if "Invalid poll_interval" in message]
    assert len(found) == 1
    assert "Using the default poll_interval = 10." in found[0]
    assert "The file's other settings apply: audit_file and timeout." in found[0]
    assert "The file was left as it is." in found[0]


def test_nul_in_audit_file_named(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, 'audit_file = "/tmp/a\\u0000b"\n')

    _, error = load_usable_settings(config)

    assert error is not None
    assert "a path cannot contain a NUL character" in str(error)
    assert "Remove it from the path" in str(error)


async def test_console_note_leaves_out_unknown_theme(tmp_path: Path) -> None:
    text = 'theme = "nosuch"\nbogus = 1\npoll_interval = 5\n'

    messages = await console_notices(tmp_path, text)

    found = [message for message in messages if "Unknown setting 'bogus'" in message]
    assert len(found) == 1
    assert "The file's other settings apply: poll_interval." in found[0]
    assert any("Unknown theme 'nosuch'" in message for message in messages)


def test_note_names_option_that_replaces(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, 'timeout = "x"\npoll_interval = 0\n')
    _, error = load_usable_settings(config)
    assert error is not None

    note = fallback_note(
        error, tmp_path / "audit.jsonl", options={"timeout": "--timeout 0.5"}
    )

    assert note == (
        "Using the default poll_interval = 10. "
        "--timeout 0.5 on the command line applies instead. "
        "The file sets no other setting."
    )


def test_cli_note_names_timeout_option(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, 'timeout = "x"\n')
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    with_option = run_cli(
        *demo,
        "--config",
        str(config),
        "--timeout",
        "0.5",
        "join-token",
        "-q",
        "worker",
        home=tmp_path,
    )
    without_option = run_cli(
        *demo, "--config", str(config), "join-token", "-q", "worker", home=tmp_path
    )

    assert with_option.returncode == 0, with_option.stderr
    assert "--timeout 0.5 on the command line applies instead." in with_option.stderr
    assert "Using the default timeout" not in with_option.stderr
    assert "Using the default timeout = 10." in without_option.stderr


def test_console_gets_timeout_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = write_config(tmp_path, 'timeout = "x"\n')
    started: list[SwarmConsole] = []

    def keep_app(app: SwarmConsole) -> int:
        started.append(app)
        return 0

    monkeypatch.setattr(run_module, "_run_app", keep_app)
    monkeypatch.setattr(run_module, "terminal_problem", lambda: "")
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]
    _, _, args = parse_command_line([*demo, "--config", str(config), "--timeout", "3"])

    assert run_module.run_console(args) == 0

    (app,) = started
    assert app.setting_options == {"timeout": "--timeout 3"}
    assert app.config_error is not None


async def test_console_notice_names_timeout_option(tmp_path: Path) -> None:
    options = {"timeout": "--timeout 3"}

    messages = await console_notices(tmp_path, 'timeout = "x"\n', options)

    found = [message for message in messages if "Invalid timeout" in message]
    assert len(found) == 1
    assert "--timeout 3 on the command line applies instead." in found[0]
    assert "Using the default timeout" not in found[0]

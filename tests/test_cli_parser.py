"""The top-level parser loads only the subcommands a command line names."""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from swarmtui.cli import (
    SUBCOMMAND_MODULES,
    build_parser,
    main,
    named_subcommands,
    parse_command_line,
)


def test_subcommand_table_matches_modules() -> None:
    for name, module_name in SUBCOMMAND_MODULES.items():
        module = importlib.import_module(f"swarmtui.cli.{module_name}")
        assert name == module.NAME


def test_full_parser_has_every_subcommand() -> None:
    _, runners = build_parser()

    assert list(runners) == list(SUBCOMMAND_MODULES)


def test_parser_for_one_subcommand() -> None:
    parser, runners = build_parser(["join-token"])

    assert list(runners) == ["join-token"]
    args = parser.parse_args(["join-token", "-q", "worker"])
    assert args.command == "join-token"
    assert args.quiet is True


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([], None),
        (["--demo"], None),
        (["join-token", "-q", "worker"], ["join-token"]),
        (["-H", "unix:///tmp/d.sock", "audit"], ["audit"]),
        (["--config", "audit", "join-token", "worker"], ["audit", "join-token"]),
        (["-h"], None),
        (["--help", "join-token"], None),
        (["join-token", "--help"], ["join-token"]),
    ],
)
def test_named_subcommands(arguments: list[str], expected: list[str] | None) -> None:
    assert named_subcommands(arguments) == expected


def test_top_level_help_lists_every_subcommand(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])

    assert exit_info.value.code == 0
    output = capsys.readouterr().out
    for name in SUBCOMMAND_MODULES:
        assert name in output


def test_help_names_timeout_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])

    output = " ".join(capsys.readouterr().out.split())
    assert "including the connection, from 0.1 to 600 (default: 10" in output


def test_subcommand_help_still_works(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["join-token", "--help"])

    assert exit_info.value.code == 0
    assert "--rotate" in capsys.readouterr().out


def test_one_subcommand_imports_no_other() -> None:
    probe = (
        "import json, sys\n"
        "from swarmtui.cli import build_parser\n"
        "build_parser(['join-token'])\n"
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.startswith('swarmtui.cli.'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["swarmtui.cli.join_token"]


def test_console_command_line_imports_no_subcommand() -> None:
    probe = (
        "import json, sys\n"
        "from swarmtui.cli import parse_command_line\n"
        "_, runners, args = parse_command_line(['--demo', '--timeout', '3'])\n"
        "print(json.dumps({'command': args.command, 'timeout': args.timeout,\n"
        "    'runners': sorted(runners), 'modules': sorted(m for m in sys.modules\n"
        "    if m.startswith('swarmtui.cli.'))}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert parsed["command"] is None
    assert parsed["timeout"] == 3.0
    assert parsed["runners"] == []
    assert parsed["modules"] == []


def test_unknown_command_lists_every_subcommand(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_command_line(["--demo", "bogus"])

    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in error
    for name in SUBCOMMAND_MODULES:
        assert name in error


def test_console_option_error_exits_with_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_command_line(["--timeout", "nan"])

    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("usage: swarmtui")
    assert "argument --timeout: 'nan' is not a number of seconds from 0.1" in error
    assert error.count("usage:") == 1


@pytest.mark.parametrize("typed", ["1_0", " 10 ", "\u0661\u0660", "1e1", "nan"])
def test_timeout_rejects_typo_forms(
    typed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_command_line(["--demo", "--timeout", typed, "join-token", "worker"])

    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"argument --timeout: {typed!r} is not a number of seconds from 0.1" in error


@pytest.mark.parametrize("typed", ["10", "2.5", "0.1", "600"])
def test_timeout_accepts_plain_decimals(typed: str) -> None:
    _, _, args = parse_command_line(["--demo", "--timeout", typed, "audit"])

    assert args.timeout == float(typed)


@pytest.mark.parametrize(
    "typed", ["1_0", " 4", "4 ", "\u0664", "+4", "-3", "-0", "", "-", "4.0"]
)
def test_demo_seed_rejects_typos(
    typed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_command_line(["--demo", "--demo-seed", typed, "join-token", "worker"])

    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"argument --demo-seed: {typed!r} is not a whole number written" in error
    assert "with the digits 0 to 9 and no sign, such as 4 or 1234" in error


@pytest.mark.parametrize(("typed", "seed"), [("4", 4), ("0", 0), ("0012", 12)])
def test_demo_seed_accepts_digits(typed: str, seed: int) -> None:
    _, _, args = parse_command_line(["--demo", "--demo-seed", typed, "audit"])

    assert args.demo_seed == seed


@pytest.mark.parametrize(
    "arguments",
    [
        ["audit", "--limit", "9" * 5000],
        ["--timeout", "1" * 5000, "audit"],
        ["--demo", "--demo-seed", "x" * 5000, "audit"],
        ["--demo", "join-window", "open", "worker", "--minutes", "9" * 5000],
        ["--demo", "join-token", "9" * 5000],
        ["9" * 5000],
        ["join-token", "worker", "9" * 5000],
        ["join-token", "worker", "--" + "9" * 5000],
    ],
)
def test_long_bad_value_cut_in_error(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_command_line(arguments)

    error = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert " characters)" in error
    assert "9" * 300 not in error
    assert len(error) < 1000


@pytest.mark.parametrize(
    ("command", "own_option"),
    [
        (["audit"], "--since TIME"),
        (["join-window", "list"], "--config PATH"),
        (["join-window", "forget"], "WINDOW_ID"),
    ],
)
def test_local_command_help_leaves_out_engine_options(
    capsys: pytest.CaptureFixture[str], command: list[str], own_option: str
) -> None:
    with pytest.raises(SystemExit):
        parse_command_line([*command, "--help"])
    help_text = capsys.readouterr().out
    extra = ["w1"] if command[-1] == "forget" else []
    _, _, args = parse_command_line(
        [*command, "-H", "unix:///x.sock", "--demo", *extra]
    )

    assert own_option in help_text
    assert "--host" not in help_text
    assert "--context" not in help_text
    assert "--demo" not in help_text
    assert "engine selection" not in help_text
    assert args.host == "unix:///x.sock"


def test_open_help_keeps_engine_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_command_line(["join-window", "open", "--help"])
    help_text = capsys.readouterr().out

    assert "--host" in help_text
    assert "--demo" in help_text


def test_long_since_cut_in_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(tmp_path / "audit.jsonl"))

    code = main(["audit", "--since", "9" * 5000])

    error = capsys.readouterr().err
    assert code == 2
    # A run of 5000 digits may be part of a secret, so only its length shows.
    assert (
        "(a text of 5000 characters that may hold a secret) is neither a time "
        "nor a duration" in error
    )
    assert len(error) < 1000


def test_audit_limit_rejects_underscore(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_command_line(["audit", "--limit", "1_0"])

    assert exit_info.value.code == 2
    assert "'1_0' is not a whole number of 1 or more" in capsys.readouterr().err


def test_console_parser_reports_later_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser, _, _ = parse_command_line([])

    with pytest.raises(SystemExit) as exit_info:
        parser.error("use either --host or --context, not both")

    assert exit_info.value.code == 2
    assert "not both" in capsys.readouterr().err


@pytest.mark.parametrize("subcommand", ["join-token", "audit"])
def test_subcommand_runs_with_gc_on(
    subcommand: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module(f"swarmtui.cli.{SUBCOMMAND_MODULES[subcommand]}")
    seen: list[bool] = []

    def run(args: object, service: object) -> int:
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setattr(module, "run", run)
    arguments = ["--demo", "--demo-state", str(tmp_path / "demo.toml"), subcommand]
    if subcommand == "join-token":
        arguments.append("worker")

    assert main(arguments) == 0
    assert seen == [True]
    assert gc.isenabled()


@pytest.mark.parametrize(
    "arguments",
    [
        ["-H", "unix:///a.sock", "--timeout", "3", "-v", "join-token", "-q", "worker"],
        ["join-token", "-H", "unix:///a.sock", "--timeout", "3", "-v", "-q", "worker"],
        ["join-token", "-q", "worker", "-H", "unix:///a.sock", "-v", "--timeout", "3"],
        [
            "--timeout",
            "5",
            "join-token",
            "-v",
            "--timeout=3",
            "-q",
            "worker",
            "-H",
            "unix:///a.sock",
        ],
    ],
)
def test_options_after_subcommand(arguments: list[str]) -> None:
    _, _, args = parse_command_line(arguments)

    assert args.command == "join-token"
    assert args.host == "unix:///a.sock"
    assert args.timeout == 3
    assert args.verbose == 1
    assert args.quiet


def test_option_before_subcommand_kept() -> None:
    arguments = ["--demo", "-c", "ctx", "-v", "join-window", "open", "worker"]
    _, _, args = parse_command_line([*arguments, "--joins", "1"])

    assert args.demo
    assert args.context == "ctx"
    assert args.host is None
    assert args.verbose == 1
    assert args.joins == 1


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["-v", "join-token", "-v", "worker"], 2),
        (["-vv", "join-token", "worker", "-v"], 3),
        (["join-token", "-v", "-q", "worker"], 1),
        (["join-token", "worker"], 0),
        (["-v", "join-window", "-v", "open", "-v", "worker"], 3),
        (["join-window", "open", "worker", "-vv"], 2),
    ],
)
def test_verbose_counts_add_up(arguments: list[str], expected: int) -> None:
    _, _, args = parse_command_line(arguments)

    assert args.verbose == expected
    assert not any(name.startswith("verbose_after") for name in vars(args))


def test_subcommand_help_lists_engine_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["join-token", "--help"])

    out = capsys.readouterr().out
    assert "-H HOST, --host HOST" in out
    assert "--demo" in out


@pytest.mark.parametrize(
    "command", [["join-token"], ["join-window", "open", "--minutes", "5"]]
)
def test_missing_role_named_as_in_usage(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--demo", *command])
    error = capsys.readouterr().err
    assert exited.value.code == 2
    assert "ROLE" in error.splitlines()[-2]
    assert error.splitlines()[-1].endswith("the following arguments are required: ROLE")


def all_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Yield `parser` and every subcommand parser below it."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from all_parsers(child)


def test_no_parser_allows_abbreviations() -> None:
    parser, _ = build_parser()

    parsers = list(all_parsers(parser))

    assert len(parsers) > len(SUBCOMMAND_MODULES)
    assert [p.prog for p in parsers if p.allow_abbrev] == []


@pytest.mark.parametrize(
    "arguments",
    [
        ["join-token", "--r", "-q", "worker"],
        ["join-token", "--rot", "worker"],
        ["join-token", "--qui", "worker"],
        ["join-token", "--j", "worker"],
        ["--ho", "unix:///tmp/fe-none.sock", "join-token", "worker"],
        ["--time", "3", "join-token", "worker"],
        ["join-token", "--time", "3", "worker"],
        ["--ho", "unix:///tmp/fe-none.sock"],
    ],
)
def test_abbreviated_option_rejected(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_command_line(arguments)

    stderr = capsys.readouterr().err
    shortened = next(word for word in arguments if word.startswith("--"))
    assert caught.value.code == 2
    assert f"error: unknown option {shortened}; options are not shortened" in stderr


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["join-token"],
        ["check-token"],
        ["leak-response"],
        ["join-window"],
        ["join-window", "open"],
        ["join-window", "close-expired"],
        ["join-window", "close-all"],
        ["join-window", "list"],
        ["join-window", "forget"],
        ["audit"],
        ["demo-join"],
        ["demo-reset"],
        ["demo-autolock"],
    ],
    ids=lambda command: " ".join(command) or "swarmtui",
)
def test_help_fits_80_columns(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = subprocess.run(
        [sys.executable, "-m", "swarmtui", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) > 5
    assert [line for line in lines if len(line) > 80] == []
    assert "exit codes:" in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["--config", "", "join-token", "worker"],
        ["--demo", "--demo-state", " ", "join-token", "worker"],
        ["audit", "--file", ""],
    ],
)
def test_empty_path_is_usage_error(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        parse_command_line(command)
    assert raised.value.code == 2
    assert "the path is empty: give a file's path" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "path"),
    [
        (["--demo", "--demo-state", "{}/new/", "join-token", "worker"], "new/"),
        (["--demo", "--demo-state", "{}/new/.", "join-token", "worker"], "new/."),
        (["--demo", "join-token", "worker", "--demo-state", "{}/"], ""),
        (["--config", "{}/new/", "join-token", "worker"], "new/"),
        (["audit", "--file", "{}/.."], ".."),
    ],
)
def test_folder_path_is_usage_error(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: list[str],
    path: str,
) -> None:
    arguments = [word.format(tmp_path) for word in command]
    with pytest.raises(SystemExit) as raised:
        parse_command_line(arguments)
    assert raised.value.code == 2
    error = capsys.readouterr().err
    named = f"{tmp_path}/{path}"
    assert f"{named} names a folder, not a file: give a file's path" in error
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("arguments", "prog"),
    [
        (["join-token", "--rot", "worker"], "swarmtui join-token"),
        (["join-token", "--bogus", "worker"], "swarmtui join-token"),
        (["join-token", "worker", "extra"], "swarmtui join-token"),
        (["join-window", "list", "--bogus"], "swarmtui join-window list"),
        (["-H", "unix:///x.sock", "audit", "--bogus"], "swarmtui audit"),
    ],
)
def test_unknown_option_shows_subcommand_usage(
    capsys: pytest.CaptureFixture[str], arguments: list[str], prog: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_command_line(arguments)

    stderr = capsys.readouterr().err
    assert caught.value.code == 2
    assert stderr.startswith(f"usage: {prog} ")
    assert f"\n{prog}: error: " in stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--demo", "--file", "x", "join-token", "worker"],
            "swarmtui join-token: error: unknown option --file; "
            "'swarmtui join-token --help' lists the options",
        ),
        (
            ["join-token", "--file", "x", "worker"],
            "swarmtui join-token: error: unknown option --file; "
            "'swarmtui join-token --help' lists the options",
        ),
        (
            ["audit", "--rotate"],
            "swarmtui audit: error: unknown option --rotate; "
            "'swarmtui audit --help' lists the options",
        ),
        (
            ["--help-me"],
            "swarmtui: error: unknown option --help-me; 'swarmtui --help' lists "
            "the options",
        ),
    ],
)
def test_unknown_option_named_with_help(
    capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_command_line(arguments)

    assert caught.value.code == 2
    assert capsys.readouterr().err.rstrip().endswith(message)


def test_option_of_other_command_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_command_line(["--file", "x"])

    assert caught.value.code == 2
    error = capsys.readouterr().err
    assert error.rstrip().endswith(
        "swarmtui: error: --file is an option of 'swarmtui audit', not of 'swarmtui'"
    )


def test_demo_seed_too_long_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = "9" * 5000
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    with pytest.raises(SystemExit) as caught:
        main([*demo, "--demo-seed", seed, "join-token", "-q", "worker"])

    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert "has 5000 digits, more than a seed can have" in err
    assert "is not a whole number" not in err


def test_audit_limit_past_any_size(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    audit = tmp_path / "audit.jsonl"
    audit.write_text('{"time": "2026-12-01T10:00:00Z", "action": "show"}\n')
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(audit))

    code = main(["audit", "--limit", "9" * 30, "--json"])

    assert code == 0
    assert '"action": "show"' in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments",
    [["audit", "--limit"], ["join-window", "open", "worker", "--joins"]],
    ids=["audit-limit", "joins"],
)
def test_count_with_too_many_digits(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--demo", *arguments, "9" * 5000])

    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert "has 5000 digits, more than a count can have" in err
    assert "is not a whole number" not in err


@pytest.mark.parametrize("source", ["file", "environment"])
def test_audit_path_controls_escaped(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    source: str,
) -> None:
    path = tmp_path / "a\x1b]0;TITLE\x07\x1b[2Jb.jsonl"
    if source == "file":
        main(["audit", "--file", str(path)])
    else:
        monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(path))
        main(["audit"])

    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "\x07" not in err
    assert "a\\x1b]0;TITLE" in err

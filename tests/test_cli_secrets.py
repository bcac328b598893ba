"""A token typed where the CLI expected something else is never printed back."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from swarmtui.cli import main
from swarmtui.tokens import fingerprint

TOKEN = "SWMTKN-1-" + "4" * 50 + "-" + "q7" * 12 + "z"
SECRET = TOKEN.rsplit("-", 1)[1]


@pytest.mark.parametrize(
    "arguments",
    [
        ["check-token", TOKEN],
        ["join-token", TOKEN],
        ["-H", TOKEN, "join-token", "worker"],
        ["-H", f"tcp://{TOKEN}:2375", "--timeout", "1", "join-token", "worker"],
        ["-c", TOKEN, "join-token", "worker"],
        ["audit", "--since", TOKEN],
        ["leak-response", "--since", TOKEN, "--demo"],
        [TOKEN],
    ],
)
def test_misplaced_token_not_printed(
    arguments: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)

    try:
        code = main(arguments)
    except SystemExit as exit_:
        code = exit_.code

    output = capsys.readouterr()
    assert code != 0
    assert SECRET.lower() not in (output.out + output.err).lower()
    assert output.err.strip()


BREAKS = {
    "line-feed": "\n",
    "indented-line": "\n" + " " * 16,
    "soft-hyphen": "\u00ad",
    "zero-width-space": "\u200b",
    "no-break-space": "\u00a0",
    "crlf": "\r\n",
    "colour-code": "\x1b[0m",
    "grep-colour": "\x1b[01;31m\x1b[K",
}


@pytest.mark.parametrize("place", [9, 40, 70], ids=["prefix", "digest", "secret"])
@pytest.mark.parametrize("broken_by", list(BREAKS))
@pytest.mark.parametrize(
    "command",
    [
        ["audit", "--since"],
        ["join-token"],
        ["--timeout"],
        ["--demo", "demo-join", "--hostname"],
        ["join-window", "forget"],
    ],
    ids=["since", "role", "timeout", "hostname", "window-id"],
)
def test_broken_token_not_echoed(
    command: list[str],
    broken_by: str,
    place: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    broken = TOKEN[:place] + BREAKS[broken_by] + TOKEN[place:]
    arguments = [*command, broken]
    if command[0] == "--demo":
        arguments[1:1] = ["--demo-state", str(tmp_path / "demo.toml")]

    with contextlib.suppress(SystemExit):
        main(arguments)

    output = capsys.readouterr()
    printed = (output.out + output.err).lower()
    assert output.err.strip()
    for start in range(0, len(SECRET) - 8):
        assert SECRET[start : start + 8].lower() not in printed


def test_config_path_with_token_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / f"{TOKEN}.toml"
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    main(["--config", str(config), *demo, "join-token", "-q", "worker"])

    err = capsys.readouterr().err
    assert SECRET not in err
    assert fingerprint(TOKEN) in err


def test_endpoint_label_shows_token_as_fingerprint() -> None:
    from swarmtui.endpoint import EndpointChoice, resolve_endpoint

    host = f"unix:///tmp/{TOKEN}.sock"
    resolved = resolve_endpoint(EndpointChoice(host=host, environment={}))

    assert SECRET not in resolved.label
    assert fingerprint(TOKEN) in resolved.label
    assert resolved.base_url == host


async def test_console_header_shows_token_as_fingerprint(tmp_path: Path) -> None:
    from swarmtui.backends.demo import DemoBackend
    from swarmtui.service import TokenService
    from swarmtui.tui.app import SwarmConsole

    backend = DemoBackend(path=tmp_path / f"{TOKEN}.toml", seed=5)
    app = SwarmConsole(service=TokenService(backend), environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen_text = "\n".join(
            str(line.text) for line in app.screen._compositor.render_strips()
        )

    assert app.view is not None
    assert SECRET not in screen_text
    assert SECRET not in app.view.endpoint
    assert fingerprint(TOKEN) in app.view.endpoint


def test_error_message_shows_token_as_fingerprint() -> None:
    from swarmtui.errors import EndpointError

    error = EndpointError(f"The host {TOKEN!r} is invalid.", f"Not {TOKEN}.")

    assert SECRET not in str(error)
    assert SECRET not in error.message
    assert SECRET not in error.hint
    assert fingerprint(TOKEN) in error.message


def test_paths_with_token_not_printed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / TOKEN
    folder.mkdir()
    audit = folder / "audit.jsonl"
    audit.write_text("not json\n")
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("SWARMTUI_WINDOWS_FILE", str(folder / "windows.json"))
    demo = ["--demo", "--demo-state", str(folder / "demo.toml"), "--demo-seed", "2"]

    outputs = []
    for arguments in (
        ["audit", "--file", str(audit)],
        [*demo, "join-window", "list"],
        [*demo, "demo-reset"],
        [*demo, "demo-reset"],
    ):
        main(arguments)
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)

    assert "skipped 1 damaged line(s)" in outputs[0]
    assert "no join window is stored" in outputs[1]
    assert "Backed up the old demo swarm" in outputs[3]
    for output in outputs:
        assert SECRET not in output
        assert fingerprint(TOKEN) in output

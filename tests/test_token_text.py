"""Pasted token text: join commands, quotes, byte order marks, invisible characters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from demo_support import make_demo, run_cli
from textual.widgets import Input, Static
from tui_support import demo_service, fixed_clock

from swarmtui.errors import JoinRejectedError, TokenFormatError
from swarmtui.models import Role, TokenStatus
from swarmtui.tokens import extract_token, parse_token
from swarmtui.tui.app import SwarmConsole
from swarmtui.tui.screens import CheckTokenScreen

DIGEST = "1" * 50
SECRET = "a" * 25
TOKEN = f"SWMTKN-1-{DIGEST}-{SECRET}"
INVALID_TEXT = 12


@pytest.mark.parametrize(
    "pasted",
    [
        TOKEN,
        f"  {TOKEN}\r\n",
        f"'{TOKEN}'",
        f'"{TOKEN}"',
        f"\ufeff{TOKEN}",
        f"\ufeff'{TOKEN}'\n",
        f"docker swarm join --token {TOKEN} 10.0.0.1:2377",
        f"docker swarm join --token '{TOKEN}' 10.0.0.1:2377",
        f'docker swarm join --token "{TOKEN}" \\\n    10.0.0.1:2377',
        f"docker swarm join --token={TOKEN} 10.0.0.1:2377",
        f"docker swarm join 10.0.0.1:2377 {TOKEN}",
    ],
)
def test_extract_token_finds_token(pasted: str) -> None:
    assert extract_token(pasted) == TOKEN


@pytest.mark.parametrize(
    "pasted",
    [
        "docker swarm join --token",
        "docker swarm join --token  \n",
        "docker swarm join --token --advertise-addr 10.0.0.9 10.0.0.1:2377",
    ],
)
def test_extract_token_missing_value(pasted: str) -> None:
    with pytest.raises(TokenFormatError) as raised:
        extract_token(pasted)
    assert raised.value.message == "The command has no token after --token."


OTHER = f"SWMTKN-1-{DIGEST}-{'b' * 25}"


@pytest.mark.parametrize(
    "pasted",
    [
        f"docker swarm join --token {OTHER} 10.0.0.1:2377\n"
        f"docker swarm join --token {TOKEN} 10.0.0.1:2377\n",
        f"docker swarm join --token={OTHER} --token {TOKEN} 10.0.0.1:2377",
        f"docker swarm join 10.0.0.1:2377 {OTHER} {TOKEN}",
        f"docker swarm join --token {OTHER} 10.0.0.1:2377\n{TOKEN}\n",
        f"{OTHER}\n{TOKEN}\n",
        f"{OTHER} {TOKEN} {OTHER}",
    ],
)
def test_extract_token_rejects_two_tokens(pasted: str) -> None:
    with pytest.raises(TokenFormatError) as raised:
        extract_token(pasted)
    assert raised.value.message == "The text has 2 different tokens; give one."
    assert TOKEN not in str(raised.value)
    assert OTHER not in str(raised.value)


@pytest.mark.parametrize(
    "pasted",
    [
        f"docker swarm join --token {TOKEN} 10.0.0.1:2377\n" * 2,
        f"docker swarm join --token {TOKEN} --token={TOKEN} 10.0.0.1:2377",
        f"{TOKEN}\n{TOKEN}\n",
    ],
)
def test_extract_token_same_token_twice(pasted: str) -> None:
    assert extract_token(pasted) == TOKEN


def test_cli_rejects_two_join_lines(tmp_path: Path) -> None:
    state = tmp_path / "demo.toml"
    swarm = make_demo(state).inspect_swarm()
    lines = "".join(
        f"docker swarm join --token {token} 192.0.2.10:2377\n"
        for token in (TOKEN, swarm.manager_token)
    )
    result = run_cli(
        "--demo",
        "--demo-state",
        str(state),
        "check-token",
        "--json",
        stdin=lines,
        home=tmp_path,
    )
    assert result.returncode == INVALID_TEXT
    document = json.loads(result.stdout)
    assert document["status"] == "invalid"
    assert document["reason"] == "The text has 2 different tokens; give one."

    plain = run_cli(
        "--demo", "--demo-state", str(state), "check-token", stdin=lines, home=tmp_path
    )
    assert plain.returncode == INVALID_TEXT
    assert plain.stdout.splitlines()[0] == (
        "Status:       invalid: not one well-formed join token"
    )
    assert swarm.manager_token not in result.stdout + result.stderr
    audit = (tmp_path / "state" / "swarmtui" / "audit.jsonl").read_text()
    assert '"action": "check-token"' in audit


def test_unmatched_quote_is_kept() -> None:
    with pytest.raises(TokenFormatError):
        parse_token(extract_token(f"'{TOKEN}"))


@pytest.mark.parametrize(
    ("character", "code"),
    [("\u200b", "U+200B"), ("\x00", "U+0000"), ("\u2060", "U+2060")],
)
def test_invisible_character_named(character: str, code: str) -> None:
    text = TOKEN[:20] + character + TOKEN[20:]
    with pytest.raises(TokenFormatError) as raised:
        parse_token(extract_token(text))
    assert f"an invisible character ({code}) at position 21" in raised.value.message
    assert "characters; it must have" not in raised.value.message


@pytest.mark.parametrize(
    ("pasted", "where"),
    [
        (f'token: "{TOKEN}"', "before"),
        (f"worker {TOKEN}", "before"),
        (f"{TOKEN} (the worker one)", "after"),
        (f"'{TOKEN}' is the token", "after"),
        (f"token: {TOKEN} thanks", "before and after"),
    ],
)
def test_text_around_token_named(pasted: str, where: str) -> None:
    with pytest.raises(TokenFormatError) as raised:
        extract_token(pasted)

    assert raised.value.message == (
        f"The pasted text has other text {where} the token, so it is not one token."
    )
    assert "SWMTKN-..." in raised.value.hint
    assert TOKEN not in str(raised.value)


def test_whitespace_inside_still_rejected() -> None:
    with pytest.raises(TokenFormatError, match="whitespace"):
        parse_token(extract_token(TOKEN[:30] + " " + TOKEN[30:]))


def test_cli_reports_missing_token_value(tmp_path: Path) -> None:
    state = tmp_path / "demo.toml"
    make_demo(state).inspect_swarm()
    result = run_cli(
        "--demo",
        "--demo-state",
        str(state),
        "check-token",
        stdin="docker swarm join --token\n",
        home=tmp_path,
    )
    assert result.returncode == INVALID_TEXT
    assert result.stdout.startswith(
        "Status:       invalid: not one well-formed join token"
    )
    assert "The command has no token after --token." in result.stdout


def test_cli_accepts_bom_and_quotes(tmp_path: Path) -> None:
    state = tmp_path / "demo.toml"
    worker = make_demo(state).inspect_swarm().worker_token
    result = run_cli(
        "--demo",
        "--demo-state",
        str(state),
        "check-token",
        stdin=f"\ufeff'{worker}'\n",
        home=tmp_path,
    )
    assert result.returncode == 10, result.stderr
    assert worker not in result.stdout


def test_service_accepts_join_command(tmp_path: Path) -> None:
    service = demo_service(tmp_path)
    view = service.read()
    check = service.check_token(view.join_command(Role.WORKER))
    assert check.status is TokenStatus.LIVE_WORKER


def test_demo_join_accepts_join_command(tmp_path: Path) -> None:
    backend = make_demo(tmp_path / "demo.toml")
    token = backend.inspect_swarm().worker_token
    node = backend.join(f"docker swarm join --token {token} 192.0.2.1:2377", "web-9")
    assert node.hostname == "web-9"
    with pytest.raises(JoinRejectedError, match="no token after --token"):
        backend.join("docker swarm join --token", "web-10")


async def test_check_dialog_accepts_join_command(tmp_path: Path) -> None:
    service = demo_service(tmp_path)
    app = SwarmConsole(service=service, clock=fixed_clock, environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.view is not None
        command = app.view.join_command(Role.WORKER)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, CheckTokenScreen)
        app.screen.query_one("#check-input", Input).value = command
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        result = str(app.screen.query_one("#check-result", Static).content)
        assert "current worker token" in result
        assert "whitespace" not in result


# -- tokens with this swarm's CA digest that are not current -------------------


def test_made_up_secret_is_not_called_old(tmp_path: Path) -> None:
    service = demo_service(tmp_path)
    digest = service.read().ca_digest
    check = service.check_token(f"SWMTKN-1-{digest}-{'0' * 25}")
    assert check.status is TokenStatus.THIS_SWARM_UNKNOWN
    assert "not a current token of this swarm (never issued" in check.reason
    assert "old" not in check.reason


@pytest.mark.parametrize("flag", ["0", "1"])
def test_v2_form_of_current_token(tmp_path: Path, flag: str) -> None:
    service = demo_service(tmp_path)
    current = parse_token(service.read().worker_token)
    v2_form = f"SWMTKN-2-{flag}-{current.digest}-{current.secret}"
    check = service.check_token(v2_form)
    assert check.status is TokenStatus.THIS_SWARM_UNKNOWN
    assert check.live is False
    assert "version 2 form of the current worker token" in check.reason
    assert "cannot join" in check.reason


def test_demo_join_rejects_v2_form(tmp_path: Path) -> None:
    backend = make_demo(tmp_path / "demo.toml")
    current = parse_token(backend.inspect_swarm().manager_token)
    v2_form = f"SWMTKN-2-0-{current.digest}-{current.secret}"
    nodes_before = len(backend.list_nodes())
    with pytest.raises(JoinRejectedError) as raised:
        backend.join(v2_form, "web-11")
    assert "A valid join token is necessary" in raised.value.message
    assert "version 2 form of the current manager token" in raised.value.hint
    assert "secret is not a current" not in raised.value.hint
    assert len(backend.list_nodes()) == nodes_before


def test_demo_join_made_up_secret_hint(tmp_path: Path) -> None:
    backend = make_demo(tmp_path / "demo.toml")
    digest = parse_token(backend.inspect_swarm().worker_token).digest
    with pytest.raises(JoinRejectedError) as raised:
        backend.join(f"SWMTKN-1-{digest}-{'0' * 25}", "web-12")
    assert "not a current token of this swarm (never issued" in raised.value.hint


def test_cli_status_not_called_old(tmp_path: Path) -> None:
    state = tmp_path / "demo.toml"
    digest = parse_token(make_demo(state).inspect_swarm().worker_token).digest
    result = run_cli(
        "--demo",
        "--demo-state",
        str(state),
        "check-token",
        stdin=f"SWMTKN-1-{digest}-{'0' * 25}\n",
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "not live: not a current token of this swarm" in result.stdout
    assert "old token" not in result.stdout

"""A token typed where the CLI expected something else is never printed back."""

from __future__ import annotations

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


def test_config_path_with_token_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / f"{TOKEN}.toml"
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    main(["--config", str(config), *demo, "join-token", "-q", "worker"])

    err = capsys.readouterr().err
    assert SECRET not in err
    assert fingerprint(TOKEN) in err

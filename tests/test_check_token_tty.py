"""Commands on a terminal: check-token's hidden prompt, and confirmations."""

from __future__ import annotations

import json
import os
import pty
import select
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from demo_support import cli_environment, make_demo

from swarmtui.backends.demo import DemoBackend
from swarmtui.cli.check_token import (
    INVALID_TEXT,
    LIVE_MANAGER,
    LIVE_WORKER,
    ROTATION_NOT_CONFIRMED,
)
from swarmtui.tokens import fingerprint, parse_token

# A guard against a hung child, not a measurement.
READ_LIMIT_SECONDS = 60.0


class Terminal:
    """A swarmtui process whose standard streams are a pseudo-terminal."""

    def __init__(
        self,
        arguments: list[str],
        home: Path,
        stdin: Path | None = None,
        stderr: Path | None = None,
    ) -> None:
        environment = cli_environment(home, TERM="dumb")
        pid, descriptor = pty.fork()
        if pid == 0:  # the child: its controlling terminal is the pty
            try:
                if stdin is not None:
                    os.dup2(os.open(stdin, os.O_RDONLY), 0)
                if stderr is not None:
                    os.dup2(os.open(stderr, os.O_WRONLY | os.O_CREAT, 0o600), 2)
                os.execve(
                    sys.executable,
                    [sys.executable, "-m", "swarmtui", *arguments],
                    environment,
                )
            finally:
                os._exit(127)
        self.pid = pid
        self.descriptor = descriptor
        self.output = ""

    def read_until(self, text: str) -> str:
        """Read output until `text` appears; fail if the process ends first."""
        while text not in self.output:
            chunk = self._read_chunk()
            assert chunk is not None, f"exited before {text!r}: {self.output!r}"
            self.output += chunk
        return self.output

    def _read_chunk(self) -> str | None:
        ready, _, _ = select.select([self.descriptor], [], [], READ_LIMIT_SECONDS)
        assert ready, f"no output within {READ_LIMIT_SECONDS} s: {self.output!r}"
        try:
            data = os.read(self.descriptor, 4096)
        except OSError:  # EIO: the child closed the terminal
            return None
        return data.decode("utf-8", "replace") if data else None

    def write(self, text: str) -> None:
        os.write(self.descriptor, text.encode("utf-8"))

    def finish(self) -> int:
        """Read the rest of the output and return the exit code."""
        while (chunk := self._read_chunk()) is not None:
            self.output += chunk
        os.close(self.descriptor)
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "demo.toml"
    make_demo(path, seed=21).inspect_swarm()
    return path


def declined_events(state: Path) -> list[dict[str, Any]]:
    """Return the rotation-declined events of the audit file beside `state`."""
    audit = state.parent / "state" / "swarmtui" / "audit.jsonl"
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    return [event for event in events if event["action"] == "rotation-declined"]


def start(state: Path, *arguments: str, stdin: Path | None = None) -> Terminal:
    return Terminal(
        ["--demo", "--demo-state", str(state), "check-token", *arguments],
        home=state.parent,
        stdin=stdin,
    )


def test_prompt_hides_typed_token(state: Path) -> None:
    token = DemoBackend(path=state).inspect_swarm().worker_token
    terminal = start(state)
    terminal.read_until("Join token: ")
    terminal.write(token + "\n")
    code = terminal.finish()
    assert code == LIVE_WORKER, terminal.output
    assert "LIVE: current worker token" in terminal.output
    assert token not in terminal.output
    assert parse_token(token).secret not in terminal.output


def test_prompt_end_of_input_starts_new_line(state: Path) -> None:
    terminal = start(state)
    terminal.read_until("Join token: ")
    terminal.write("\x04")
    code = terminal.finish()
    assert code == INVALID_TEXT, terminal.output
    assert "Join token: \r\n" in terminal.output
    assert "Join token: Status" not in terminal.output


def test_confirmed_manager_rotation(state: Path) -> None:
    snapshot = DemoBackend(path=state).inspect_swarm()
    manager = snapshot.manager_token
    terminal = start(state, "--rotate")
    terminal.read_until("Join token: ")
    terminal.write(manager + "\n")
    question = terminal.read_until("[y/N]")
    assert f"manager token of swarm {snapshot.cluster_id[:12]} at demo:" in question
    terminal.write("y\n")
    code = terminal.finish()
    assert code == LIVE_MANAGER, terminal.output
    assert "Rotated the manager join token" in terminal.output
    assert DemoBackend(path=state).inspect_swarm().manager_token != manager
    assert manager not in terminal.output


def test_enter_typed_ahead_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from swarmtui.cli import prompt

    controller, terminal = pty.openpty()
    monkeypatch.setattr(prompt, "TERMINAL_PATH", os.ttyname(terminal))
    # An Enter pressed after a pasted token, before the question was shown.
    os.write(controller, b"\n")
    answered = threading.Event()

    def answer_after_question() -> None:
        shown = b""
        while b"[y/N]" not in shown:
            shown += os.read(controller, 1024)
        os.write(controller, b"y\n")
        answered.set()

    threading.Thread(target=answer_after_question, daemon=True).start()
    try:
        assert prompt.ask_yes_no("Rotate? [y/N] ") is True
        assert answered.is_set()
    finally:
        os.close(controller)
        os.close(terminal)


@pytest.mark.parametrize("answer", ["n\n", "\n", "maybe\n"])
def test_declined_manager_rotation(state: Path, answer: str) -> None:
    manager = DemoBackend(path=state).inspect_swarm().manager_token
    before = state.read_bytes()
    terminal = start(state, "--rotate")
    terminal.read_until("Join token: ")
    terminal.write(manager + "\n")
    terminal.read_until("[y/N]")
    terminal.write(answer)
    code = terminal.finish()
    assert code == ROTATION_NOT_CONFIRMED, terminal.output
    assert "not rotated" in terminal.output
    assert state.read_bytes() == before
    declined = declined_events(state)
    assert len(declined) == 1
    assert declined[0]["request"] == "rotate-checked-token"
    assert declined[0]["role"] == "manager"
    assert declined[0]["result"] == "declined"


@pytest.mark.parametrize(("answer", "rotated"), [("y\n", True), ("n\n", False)])
def test_piped_token_confirms_on_terminal(
    state: Path, answer: str, rotated: bool
) -> None:
    manager = DemoBackend(path=state).inspect_swarm().manager_token
    token_file = state.parent / "token.txt"
    token_file.write_text(manager + "\n")
    terminal = start(state, "--rotate", stdin=token_file)
    terminal.read_until("[y/N]")
    terminal.write(answer)
    code = terminal.finish()
    after = DemoBackend(path=state).inspect_swarm().manager_token
    if rotated:
        assert code == LIVE_MANAGER, terminal.output
        assert after != manager
    else:
        assert code == ROTATION_NOT_CONFIRMED, terminal.output
        assert after == manager
    assert "Join token: " not in terminal.output
    assert "no terminal" not in terminal.output
    assert manager not in terminal.output


def test_leak_response_confirms_on_terminal(state: Path) -> None:
    before = DemoBackend(path=state).inspect_swarm()
    empty = state.parent / "empty.txt"
    empty.write_text("")
    terminal = Terminal(
        ["--demo", "--demo-state", str(state), "leak-response", "--since", "1h"],
        home=state.parent,
        stdin=empty,
    )
    terminal.read_until("[y/N]")
    terminal.write("y\n")
    code = terminal.finish()
    after = DemoBackend(path=state).inspect_swarm()
    assert code == 0, terminal.output
    assert after.worker_token != before.worker_token
    assert after.manager_token != before.manager_token
    assert "no terminal" not in terminal.output


def test_question_on_terminal_stderr_redirected(state: Path) -> None:
    before = DemoBackend(path=state).inspect_swarm()
    log = state.parent / "stderr.log"
    terminal = Terminal(
        ["--demo", "--demo-state", str(state), "leak-response", "--since", "1h"],
        home=state.parent,
        stderr=log,
    )
    terminal.read_until("[y/N]")
    terminal.write("n\n")
    code = terminal.finish()

    assert code == 1, terminal.output
    assert "[y/N]" not in log.read_text()
    assert DemoBackend(path=state).inspect_swarm().worker_token == before.worker_token
    declined = declined_events(state)
    assert len(declined) == 1
    assert declined[0]["request"] == "leak-response"
    assert declined[0]["role"] == "manager+worker"
    assert declined[0]["fingerprints"]["worker"] == fingerprint(before.worker_token)

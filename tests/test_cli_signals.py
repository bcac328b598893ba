"""Quit signals in the CLI: an audit event is written whole before one acts."""

from __future__ import annotations

import importlib.abc
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import swarmtui.cli
import swarmtui.cli.output
from swarmtui import launch
from swarmtui.audit import AuditLog
from swarmtui.cli import (
    QUIT_SIGNALS,
    QuitSignal,
    deferred_quit_signals,
    main,
    quit_signals_interrupt,
)


@pytest.fixture(autouse=True)
def default_quit_signals() -> Iterator[None]:
    """Run each test with the quit signals' default handlers, then restore them.

    pytest may run with SIGINT ignored, as a background job of a script
    does, and the command line leaves an ignored signal ignored.
    """
    saved = {signum: signal.getsignal(signum) for signum in QUIT_SIGNALS}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.fixture
def restored_signal_handlers() -> Iterator[None]:
    """Restore the quit signals' handlers, which an interrupted start-up ignores."""
    saved = {signum: signal.getsignal(signum) for signum in QUIT_SIGNALS}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_deferred_signal_raised_after_block() -> None:
    steps: list[str] = []
    with quit_signals_interrupt(), pytest.raises(QuitSignal) as caught:
        with deferred_quit_signals():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("after the signal")
        steps.append("after the block")

    assert steps == ["after the signal"]
    assert caught.value.signum == signal.SIGINT


def test_signal_outside_deferral_raised_at_once() -> None:
    steps: list[str] = []
    with quit_signals_interrupt(), pytest.raises(QuitSignal):
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("after the signal")

    assert steps == []


def test_sigterm_during_audit_write_keeps_record(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    audit_file = tmp_path / "audit.jsonl"
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(audit_file))
    original = AuditLog.event

    def event(self: AuditLog, action: str, **fields: Any) -> dict[str, Any]:
        if action == "rotate":
            # The handler runs before the next line, between building the
            # event and writing it.
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, action, **fields)

    monkeypatch.setattr(AuditLog, "event", event)
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml"), "--demo-seed", "3"]

    code = main([*demo, "join-token", "--rotate", "-q", "worker"])

    captured = capsys.readouterr()
    events = [json.loads(line) for line in audit_file.read_text().splitlines()]
    assert code == 128 + signal.SIGTERM
    assert [item["action"] for item in events] == ["rotate"]
    assert events[0]["result"] == "ok"
    assert captured.out == ""
    assert "stopped by SIGTERM after the rotation took effect" in captured.err
    assert "its audit record was written" in captured.err
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_two_signals_at_once_raise_one_quit_signal() -> None:
    both = {signal.SIGTERM, signal.SIGINT}
    with quit_signals_interrupt():
        with pytest.raises(QuitSignal):
            signal.pthread_sigmask(signal.SIG_BLOCK, both)
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGINT)
            finally:
                # Both are pending now and their handlers run one after the
                # other, as when two signals arrive at once.
                signal.pthread_sigmask(signal.SIG_UNBLOCK, both)
            time.sleep(0.05)
        # The second handler runs at a later check and must not raise
        # OSError ("Signal 15 ignored due to race condition").
        for _ in range(3):
            time.sleep(0.01)


def interrupt(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


@pytest.mark.usefixtures("restored_signal_handlers")
@pytest.mark.parametrize(
    "command", [["join-token", "worker"], []], ids=["subcommand", "console"]
)
def test_interrupt_while_parser_built(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(swarmtui.cli, "build_parser", interrupt)

    code = main(["--demo", "--demo-state", str(tmp_path / "demo.toml"), *command])

    captured = capsys.readouterr()
    assert code == 130
    assert captured.err == "swarmtui: interrupted\n"
    assert captured.out == ""


@pytest.mark.usefixtures("restored_signal_handlers")
def test_quit_signal_before_subcommand_runs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def stopped() -> None:
        raise QuitSignal(signal.SIGTERM)

    monkeypatch.setattr(swarmtui.cli.output, "guard_stdout", stopped)
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    code = main([*demo, "join-token", "worker"])

    captured = capsys.readouterr()
    assert code == 128 + signal.SIGTERM
    assert captured.err == "swarmtui: stopped by SIGTERM\n"
    assert captured.out == ""


class InterruptingFinder(importlib.abc.MetaPathFinder):
    """Raise KeyboardInterrupt on an import of swarmtui.cli, as Ctrl+C there would."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname == "swarmtui.cli":
            raise KeyboardInterrupt
        return None


@pytest.mark.usefixtures("restored_signal_handlers")
def test_launcher_interrupted_during_import(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(sys.modules, "swarmtui.cli")
    monkeypatch.setattr(sys, "meta_path", [InterruptingFinder(), *sys.meta_path])

    code = launch.main()

    captured = capsys.readouterr()
    assert code == 130
    assert captured.err == "swarmtui: interrupted\n"
    assert captured.out == ""


def test_signals_ignored_after_command_ends_process(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restored_signal_handlers: None,
) -> None:
    monkeypatch.setattr(swarmtui.cli, "ENDS_PROCESS", True)
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml"), "--demo-seed", "3"]

    code = main([*demo, "join-token", "--rotate", "-q", "worker"])

    # A kill between the command's end and the process's end is ignored.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.05)
    assert code == 0
    assert capsys.readouterr().out.startswith("SWMTKN-1-")
    for signum in QUIT_SIGNALS:
        assert signal.getsignal(signum) is swarmtui.cli._ignore_quit_signal


def test_launch_marks_process_end(
    monkeypatch: pytest.MonkeyPatch, restored_signal_handlers: None
) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(swarmtui.cli, "ENDS_PROCESS", False)
    monkeypatch.setattr(
        swarmtui.cli, "main", lambda: seen.append(swarmtui.cli.ENDS_PROCESS) or 0
    )

    assert launch.main() == 0
    assert seen == [True]
    # Python puts back the default action of signals with Python handlers
    # as it shuts down, but leaves SIG_IGN.
    for signum in QUIT_SIGNALS:
        assert signal.getsignal(signum) == signal.SIG_IGN

"""Quit signals in the CLI: an audit event is written whole before one acts."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from swarmtui.audit import AuditLog
from swarmtui.cli import QuitSignal, deferred_quit_signals, main, quit_signals_interrupt


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

"""A rotation hands its result to `announce` before it writes its records.

The console shows the new token from `announce`, so the screen does not wait
for the token history and the audit record, which are written with fsync.
"""

from __future__ import annotations

import copy
import itertools
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tui_support import (
    DelegatingBackend,
    HangingUpdateBackend,
    RecordingAudit,
    demo_backend,
)

from swarmtui.audit import AuditLog
from swarmtui.errors import RotationVerifyError
from swarmtui.history import FileTokenHistory
from swarmtui.models import Role, RotationResult
from swarmtui.service import AbandonedRotation, TokenService
from swarmtui.tui import run as run_module
from swarmtui.tui.app import SwarmConsole
from swarmtui.windows import CLOSE_ACTION, CloseReason, close_window, open_window


def make_service(tmp_path: Path, backend: Any = None) -> TokenService:
    return TokenService(
        backend or demo_backend(tmp_path),
        audit=RecordingAudit(),
        history=FileTokenHistory(tmp_path / "history.json"),
    )


def test_announce_comes_before_history_and_audit(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    audit = service.audit
    assert isinstance(audit, RecordingAudit)
    before = service.read()
    old = before.worker_fingerprint
    seen: list[tuple[RotationResult, Any, list[str]]] = []

    def announce(result: RotationResult) -> None:
        retired = service.history.lookup(before.cluster_id, old)
        seen.append((result, retired, audit.actions()))

    result = service.rotate([Role.WORKER], expected=before, announce=announce)

    assert len(seen) == 1
    announced, retired_then, actions_then = seen[0]
    assert announced is result
    assert announced.after.worker_fingerprint != old
    assert retired_then is None
    assert actions_then == []
    assert service.history.lookup(before.cluster_id, old) is not None
    assert audit.actions() == ["rotate"]
    assert audit.events[0][1]["result"] == "ok"


def test_records_written_when_announce_raises(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    audit = service.audit
    assert isinstance(audit, RecordingAudit)
    before = service.read()

    def announce(result: RotationResult) -> None:
        raise RuntimeError("the screen is gone")

    with pytest.raises(RuntimeError, match="the screen is gone"):
        service.rotate([Role.WORKER], expected=before, announce=announce)

    after = service.read()
    assert after.worker_fingerprint != before.worker_fingerprint
    retired = service.history.lookup(before.cluster_id, before.worker_fingerprint)
    assert retired is not None and retired[0] is Role.WORKER
    assert audit.actions() == ["rotate"]
    assert audit.events[0][1]["result"] == "ok"


class IgnoredUpdateBackend(DelegatingBackend):
    """Accepts every update and applies none of them."""

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        return None


def test_unverified_rotation_is_not_announced(tmp_path: Path) -> None:
    service = make_service(tmp_path, IgnoredUpdateBackend(demo_backend(tmp_path)))
    audit = service.audit
    assert isinstance(audit, RecordingAudit)
    before = service.read()
    announced: list[RotationResult] = []

    with pytest.raises(RotationVerifyError, match="worker token did not change"):
        service.rotate([Role.WORKER], expected=before, announce=announced.append)

    assert announced == []
    assert audit.actions() == ["rotate"]
    assert audit.events[0][1]["result"] == "failed"
    # The token did not change, so it is still current, not retired.
    assert service.history.lookup(before.cluster_id, before.worker_fingerprint) is None


class BlockingHistory(FileTokenHistory):
    """A token history whose writes wait until `release` is set."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.release = threading.Event()
        self.entered = threading.Event()

    def update(self, cluster_id: str, **changes: Any) -> None:
        if changes.get("retired"):
            self.entered.set()
            self.release.wait(timeout=30)
        super().update(cluster_id, **changes)


async def test_console_exit_waits_for_records(tmp_path: Path) -> None:
    history = BlockingHistory(tmp_path / "history.json")
    audit = RecordingAudit()
    service = TokenService(demo_backend(tmp_path), audit=audit, history=history)
    app = SwarmConsole(service=service, environment={})
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.view is not None
            before = app.view.worker_fingerprint
            await pilot.press("w", "r")
            for _ in range(100):
                if app.view.worker_fingerprint != before:
                    break
                await pilot.pause(0.05)
            assert app.view.worker_fingerprint != before
            assert audit.actions() == []
        assert not app.wait_for_records(0.1)
    finally:
        history.release.set()

    assert app.wait_for_records(10)
    assert audit.actions() == ["rotate"]
    assert history.lookup(app.view.cluster_id, before) is not None


class ScreenCheckingHistory(FileTokenHistory):
    """A token history that notes the console's worker fingerprint at each write."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.app: SwarmConsole | None = None
        self.fingerprints_at_write: list[str | None] = []

    def update(self, cluster_id: str, **changes: Any) -> None:
        assert self.app is not None
        view = self.app.view
        fingerprint = None if view is None else view.worker_fingerprint
        self.fingerprints_at_write.append(fingerprint)
        super().update(cluster_id, **changes)


async def test_console_records_after_token_drawn(tmp_path: Path) -> None:
    # Writing the records while the UI thread draws the new token made the
    # two threads take turns at the GIL, so the worker waits for that frame.
    history = ScreenCheckingHistory(tmp_path / "history.json")
    audit = RecordingAudit()
    service = TokenService(demo_backend(tmp_path), audit=audit, history=history)
    app = SwarmConsole(service=service, environment={})
    history.app = app
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.view is not None
        before = app.view.worker_fingerprint
        history.fingerprints_at_write.clear()
        await pilot.press("w", "r")
        for _ in range(100):
            if audit.actions():
                break
            await pilot.pause(0.05)
        assert audit.actions() == ["rotate"]
        new = app.view.worker_fingerprint
        assert new != before
        assert history.fingerprints_at_write
        assert set(history.fingerprints_at_write) == {new}
        assert app.wait_for_records(5)


async def test_audit_notice_follows_rotation_notice(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    # The audit folder is a plain file, so each record fails to be written.
    audit = AuditLog(blocker / "audit.jsonl", environment={})
    service = TokenService(demo_backend(tmp_path), audit=audit)
    app = SwarmConsole(service=service, environment={})
    titles: list[str] = []
    original = app.notify

    def notify(message: str, **options: Any) -> None:
        titles.append(str(options.get("title", "")))
        original(message, **options)

    app.notify = notify  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("w", "r")
        for _ in range(100):
            if len(titles) >= 2:
                break
            await pilot.pause(0.05)

    assert "Token rotated" in titles
    assert "Audit record not written" in titles
    assert titles.index("Token rotated") < titles.index("Audit record not written")


def records_written_after_run(
    app: SwarmConsole, written: Path, before: Callable[[], None] = lambda: None
) -> Callable[[], int]:
    """Return a stand-in for app.run whose rotation records are written 0.3 s later.

    The records thread calls `before` first, then writes "done" to `written`.
    """

    def run() -> int:
        app._records_written.clear()

        def write() -> None:
            before()
            time.sleep(0.3)
            written.write_text("done")
            app._records_written.set()

        threading.Thread(target=write, daemon=True).start()
        return 0

    return run


def test_run_app_waits_for_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = SwarmConsole(service=TokenService(demo_backend(tmp_path)), environment={})
    written = tmp_path / "written"
    run = records_written_after_run(app, written)

    monkeypatch.setattr(app, "run", run)

    assert run_module._run_app(app) == 0
    assert written.read_text() == "done"
    assert "audit record" not in capsys.readouterr().err


def test_run_app_reports_unwritten_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = SwarmConsole(service=TokenService(demo_backend(tmp_path)), environment={})

    def run() -> int:
        app._records_written.clear()
        return 0

    monkeypatch.setattr(app, "run", run)
    monkeypatch.setattr(run_module, "RECORDS_WAIT_SECONDS", 0.1)

    assert run_module._run_app(app) == 0
    err = capsys.readouterr().err
    assert "audit record of the last rotation were written" in err
    assert "SWMTKN" not in err


@pytest.mark.parametrize("action", ["rotate", "rotate-checked-token"])
def test_run_app_records_unstarted_rotation(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    action: str,
) -> None:
    audit = RecordingAudit()
    service = TokenService(demo_backend(tmp_path), audit=audit)
    before = service.read()
    app = SwarmConsole(service=service, environment={})

    def run() -> int:
        # r then q in one burst: the exit came before the worker thread ran.
        app._unstarted_rotation = (Role.WORKER, before, action)
        return 0

    monkeypatch.setattr(app, "run", run)

    assert run_module._run_app(app) == 0
    err = capsys.readouterr().err
    assert (
        "the rotation of the worker token was stopped before the update was "
        "sent, so nothing was rotated" in err
    )
    assert audit.actions() == [action]
    fields = audit.events[0][1]
    assert fields["result"] == "failed"
    assert fields["error"] == "Abandoned at exit"
    assert fields["old_fingerprints"] == {"worker": before.worker_fingerprint}
    assert service.read().worker_fingerprint == before.worker_fingerprint


async def test_cancelled_rotation_worker_rotates_nothing(tmp_path: Path) -> None:
    audit = RecordingAudit()
    service = TokenService(demo_backend(tmp_path), audit=audit)
    app = SwarmConsole(service=service, environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.view is not None
        before = app.view.worker_fingerprint
        # The exit takes the request between the key and the worker thread.
        original = app.take_unstarted_rotation

        def taken_first() -> Any:
            original()
            return None

        app.take_unstarted_rotation = taken_first  # type: ignore[method-assign]
        await pilot.press("w", "r")
        await app.workers.wait_for_complete()
        await pilot.pause()

    assert audit.actions() == []
    assert service.read().worker_fingerprint == before


class SlowFirstHistory(FileTokenHistory):
    """A token history whose first rotation record takes 0.1 s to write."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.slowed = False

    def update(self, cluster_id: str, **changes: Any) -> None:
        if changes.get("retired") and not self.slowed:
            self.slowed = True
            time.sleep(0.1)
        super().update(cluster_id, **changes)


async def test_quick_rotations_recorded_in_order(tmp_path: Path) -> None:
    audit = RecordingAudit()
    history = SlowFirstHistory(tmp_path / "history.json")
    service = TokenService(demo_backend(tmp_path), audit=audit, history=history)
    app = SwarmConsole(service=service, environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("w")
        for _ in range(5):
            assert app.view is not None
            before_press = app.view.worker_fingerprint
            await pilot.press("r")
            # The next key follows the new token on screen, well within the
            # time the previous worker waits before writing its records.
            for _ in range(200):
                if app.view.worker_fingerprint != before_press:
                    break
                await pilot.pause(0.005)
        await app.workers.wait_for_complete()
        assert app.wait_for_records(5)
        await pilot.pause()

    rotations = [fields for action, fields in audit.events if action == "rotate"]
    assert len(rotations) == 5
    for earlier, later in itertools.pairwise(rotations):
        assert later["old_fingerprints"] == earlier["new_fingerprints"]
    current = service.read().worker_fingerprint
    assert rotations[-1]["new_fingerprints"] == {"worker": current}


class InterruptedHistory(FileTokenHistory):
    """A token history whose rotation records are stopped by Ctrl+C."""

    def update(self, cluster_id: str, **changes: Any) -> None:
        if changes.get("retired"):
            raise KeyboardInterrupt
        super().update(cluster_id, **changes)


def test_interrupted_history_still_audited(tmp_path: Path) -> None:
    audit = RecordingAudit()
    history = InterruptedHistory(tmp_path / "history.json")
    service = TokenService(demo_backend(tmp_path), audit=audit, history=history)
    before = service.read()

    with pytest.raises(KeyboardInterrupt):
        service.rotate([Role.WORKER], expected=before)

    assert audit.actions() == ["rotate"]
    assert audit.events[0][1]["result"] == "ok"
    assert service.interrupted_after_rotation


def test_sigterm_while_records_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = SwarmConsole(service=TokenService(demo_backend(tmp_path)), environment={})
    written = tmp_path / "written"
    run = records_written_after_run(
        app, written, before=lambda: os.kill(os.getpid(), signal.SIGTERM)
    )

    monkeypatch.setattr(app, "run", run)

    assert run_module._run_app(app) == 128 + signal.SIGTERM
    assert written.read_text() == "done"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def start_rotation(service: TokenService, view: Any) -> None:
    service.rotate([Role.MANAGER], expected=view)


def start_window_close(service: TokenService, view: Any) -> None:
    window, _ = open_window(service, Role.MANAGER, minutes=5)
    close_window(service, window, CloseReason.BY_USER)


@pytest.mark.parametrize(
    ("start", "action"),
    [(start_rotation, "rotate"), (start_window_close, CLOSE_ACTION)],
)
def test_abandoned_rotation_audited(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    start: Callable[[TokenService, Any], None],
    action: str,
) -> None:
    audit = RecordingAudit()
    backend = HangingUpdateBackend(demo_backend(tmp_path))
    service = TokenService(backend, audit=audit)
    app = SwarmConsole(service=service, environment={})
    monkeypatch.setattr(run_module, "IDLE_WAIT_SECONDS", 0.1)

    def run() -> int:
        # The rotation blocks in its update when the console quits.
        assert app.worker_executor is not None
        app.view = service.read()
        app.worker_executor.submit(start, service, app.view)
        assert backend.entered.wait(10)
        return 0

    monkeypatch.setattr(app, "run", run)
    try:
        assert run_module._run_app(app) == 0
    finally:
        backend.release.set()

    recorded, fields = audit.events[-1]
    assert recorded == action
    assert fields["result"] == "unknown"
    assert fields["error"] == "Abandoned at exit"
    assert fields["role"] == "manager"
    assert fields["cluster_id"] == app.view.cluster_id
    err = capsys.readouterr().err
    assert "the rotation of the manager token was still waiting for the engine" in err
    assert "SWMTKN" not in err


class EngineHangingUpdate(HangingUpdateBackend):
    """A demo swarm with autolock on, named as an engine reached with -H."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        snapshot = inner.inspect_swarm()
        spec = copy.deepcopy(snapshot.spec)
        spec.setdefault("EncryptionConfig", {})["AutoLockManagers"] = True
        inner.update_swarm(snapshot.version, spec)

    @property
    def docker_cli(self) -> str:
        return "docker -H unix:///run/x.sock"


def test_abandoned_unlock_rotation_names_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = EngineHangingUpdate(demo_backend(tmp_path))
    service = TokenService(backend, audit=RecordingAudit())
    app = SwarmConsole(service=service, environment={})
    monkeypatch.setattr(run_module, "IDLE_WAIT_SECONDS", 0.1)

    def run() -> int:
        # The unlock key rotation blocks in its update when the console quits.
        assert app.worker_executor is not None
        app.worker_executor.submit(service.rotate_unlock_key)
        assert backend.entered.wait(10)
        return 0

    monkeypatch.setattr(app, "run", run)
    try:
        assert run_module._run_app(app) == 0
    finally:
        backend.release.set()

    err = capsys.readouterr().err
    assert "the rotation of the unlock key was still waiting" in err
    assert "compare 'docker -H unix:///run/x.sock swarm unlock-key -q'" in err


def test_abandoned_read_not_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = RecordingAudit()
    app = SwarmConsole(
        service=TokenService(demo_backend(tmp_path), audit=audit), environment={}
    )
    release = threading.Event()
    monkeypatch.setattr(run_module, "IDLE_WAIT_SECONDS", 0.1)

    def run() -> int:
        assert app.worker_executor is not None
        app.worker_executor.submit(release.wait, 30)
        return 0

    monkeypatch.setattr(app, "run", run)
    try:
        assert run_module._run_app(app) == 0
    finally:
        release.set()

    assert audit.events == []
    err = capsys.readouterr().err
    assert "an engine call was still running" in err
    assert "rotation" not in err


def test_finished_rotation_not_abandoned(tmp_path: Path) -> None:
    audit = RecordingAudit()
    service = TokenService(demo_backend(tmp_path), audit=audit)
    service.rotate([Role.WORKER])

    assert service.record_abandoned_rotations() == []
    assert [fields["result"] for _, fields in audit.events] == ["ok"]


def abandoned_while_blocked(
    service: TokenService, stall: Any, call: Callable[[], Any]
) -> list[AbandonedRotation]:
    """Return what the exit path records while `call` is blocked on `stall`.

    `call` runs in a thread. `stall` has the events `entered` and `release`,
    and the thread ends once it is released.
    """
    worker = threading.Thread(target=call)
    worker.start()
    try:
        assert stall.entered.wait(10)
        return service.record_abandoned_rotations()
    finally:
        stall.release.set()
        worker.join(10)
        assert not worker.is_alive()


def test_confirmed_rotation_recorded_once_at_exit(tmp_path: Path) -> None:
    audit = RecordingAudit()
    history = BlockingHistory(tmp_path / "history.json")
    service = TokenService(demo_backend(tmp_path), audit=audit, history=history)
    before = service.read()

    recorded = abandoned_while_blocked(
        service, history, lambda: service.rotate([Role.WORKER])
    )

    assert recorded == [AbandonedRotation("ok", "the worker token")]
    assert audit.actions() == ["rotate"]
    fields = audit.events[0][1]
    assert fields["result"] == "ok"
    assert fields["old_fingerprints"] == {"worker": before.worker_fingerprint}
    assert fields["new_fingerprints"]["worker"] != before.worker_fingerprint
    assert service.record_abandoned_rotations() == []


class HangingRead(DelegatingBackend):
    """Blocks in inspect_swarm once `hang` is set, until `release` is set."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.hang = False
        self.release = threading.Event()
        self.entered = threading.Event()

    def inspect_swarm(self) -> Any:
        if self.hang:
            self.entered.set()
            self.release.wait(timeout=60)
        return super().inspect_swarm()


def test_rotation_before_update_recorded_failed(tmp_path: Path) -> None:
    audit = RecordingAudit()
    backend = HangingRead(demo_backend(tmp_path))
    service = TokenService(backend, audit=audit)
    seen = service.read()
    backend.hang = True

    recorded = abandoned_while_blocked(
        service, backend, lambda: service.rotate([Role.MANAGER], expected=seen)
    )

    assert recorded == [AbandonedRotation("failed", "the manager token")]
    # The rotation went on once released; its own record was not written.
    assert audit.actions() == ["rotate"]
    fields = audit.events[0][1]
    assert fields["result"] == "failed"
    assert fields["error"] == "Abandoned at exit"
    assert fields["cluster_id"] == seen.cluster_id


class HangingNodeList(DelegatingBackend):
    """Blocks in list_nodes until `release` is set, or raises KeyboardInterrupt."""

    def __init__(self, inner: Any, interrupt: bool = False) -> None:
        super().__init__(inner)
        self.interrupt = interrupt
        self.release = threading.Event()
        self.entered = threading.Event()

    def list_nodes(self) -> Any:
        if self.interrupt:
            raise KeyboardInterrupt
        self.entered.set()
        self.release.wait(timeout=60)
        return super().list_nodes()


def test_leak_response_recorded_when_nodes_hang(tmp_path: Path) -> None:
    audit = RecordingAudit()
    backend = HangingNodeList(demo_backend(tmp_path))
    service = TokenService(backend, audit=audit)
    since = datetime.now(UTC) - timedelta(hours=1)

    recorded = abandoned_while_blocked(
        service, backend, lambda: service.respond_to_leak(since)
    )

    assert recorded == [AbandonedRotation("ok", "both join tokens")]
    assert audit.actions() == ["leak-response"]
    fields = audit.events[0][1]
    assert fields["result"] == "ok"
    assert set(fields["new_fingerprints"]) == {"manager", "worker"}
    assert fields["nodes_error"] == "Not listed: stopped first"
    assert fields["since"] == since


def test_leak_response_interrupted_listing_recorded(tmp_path: Path) -> None:
    audit = RecordingAudit()
    service = TokenService(HangingNodeList(demo_backend(tmp_path), True), audit=audit)
    before = service.read()

    with pytest.raises(KeyboardInterrupt):
        service.respond_to_leak(datetime.now(UTC) - timedelta(hours=1))

    assert service.interrupted_after_rotation
    assert audit.actions() == ["leak-response"]
    fields = audit.events[0][1]
    assert fields["result"] == "ok"
    assert fields["old_fingerprints"]["worker"] == before.worker_fingerprint
    assert fields["new_fingerprints"]["worker"] != before.worker_fingerprint


WORKER_OK = AbandonedRotation("ok", "the worker token")
MANAGER_UNKNOWN = AbandonedRotation("unknown", "the manager token")
KEY_UNKNOWN = AbandonedRotation("unknown", "the unlock key")
WORKER_FAILED = AbandonedRotation("failed", "the worker token")


@pytest.mark.parametrize(
    ("records_written", "idle", "abandoned", "expected"),
    [
        (True, True, [], []),
        (True, False, [], ["an engine call was still running"]),
        (False, True, [], ["before the token history and the audit record"]),
        (
            False,
            False,
            [WORKER_OK],
            ["the rotation of the worker token took effect as the console quit"],
        ),
        (
            True,
            False,
            [MANAGER_UNKNOWN],
            ["the rotation of the manager token was still waiting for the engine"],
        ),
        (
            True,
            False,
            [WORKER_FAILED],
            ["the rotation of the worker token was stopped before the update"],
        ),
        (
            True,
            False,
            [KEY_UNKNOWN],
            [
                "unlock key was still waiting for the engine when the console quit, "
                "and was abandoned. To learn whether it took effect, compare"
            ],
        ),
        (
            True,
            False,
            [MANAGER_UNKNOWN],
            ["whether a token rotation took effect when it first reads the swarm."],
        ),
        (
            True,
            False,
            [WORKER_OK, MANAGER_UNKNOWN, KEY_UNKNOWN],
            [
                "the rotation of the worker token took effect",
                "the rotations of the manager token and the unlock key were still",
            ],
        ),
    ],
)
def test_exit_notes(
    records_written: bool,
    idle: bool,
    abandoned: list[AbandonedRotation],
    expected: list[str],
) -> None:
    notes = run_module.exit_notes(records_written, idle, abandoned)

    assert len(notes) == len(expected)
    for note, phrase in zip(notes, expected, strict=True):
        assert phrase in note


def test_exit_notes_name_engine_options() -> None:
    notes = run_module.exit_notes(
        True, False, [WORKER_OK, KEY_UNKNOWN], "docker --context prod"
    )

    assert len(notes) == 2
    assert "compare 'docker --context prod swarm unlock-key -q'" in notes[1]

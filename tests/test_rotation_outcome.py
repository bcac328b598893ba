"""A rotation whose update fails is judged by reading the swarm afterwards.

The engine may apply an update and then time out or drop the connection
before it replies, so a failed update is not proof that nothing changed.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from demo_support import Clock
from textual.widgets import Static
from tui_support import FIXED_NOW, DelegatingBackend, RecordingAudit, demo_backend

from swarmtui.config import Settings
from swarmtui.errors import (
    EngineError,
    ManagerNotReadyError,
    RequestTimeoutError,
    RotationOutcomeUnknownError,
    SwarmTuiError,
)
from swarmtui.models import Role, SwarmSnapshot
from swarmtui.service import TokenService, token_names
from swarmtui.tui.app import SwarmConsole
from swarmtui.unlock import unlock_key_fingerprint

TIMEOUT = RequestTimeoutError(
    "The engine at demo did not respond within 3 seconds.", "Retry."
)


class FailingUpdateBackend(DelegatingBackend):
    """Fails each update with TIMEOUT, after applying it when `applies` is set.

    With `read_fails`, every swarm read after the failed update fails too.
    """

    def __init__(
        self,
        inner: Any,
        *,
        applies: bool,
        read_fails: bool = False,
        error: SwarmTuiError = TIMEOUT,
    ) -> None:
        super().__init__(inner)
        self.applies = applies
        self.read_fails = read_fails
        self.error = error
        self.failed = False

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        if self.applies:
            super().update_swarm(version, spec, **flags)
        self.failed = True
        raise self.error

    def inspect_swarm(self) -> SwarmSnapshot:
        if self.failed and self.read_fails:
            raise RequestTimeoutError("The engine did not respond.", "Retry.")
        return super().inspect_swarm()


def make_service(tmp_path: Path, **options: Any) -> tuple[TokenService, RecordingAudit]:
    audit = RecordingAudit()
    backend = FailingUpdateBackend(demo_backend(tmp_path), **options)
    return TokenService(backend, audit=audit), audit


def results(audit: RecordingAudit) -> list[Any]:
    return [fields.get("result") for _, fields in audit.events]


def test_applied_update_counts_as_rotated(tmp_path: Path) -> None:
    service, audit = make_service(tmp_path, applies=True)
    before = service.read()

    result = service.rotate([Role.WORKER], expected=before)

    assert result.after.worker_token != before.worker_token
    assert result.after.manager_token == before.manager_token
    assert service.read().worker_token == result.after.worker_token
    assert results(audit) == ["ok"]


REJECTED = EngineError("The engine rejected the update (500): boom.", "Retry.")


def test_rejected_update_raises_its_error(tmp_path: Path) -> None:
    service, audit = make_service(tmp_path, applies=False, error=REJECTED)
    before = service.read()

    with pytest.raises(EngineError) as caught:
        service.rotate([Role.WORKER], expected=before)

    assert caught.value is REJECTED
    assert service.read().worker_token == before.worker_token
    assert results(audit) == ["failed"]


def test_lost_leader_unchanged_update_is_unknown(tmp_path: Path) -> None:
    lost = ManagerNotReadyError("The managers may have lost quorum.", "Retry.")
    lost.update_may_apply = True
    service, audit = make_service(tmp_path, applies=False, error=lost)
    before = service.read()

    with pytest.raises(RotationOutcomeUnknownError) as caught:
        service.rotate([Role.WORKER], expected=before)

    assert "Rotating the worker token failed (The managers" in str(caught.value)
    assert "may still apply the update" in str(caught.value)
    assert results(audit) == ["unknown"]


def test_timed_out_unchanged_update_is_unknown(tmp_path: Path) -> None:
    # Managers that lost quorum apply a timed-out update once it returns.
    service, audit = make_service(tmp_path, applies=False)
    before = service.read()

    with pytest.raises(RotationOutcomeUnknownError) as caught:
        service.rotate([Role.WORKER], expected=before)

    message = str(caught.value)
    assert "timed out (The engine at demo did not respond within 3 seconds)" in message
    assert "may still apply the update" in message
    assert f"(worker {before.worker_fingerprint}) means it took effect" in message
    assert service.read().worker_token == before.worker_token
    assert results(audit) == ["unknown"]


@pytest.mark.parametrize("applies", [True, False])
def test_unreadable_swarm_makes_outcome_unknown(tmp_path: Path, applies: bool) -> None:
    service, audit = make_service(tmp_path, applies=applies, read_fails=True)
    before = service.read()

    with pytest.raises(RotationOutcomeUnknownError) as caught:
        service.rotate([Role.MANAGER], expected=before)

    message = str(caught.value)
    assert "Rotating the manager token failed" in message
    assert "whether the token changed is unknown" in message
    assert "Read the tokens again before you rotate again" in message
    assert f"(manager {before.manager_fingerprint}) means it took effect" in message
    assert before.manager_token not in message
    assert isinstance(caught.value, SwarmTuiError)
    assert results(audit) == ["unknown"]


@pytest.mark.parametrize("applies", [True, False])
async def test_console_settles_unknown_outcome(tmp_path: Path, applies: bool) -> None:
    service, _ = make_service(tmp_path, applies=applies, read_fails=True)
    backend = service.backend
    assert isinstance(backend, FailingUpdateBackend)
    clock = Clock(FIXED_NOW)
    app = SwarmConsole(service=service, clock=clock, environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.view is not None
        before = app.view.worker_fingerprint
        await pilot.press("w", "r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        # The read that settles the rotation comes three minutes later.
        clock.advance(minutes=3)

        notes = [(note.title, note.message) for note in app._notifications]
        title, text = notes[0]
        assert title == "Rotation outcome unknown"
        assert text.startswith("Rotating the worker token failed (The engine at")
        assert "Read the tokens again before you rotate again" in text

        backend.read_fails = False
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert app.view is not None
        after = app.view.worker_fingerprint
        meta = str(app.query_one("#worker-meta", Static).content)
        notes = [(note.title, note.message) for note in app._notifications]
        assert all(title != "Token rotated elsewhere" for title, _ in notes)
        if applies:
            assert after != before
            assert notes[-1] == (
                "Token rotated",
                f"The worker token rotation took effect: the swarm now shows {after}.",
            )
            assert "rotated by this console at 2026-12-04 12:00 UTC" in meta
        else:
            assert after == before
            assert notes[-1][0] == "Token not rotated"
            assert f"the swarm still shows {before}. Rotate it again." in notes[-1][1]
            assert "rotated by this console" not in meta


class HeldUpdate(DelegatingBackend):
    """Times out each update, and applies it only when `apply_held` is called.

    So do managers that lost quorum: they commit the update once it returns.
    """

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.held: tuple[int, dict[str, Any], dict[str, bool]] | None = None

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.held = (version, spec, flags)
        raise TIMEOUT

    def apply_held(self) -> None:
        assert self.held is not None
        version, spec, flags = self.held
        super().update_swarm(version, spec, **flags)


async def rotate_into_held_update(
    app: SwarmConsole, pilot: Any
) -> tuple[str, list[tuple[str, str]]]:
    """Rotate the worker token, whose update times out; return its fingerprint."""
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert app.view is not None
    before = app.view.worker_fingerprint
    await pilot.press("w", "r")
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()
    notes = [(note.title, note.message) for note in app._notifications]
    return before, notes


@pytest.mark.parametrize("minutes", [1, 3])
async def test_console_waits_for_held_update(tmp_path: Path, minutes: int) -> None:
    backend = HeldUpdate(demo_backend(tmp_path))
    clock = Clock(FIXED_NOW)
    app = SwarmConsole(service=TokenService(backend), clock=clock, environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        before, notes = await rotate_into_held_update(app, pilot)
        # The console read the swarm right after the failure: still unchanged.
        assert [title for title, _ in notes] == ["Rotation outcome unknown"]
        assert "may still apply the update" in notes[0][1]
        assert "may have been rotated" not in notes[0][1]

        clock.advance(minutes=minutes)
        if minutes == 1:
            backend.apply_held()
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert app.view is not None
        after = app.view.worker_fingerprint
        notes = [(note.title, note.message) for note in app._notifications]
        assert all(title != "Token rotated elsewhere" for title, _ in notes)
        settled = [note for note in notes if note[0].startswith("Token")]
        if minutes == 1:
            assert after != before
            assert [title for title, _ in settled] == ["Token rotated"]
        else:
            assert after == before
            assert [title for title, _ in settled] == ["Token not rotated"]
            waited = "did not take effect within 2 minutes of timing out"
            assert waited in settled[0][1]


@pytest.mark.parametrize("minutes", [1, 3])
async def test_console_waits_for_held_unlock_update(
    tmp_path: Path, minutes: int
) -> None:
    inner = autolocked_demo(tmp_path)
    old_key = inner.unlock_key()
    backend = HeldUpdate(inner)
    clock = Clock(FIXED_NOW)
    app = SwarmConsole(service=TokenService(backend), clock=clock, environment={})
    async with app.run_test(size=(100, 36)) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("U")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.click("#confirm")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        titles = [note.title for note in app._notifications]
        assert titles == ["Rotation outcome unknown"]

        clock.advance(minutes=minutes)
        if minutes == 1:
            backend.apply_held()
        await pilot.press("ctrl+r")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()

        notes = [(note.title, note.message) for note in app._notifications]
        settled = [note for note in notes if note[0].startswith("Unlock key")]
        assert not any("outside this console" in text for _, text in notes)
        if minutes == 1:
            assert inner.unlock_key() != old_key
            assert [title for title, _ in settled] == ["Unlock key rotated"]
        else:
            assert inner.unlock_key() == old_key
            assert [title for title, _ in settled] == ["Unlock key not rotated"]
            waited = "did not take effect within 2 minutes of timing out"
            assert waited in settled[0][1]


async def test_held_unlock_update_blocks_reveal_and_copy(tmp_path: Path) -> None:
    inner = autolocked_demo(tmp_path)
    backend = HeldUpdate(inner)
    app = SwarmConsole(
        service=TokenService(backend),
        clock=Clock(FIXED_NOW),
        environment={},
        settings=Settings(clipboard="osc52"),
    )
    async with app.run_test(size=(100, 36)) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("U")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.click("#confirm")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()

        await pilot.press("u", "y")
        await pilot.pause()

        notes = [note.message for note in app._notifications]
        # Textual shows the same notice once while it is on screen.
        held = [note for note in notes if "may have been rotated" in note]
        assert held
        assert not app.unlock_revealed
        assert app.clipboard == ""


async def test_held_leak_update_holds_both_tokens(tmp_path: Path) -> None:
    backend = HeldUpdate(demo_backend(tmp_path))
    clock = Clock(FIXED_NOW)
    app = SwarmConsole(
        service=TokenService(backend),
        clock=clock,
        environment={},
        settings=Settings(clipboard="osc52"),
    )
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert app.view is not None
        before = (app.view.worker_fingerprint, app.view.manager_fingerprint)
        await pilot.press("L")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.click("#leak-confirm")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        error = str(app.screen.query_one("#leak-error", Static).content)
        assert error.startswith("Whether the tokens were rotated is unknown: ")
        assert "The tokens are unchanged so far" in error
        assert "Nothing was rotated" not in error

        await pilot.press("escape")
        await pilot.press("w", "c", "m", "c")
        await pilot.pause()
        notes = [note.message for note in app._notifications]
        assert len([note for note in notes if "may have been rotated" in note]) == 2
        assert app.clipboard == ""

        clock.advance(minutes=1)
        backend.apply_held()
        await pilot.press("ctrl+r")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()

        assert app.view is not None
        after = (app.view.worker_fingerprint, app.view.manager_fingerprint)
        titles = [note.title for note in app._notifications]
        assert after[0] != before[0]
        assert after[1] != before[1]
        assert titles.count("Token rotated") == 2
        assert "Token rotated elsewhere" not in titles


async def test_held_update_blocks_copy(tmp_path: Path) -> None:
    backend = HeldUpdate(demo_backend(tmp_path))
    app = SwarmConsole(
        service=TokenService(backend), clock=Clock(FIXED_NOW), environment={}
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await rotate_into_held_update(app, pilot)
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.press("c")
        await pilot.pause()

        notes = [note.message for note in app._notifications]
        assert any("may have been rotated; copy it when" in note for note in notes)
        assert app.clipboard == ""


class FailingReadBack(DelegatingBackend):
    """Applies each update, then fails every swarm read after it."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.updated = False

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        super().update_swarm(version, spec, **flags)
        self.updated = True

    def inspect_swarm(self) -> SwarmSnapshot:
        if self.updated:
            raise TIMEOUT
        return super().inspect_swarm()


def test_accepted_update_unread_is_unknown(tmp_path: Path) -> None:
    audit = RecordingAudit()
    inner = demo_backend(tmp_path)
    service = TokenService(FailingReadBack(inner), audit=audit)
    before = service.read()

    with pytest.raises(RotationOutcomeUnknownError) as caught:
        service.rotate([Role.WORKER], expected=before)

    assert "accepted the rotation of the worker token" in caught.value.message
    assert "did not respond within 3 seconds" in caught.value.message
    assert results(audit) == ["unknown"]
    assert TokenService(inner).read().worker_token != before.worker_token


def autolocked_demo(tmp_path: Path) -> Any:
    """Return a demo backend whose swarm has autolock on."""
    inner = demo_backend(tmp_path)
    snapshot = inner.inspect_swarm()
    spec = copy.deepcopy(snapshot.spec)
    spec.setdefault("EncryptionConfig", {})["AutoLockManagers"] = True
    inner.update_swarm(snapshot.version, spec)
    return inner


def test_unlock_rotation_lost_reply_read_back(tmp_path: Path) -> None:
    audit = RecordingAudit()
    inner = autolocked_demo(tmp_path)
    service = TokenService(FailingUpdateBackend(inner, applies=True), audit=audit)
    old_key = inner.unlock_key()

    result = service.rotate_unlock_key()

    assert inner.unlock_key() != old_key
    assert result.old_key_fingerprint == unlock_key_fingerprint(old_key)
    assert result.new_key_fingerprint == unlock_key_fingerprint(inner.unlock_key())
    assert results(audit) == ["ok"]
    assert audit.events[0][0] == "rotate-unlock-key"


def test_unlock_rejected_update_failed(tmp_path: Path) -> None:
    audit = RecordingAudit()
    inner = autolocked_demo(tmp_path)
    backend = FailingUpdateBackend(inner, applies=False, error=REJECTED)
    service = TokenService(backend, audit=audit)
    old_key = inner.unlock_key()

    with pytest.raises(EngineError):
        service.rotate_unlock_key()

    assert inner.unlock_key() == old_key
    assert results(audit) == ["failed"]
    fingerprint = unlock_key_fingerprint(old_key)
    assert audit.events[0][1]["old_key_fingerprint"] == fingerprint


def test_unlock_timed_out_unchanged_is_unknown(tmp_path: Path) -> None:
    audit = RecordingAudit()
    inner = autolocked_demo(tmp_path)
    service = TokenService(FailingUpdateBackend(inner, applies=False), audit=audit)
    old_key = inner.unlock_key()

    with pytest.raises(RotationOutcomeUnknownError) as caught:
        service.rotate_unlock_key()

    assert "may still apply the update" in str(caught.value)
    assert old_key not in str(caught.value)
    assert inner.unlock_key() == old_key
    assert results(audit) == ["unknown"]


class UnreadableKeyAfterUpdate(FailingUpdateBackend):
    """Fails each update after applying it, and every key read after that."""

    def unlock_key(self) -> str:
        if self.failed:
            raise RequestTimeoutError("The engine did not respond.", "Retry.")
        return str(self.inner.unlock_key())


def test_unlock_unreadable_key_outcome_unknown(tmp_path: Path) -> None:
    audit = RecordingAudit()
    inner = autolocked_demo(tmp_path)
    service = TokenService(UnreadableKeyAfterUpdate(inner, applies=True), audit=audit)
    old_fingerprint = unlock_key_fingerprint(inner.unlock_key())

    with pytest.raises(RotationOutcomeUnknownError) as caught:
        service.rotate_unlock_key()

    message = str(caught.value)
    assert "whether the key changed is unknown" in message
    assert f"({old_fingerprint}) means it took effect" in message
    assert results(audit) == ["unknown"]
    assert audit.events[0][1]["old_key_fingerprint"] == old_fingerprint


def test_unlock_unreadable_swarm_outcome_unknown(tmp_path: Path) -> None:
    audit = RecordingAudit()
    inner = autolocked_demo(tmp_path)
    service = TokenService(FailingReadBack(inner), audit=audit)
    old_key = inner.unlock_key()

    with pytest.raises(RotationOutcomeUnknownError) as caught:
        service.rotate_unlock_key()

    assert inner.unlock_key() != old_key
    message = str(caught.value)
    assert "accepted the unlock key rotation" in message
    assert f"({unlock_key_fingerprint(old_key)}) means it took effect" in message
    assert old_key not in message
    assert results(audit) == ["unknown"]


def test_unlock_rotation_carries_new_key(tmp_path: Path) -> None:
    inner = autolocked_demo(tmp_path)
    service = TokenService(inner)

    result = service.rotate_unlock_key()

    assert result.new_key == inner.unlock_key()
    assert result.new_key_fingerprint == unlock_key_fingerprint(result.new_key)
    assert result.new_key not in repr(result)


class OddUpdateReply(DelegatingBackend):
    """Applies each update, then fails as an engine reply of an odd shape would."""

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        super().update_swarm(version, spec, **flags)
        raise ValueError("invalid literal for int() with base 10: 'x'")


def test_unlock_rotation_odd_reply_is_unknown(tmp_path: Path) -> None:
    audit = RecordingAudit()
    inner = autolocked_demo(tmp_path)
    service = TokenService(OddUpdateReply(inner), audit=audit)

    with pytest.raises(RotationOutcomeUnknownError) as caught:
        service.rotate_unlock_key()

    assert results(audit) == ["unknown"]
    assert audit.events[0][1]["error"] == "Unexpected error (ValueError)"
    assert "Rotating the unlock key failed unexpectedly" in caught.value.message
    assert "swarm unlock-key -q" in caught.value.hint


def test_token_rotation_odd_reply_is_unknown(tmp_path: Path) -> None:
    audit = RecordingAudit()
    inner = demo_backend(tmp_path)
    service = TokenService(OddUpdateReply(inner), audit=audit)
    before = service.read()

    with pytest.raises(RotationOutcomeUnknownError) as caught:
        service.rotate([Role.WORKER, Role.MANAGER])

    after = service.read()
    assert after.worker_fingerprint != before.worker_fingerprint
    assert results(audit) == ["unknown"]
    assert audit.events[0][1]["error"] == "Unexpected error (ValueError)"
    assert "Rotating the manager and worker tokens failed" in caught.value.message
    assert "invalid literal" not in str(caught.value)


async def test_leak_odd_reply_holds_both_tokens(tmp_path: Path) -> None:
    app = SwarmConsole(
        service=TokenService(OddUpdateReply(demo_backend(tmp_path))),
        clock=Clock(FIXED_NOW),
        environment={},
        settings=Settings(clipboard="osc52"),
    )
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("L")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.click("#leak-confirm")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()

        error = str(app.screen.query_one("#leak-error", Static).content)
        assert error.startswith("Whether the tokens were rotated is unknown: ")
        assert "failed unexpectedly after the update was sent" in error
        assert "Nothing was rotated" not in error
        await pilot.press("escape")
        await pilot.press("ctrl+r")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        notes = [note.message for note in app._notifications]
        titles = [note.title for note in app._notifications]
        assert titles.count("Token rotated") == 2
        assert len([note for note in notes if "rotation took effect" in note]) == 2
        assert "Token rotated elsewhere" not in titles


class ManagerAddress(DelegatingBackend):
    """Reports `address` as this node's manager address."""

    def __init__(self, inner: Any, address: str) -> None:
        super().__init__(inner)
        self.address = address

    def inspect_node(self, node_id: str) -> Any:
        return dataclasses.replace(
            super().inspect_node(node_id), manager_address=self.address
        )


@pytest.mark.parametrize(
    ("address", "command_address"),
    [
        ("10.0.0.5:2377", "10.0.0.5:2377"),
        ("fd00::5:2377", "[fd00::5]:2377"),
        ("fe80::1%eth0:2377", "[fe80::1%eth0]:2377"),
        ("manager-1.example:2377", "manager-1.example:2377"),
    ],
)
def test_join_address_forms_taken(
    tmp_path: Path, address: str, command_address: str
) -> None:
    service = TokenService(ManagerAddress(demo_backend(tmp_path), address))

    view = service.read()

    assert view.join_address == command_address
    assert view.join_command(Role.WORKER).endswith(f" {command_address}")


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.5:2377; touch /tmp/x",
        "10.0.0.5:2377 extra",
        "$(id):2377",
        "10.0.0.5",
        "::1",
        "fd00::5",
        "10.0.0.5:0",
        "10.0.0.5:99999",
        "0.0.0.0:2377",
        "[::]:2377",
        "0:2377",
        "127.1:2377",
        "[::ffff:0.0.0.0]:2377",
        "a..b:2377",
        "-x:2377",
        "host-:2377",
        "10.0.0.5:02377",
        ("a" * 64) + ".example:2377",
        ".".join(["a" * 60] * 5) + ":2377",
        "0x7f000001:2377",
        "0x7f.0.0.1:2377",
        "255.255.255.255:2377",
        "224.0.0.1:2377",
        "ff02::1:2377",
        "[::ffff:224.0.0.1]:2377",
    ],
)
def test_join_address_not_host_port_rejected(tmp_path: Path, address: str) -> None:
    service = TokenService(ManagerAddress(demo_backend(tmp_path), address))

    with pytest.raises(EngineError) as caught:
        service.read()

    assert "reports a manager address that cannot be joined" in caught.value.message
    assert "port from 1 to 65535" in caught.value.message


def test_token_names_count_roles() -> None:
    assert token_names([Role.WORKER]) == "worker token"
    assert token_names([Role.WORKER, Role.MANAGER]) == "manager and worker tokens"


class TokenText(DelegatingBackend):
    """Reports `text` as the swarm's worker join token."""

    def __init__(self, inner: Any, text: str) -> None:
        super().__init__(inner)
        self.text = text

    def inspect_swarm(self) -> Any:
        return dataclasses.replace(super().inspect_swarm(), worker_token=self.text)


@pytest.mark.parametrize("text", ["garbage", "SWMTKN-1-bad", "SWMTKN-1-" + "a" * 50])
def test_malformed_engine_token_rejected(tmp_path: Path, text: str) -> None:
    service = TokenService(TokenText(demo_backend(tmp_path), text))

    with pytest.raises(EngineError) as caught:
        service.read()

    message = caught.value.message
    assert "returned a worker join token that is not well formed" in message
    assert "swarm join-token worker" in caught.value.hint


class SwarmReplacedOnUpdate(DelegatingBackend):
    """Replaces the demo swarm with another one when asked to rotate."""

    def __init__(
        self, inner: Any, tmp_path: Path, error: SwarmTuiError | None = None
    ) -> None:
        super().__init__(inner)
        self.tmp_path = tmp_path
        self.error = error

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        demo_backend(self.tmp_path, seed=9).reset()
        if self.error is not None:
            raise self.error


@pytest.mark.parametrize("error", [None, TIMEOUT], ids=["replied", "timed-out"])
def test_swarm_replaced_during_rotation_named(
    tmp_path: Path, error: SwarmTuiError | None
) -> None:
    audit = RecordingAudit()
    inner = demo_backend(tmp_path)
    before = TokenService(inner).read()
    backend = SwarmReplacedOnUpdate(inner, tmp_path, error)
    service = TokenService(backend, audit=audit)

    with pytest.raises(RotationOutcomeUnknownError) as caught:
        service.rotate([Role.WORKER])

    after = service.read()
    message = str(caught.value)
    assert f"serves another swarm now ({after.cluster_id[:12]})" in message
    assert f"worker token of swarm {before.cluster_id[:12]} was rotated" in message
    assert "accepted" not in message
    assert "was not rotated" not in message
    assert f"The update may have gone to swarm {after.cluster_id[:12]}" in message
    assert results(audit) == ["unknown"]
    assert service.history.lookup(after.cluster_id, before.worker_fingerprint) is None


async def test_console_rotation_on_replaced_swarm_ends(tmp_path: Path) -> None:
    inner = demo_backend(tmp_path)
    app = SwarmConsole(
        service=TokenService(SwarmReplacedOnUpdate(inner, tmp_path)),
        clock=Clock(FIXED_NOW),
        environment={},
        settings=Settings(clipboard="osc52"),
    )
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        old_cluster = app.view.cluster_id if app.view else ""
        await pilot.press("w", "r")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()

        await pilot.press("ctrl+r")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("w", "c")
        await pilot.pause()

        assert app.view is not None
        assert app.view.cluster_id != old_cluster
        assert app.clipboard != ""
        notes = [note.message for note in app._notifications]
        assert any("serves another swarm now" in note for note in notes)

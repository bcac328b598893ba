"""A rotation hands its result to `announce` before it writes its records.

The console shows the new token from `announce`, so the screen does not wait
for the token history and the audit record, which are written with fsync.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tui_support import DelegatingBackend, RecordingAudit, demo_backend

from swarmtui.errors import RotationVerifyError
from swarmtui.history import FileTokenHistory
from swarmtui.models import Role, RotationResult
from swarmtui.service import TokenService


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

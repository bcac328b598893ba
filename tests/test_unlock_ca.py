"""Unlock key rotation and CA description on the demo swarm."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from swarmtui.audit import AuditLog, read_audit
from swarmtui.backends.demo import DemoBackend
from swarmtui.ca import describe_ca, mismatched_token_roles
from swarmtui.errors import CertificateError, UnsupportedError
from swarmtui.service import TokenService
from swarmtui.tokens import ca_digest, parse_token
from swarmtui.tui.ca import fingerprint_lines, grouped_fingerprint
from swarmtui.unlock import mask_unlock_key, unlock_key_fingerprint


def enable_autolock(backend: DemoBackend) -> None:
    snapshot = backend.inspect_swarm()
    spec = copy.deepcopy(snapshot.spec)
    spec.setdefault("EncryptionConfig", {})["AutoLockManagers"] = True
    backend.update_swarm(snapshot.version, spec)


@pytest.fixture
def service(tmp_path: Path) -> TokenService:
    backend = DemoBackend(path=tmp_path / "demo.toml", seed=21)
    audit = AuditLog(tmp_path / "audit.jsonl", environment={})
    return TokenService(backend, audit=audit)


def test_unlock_rotation_needs_autolock(service: TokenService) -> None:
    with pytest.raises(UnsupportedError) as caught:
        service.rotate_unlock_key()
    assert "Autolock is off" in caught.value.message


def test_unlock_rotation_changes_only_key(service: TokenService) -> None:
    assert isinstance(service.backend, DemoBackend)
    enable_autolock(service.backend)
    before = service.read()
    old_key = service.unlock_key()
    assert old_key.startswith("SWMKEY-1-")

    result = service.rotate_unlock_key(expected=before)

    new_key = service.unlock_key()
    assert new_key != old_key
    assert result.old_key_fingerprint == unlock_key_fingerprint(old_key)
    assert result.new_key_fingerprint == unlock_key_fingerprint(new_key)
    assert result.after.worker_fingerprint == before.worker_fingerprint
    assert result.after.manager_fingerprint == before.manager_fingerprint
    assert result.after.autolock is True

    path = service.audit.path  # type: ignore[union-attr]
    text = Path(path).read_text()
    assert old_key.split("-")[-1] not in text
    assert new_key.split("-")[-1] not in text
    event = read_audit(path).events[-1]
    assert event["action"] == "rotate-unlock-key"
    assert event["new_key_fingerprint"] == result.new_key_fingerprint


def test_mask_unlock_key() -> None:
    key = "SWMKEY-1-7c37Cc8654o6p38HnroywCi19pllOnGtbdZEgtKxZu8"
    masked = mask_unlock_key(key)
    assert masked.startswith("SWMKEY-1-")
    assert "7c37" not in masked
    assert mask_unlock_key("garbage") == "•" * 12


def test_describe_ca_of_demo(service: TokenService) -> None:
    view = service.read()
    info = describe_ca(view.ca_pem)
    assert info.subject
    assert len(info.fingerprint.split(":")) == 32
    assert info.not_after > info.not_before
    assert info.token_digest == ca_digest(view.ca_pem)
    assert info.token_digest == parse_token(view.worker_token).digest
    assert info.expires_in_days(datetime(2000, 1, 1, tzinfo=UTC)) > 0


def test_describe_ca_rejects_garbage() -> None:
    with pytest.raises(CertificateError):
        describe_ca("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_token_digest_mismatch(service: TokenService) -> None:
    import dataclasses

    view = service.read()
    assert mismatched_token_roles(view) == ()
    other = dataclasses.replace(view, ca_digest="0" * 50)
    assert len(mismatched_token_roles(other)) == 2


def test_grouped_fingerprint_breaks_between_bytes() -> None:
    octets = [f"{number:02X}" for number in range(32)]
    grouped = grouped_fingerprint(":".join(octets))

    groups = grouped.split(" ")
    assert len(groups) == 4
    assert groups[0] == ":".join(octets[:8])
    assert grouped.replace(" ", ":") == ":".join(octets)


@pytest.mark.parametrize("width", range(3, 100))
def test_fingerprint_lines_break_between_bytes(width: int) -> None:
    octets = [f"{number:02X}" for number in range(0xA0, 0xC0)]
    fingerprint = ":".join(octets)
    lines = fingerprint_lines(fingerprint, width)

    for line in lines:
        assert len(line) <= width
        assert re.fullmatch(r"[0-9A-F]{2}([: ][0-9A-F]{2})*:?", line), line
    rejoined = ":".join(line.rstrip(":") for line in lines).replace(" ", ":")
    assert rejoined == fingerprint


def test_fingerprint_lines_keep_groups_when_wide() -> None:
    octets = [f"{number:02X}" for number in range(32)]
    fingerprint = ":".join(octets)

    assert fingerprint_lines(fingerprint, 95) == [grouped_fingerprint(fingerprint)]
    assert fingerprint_lines(fingerprint, 23) == [
        ":".join(octets[start : start + 8]) for start in range(0, 32, 8)
    ]
    assert fingerprint_lines(fingerprint, 22)[0] == ":".join(octets[:7]) + ":"
